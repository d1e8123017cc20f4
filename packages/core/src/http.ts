import { randomBytes } from 'node:crypto';
import type { ByteRange, ContentHeaders } from './types.js';

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
