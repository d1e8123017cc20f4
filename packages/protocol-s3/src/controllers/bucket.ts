import { GatewayError, type ErrorCode } from '@twinport/core';
import { readSmallBody } from '../body.js';
import { children, childText, escapeXml, parseXml, rootElement } from '../xml.js';
import { requireUser, sendXml, type S3Request } from '../request.js';
import { aclXml, grantsFromHeaders, grantsFromXml } from '../acl.js';
import { corsFromXml, corsXml } from '../cors.js';

/** CreateBucket, in the zone named by LocationConstraint (or the signing region, or the default zone). */
export async function createBucket(r: S3Request): Promise<void> {
  const user = requireUser(r);
  const body = await readSmallBody(r.ctx.req, r.auth, 64 * 1024);
  let zone: string | undefined;
  if (body.length > 0) {
    const doc = await parseXml(body.toString('utf8'));
    zone = childText(rootElement(doc, 'CreateBucketConfiguration'), 'LocationConstraint') || undefined;
  }
  if (!zone && r.auth.region && r.engine.zones.includes(r.auth.region)) zone = r.auth.region;
  await r.engine.createBucket(user, r.bucket!, zone, grantsFromHeaders(r.ctx.req.headers));
  r.ctx.set('Location', `/${r.bucket}`);
  r.ctx.body = null;
  r.ctx.status = 200;
}

/** HeadBucket: existence and access, with the bucket's region. */
export async function headBucket(r: S3Request): Promise<void> {
  const b = await r.engine.bucket(r.auth.user, r.bucket!, 'READ');
  r.ctx.set('x-amz-bucket-region', b.zone);
  r.ctx.body = null;
  r.ctx.status = 200;
}

/** DeleteBucket: only when empty. */
export async function deleteBucket(r: S3Request): Promise<void> {
  await r.engine.deleteBucket(requireUser(r), r.bucket!);
  r.ctx.body = null;
  r.ctx.status = 204;
}

/** GetBucketLocation: the bucket's zone. */
export async function getBucketLocation(r: S3Request): Promise<void> {
  const b = await r.engine.bucket(r.auth.user, r.bucket!, 'READ');
  r.ctx.type = 'application/xml';
  r.ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${escapeXml(b.zone)}</LocationConstraint>`;
}

/** GetBucketVersioning: buckets are never versioned, so the configuration is empty. */
export async function getBucketVersioning(r: S3Request): Promise<void> {
  await r.engine.bucket(r.auth.user, r.bucket!, 'READ');
  sendXml(r, 'VersioningConfiguration', {});
}

/** GetBucketAcl / GetObjectAcl: the owner's FULL_CONTROL and the bucket's grants (objects share them). */
export async function getAcl(r: S3Request): Promise<void> {
  const b = await r.engine.bucket(r.auth.user, r.bucket!, 'READ_ACP');
  if (r.key !== undefined) await r.engine.headObject(r.auth.user, r.bucket!, r.key);
  sendXml(r, 'AccessControlPolicy', aclXml(r, b));
}

/** PutBucketAcl: a canned ACL, x-amz-grant-* headers, or an AccessControlPolicy body replaces the grants. */
export async function putBucketAcl(r: S3Request): Promise<void> {
  const fromHeaders = grantsFromHeaders(r.ctx.req.headers);
  const body = await readSmallBody(r.ctx.req, r.auth, 64 * 1024);
  if (fromHeaders && body.length > 0) throw new GatewayError('UnexpectedContent', 'This request does not support content');
  const grants = fromHeaders ?? (body.length > 0 ? grantsFromXml(await parseXml(body.toString('utf8'))) : undefined);
  if (!grants) throw new GatewayError('MissingSecurityHeader', 'Your request was missing a required header', { MissingHeaderName: 'x-amz-acl' });
  await r.engine.settings.putAcl(r.auth.user, r.bucket!, grants);
  r.ctx.body = null;
  r.ctx.status = 200;
}

/** GetBucketCors: the bucket's rules, NoSuchCORSConfiguration when none. */
export async function getBucketCors(r: S3Request): Promise<void> {
  sendXml(r, 'CORSConfiguration', corsXml(await r.engine.settings.getCors(r.auth.user, r.bucket!)));
}

/** PutBucketCors: replaces the rules. */
export async function putBucketCors(r: S3Request): Promise<void> {
  const body = await readSmallBody(r.ctx.req, r.auth, 64 * 1024);
  await r.engine.settings.putCors(r.auth.user, r.bucket!, corsFromXml(await parseXml(body.toString('utf8'))));
  r.ctx.body = null;
  r.ctx.status = 200;
}

/** DeleteBucketCors: removes the rules (204 even when there were none). */
export async function deleteBucketCors(r: S3Request): Promise<void> {
  await r.engine.settings.deleteCors(r.auth.user, r.bucket!);
  r.ctx.body = null;
  r.ctx.status = 204;
}

/** Bucket sub-resources that are never set here answer the "not configured" error tools expect. */
export function unsetSubresource(code: ErrorCode) {
  return async (r: S3Request): Promise<void> => {
    await r.engine.bucket(r.auth.user, r.bucket!, 'READ');
    throw new GatewayError(code, undefined, { BucketName: r.bucket! });
  };
}

/** DeleteObjects: up to 1000 keys; missing keys count as deleted; Quiet lists errors only. */
export async function deleteObjects(r: S3Request): Promise<void> {
  const user = r.auth.user;
  await r.engine.bucket(user, r.bucket!, 'WRITE');
  const doc = await parseXml((await readSmallBody(r.ctx.req, r.auth)).toString('utf8'));
  const del = rootElement(doc, 'Delete');
  const objects = children(del, 'Object');
  if (objects.length === 0 || objects.length > 1000) throw new GatewayError('MalformedXML');
  const keys = objects.map((o) => {
    const k = childText(o, 'Key');
    if (k === undefined) throw new GatewayError('MalformedXML');
    return k;
  });
  const quiet = (childText(del, 'Quiet') ?? '').trim().toLowerCase() === 'true';
  const results = await r.engine.deleteObjects(user, r.bucket!, keys);
  sendXml(r, 'DeleteResult', {
    Deleted: quiet ? undefined : results.filter((x) => !x.error).map((x) => ({ Key: x.key })),
    Error: results.filter((x) => x.error).map((x) => ({ Key: x.key, Code: x.error!.code, Message: x.error!.message })),
  });
}
