import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError, type ObjectAttributes, type ObjectRecord, contentHeaders, RESPONSE_OVERRIDES } from '@twinport/core';

const META_PREFIX = 'x-amz-meta-';
const MAX_USER_META = 2048;

/** One header's value as a string (repeated headers joined as Node does). */
export function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** The object attributes a PUT, copy with REPLACE, or CreateMultipartUpload sets. */
export function attributesFrom(h: IncomingHttpHeaders): ObjectAttributes {
  const userMeta: Record<string, string> = {};
  let size = 0;
  for (const [name, value] of Object.entries(h)) {
    if (!name.startsWith(META_PREFIX) || value === undefined) continue;
    const k = name.slice(META_PREFIX.length);
    const v = Array.isArray(value) ? value.join(',') : value;
    userMeta[k] = v;
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size > MAX_USER_META) throw new GatewayError('MetadataTooLarge', undefined, { Size: String(size), MaxSizeAllowed: String(MAX_USER_META) });
  return {
    contentType: header(h, 'content-type'),
    contentEncoding: storedEncoding(header(h, 'content-encoding')),
    contentDisposition: header(h, 'content-disposition'),
    contentLanguage: header(h, 'content-language'),
    cacheControl: header(h, 'cache-control'),
    expires: header(h, 'expires'),
    userMeta,
  };
}

/** Content-Encoding as stored: the transfer-only `aws-chunked` removed. */
function storedEncoding(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const rest = v.split(',').map((s) => s.trim()).filter((s) => s && s.toLowerCase() !== 'aws-chunked');
  return rest.length ? rest.join(',') : undefined;
}

/** Response headers describing an object on GET/HEAD, with `response-*` overrides applied. */
export function objectHeaders(rec: ObjectRecord, query: Map<string, string>, anonymous: boolean, withChecksum: boolean): Record<string, string> {
  const out: Record<string, string> = {
    'Last-Modified': new Date(rec.lastModified).toUTCString(),
    ETag: `"${rec.etag}"`,
    'Content-Type': rec.contentType ?? 'binary/octet-stream',
    'Accept-Ranges': 'bytes',
  };
  Object.assign(out, contentHeaders(rec));
  for (const [k, v] of Object.entries(rec.userMeta ?? {})) out[META_PREFIX + k] = encodeHeaderValue(v);
  if (withChecksum && rec.checksum) {
    out[`x-amz-checksum-${rec.checksum.algorithm.toLowerCase()}`] = rec.checksum.value;
    out['x-amz-checksum-type'] = rec.checksum.type;
  }
  for (const [param, name] of RESPONSE_OVERRIDES) {
    const v = query.get(param);
    if (v === undefined) continue;
    if (anonymous) throw new GatewayError('InvalidRequest', 'Request specific response headers cannot be used for anonymous GET requests.');
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x08\x0A-\x1F\x7F]/.test(v)) throw new GatewayError('InvalidArgument', `The ${param} parameter holds characters a header cannot carry.`, { ArgumentName: param });
    out[name] = overrideValue(name, v);
  }
  return out;
}

/**
 * A `response-*` value as it goes out: as UTF-8 bytes (Node writes a string's code units as Latin-1
 * bytes), except in Content-Disposition, whose value Node itself re-decodes as UTF-8 and then cuts
 * to Latin-1, so there characters beyond ASCII are percent-encoded.
 */
function overrideValue(name: string, v: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7F]/.test(v)) return v;
  if (name === 'Content-Disposition') return v.replace(/[^\x00-\x7F]+/g, (run) => encodeURIComponent(run));
  return Buffer.from(v, 'utf8').toString('latin1');
}

/** Values Node read as Latin-1 go back byte for byte; anything wider goes out RFC 2047-encoded, as S3 does. */
function encodeHeaderValue(v: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x20-\x7E\t\x80-\xFF]*$/.test(v) ? v : `=?UTF-8?B?${Buffer.from(v).toString('base64')}?=`;
}

/** The storage classes S3 names; every object is stored alike, so any of them is accepted. */
const STORAGE_CLASSES = new Set(['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'OUTPOSTS', 'SNOW', 'EXPRESS_ONEZONE']);

/** S3's canned ACLs; on objects they are accepted and the bucket's grants apply (see docs). */
const OBJECT_CANNED_ACLS = new Set(['private', 'public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read', 'bucket-owner-read', 'bucket-owner-full-control', 'log-delivery-write']);

/**
 * Refuses, before anything is read or stored, requests whose headers ask for what the gateway
 * would otherwise silently not do: customer-provided keys (SSE-C) and KMS keys (501
 * NotImplemented, S3's "implies functionality that is not implemented"), a transfer coding other
 * than chunked (501, as S3), and unknown values of x-amz-server-side-encryption, x-amz-storage-class
 * and x-amz-acl. AES256 (SSE-S3) is accepted: encrypting the disk is the operator's part.
 */
export function checkRequestHeaders(h: IncomingHttpHeaders): void {
  if (h['x-amz-server-side-encryption-customer-algorithm'] !== undefined || h['x-amz-copy-source-server-side-encryption-customer-algorithm'] !== undefined) {
    throw new GatewayError('NotImplemented', 'Server-side encryption with customer-provided keys (SSE-C) is not supported.');
  }
  const sse = header(h, 'x-amz-server-side-encryption');
  if (sse !== undefined && sse !== 'AES256') {
    if (sse === 'aws:kms' || sse === 'aws:kms:dsse') throw new GatewayError('NotImplemented', `Server-side encryption with ${sse} is not supported.`);
    throw new GatewayError('InvalidArgument', `Server Side Encryption with ${sse} is not valid.`, { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: sse });
  }
  const te = header(h, 'transfer-encoding');
  if (te !== undefined && te.toLowerCase() !== 'chunked') throw new GatewayError('NotImplemented', 'A header you provided implies functionality that is not implemented.', { Header: 'Transfer-Encoding' });
  const storageClass = header(h, 'x-amz-storage-class');
  if (storageClass !== undefined && !STORAGE_CLASSES.has(storageClass)) throw new GatewayError('InvalidStorageClass', undefined, { StorageClassRequested: storageClass });
  const acl = header(h, 'x-amz-acl');
  if (acl !== undefined && !OBJECT_CANNED_ACLS.has(acl.trim())) throw new GatewayError('InvalidArgument', undefined, { ArgumentName: 'x-amz-acl', ArgumentValue: acl });
}
