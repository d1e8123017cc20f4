/**
 * The disk driver: an LMDB index from `bucket/key` to `{ record, blobs }`, and the object bytes
 * either inline in the index (objects of at most INLINE_MAX bytes, in the `inline` table under the
 * same key) or in immutable blob files named by random ids. See layout.ts for the directory layout.
 *
 * Crash safety rests on one invariant: an id in the LMDB `pending` table is never referenced by a
 * committed index entry. Every blob file is therefore in exactly one of three states: in `tmp/`,
 * pending, or referenced by the index, and opening the driver deletes the first two.
 *
 * Writing a small object (putObject whose body ends within INLINE_MAX bytes, copyObject of an
 * inline object) is a single LMDB transaction: check(current), seal(), store the index entry and
 * its bytes, and add `pending/<ids of the replaced entry's blobs>`; then step 5 below. The object
 * is visible exactly when that transaction commits, and there is no file to leave behind.
 *
 * Writing into blobs (larger putObject, completeUpload, copyObject):
 *  1. the bytes land in `tmp/<id>` and are fsynced (putObject; a body that outgrows INLINE_MAX
 *     spills what was buffered there first), or already exist (part files, source blobs);
 *  2. `pending/<id>` is committed durably (putObject overlaps this with step 1);
 *  3. the bytes get their blob name (rename from tmp/, or hard link from a part or source blob),
 *     and the fan-out directory is fsynced;
 *  4. ONE LMDB transaction runs check(current) and seal(), stores the index entry (dropping the
 *     replaced entry's inline bytes, if any), deletes `pending/<new ids>` and adds
 *     `pending/<ids of the replaced entry's blobs>`;
 *  5. the replaced blobs are unlinked (after the last reader in this process is done with them),
 *     and then their pending ids are cleared.
 * deleteObject is step 4 without new blobs, then step 5. A throw in step 4 reaps the new blobs.
 *
 * Multipart parts are not objects yet, so putPart writes a part straight to its file in the
 * upload's directory and answers without waiting for any flush (it only starts the file's
 * writeback in the background, see flush.ts): an acknowledged part survives a crash of the process
 * (it is in the page cache) but not necessarily a power loss. completeUpload makes the listed
 * parts durable before step 2: it fdatasyncs every part file, fsyncs the upload directory and
 * checks each file's size against its part record (a part lost or cut short is InvalidPart).
 * An acknowledged object, however it was written, is always durable.
 *
 * A crash before step 4 commits leaves the new bytes in tmp/ or pending and the old entry intact;
 * a crash after it leaves only the replaced blobs pending. Either way the next open deletes exactly
 * the unreferenced files, without scanning the blob directories. LMDB commits are fsynced before
 * they are relied on: with overlappingSync the next transaction commits while the previous one is
 * being flushed, and every write waits for `flushed` (see durably) before anything depends on it,
 * so an acknowledged write is durable.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import { sep } from 'node:path';
import type { Readable } from 'node:stream';
import { open, type Database, type RootDatabase } from 'lmdb';
import { BytesStream, collect, GatewayError, storageFailure, type ByteRange, type CommitCheck, type Driver, type DriverCapabilities, type ListOptions, type ObjectRecord, type PartOptions, type PartRecord, type PutOptions, type UploadHandle } from '@twinport/core';
import { Layout } from './layout.js';
import { code, linkOrCopy, mapLimit, receive, removeTree, syncDir, unlinkQuiet } from './files.js';
import { PartFlusher } from './flush.js';
import { INLINE_MAX, slice } from './inline.js';
import { indexKey, keySuccessor, prefixSuccessor, rangeKey } from './keys.js';
import { segmentsFor, SegmentStream, type BlobRef } from './read.js';
import { Reaper } from './reaper.js';
import { prepare, reapPending } from './recover.js';

export { INLINE_MAX } from './inline.js';

/**
 * What the index stores per object: its record and the blobs holding its bytes, in order; or, with
 * `inline`, no blobs, and the bytes in the `inline` table under the same key (kept apart so that
 * listings never decode them).
 */
export interface IndexEntry {
  record: ObjectRecord;
  blobs: BlobRef[];
  inline?: true;
}

/** Stores objects on a local filesystem under `<dataDir>/objects/`. */
export class DiskDriver implements Driver {
  /** Copies are hard links of immutable blobs (small objects: one index write), so they cost no streaming. */
  readonly capabilities: DriverCapabilities = { copy: true };
  private readonly flusher = new PartFlusher();

  private constructor(
    private readonly layout: Layout,
    private readonly root: RootDatabase,
    private readonly index: Database<IndexEntry, Buffer>,
    private readonly inline: Database<Buffer, Buffer>,
    private readonly pending: Database<unknown, string>,
    private readonly reaper: Reaper,
  ) {}

  /** Opens the driver's storage in `dataDir`, creating it and cleaning up after any crash. */
  static async open(dataDir: string): Promise<DiskDriver> {
    const layout = new Layout(dataDir);
    await prepare(layout);
    // noMemInit: LMDB would zero the unused tail of every page it writes; what it may leave there
    // instead is this index's own earlier bytes, in a file no more readable than the blobs beside it.
    const root = open({ path: layout.index, overlappingSync: true, maxDbs: 4, noMemInit: true });
    try {
      const index = root.openDB<IndexEntry, Buffer>({ name: 'index', keyEncoding: 'binary', encoding: 'json' });
      const inline = root.openDB<Buffer, Buffer>({ name: 'inline', keyEncoding: 'binary', encoding: 'binary' });
      const pending = root.openDB<unknown, string>({ name: 'pending', encoding: 'json' });
      await reapPending(layout, pending);
      return new DiskDriver(layout, root, index, inline, pending, new Reaper((id) => layout.blobPath(id), pending));
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
    await this.durably(this.index, () => {
      // Collected first: removing under a live cursor is not something to rely on.
      for (const { key, value } of [...this.index.getRange({ start, end })]) {
        this.index.remove(key);
        if (value.inline) this.inline.remove(key);
        for (const b of value.blobs) {
          this.pending.put(b.id, 1);
          orphans.push(b.id);
        }
      }
    });
    await this.reaper.reap(orphans);
  }

  /** Commits `body` inline if it ends within INLINE_MAX bytes, else through a blob (see the protocol above). */
  async putObject(bucket: string, key: string, bytes: Readable | Buffer, opts: PutOptions): Promise<ObjectRecord> {
    const { seal, check } = opts;
    const k = indexKey(bucket, key);
    if (Buffer.isBuffer(bytes) && bytes.length <= INLINE_MAX) return this.commit(k, [], seal, check, bytes);
    const body = Buffer.isBuffer(bytes) ? new BytesStream(bytes) : bytes;
    const head = await collect(body, INLINE_MAX);
    if (head.ended) return this.commit(k, [], seal, check, Buffer.concat(head.chunks, head.size));
    const id = randomUUID();
    const registered = this.pending.put(id, 1);
    registered.catch(() => {});
    const tmp = this.layout.tmpPath(id);
    let size: number;
    try {
      size = await receive(body, tmp, { durable: true, head: head.chunks });
      await registered;
      await this.root.flushed;
      await rename(tmp, this.layout.blobPath(id));
      await syncDir(this.layout.blobDir(id));
    } catch (e) {
      await unlinkQuiet(tmp).catch(() => {});
      await this.reaper.reap([id]);
      throw await storageFailure(e, this.layout.root);
    }
    return this.commit(k, [{ id, size }], seal, check);
  }

  /** The record of `key`, or undefined. */
  async headObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    return this.index.get(indexKey(bucket, key))?.record;
  }

  /** Streams `key` (or a range of it) from the index or across its blobs; undefined when there is no such key. */
  async getObject(bucket: string, key: string, range?: ByteRange): Promise<{ record: ObjectRecord; body: Readable } | undefined> {
    const k = indexKey(bucket, key);
    const entry = this.index.get(k);
    if (!entry) return undefined;
    if (entry.inline) return { record: entry.record, body: new BytesStream(slice(this.inlineBytes(k), range)) };
    // Pinned in the same tick as the lookup, so a concurrent overwrite cannot unlink them first.
    const release = this.reaper.pin(entry.blobs.map((b) => b.id));
    const segments = segmentsFor(entry.blobs, (id) => this.layout.blobPath(id), range);
    return { record: entry.record, body: new SegmentStream(segments, release) };
  }

  /** Removes `key` in one transaction (after `check`), then its blobs; true if it existed. */
  async deleteObject(bucket: string, key: string, check?: CommitCheck): Promise<boolean> {
    const k = indexKey(bucket, key);
    let old: IndexEntry | undefined;
    await this.durably(this.index, () => {
      const current = this.index.get(k);
      check?.(current?.record);
      if (!current) return;
      this.index.remove(k);
      if (current.inline) this.inline.remove(k);
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

  /** Nothing to prepare: the upload's directory appears with its first part. */
  async createUpload(): Promise<undefined> {
    return undefined;
  }

  /**
   * Writes a part straight to `uploads/<uploadId>/<partNumber>-<id>` (its ref is that file name)
   * and answers without waiting for a flush: completeUpload makes the parts it uses durable.
   */
  async putPart(bucket: string, upload: UploadHandle, partNumber: number, body: Readable, opts: PartOptions): Promise<PartRecord> {
    const { uploadId } = upload;
    const dir = this.layout.uploadDir(uploadId);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) throw new GatewayError('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive.');
    const ref = `${partNumber}-${randomUUID()}`;
    const file = this.layout.partPath(uploadId, ref);
    await mkdir(dir, { recursive: true });
    try {
      await receive(body, file, { durable: false });
      const part = { ...opts.seal(), ref };
      this.flusher.start(file);
      return part;
    } catch (e) {
      await unlinkQuiet(file).catch(() => {});
      // An abort that removed the directory meanwhile.
      throw code(e) === 'ENOENT' ? new GatewayError('NoSuchUpload') : e;
    }
  }

  /** Deletes one part file (missing is fine). */
  async deletePart(bucket: string, upload: UploadHandle, ref: string): Promise<void> {
    const file = this.layout.partPath(upload.uploadId, ref);
    await unlinkQuiet(file);
    this.flusher.forget(file);
  }

  /** Makes the listed parts durable, links them into blobs, commits them as `key`, then removes the upload's directory. */
  async completeUpload(bucket: string, upload: UploadHandle, parts: PartRecord[], record: ObjectRecord, check?: CommitCheck): Promise<ObjectRecord> {
    const { uploadId } = upload;
    const k = indexKey(bucket, upload.key);
    const dir = this.layout.uploadDir(uploadId);
    const files = parts.map((p) => this.layout.partPath(uploadId, p.ref));
    // putPart did not flush; a part cut short (by a power loss before this point) must not be adopted.
    await mapLimit(parts, 64, async (p, i) => {
      let size: number;
      try {
        size = await this.flusher.sync(files[i]);
      } catch (e) {
        throw code(e) === 'ENOENT' ? new GatewayError('InvalidPart', undefined, { PartNumber: String(p.partNumber) }) : e;
      }
      if (size !== p.size) throw new GatewayError('InvalidPart', undefined, { PartNumber: String(p.partNumber) });
    });
    if (parts.length > 0) await syncDir(dir);
    const blobs = parts.map((p) => ({ id: randomUUID(), size: p.size }));
    // Links rather than renames, so that a failed check leaves the upload complete-able again.
    await this.adopt(files, blobs);
    const stored = await this.commit(k, blobs, () => ({ ...record, size: total(blobs) }), check);
    // The object is committed; a leftover directory is only space, which abortUpload reclaims.
    await removeTree(dir).catch(() => {});
    this.flusher.forget(dir + sep);
    return stored;
  }

  /** Removes the upload's directory and every part in it (idempotent). */
  async abortUpload(bucket: string, upload: UploadHandle): Promise<void> {
    const dir = this.layout.uploadDir(upload.uploadId);
    await removeTree(dir);
    this.flusher.forget(dir + sep);
  }

  /** Gives the source's blobs new names by hard link and commits them as `dst`. */
  async copyObject(src: { bucket: string; key: string }, dst: { bucket: string; key: string }, record: ObjectRecord, check?: CommitCheck): Promise<ObjectRecord> {
    const k = indexKey(dst.bucket, dst.key);
    const srcKey = indexKey(src.bucket, src.key);
    const entry = this.index.get(srcKey);
    if (!entry) throw new GatewayError('NoSuchKey');
    if (entry.inline) {
      const data = this.inlineBytes(srcKey);
      return this.commit(k, [], () => ({ ...record, size: data.length }), check, data);
    }
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
    await this.flusher.drain();
    await this.reaper.drain();
    await this.root.close();
  }

  /** Steps 2 and 3 of the protocol for bytes that already exist durably at `files`. */
  private async adopt(files: readonly string[], blobs: readonly BlobRef[]): Promise<void> {
    await this.durably(this.pending, () => {
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

  /**
   * The bytes of an inline entry. Call it in the same synchronous block as the index lookup that
   * found the entry: lmdb-js renews its read snapshot only between event-loop turns, so both
   * reads see the same committed state.
   */
  private inlineBytes(k: Buffer): Buffer {
    const data = this.inline.getBinary(k);
    if (!data) throw new Error(`index entry ${JSON.stringify(k.toString())} has no inline bytes`);
    return data;
  }

  /** Runs a write transaction and waits until it is flushed to disk, not merely committed. */
  private async durably(db: { childTransaction(fn: () => void): Promise<unknown> }, fn: () => void): Promise<void> {
    try {
      await db.childTransaction(fn);
      await this.root.flushed;
    } catch (e) {
      throw await storageFailure(e, this.layout.root);
    }
  }

  /**
   * Step 4 (one transaction) and step 5 of the protocol, for blobs already pending and durable,
   * or for an inline object (`data`, with no blobs).
   */
  private async commit(k: Buffer, blobs: BlobRef[], seal: () => ObjectRecord, check?: CommitCheck, data?: Buffer): Promise<ObjectRecord> {
    let replaced: IndexEntry | undefined;
    let record: ObjectRecord | undefined;
    try {
      await this.durably(this.index, () => {
        const current = this.index.get(k);
        check?.(current?.record);
        const sealed = seal();
        if (data) {
          this.index.put(k, { record: sealed, blobs, inline: true });
          this.inline.put(k, data);
        } else {
          this.index.put(k, { record: sealed, blobs });
          if (current?.inline) this.inline.remove(k);
        }
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
