import { GatewayError, type ObjectRecord } from '@twinport/core';
import { intParam, isoTime, ownerXml, requireUser, sendXml, type S3Request } from '../request.js';
import type { XmlNode } from '../xml.js';

/** Returns the encoder S3 applies to key-valued fields for `encoding-type` (identity when absent). */
function keyEncoder(r: S3Request): (s: string | undefined) => string | undefined {
  const t = r.query.get('encoding-type');
  if (t === undefined) return (s) => s;
  if (t.toLowerCase() !== 'url') throw new GatewayError('InvalidArgument', 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type', ArgumentValue: t });
  return (s) => (s === undefined ? undefined : encodeURIComponent(s).replace(/%2F/g, '/').replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`));
}

function entry(r: S3Request, o: ObjectRecord, enc: (s: string) => string | undefined, owner: string | undefined): XmlNode {
  return {
    Key: enc(o.key),
    LastModified: isoTime(o.lastModified),
    ETag: `"${o.etag}"`,
    Size: o.size,
    Owner: owner ? ownerXml(r, owner) : undefined,
    StorageClass: 'STANDARD',
  };
}

/** The parameters every object listing shares, and one page of it resumed after `after`. */
async function listingPage(r: S3Request, after: string | undefined) {
  const enc = keyEncoder(r);
  const prefix = r.query.get('prefix') ?? '';
  const delimiter = r.query.get('delimiter') || undefined;
  const maxKeys = intParam(r, 'max-keys', 1000, 1000);
  const page = await r.engine.listObjects(r.auth.user, r.bucket!, { prefix, delimiter, after, maxKeys });
  return { enc, prefix, delimiter, maxKeys, page, owner: page.bucket.owner };
}

/** ListObjects (v1): resumes after `marker`; NextMarker only with a delimiter. */
export async function listObjectsV1(r: S3Request): Promise<void> {
  const marker = r.query.get('marker') || undefined;
  const { enc, prefix, delimiter, maxKeys, page, owner } = await listingPage(r, marker);
  sendXml(r, 'ListBucketResult', {
    Name: r.bucket,
    Prefix: enc(prefix),
    Marker: enc(marker ?? ''),
    NextMarker: page.isTruncated && delimiter ? enc(page.last) : undefined,
    MaxKeys: maxKeys,
    Delimiter: enc(delimiter),
    IsTruncated: page.isTruncated,
    EncodingType: r.query.has('encoding-type') ? 'url' : undefined,
    Contents: page.objects.map((o) => entry(r, o, enc, owner)),
    CommonPrefixes: page.prefixes.map((p) => ({ Prefix: enc(p) })),
  });
}

// Tokens carry a tag so that a string the gateway never issued is refused instead of read as a key.
const TOKEN_TAG = 'twinport-list-v1:';

function encodeToken(last: string): string {
  return Buffer.from(TOKEN_TAG + last, 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  const text = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (!text.startsWith(TOKEN_TAG) || encodeToken(text.slice(TOKEN_TAG.length)) !== token) {
    throw new GatewayError('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
  }
  return text.slice(TOKEN_TAG.length);
}

/** ListObjectsV2: an opaque continuation token (never URL-encoded), or start-after. */
export async function listObjectsV2(r: S3Request): Promise<void> {
  const token = r.query.get('continuation-token');
  const startAfter = r.query.get('start-after') || undefined;
  const { enc, prefix, delimiter, maxKeys, page, owner } = await listingPage(r, token !== undefined ? decodeToken(token) : startAfter);
  const fetchOwner = r.query.get('fetch-owner') === 'true';
  sendXml(r, 'ListBucketResult', {
    Name: r.bucket,
    Prefix: enc(prefix),
    ContinuationToken: token,
    NextContinuationToken: page.isTruncated && page.last !== undefined ? encodeToken(page.last) : undefined,
    StartAfter: enc(startAfter),
    KeyCount: page.objects.length + page.prefixes.length,
    MaxKeys: maxKeys,
    Delimiter: enc(delimiter),
    IsTruncated: page.isTruncated,
    EncodingType: r.query.has('encoding-type') ? 'url' : undefined,
    Contents: page.objects.map((o) => entry(r, o, enc, fetchOwner ? owner : undefined)),
    CommonPrefixes: page.prefixes.map((p) => ({ Prefix: enc(p) })),
  });
}

/** ListObjectVersions on an unversioned bucket: each object is its one `null` version. */
export async function listObjectVersions(r: S3Request): Promise<void> {
  const keyMarker = r.query.get('key-marker') || undefined;
  const { enc, prefix, delimiter, maxKeys, page, owner } = await listingPage(r, keyMarker);
  sendXml(r, 'ListVersionsResult', {
    Name: r.bucket,
    Prefix: enc(prefix),
    KeyMarker: enc(keyMarker ?? ''),
    VersionIdMarker: r.query.get('version-id-marker') ?? '',
    NextKeyMarker: page.isTruncated ? enc(page.last) : undefined,
    NextVersionIdMarker: page.isTruncated ? 'null' : undefined,
    MaxKeys: maxKeys,
    Delimiter: enc(delimiter),
    IsTruncated: page.isTruncated,
    EncodingType: r.query.has('encoding-type') ? 'url' : undefined,
    Version: page.objects.map((o) => ({
      Key: enc(o.key), VersionId: 'null', IsLatest: true, LastModified: isoTime(o.lastModified),
      ETag: `"${o.etag}"`, Size: o.size, Owner: ownerXml(r, owner), StorageClass: 'STANDARD',
    })),
    CommonPrefixes: page.prefixes.map((p) => ({ Prefix: enc(p) })),
  });
}

/** ListMultipartUploads: in key order, then initiation order. */
export async function listMultipartUploads(r: S3Request): Promise<void> {
  const user = requireUser(r);
  const enc = keyEncoder(r);
  const prefix = r.query.get('prefix') ?? '';
  const delimiter = r.query.get('delimiter') || undefined;
  const keyMarker = r.query.get('key-marker') || undefined;
  const uploadIdMarker = keyMarker ? r.query.get('upload-id-marker') || undefined : undefined;
  const maxUploads = intParam(r, 'max-uploads', 1000, 1000);
  const page = await r.engine.multipart.listUploads(user, r.bucket!, { prefix, delimiter, keyMarker, uploadIdMarker, maxUploads });
  sendXml(r, 'ListMultipartUploadsResult', {
    Bucket: r.bucket,
    KeyMarker: enc(keyMarker ?? ''),
    UploadIdMarker: uploadIdMarker ?? '',
    NextKeyMarker: page.isTruncated ? enc(page.nextKeyMarker) : undefined,
    NextUploadIdMarker: page.isTruncated ? page.nextUploadIdMarker ?? '' : undefined,
    Prefix: enc(prefix),
    Delimiter: enc(delimiter),
    MaxUploads: maxUploads,
    IsTruncated: page.isTruncated,
    EncodingType: r.query.has('encoding-type') ? 'url' : undefined,
    Upload: page.uploads.map((u) => ({
      Key: enc(u.key), UploadId: u.uploadId, Initiator: ownerXml(r, u.owner), Owner: ownerXml(r, u.owner),
      StorageClass: 'STANDARD', Initiated: isoTime(u.initiated), ChecksumAlgorithm: u.checksumAlgorithm, ChecksumType: u.checksumType,
    })),
    CommonPrefixes: page.prefixes.map((p) => ({ Prefix: enc(p) })),
  });
}
