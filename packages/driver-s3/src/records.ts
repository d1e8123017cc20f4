import type { IncomingHttpHeaders } from 'node:http';
import type { ContentHeaders, ObjectAttributes, ObjectRecord } from '@twinport/core';

/** Content headers as the record names them and as HTTP does. */
const CONTENT: ReadonlyArray<[keyof ContentHeaders, string]> = [
  ['contentType', 'content-type'],
  ['contentEncoding', 'content-encoding'],
  ['contentDisposition', 'content-disposition'],
  ['contentLanguage', 'content-language'],
  ['cacheControl', 'cache-control'],
  ['expires', 'expires'],
];
const META = 'x-amz-meta-';

/** An object as the upstream describes it: the gateway's view, and the upstream's own ETag. */
export interface UpstreamObject {
  record: ObjectRecord;
  upstreamEtag: string;
}

/** The request headers that store `attrs` upstream: content headers as such, user metadata as x-amz-meta-*. */
export function attributeHeaders(attrs: ObjectAttributes): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [field, name] of CONTENT) {
    const v = attrs[field];
    if (v !== undefined) h[name] = v;
  }
  for (const [name, v] of Object.entries(attrs.userMeta ?? {})) h[META + name.toLowerCase()] = v;
  return h;
}

/** The record of `key` from the headers of a HEAD or GET answer; `size` is the whole object's. */
export function objectFromHeaders(key: string, h: IncomingHttpHeaders, size: number): UpstreamObject {
  const upstreamEtag = unquote(h.etag);
  const record: ObjectRecord = { key, size, etag: upstreamEtag, lastModified: dateOf(h['last-modified']), userMeta: {} };
  for (const [field, name] of CONTENT) {
    const v = h[name];
    if (typeof v === 'string') record[field] = v;
  }
  for (const [name, v] of Object.entries(h)) {
    if (name.startsWith(META) && v !== undefined) record.userMeta[name.slice(META.length)] = Array.isArray(v) ? v.join(',') : v;
  }
  return { record, upstreamEtag };
}

/** The whole object's size from a GET answer: the total of a Content-Range, else the Content-Length. */
export function totalSize(h: IncomingHttpHeaders): number {
  const range = /\/(\d+)\s*$/.exec(h['content-range'] ?? '');
  return Number(range ? range[1] : h['content-length'] ?? 0);
}

/** An ETag without quotes (and without a weak marker). */
export function unquote(etag: string | undefined): string {
  return (etag ?? '').trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/** Milliseconds since the epoch of an HTTP or ISO date (0 when absent or unreadable). */
export function dateOf(s: string | undefined): number {
  const t = s ? Date.parse(s) : NaN;
  return Number.isNaN(t) ? 0 : t;
}
