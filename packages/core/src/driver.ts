import type { Readable } from 'node:stream';
import type { ByteRange, ObjectAttributes, ObjectRecord, PartRecord } from './types.js';

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
   * without error: then `opts.seal()` is called for the record to store and `opts.check` (if given)
   * is called with the current record inside the commit, where throwing aborts the write.
   * A failed write leaves the previous object untouched and no temporary data behind. A small
   * body the core has already read and checked comes as a Buffer (`opts.size` is its length).
   */
  putObject(bucket: string, key: string, body: Readable | Buffer, opts: PutOptions): Promise<ObjectRecord>;

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

  /** Prepares storage for a new multipart upload; resolves to the driver's handle, kept as `upload.ref`. */
  createUpload(bucket: string, key: string, attrs: ObjectAttributes): Promise<string | undefined>;

  /** Stores one part (numbered 1..10000) of an upload; `opts.seal()` gives the part's record once `body` ended. */
  putPart(bucket: string, upload: UploadHandle, partNumber: number, body: Readable, opts: PartOptions): Promise<PartRecord>;

  /** Deletes a part's bytes, superseded by a re-upload of the same part number. */
  deletePart(bucket: string, upload: UploadHandle, ref: string): Promise<void>;

  /**
   * Makes the listed parts, in order, the object `upload.key` with `record`, atomically as putObject
   * does, and releases the upload's storage (including parts not listed).
   */
  completeUpload(bucket: string, upload: UploadHandle, parts: PartRecord[], record: ObjectRecord, check?: CommitCheck): Promise<ObjectRecord>;

  /** Releases all storage of an upload (idempotent). */
  abortUpload(bucket: string, upload: UploadHandle): Promise<void>;

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

/** What a driver gets with a body to store, besides the key. */
export interface PutOptions {
  /** The object's attributes, known before the body streams (an upstream must send them first). */
  attrs: ObjectAttributes;
  /** The body's length when the client declared it (an upstream must announce it). */
  size?: number;
  /** Called once the body ended without error: the record to store. */
  seal: () => ObjectRecord;
  /** Called with the key's current record inside the commit; throwing aborts the write. */
  check?: CommitCheck;
}

/** What a driver gets with a part's body. */
export interface PartOptions {
  /** The part's length when the client declared it. */
  size?: number;
  /** Called once the body ended without error: the part's record, without the driver's ref. */
  seal: () => Omit<PartRecord, 'ref'>;
}

/** A multipart upload as a driver sees it: the core's id, the target key and the driver's own handle. */
export interface UploadHandle {
  uploadId: string;
  key: string;
  ref?: string;
}

/** Called with the key's current record inside a write's commit; throw to abort the write. */
export type CommitCheck = (current: ObjectRecord | undefined) => void;
