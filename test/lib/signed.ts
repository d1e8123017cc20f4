// Hand-signed requests over node:http and raw sockets, for the auth, aws-chunked, checksum and
// bad-input tests: they need control over every header, the signing date and key, and the body bytes.
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
import { signHeaders, type Credentials } from '../../packages/protocol-s3/src/auth/index.js';
import { ROOT_KEY, type TestGateway } from './gateway.js';

/** One request. `path` is the raw request-target (path and query, already percent-encoded). */
export interface Req {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Who signs (SigV4 header); `null` sends it unsigned. Defaults to the root user. */
  as?: Credentials | null;
  /** The x-amz-content-sha256 to sign; defaults to the SHA-256 of the body. */
  payload?: string;
  /** Signing time; defaults to now. */
  date?: Date;
}

/** A buffered response. */
export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export const sha256 = (d: Buffer | string): string => createHash('sha256').update(d).digest('hex');
export const md5b64 = (d: Buffer | string): string => createHash('md5').update(d).digest('base64');

/** The flexible checksums S3 supports, by the lowercase name in `x-amz-checksum-<name>`. */
export type ChecksumName = 'crc32' | 'crc32c' | 'crc64nvme' | 'sha1' | 'sha256';

/** A checksum as S3 sends it (base64 of the big-endian bytes), computed with libraries independent of the gateway. */
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

/** A pseudo-URL for the signer, which reads only these fields; a real URL would normalise the path. */
function signerUrl(host: string, path: string): URL {
  const q = path.indexOf('?');
  return { host, pathname: q < 0 ? path : path.slice(0, q), search: q < 0 ? '' : path.slice(q) } as unknown as URL;
}

/** A client for one gateway, signing with the project's SigV4 signer. */
export class Client {
  readonly host: string;
  readonly port: number;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

  constructor(readonly endpoint: string) {
    const u = new URL(endpoint);
    this.host = u.host;
    this.port = Number(u.port);
  }

  /** The headers a signed request carries (host, x-amz-date, x-amz-content-sha256, authorization included). */
  sign(req: Req): Record<string, string> {
    const body = typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
    const headers: Record<string, string> = { host: this.host, ...req.headers };
    if (req.as === null) return headers;
    return signHeaders({ method: req.method ?? 'GET', url: signerUrl(this.host, req.path), headers, payloadHash: req.payload ?? sha256(body ?? ''), credentials: req.as ?? ROOT_KEY, date: req.date });
  }

  /** Signs (unless `as: null`) and sends a request; Content-Length is set from the body. */
  async send(req: Req): Promise<Reply> {
    const body = typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
    const headers = this.sign({ ...req, headers: { ...(body && !hasHeader(req.headers, 'transfer-encoding') ? { 'content-length': String(body.length) } : {}), ...req.headers } });
    return this.raw(req.method ?? 'GET', req.path, headers, body);
  }

  /** Sends exactly these headers and body. */
  raw(method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const r = http.request({ host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent, setHost: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data, text: data.toString('utf8') });
        });
        res.on('error', reject);
      });
      r.on('error', reject);
      r.end(body);
    });
  }

  async createBucket(bucket: string, as?: Credentials): Promise<void> {
    const res = await this.send({ method: 'PUT', path: `/${bucket}`, as });
    assert.equal(res.status, 200, res.text);
  }

  async put(bucket: string, key: string, data: Buffer | string, headers: Record<string, string> = {}, as?: Credentials): Promise<Reply> {
    const res = await this.send({ method: 'PUT', path: `/${bucket}/${key}`, body: data, headers, as });
    assert.equal(res.status, 200, res.text);
    return res;
  }

  /** GET of an object; the reply, whatever its status. */
  get(bucket: string, key: string, headers: Record<string, string> = {}): Promise<Reply> {
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
      const doc = (await parseStringPromise(res.text)) as { ListBucketResult: { Contents?: Array<{ Key: string[] }>; NextContinuationToken?: string[] } };
      for (const c of doc.ListBucketResult.Contents ?? []) out.push(c.Key[0]);
      token = doc.ListBucketResult.NextContinuationToken?.[0];
    } while (token);
    return out;
  }

  close(): void {
    this.agent.destroy();
  }
}

function hasHeader(h: Record<string, string> | undefined, name: string): boolean {
  return Object.keys(h ?? {}).some((k) => k.toLowerCase() === name);
}

/** The child elements of an S3 `<Error>` body by name. */
export async function errorFields(text: string): Promise<Record<string, string>> {
  const doc = (await parseStringPromise(text, { explicitArray: false, strict: true })) as Record<string, unknown>;
  assert.deepEqual(Object.keys(doc), ['Error'], `not an S3 error document: ${text}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc.Error as Record<string, unknown>)) {
    assert.notEqual(k, '$', 'the Error element carries no namespace');
    out[k] = typeof v === 'string' ? v : '';
  }
  return out;
}

/**
 * Asserts a proper S3 error: the status, an XML `<Error>` with this Code, and a RequestId equal to
 * the x-amz-request-id header (which every error carries). Returns the error's fields.
 */
export async function expectError(res: Reply, status: number, code: string): Promise<Record<string, string>> {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text}`);
  const requestId = res.headers['x-amz-request-id'];
  assert.ok(typeof requestId === 'string' && requestId.length > 0, 'x-amz-request-id header missing');
  assert.match(String(res.headers['content-type']), /^application\/xml/);
  const fields = await errorFields(res.text);
  assert.equal(fields.Code, code, res.text);
  assert.equal(fields.RequestId, requestId, 'RequestId element differs from the x-amz-request-id header');
  return fields;
}

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
 * Writes `data` on a fresh socket, then ends it (`half: true`, waiting for the answer) or destroys
 * it; resolves with whatever the server sent before closing or before `waitMs`.
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

/** The SigV2 signature (base64 HMAC-SHA1) of a string to sign. */
export function v2Sign(secret: string, stringToSign: string): string {
  return createHmac('sha1', secret).update(stringToSign).digest('base64');
}
