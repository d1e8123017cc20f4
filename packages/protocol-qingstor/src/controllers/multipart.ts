import { GatewayError, isGatewayError, MAX_PART_SIZE, resolveRange, type CompletePart } from '@twinport/core';
import { bodyInput, sourceRef } from '../body.js';
import { attributesFrom, conditionsFrom, plainHeader } from '../headers.js';
import { readJsonObject, sendJson } from '../json.js';
import { PART_OFFSET, partJson } from '../list-json.js';
import { LIST_MAX } from './listing.js';
import { intParam, noContent, type QsRequest } from '../request.js';

/** QingStor's smallest part (every part but the last), checked at completion. */
export const QS_MIN_PART_SIZE = 4 * 1024 * 1024;
/** The largest QingStor part number: core part numbers end at 10000 and are QingStor's plus one. */
export const QS_MAX_PART_NUMBER = 10000 - PART_OFFSET;

/** InitiateMultipartUpload: 200 with the upload id. */
export async function initiateUpload(r: QsRequest): Promise<void> {
  const upload = await r.engine.multipart.create(r.user, r.bucket!, r.key!, attributesFrom(r.ctx.req.headers));
  sendJson(r.ctx, { bucket: r.bucket, key: r.key, upload_id: upload.uploadId });
}

function uploadIdParam(r: QsRequest): string {
  const id = r.query.get('upload_id');
  if (!id) throw new GatewayError('InvalidArgument', 'The upload_id parameter is required.');
  return id;
}

/** A QingStor part number (0-based), as the core's number. */
function corePartNumber(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > QS_MAX_PART_NUMBER) throw new GatewayError('InvalidArgument', `Part numbers are integers from 0 to ${QS_MAX_PART_NUMBER}.`);
  return n + PART_OFFSET;
}

/** `x-qs-copy-range` as the core's `bytes=first-last`, resolved against the source size when open-ended. */
async function copyRange(r: QsRequest, src: { bucket: string; key: string }): Promise<string | undefined> {
  const v = plainHeader(r.ctx.req.headers, 'x-qs-copy-range');
  if (v === undefined) return undefined;
  if (/^bytes=\d+-\d+$/.test(v.trim())) return v.trim();
  const { record } = await r.engine.headObject(r.user, src.bucket, src.key);
  const range = resolveRange(v, record.size);
  if (!range) throw new GatewayError('InvalidArgument', 'x-qs-copy-range must be a byte range such as bytes=0-1023.');
  return `bytes=${range.start}-${range.end}`;
}

/** UploadMultipart (part n, 0-based), or a part copied from an object with x-qs-copy-source: 201 + ETag. */
export async function uploadPart(r: QsRequest): Promise<void> {
  const uploadId = uploadIdParam(r);
  const n = corePartNumber(r.query.get('part_number'));
  const h = r.ctx.req.headers;
  if (h['x-qs-copy-source'] !== undefined) {
    const src = sourceRef(h, 'x-qs-copy-source');
    const range = await copyRange(r, src);
    const { part, source } = await r.engine.multipart.copyPart(r.user, r.bucket!, r.key!, uploadId, n, { ...src, range, conditions: conditionsFrom(h, 'x-qs-copy-source-') });
    if (range) r.ctx.set('x-qs-content-copy-range', `${range.replace('=', ' ')}/${source.size}`);
    r.ctx.set('ETag', `"${part.etag}"`);
    noContent(r, 201);
    return;
  }
  const part = await r.engine.multipart.uploadPart(r.user, r.bucket!, r.key!, uploadId, n, bodyInput(r.ctx.req, MAX_PART_SIZE));
  r.ctx.set('ETag', `"${part.etag}"`);
  noContent(r, 201);
}

/** ListMultipart: the parts uploaded so far, 0-based, after `part_number_marker`. */
export async function listParts(r: QsRequest): Promise<void> {
  const uploadId = uploadIdParam(r);
  const markerParam = r.query.get('part_number_marker');
  // Parts after QingStor's part m are the core's parts after m + 1.
  const marker = markerParam === undefined || markerParam === '' ? 0 : corePartNumber(markerParam);
  const limit = intParam(r, 'limit', LIST_MAX, LIST_MAX);
  const { parts } = await r.engine.multipart.listParts(r.user, r.bucket!, r.key!, uploadId, marker, limit);
  sendJson(r.ctx, { count: parts.length, object_parts: parts.map(partJson) });
}

/** The parts of a complete request: `object_parts` in ascending order, `etag` optional, other members ignored. */
function completeParts(doc: Record<string, unknown>): CompletePart[] {
  const list = doc.object_parts;
  if (!Array.isArray(list) || list.length === 0) throw new GatewayError('InvalidRequest', 'The request body must have a non-empty "object_parts" list.');
  return list.map((p, i) => {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new GatewayError('InvalidRequest', `object_parts[${i}] must be an object.`);
    const { part_number: num, etag } = p as Record<string, unknown>;
    if (etag !== undefined && typeof etag !== 'string') throw new GatewayError('InvalidRequest', `object_parts[${i}].etag must be a string.`);
    return { partNumber: corePartNumber(num), etag: etag === '' ? undefined : etag };
  });
}

/** CompleteMultipartUpload: assembles the listed parts (each but the last at least 4 MiB): 201. */
export async function completeUpload(r: QsRequest): Promise<void> {
  const uploadId = uploadIdParam(r);
  await r.engine.multipart.get(r.user, r.bucket!, r.key!, uploadId);
  const parts = completeParts(await readJsonObject(r.ctx));
  const rec = await r.engine.multipart.complete(r.user, r.bucket!, r.key!, uploadId, parts, {}, QS_MIN_PART_SIZE);
  r.ctx.set('ETag', `"${rec.etag}"`);
  noContent(r, 201);
}

/** AbortMultipartUpload: 204, also for an upload that is unknown or already completed (as QingStor). */
export async function abortUpload(r: QsRequest): Promise<void> {
  try {
    await r.engine.multipart.abort(r.user, r.bucket!, r.key!, uploadIdParam(r));
  } catch (e) {
    if (!isGatewayError(e) || e.code !== 'NoSuchUpload') throw e;
  }
  noContent(r, 204);
}
