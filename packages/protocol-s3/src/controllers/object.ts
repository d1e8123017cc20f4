import { GatewayError, MAX_OBJECT_SIZE, isGatewayError, sendRead, type Conditions, type ObjectRecord, type ReadResult } from '@twinport/core';
import type { IncomingHttpHeaders } from 'node:http';
import { bodyInput } from '../body.js';
import { attributesFrom, header, objectHeaders } from '../headers.js';
import { isoTime, sendXml, type S3Request } from '../request.js';

/** The GET/HEAD conditional headers. */
export function readConditions(h: IncomingHttpHeaders): Conditions {
  return { ifMatch: header(h, 'if-match'), ifNoneMatch: header(h, 'if-none-match'), ifModifiedSince: header(h, 'if-modified-since'), ifUnmodifiedSince: header(h, 'if-unmodified-since') };
}

/** The `x-amz-copy-source-if-*` headers, evaluated on a copy's source. */
export function copySourceConditions(h: IncomingHttpHeaders): Conditions {
  return {
    ifMatch: header(h, 'x-amz-copy-source-if-match'),
    ifNoneMatch: header(h, 'x-amz-copy-source-if-none-match'),
    ifModifiedSince: header(h, 'x-amz-copy-source-if-modified-since'),
    ifUnmodifiedSince: header(h, 'x-amz-copy-source-if-unmodified-since'),
  };
}

/** Parses `x-amz-copy-source` (`[/]bucket/key[?versionId=...]`, URL-encoded once). */
export function copySource(h: IncomingHttpHeaders): { bucket: string; key: string } {
  let v = header(h, 'x-amz-copy-source') ?? '';
  const q = v.indexOf('?');
  if (q >= 0) {
    const version = new URLSearchParams(v.slice(q + 1)).get('versionId');
    if (version !== null && version !== 'null') throw new GatewayError('NoSuchVersion');
    v = v.slice(0, q);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(v.replace(/^\//, ''));
  } catch {
    throw new GatewayError('InvalidArgument', 'Invalid copy source encoding', { ArgumentName: 'x-amz-copy-source', ArgumentValue: v });
  }
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) throw new GatewayError('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', { ArgumentName: 'x-amz-copy-source', ArgumentValue: v });
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

/** The response headers announcing a stored checksum after a write. */
export function checksumResponse(r: S3Request, rec: { checksum?: ObjectRecord['checksum'] }): void {
  if (!rec.checksum) return;
  r.ctx.set(`x-amz-checksum-${rec.checksum.algorithm.toLowerCase()}`, rec.checksum.value);
  r.ctx.set('x-amz-checksum-type', rec.checksum.type);
}

/** PutObject (or CopyObject when x-amz-copy-source is present). */
export async function putObject(r: S3Request): Promise<void> {
  if (r.ctx.get('x-amz-copy-source')) return copyObject(r);
  // Anonymous writes reach the core, which allows them where the bucket grants WRITE to AllUsers.
  const user = r.auth.user;
  const declared = Number(r.ctx.get('x-amz-decoded-content-length') || r.ctx.get('content-length') || 0);
  if (declared > MAX_OBJECT_SIZE) throw new GatewayError('EntityTooLarge', undefined, { ProposedSize: String(declared), MaxSizeAllowed: String(MAX_OBJECT_SIZE) });
  const attrs = attributesFrom(r.ctx.req.headers);
  const input = bodyInput(r.ctx.req, r.auth);
  const rec = await r.engine.putObject(user, r.bucket!, r.key!, input, attrs, { ifMatch: header(r.ctx.req.headers, 'if-match'), ifNoneMatch: header(r.ctx.req.headers, 'if-none-match') });
  r.ctx.set('ETag', `"${rec.etag}"`);
  checksumResponse(r, rec);
  r.ctx.body = null;
  r.ctx.status = 200;
}

/** CopyObject: COPY keeps the source's metadata, REPLACE takes this request's. */
async function copyObject(r: S3Request): Promise<void> {
  const user = r.auth.user;
  const h = r.ctx.req.headers;
  const directive = (header(h, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new GatewayError('InvalidArgument', 'Unknown metadata directive.', { ArgumentName: 'x-amz-metadata-directive', ArgumentValue: directive });
  const rec = await r.engine.copyObject(user, copySource(h), { bucket: r.bucket!, key: r.key! }, {
    replace: directive === 'REPLACE',
    attrs: attributesFrom(h),
    sourceConditions: copySourceConditions(h),
    conditions: { ifMatch: header(h, 'if-match'), ifNoneMatch: header(h, 'if-none-match') },
  });
  checksumResponse(r, rec);
  sendXml(r, 'CopyObjectResult', { LastModified: isoTime(rec.lastModified), ETag: `"${rec.etag}"` });
}

/** GetObject and HeadObject. */
export async function getObject(r: S3Request): Promise<void> {
  const head = r.ctx.method === 'HEAD';
  const h = r.ctx.req.headers;
  const part = r.query.get('partNumber');
  const opts = { range: header(h, 'range'), partNumber: part === undefined ? undefined : Number(part), conditions: readConditions(h) };
  const version = r.query.get('versionId');
  if (version !== undefined && version !== 'null') throw new GatewayError('NoSuchVersion', undefined, { Key: r.key!, VersionId: version });
  let res: ReadResult;
  try {
    res = head ? await r.engine.headObject(r.auth.user, r.bucket!, r.key!, opts) : await r.engine.getObject(r.auth.user, r.bucket!, r.key!, opts);
  } catch (e) {
    if (isGatewayError(e) && e.code === 'NotModified') {
      const rec = await r.engine.headObject(r.auth.user, r.bucket!, r.key!);
      r.ctx.set('ETag', `"${rec.record.etag}"`);
      r.ctx.set('Last-Modified', new Date(rec.record.lastModified).toUTCString());
    }
    throw e;
  }
  const { record } = res;
  const checksumMode = (header(h, 'x-amz-checksum-mode') ?? '').toUpperCase() === 'ENABLED' && !opts.range && opts.partNumber === undefined;
  r.ctx.set(objectHeaders(record, r.query, !r.auth.user, checksumMode));
  if (res.partsCount !== undefined) r.ctx.set('x-amz-mp-parts-count', String(res.partsCount));
  sendRead(r.ctx, res);
}

/** DeleteObject: 204 whether or not the key existed. */
export async function deleteObject(r: S3Request): Promise<void> {
  const version = r.query.get('versionId');
  if (version !== undefined && version !== 'null') throw new GatewayError('NoSuchVersion', undefined, { Key: r.key!, VersionId: version });
  await r.engine.deleteObject(r.auth.user, r.bucket!, r.key!, { ifMatch: header(r.ctx.req.headers, 'if-match') });
  r.ctx.body = null;
  r.ctx.status = 204;
}
