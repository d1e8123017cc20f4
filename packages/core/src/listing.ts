import type { Driver } from './driver.js';
import type { ObjectRecord } from './types.js';
import { beyondKeys, fitMarker } from './names.js';

/** One page of a listing request, in protocol-neutral terms. */
export interface ListRequest {
  prefix: string;
  delimiter?: string;
  /** Exclusive start: a key, or a common prefix returned by an earlier page. */
  after?: string;
  maxKeys: number;
}

/** A listing page: keys and common prefixes, each counting as one entry. */
export interface ListPage {
  objects: ObjectRecord[];
  prefixes: string[];
  isTruncated: boolean;
  /** The last entry returned (key or prefix), to resume after. */
  last?: string;
}

const BATCH = 1000;
const FIRST_BATCH = 4;

/**
 * Lists a bucket with S3's delimiter semantics over the driver's ordered keys. A common prefix is
 * jumped over with one seek instead of reading its keys, so a root listing of a large bucket costs
 * one driver call per prefix.
 */
export async function listPage(driver: Driver, bucket: string, req: ListRequest): Promise<ListPage> {
  const page: ListPage = { objects: [], prefixes: [], isTruncated: false };
  if (req.maxKeys <= 0) return page;
  const { prefix, delimiter } = req;
  // No key is that long, so nothing is under such a prefix.
  if (beyondKeys(prefix)) return page;
  let after = req.after;
  if (after !== undefined && Buffer.compare(Buffer.from(after), Buffer.from(prefix)) < 0) after = undefined;
  // A marker that is itself a common prefix means "resume after everything under it".
  let skip = after !== undefined && !!delimiter && commonPrefixOf(after, prefix, delimiter) === after;
  if (after !== undefined && beyondKeys(after)) {
    after = fitMarker(after);
    skip = true;
  }
  let count = 0;
  // With a delimiter, the next entry may roll up a whole subtree, so read a few records first and
  // grow the batch only while plain keys keep coming: a seek costs less than decoding records
  // that a common prefix would swallow.
  let batch = delimiter ? FIRST_BATCH : BATCH;
  for (;;) {
    const want = Math.min(batch, req.maxKeys - count + 1);
    const records = await driver.listObjects(bucket, { prefix, after, skipPrefix: skip, limit: want });
    skip = false;
    for (const rec of records) {
      const common = delimiter ? commonPrefixOf(rec.key, prefix, delimiter) : undefined;
      if (count === req.maxKeys) {
        page.isTruncated = true;
        return page;
      }
      count++;
      if (common !== undefined) {
        page.prefixes.push(common);
        page.last = after = common;
        skip = true;
        break;
      }
      page.objects.push(rec);
      page.last = after = rec.key;
    }
    if (!skip && records.length < want) return page;
    batch = skip ? FIRST_BATCH : Math.min(BATCH, batch * 4);
  }
}

/** The common prefix `key` rolls up into (prefix through the first delimiter after it), if any. */
export function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  const at = key.indexOf(delimiter, prefix.length);
  return at >= 0 ? key.slice(0, at + delimiter.length) : undefined;
}
