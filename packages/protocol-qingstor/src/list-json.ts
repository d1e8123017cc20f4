import type { ObjectRecord, PartRecord, UploadRecord } from '@twinport/core';
import { isoTime } from './request.js';

// The JSON entries of QingStor's listings. Part numbers are QingStor's (0-based): core part n is
// QingStor part n - 1, so that S3 clients see the same upload with 1-based numbers.

/** Offset between QingStor's part numbers and the core's (S3's). */
export const PART_OFFSET = 1;

/** One `keys` entry of ListObjects: quoted etag, ISO `created`, integer-seconds `modified`. */
export function keyJson(o: ObjectRecord): Record<string, unknown> {
  return {
    key: o.key,
    size: o.size,
    etag: `"${o.etag}"`,
    mime_type: o.contentType ?? 'application/octet-stream',
    // The gateway keeps one time per object: its last write.
    created: isoTime(o.lastModified),
    modified: Math.floor(o.lastModified / 1000),
    encrypted: false,
    storage_class: 'STANDARD',
  };
}

/** One `uploads` entry of ListMultipartUploads. */
export function uploadJson(u: UploadRecord): Record<string, unknown> {
  return { key: u.key, upload_id: u.uploadId, created: isoTime(u.initiated) };
}

/** One `object_parts` entry of ListMultipart; the etag unquoted, as QingStor's documentation shows it. */
export function partJson(p: PartRecord): Record<string, unknown> {
  return { part_number: p.partNumber - PART_OFFSET, size: p.size, created: isoTime(p.lastModified), etag: p.etag };
}
