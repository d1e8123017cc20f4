import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GatewayError } from '@twinport/core';

/**
 * Writes `source` into `req` and ends it, with backpressure. The last chunk is held back until
 * `source` has ended without error: the core verifies digests when the body ends, and an upstream
 * that received every declared byte would already have committed a body that then failed. Rejects
 * only with the body's own error (or IncompleteBody when it is not `length` bytes long); when the
 * request dies first, it stops and lets the request's own handlers report why.
 */
export async function pump(source: AsyncIterable<unknown> | Iterable<unknown>, req: Writable, length: number): Promise<void> {
  let held: Buffer | undefined;
  let total = 0;
  for await (const c of source) {
    const chunk = toBuffer(c);
    if (chunk.length === 0) continue;
    if (req.destroyed) return;
    total += chunk.length;
    if (total > length) throw new GatewayError('IncompleteBody', 'The request body is longer than declared.');
    if (held && !req.write(held)) await drained(req);
    held = chunk;
  }
  if (total !== length) throw new GatewayError('IncompleteBody');
  if (!req.destroyed) req.end(held);
}

/** A run of bytes held in memory. */
export interface Chunks {
  chunks: Buffer[];
  length: number;
}

/**
 * Cuts a body into parts of `size` bytes (the last one shorter), so that a body of unknown length
 * can go upstream as a multipart upload holding one part at a time. Chunks are sliced, not copied.
 */
export class PartReader {
  private readonly it: AsyncIterator<unknown>;
  private carry: Buffer | undefined;
  private ended = false;

  constructor(body: Readable, private readonly size: number) {
    this.it = body[Symbol.asyncIterator]();
  }

  /** The next part, or undefined once the body has ended; rejects with the body's error. */
  async next(): Promise<Chunks | undefined> {
    const chunks: Buffer[] = [];
    let length = 0;
    while (length < this.size) {
      let c = this.carry ?? (await this.pull());
      this.carry = undefined;
      if (!c) break;
      const room = this.size - length;
      if (c.length > room) {
        this.carry = c.subarray(room);
        c = c.subarray(0, room);
      }
      chunks.push(c);
      length += c.length;
    }
    return length === 0 ? undefined : { chunks, length };
  }

  /** Whether more bytes follow: waits for the next chunk or the end of the body. */
  async more(): Promise<boolean> {
    if (!this.carry) this.carry = await this.pull();
    return this.carry !== undefined;
  }

  /** Stops reading the body (after a failure elsewhere). */
  async cancel(): Promise<void> {
    this.carry = undefined;
    if (!this.ended) await this.it.return?.().catch(() => {});
    this.ended = true;
  }

  private async pull(): Promise<Buffer | undefined> {
    while (!this.ended) {
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        break;
      }
      const b = toBuffer(r.value);
      if (b.length > 0) return b;
    }
    return undefined;
  }
}

/** A body of unknown length made countable: in memory when short, else in a temporary file. */
export type Settled = (Chunks & { file?: undefined }) | { file: string; length: number };

/**
 * Reads `body` whole so that its length can be announced: up to `memLimit` bytes in memory,
 * beyond that spilled to a file in `dir`, so memory stays bounded for any length. Call `discard`
 * on the result when done.
 */
export async function settle(body: Readable, memLimit: number, dir: string): Promise<Settled> {
  const reader = new PartReader(body, memLimit);
  const head = (await reader.next()) ?? { chunks: [], length: 0 };
  if (!(await reader.more())) return head;
  const file = join(dir, `twinport-part-${randomUUID()}`);
  let length = head.length;
  try {
    await pipeline(
      async function* () {
        yield* head.chunks;
        for (let part = await reader.next(); part; part = await reader.next()) {
          length += part.length;
          yield* part.chunks;
        }
      },
      createWriteStream(file),
    );
  } catch (e) {
    await rm(file, { force: true });
    throw e;
  }
  return { file, length };
}

/** The bytes of a settled body, as a stream source. */
export function sourceOf(s: Settled): AsyncIterable<unknown> | Iterable<unknown> {
  return s.file === undefined ? s.chunks : createReadStream(s.file);
}

/** Removes a settled body's temporary file, if it has one. */
export async function discard(s: Settled): Promise<void> {
  if (s.file !== undefined) await rm(s.file, { force: true });
}

function toBuffer(c: unknown): Buffer {
  return Buffer.isBuffer(c) ? c : typeof c === 'string' ? Buffer.from(c) : Buffer.from(c as Uint8Array);
}

function drained(w: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      w.off('drain', done);
      w.off('close', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
  });
}
