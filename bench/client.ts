// The load generator's HTTP side: one undici pool per server, keep-alive, no pipelining. Requests to
// the gateway are SigV4-signed with UNSIGNED-PAYLOAD so the client never hashes a body; the
// references get the very same requests unsigned.
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import { canonicalQuery, signRequest, uriEncode } from './sigv4.js';
import { CREDENTIALS, type Server } from './servers.js';

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Bytes of body received (always counted). */
  bytes: number;
  /** The body, only when asked for (XML answers). */
  text?: string;
}

export class Client {
  readonly pool: Pool;
  private readonly host: string;

  constructor(readonly server: Server, connections: number) {
    this.host = `127.0.0.1:${server.port}`;
    // Large bodies take seconds, so undici's idle-time limits are lifted rather than tuned.
    this.pool = new Pool(`http://${this.host}`, { connections, pipelining: 1, headersTimeout: 600_000, bodyTimeout: 600_000, keepAliveTimeout: 30_000 });
  }

  /** Sends one request; `key` undefined addresses the bucket. The body is drained and counted, or kept as text. */
  async send(method: string, bucket: string, key: string | undefined, opts: { query?: Record<string, string>; body?: Buffer | Readable; length?: number; keepText?: boolean } = {}): Promise<Response> {
    const encodedPath = `/${bucket}${key === undefined ? '' : `/${uriEncode(key, false)}`}`;
    const qs = canonicalQuery(opts.query);
    const headers: Record<string, string> = {};
    if (opts.length !== undefined) headers['content-length'] = String(opts.length);
    if (this.server.signed) {
      Object.assign(headers, signRequest({ method, host: this.host, encodedPath, query: opts.query, payloadHash: 'UNSIGNED-PAYLOAD', credentials: CREDENTIALS }));
    }
    const res = await this.pool.request({ method: method as 'GET', path: qs ? `${encodedPath}?${qs}` : encodedPath, headers, body: opts.body ?? null });
    let bytes = 0;
    let text: string | undefined;
    if (opts.keepText || res.statusCode >= 300) {
      text = await res.body.text();
      bytes = Buffer.byteLength(text);
    } else {
      for await (const chunk of res.body) bytes += (chunk as Buffer).length;
    }
    return { status: res.statusCode, headers: res.headers, bytes, text };
  }

  /** PUT an object; throws unless 200. Returns the ETag, if the server gave one. */
  async put(bucket: string, key: string, body: Buffer | Readable, length: number): Promise<string | undefined> {
    const r = await this.send('PUT', bucket, key, { body, length });
    if (r.status !== 200) throw new Error(`${this.server.name} PUT ${key}: ${r.status} ${r.text ?? ''}`);
    return r.headers.etag as string | undefined;
  }

  /** GET an object; throws unless 200 with exactly `expected` bytes. */
  async get(bucket: string, key: string, expected: number): Promise<void> {
    const r = await this.send('GET', bucket, key);
    if (r.status !== 200) throw new Error(`${this.server.name} GET ${key}: ${r.status} ${r.text ?? ''}`);
    if (r.bytes !== expected) throw new Error(`${this.server.name} GET ${key}: ${r.bytes} bytes, expected ${expected}`);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** `total` bytes made of `source` repeated, as a stream of zero-copy slices (no disk, no copying). */
export function repeatedBody(source: Buffer, total: number, slice = 4 * 1024 * 1024): Readable {
  let sent = 0;
  return new Readable({
    highWaterMark: slice,
    read() {
      if (sent >= total) return void this.push(null);
      const offset = sent % source.length;
      const n = Math.min(slice, total - sent, source.length - offset);
      sent += n;
      this.push(source.subarray(offset, offset + n));
    },
  });
}
