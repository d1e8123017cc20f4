import { GatewayError } from '@twinport/core';
import { sendJson } from '../json.js';
import { bucketUrl, intParam, requireUser, type QsRequest } from '../request.js';

/**
 * ListBuckets: the caller's buckets, all zones through the bare host, one zone through a zone's
 * host or when the `Location` request header names it; paged by `offset` and `limit`.
 */
export async function listBuckets(r: QsRequest): Promise<void> {
  const user = requireUser(r);
  const location = r.ctx.get('location').trim().toLowerCase();
  if (location && !r.engine.zones.includes(location)) throw new GatewayError('InvalidLocationConstraint', `The zone "${location}" does not exist.`);
  const zone = location || (r.zoneGiven ? r.zone : undefined);
  const all = (await r.engine.listBuckets(user)).filter((b) => zone === undefined || b.zone === zone);
  const offset = intParam(r, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const limit = intParam(r, 'limit', 200, 1000);
  sendJson(r.ctx, {
    count: all.length,
    buckets: all.slice(offset, offset + limit).map((b) => ({
      name: b.name,
      location: b.zone,
      url: bucketUrl(r.site, b.name, b.zone),
      // QingStor writes bucket times without milliseconds.
      created: new Date(b.created).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    })),
  });
}
