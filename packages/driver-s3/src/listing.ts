import type { ListOptions, ObjectRecord } from '@twinport/core';
import { dateOf, unquote } from './records.js';
import { withSidecar, type Sidecars } from './sidecar.js';
import type { Upstream } from './upstream.js';
import { elements, text } from './xml.js';

/** Most keys one ListObjectsV2 page returns. */
const PAGE = 1000;
/**
 * The largest code point: `after` followed by it sorts (in UTF-8 bytes) after every key that starts
 * with `after` and continues with any other character, which is how skipPrefix becomes start-after.
 */
const MAX_CHAR = '\u{10FFFF}';

/**
 * Lists through the upstream's ListObjectsV2 (start-after, then continuation tokens), paging until
 * `limit` records are found. Every key is also checked here against the window, in UTF-8 byte
 * order, so an upstream that orders or compares differently (s3rver compares UTF-16 strings)
 * cannot put a key outside it into the result. ETags are the gateway's where a sidecar says so.
 */
export async function listObjects(up: Upstream, sidecars: Sidecars, bucket: string, opts: ListOptions): Promise<ObjectRecord[]> {
  if (!(opts.limit > 0)) return [];
  const { prefix, after, skipPrefix = false } = opts;
  const floor = after === undefined ? undefined : Buffer.from(after);
  const out: ObjectRecord[] = [];
  let token: string | undefined;
  for (;;) {
    const query: Record<string, string> = { 'list-type': '2', prefix, 'max-keys': String(Math.min(PAGE, opts.limit - out.length)), 'encoding-type': 'url' };
    if (token !== undefined) query['continuation-token'] = token;
    else if (after !== undefined) query['start-after'] = skipPrefix ? after + MAX_CHAR : after;
    const { body } = await up.call({ method: 'GET', bucket, query, notFound: 'NoSuchBucket' });
    const page = parsePage(body);
    for (const rec of page.records) {
      if (!rec.key.startsWith(prefix)) continue;
      if (floor && (Buffer.compare(Buffer.from(rec.key), floor) <= 0 || (skipPrefix && rec.key.startsWith(after!)))) continue;
      out.push(rec);
      if (out.length === opts.limit) break;
    }
    if (out.length === opts.limit || !page.next) break;
    token = page.next;
  }
  if (out.length === 0) return out;
  const entries = await sidecars.within(bucket, prefix, after, skipPrefix, out[out.length - 1].key);
  return entries.size === 0 ? out : out.map((rec) => withSidecar({ record: rec, upstreamEtag: rec.etag }, entries.get(rec.key)));
}

/** The records of a ListBucketResult, and the token of the next page if it is truncated. */
function parsePage(xml: string): { records: ObjectRecord[]; next?: string } {
  const encoded = text(xml, 'EncodingType')?.toLowerCase() === 'url';
  const records = elements(xml, 'Contents').map((c) => {
    const raw = text(c, 'Key') ?? '';
    return {
      key: encoded ? decodeURIComponent(raw.replace(/\+/g, ' ')) : raw,
      size: Number(text(c, 'Size') ?? 0),
      etag: unquote(text(c, 'ETag')),
      lastModified: dateOf(text(c, 'LastModified')),
      userMeta: {},
    };
  });
  const truncated = text(xml, 'IsTruncated') === 'true';
  return { records, next: truncated ? text(xml, 'NextContinuationToken') || undefined : undefined };
}
