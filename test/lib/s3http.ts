// Hand-signed S3 requests over raw HTTP, for tests that must control the exact bytes on the wire:
// every header, the signing date and key, the body, and the request-target. node:http sends the
// path exactly as given (a WHATWG URL would normalise it), so keys holding `//`, `./` and `../`
// segments and malformed percent-encodings reach the gateway unchanged.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createHash, createHmac } from 'node:crypto';
import zlib from 'node:zlib';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseStringPromise } from 'xml2js';
import { AwsCrc32c } from '@aws-crypto/crc32c';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { presignUrl, signHeaders, uriEncode, type Credentials } from '../../packages/protocol-s3/src/auth/index.js';
import { ROOT_KEY, type TestGateway } from './gateway.js';

/** One request: `path` is the raw request-target, already percent-encoded, optionally with its query. */
export interface RawRequest {
  method?: string;
  path: string;
  /** Query appended to `path`: a raw string (without `?`), or parameters to encode (undefined values left out). */
  query?: string | Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Signing credentials (SigV4 header); `null` sends the request anonymously. Defaults to the root user. */
  as?: Credentials | null;
  /** Host header to send (and sign), e.g. `bucket.localhost:port` for virtual-host style. */
  host?: string;
  /** x-amz-content-sha256; defaults to the SHA-256 of the body. */
  payload?: string;
  /** Signing time; defaults to now. */
  date?: Date;
}

/** A buffered response; repeated headers are joined with `, `. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  text: string;
}

/** A parsed XML element in xml2js shape (child elements as arrays, text as `_` or a string). */
export type XmlEl = Record<string, unknown>;

/** A client for one gateway endpoint, signing with the project's SigV4 signer and keeping connections alive. */
export class S3Http {
  readonly origin: string;
  /** The endpoint's host:port, the Host header requests carry by default. */
  readonly host: string;
  readonly port: number;
  private readonly hostname: string;
  private readonly agent = new http.Agent({ keepAlive: true });

  constructor(endpoint: string) {
    const u = new URL(endpoint);
    this.origin = u.origin;
    this.host = u.host;
    this.hostname = u.hostname;
    this.port = Number(u.port);
  }

  /** The headers a request carries once signed (host, x-amz-date, x-amz-content-sha256, authorization added); as given when `as: null`. */
  sign(req: RawRequest): Record<string, string> {
    const body = typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
    const host = req.host ?? this.host;
    const headers: Record<string, string> = { host, ...req.headers };
    if (req.as === null) return headers;
    return signHeaders({ method: req.method ?? 'GET', url: signerUrl(host, target(req)), headers, payloadHash: req.payload ?? sha256(body ?? ''), credentials: req.as ?? ROOT_KEY, date: req.date });
  }

  /** Signs (unless `as: null`) and sends a request; Content-Length is set from the body unless the request is HTTP-chunked. */
  async send(req: RawRequest): Promise<RawResponse> {
    const body = typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
    const length: Record<string, string> = body && !hasHeader(req.headers, 'transfer-encoding') ? { 'content-length': String(body.length) } : {};
    const headers = this.sign({ ...req, headers: { ...length, ...req.headers } });
    return this.raw(req.method ?? 'GET', target(req), headers, body);
  }

  /** Sends exactly these headers and body to a raw request-target. */
  raw(method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const r = http.request({ host: this.hostname, port: this.port, method, path, headers, agent: this.agent, setHost: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          const flat: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ status: res.statusCode ?? 0, headers: flat, body: data, text: data.toString('utf8') });
        });
        res.on('error', reject);
        // A connection cut mid-response must fail the request rather than leave it pending.
        res.on('close', () => (res.complete ? undefined : reject(new Error(`${method} ${path}: response cut off`))));
      });
      r.on('error', reject);
      r.end(body);
    });
  }

  /** A presigned URL (path-style, raw path kept) for `method` on `path`. */
  presign(method: string, path: string, query = '', as: Credentials = ROOT_KEY): string {
    const url = { pathname: path, search: query ? `?${query}` : '', host: this.host, origin: this.origin } as unknown as URL;
    return presignUrl({ method, url, expires: 300, credentials: as });
  }

  /** Sends a request and parses the XML answer, failing with the body when the status differs. */
  async xml(req: RawRequest, status = 200): Promise<XmlEl> {
    const res = await this.send(req);
    if (res.status !== status) throw new Error(`${req.method ?? 'GET'} ${req.path}: expected ${status}, got ${res.status}: ${res.text}`);
    return parseXml(res.text);
  }

  /** Creates a bucket, asserting 200. */
  async createBucket(bucket: string, as?: Credentials): Promise<void> {
    const res = await this.send({ method: 'PUT', path: `/${bucket}`, as });
    assert.equal(res.status, 200, res.text);
  }

  /** PUTs an object (key sent as given, unencoded), asserting 200. */
  async put(bucket: string, key: string, data: Buffer | string, headers: Record<string, string> = {}, as?: Credentials): Promise<RawResponse> {
    const res = await this.send({ method: 'PUT', path: `/${bucket}/${key}`, body: data, headers, as });
    assert.equal(res.status, 200, res.text);
    return res;
  }

  /** GET of an object (key sent as given, unencoded); the reply, whatever its status. */
  get(bucket: string, key: string, headers: Record<string, string> = {}): Promise<RawResponse> {
    return this.send({ path: `/${bucket}/${key}`, headers });
  }

  /** Asserts that an object reads back as exactly `data`. */
  async assertObject(bucket: string, key: string, data: Buffer | string): Promise<void> {
    const res = await this.get(bucket, key);
    assert.equal(res.status, 200, `GET ${bucket}/${key}: ${res.text}`);
    assert.ok(res.body.equals(Buffer.from(data)), `GET ${bucket}/${key} returned ${res.body.length} bytes that differ from the ${Buffer.from(data).length} stored`);
  }

  /** Asserts that a key does not exist (GET answers NoSuchKey). */
  async assertMissing(bucket: string, key: string): Promise<void> {
    await expectError(await this.get(bucket, key), 404, 'NoSuchKey');
  }

  /** Every key of a bucket (ListObjectsV2, all pages). */
  async keys(bucket: string, as?: Credentials): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.send({ path: `/${bucket}?list-type=2${token ? `&continuation-token=${encodeURIComponent(token)}` : ''}`, as });
      assert.equal(res.status, 200, res.text);
      const doc = await parseXml(res.text);
      assert.equal(doc.$root, 'ListBucketResult', res.text);
      out.push(...texts(doc, 'Contents', 'Key'));
      token = text(doc, 'NextContinuationToken');
    } while (token);
    return out;
  }

  /** The bucket names ListBuckets shows to `as`, asserting 200. */
  async bucketNames(as?: Credentials): Promise<string[]> {
    const res = await this.send({ path: '/', as });
    assert.equal(res.status, 200, res.text);
    return [...res.text.matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) => m[1]);
  }

  /** Closes the kept-alive connections. */
  async close(): Promise<void> {
    this.agent.destroy();
  }
}

/** The request-target: the path with the query appended. */
function target(req: RawRequest): string {
  const search = queryString(req.query);
  if (!search) return req.path;
  return `${req.path}${req.path.includes('?') ? '&' : '?'}${search}`;
}

/** A pseudo-URL for the signer, which reads only these fields; a real URL would normalise the path. */
function signerUrl(host: string, path: string): URL {
  const q = path.indexOf('?');
  return { host, pathname: q < 0 ? path : path.slice(0, q), search: q < 0 ? '' : path.slice(q) } as unknown as URL;
}

function hasHeader(h: Record<string, string> | undefined, name: string): boolean {
  return Object.keys(h ?? {}).some((k) => k.toLowerCase() === name);
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

/** Decodes `encoding-type=url` values (form style: `+` is a space). */
export function formDecode(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

/** Sorts strings in UTF-8 byte order, the order S3 lists keys in. */
export function byteSort(keys: string[]): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

// --- XML ---

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

// --- Errors ---

/** The error code of an S3 `<Error>` body, undefined when there is none. */
export function errorCode(res: RawResponse): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(res.text)?.[1];
}

/** Asserts the status of an error answer and, when given (methods with a body), its `<Code>`. */
export function assertError(res: RawResponse, status: number, code?: string): void {
  assert.equal(res.status, status, `expected ${status} ${code ?? ''}, got ${res.status}: ${res.text}`);
  if (code !== undefined) assert.equal(errorCode(res), code, res.text);
}

/**
 * Asserts a complete S3 error: the status, an XML `<Error>` document (no namespace) with this Code,
 * and a RequestId equal to the x-amz-request-id header (which every error carries). Returns the
 * error's child elements by name.
 */
export async function expectError(res: RawResponse, status: number, code: string): Promise<Record<string, string>> {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text}`);
  const requestId = res.headers['x-amz-request-id'];
  assert.ok(typeof requestId === 'string' && requestId.length > 0, 'x-amz-request-id header missing');
  assert.match(String(res.headers['content-type']), /^application\/xml/);
  const doc = (await parseStringPromise(res.text, { explicitArray: false, strict: true })) as Record<string, unknown>;
  assert.deepEqual(Object.keys(doc), ['Error'], `not an S3 error document: ${res.text}`);
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc.Error as Record<string, unknown>)) {
    assert.notEqual(k, '$', 'the Error element carries no namespace');
    fields[k] = typeof v === 'string' ? v : '';
  }
  assert.equal(fields.Code, code, res.text);
  assert.equal(fields.RequestId, requestId, 'RequestId element differs from the x-amz-request-id header');
  return fields;
}

// --- Digests and signatures, computed independently of the gateway ---

/** Hex SHA-256. */
export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hex MD5, as in ETags. */
export function md5Hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

/** The quoted ETag S3 gives a multipart upload of `data` in `partSize` parts: the MD5 of the part MD5s, `-<parts>`. */
export function multipartEtag(data: Buffer, partSize: number): string {
  const n = Math.ceil(data.length / partSize);
  const digests = Array.from({ length: n }, (_, k) => createHash('md5').update(data.subarray(k * partSize, (k + 1) * partSize)).digest());
  return `"${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${n}"`;
}

/** Base64 MD5, as in Content-MD5. */
export function md5b64(data: Buffer | string): string {
  return createHash('md5').update(data).digest('base64');
}

/** The flexible checksums S3 supports, by the lowercase name in `x-amz-checksum-<name>`. */
export type ChecksumName = 'crc32' | 'crc32c' | 'crc64nvme' | 'sha1' | 'sha256';

/** A checksum as S3 sends it (base64 of the big-endian bytes). */
export async function checksumOf(name: ChecksumName, data: Buffer | string): Promise<string> {
  const buf = Buffer.from(data);
  switch (name) {
    case 'crc32': {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(zlib.crc32(buf));
      return out.toString('base64');
    }
    case 'crc32c': {
      const h = new AwsCrc32c();
      h.update(buf);
      return Buffer.from(await h.digest()).toString('base64');
    }
    case 'crc64nvme': {
      const h = new Crc64Nvme();
      h.update(buf);
      return Buffer.from(await h.digest()).toString('base64');
    }
    default:
      return createHash(name).update(buf).digest('base64');
  }
}

/** The SigV2 signature (base64 HMAC-SHA1) of a string to sign. */
export function v2Sign(secret: string, stringToSign: string): string {
  return createHmac('sha1', secret).update(stringToSign).digest('base64');
}

// --- The gateway process ---

/** Asserts that the gateway logged no 5xx-internal response (501 NotImplemented is a proper answer). */
export function assertNoServerErrors(gw: TestGateway): void {
  const bad = gw.logs.filter((line) => {
    try {
      const e = JSON.parse(line) as { status?: number; msg?: string; level?: number };
      return e.status === 500 || e.msg === 'internal error' || (e.level ?? 0) >= 50;
    } catch {
      return false;
    }
  });
  assert.deepEqual(bad, [], 'the gateway answered or logged internal errors');
}

/** The gateway's resident set size in bytes, from /proc. */
export async function rssBytes(gw: TestGateway): Promise<number> {
  const status = await readFile(`/proc/${gw.proc.pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  assert.ok(kb, 'VmRSS missing from /proc status');
  return Number(kb[1]) * 1024;
}

/** Files in flight under the disk driver's tmp directory. */
export async function tempFiles(gw: TestGateway): Promise<string[]> {
  return readdir(join(gw.dataDir, 'objects', 'tmp')).catch(() => []);
}

/** Polls `check` until it stops throwing, or rethrows its last failure after `ms`. */
export async function eventually(check: () => Promise<void>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Writes `data` on a fresh socket, then ends its sending side (waiting for the answer) or, with
 * `destroy`, drops the connection; resolves with whatever the server sent before closing or before `waitMs`.
 */
export function rawSocket(port: number, data: Buffer | string, opts: { destroy?: boolean; waitMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    const done = () => resolve(Buffer.concat(got).toString('latin1'));
    s.on('data', (c: Buffer) => got.push(c));
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? done() : reject(e)));
    s.on('close', done);
    s.write(data, () => {
      if (opts.destroy) {
        s.destroy();
        return;
      }
      s.end();
    });
    setTimeout(() => {
      s.destroy();
      done();
    }, opts.waitMs ?? 5_000).unref();
  });
}
