import { GatewayError } from './errors.js';

// Both protocol adapters select an operation the same way: by method, by what the path addresses,
// and by the sub-resource query parameter that names it (S3's ?acl, QingStor's ?stats, ...).

/** What a request path addresses. */
export type Scope = 'service' | 'bucket' | 'object';

/** One operation of a dispatch table: method, scope, and the sub-resource that selects it (none = the plain operation). */
export interface RouteSpec {
  method: string;
  scope: Scope;
  sub?: string;
}

/** The scope of a request from its bucket and key. */
export function scopeOf(bucket: string | undefined, key: string | undefined): Scope {
  return bucket === undefined ? 'service' : key === undefined ? 'bucket' : 'object';
}

/**
 * The route of a request: one whose sub-resource is in the query, else the plain operation. A
 * known sub-resource nobody routes (`subresources`) is NotImplemented rather than silently served
 * as the plain operation; a method nobody routes is MethodNotAllowed.
 */
export function matchRoute<R extends RouteSpec>(routes: readonly R[], scope: Scope, method: string, query: { has(k: string): boolean; keys(): Iterable<string> }, subresources: ReadonlySet<string>): R {
  const candidates = routes.filter((x) => x.scope === scope && x.method === method);
  const match = candidates.find((x) => x.sub !== undefined && query.has(x.sub)) ?? candidates.find((x) => x.sub === undefined);
  const unrouted = [...query.keys()].find((k) => subresources.has(k) && !candidates.some((x) => x.sub === k));
  if (unrouted !== undefined && (match === undefined || match.sub === undefined)) {
    throw new GatewayError('NotImplemented', `The ${unrouted} operation is not implemented.`);
  }
  if (!match) {
    const allowed = [...new Set(routes.filter((x) => x.scope === scope).map((x) => x.method))];
    throw new GatewayError('MethodNotAllowed', undefined, { Method: method, ResourceType: scope.toUpperCase(), Allow: allowed.join(', ') });
  }
  return match;
}
