import type { MetaStore, ObjectRecord, PartSummary, StoredChecksum } from '@twinport/core';
import type { UpstreamObject } from './records.js';

/** The metadata-store table of sidecars, by `bucket/key`. */
export const SIDECAR_TABLE = 's3-objects';

/**
 * What the gateway knows of an object beyond what the upstream keeps. It describes the upstream
 * object with `upstreamEtag` and `size` only: once the object is replaced (even directly upstream)
 * the entry no longer matches and is ignored.
 */
export interface Sidecar {
  upstreamEtag: string;
  size: number;
  /** The gateway's ETag, when it differs from the upstream's. */
  etag?: string;
  checksum?: StoredChecksum;
  parts?: PartSummary[];
  /** Made by appends: only such objects take further appends (QingStor AppendObject). */
  appendable?: boolean;
  /** The content type, for listings (upstream listings carry none; QingStor's show it). */
  contentType?: string;
}

const PAGE = 1000;
const id = (bucket: string, key: string) => `${bucket}/${key}`;

/** The sidecars of one upstream, kept in the shared metadata store. */
export class Sidecars {
  constructor(private readonly meta: MetaStore) {}

  /** The entry of `key`, matching or not. */
  get(bucket: string, key: string): Promise<Sidecar | undefined> {
    return this.meta.get<Sidecar>(SIDECAR_TABLE, id(bucket, key));
  }

  /**
   * Records what the upstream cannot hold of `record`, just committed upstream as `upstreamEtag`,
   * or removes the entry when the upstream holds it all. `hadEntry` (when known) spares a read.
   */
  async save(bucket: string, key: string, record: ObjectRecord, upstreamEtag: string, hadEntry?: boolean): Promise<void> {
    const entry = sidecarOf(record, upstreamEtag);
    if (entry) await this.meta.put(SIDECAR_TABLE, id(bucket, key), entry);
    else if (hadEntry ?? (await this.get(bucket, key)) !== undefined) await this.meta.delete(SIDECAR_TABLE, id(bucket, key));
  }

  /** Removes the entry of `key`. */
  async drop(bucket: string, key: string): Promise<void> {
    await this.meta.delete(SIDECAR_TABLE, id(bucket, key));
  }

  /** Removes every entry of a bucket (stale ones of objects removed directly upstream included). */
  async dropBucket(bucket: string): Promise<void> {
    for (;;) {
      const rows = await this.meta.list(SIDECAR_TABLE, { prefix: `${bucket}/`, limit: PAGE });
      for (const row of rows) await this.meta.delete(SIDECAR_TABLE, row.id);
      if (rows.length < PAGE) return;
    }
  }

  /**
   * The entries of keys that start with `prefix`, sort after `after` (all keys starting with
   * `after` too, with `skipPrefix`) and not after `last`: one listing page's worth.
   */
  async within(bucket: string, prefix: string, after: string | undefined, skipPrefix: boolean, last: string): Promise<Map<string, Sidecar>> {
    const out = new Map<string, Sidecar>();
    const base = `${bucket}/`;
    const end = Buffer.from(id(bucket, last));
    let from = after === undefined ? undefined : id(bucket, skipPrefix ? `${after}\u{10FFFF}` : after);
    for (;;) {
      const rows = await this.meta.list<Sidecar>(SIDECAR_TABLE, { prefix: base + prefix, after: from, limit: PAGE });
      for (const row of rows) {
        if (Buffer.compare(Buffer.from(row.id), end) > 0) return out;
        out.set(row.id.slice(base.length), row.value);
      }
      if (rows.length < PAGE) return out;
      from = rows[rows.length - 1].id;
    }
  }
}

/** The gateway's record of an upstream object, with its sidecar applied if the sidecar matches it. */
export function withSidecar(obj: UpstreamObject, entry: Sidecar | undefined): ObjectRecord {
  if (!entry || entry.upstreamEtag !== obj.upstreamEtag || entry.size !== obj.record.size) return obj.record;
  const rec: ObjectRecord = { ...obj.record };
  if (entry.etag !== undefined) rec.etag = entry.etag;
  if (entry.checksum !== undefined) rec.checksum = entry.checksum;
  if (entry.parts !== undefined) rec.parts = entry.parts;
  if (entry.appendable) rec.appendable = true;
  if (entry.contentType !== undefined && rec.contentType === undefined) rec.contentType = entry.contentType;
  return rec;
}

/** What of `record` the upstream cannot hold, or undefined when it holds everything. */
function sidecarOf(record: ObjectRecord, upstreamEtag: string): Sidecar | undefined {
  const etag = record.etag !== upstreamEtag ? record.etag : undefined;
  if (etag === undefined && !record.checksum && !record.parts && !record.appendable && record.contentType === undefined) return undefined;
  const entry: Sidecar = { upstreamEtag, size: record.size };
  if (record.appendable) entry.appendable = true;
  if (record.contentType !== undefined) entry.contentType = record.contentType;
  if (etag !== undefined) entry.etag = etag;
  if (record.checksum) entry.checksum = record.checksum;
  if (record.parts) entry.parts = record.parts.map(({ partNumber, size, etag: e, checksum }) => (checksum === undefined ? { partNumber, size, etag: e } : { partNumber, size, etag: e, checksum }));
  return entry;
}
