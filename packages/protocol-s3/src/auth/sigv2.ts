import { createHmac, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '@twinport/core';

// SigV2 is still what boto3's generate_presigned_url and older tools produce against a custom
// endpoint in us-east-1, so a gateway that wants those apps to work unchanged must accept it.

/** Query parameters that are part of SigV2's canonical resource, in sorted order. */
const SUBRESOURCES = ['acl', 'cors', 'delete', 'lifecycle', 'location', 'logging', 'notification', 'partNumber', 'policy',
  'requestPayment', 'response-cache-control', 'response-content-disposition', 'response-content-encoding',
  'response-content-language', 'response-content-type', 'response-expires', 'restore', 'tagging', 'torrent',
  'uploadId', 'uploads', 'versionId', 'versioning', 'versions', 'website'];

const MAX_SKEW_MS = 15 * 60 * 1000;

/** What SigV2 signs besides the method: the request's headers, raw path and decoded query. */
export interface V2Request {
  method: string;
  headers: Map<string, string[]>;
  rawPath: string;
  query: Array<[string, string]>;
  /** Bucket taken from a virtual-host Host; SigV2 signs it as the first path segment. */
  vhostBucket?: string;
}

function first(h: Map<string, string[]>, name: string): string {
  return h.get(name)?.[0] ?? '';
}

/** The SigV2 string to sign; `dateOrExpires` is the Date header (empty with x-amz-date) or Expires. */
export function v2StringToSign(req: V2Request, dateOrExpires: string): string {
  const amz = [...req.headers.entries()]
    .filter(([n]) => n.startsWith('x-amz-'))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([n, v]) => `${n}:${v.map((x) => x.trim()).join(',')}\n`)
    .join('');
  const sub = req.query
    .filter(([k]) => SUBRESOURCES.includes(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => (v === '' ? k : `${k}=${v}`));
  const resource = (req.vhostBucket ? `/${req.vhostBucket}` : '') + req.rawPath + (sub.length ? `?${sub.join('&')}` : '');
  return `${req.method}\n${first(req.headers, 'content-md5')}\n${first(req.headers, 'content-type')}\n${dateOrExpires}\n${amz}${resource}`;
}

/** Base64 HMAC-SHA1 of the string to sign. */
export function v2Signature(secret: string, sts: string): string {
  return createHmac('sha1', secret).update(sts, 'utf8').digest('base64');
}

function verify<U extends { secretKey: string }>(user: U, accessKey: string, sts: string, provided: string): void {
  const a = Buffer.from(v2Signature(user.secretKey, sts));
  const b = Buffer.from(provided);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new GatewayError('SignatureDoesNotMatch', undefined, { AWSAccessKeyId: accessKey, StringToSign: sts, SignatureProvided: provided });
  }
}

/** Verifies `Authorization: AWS <key>:<signature>`; returns the user. */
export function v2HeaderAuth<U extends { secretKey: string }>(req: V2Request, authorization: string, findUser: (k: string) => U | undefined, now: number): U {
  const m = /^AWS\s+([^:\s]+):(\S+)$/.exec(authorization.trim());
  if (!m) throw new GatewayError('InvalidArgument', 'Authorization header is invalid -- one and only one \' \' (space) required', { ArgumentName: 'Authorization', ArgumentValue: authorization });
  const user = findUser(m[1]);
  if (!user) throw new GatewayError('InvalidAccessKeyId', undefined, { AWSAccessKeyId: m[1] });
  const amzDate = first(req.headers, 'x-amz-date');
  const date = amzDate || first(req.headers, 'date');
  const t = Date.parse(date);
  if (!date || Number.isNaN(t)) throw new GatewayError('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  if (Math.abs(now - t) > MAX_SKEW_MS) {
    throw new GatewayError('RequestTimeTooSkewed', undefined, { RequestTime: date, ServerTime: new Date(now).toISOString(), MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS) });
  }
  verify(user, m[1], v2StringToSign(req, amzDate ? '' : date), m[2]);
  return user;
}

/** Verifies a SigV2 presigned URL (`AWSAccessKeyId`, `Expires`, `Signature`); returns the user. */
export function v2QueryAuth<U extends { secretKey: string }>(req: V2Request, findUser: (k: string) => U | undefined, now: number): U {
  const get = (n: string) => req.query.find(([k]) => k === n)?.[1];
  const accessKey = get('AWSAccessKeyId') ?? '';
  const expires = get('Expires');
  const signature = get('Signature');
  if (!expires || !/^\d+$/.test(expires) || !signature) throw new GatewayError('AccessDenied', 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters');
  const user = findUser(accessKey);
  if (!user) throw new GatewayError('InvalidAccessKeyId', undefined, { AWSAccessKeyId: accessKey });
  verify(user, accessKey, v2StringToSign(req, expires), signature);
  if (now > Number(expires) * 1000) throw new GatewayError('AccessDenied', 'Request has expired', { Expires: new Date(Number(expires) * 1000).toISOString(), ServerTime: new Date(now).toISOString() });
  return user;
}
