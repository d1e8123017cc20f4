import { createHash } from 'node:crypto';
import http, { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Client } from 'minio';
import { signV4 } from 'minio/dist/esm/signing.mjs';
import { GatewayError, type ErrorCode } from '@twinport/core';
import { errorFromResponse, unavailable } from './errors.js';
import { pump } from './body.js';
import { watch, type StallLimits } from './watchdog.js';

/** Where the upstream S3 service is, how to sign for it, and how long it may keep us waiting. */
export interface UpstreamOptions {
  /** `http://host:port` or `https://host`. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** The region requests are signed for (default us-east-1). */
  region?: string;
  /** Milliseconds to get a connection (default 3000). */
  connectTimeoutMs?: number;
  /** Milliseconds the upstream may stall a request that waits on it (default 10000; six times that to answer a Complete, a Copy or a body over 64 MiB); see watchdog.ts. */
  stallTimeoutMs?: number;
}

/** One request to the upstream. Bodies are a Buffer (signed with its sha256) or a stream (UNSIGNED-PAYLOAD). */
export interface UpstreamRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  bucket?: string;
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer;
  /** A body of exactly `length` bytes, sent as it arrives (see pump). */
  stream?: { source: AsyncIterable<unknown> | Iterable<unknown>; length: number };
  /** Statuses that count as success (default 200). */
  ok?: number[];
  /** What a bare 404 means (default NoSuchKey). */
  notFound?: ErrorCode;
  /** The upstream may take long to answer (completing or copying large objects). */
  slow?: boolean;
}

/** A whole answer read as text. */
export interface TextAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
/** Largest XML answer read (a 1000-key listing of 1 KiB keys is about 1.5 MiB). */
const TEXT_LIMIT = 32 * 1024 * 1024;
/** A streamed body from which on the upstream may take long to answer (hashing, flushing it). */
const LARGE_BODY = 64 * 1024 * 1024;
/** How much longer than `stallTimeoutMs` a slow answer may take. */
const SLOW_FACTOR = 6;
/** Errors of a request written on a pooled connection that the upstream had just closed. */
const STALE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** minio's client, used for what it does well: addressing (path or virtual-host style, key escaping). */
class Addressing extends Client {
  target(opts: { method: string; bucketName?: string; objectName?: string; query?: string; headers: Record<string, string>; region: string }) {
    return this.getRequestOptions(opts);
  }
}

class StaleSocket extends Error {}

/**
 * Signed HTTP requests to the upstream, on a keep-alive agent of our own. Every request is watched
 * (see watchdog.ts), socket failures become ServiceUnavailable, and error answers become the
 * matching GatewayError. Nothing is retried except a replayable request that hit a pooled connection
 * the upstream had just closed, so a restarted upstream is used again at once.
 */
export class Upstream {
  readonly region: string;
  private readonly addressing: Addressing;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly limits: StallLimits;

  constructor(private readonly opts: UpstreamOptions) {
    const url = new URL(opts.endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`upstream endpoint must be http(s): ${opts.endpoint}`);
    const secure = url.protocol === 'https:';
    this.region = opts.region || 'us-east-1';
    this.transport = secure ? https : http;
    // A free socket is dropped before a typical server's 5 s keep-alive timeout closes it under us.
    this.agent = new this.transport.Agent({ keepAlive: true, timeout: 4000 });
    const stallMs = opts.stallTimeoutMs ?? 10_000;
    this.limits = { connectMs: opts.connectTimeoutMs ?? 3000, stallMs, answerMs: stallMs };
    this.addressing = new Addressing({
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      useSSL: secure,
      accessKey: opts.accessKey,
      secretKey: opts.secretKey,
      region: this.region,
      transportAgent: this.agent,
    });
  }

  /** Sends `r`; resolves with the response when its status is expected, else rejects with the mapped error. */
  async send(r: UpstreamRequest): Promise<IncomingMessage> {
    try {
      return await this.attempt(r);
    } catch (e) {
      if (e instanceof StaleSocket) return this.attempt(r);
      throw e;
    }
  }

  /** Sends `r` and reads the whole answer. */
  async call(r: UpstreamRequest): Promise<TextAnswer> {
    const res = await this.send(r);
    let body = '';
    try {
      for await (const chunk of res) {
        body += (chunk as Buffer).toString('utf8');
        if (body.length > TEXT_LIMIT) throw new GatewayError('ServiceUnavailable', 'The upstream answer is too large.');
      }
    } catch (e) {
      res.destroy();
      throw e instanceof GatewayError ? e : unavailable(e);
    }
    return { status: res.statusCode ?? 0, headers: res.headers, body };
  }

  /** Releases the pooled connections. */
  close(): void {
    this.agent.destroy();
  }

  private attempt(r: UpstreamRequest): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      let req: ClientRequest;
      try {
        req = this.transport.request(this.sign(r));
      } catch (e) {
        // Node refuses header values it cannot send (e.g. characters beyond Latin-1).
        reject(new GatewayError('InvalidArgument', `The request cannot be sent upstream: ${(e as Error).message}`));
        return;
      }
      const long = this.limits.stallMs * SLOW_FACTOR;
      // AWS answers a long Complete or Copy at once and then trickles whitespace until it is done.
      if (r.slow) watch(req, { ...this.limits, stallMs: long, answerMs: long });
      else watch(req, r.stream && r.stream.length > LARGE_BODY ? { ...this.limits, answerMs: long } : this.limits);
      let bodyFailure: { error: unknown } | undefined;
      let answered = false;
      req.on('response', (res: IncomingMessage) => {
        answered = true;
        if ((r.ok ?? [200]).includes(res.statusCode ?? 0)) return resolve(res);
        errorFromResponse(res, r.notFound ?? 'NoSuchKey').then((e) => {
          reject(e);
          // A streamed body refused early (e.g. NoSuchBucket) is not sent on.
          if (!req.writableFinished) req.destroy();
        });
      });
      // Kept for the request's lifetime: a late socket error must not go unhandled.
      req.on('error', (e) => {
        if (bodyFailure) reject(bodyFailure.error);
        else if (!answered && req.reusedSocket && STALE.has((e as { code?: string }).code ?? '') && !r.stream) reject(new StaleSocket());
        else reject(unavailable(e));
      });
      if (r.stream) {
        pump(r.stream.source, req, r.stream.length).catch((error: unknown) => {
          bodyFailure = { error };
          req.destroy();
          reject(error);
        });
      } else {
        req.end(r.body);
      }
    });
  }

  private sign(r: UpstreamRequest): http.RequestOptions {
    const headers: Record<string, string> = {};
    // Trimmed because servers trim header values before checking the signature over them.
    for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v.trim();
    let hash = EMPTY_SHA256;
    if (r.stream) {
      headers['content-length'] = String(r.stream.length);
      hash = 'UNSIGNED-PAYLOAD';
    } else if (r.body) {
      headers['content-length'] = String(r.body.length);
      hash = createHash('sha256').update(r.body).digest('hex');
    } else if (r.method === 'PUT' || r.method === 'POST') {
      headers['content-length'] = '0';
    }
    const query = r.query ? Object.entries(r.query).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${uriEscape(k)}=${uriEscape(v)}`).join('&') : undefined;
    const target = this.addressing.target({ method: r.method, bucketName: r.bucket, objectName: r.key, query: query || undefined, headers, region: this.region });
    const date = new Date();
    target.headers['x-amz-date'] = date.toISOString().replace(/[:-]|\.\d{3}/g, '');
    target.headers['x-amz-content-sha256'] = hash;
    target.headers.authorization = signV4(target, this.opts.accessKey, this.opts.secretKey, this.region, date, hash);
    return target as http.RequestOptions;
  }
}

/** S3's URI encoding: everything but unreserved characters percent-encoded. */
export function uriEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
