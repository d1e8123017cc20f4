import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError, type Conditions, type ObjectAttributes, type ObjectRecord, contentHeaders, RESPONSE_OVERRIDES } from '@twinport/core';
import { percentDecode } from './url.js';

// QingStor's object headers on the way in (x-qs-meta-*, content headers) and out (GET/HEAD).

const META_PREFIX = 'x-qs-meta-';
/** QingStor's limits on user metadata: 2 KB in total, 512 bytes per name. */
const MAX_META_TOTAL = 2048;
const MAX_META_NAME = 512;
const STORAGE_CLASSES = new Set(['STANDARD', 'STANDARD_IA']);

/** One header's value as a string (repeated headers joined as Node does). */
export function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * A header whose syntax has no literal `%` (ETags, HTTP dates, ranges, directives), with the
 * percent-escapes undone: the npm SDK passes every header value through encodeURI, so
 * `If-Match: "abc"` arrives as `%22abc%22` and an HTTP date with `%20` for its spaces.
 */
export function plainHeader(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = header(h, name);
  if (v === undefined || !v.includes('%')) return v;
  try {
    return percentDecode(v);
  } catch {
    return v;
  }
}

/** The GET/HEAD conditional headers (or, with `prefix`, a copy source's `x-qs-copy-source-if-*`). */
export function conditionsFrom(h: IncomingHttpHeaders, prefix = ''): Conditions {
  return {
    ifMatch: plainHeader(h, `${prefix}if-match`),
    ifNoneMatch: plainHeader(h, `${prefix}if-none-match`),
    ifModifiedSince: plainHeader(h, `${prefix}if-modified-since`),
    ifUnmodifiedSince: plainHeader(h, `${prefix}if-unmodified-since`),
  };
}

/**
 * The attributes a PUT, copy with REPLACE, append or initiate sets: `x-qs-meta-*` (names lowercased,
 * values as sent; the SDKs percent-encode what is not ASCII) and the content headers.
 */
export function attributesFrom(h: IncomingHttpHeaders): ObjectAttributes {
  checkRequestOptions(h);
  const userMeta: Record<string, string> = {};
  let size = 0;
  for (const [name, value] of Object.entries(h)) {
    if (!name.startsWith(META_PREFIX) || value === undefined) continue;
    const k = name.slice(META_PREFIX.length);
    const v = Array.isArray(value) ? value.join(', ') : value;
    if (Buffer.byteLength(k) > MAX_META_NAME) throw new GatewayError('MetadataTooLarge', `The metadata name "${k.slice(0, 32)}..." is longer than ${MAX_META_NAME} bytes.`);
    userMeta[k] = v;
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size > MAX_META_TOTAL) throw new GatewayError('MetadataTooLarge');
  return {
    contentType: header(h, 'content-type') || undefined,
    contentEncoding: header(h, 'content-encoding'),
    contentDisposition: header(h, 'content-disposition'),
    contentLanguage: header(h, 'content-language'),
    cacheControl: header(h, 'cache-control'),
    expires: plainHeader(h, 'expires'),
    userMeta,
  };
}

/**
 * Refuses request options the gateway cannot honour rather than ignoring them: customer-key
 * encryption (the bytes would be stored unencrypted) and unknown storage classes.
 */
export function checkRequestOptions(h: IncomingHttpHeaders): void {
  if (Object.keys(h).some((n) => n.startsWith('x-qs-encryption-customer-'))) {
    throw new GatewayError('InvalidRequest', 'Server-side encryption with customer keys is not supported by this gateway.');
  }
  const cls = plainHeader(h, 'x-qs-storage-class');
  // STANDARD_IA is accepted and stored as STANDARD: the gateway has one storage class.
  if (cls !== undefined && !STORAGE_CLASSES.has(cls.trim().toUpperCase())) throw new GatewayError('InvalidRequest', `The storage class "${cls}" is not valid.`);
}

/**
 * The response headers describing an object on GET/HEAD: quoted ETag, RFC 1123 Last-Modified,
 * content headers, `x-qs-meta-*`, and for appendable objects the append type and next position;
 * `response-*` query parameters override the content headers.
 */
export function objectHeaders(rec: ObjectRecord, query: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {
    ETag: `"${rec.etag}"`,
    'Last-Modified': new Date(rec.lastModified).toUTCString(),
    'Content-Type': rec.contentType ?? 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    'x-qs-storage-class': 'STANDARD',
  };
  Object.assign(out, contentHeaders(rec));
  for (const [k, v] of Object.entries(rec.userMeta ?? {})) out[META_PREFIX + k] = headerSafe(v);
  if (rec.appendable) {
    out['x-qs-object-type'] = 'append';
    out['x-qs-next-append-position'] = String(rec.size);
  }
  for (const [param, name] of RESPONSE_OVERRIDES) {
    const v = query.get(param);
    if (v !== undefined) out[name] = headerSafe(v);
  }
  return out;
}

/**
 * A value Node can send: Latin-1 text goes out byte for byte (that is how Node read it); anything
 * wider (metadata written as UTF-8 through another client) is percent-encoded, as the QingStor SDKs
 * encode such values themselves.
 */
function headerSafe(v: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x20-\x7E\t\x80-\xFF]*$/.test(v)) return v;
  let out = '';
  for (const b of Buffer.from(v, 'utf8')) out += b >= 0x20 && b < 0x7f && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}
