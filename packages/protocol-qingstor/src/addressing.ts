import { GatewayError, isValidBucketName } from '@twinport/core';
import { parseQuery, percentDecode, splitTarget } from './url.js';

/** Where the QingStor endpoint lives: its base host name and the zones it serves. */
export interface AddressingConfig {
  /** Base host, e.g. `qingstor.local`: `<zone>.<domain>` and `<bucket>.<zone>.<domain>` address zones and buckets. */
  domain: string;
  zones: readonly string[];
  /** The zone of requests that reach a bare host (the domain itself, an IP address, `localhost`). */
  defaultZone: string;
}

/** What a request addresses. */
export interface Address {
  kind: 'address';
  /** The zone from the Host, the default zone for a bare host, undefined for `<bucket>.<domain>`. */
  zone?: string;
  /** Whether the Host named the zone. */
  zoneGiven: boolean;
  bucket?: string;
  /** Decoded object key; undefined for service and bucket requests. */
  key?: string;
  /** Whether the bucket came from the Host rather than the path. */
  virtualHost: boolean;
  /** The base host the Host ended in (undefined for a host that is none of ours), and the port it carried. */
  baseHost?: string;
  port?: string;
  rawPath: string;
  rawQuery: string;
  /** Decoded query parameters; a bare name maps to ''. */
  query: Map<string, string>;
}

/** A Host that names a zone this endpoint does not serve, or nothing sensible at all. */
export type AddressProblem =
  | { kind: 'unknown-zone'; zone: string; bucket?: string }
  | { kind: 'bad-host'; host: string };

// QingStor zone ids: a region code, a digit, an optional letter (pek3a, sh1a, gd2, ap2a).
const ZONE_LIKE = /^[a-z]{2,4}\d[a-z]?$/;
const IPV4_SUFFIX = /^(?:(.+)\.)?(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

interface HostParts {
  /** Labels in front of the base host, '' when none. */
  prefix: string;
  baseHost?: string;
  port?: string;
}

function splitHost(host: string | undefined, domain: string): HostParts {
  if (!host) return { prefix: '' };
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    const port = end >= 0 && h[end + 1] === ':' ? h.slice(end + 2) : undefined;
    return { prefix: '', baseHost: h.slice(0, end + 1), port };
  }
  let port: string | undefined;
  const colon = h.lastIndexOf(':');
  if (colon >= 0) {
    port = h.slice(colon + 1);
    h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  for (const base of [domain.toLowerCase(), 'localhost']) {
    if (base === '') continue;
    if (h === base) return { prefix: '', baseHost: base, port };
    if (h.endsWith(`.${base}`)) return { prefix: h.slice(0, -base.length - 1), baseHost: base, port };
  }
  const ip = IPV4_SUFFIX.exec(h);
  if (ip) return { prefix: ip[1] ?? '', baseHost: ip[2], port };
  // A name that is none of ours (a proxy's, a machine name): served as the bare endpoint.
  return { prefix: '', port };
}

/**
 * Reads zone, bucket and key from the Host header and the raw request-target. `<zone>.<base>` is
 * path style in that zone, `<bucket>.<zone>.<base>` virtual-host style, `<bucket>.<base>` a bucket
 * whose zone the caller looks up (QingStor redirects there), and a bare base host (the configured
 * domain, an IPv4 address, `localhost`, or any foreign name) path style in the default zone.
 * Throws InvalidURI for a target that is not a path or holds bad escapes.
 */
export function resolveAddress(host: string | undefined, rawUrl: string, cfg: AddressingConfig): Address | AddressProblem {
  const { rawPath, rawQuery } = splitTarget(rawUrl);
  if (!rawPath.startsWith('/')) throw new GatewayError('InvalidURI');
  const query = parseQuery(rawQuery);
  const { prefix, baseHost, port } = splitHost(host, cfg.domain);
  const base = { kind: 'address' as const, baseHost, port, rawPath, rawQuery, query };
  if (prefix === '') return { ...base, ...pathStyle(rawPath), zone: cfg.defaultZone, zoneGiven: false, virtualHost: false };

  const dot = prefix.lastIndexOf('.');
  const last = prefix.slice(dot + 1);
  const rest = dot < 0 ? '' : prefix.slice(0, dot);
  const zone = cfg.zones.find((z) => z.toLowerCase() === last);
  if (zone !== undefined) {
    if (rest === '') return { ...base, ...pathStyle(rawPath), zone, zoneGiven: true, virtualHost: false };
    if (!isValidBucketName(rest)) return { kind: 'bad-host', host: host ?? '' };
    return { ...base, bucket: rest, key: keyOf(rawPath.slice(1)), zone, zoneGiven: true, virtualHost: true };
  }
  if (ZONE_LIKE.test(last)) return rest === '' ? { kind: 'unknown-zone', zone: last } : { kind: 'unknown-zone', zone: last, bucket: rest };
  if (!isValidBucketName(prefix)) return { kind: 'bad-host', host: host ?? '' };
  return { ...base, bucket: prefix, key: keyOf(rawPath.slice(1)), zone: undefined, zoneGiven: false, virtualHost: true };
}

function keyOf(rawKey: string): string | undefined {
  return rawKey === '' ? undefined : percentDecode(rawKey);
}

/** Bucket and key of a path-style path; split before decoding, so an escaped `%2F` stays inside the key. */
function pathStyle(rawPath: string): { bucket?: string; key?: string } {
  const rest = rawPath.slice(1);
  if (rest === '') return {};
  const slash = rest.indexOf('/');
  const bucket = percentDecode(slash < 0 ? rest : rest.slice(0, slash));
  if (bucket === '') throw new GatewayError('InvalidBucketName', 'The bucket name must not be empty.');
  return slash < 0 ? { bucket } : { bucket, key: keyOf(rest.slice(slash + 1)) };
}

/** The error to answer an AddressProblem with. */
export function addressError(p: AddressProblem): GatewayError {
  if (p.kind === 'unknown-zone') return new GatewayError('InvalidLocationConstraint', `The zone "${p.zone}" does not exist.`);
  return new GatewayError('InvalidBucketName', `The host "${p.host}" does not name a bucket or a zone.`);
}
