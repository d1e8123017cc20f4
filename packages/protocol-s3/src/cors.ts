import { corsHeaders, GatewayError, type CorsRule } from '@twinport/core';
import { children, childText, childTexts, rootElement, type XmlNode } from './xml.js';
import type { S3Request } from './request.js';

// S3's rendering of the core's CORS model: CORSConfiguration XML, preflights, and the headers of
// cross-origin requests.

/** The CORSConfiguration body of a bucket's rules. */
export function corsXml(rules: CorsRule[]): XmlNode {
  return {
    CORSRule: rules.map((r) => ({
      ID: r.id,
      AllowedHeader: r.allowedHeaders,
      AllowedMethod: r.allowedMethods,
      AllowedOrigin: r.allowedOrigins,
      ExposeHeader: r.exposeHeaders,
      MaxAgeSeconds: r.maxAgeSeconds,
    })),
  };
}

/** The rules of a PutBucketCors body (the core validates them). */
export function corsFromXml(doc: Record<string, unknown>): CorsRule[] {
  const config = rootElement(doc, 'CORSConfiguration');
  return children(config, 'CORSRule').map((rule) => {
    const age = childText(rule, 'MaxAgeSeconds');
    if (age !== undefined && !/^\d+$/.test(age.trim())) throw new GatewayError('MalformedXML');
    return {
      id: childText(rule, 'ID'),
      allowedOrigins: childTexts(rule, 'AllowedOrigin'),
      allowedMethods: childTexts(rule, 'AllowedMethod'),
      allowedHeaders: childTexts(rule, 'AllowedHeader'),
      exposeHeaders: childTexts(rule, 'ExposeHeader'),
      maxAgeSeconds: age === undefined ? undefined : Number(age),
    };
  });
}

/** Answers an OPTIONS preflight from the bucket's rules: 200 with the grants, or 403 AccessForbidden. */
export async function preflight(r: S3Request): Promise<void> {
  const origin = r.ctx.get('origin');
  const method = r.ctx.get('access-control-request-method');
  if (!origin || !method) throw new GatewayError('InvalidRequest', 'Insufficient information. Origin request header needed.');
  const headers = requestedHeaders(r.ctx.get('access-control-request-headers'));
  const rule = await r.engine.settings.corsRule(r.bucket!, origin, method, headers);
  if (!rule) throw new GatewayError('AccessForbidden', undefined, { Method: method, ResourceType: r.key === undefined ? 'BUCKET' : 'OBJECT' });
  r.ctx.set(corsHeaders(rule, origin, { method, headers }));
  r.ctx.body = null;
  r.ctx.status = 200;
}

/** Adds the CORS response headers to a cross-origin request (one with Origin) that a rule allows. */
export async function applyCors(r: S3Request): Promise<void> {
  const origin = r.ctx.get('origin');
  if (!origin || r.bucket === undefined || r.ctx.method === 'OPTIONS') return;
  const rule = await r.engine.settings.corsRule(r.bucket, origin, r.ctx.method).catch(() => undefined);
  if (rule) r.ctx.set(corsHeaders(rule, origin, undefined));
}

function requestedHeaders(v: string): string[] {
  return v.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
}
