import { GatewayError } from '@twinport/core';

/**
 * Index keys are the UTF-8 bytes of `bucket/key`. LMDB orders keys by memcmp, which is exactly
 * S3's UTF-8 byte order, and since bucket names never contain '/', bucket `a` owns the range
 * [`a/`, `a0`) and can never see the keys of bucket `ab`.
 */

const MAX_KEY_BYTES = 1024;
// Lone surrogates would all encode to U+FFFD and so collide with one another.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** The index key of an object; rejects names the layout cannot hold without ambiguity. */
export function indexKey(bucket: string, key: string): Buffer {
  assertBucket(bucket);
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new GatewayError('KeyTooLongError');
  if (LONE_SURROGATE.test(key)) throw new GatewayError('InvalidArgument', 'Object keys must be valid UTF-8.');
  return Buffer.from(`${bucket}/${key}`, 'utf8');
}

/** The first index key of a bucket's keys starting with `prefix` (no key length limit applies). */
export function rangeKey(bucket: string, prefix: string): Buffer {
  assertBucket(bucket);
  return Buffer.from(`${bucket}/${prefix}`, 'utf8');
}

export { keySuccessor, prefixSuccessor } from '@twinport/core';

function assertBucket(bucket: string): void {
  if (bucket.length === 0 || bucket.includes('/')) throw new GatewayError('InvalidBucketName');
}
