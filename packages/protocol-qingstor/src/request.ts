import type { Context } from 'koa';
import { GatewayError, type Engine, type User, type UserDirectory } from '@twinport/core';

/** Everything a controller needs about one QingStor request, resolved before dispatch. */
export interface QsRequest {
  ctx: Context;
  engine: Engine;
  users: UserDirectory;
  /** The authenticated caller; undefined for an anonymous request. */
  user?: User;
  bucket?: string;
  /** Decoded object key. */
  key?: string;
  /** The zone the Host named, the default zone for a bare host, undefined for `<bucket>.<domain>`. */
  zone?: string;
  /** Whether the Host named the zone. */
  zoneGiven: boolean;
  /** Decoded query parameters; a bare name maps to ''. */
  query: Map<string, string>;
  requestId: string;
  /** Where this endpoint's buckets live: `<bucket>.<zone>.<base>:<port>`. */
  site: Site;
}

/** The public address of the endpoint, for the `url` fields and redirect Locations. */
export interface Site {
  protocol: string;
  /** Base host name (the configured domain, or the one the request used). */
  base: string;
  /** The port clients reach, undefined when it is the scheme's default. */
  port?: number;
}

/** The authenticated caller; anonymous callers get permission_denied. */
export function requireUser(r: QsRequest): User {
  if (!r.user) throw new GatewayError('AccessDenied', 'Anonymous requests are not allowed for this operation.');
  return r.user;
}

/** Answers with an empty body and `status` (Koa would turn a null body into 204 otherwise). */
export function noContent(r: QsRequest, status: number): void {
  r.ctx.body = null;
  r.ctx.status = status;
}

/** A non-negative integer query parameter with a default and a cap; invalid_argument otherwise. */
export function intParam(r: QsRequest, name: string, def: number, max: number): number {
  const v = r.query.get(name);
  if (v === undefined || v === '') return def;
  if (!/^\d{1,15}$/.test(v)) throw new GatewayError('InvalidArgument', `The ${name} parameter must be a non-negative integer.`);
  return Math.min(Number(v), max);
}

/** ISO-8601 UTC time, as QingStor's JSON `created` fields carry it. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** The virtual-host URL of a bucket in its zone, as list_buckets and stats report it. */
export function bucketUrl(site: Site, bucket: string, zone: string): string {
  return `${site.protocol}://${bucket}.${zone}.${site.base}${site.port === undefined ? '' : `:${site.port}`}`;
}

/** A user's display name, the id itself when the user is not (or no longer) known. */
export function userName(r: QsRequest, id: string): string {
  return r.users.byId(id)?.name ?? id;
}
