/**
 * The disk driver: object bytes in immutable blob files named by random ids, and an LMDB index
 * from `bucket/key` to `{ record, blobs }`. See layout.ts for the directory layout.
 *
 * Crash safety rests on one invariant: an id in the LMDB `pending` table is never referenced by a
 * committed index entry. Every blob file is therefore in exactly one of three states: in `tmp/`,
 * pending, or referenced by the index, and opening the driver deletes the first two.
 *
 * Writing (putObject, completeUpload, copyObject):
 *  1. the bytes land in `tmp/<id>` and are fsynced (uploads: already durable part files);
 *  2. `pending/<id>` is committed durably (putObject overlaps this with step 1);
 *  3. the bytes get their blob name (rename from tmp/, or hard link from a part or source blob),
 *     and the fan-out directory is fsynced;
 *  4. ONE LMDB transaction runs check(current) and seal(), stores the index entry, deletes
 *     `pending/<new ids>` and adds `pending/<ids of the replaced entry's blobs>`;
 *  5. the replaced blobs are unlinked (after the last reader in this process is done with them),
 *     and then their pending ids are cleared.
 * deleteObject is step 4 without new blobs, then step 5. A throw in step 4 reaps the new blobs.
 *
 * A crash before step 4 commits leaves the new bytes in tmp/ or pending and the old entry intact;
 * a crash after it leaves only the replaced blobs pending. Either way the next open deletes exactly
 * the unreferenced files, without scanning the blob directories. LMDB commits are fsynced before
 * they resolve (overlappingSync off), so an acknowledged write is durable.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { open, type Database, type RootDatabase } from 'lmdb';
import { GatewayError, type ByteRange, type CommitCheck, type Driver, type DriverCapabilities, type ListOptions, type ObjectRecord, type PartRecord } from '@twinport/core';
import { Layout } from './layout.js';
import { code, linkOrCopy, mapLimit, receive, removeTree, syncDir, unlinkQuiet } from './files.js';
import { indexKey, keySuccessor, prefixSuccessor, rangeKey } from './keys.js';
import { segmentsFor, SegmentStream, type BlobRef } from './read.js';
import { Reaper } from './reaper.js';
import { prepare, reapPending } from './recover.js';

/** What the index stores per object: its record and the blobs holding its bytes, in order. */
export interface IndexEntry {
  record: ObjectRecord;
  blobs: BlobRef[];
}

/** Stores objects on a local filesystem under `<dataDir>/objects/`. */
export class DiskDriver implements Driver {
  /** Copies are hard links of immutable blobs, so they cost no byte copying. */
  readonly capabilities: DriverCapabilities = { copy: true };

  private constructor(
    private readonly layout: Layout,
    private readonly root: RootDatabase,
    private readonly index: Database<IndexEntry, Buffer>,
    private readonly pending: Database<unknown, string>,
    private readonly reaper: Reaper,
  ) {}

  /** Opens the driver's storage in `dataDir`, creating it and cleaning up after any crash. */
  static async open(dataDir: string): Promise<DiskDriver> {
    const layout = new Layout(dataDir);
    await prepare(layout);
    const root = open({ path: layout.index, overlappingSync: false, maxDbs: 4 });
    try {
      const index = root.openDB<IndexEntry, Buffer>({ name: 'index', keyEncoding: 'binary', encoding: 'json' });
      const pending = root.openDB<unknown, string>({ name: 'pending', encoding: 'json' });
      await reapPending(layout, pending);
      return new DiskDriver(layout, root, index, pending, new Reaper((id) => layout.blobPath(id), pending));
    } catch (e) {
      await root.close();
      throw e;
    }
  }

  /** Buckets need no storage of their own: a bucket is a range of the index. */
  async createBucket(bucket: string): Promise<void> {
    rangeKey(bucket, '');
  }

  /** Drops the bucket's index range (empty when the core calls this) and reaps its blobs. */
  async deleteBucket(bucket: string): Promise<void> {
    const start = rangeKey(bucket, '');
    const end = prefixSuccessor(start)!;
    const orphans: string[] = [];
    await this.index.childTransaction(() => {
      // Collected first: removing under a live cursor is not something to rely on.
      for (const { key, value } of [...this.index.getRange({ start, end })]) {
        this.index.remove(key);
        for (const b of value.blobs) {
          this.pending.put(b.id, 1);
          orphans.push(b.id);
        }
      }
    });
    await this.reaper.reap(orphans);
  }

  /** Streams `body` to a temporary file and commits it as `key` (see the protocol above). */
  async putObject(bucket: string, key: string, body: Readable, seal: () => ObjectRecord, check?: CommitCheck): Promise<ObjectRecord> {
    const k = indexKey(bucket, key);
    const id = randomUUID();
    const registered = this.pending.put(id, 1);
    registered.catch(() => {});
    const tmp = this.layout.tmpPath(id);
    let size: number;
    try {
      size = await receive(body, tmp);
      await registered;
      await rename(tmp, this.layout.blobPath(id));
      await syncDir(this.layout.blobDir(id));
    } catch (e) {
      await unlinkQuiet(tmp).catch(() => {});
      await this.reaper.reap([id]);
      throw e;
    }
    return this.commit(k, [{ id, size }], seal, check);
  }

  /** The record of `key`, or undefined. */
  async headObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    return this.index.get(indexKey(bucket, key))?.record;
  }

  /** Streams `key` (or a range of it) across its blobs; undefined when there is no such key. */
  async getObject(bucket: string, key: string, range?: ByteRange): Promise<{ record: ObjectRecord; body: Readable } | undefined> {
    const entry = this.index.get(indexKey(bucket, key));
    if (!entry) return undefined;
    // Pinned in the same tick as the lookup, so a concurrent overwrite cannot unlink them first.
    const release = this.reaper.pin(entry.blobs.map((b) => b.id));
    const segments = segmentsFor(entry.blobs, (id) => this.layout.blobPath(id), range);
    return { record: entry.record, body: new SegmentStream(segments, release) };
  }

  /** Removes `key` in one transaction (after `check`), then its blobs; true if it existed. */
  async deleteObject(bucket: string, key: string, check?: CommitCheck): Promise<boolean> {
    const k = indexKey(bucket, key);
    let old: IndexEntry | undefined;
    await this.index.childTransaction(() => {
      const current = this.index.get(k);
      check?.(current?.record);
      if (!current) return;
      this.index.remove(k);
      for (const b of current.blobs) this.pending.put(b.id, 1);
      old = current;
    });
    if (!old) return false;
    await this.reaper.reap(old.blobs.map((b) => b.id));
    return true;
  }

  /** Reads at most `limit` index entries of the bucket's window, in UTF-8 byte order. */
  async listObjects(bucket: string, opts: ListOptions): Promise<ObjectRecord[]> {
    if (!(opts.limit > 0)) return [];
    const low = rangeKey(bucket, opts.prefix);
    let start = low;
    if (opts.after !== undefined) {
      const after = rangeKey(bucket, opts.after);
      const bound = opts.skipPrefix ? prefixSuccessor(after) : keySuccessor(after);
      if (!bound) return [];
      if (Buffer.compare(bound, start) > 0) start = bound;
    }
    // UTF-8 never contains 0xFF, so a successor of `bucket/prefix` always exists.
    const end = prefixSuccessor(low)!;
    if (Buffer.compare(start, end) >= 0) return [];
    const out: ObjectRecord[] = [];
    for (const { value } of this.index.getRange({ start, end, limit: opts.limit })) out.push(value.record);
    return out;
  }

  /** Stores a part as `uploads/<uploadId>/<partNumber>-<id>`; its ref is that file name. */
  async putPart(bucket: string, uploadId: string, partNumber: number, body: Readable, seal: () => Omit<PartRecord, 'ref'>): Promise<PartRecord> {
    const dir = this.layout.uploadDir(uploadId);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) throw new GatewayError('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive.');
    const id = randomUUID();
    const ref = `${partNumber}-${id}`;
    const tmp = this.layout.tmpPath(id);
    await receive(body, tmp);
    let part: Omit<PartRecord, 'ref'>;
    try {
      part = seal();
      if (await mkdir(dir, { recursive: true })) await syncDir(this.layout.uploads);
      await rename(tmp, this.layout.partPath(uploadId, ref));
      await syncDir(dir);
    } catch (e) {
      await unlinkQuiet(tmp).catch(() => {});
      throw code(e) === 'ENOENT' ? new GatewayError('NoSuchUpload') : e;
    }
    return { ...part, ref };
  }

  /** Deletes one part file (missing is fine). */
  async deletePart(bucket: string, uploadId: string, ref: string): Promise<void> {
    await unlinkQuiet(this.layout.partPath(uploadId, ref));
  }

  /** Links the listed parts into blobs, commits them as `key`, then removes the upload's directory. */
  async completeUpload(bucket: string, key: string, uploadId: string, parts: PartRecord[], record: ObjectRecord, check?: CommitCheck): Promise<ObjectRecord> {
    const k = indexKey(bucket, key);
    const dir = this.layout.uploadDir(uploadId);
    const files = parts.map((p) => this.layout.partPath(uploadId, p.ref));
    const sizes = await mapLimit(files, 64, async (f) => {
      try {
        return (await stat(f)).size;
      } catch (e) {
        throw code(e) === 'ENOENT' ? new GatewayError('InvalidPart') : e;
      }
    });
    const blobs = sizes.map((size) => ({ id: randomUUID(), size }));
    // Links rather than renames, so that a failed check leaves the upload complete-able again.
    await this.adopt(files, blobs);
    const stored = await this.commit(k, blobs, () => ({ ...record, size: total(blobs) }), check);
    // The object is committed; a leftover directory is only space, which abortUpload reclaims.
    await removeTree(dir).catch(() => {});
    return stored;
  }

  /** Removes the upload's directory and every part in it (idempotent). */
  async abortUpload(bucket: string, uploadId: string): Promise<void> {
    await removeTree(this.layout.uploadDir(uploadId));
  }

  /** Gives the source's blobs new names by hard link and commits them as `dst`. */
  async copyObject(src: { bucket: string; key: string }, dst: { bucket: string; key: string }, record: ObjectRecord, check?: CommitCheck): Promise<ObjectRecord> {
    const k = indexKey(dst.bucket, dst.key);
    const entry = this.index.get(indexKey(src.bucket, src.key));
    if (!entry) throw new GatewayError('NoSuchKey');
    const release = this.reaper.pin(entry.blobs.map((b) => b.id));
    try {
      const blobs = entry.blobs.map((b) => ({ id: randomUUID(), size: b.size }));
      await this.adopt(
        entry.blobs.map((b) => this.layout.blobPath(b.id)),
        blobs,
      );
      return await this.commit(k, blobs, () => ({ ...record, size: total(blobs) }), check);
    } finally {
      release();
    }
  }

  /** Waits for background cleanup and closes the index. */
  async close(): Promise<void> {
    await this.reaper.drain();
    await this.root.close();
  }

  /** Steps 2 and 3 of the protocol for bytes that already exist durably at `files`. */
  private async adopt(files: readonly string[], blobs: readonly BlobRef[]): Promise<void> {
    await this.pending.childTransaction(() => {
      for (const b of blobs) this.pending.put(b.id, 1);
    });
    try {
      await mapLimit(blobs, 64, (b, i) => linkOrCopy(files[i], this.layout.blobPath(b.id)));
      const dirs = [...new Set(blobs.map((b) => this.layout.blobDir(b.id)))];
      await mapLimit(dirs, 64, (d) => syncDir(d));
    } catch (e) {
      await this.reaper.reap(blobs.map((b) => b.id));
      throw e;
    }
  }

  /** Step 4 (one transaction) and step 5 of the protocol, for blobs already pending and durable. */
  private async commit(k: Buffer, blobs: BlobRef[], seal: () => ObjectRecord, check?: CommitCheck): Promise<ObjectRecord> {
    let replaced: IndexEntry | undefined;
    let record: ObjectRecord | undefined;
    try {
      await this.index.childTransaction(() => {
        const current = this.index.get(k);
        check?.(current?.record);
        const sealed = seal();
        this.index.put(k, { record: sealed, blobs });
        for (const b of blobs) this.pending.remove(b.id);
        for (const b of current?.blobs ?? []) this.pending.put(b.id, 1);
        replaced = current;
        record = sealed;
      });
    } catch (e) {
      await this.reaper.reap(blobs.map((b) => b.id));
      throw e;
    }
    if (replaced) await this.reaper.reap(replaced.blobs.map((b) => b.id));
    return record!;
  }
}

function total(blobs: readonly BlobRef[]): number {
  return blobs.reduce((n, b) => n + b.size, 0);
}
