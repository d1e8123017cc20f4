import { GatewayError, isGatewayError, sendRead, type ObjectRecord, type ReadResult } from '@twinport/core';
import { bodyInput, sourceRef } from '../body.js';
import { attributesFrom, conditionsFrom, objectHeaders, plainHeader } from '../headers.js';
import { noContent, type QsRequest } from '../request.js';

/** PutObject, or a copy (x-qs-copy-source), move (x-qs-move-source) or fetch (x-qs-fetch-source). */
export async function putObject(r: QsRequest): Promise<void> {
  const h = r.ctx.req.headers;
  if (h['x-qs-fetch-source'] !== undefined) throw new GatewayError('NotImplemented', 'Fetching objects from a URL (x-qs-fetch-source) is not supported by this gateway.');
  if (h['x-qs-copy-source'] !== undefined && h['x-qs-move-source'] !== undefined) throw new GatewayError('InvalidArgument', 'x-qs-copy-source and x-qs-move-source cannot be used together.');
  if (h['x-qs-copy-source'] !== undefined) return copyObject(r);
  if (h['x-qs-move-source'] !== undefined) return moveObject(r);
  const attrs = attributesFrom(h);
  const rec = await r.engine.putObject(r.user, r.bucket!, r.key!, bodyInput(r.ctx.req), attrs);
  r.ctx.set('ETag', `"${rec.etag}"`);
  noContent(r, 201);
}

/** Copy: COPY (the default) keeps the source's metadata, REPLACE takes this request's. */
async function copyObject(r: QsRequest): Promise<void> {
  const h = r.ctx.req.headers;
  const directive = (plainHeader(h, 'x-qs-metadata-directive') ?? 'COPY').trim().toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') throw new GatewayError('InvalidArgument', 'x-qs-metadata-directive must be COPY or REPLACE.');
  const rec = await r.engine.copyObject(r.user, sourceRef(h, 'x-qs-copy-source'), { bucket: r.bucket!, key: r.key! }, {
    replace: directive === 'REPLACE',
    attrs: attributesFrom(h),
    sourceConditions: conditionsFrom(h, 'x-qs-copy-source-'),
  });
  r.ctx.set('ETag', `"${rec.etag}"`);
  noContent(r, 201);
}

/** Move: the object with its metadata goes to the new key and leaves the old one. */
async function moveObject(r: QsRequest): Promise<void> {
  const rec = await r.engine.moveObject(r.user, sourceRef(r.ctx.req.headers, 'x-qs-move-source'), { bucket: r.bucket!, key: r.key! });
  r.ctx.set('ETag', `"${rec.etag}"`);
  noContent(r, 201);
}

/** GetObject and HeadObject: ranges (206), conditionals (304/412) and `response-*` overrides. */
export async function getObject(r: QsRequest): Promise<void> {
  const head = r.ctx.method === 'HEAD';
  const h = r.ctx.req.headers;
  const opts = { range: plainHeader(h, 'range'), conditions: conditionsFrom(h) };
  let res: ReadResult;
  try {
    res = head ? await r.engine.headObject(r.user, r.bucket!, r.key!, opts) : await r.engine.getObject(r.user, r.bucket!, r.key!, opts);
  } catch (e) {
    if (isGatewayError(e) && e.code === 'NotModified') {
      // A 304 still names the version the client holds.
      const { record } = await r.engine.headObject(r.user, r.bucket!, r.key!);
      r.ctx.set('ETag', `"${record.etag}"`);
      r.ctx.set('Last-Modified', new Date(record.lastModified).toUTCString());
    }
    throw e;
  }
  r.ctx.set(objectHeaders(res.record, r.query));
  sendRead(r.ctx, res);
}

/** DeleteObject: 204 whether or not the key existed. */
export async function deleteObject(r: QsRequest): Promise<void> {
  await r.engine.deleteObject(r.user, r.bucket!, r.key!);
  noContent(r, 204);
}

/**
 * AppendObject: `position` must be the object's current size (0 creates it); the answer carries the
 * next position. Appending to an object that was not made by appends is invalid_object_state.
 */
export async function appendObject(r: QsRequest): Promise<void> {
  const position = r.query.get('position');
  if (position === undefined || !/^\d{1,15}$/.test(position)) throw new GatewayError('InvalidArgument', 'The position parameter must be a non-negative integer.');
  const h = r.ctx.req.headers;
  let rec: ObjectRecord;
  try {
    rec = await r.engine.appendObject(r.user, r.bucket!, r.key!, Number(position), bodyInput(r.ctx.req), attributesFrom(h));
  } catch (e) {
    const next = isGatewayError(e) && e.code === 'InvalidWriteOffset' ? e.details.NextAppendPosition : undefined;
    if (next === undefined) throw e;
    r.ctx.set('x-qs-next-append-position', next);
    throw new GatewayError('InvalidWriteOffset', `The position must be ${next}, the object's current size.`);
  }
  r.ctx.set('x-qs-next-append-position', String(rec.size));
  r.ctx.set('ETag', `"${rec.etag}"`);
  noContent(r, 200);
}
