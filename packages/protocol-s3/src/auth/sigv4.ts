import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '@twinport/core';
import { canonicalQuery, decodePath, parseQuery, uriEncode } from './encoding.js';
import type { StreamingContext } from './chunked.js';
import { v2HeaderAuth, v2QueryAuth } from './sigv2.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_EXPIRES = 604800;
const SIGNING_KEY_CACHE_SIZE = 256;

const keyCache = new Map<string, Buffer>();

/** The SigV4 signing key for one secret, day, region and service, cached because it is valid all day. */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${date}\n${region}\n${service}\n${secret}`;
  const hit = keyCache.get(id);
  if (hit) {
    // Re-inserting keeps the Map's iteration order least-recently-used first.
    keyCache.delete(id);
    keyCache.set(id, hit);
    return hit;
  }
  const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  const key = createHmac('sha256', kService).update('aws4_request').digest();
  if (keyCache.size >= SIGNING_KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value as string);
  keyCache.set(id, key);
  return key;
}

/** Hex HMAC-SHA256 of `data` under `key`. */
export function hmacHex(key: Buffer, data: string): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

/** Hex SHA-256 of a string or bytes. */
export function sha256Hex(data: string | Buffer): string {
  return hash('sha256', data, 'hex');
}

/** The SigV4 canonical request; `headerLines` already ends every `name:value` line with `\n`. */
export function canonicalRequest(method: string, canonicalUri: string, canonicalQueryString: string, headerLines: string, signedHeaders: string, payloadHash: string): string {
  return `${method}\n${canonicalUri}\n${canonicalQueryString}\n${headerLines}\n${signedHeaders}\n${payloadHash}`;
}

/** The SigV4 string to sign for a canonical request (text, hashed as UTF-8, or its bytes). */
export function stringToSign(amzDate: string, scope: string, canonicalRequestText: string | Buffer): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequestText)}`;
}

/** S3's canonical URI for a raw request path: decoded once, re-encoded with `/` kept, never normalised. */
export function canonicalUri(rawPath: string): string {
  const encoded = uriEncode(decodePath(rawPath), false);
  return encoded === '' ? '/' : encoded;
}

/** Formats a time as SigV4's `YYYYMMDDTHHMMSSZ`. */
export function formatAmzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** A request as the authenticator needs it, straight from Node's IncomingMessage. */
export interface IncomingAuthRequest {
  method: string;
  /** Raw request-target: path plus optional ?query, not decoded or normalised. */
  url: string;
  /** Node's req.rawHeaders: name, value, name, value... */
  rawHeaders: string[];
  /** The bucket when addressed by a virtual-host Host (SigV2 signs it as part of the path). */
  vhostBucket?: string;
}

/** Who sent a request and how the body is to be checked. */
export interface AuthResult<U> {
  user: U | undefined;
  kind: 'anonymous' | 'header' | 'presigned';
  /** The x-amz-content-sha256 value (hex lowercased); UNSIGNED-PAYLOAD when there is none. */
  payload: string;
  region?: string;
  streaming?: StreamingContext;
}

type Scope = { accessKey: string; date: string; region: string; service: string; scope: string };

/** Splits `AKID/date/region/service/aws4_request` from the right; undefined when malformed. */
function parseCredential(credential: string): Scope | undefined {
  const parts = credential.split('/');
  if (parts.length < 5) return undefined;
  const [date, region, service, terminator] = parts.slice(-4);
  const accessKey = parts.slice(0, -4).join('/');
  if (!accessKey || !/^\d{8}$/.test(date) || !region || terminator !== 'aws4_request') return undefined;
  return { accessKey, date, region, service, scope: `${date}/${region}/${service}/aws4_request` };
}

/** Milliseconds since the epoch for `YYYYMMDDTHHMMSSZ`, or undefined. */
function parseAmzDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = [+m[1], +m[2], +m[3], +m[4], +m[5], +m[6]];
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  // Date.UTC rolls over out-of-range fields (Feb 30 -> Mar 2); such a date is not a valid stamp.
  const back = new Date(t);
  return back.getUTCDate() === d && back.getUTCMonth() === mo - 1 && h < 24 && mi < 60 && se < 60 ? t : undefined;
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Lowercased header name to all its values, in arrival order. */
export function headerMap(rawHeaders: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const list = m.get(name);
    if (list) list.push(rawHeaders[i + 1]);
    else m.set(name, [rawHeaders[i + 1]]);
  }
  return m;
}

/** The `name:value\n` lines for the signed headers, and whether any of them is absent. */
function canonicalHeaders(headers: Map<string, string[]>, names: string[]): { lines: string; missing: boolean } {
  let lines = '';
  let missing = false;
  for (const name of names) {
    // HTTP/2 carries Host as :authority.
    const values = headers.get(name) ?? (name === 'host' ? headers.get(':authority') : undefined);
    if (!values) missing = true;
    lines += `${name}:${(values ?? []).map((v) => v.trim().replace(/\s+/g, ' ')).join(',')}\n`;
  }
  return { lines, missing };
}

/** Parses `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` tolerantly. */
function parseAuthorization(value: string): { credential: string; signedHeaders: string; signature: string } {
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) throw new GatewayError('AuthorizationHeaderMalformed');
  return { credential, signedHeaders, signature };
}

/** Compares a computed hex signature with a provided one in constant time. */
export function signaturesMatch(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'latin1');
  const b = Buffer.from(provided.toLowerCase(), 'latin1');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Rejects payload hashes that are neither a SHA-256, UNSIGNED-PAYLOAD nor a STREAMING-* mode. */
function checkPayload(value: string): string {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return value.toLowerCase();
  if (value === UNSIGNED_PAYLOAD || value.startsWith('STREAMING-')) return value;
  throw new GatewayError('InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.', { ArgumentName: 'x-amz-content-sha256', ArgumentValue: value });
}


/** Authenticates a request signed with SigV4 (header or presigned URL); unsigned requests are anonymous. */
export function authenticate<U extends { secretKey: string }>(req: IncomingAuthRequest, findUser: (accessKey: string) => U | undefined, now: number = Date.now()): AuthResult<U> {
  let target = req.url;
  // Absolute-form targets (proxies) carry scheme and authority before the path.
  const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?]*/.exec(target);
  if (abs) target = target.slice(abs[0].length) || '/';
  const q = target.indexOf('?');
  const rawPath = q >= 0 ? target.slice(0, q) : target;
  const query = parseQuery(q >= 0 ? target.slice(q + 1) : '');
  const param = (name: string): string | undefined => query.find(([k]) => k === name)?.[1];
  const headers = headerMap(req.rawHeaders);
  const authorization = headers.get('authorization')?.[0];
  const contentSha = headers.get('x-amz-content-sha256')?.[0];

  const presigned = param('X-Amz-Algorithm') !== undefined || param('X-Amz-Credential') !== undefined || param('X-Amz-Signature') !== undefined;
  const v2Query = param('AWSAccessKeyId') !== undefined;
  if (authorization !== undefined && (presigned || v2Query)) {
    throw new GatewayError('InvalidArgument', 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified', { ArgumentName: 'Authorization', ArgumentValue: authorization });
  }
  const v2 = { method: req.method, headers, rawPath, query, vhostBucket: req.vhostBucket };
  if (authorization === undefined && !presigned) {
    if (v2Query) return { user: v2QueryAuth(v2, findUser, now), kind: 'presigned', payload: UNSIGNED_PAYLOAD };
    return { user: undefined, kind: 'anonymous', payload: contentSha === undefined ? UNSIGNED_PAYLOAD : checkPayload(contentSha.trim()) };
  }

  const ctx = { method: req.method, headers, rawPath, query, findUser, now };
  if (authorization !== undefined) {
    const scheme = authorization.trimStart().split(/\s/, 1)[0];
    if (scheme === 'AWS') return { user: v2HeaderAuth(v2, authorization, findUser, now), kind: 'header', payload: contentSha === undefined ? UNSIGNED_PAYLOAD : checkPayload(contentSha.trim()) };
    if (scheme === 'AWS4-ECDSA-P256-SHA256') throw new GatewayError('NotImplemented', 'SigV4a (AWS4-ECDSA-P256-SHA256) is not supported.');
    if (scheme !== ALGORITHM) throw new GatewayError('InvalidArgument', 'Unsupported Authorization Type', { ArgumentName: 'Authorization', ArgumentValue: authorization });
    return headerAuth(ctx, authorization.trimStart(), contentSha);
  }
  return presignedAuth(ctx, param);
}

type VerifyContext<U> = { method: string; headers: Map<string, string[]>; rawPath: string; query: Array<[string, string]>; findUser: (accessKey: string) => U | undefined; now: number };

/** Recomputes the signature; throws SignatureDoesNotMatch (with the texts AWS returns) on mismatch. */
function verify<U extends { secretKey: string }>(c: VerifyContext<U>, user: U, scope: Scope, amzDate: string, signedHeaders: string, payload: string, provided: string, excludeParam?: string): Buffer {
  const names = signedHeaders.split(';').map((n) => n.trim().toLowerCase());
  const { lines, missing } = canonicalHeaders(c.headers, names);
  const cr = canonicalRequest(c.method, canonicalUri(c.rawPath), canonicalQuery(c.query, excludeParam), lines, signedHeaders, payload);
  const sts = stringToSign(amzDate, scope.scope, cr);
  const key = signingKey(user.secretKey, scope.date, scope.region, scope.service);
  let matches = !missing && signaturesMatch(hmacHex(key, sts), provided);
  // Node hands header values over as Latin-1 text of the bytes sent. Clients that send UTF-8 (Go,
  // Rust, curl) sign those bytes; botocore signs the UTF-8 encoding of its Latin-1 text. Both count.
  // eslint-disable-next-line no-control-regex
  if (!matches && !missing && /[^\x00-\x7F]/.test(cr)) matches = signaturesMatch(hmacHex(key, stringToSign(amzDate, scope.scope, Buffer.from(cr, 'latin1'))), provided);
  if (!matches) {
    throw new GatewayError('SignatureDoesNotMatch', undefined, { AWSAccessKeyId: scope.accessKey, StringToSign: sts, SignatureProvided: provided, CanonicalRequest: cr });
  }
  return key;
}

function lookup<U>(c: VerifyContext<U>, accessKey: string): U {
  const user = c.findUser(accessKey);
  if (!user) throw new GatewayError('InvalidAccessKeyId', undefined, { AWSAccessKeyId: accessKey });
  return user;
}

function streamingFor(payload: string, key: Buffer, amzDate: string, scope: Scope, seed: string): StreamingContext | undefined {
  if (payload !== 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' && payload !== 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER') return undefined;
  return { signingKey: key, amzDate, scope: scope.scope, seedSignature: seed.toLowerCase() };
}

function headerAuth<U extends { secretKey: string }>(c: VerifyContext<U>, authorization: string, contentSha: string | undefined): AuthResult<U> {
  const { credential, signedHeaders, signature } = parseAuthorization(authorization);
  const scope = parseCredential(credential);
  if (!scope) throw new GatewayError('AuthorizationHeaderMalformed', `The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  if (scope.service !== 's3') throw new GatewayError('AuthorizationHeaderMalformed', `The authorization header is malformed; incorrect service "${scope.service}". This endpoint belongs to "s3".`);
  if (contentSha === undefined) throw new GatewayError('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  if (!signedHeaders.split(';').some((n) => n.trim().toLowerCase() === 'x-amz-content-sha256')) {
    throw new GatewayError('InvalidRequest', "header 'x-amz-content-sha256' must be included in signature");
  }
  const payload = checkPayload(contentSha.trim());

  let amzDate = c.headers.get('x-amz-date')?.[0]?.trim();
  let time = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (amzDate === undefined) {
    const date = c.headers.get('date')?.[0];
    const parsed = date === undefined ? NaN : Date.parse(date);
    if (!Number.isNaN(parsed)) {
      time = parsed;
      amzDate = formatAmzDate(new Date(parsed));
    }
  }
  if (time === undefined || amzDate === undefined) throw new GatewayError('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  if (scope.date !== amzDate.slice(0, 8)) throw new GatewayError('AuthorizationHeaderMalformed', 'Invalid credential date. Date is not the same as X-Amz-Date.');

  const user = lookup(c, scope.accessKey);
  if (Math.abs(c.now - time) > MAX_SKEW_MS) {
    throw new GatewayError('RequestTimeTooSkewed', undefined, { RequestTime: amzDate, ServerTime: isoSeconds(c.now), MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS) });
  }
  const key = verify(c, user, scope, amzDate, signedHeaders, contentSha.trim(), signature);
  return { user, kind: 'header', payload, region: scope.region, streaming: streamingFor(payload, key, amzDate, scope, signature) };
}

function presignedAuth<U extends { secretKey: string }>(c: VerifyContext<U>, param: (name: string) => string | undefined): AuthResult<U> {
  const fail = (message: string): never => {
    throw new GatewayError('AuthorizationQueryParametersError', message);
  };
  const [algorithm, credential, amzDate, expires, signedHeaders, signature] = ['Algorithm', 'Credential', 'Date', 'Expires', 'SignedHeaders', 'Signature'].map((n) => param(`X-Amz-${n}`));
  if (algorithm === 'AWS4-ECDSA-P256-SHA256') throw new GatewayError('NotImplemented', 'SigV4a (AWS4-ECDSA-P256-SHA256) is not supported.');
  if (!algorithm || !credential || !amzDate || !expires || !signedHeaders || !signature) {
    fail('Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
  }
  if (algorithm !== ALGORITHM) fail('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  const scope = parseCredential(credential!) ?? fail('Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  if (scope.service !== 's3') fail(`Error parsing the X-Amz-Credential parameter; incorrect service "${scope.service}". This endpoint belongs to "s3".`);
  const time = parseAmzDate(amzDate!) ?? fail('X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"');
  if (scope.date !== amzDate!.slice(0, 8)) fail('Invalid credential date. Date is not the same as X-Amz-Date.');
  if (!/^\d+$/.test(expires!)) fail('X-Amz-Expires should be a number');
  const seconds = Number(expires);
  if (seconds < 1) fail('X-Amz-Expires must be at least 1 second');
  if (seconds > MAX_PRESIGN_EXPIRES) fail('X-Amz-Expires must be less than a week (in seconds) that is; 604800 seconds');

  const user = lookup(c, scope.accessKey);
  // Only the start of validity gets the skew allowance; a URL stays good for its whole lifetime.
  if (time > c.now + MAX_SKEW_MS) throw new GatewayError('AccessDenied', 'Request is not yet valid');
  const end = time + seconds * 1000;
  if (c.now > end) {
    throw new GatewayError('AccessDenied', 'Request has expired', { 'X-Amz-Expires': expires!, Expires: isoSeconds(end), ServerTime: isoSeconds(c.now) });
  }
  const sent = param('X-Amz-Content-Sha256');
  const payload = sent === undefined ? UNSIGNED_PAYLOAD : checkPayload(sent);
  const key = verify(c, user, scope, amzDate!, signedHeaders!, sent ?? UNSIGNED_PAYLOAD, signature!, 'X-Amz-Signature');
  return { user, kind: 'presigned', payload, region: scope.region, streaming: streamingFor(payload, key, amzDate!, scope, signature!) };
}
