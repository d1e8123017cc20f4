import { GatewayError } from '@twinport/core';
import { readJsonObject, sendJson } from '../json.js';
import { toQsError } from '../errors.js';
import { bucketUrl, isoTime, noContent, requireUser, type QsRequest } from '../request.js';

/** QingStor's bucket names: 6-63 of `a-z 0-9 -`, starting and ending with a letter or digit. */
const QS_BUCKET_NAME = /^[a-z0-9][a-z0-9-]{4,61}[a-z0-9]$/;

/** The most keys one DeleteMultipleObjects request may name. */
export const MAX_DELETE_KEYS = 1000;

/**
 * PutBucket: creates the bucket in the Host's zone (the default zone for a host without one).
 * QingStor's stricter naming applies to buckets created here; re-creating an existing bucket is
 * bucket_already_exists, also for its owner.
 */
export async function createBucket(r: QsRequest): Promise<void> {
  const user = requireUser(r);
  if (!QS_BUCKET_NAME.test(r.bucket!)) throw new GatewayError('InvalidBucketName', 'Bucket names are 6 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit.');
  await r.engine.createBucket(user, r.bucket!, r.zone);
  noContent(r, 201);
}

/** HeadBucket: existence and read access. */
export async function headBucket(r: QsRequest): Promise<void> {
  await r.engine.bucket(r.user, r.bucket!, 'READ');
  noContent(r, 200);
}

/** DeleteBucket: only an empty bucket, only its owner. */
export async function deleteBucket(r: QsRequest): Promise<void> {
  await r.engine.deleteBucket(requireUser(r), r.bucket!);
  noContent(r, 204);
}

/** GetBucketStatistics: object count and bytes, with the bucket's zone and URL. Owner only. */
export async function bucketStats(r: QsRequest): Promise<void> {
  const { count, size, bucket } = await r.engine.settings.stats(r.user, r.bucket!);
  sendJson(r.ctx, {
    name: bucket.name,
    location: bucket.zone,
    url: bucketUrl(r.site, bucket.name, bucket.zone),
    created: isoTime(bucket.created),
    status: 'active',
    count,
    size,
  });
}

/**
 * DeleteMultipleObjects: `{"objects":[{"key":...}],"quiet":bool}` with a required Content-MD5 of the
 * body. Missing keys count as deleted; `quiet` leaves the deleted list out.
 */
export async function deleteMultiple(r: QsRequest): Promise<void> {
  if (!r.ctx.get('content-md5')) throw new GatewayError('InvalidRequest', 'DeleteMultipleObjects requires a Content-MD5 header.');
  // Access first, so that a caller without it learns nothing from how the body is judged.
  await r.engine.bucket(r.user, r.bucket!, 'WRITE');
  const doc = await readJsonObject(r.ctx);
  const objects = doc.objects;
  if (!Array.isArray(objects) || objects.length === 0) throw new GatewayError('InvalidRequest', 'The request body must have a non-empty "objects" list.');
  if (objects.length > MAX_DELETE_KEYS) throw new GatewayError('InvalidRequest', `At most ${MAX_DELETE_KEYS} objects can be deleted at once.`);
  const keys = objects.map((o, i) => {
    const key = typeof o === 'object' && o !== null ? (o as Record<string, unknown>).key : undefined;
    if (typeof key !== 'string') throw new GatewayError('InvalidRequest', `objects[${i}] must have a "key" string.`);
    return key;
  });
  if (doc.quiet !== undefined && typeof doc.quiet !== 'boolean') throw new GatewayError('InvalidRequest', '"quiet" must be true or false.');
  const results = await r.engine.deleteObjects(r.user, r.bucket!, keys);
  const errors = results.filter((x) => x.error).map((x) => {
    const e = toQsError(x.error);
    return { key: x.key, code: e.code, message: e.message };
  });
  sendJson(r.ctx, doc.quiet === true ? { errors } : { deleted: results.filter((x) => !x.error).map((x) => ({ key: x.key })), errors });
}
