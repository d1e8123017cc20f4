import type { Readable } from 'node:stream';
import type { ByteRange, ObjectRecord, PartRecord } from './types.js';

/**
 * A storage driver keeps object bytes and the per-object record, and lists keys in order.
 * Buckets, owners, ACLs and multipart bookkeeping live in the metadata store, not here.
 *
 * Keys are opaque UTF-8 strings (up to 1024 bytes, any character S3 allows); a driver never
 * derives a filesystem path from a key. Order everywhere is the byte order of the UTF-8 keys.
 */
export interface Driver {
  /** What the driver can do natively; the core falls back to streaming for the rest. */
  readonly capabilities: DriverCapabilities;

  /** Prepares storage for a new bucket (idempotent). */
  createBucket(bucket: string): Promise<void>;

  /** Removes a bucket's storage; the core has checked that it holds no object. */
  deleteBucket(bucket: string): Promise<void>;

  /**
   * Stores `body` under `key`. The object becomes visible atomically, and only if `body` ends
   * without error: then `seal()` is called for the record to store and `check` (if given) is
   * called with the current record inside the commit, where throwing aborts the write.
   * A failed write leaves the previous object untouched and no temporary data behind.
   */
  putObject(bucket: string, key: string, body: Readable, seal: () => ObjectRecord, check?: CommitCheck): Promise<ObjectRecord>;

  /** The record of `key`, or undefined when there is none. */
  headObject(bucket: string, key: string): Promise<ObjectRecord | undefined>;

  /** Streams the object (or the given range of it); undefined when there is no such key. */
  getObject(bucket: string, key: string, range?: ByteRange): Promise<{ record: ObjectRecord; body: Readable } | undefined>;

  /** Deletes `key`; resolves true when something was deleted. `check` as for putObject. */
  deleteObject(bucket: string, key: string, check?: CommitCheck): Promise<boolean>;

  /**
   * Up to `limit` records of keys that start with `prefix` and sort after `after`, in key order.
   * With `skipPrefix`, also skips every key that starts with `after` (used to jump over a
   * common prefix in delimiter listings without reading its keys).
   */
  listObjects(bucket: string, opts: ListOptions): Promise<ObjectRecord[]>;

  /** Stores one part of a multipart upload; `seal()` gives the part's record once `body` ended. */
  putPart(bucket: string, uploadId: string, partNumber: number, body: Readable, seal: () => Omit<PartRecord, 'ref'>): Promise<PartRecord>;

  /** Deletes a part's bytes, superseded by a re-upload of the same part number. */
  deletePart(bucket: string, uploadId: string, ref: string): Promise<void>;

  /**
   * Makes the listed parts, in order, the object `key` with `record`, atomically as putObject does,
   * and releases the upload's storage (including parts not listed).
   */
  completeUpload(bucket: string, key: string, uploadId: string, parts: PartRecord[], record: ObjectRecord, check?: CommitCheck): Promise<ObjectRecord>;

  /** Releases all storage of an upload (idempotent). */
  abortUpload(bucket: string, uploadId: string): Promise<void>;

  /** Server-side copy, when `capabilities.copy`; otherwise the core streams get→put. */
  copyObject?(src: { bucket: string; key: string }, dst: { bucket: string; key: string }, record: ObjectRecord, check?: CommitCheck): Promise<ObjectRecord>;

  /** Releases resources (files, connections). */
  close(): Promise<void>;
}

/** Optional driver abilities. */
export interface DriverCapabilities {
  /** copyObject is implemented and cheaper than streaming the bytes. */
  copy: boolean;
}

/** Listing window for Driver.listObjects. */
export interface ListOptions {
  prefix: string;
  after?: string;
  skipPrefix?: boolean;
  limit: number;
}

/** Called with the key's current record inside a write's commit; throw to abort the write. */
export type CommitCheck = (current: ObjectRecord | undefined) => void;
