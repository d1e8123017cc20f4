// Hand-signed S3 requests over raw HTTP, for tests that must control the exact bytes on the wire.
// The request-target is sent exactly as given (undici's dispatcher API does not normalise it, unlike
// WHATWG URL), so keys holding `//`, `./` and `../` segments reach the gateway unchanged.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Agent } from 'undici';
import { parseStringPromise } from 'xml2js';
import { presignUrl, signHeaders, uriEncode, type Credentials } from '../../packages/protocol-s3/src/auth/index.js';
import { ROOT_KEY } from './gateway.js';

/** One request: `path` is the raw request path, already percent-encoded where needed. */
export interface RawRequest {
  method?: string;
  path: string;
  /** Raw query string (without `?`), or parameters to encode (undefined values left out). */
  query?: string | Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Signing credentials; `null` sends the request anonymously. Defaults to the root user. */
  as?: Credentials | null;
  /** Host header to send (and sign), e.g. `bucket.localhost:port` for virtual-host style. */
  host?: string;
  /** x-amz-content-sha256; defaults to the SHA-256 of the body. */
  payload?: string;
}

/** A buffered response. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  text: string;
}

/** A parsed XML element in xml2js shape (child elements as arrays, text as `_` or a string). */
export type XmlEl = Record<string, unknown>;

/** A client for one gateway endpoint, keeping connections alive between requests. */
export class S3Http {
  readonly origin: string;
  private readonly agent = new Agent({ keepAliveTimeout: 2_000 });

  constructor(endpoint: string) {
    this.origin = new URL(endpoint).origin;
  }

  /** Signs (SigV4, from the raw path) and sends a request, buffering the answer. */
  async send(req: RawRequest): Promise<RawResponse> {
    const method = req.method ?? 'GET';
    const body = typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
    const search = queryString(req.query);
    const host = req.host ?? new URL(this.origin).host;
    let headers: Record<string, string> = { ...req.headers, host };
    if (body !== undefined) headers['content-length'] = String(body.length);
    if (req.as !== null) {
      // signHeaders reads only pathname, search and host; a URL object would normalise the path.
      const url = { pathname: req.path, search: search ? `?${search}` : '', host } as unknown as URL;
      headers = signHeaders({ method, url, headers, payloadHash: req.payload ?? sha256(body ?? Buffer.alloc(0)), credentials: req.as ?? ROOT_KEY });
    }
    const res = await this.agent.request({ origin: this.origin, path: search ? `${req.path}?${search}` : req.path, method, headers, body });
    const data = Buffer.from(await res.body.arrayBuffer());
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
    return { status: res.statusCode, headers: flat, body: data, text: data.toString('utf8') };
  }

  /** A presigned URL (path-style, raw path kept) for `method` on `path`. */
  presign(method: string, path: string, query = '', as: Credentials = ROOT_KEY): string {
    const url = { pathname: path, search: query ? `?${query}` : '', host: new URL(this.origin).host, origin: this.origin } as unknown as URL;
    return presignUrl({ method, url, expires: 300, credentials: as });
  }

  /** Sends a request and parses the XML answer, failing with the body when the status differs. */
  async xml(req: RawRequest, status = 200): Promise<XmlEl> {
    const res = await this.send(req);
    if (res.status !== status) throw new Error(`${req.method ?? 'GET'} ${req.path}: expected ${status}, got ${res.status}: ${res.text}`);
    return parseXml(res.text);
  }

  /** Closes the kept-alive connections. */
  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** The raw path of an object, path-style, with the key encoded as SDKs do (`/` kept). */
export function objectPath(bucket: string, key: string): string {
  return `/${bucket}/${uriEncode(key, false)}`;
}

/** Encodes query parameters as conforming signers do (`%20`, `%2B`, `%2F`). */
export function queryString(q: RawRequest['query']): string {
  if (q === undefined) return '';
  if (typeof q === 'string') return q;
  return Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => (v === '' ? uriEncode(k, true) : `${uriEncode(k, true)}=${uriEncode(String(v), true)}`)).join('&');
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function md5Hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

/** Parses an XML document strictly; returns the root element (its name under `$root`). */
export async function parseXml(text: string): Promise<XmlEl> {
  const doc = (await parseStringPromise(text, { explicitArray: true, strict: true })) as Record<string, unknown>;
  const [name] = Object.keys(doc);
  const root = doc[name];
  return { ...(typeof root === 'object' && root !== null ? (root as XmlEl) : {}), $root: name };
}

/** The child elements `name` of `el`. */
export function all(el: unknown, name: string): XmlEl[] {
  const v = (el as Record<string, unknown> | undefined)?.[name];
  return Array.isArray(v) ? v.map((x) => (typeof x === 'object' && x !== null ? (x as XmlEl) : ({ _: x } as XmlEl))) : [];
}

/** The text of the first child `name` of `el` ('' for an empty element), undefined when absent. */
export function text(el: unknown, name: string): string | undefined {
  const v = (el as Record<string, unknown[]> | undefined)?.[name]?.[0];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && '_' in v) return String((v as { _: unknown })._);
  return '';
}

/** The texts of child `name` of each `parent` element, e.g. every Contents/Key. */
export function texts(el: unknown, parent: string, name: string): string[] {
  return all(el, parent).map((p) => text(p, name) ?? '');
}

/** The error code of an S3 `<Error>` body. */
export function errorCode(res: RawResponse): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(res.text)?.[1];
}

/** Asserts an S3 error answer: the status and, when the method has a body, the `<Code>`. */
export function assertError(res: RawResponse, status: number, code?: string): void {
  assert.equal(res.status, status, `expected ${status} ${code ?? ''}, got ${res.status}: ${res.text}`);
  if (code !== undefined) assert.equal(errorCode(res), code, res.text);
}

/** Decodes `encoding-type=url` values (form style: `+` is a space). */
export function formDecode(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

/** Sorts strings in UTF-8 byte order, the order S3 lists keys in. */
export function byteSort(keys: string[]): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}
