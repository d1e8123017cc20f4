import type { BodyDigest } from './digest.js';
import type { ObjectAttributes, ObjectRecord } from './types.js';

/** Largest single PUT S3 accepts. */
export const MAX_OBJECT_SIZE = 5 * 1024 ** 3;

/** The client-settable attributes of a record. */
export function pickAttrs(r: ObjectAttributes): ObjectAttributes {
  const { contentType, contentEncoding, contentDisposition, contentLanguage, cacheControl, expires, userMeta } = r;
  return { contentType, contentEncoding, contentDisposition, contentLanguage, cacheControl, expires, userMeta };
}

/** Builds the record of a freshly written single-part object from its digests and attributes. */
export function sealRecord(key: string, digest: BodyDigest, attrs: ObjectAttributes): ObjectRecord {
  return {
    ...attrs,
    key,
    size: digest.size,
    etag: digest.md5.toString('hex'),
    lastModified: Date.now(),
    checksum: digest.checksum ? { algorithm: digest.checksum.algorithm, value: digest.checksum.digest.toString('base64'), type: 'FULL_OBJECT' } : undefined,
  };
}
