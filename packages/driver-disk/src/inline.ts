import { finished, Readable } from 'node:stream';
import type { ByteRange } from '@twinport/core';

/**
 * Objects of at most this many bytes live inside the index rather than in blob files: one LMDB
 * commit (shared with every concurrent write) makes them durable, where a blob costs a file
 * fdatasync, a rename and a directory fsync. Large enough for the small-file workloads that are
 * dominated by those flushes, small enough that buffering one per request stays cheap.
 */
export const INLINE_MAX = 64 * 1024;

/** What `collect` read: every chunk so far, and whether the body ended within the limit. */
export interface Head {
  chunks: Buffer[];
  size: number;
  ended: boolean;
}

/**
 * Reads `body` until it ends or has yielded more than `limit` bytes. In the second case the body
 * is left paused after the chunk that crossed the limit, ready to be piped on. Rejects if the body
 * fails (or is destroyed) before either happens.
 */
export function collect(body: Readable, limit: number): Promise<Head> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer | string) => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(buf);
      size += buf.length;
      if (size <= limit) return;
      body.pause();
      body.off('data', onData);
      stop();
      // Whoever pipes the rest attaches its own error handling; until then an error must not be
      // an uncaught 'error' event (the stream stays errored, so the pipe still sees it).
      body.on('error', () => {});
      resolve({ chunks, size, ended: false });
    };
    const stop = finished(body, { writable: false }, (err) => {
      body.off('data', onData);
      stop();
      if (err) reject(err);
      else resolve({ chunks, size, ended: true });
    });
    body.on('data', onData);
  });
}

/** The bytes of an inline object that `range` selects (all of them without one). */
export function slice(data: Buffer, range?: ByteRange): Buffer {
  return range ? data.subarray(range.start, Math.min(range.end + 1, data.length)) : data;
}

/** A byte stream (not object mode, like a file stream) that yields `data` in one chunk. */
export function bufferStream(data: Buffer): Readable {
  return new Readable({
    read() {
      if (data.length > 0) this.push(data);
      this.push(null);
    },
  });
}
