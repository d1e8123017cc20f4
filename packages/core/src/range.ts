import { GatewayError } from './errors.js';
import type { ByteRange } from './types.js';

/**
 * Resolves an HTTP Range header against an object size the way S3 does: one `bytes=` range only
 * (anything else is ignored and the whole object served), end clamped to the size, and an
 * unsatisfiable start answered with InvalidRange.
 */
export function resolveRange(header: string | undefined, size: number): ByteRange | undefined {
  if (!header) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) throw unsatisfiable(header, size);
    if (size === 0) throw unsatisfiable(header, size);
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  if (m[2] !== '' && end < start) return undefined;
  if (start >= size) throw unsatisfiable(header, size);
  return { start, end: Math.min(end, size - 1) };
}

function unsatisfiable(header: string, size: number): GatewayError {
  return new GatewayError('InvalidRange', undefined, { RangeRequested: header, ActualObjectSize: String(size) });
}
