import { GatewayError } from './errors.js';

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4_RE = /^\d{1,3}(\.\d{1,3}){3}$/;
const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/** Whether `name` follows S3's general-purpose bucket naming rules (which QingStor's are a subset of). */
export function isValidBucketName(name: string): boolean {
  return BUCKET_RE.test(name)
    && !name.includes('..')
    && !IPV4_RE.test(name)
    && !RESERVED_PREFIXES.some((p) => name.startsWith(p))
    && !RESERVED_SUFFIXES.some((s) => name.endsWith(s));
}

/** Throws InvalidBucketName unless the name is valid. */
export function assertBucketName(name: string): void {
  if (!isValidBucketName(name)) throw new GatewayError('InvalidBucketName', undefined, { BucketName: name });
}

/** The longest key, in bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024;

/** Throws unless `key` is a storable key: non-empty and at most 1024 bytes of UTF-8. */
export function assertKey(key: string): void {
  if (key.length === 0) throw new GatewayError('InvalidArgument', 'Object key must not be empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new GatewayError('KeyTooLongError', undefined, { Size: String(Buffer.byteLength(key)), MaxSizeAllowed: String(MAX_KEY_BYTES) });
  // Lone surrogates cannot be encoded as UTF-8, so they would not round-trip.
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(key)) throw new GatewayError('InvalidURI');
}

/**
 * A listing marker no key can equal, longer than MAX_KEY_BYTES, as an equivalent that fits: its
 * longest prefix of whole characters within the limit, `under` which everything is to be skipped.
 * Every key under that prefix sorts before the marker (it ends where the marker goes on with a
 * character too long to fit), and every other key after the prefix sorts after the marker.
 */
export function fitMarker(marker: string): string {
  let bytes = 0;
  let end = 0;
  for (const ch of marker) {
    bytes += Buffer.byteLength(ch, 'utf8');
    if (bytes > MAX_KEY_BYTES) break;
    end += ch.length;
  }
  return marker.slice(0, end);
}

/** Whether a listing prefix or marker is longer than any key can be. */
export function beyondKeys(s: string): boolean {
  return s.length > MAX_KEY_BYTES / 3 && Buffer.byteLength(s, 'utf8') > MAX_KEY_BYTES;
}
