// A minimal SigV4 header signer for the benchmark client. It is kept separate from the gateway's own
// signer so that a bug there cannot make the bench agree with itself, and so that the bench keeps
// working against any revision of the gateway.
import { createHash, createHmac } from 'node:crypto';

export interface Credentials {
  accessKey: string;
  secretKey: string;
  region?: string;
}

/** Percent-encodes every UTF-8 byte outside A-Za-z0-9-._~ (and outside `/` unless encodeSlash), uppercase hex, as S3 canonicalizes. */
export function uriEncode(s: string, encodeSlash: boolean): string {
  const out = encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return encodeSlash ? out : out.replace(/%2F/g, '/');
}

/** The canonical query string; the bench sends exactly this string so that what is signed is what the server reads. */
export function canonicalQuery(query: Record<string, string> | undefined): string {
  if (!query) return '';
  return Object.entries(query)
    .map(([k, v]) => [uriEncode(k, true), uriEncode(v, true)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

// Deriving the key costs four HMACs; it changes once a day, so one per date is enough.
const keyCache = new Map<string, Buffer>();
function signingKey(secret: string, date: string, region: string): Buffer {
  const id = `${secret}\n${date}\n${region}`;
  let key = keyCache.get(id);
  if (!key) {
    key = ['s3', 'aws4_request'].reduce<Buffer>(
      (k, part) => createHmac('sha256', k).update(part).digest(),
      createHmac('sha256', createHmac('sha256', `AWS4${secret}`).update(date).digest()).update(region).digest(),
    );
    keyCache.set(id, key);
  }
  return key;
}

/**
 * Signs a request whose path is already URI-encoded (S3 does not double-encode) and whose query
 * string is `canonicalQuery(query)`. Returns the headers to add: host, x-amz-date,
 * x-amz-content-sha256 and authorization.
 */
export function signRequest(opts: {
  method: string;
  host: string;
  encodedPath: string;
  query?: Record<string, string>;
  payloadHash: string;
  credentials: Credentials;
  date?: Date;
}): Record<string, string> {
  const region = opts.credentials.region ?? 'us-east-1';
  const amzDate = (opts.date ?? new Date()).toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/s3/aws4_request`;
  const signedHeaders = 'host;x-amz-content-sha256;x-amz-date';
  const canonicalRequest = [
    opts.method,
    opts.encodedPath,
    canonicalQuery(opts.query),
    `host:${opts.host}\nx-amz-content-sha256:${opts.payloadHash}\nx-amz-date:${amzDate}\n`,
    signedHeaders,
    opts.payloadHash,
  ].join('\n');
  const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
  const signature = createHmac('sha256', signingKey(opts.credentials.secretKey, day, region)).update(stringToSign).digest('hex');
  return {
    host: opts.host,
    'x-amz-date': amzDate,
    'x-amz-content-sha256': opts.payloadHash,
    authorization: `AWS4-HMAC-SHA256 Credential=${opts.credentials.accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}
