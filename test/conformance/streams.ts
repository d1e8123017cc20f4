// Body builders and readers shared by the conformance suites.
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import type { ObjectAttributes, ObjectRecord, PartRecord } from '../../packages/core/src/types.js';

/** The attributes of an object written without any. */
export const NO_ATTRS: ObjectAttributes = { userMeta: {} };

/** A body that yields `data` in chunks of at most `chunk` bytes. */
export function bodyOf(data: Buffer | string, chunk = 64 * 1024): Readable {
  const buf = Buffer.from(data);
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts);
}

/** Everything a stream yields, concatenated. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** The sha256 hex of a buffer. */
export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A record for `key` holding `data`, as the core would seal it. */
export function recordOf(key: string, data: Buffer | string, extra: Partial<ObjectRecord> = {}): ObjectRecord {
  const buf = Buffer.from(data);
  return {
    key,
    size: buf.length,
    etag: createHash('md5').update(buf).digest('hex'),
    lastModified: Date.now(),
    userMeta: {},
    ...extra,
  };
}

/** A part record (without the driver's ref) for `data`. */
export function partOf(partNumber: number, data: Buffer | string): Omit<PartRecord, 'ref'> {
  const buf = Buffer.from(data);
  return { partNumber, size: buf.length, etag: createHash('md5').update(buf).digest('hex'), lastModified: Date.now() };
}

/** A body of `size` random bytes produced on the fly, and a promise of its sha256 once read. */
export function randomBody(size: number, chunk = 1 << 20): { body: Readable; digest: Promise<string> } {
  const hash = createHash('sha256');
  let left = size;
  let resolve!: (hex: string) => void;
  const digest = new Promise<string>((r) => (resolve = r));
  const body = new Readable({
    read() {
      if (left === 0) {
        resolve(hash.digest('hex'));
        this.push(null);
        return;
      }
      const c = randomBytes(Math.min(chunk, left));
      left -= c.length;
      hash.update(c);
      this.push(c);
    },
  });
  return { body, digest };
}

/** A body that sends `head` and then fails with `error`, like a client that disconnects. */
export function failingBody(head: Buffer, error: Error): Readable {
  const body = new PassThrough();
  body.write(head);
  setTimeout(() => body.destroy(error), 20);
  return body;
}

/** A body the test feeds by hand: write, then end or fail it. */
export function manualBody(): PassThrough {
  return new PassThrough();
}

/** The sha256 hex of everything a stream yields, without holding it in memory. */
export async function streamDigest(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const c of stream) hash.update(c as Uint8Array);
  return hash.digest('hex');
}
