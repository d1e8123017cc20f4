// The npm `qingstor-sdk` pointed at a test gateway's QingStor listener, and hand-signed QingStor
// requests for the tests that need control over every header, the signing time and the key.
//
// The SDK sends bucket requests to `<zone>.<host>:<port>` (and `<bucket>.<zone>.<host>:<port>` in
// virtual-host style). The gateway's QingStor domain is `localhost` (its default); inside this test
// process every name resolves to 127.0.0.1 through the HTTP agent's `lookup`, so `sh1a.localhost`
// reaches the gateway without touching /etc/hosts or DNS.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { authorizationHeader } from '../../packages/protocol-qingstor/src/auth/index.js';
import { ROOT_KEY, type TestGateway } from './gateway.js';

// `new Config()` writes ~/.qingstor/config.yaml unless this points elsewhere.
const configDir = mkdtempSync(join(tmpdir(), 'qs-sdk-'));
process.env.QINGSTOR_CONFIG_PATH = join(configDir, 'config.yaml');
process.once('exit', () => rmSync(configDir, { recursive: true, force: true }));

const require = createRequire(import.meta.url);
/** The SDK module: { QingStor, Config, Signer, ... }. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const sdk: any = require('qingstor-sdk');

/** The host name the SDK is configured with; the gateway serves it as its QingStor domain. */
export const QS_HOST = 'localhost';

/** Every name resolves to the loopback address, so `<zone>.localhost` and `<bucket>.<zone>.localhost` reach the gateway. */
export const loopback = new http.Agent({
  lookup: ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
    if (opts.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
    else cb(null, '127.0.0.1', 4);
  }) as never,
});

/** A key pair. */
export interface Keys {
  accessKey: string;
  secretKey: string;
}

/**
 * A `QingStor` service object of the SDK for `key`. Bodies come back as Buffers, parsed as JSON only
 * when the gateway says `Content-Type: application/json` (the SDK's own parsing would mangle binary
 * objects). With `vhost`, requests go to `<bucket>.<zone>.localhost` (the SDK leaves the bucket out
 * of its Host header; it is put back as a real client's HTTP stack would).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function qingstor(gw: TestGateway, key: Keys = ROOT_KEY, opts: { vhost?: boolean } = {}): any {
  const config = new sdk.Config({
    access_key_id: key.accessKey,
    secret_access_key: key.secretKey,
    endpoint: `http://${QS_HOST}:${gw.qsPort}`,
    enable_virtual_host_style: opts.vhost ?? false,
    connection_retries: 0,
    log_level: 'error',
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    getAxiosConfig: (op: any) => ({
      httpAgent: loopback,
      responseType: 'arraybuffer',
      transformResponse: [(data: Buffer, headers: Record<string, string>) => (headers['content-type'] === 'application/json' && data?.length ? JSON.parse(data.toString('utf8')) : data)],
      transformRequest: opts.vhost ? [(data: unknown, headers: Record<string, string>) => ((headers.host = op.endpoint.replace(/^\w+:\/\//, '').replace(/:\d+$/, '')), data)] : undefined,
    }),
  });
  return new sdk.QingStor(config);
}

/** A response as the tests read it, whether the SDK call succeeded or failed. */
export interface QsReply {
  status: number;
  headers: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any;
}

/** Awaits an SDK call; failures with an HTTP answer (status >= 300) become replies too. */
export async function call(p: Promise<{ status: number; headers: Record<string, string>; data: unknown }>): Promise<QsReply> {
  try {
    const res = await p;
    return { status: res.status, headers: res.headers, data: res.data };
  } catch (e) {
    const res = (e as { response?: QsReply }).response;
    if (!res) throw e;
    return { status: res.status, headers: res.headers, data: res.data };
  }
}

/**
 * Sends an SDK request with extra `x-qs-*` headers (user metadata): the SDK has no option for them,
 * so they are added to the built request, which signs them when it is sent. Names must be lowercase.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function withHeaders(request: any, headers: Record<string, string>): Promise<QsReply> {
  Object.assign(request.operation.headers, headers);
  return call(request.send());
}

/** One hand-made request; `path` is the raw request-target. */
export interface RawReq {
  method?: string;
  path: string;
  /** The Host header: `pek3a.localhost:<port>` unless given (`<port>` is appended when missing). */
  host?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Who signs; null sends the request anonymously (and without x-qs-date). */
  as?: Keys | null;
  /** Headers added after signing (a request changed on its way). */
  unsigned?: Record<string, string>;
  /** Signing time (x-qs-date); now by default. */
  date?: Date;
  /** The bucket the Host names in virtual-host style (it is signed as part of the resource). */
  vhostBucket?: string;
}

/** A buffered reply to a raw request. */
export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export const md5b64 = (d: Buffer | string): string => createHash('md5').update(d).digest('base64');

/** Signs (unless `as: null`) and sends a request straight to the gateway's QingStor port. */
export function raw(gw: TestGateway, req: RawReq): Promise<RawReply> {
  const body = typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
  const host = req.host ?? 'pek3a.localhost';
  const headers: Record<string, string> = {
    host: host.includes(':') ? host : `${host}:${gw.qsPort}`,
    ...(req.as === null ? {} : { 'x-qs-date': (req.date ?? new Date()).toUTCString() }),
    ...(body ? { 'content-length': String(body.length) } : {}),
    ...req.headers,
  };
  const method = req.method ?? 'GET';
  if (req.as !== null) headers.authorization = authorizationHeader({ method, url: req.path, headers, ...(req.as ?? ROOT_KEY), vhostBucket: req.vhostBucket });
  Object.assign(headers, req.unsigned);
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port: gw.qsPort, method, path: req.path, headers, setHost: false, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const data = Buffer.concat(chunks);
        let json: unknown;
        if (res.headers['content-type'] === 'application/json' && data.length > 0) json = JSON.parse(data.toString('utf8'));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data, json });
      });
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
}
