import { GatewayError } from './errors.js';

/**
 * One CORS model for both APIs: S3 renders it as CORSConfiguration XML, QingStor as `cors_rules`
 * JSON. A bucket keeps its rules; a preflight (OPTIONS) or a cross-origin request is answered from
 * the first rule that matches its origin, method and requested headers.
 */

/** The methods a CORS rule may allow. */
export const CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] as const;

/** One CORS rule. Origins and headers may hold one `*` wildcard each. */
export interface CorsRule {
  id?: string;
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

/** The most rules a bucket may have, as in S3. */
export const MAX_CORS_RULES = 100;

/** Checks rules before they are stored; the adapters have already parsed them. */
export function validateCors(rules: CorsRule[]): CorsRule[] {
  if (rules.length === 0 || rules.length > MAX_CORS_RULES) throw new GatewayError('MalformedXML');
  for (const r of rules) {
    if (r.allowedOrigins.length === 0 || r.allowedMethods.length === 0) throw new GatewayError('MalformedXML');
    for (const m of r.allowedMethods) {
      if (!(CORS_METHODS as readonly string[]).includes(m)) throw new GatewayError('InvalidRequest', `Found unsupported HTTP method in CORS config. Unsupported method is ${m}`);
    }
    for (const o of [...r.allowedOrigins, ...r.allowedHeaders]) {
      if ((o.match(/\*/g) ?? []).length > 1) throw new GatewayError('InvalidRequest', `AllowedOrigin/AllowedHeader "${o}" can not have more than one wildcard.`);
    }
    if (r.maxAgeSeconds !== undefined && !(Number.isInteger(r.maxAgeSeconds) && r.maxAgeSeconds >= 0)) throw new GatewayError('MalformedXML');
    for (const h of r.exposeHeaders) {
      if (!HEADER_NAME.test(h)) throw new GatewayError('InvalidRequest', `ExposeHeader "${h}" is not a valid header name.`);
    }
  }
  return rules;
}

/** An HTTP header name (an RFC 9110 token): what Access-Control-Expose-Headers may list. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function wildcard(pattern: string, value: string, caseless: boolean): boolean {
  const [p, v] = caseless ? [pattern.toLowerCase(), value.toLowerCase()] : [pattern, value];
  const star = p.indexOf('*');
  if (star < 0) return p === v;
  const head = p.slice(0, star);
  const tail = p.slice(star + 1);
  return v.length >= head.length + tail.length && v.startsWith(head) && v.endsWith(tail);
}

/** The first rule allowing `origin` to use `method` with `headers` (lowercase names), if any. */
export function matchCors(rules: CorsRule[] | undefined, origin: string, method: string, headers: string[] = []): CorsRule | undefined {
  return (rules ?? []).find(
    (r) =>
      r.allowedOrigins.some((o) => wildcard(o, origin, false)) &&
      r.allowedMethods.includes(method) &&
      headers.every((h) => r.allowedHeaders.some((a) => wildcard(a, h, true))),
  );
}

/** The response headers a matching rule grants for a request from `origin`. */
export function corsHeaders(rule: CorsRule, origin: string, preflight: { method: string; headers: string[] } | undefined): Record<string, string> {
  const out: Record<string, string> = {
    'Access-Control-Allow-Origin': rule.allowedOrigins.includes('*') ? '*' : origin,
    'Access-Control-Allow-Methods': rule.allowedMethods.join(', '),
    Vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
  if (!rule.allowedOrigins.includes('*')) out['Access-Control-Allow-Credentials'] = 'true';
  if (preflight && preflight.headers.length > 0) out['Access-Control-Allow-Headers'] = preflight.headers.join(', ');
  // Rules stored before names were checked may hold what no header can carry.
  const expose = rule.exposeHeaders.filter((h) => HEADER_NAME.test(h));
  if (expose.length > 0) out['Access-Control-Expose-Headers'] = expose.join(', ');
  if (preflight && rule.maxAgeSeconds !== undefined) out['Access-Control-Max-Age'] = String(rule.maxAgeSeconds);
  return out;
}
