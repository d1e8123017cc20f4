/**
 * Redis key layout of the metadata store.
 *
 * Every key starts with the store's prefix (default `twinport:`), so several deployments, or a
 * gateway and unrelated data, can share one Redis. Each metadata table is two keys:
 *
 *   <prefix>val:<table>   hash        field = id, value = the JSON text of the stored value
 *   <prefix>idx:<table>   sorted set  member = id, score = 0 for every member
 *
 * The hash answers point reads; the sorted set is the ordered index `list` pages through. With all
 * scores equal, Redis orders members by memcmp of their bytes, which is exactly the UTF-8 byte order
 * the MetaStore contract asks for, and ZRANGEBYLEX reads one page of it without touching the rest
 * of the table. Every write changes both keys inside one Lua script, so they never disagree (also
 * when Redis or the connection dies mid-call), and Redis removes both when a table becomes empty.
 *
 * Keys are binary-safe in Redis and the table name is the whole remainder of a key after the fixed
 * `val:`/`idx:` tag, so any table name (unicode, `/`, `:`, spaces, braces) maps to its own keys
 * and no table's keys can collide with another's. Ids are members and fields, never part of a key.
 */

import { prefixSuccessor } from '@twinport/core';

/** The two Redis keys that hold one table. */
export interface TableKeys {
  /** Hash of id → JSON value. */
  values: string;
  /** Sorted set of ids, all with score 0, ordered by their UTF-8 bytes. */
  index: string;
}

/** The keys of `table` under `prefix`. */
export function tableKeys(prefix: string, table: string): TableKeys {
  if (table.length === 0) throw new TypeError('metadata table names must not be empty');
  return { values: `${prefix}val:${table}`, index: `${prefix}idx:${table}` };
}

/**
 * The ZRANGEBYLEX bounds selecting ids that start with `prefix` and sort after `after`, as bytes:
 * the successor of a UTF-8 prefix is often not valid UTF-8 itself, so it must not pass through a
 * JS string.
 */
export function lexRange(prefix = '', after?: string): { min: Buffer | string; max: Buffer | string } {
  const p = Buffer.from(prefix, 'utf8');
  let min: Buffer | string = p.length > 0 ? Buffer.concat([Buffer.from('['), p]) : '-';
  if (after !== undefined) {
    const a = Buffer.from(after, 'utf8');
    // Starting strictly after `after` only matters when it sorts at or past the prefix itself.
    if (Buffer.compare(a, p) >= 0) min = Buffer.concat([Buffer.from('('), a]);
  }
  const succ = prefixSuccessor(p);
  const max: Buffer | string = succ ? Buffer.concat([Buffer.from('('), succ]) : '+';
  return { min, max };
}
