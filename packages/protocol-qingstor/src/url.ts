import { GatewayError } from '@twinport/core';

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A request-target split at the first `?`, both halves still percent-encoded. */
export interface RawTarget {
  rawPath: string;
  rawQuery: string;
}

/** Splits a request-target; absolute-form targets (sent to proxies) lose their scheme and authority. */
export function splitTarget(rawUrl: string): RawTarget {
  let target = rawUrl;
  const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?]*/.exec(target);
  if (abs) target = target.slice(abs[0].length) || '/';
  const q = target.indexOf('?');
  return q < 0 ? { rawPath: target, rawQuery: '' } : { rawPath: target.slice(0, q), rawQuery: target.slice(q + 1) };
}

/**
 * Decodes %XX escapes once; the bytes must form valid UTF-8. `+` stays a plus unless `plusAsSpace`
 * (query values: the Go SDK writes spaces as `+`, the others as `%20`).
 */
export function percentDecode(raw: string, plusAsSpace = false): string {
  const s = plusAsSpace ? raw.replace(/\+/g, ' ') : raw;
  if (!s.includes('%')) return s;
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) throw new GatewayError('InvalidURI');
  // A multi-byte character is always one run of escapes, so each run decodes on its own.
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return UTF8.decode(Buffer.from(run.replace(/%/g, ''), 'hex'));
    } catch {
      throw new GatewayError('InvalidURI');
    }
  });
}

/** Raw `name` / `name=value` items of a query string, in order, empty items dropped. */
export function rawQueryItems(rawQuery: string): string[] {
  return rawQuery.split('&').filter((item) => item !== '');
}

/** Decoded query parameters; the first occurrence of a name wins and a bare name maps to ''. */
export function parseQuery(rawQuery: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of rawQueryItems(rawQuery)) {
    const eq = item.indexOf('=');
    const name = percentDecode(eq < 0 ? item : item.slice(0, eq), true);
    if (!out.has(name)) out.set(name, eq < 0 ? '' : percentDecode(item.slice(eq + 1), true));
  }
  return out;
}

/**
 * Percent-encodes a bucket/key path the way the Python SDK does (`quote(s, safe='/')`): every UTF-8
 * byte outside `A-Za-z0-9_.-~` and `/` becomes uppercase `%XX`.
 */
export function encodePath(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/');
}
