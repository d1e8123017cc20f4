import { GatewayError } from './errors.js';
import type { CommitCheck } from './driver.js';
import type { ObjectRecord } from './types.js';

/** The four conditional headers, as sent (GET/HEAD) or as `x-amz-copy-source-if-*` (copy sources). */
export interface Conditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

function etagListMatches(list: string, etag: string): boolean {
  return list.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
    return v === '*' || v === etag;
  });
}

function parseDate(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

/**
 * Evaluates GET/HEAD preconditions in RFC 9110 order; throws PreconditionFailed (412) or
 * NotModified (304). With `copySource`, every failure is a 412, as S3 does for copies.
 */
export function checkReadConditions(c: Conditions, rec: ObjectRecord, copySource = false): void {
  const modified = Math.floor(rec.lastModified / 1000);
  const fail412 = (h: string) => new GatewayError('PreconditionFailed', undefined, { Condition: h });
  if (c.ifMatch !== undefined) {
    if (!etagListMatches(c.ifMatch, rec.etag)) throw fail412(copySource ? 'x-amz-copy-source-If-Match' : 'If-Match');
  } else {
    const since = parseDate(c.ifUnmodifiedSince);
    if (since !== undefined && modified > since) throw fail412(copySource ? 'x-amz-copy-source-If-Unmodified-Since' : 'If-Unmodified-Since');
  }
  if (c.ifNoneMatch !== undefined) {
    if (etagListMatches(c.ifNoneMatch, rec.etag)) {
      if (copySource) throw fail412('x-amz-copy-source-If-None-Match');
      throw new GatewayError('NotModified');
    }
  } else {
    const since = parseDate(c.ifModifiedSince);
    if (since !== undefined && modified <= since) {
      if (copySource) throw fail412('x-amz-copy-source-If-Modified-Since');
      throw new GatewayError('NotModified');
    }
  }
}

/**
 * The commit-time check for conditional writes (`If-None-Match: *`, `If-Match: etag`), run by the
 * driver inside its commit so that the check and the write are atomic.
 */
export function writeCheck(c: { ifMatch?: string; ifNoneMatch?: string }): CommitCheck | undefined {
  if (c.ifMatch === undefined && c.ifNoneMatch === undefined) return undefined;
  if (c.ifMatch !== undefined && c.ifNoneMatch !== undefined) throw new GatewayError('NotImplemented');
  if (c.ifNoneMatch !== undefined && c.ifNoneMatch.trim() !== '*') throw new GatewayError('NotImplemented');
  return (current) => {
    if (c.ifNoneMatch !== undefined && current) throw new GatewayError('PreconditionFailed', undefined, { Condition: 'If-None-Match' });
    if (c.ifMatch !== undefined) {
      if (!current) throw new GatewayError('NoSuchKey');
      if (!etagListMatches(c.ifMatch, current.etag)) throw new GatewayError('PreconditionFailed', undefined, { Condition: 'If-Match' });
    }
  };
}
