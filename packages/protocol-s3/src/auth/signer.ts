import { chunkSignature, trailerSignature, type ChunkedMode, type StreamingContext } from './chunked.js';
import { canonicalQuery, parseQuery, uriEncode } from './encoding.js';
import { ALGORITHM, UNSIGNED_PAYLOAD, canonicalRequest, canonicalUri, formatAmzDate, hmacHex, sha256Hex, signingKey, stringToSign } from './sigv4.js';

/** A client's key pair and the region it signs for. */
export interface Credentials {
  accessKey: string;
  secretKey: string;
  /** Defaults to us-east-1. */
  region?: string;
}

interface ClientScope {
  key: Buffer;
  scope: string;
}

function clientScope(credentials: Credentials, amzDate: string): ClientScope {
  const date = amzDate.slice(0, 8);
  const region = credentials.region ?? 'us-east-1';
  return { key: signingKey(credentials.secretKey, date, region, 's3'), scope: `${date}/${region}/s3/aws4_request` };
}

/** Signs every given header plus host, x-amz-date and x-amz-content-sha256, returning the lowercase header set to send. */
export function signHeaders(opts: { method: string; url: URL; headers: Record<string, string>; payloadHash: string; credentials: Credentials; date?: Date }): Record<string, string> {
  // The path is canonicalised from url.pathname exactly as the server reads the request-target, so keys
  // must be percent-encoded in the URL; WHATWG URLs collapse `/./` and `/../`, so keys holding them
  // have to travel with their slashes encoded.
  const amzDate = formatAmzDate(opts.date ?? new Date());
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(opts.headers)) headers[name.toLowerCase()] = value;
  delete headers.authorization;
  headers.host ??= opts.url.host;
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = opts.payloadHash;
  const names = Object.keys(headers).sort();
  const lines = names.map((n) => `${n}:${headers[n].trim().replace(/\s+/g, ' ')}\n`).join('');
  const signed = names.join(';');
  const { key, scope } = clientScope(opts.credentials, amzDate);
  const cr = canonicalRequest(opts.method, canonicalUri(opts.url.pathname), canonicalQuery(parseQuery(opts.url.search)), lines, signed, opts.payloadHash);
  const signature = hmacHex(key, stringToSign(amzDate, scope, cr));
  headers.authorization = `${ALGORITHM} Credential=${opts.credentials.accessKey}/${scope}, SignedHeaders=${signed}, Signature=${signature}`;
  return headers;
}

/** Builds a SigV4 presigned URL (host the only signed header, payload unsigned). */
export function presignUrl(opts: { method: string; url: URL; expires: number; credentials: Credentials; date?: Date }): string {
  const amzDate = formatAmzDate(opts.date ?? new Date());
  const { key, scope } = clientScope(opts.credentials, amzDate);
  const added: Array<[string, string]> = [
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', `${opts.credentials.accessKey}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(opts.expires)],
    ['X-Amz-SignedHeaders', 'host'],
  ];
  const query = canonicalQuery([...parseQuery(opts.url.search), ...added]);
  const cr = canonicalRequest(opts.method, canonicalUri(opts.url.pathname), query, `host:${opts.url.host}\n`, 'host', UNSIGNED_PAYLOAD);
  added.push(['X-Amz-Signature', hmacHex(key, stringToSign(amzDate, scope, cr))]);
  const extra = added.map(([n, v]) => `${n}=${uriEncode(v, true)}`).join('&');
  const search = opts.url.search.length > 1 ? `${opts.url.search}&${extra}` : `?${extra}`;
  return `${opts.url.origin}${opts.url.pathname}${search}`;
}

/** The key, time, scope and seed signature a client needs to sign the chunks after `signHeaders`. */
export function streamingContextFor(credentials: Credentials, signedHeaders: Record<string, string>): StreamingContext {
  const amzDate = signedHeaders['x-amz-date'];
  const seed = /Signature=([0-9a-f]{64})/.exec(signedHeaders.authorization ?? '')?.[1];
  if (!amzDate || !seed) throw new TypeError('headers are not the output of signHeaders');
  const { key, scope } = clientScope(credentials, amzDate);
  return { signingKey: key, amzDate, scope, seedSignature: seed };
}

const CRLF = Buffer.from('\r\n');

/** Encodes `data` as an aws-chunked body, chunk (and trailer) signatures chained from the seed. */
export function encodeChunkedBody(opts: { data: Buffer; chunkSize: number; mode: ChunkedMode; streaming?: StreamingContext; trailers?: Record<string, string> }): Buffer {
  const { data, chunkSize, mode, streaming } = opts;
  const signed = mode !== 'unsigned-trailer';
  if (!(chunkSize > 0)) throw new RangeError('chunkSize must be positive');
  if (signed && !streaming) throw new TypeError(`mode ${mode} needs a streaming context`);
  const parts: Buffer[] = [];
  let previous = streaming?.seedSignature ?? '';
  for (let offset = 0; ; offset += chunkSize) {
    const piece = data.subarray(offset, Math.min(offset + chunkSize, data.length));
    let line = piece.length.toString(16);
    if (signed) {
      previous = chunkSignature(streaming!, previous, sha256Hex(piece));
      line += `;chunk-signature=${previous}`;
    }
    parts.push(Buffer.from(`${line}\r\n`));
    if (piece.length === 0) break;
    parts.push(piece, CRLF);
  }
  if (mode !== 'signed') {
    const lines = Object.entries(opts.trailers ?? {}).map(([n, v]) => `${n.toLowerCase()}:${v}`).sort();
    parts.push(Buffer.from(lines.map((l) => `${l}\r\n`).join('')));
    if (mode === 'signed-trailer') {
      const signature = trailerSignature(streaming!, previous, lines.map((l) => `${l}\n`).join(''));
      parts.push(Buffer.from(`x-amz-trailer-signature:${signature}\r\n`));
    }
  }
  parts.push(CRLF);
  return Buffer.concat(parts);
}
