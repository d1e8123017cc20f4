import type { ByteRange } from '@twinport/core';

/**
 * Objects of at most this many bytes live inside the index rather than in blob files: one LMDB
 * commit (shared with every concurrent write) makes them durable, where a blob costs a file
 * fdatasync, a rename and a directory fsync. Large enough for the small-file workloads that are
 * dominated by those flushes, small enough that buffering one per request stays cheap.
 */
export const INLINE_MAX = 64 * 1024;

/** The bytes of an inline object that `range` selects (all of them without one). */
export function slice(data: Buffer, range?: ByteRange): Buffer {
  return range ? data.subarray(range.start, Math.min(range.end + 1, data.length)) : data;
}
