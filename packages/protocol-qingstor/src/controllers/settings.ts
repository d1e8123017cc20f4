import { GatewayError, isGatewayError } from '@twinport/core';
import { aclJson, grantsFromJson } from '../acl-json.js';
import { corsFromJson, corsJson } from '../cors-json.js';
import { readJsonObject, sendJson } from '../json.js';
import { noContent, type QsRequest } from '../request.js';

/**
 * The bucket, if the caller owns it. QingStor lets only the owner read or change a bucket's
 * settings, while the core would let a FULL_CONTROL grantee change the ACL (S3's WRITE_ACP).
 */
async function ownBucket(r: QsRequest) {
  return r.engine.bucket(r.user, r.bucket!, 'OWNER');
}

/** GetBucketACL: the owner's FULL_CONTROL first, then the grants QingStor can express. */
export async function getAcl(r: QsRequest): Promise<void> {
  sendJson(r.ctx, aclJson(await ownBucket(r), r.users));
}

/** PutBucketACL: replaces the bucket's grants. */
export async function putAcl(r: QsRequest): Promise<void> {
  await ownBucket(r);
  const grants = grantsFromJson(await readJsonObject(r.ctx), r.users);
  await r.engine.settings.putAcl(r.user, r.bucket!, grants);
  noContent(r, 200);
}

/** GetBucketCORS: the rules, an empty list when none are set (QingStor has no "not configured" error). */
export async function getCors(r: QsRequest): Promise<void> {
  try {
    sendJson(r.ctx, corsJson(await r.engine.settings.getCors(r.user, r.bucket!)));
  } catch (e) {
    if (!isGatewayError(e) || e.code !== 'NoSuchCORSConfiguration') throw e;
    sendJson(r.ctx, corsJson([]));
  }
}

/** PutBucketCORS: replaces the bucket's rules. */
export async function putCors(r: QsRequest): Promise<void> {
  await ownBucket(r);
  const rules = corsFromJson(await readJsonObject(r.ctx));
  try {
    await r.engine.settings.putCors(r.user, r.bucket!, rules);
  } catch (e) {
    // The core states rule problems in S3's terms (malformed XML); here they are the body's fault.
    if (isGatewayError(e) && e.code === 'MalformedXML') throw new GatewayError('InvalidRequest', 'The CORS rules are not valid.');
    throw e;
  }
  noContent(r, 200);
}

/** DeleteBucketCORS: removes the rules (idempotent). */
export async function deleteCors(r: QsRequest): Promise<void> {
  await r.engine.settings.deleteCors(r.user, r.bucket!);
  noContent(r, 204);
}
