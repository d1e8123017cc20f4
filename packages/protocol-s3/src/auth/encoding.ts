import { GatewayError } from '@twinport/core';

// encodeURIComponent leaves these unescaped, but they are outside S3's unreserved set.
const EXTRA_RESERVED = /[!'()*]/g;
const UNRESERVED = /^[A-Za-z0-9\-._~]*$/;
const UNRESERVED_OR_SLASH = /^[A-Za-z0-9\-._~/]*$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Percent-encodes every UTF-8 byte outside A-Za-z0-9-._~ (and outside `/` unless encodeSlash), uppercase hex. */
export function uriEncode(s: string, encodeSlash: boolean): string {
  // Most keys and query values need no escaping at all.
  if ((encodeSlash ? UNRESERVED : UNRESERVED_OR_SLASH).test(s)) return s;
  let out: string;
  try {
    out = encodeURIComponent(s);
  } catch {
    // Lone surrogates: encode what Buffer makes of them (U+FFFD), as every other signer does.
    out = encodeURIComponent(Buffer.from(s, 'utf8').toString('utf8'));
  }
  out = out.replace(EXTRA_RESERVED, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return encodeSlash ? out : out.replace(/%2F/g, '/');
}

/** Decodes %XX escapes once; the bytes must form valid UTF-8. */
function percentDecode(raw: string): string {
  if (!raw.includes('%')) return raw;
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) throw new GatewayError('InvalidURI');
  // A multi-byte character is always a run of escapes, so each run can be decoded on its own.
  return raw.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = Buffer.from(run.replace(/%/g, ''), 'hex');
    try {
      return UTF8.decode(bytes);
    } catch {
      throw new GatewayError('InvalidURI');
    }
  });
}

/** Decodes a raw request path once; `+` stays a literal plus, as S3 reads paths. */
export function decodePath(raw: string): string {
  return percentDecode(raw);
}

/** Splits a raw query string into decoded name/value pairs, reading a bare `+` as a space. */
export function parseQuery(raw: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (raw.startsWith('?')) raw = raw.slice(1);
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([percentDecode(name.replace(/\+/g, ' ')), percentDecode(value.replace(/\+/g, ' '))]);
  }
  return pairs;
}

/** The SigV4 canonical query string: pairs encoded, sorted by name then value, `exclude` left out. */
export function canonicalQuery(pairs: ReadonlyArray<readonly [string, string]>, exclude?: string): string {
  const encoded: Array<[string, string]> = [];
  for (const [name, value] of pairs) {
    if (name !== exclude) encoded.push([uriEncode(name, true), uriEncode(value, true)]);
  }
  // Encoded strings are pure ASCII, so code-unit order is byte order.
  encoded.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return encoded.map(([n, v]) => `${n}=${v}`).join('&');
}
