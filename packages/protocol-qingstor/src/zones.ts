import { GatewayError } from '@twinport/core';
import type { QsRequest } from './request.js';

/** What to do with a request whose Host names (or leaves out) a zone. */
export type ZoneVerdict = { kind: 'serve' } | { kind: 'redirect'; location: string };

/**
 * Applies the zone rules to a bucket request. A bucket lives in one zone:
 * - an anonymous HEAD at a host that does not name the bucket's zone (`<bucket>.<domain>`, or
 *   another zone) is redirected to `<bucket>.<zone>.<domain>`, which is how tools discover zones;
 * - any other request through another zone's host is refused with invalid_location (a redirect
 *   would make clients resend without their Authorization header, as it leaves the signed host);
 * - a host that names no zone (the bare domain or `<bucket>.<domain>`) is served in the bucket's zone.
 */
export async function zoneVerdict(r: QsRequest, rawPath: string, rawQuery: string, virtualHost: boolean): Promise<ZoneVerdict> {
  if (r.bucket === undefined) return { kind: 'serve' };
  const discovery = r.user === undefined && r.ctx.method === 'HEAD';
  if (!r.zoneGiven && !(discovery && r.zone === undefined)) return { kind: 'serve' };
  const zone = await r.engine.bucketZone(r.bucket);
  if (zone === undefined || (r.zoneGiven && zone === r.zone)) return { kind: 'serve' };
  if (discovery) {
    // Virtual-host form whatever the request used: qscamel reads the zone as the Location's second label.
    const keyPath = virtualHost ? rawPath : withoutBucket(rawPath);
    const port = r.site.port === undefined ? '' : `:${r.site.port}`;
    return { kind: 'redirect', location: `${r.site.protocol}://${r.bucket}.${zone}.${r.site.base}${port}${keyPath}${rawQuery ? `?${rawQuery}` : ''}` };
  }
  throw new GatewayError('InvalidLocationConstraint', `The bucket "${r.bucket}" is in zone "${zone}", not "${r.zone}"; send its requests to ${zone}.${r.site.base}.`);
}

/** A path-style path (`/<bucket>/<key>`) in virtual-host form (`/<key>`). */
function withoutBucket(rawPath: string): string {
  const slash = rawPath.indexOf('/', 1);
  return slash < 0 ? '/' : rawPath.slice(slash);
}
