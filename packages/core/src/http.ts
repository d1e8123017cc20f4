import { randomBytes } from 'node:crypto';
import type { ByteRange, ContentHeaders } from './types.js';
import type { ReadResult } from './engine.js';
import { bytesOf } from './streams.js';

// HTTP renderings both protocol adapters share: an object's content headers and the status line
// of a (ranged) read are the same in S3 and QingStor.

/** The stored content headers of an object (all but Content-Type, whose default differs per API). */
export function contentHeaders(rec: ContentHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  if (rec.contentEncoding) out['Content-Encoding'] = rec.contentEncoding;
  if (rec.contentDisposition) out['Content-Disposition'] = rec.contentDisposition;
  if (rec.contentLanguage) out['Content-Language'] = rec.contentLanguage;
  if (rec.cacheControl) out['Cache-Control'] = rec.cacheControl;
  if (rec.expires) out.Expires = rec.expires;
  return out;
}

/** The status, Content-Range and Content-Length of a read of an object of `size` bytes. */
export function readStatus(size: number, range: ByteRange | undefined): { status: 200 | 206; contentRange?: string; length: number } {
  if (!range) return { status: 200, length: size };
  return { status: 206, contentRange: `bytes ${range.start}-${range.end}/${size}`, length: range.end - range.start + 1 };
}

/** The parts of an HTTP response a read is written onto (a Koa context is one). */
export interface ReadResponse {
  status: number;
  length: number;
  body: unknown;
  set(field: string, value: string): void;
}

/**
 * Writes a read's body, status, Content-Range and Content-Length onto `to` (its other headers are
 * the adapter's). Bytes already in memory go out as a Buffer, without a pipe.
 */
export function sendRead(to: ReadResponse, res: ReadResult): void {
  if (res.body) to.body = bytesOf(res.body) ?? res.body;
  const { status, contentRange, length } = readStatus(res.record.size, res.range);
  to.status = status;
  if (contentRange) to.set('Content-Range', contentRange);
  to.length = length;
}

/** The `response-*` query parameters of a GET/HEAD and the response headers they override (the same in both APIs). */
export const RESPONSE_OVERRIDES: ReadonlyArray<readonly [string, string]> = [
  ['response-content-type', 'Content-Type'],
  ['response-content-language', 'Content-Language'],
  ['response-expires', 'Expires'],
  ['response-cache-control', 'Cache-Control'],
  ['response-content-disposition', 'Content-Disposition'],
  ['response-content-encoding', 'Content-Encoding'],
];

/**
 * A source of request ids: 16 hex digits, unique per process run without a random draw per
 * request (a random prefix and a counter). S3 writes them in upper case, QingStor in lower case.
 */
export function requestIds(upperCase: boolean): () => string {
  const prefix = randomBytes(4).toString('hex');
  let counter = 0;
  return () => {
    counter = (counter + 1) % 0x100000000;
    const id = prefix + counter.toString(16).padStart(8, '0');
    return upperCase ? id.toUpperCase() : id;
  };
}
