import type { S3Request } from '../request.js';
import { isoTime, ownerXml, requireUser, sendXml } from '../request.js';

/** ListBuckets: the caller's buckets with their owner. */
export async function listBuckets(r: S3Request): Promise<void> {
  const user = requireUser(r);
  const buckets = await r.engine.listBuckets(user);
  sendXml(r, 'ListAllMyBucketsResult', {
    Owner: ownerXml(r, user.id),
    Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: isoTime(b.created), BucketRegion: b.zone })) },
  });
}
