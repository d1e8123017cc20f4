import type { IncomingMessage } from 'node:http';
import { GatewayError, MAX_OBJECT_SIZE, type BodyInput } from '@twinport/core';
import { header } from './headers.js';
import { percentDecode } from './url.js';

/**
 * An object or part body with what the client declared about it: Content-Length (exact length)
 * and Content-MD5 (bad_digest on mismatch), both checked by the core before anything is committed.
 */
export function bodyInput(req: IncomingMessage, maxSize = MAX_OBJECT_SIZE): BodyInput {
  const expect: BodyInput['expect'] = {};
  const md5 = header(req.headers, 'content-md5');
  if (md5 !== undefined) {
    if (!/^[A-Za-z0-9+/]{22}==$/.test(md5.trim())) throw new GatewayError('InvalidDigest', 'The Content-MD5 you specified is not valid.');
    expect.md5 = md5.trim();
  }
  const length = header(req.headers, 'content-length');
  if (length !== undefined) {
    if (!/^\d{1,15}$/.test(length)) throw new GatewayError('InvalidArgument', 'The Content-Length header is not a valid length.');
    expect.length = Number(length);
    if (expect.length > maxSize) throw new GatewayError('EntityTooLarge');
  }
  return { body: req, expect };
}

/** A bucket and key named by `x-qs-copy-source` or `x-qs-move-source`. */
export interface SourceRef {
  bucket: string;
  key: string;
}

/**
 * Parses `/<bucket>/<key>` from a copy or move source header: URL-encoded once by the SDKs, decoded
 * here with percent-decoding only (a `+` stays a plus), after the signature was checked on the raw value.
 */
export function sourceRef(h: IncomingMessage['headers'], name: 'x-qs-copy-source' | 'x-qs-move-source'): SourceRef {
  const raw = header(h, name) ?? '';
  let decoded: string;
  try {
    decoded = percentDecode(raw.trim());
  } catch {
    throw new GatewayError('InvalidArgument', `The ${name} header is not correctly URL-encoded.`);
  }
  const path = decoded.replace(/^\//, '');
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) throw new GatewayError('InvalidArgument', `The ${name} header must name the source as /<bucket>/<key>.`);
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}
