import { corsHeaders, GatewayError } from '@twinport/core';
import { noContent, type QsRequest } from '../request.js';

/** The header names a preflight asks for, lowercased. */
function requestedHeaders(r: QsRequest): string[] {
  return r.ctx.get('access-control-request-headers').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
}

/**
 * OPTIONS on a bucket or object (CORS preflight): 200 with the Access-Control-Allow-* headers of
 * the first matching rule, and 200 without them when no rule matches, as QingStor answers.
 */
export async function preflight(r: QsRequest): Promise<void> {
  const origin = r.ctx.get('origin');
  const method = r.ctx.get('access-control-request-method').trim().toUpperCase();
  if (!origin || !method) throw new GatewayError('InvalidRequest', 'A preflight request needs the Origin and Access-Control-Request-Method headers.');
  const headers = requestedHeaders(r);
  const rule = await r.engine.settings.corsRule(r.bucket!, origin, method, headers);
  if (rule) r.ctx.set(corsHeaders(rule, origin, { method, headers }));
  noContent(r, 200);
}

/**
 * Adds the CORS headers an actual cross-origin request (one with an Origin header) earns from the
 * bucket's rules, on success and error answers alike, so that browsers can read either.
 */
export async function addCorsHeaders(r: QsRequest): Promise<void> {
  const origin = r.ctx.get('origin');
  if (!origin || r.bucket === undefined || r.ctx.method === 'OPTIONS') return;
  try {
    const rule = await r.engine.settings.corsRule(r.bucket, origin, r.ctx.method);
    if (rule) r.ctx.set(corsHeaders(rule, origin, undefined));
  } catch {
    // No bucket, or no store: the answer itself already says what went wrong.
  }
}
