import { keyJson, uploadJson } from '../list-json.js';
import { sendJson } from '../json.js';
import { intParam, requireUser, userName, type QsRequest } from '../request.js';

/** ListObjects' default page size (QingStor's documented default) and the largest page served. */
export const LIST_DEFAULT = 100;
export const LIST_MAX = 1000;
/** ListMultipartUploads' default page size. */
export const UPLOADS_DEFAULT = 200;

/**
 * ListObjects: resumes after `marker`; `next_marker` is the last key or common prefix returned
 * while `has_more`, '' at the end. Never anonymous, even on a public bucket (as QingStor).
 */
export async function listObjects(r: QsRequest): Promise<void> {
  const user = requireUser(r);
  const prefix = r.query.get('prefix') ?? '';
  const delimiter = r.query.get('delimiter') || undefined;
  const marker = r.query.get('marker') ?? '';
  const limit = intParam(r, 'limit', LIST_DEFAULT, LIST_MAX);
  const page = await r.engine.listObjects(user, r.bucket!, { prefix, delimiter, after: marker || undefined, maxKeys: limit });
  sendJson(r.ctx, {
    name: r.bucket,
    prefix,
    delimiter: delimiter ?? '',
    marker,
    limit,
    next_marker: page.isTruncated ? page.last ?? '' : '',
    has_more: page.isTruncated,
    owner: { id: page.bucket.owner, name: userName(r, page.bucket.owner) },
    common_prefixes: page.prefixes,
    keys: page.objects.map(keyJson),
  });
}

/** ListMultipartUploads: uploads in progress in key order, then initiation order. */
export async function listUploads(r: QsRequest): Promise<void> {
  const prefix = r.query.get('prefix') ?? '';
  const delimiter = r.query.get('delimiter') || undefined;
  const keyMarker = r.query.get('key_marker') || undefined;
  const uploadIdMarker = keyMarker ? r.query.get('upload_id_marker') || undefined : undefined;
  const limit = intParam(r, 'limit', UPLOADS_DEFAULT, LIST_MAX);
  const page = await r.engine.multipart.listUploads(r.user, r.bucket!, { prefix, delimiter, keyMarker, uploadIdMarker, maxUploads: limit });
  sendJson(r.ctx, {
    name: r.bucket,
    prefix,
    delimiter: delimiter ?? '',
    limit,
    key_marker: keyMarker ?? '',
    upload_id_marker: uploadIdMarker ?? '',
    next_key_marker: page.isTruncated ? page.nextKeyMarker ?? '' : '',
    next_upload_id_marker: page.isTruncated ? page.nextUploadIdMarker ?? '' : '',
    has_more: page.isTruncated,
    common_prefixes: page.prefixes,
    uploads: page.uploads.map(uploadJson),
  });
}
