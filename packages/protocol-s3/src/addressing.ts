import { GatewayError } from '@twinport/core';
import { decodePath, parseQuery } from './auth/index.js';

/** What a request addresses: the service, a bucket, or an object, plus its query parameters. */
export interface Target {
  bucket?: string;
  key?: string;
  /** Query parameters, decoded; a parameter without value maps to ''. */
  query: Map<string, string>;
  /** Whether the bucket came from the Host header. */
  virtualHost: boolean;
}

/**
 * Reads bucket and key from the raw request-target and Host, virtual-host style when the host is
 * `<bucket>.<domain>`, path style otherwise. The raw path is used so that keys with `//`, `./`
 * and `../` survive as the client sent them.
 */
export function resolveTarget(rawUrl: string, host: string | undefined, domain: string): Target {
  const q = rawUrl.indexOf('?');
  const rawPath = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  if (!rawPath.startsWith('/')) throw new GatewayError('InvalidURI');
  const query = new Map<string, string>();
  for (const [k, v] of parseQuery(q >= 0 ? rawUrl.slice(q + 1) : '')) if (!query.has(k)) query.set(k, v);
  const path = decodePath(rawPath);
  const vhostBucket = bucketFromHost(host, domain);
  if (vhostBucket !== undefined) {
    const key = path.slice(1);
    return { bucket: vhostBucket, key: key === '' ? undefined : key, query, virtualHost: true };
  }
  const rest = path.slice(1);
  if (rest === '') return { query, virtualHost: false };
  const slash = rest.indexOf('/');
  if (slash < 0) return { bucket: rest, query, virtualHost: false };
  const key = rest.slice(slash + 1);
  return { bucket: rest.slice(0, slash), key: key === '' ? undefined : key, query, virtualHost: false };
}

function bucketFromHost(host: string | undefined, domain: string): string | undefined {
  if (!host || !domain) return undefined;
  let h = host.toLowerCase();
  if (h.startsWith('[')) return undefined;
  const colon = h.lastIndexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  const suffix = `.${domain.toLowerCase()}`;
  if (!h.endsWith(suffix)) return undefined;
  const bucket = h.slice(0, -suffix.length);
  return bucket === '' ? undefined : bucket;
}
