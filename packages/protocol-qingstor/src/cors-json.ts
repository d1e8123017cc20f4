import { CORS_METHODS, GatewayError, type CorsRule } from '@twinport/core';

// QingStor's JSON rendering of the core's CORS model:
//   {"cors_rules":[{"allowed_origin":"http://*.example.com","allowed_methods":["GET","PUT"],
//                   "allowed_headers":["*"],"expose_headers":["x-qs-date"],"max_age_seconds":200}]}
// A QingStor rule has one origin, a core rule a list: a core rule with several origins (set through
// S3) renders as one QingStor rule per origin.

/** One rule as QingStor writes it. */
export interface QsCorsRule {
  allowed_origin: string;
  allowed_methods: string[];
  allowed_headers: string[];
  expose_headers: string[];
  max_age_seconds?: number;
}

/** The GET ?cors document. */
export function corsJson(rules: CorsRule[]): { cors_rules: QsCorsRule[] } {
  return {
    cors_rules: rules.flatMap((r) => r.allowedOrigins.map((origin) => ({
      allowed_origin: origin,
      allowed_methods: r.allowedMethods,
      allowed_headers: r.allowedHeaders,
      expose_headers: r.exposeHeaders,
      ...(r.maxAgeSeconds === undefined ? {} : { max_age_seconds: r.maxAgeSeconds }),
    }))),
  };
}

function invalid(message: string): GatewayError {
  return new GatewayError('InvalidRequest', message);
}

function strings(v: unknown, what: string, required: boolean): string[] {
  if (v === undefined && !required) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === '')) throw invalid(`${what} must be a list of strings.`);
  if (required && v.length === 0) throw invalid(`${what} must not be empty.`);
  return v as string[];
}

/**
 * The rules of a PUT ?cors document; `allowed_methods: ["*"]` means every method. Anything that
 * does not describe CORS rules is invalid_request (unknown members such as `resp_vary` are ignored).
 */
export function corsFromJson(doc: Record<string, unknown>): CorsRule[] {
  const list = doc.cors_rules;
  if (!Array.isArray(list) || list.length === 0) throw invalid('The request body must have a non-empty "cors_rules" list.');
  return list.map((r, i): CorsRule => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw invalid(`cors_rules[${i}] must be an object.`);
    const rule = r as Record<string, unknown>;
    if (typeof rule.allowed_origin !== 'string' || rule.allowed_origin === '') throw invalid(`cors_rules[${i}].allowed_origin must be a string.`);
    const methods = strings(rule.allowed_methods, `cors_rules[${i}].allowed_methods`, true).map((m) => m.toUpperCase());
    const age = rule.max_age_seconds;
    if (age !== undefined && !(Number.isSafeInteger(age) && (age as number) >= 0)) throw invalid(`cors_rules[${i}].max_age_seconds must be a non-negative integer.`);
    return {
      allowedOrigins: [rule.allowed_origin],
      allowedMethods: methods.includes('*') ? [...CORS_METHODS] : methods,
      allowedHeaders: strings(rule.allowed_headers, `cors_rules[${i}].allowed_headers`, false),
      exposeHeaders: strings(rule.expose_headers, `cors_rules[${i}].expose_headers`, false),
      ...(age === undefined ? {} : { maxAgeSeconds: age as number }),
    };
  });
}
