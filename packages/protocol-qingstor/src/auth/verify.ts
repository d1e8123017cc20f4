import { timingSafeEqual } from 'node:crypto';
import { GatewayError, type User } from '@twinport/core';
import { percentDecode, rawQueryItems, splitTarget } from '../url.js';
import {
  SUB_RESOURCES,
  canonicalizedHeaders,
  canonicalizedResource,
  computeSignature,
  headerValue,
  stringToSign,
  type HeaderBag,
  type ResourceOptions,
} from './signer.js';

/** How far Date / x-qs-date may be from the server clock (QingStor: 15 minutes). */
export const MAX_SKEW_MS = 15 * 60 * 1000;

/** A request as received, straight from Node's IncomingMessage. */
export interface VerifyInput {
  method: string;
  /** Raw request-target (req.url): path plus optional ?query, not decoded. */
  url: string;
  headers: HeaderBag;
  /** The bucket when the Host named it (virtual-host style). */
  vhostBucket?: string;
}

/** Finds the user owning an access key. */
export type UserLookup = (accessKey: string) => User | undefined;

// The JavaScript SDK signs `append` (it is part of its URI template) but not the `position` parameter.
const WITHOUT_POSITION: ReadonlySet<string> = new Set([...SUB_RESOURCES].filter((n) => n !== 'position'));

/**
 * Authenticates a QingStor request: `Authorization: QS <ak>:<sig>` or the `access_key_id`,
 * `signature`, `expires` query parameters. Returns the user, or undefined for an anonymous request
 * (neither form present). Credentials that are present are always checked: unknown key ->
 * InvalidAccessKeyId, bad signature -> SignatureDoesNotMatch, Date/x-qs-date off by more than
 * 15 minutes or a signed URL past `expires` -> RequestTimeTooSkewed.
 */
export function verifyRequest(req: VerifyInput, lookup: UserLookup, now: number = Date.now()): User | undefined {
  const { rawPath, rawQuery } = splitTarget(req.url);
  const authorization = headerValue(req.headers, 'authorization');
  if (authorization !== undefined) return headerAuth(req, rawPath, rawQuery, authorization, lookup, now);
  const params = signatureParams(rawQuery);
  return params === undefined ? undefined : queryAuth(req, rawPath, rawQuery, params, lookup, now);
}

function headerAuth(req: VerifyInput, rawPath: string, rawQuery: string, authorization: string, lookup: UserLookup, now: number): User {
  const m = /^\s*QS\s+([^:\s]+):(\S+)\s*$/.exec(authorization);
  if (!m) throw new GatewayError('AuthorizationHeaderMalformed', 'The Authorization header must be "QS <access_key_id>:<signature>".');
  const user = findUser(lookup, m[1]);
  const qsDate = headerValue(req.headers, 'x-qs-date');
  const sent = qsDate ?? headerValue(req.headers, 'date');
  const time = sent === undefined ? NaN : Date.parse(sent);
  if (Number.isNaN(time)) throw new GatewayError('RequestTimeTooSkewed', 'A valid Date or X-QS-Date header is required.');
  if (Math.abs(now - time) > MAX_SKEW_MS) throw new GatewayError('RequestTimeTooSkewed', 'The request time is more than 15 minutes away from the server time.');
  const date = qsDate !== undefined ? '' : sent!;
  checkSignature(req, rawPath, rawQuery, user, m[2], date, [headerValue(req.headers, 'content-type') ?? '']);
  return user;
}

interface SignatureParams {
  accessKey: string;
  signature: string;
  expires: string;
}

/** The query-signature parameters, undefined when none is present; all three are required otherwise. */
function signatureParams(rawQuery: string): SignatureParams | undefined {
  const found = new Map<string, string>();
  for (const item of rawQueryItems(rawQuery)) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    if ((name === 'access_key_id' || name === 'signature' || name === 'expires') && !found.has(name)) found.set(name, eq < 0 ? '' : item.slice(eq + 1));
  }
  if (found.size === 0) return undefined;
  const [accessKey, signature, expires] = ['access_key_id', 'signature', 'expires'].map((n) => found.get(n));
  if (!accessKey || !signature || !expires) throw new GatewayError('AuthorizationQueryParametersError', 'A signed URL needs the access_key_id, signature and expires parameters.');
  // Percent-decoding only: base64's '+' may arrive unescaped and must stay a plus.
  return { accessKey: percentDecode(accessKey), signature: percentDecode(signature), expires };
}

function queryAuth(req: VerifyInput, rawPath: string, rawQuery: string, p: SignatureParams, lookup: UserLookup, now: number): User {
  if (!/^\d{1,15}$/.test(p.expires)) throw new GatewayError('AuthorizationQueryParametersError', 'The expires parameter must be a Unix time in seconds.');
  const user = findUser(lookup, p.accessKey);
  if (now > Number(p.expires) * 1000) throw new GatewayError('RequestTimeTooSkewed', 'The signed URL has expired.');
  // The Python SDK signs an empty Content-Type line; the Go SDK and the docs sign the header sent.
  checkSignature(req, rawPath, rawQuery, user, p.signature, p.expires, [headerValue(req.headers, 'content-type') ?? '', '']);
  return user;
}

function findUser(lookup: UserLookup, accessKey: string): User {
  const user = lookup(accessKey);
  if (!user) throw new GatewayError('InvalidAccessKeyId', 'The access key id you provided does not exist.');
  return user;
}

/**
 * The resources the SDKs may have signed for one request: raw or decoded sub-resource values, with
 * or without `position`, and for a virtual-host bucket root both `/bucket/` and `/bucket`.
 */
function resourceCandidates(rawPath: string, rawQuery: string, vhostBucket: string | undefined): string[] {
  const paths = [rawPath];
  if (vhostBucket !== undefined && rawPath === '/') paths.push('');
  const variants: ResourceOptions[] = [{}, { decodeValues: true }, { decodeValues: true, subResources: WITHOUT_POSITION }];
  const out = new Set<string>();
  for (const path of paths) {
    for (const v of variants) {
      try {
        out.add(canonicalizedResource(path, rawQuery, { ...v, vhostBucket }));
      } catch {
        // A value that does not decode cannot have been signed decoded.
      }
    }
  }
  return [...out];
}

function checkSignature(req: VerifyInput, rawPath: string, rawQuery: string, user: User, given: string, date: string, contentTypes: string[]): void {
  const provided = Buffer.from(given, 'latin1');
  const canonicalHeaders = canonicalizedHeaders(req.headers);
  const contentMd5 = headerValue(req.headers, 'content-md5');
  for (const resource of resourceCandidates(rawPath, rawQuery, req.vhostBucket)) {
    for (const contentType of new Set(contentTypes)) {
      const expected = Buffer.from(computeSignature(user.secretKey, stringToSign({ method: req.method, contentMd5, contentType, date, canonicalHeaders, resource })), 'latin1');
      if (expected.length === provided.length && timingSafeEqual(expected, provided)) return;
    }
  }
  throw new GatewayError('SignatureDoesNotMatch', 'The signature you provided does not match.');
}
