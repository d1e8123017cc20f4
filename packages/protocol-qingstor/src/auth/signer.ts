import { createHmac } from 'node:crypto';
import { percentDecode, rawQueryItems, splitTarget } from '../url.js';

/** Query parameters signed as part of the resource (the Python SDK's list; the other SDKs sign a subset). */
export const SUB_RESOURCES: ReadonlySet<string> = new Set([
  'acl', 'append', 'cname', 'cors', 'delete', 'image', 'lifecycle', 'logging', 'mirror', 'notification',
  'part_number', 'policy', 'position', 'replication', 'stats', 'upload_id', 'uploads',
  'response-cache-control', 'response-content-disposition', 'response-content-encoding',
  'response-content-language', 'response-content-type', 'response-expires',
]);

/** Request headers as Node hands them over (names in any case; arrays for repeated headers). */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | number | undefined>>;

/** One header's value by lowercase `name`, repeated values joined as Node joins them; undefined when absent. */
export function headerValue(headers: HeaderBag, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || k.toLowerCase() !== name) continue;
    return Array.isArray(v) ? v.join(', ') : String(v);
  }
  return undefined;
}

/** The `x-qs-*` headers as `name:value\n` lines, names lowercased, sorted, values trimmed. */
export function canonicalizedHeaders(headers: HeaderBag): string {
  const byName = new Map<string, string>();
  for (const [k, v] of Object.entries(headers)) {
    const name = k.trim().toLowerCase();
    if (v === undefined || !name.startsWith('x-qs-')) continue;
    const value = Array.isArray(v) ? v.join(', ') : String(v);
    byName.set(name, byName.has(name) ? `${byName.get(name)}, ${value}` : value);
  }
  return [...byName.keys()].sort().map((n) => `${n}:${byName.get(n)!.trim()}\n`).join('');
}

/** How the sub-resources of a query are put into the resource. */
export interface ResourceOptions {
  /** The bucket when it came from the Host (virtual-host style); it is put in front of the path. */
  vhostBucket?: string;
  /** Sign values decoded (the JavaScript and Go SDKs) instead of as sent (the Python SDK). */
  decodeValues?: boolean;
  /** Which parameter names count as sub-resources; SUB_RESOURCES by default. */
  subResources?: ReadonlySet<string>;
}

/**
 * The canonicalized resource: the raw path (behind `/<bucket>` for virtual hosts), then `?` and the
 * sub-resource items of the raw query, sorted and joined with `&`. Throws InvalidURI when
 * `decodeValues` meets a malformed escape.
 */
export function canonicalizedResource(rawPath: string, rawQuery: string, opts: ResourceOptions = {}): string {
  const subs = opts.subResources ?? SUB_RESOURCES;
  const path = opts.vhostBucket === undefined ? rawPath : `/${opts.vhostBucket}${rawPath}`;
  const items: string[] = [];
  for (const item of rawQueryItems(rawQuery)) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    if (!subs.has(name)) continue;
    items.push(eq < 0 || !opts.decodeValues ? item : `${name}=${percentDecode(item.slice(eq + 1), true)}`);
  }
  // Plain code-unit order, as Python's sorted() and JavaScript's sort() put ASCII.
  items.sort();
  return items.length === 0 ? path : `${path}?${items.join('&')}`;
}

/** The lines QingStor signs. */
export interface SigningParts {
  method: string;
  contentMd5?: string;
  contentType?: string;
  /** The Date header, '' when x-qs-date is sent, or the `expires` second count of a signed URL. */
  date: string;
  /** Output of canonicalizedHeaders. */
  canonicalHeaders: string;
  /** Output of canonicalizedResource. */
  resource: string;
}

/** The string to sign: verb, Content-MD5, Content-Type and date lines, then the x-qs headers and the resource. */
export function stringToSign(p: SigningParts): string {
  return `${p.method.toUpperCase()}\n${p.contentMd5 ?? ''}\n${p.contentType ?? ''}\n${p.date}\n${p.canonicalHeaders}${p.resource}`;
}

/** Base64 HMAC-SHA256 of the string to sign under the secret key. */
export function computeSignature(secretKey: string, toSign: string): string {
  return createHmac('sha256', secretKey).update(toSign, 'utf8').digest('base64');
}

/** A request as a client is about to send it. */
export interface ClientRequest {
  method: string;
  /** Request-target exactly as it will go on the wire: percent-encoded path plus optional `?query`. */
  url: string;
  headers: HeaderBag;
  accessKey: string;
  secretKey: string;
  vhostBucket?: string;
}

function partsFor(req: ClientRequest, date: string, contentType: string | undefined): SigningParts {
  const { rawPath, rawQuery } = splitTarget(req.url);
  return {
    method: req.method,
    contentMd5: headerValue(req.headers, 'content-md5'),
    contentType,
    date,
    canonicalHeaders: canonicalizedHeaders(req.headers),
    resource: canonicalizedResource(rawPath, rawQuery, { vhostBucket: req.vhostBucket }),
  };
}

/** The `Authorization: QS <ak>:<sig>` value for a request; the date line is empty when x-qs-date is sent. */
export function authorizationHeader(req: ClientRequest): string {
  const date = headerValue(req.headers, 'x-qs-date') !== undefined ? '' : (headerValue(req.headers, 'date') ?? '');
  const sig = computeSignature(req.secretKey, stringToSign(partsFor(req, date, headerValue(req.headers, 'content-type'))));
  return `QS ${req.accessKey}:${sig}`;
}

/**
 * The query a signed URL appends (`signature=...&access_key_id=...&expires=...`, the Python SDK's
 * order): the date line is `expires` (Unix seconds) and the Content-Type line empty, as that SDK signs.
 */
export function signedQuery(req: ClientRequest & { expires: number }): string {
  const sig = computeSignature(req.secretKey, stringToSign(partsFor(req, String(req.expires), '')));
  // Python's quote(): '/' stays, '+' and '=' are escaped.
  const quoted = sig.replace(/\+/g, '%2B').replace(/=/g, '%3D');
  return `signature=${quoted}&access_key_id=${encodeURIComponent(req.accessKey)}&expires=${req.expires}`;
}
