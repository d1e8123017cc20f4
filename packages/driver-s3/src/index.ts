/**
 * The upstream S3 driver: object bytes live in another S3 service, reached with signed requests
 * (addressing and SigV4 from the `minio` client).
 *
 * Mapping. Gateway bucket `b` is upstream bucket `b`, and gateway key `k` is upstream key `k`, so
 * the upstream stays browsable with any S3 tool and a migration can read it directly. Content
 * headers (Content-Type, Content-Encoding, Content-Disposition, Content-Language, Cache-Control,
 * Expires) are stored upstream as such and user metadata as `x-amz-meta-*`. createBucket creates
 * the upstream bucket (one that already exists and is ours is fine); deleteBucket removes it.
 *
 * Sidecars. What the upstream cannot hold (the object's checksum, the part list of a multipart
 * object, and the gateway's ETag where the upstream's differs, e.g. s3rver's whole-object MD5 after
 * a multipart upload) is kept in the metadata store, table `s3-objects`, id `bucket/key`, shared
 * by every gateway instance. An entry names the upstream ETag and size it describes; an object
 * replaced behind the gateway's back no longer matches and its entry is ignored.
 *
 * Uploads. Multipart uploads are upstream multipart uploads (the upstream upload id is the
 * upload's driver handle), registered in table `s3-uploads` while in progress so that an unknown or
 * finished id is refused without asking the upstream. Nothing needs ListParts or
 * ListMultipartUploads.
 *
 * Bodies stream through: a body of declared length is one PUT (or UploadPart) with that
 * Content-Length, sent as it arrives; a body of unknown length is buffered up to `partSize` and
 * sent as one PUT if it ends there, else as a multipart upload holding at most two parts in memory.
 * The last chunk of every body is held back until the body has ended without error, so a body that
 * fails (or fails its digest check) never completes upstream.
 *
 * Conditional writes. A write with a commit check HEADs the key, runs the check on that record,
 * and sends the write with If-Match on the upstream ETag it saw (If-None-Match: * when there was
 * none). An upstream that honours these on PUT, CompleteMultipartUpload and CopyObject (AWS S3,
 * MinIO, this gateway) makes the write atomic; one that ignores them (s3rver) leaves a window, from
 * the HEAD to the upstream commit, in which another writer's change goes unnoticed.
 *
 * Failures. A refused or reset connection, or a 5xx answer, is ServiceUnavailable at once; an
 * upstream that accepts connections but does not answer is ServiceUnavailable after
 * `connectTimeoutMs` (3 s) or `stallTimeoutMs` (10 s; six times that to answer a Complete, a Copy
 * or a body over 64 MiB), see watchdog.ts. The upstream refusing the gateway's own credentials is ServiceUnavailable as well,
 * never a client's AccessDenied. Every request tries the upstream afresh, so the driver works
 * again as soon as the upstream does.
 */
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import { isGatewayError, type ByteRange, type CommitCheck, type Driver, type DriverCapabilities, type ListOptions, type MetaStore, type ObjectAttributes, type ObjectRecord, type PartOptions, type PartRecord, type PutOptions, type UploadHandle } from '@twinport/core';
import { discard, settle, sourceOf } from './body.js';
import { listObjects } from './listing.js';
import { UpstreamUploads } from './multipart.js';
import { Objects } from './objects.js';
import { Sidecars } from './sidecar.js';
import { Upstream, type UpstreamOptions } from './upstream.js';
import { Writes } from './writes.js';

export { SIDECAR_TABLE, type Sidecar } from './sidecar.js';
export { UPLOAD_TABLE, type UploadEntry } from './multipart.js';
export type { UpstreamOptions } from './upstream.js';

/** Smallest part an upstream accepts (for every part but the last). */
const MIN_PART_SIZE = 5 * 1024 * 1024;

/** What S3Driver.open needs. */
export interface S3DriverOptions extends UpstreamOptions {
  /** The metadata store shared by all gateway instances, for sidecars and the upload registry. */
  meta: MetaStore;
  /** Part size for bodies of unknown length, also the largest one sent as a single PUT (default 8 MiB). */
  partSize?: number;
  /** Where a part of unknown length too long to hold in memory waits for its upload (default: the OS temp dir). */
  tmpDir?: string;
}

/** Stores objects in an upstream S3 service under the same bucket and key names. */
export class S3Driver implements Driver {
  /** Copies are the upstream's own CopyObject. */
  readonly capabilities: DriverCapabilities = { copy: true };
  private readonly objects: Objects;
  private readonly sidecars: Sidecars;
  private readonly uploads: UpstreamUploads;
  private readonly writes: Writes;

  private constructor(
    private readonly up: Upstream,
    meta: MetaStore,
    private readonly partSize: number,
    private readonly tmpDir: string,
  ) {
    this.sidecars = new Sidecars(meta);
    this.objects = new Objects(up, this.sidecars);
    this.uploads = new UpstreamUploads(up, meta);
    this.writes = new Writes(up, this.objects, this.sidecars, this.uploads, partSize);
  }

  /** A driver for the upstream at `opts.endpoint`; it connects on first use, so a down upstream does not stop the gateway starting. */
  static async open(opts: S3DriverOptions): Promise<S3Driver> {
    const partSize = opts.partSize ?? 8 * 1024 * 1024;
    if (!(partSize >= MIN_PART_SIZE)) throw new TypeError(`partSize must be at least ${MIN_PART_SIZE} bytes`);
    return new S3Driver(new Upstream(opts), opts.meta, partSize, opts.tmpDir ?? tmpdir());
  }

  /** Creates the upstream bucket; one that exists already and that we can use is fine. */
  async createBucket(bucket: string): Promise<void> {
    const region = this.up.region;
    const body = region === 'us-east-1' ? undefined : Buffer.from(`<CreateBucketConfiguration><LocationConstraint>${region}</LocationConstraint></CreateBucketConfiguration>`);
    try {
      (await this.up.send({ method: 'PUT', bucket, body, notFound: 'NoSuchBucket' })).resume();
    } catch (e) {
      if (!isGatewayError(e)) throw e;
      if (e.code === 'BucketAlreadyOwnedByYou') return;
      // Some upstreams say "exists" even to the owner: it is ours if we may use it.
      if (e.code === 'BucketAlreadyExists' && (await this.bucketUsable(bucket))) return;
      throw e;
    }
  }

  /** Removes the upstream bucket (already gone is fine) and any sidecars left for it. */
  async deleteBucket(bucket: string): Promise<void> {
    try {
      (await this.up.send({ method: 'DELETE', bucket, ok: [204, 200], notFound: 'NoSuchBucket' })).resume();
    } catch (e) {
      if (!(isGatewayError(e) && e.code === 'NoSuchBucket')) throw e;
    }
    await this.sidecars.dropBucket(bucket);
  }

  /** See Writes.put: one streaming PUT when the size is declared, buffered parts otherwise. */
  putObject(bucket: string, key: string, body: Readable | Buffer, opts: PutOptions): Promise<ObjectRecord> {
    return this.writes.put(bucket, key, body, opts);
  }

  /** HEAD upstream, with the sidecar applied; undefined when there is no such object. */
  headObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    return this.objects.head(bucket, key);
  }

  /** A (ranged) upstream GET, streamed; undefined when there is no such key. */
  getObject(bucket: string, key: string, range?: ByteRange): Promise<{ record: ObjectRecord; body: Readable } | undefined> {
    return this.objects.get(bucket, key, range);
  }

  /** HEAD, `check`, then DELETE upstream and the sidecar. */
  deleteObject(bucket: string, key: string, check?: CommitCheck): Promise<boolean> {
    return this.objects.delete(bucket, key, check);
  }

  /** Upstream ListObjectsV2, paged and checked against the window (see listing.ts). */
  listObjects(bucket: string, opts: ListOptions): Promise<ObjectRecord[]> {
    return listObjects(this.up, this.sidecars, bucket, opts);
  }

  /** Initiates an upstream multipart upload carrying `attrs`; its upload id is the handle. */
  createUpload(bucket: string, key: string, attrs: ObjectAttributes): Promise<string> {
    return this.uploads.start(bucket, key, attrs);
  }

  /** Streams the part to UploadPart (a part of unknown length is counted first, in memory or a temporary file); `ref` is the upstream part ETag. */
  async putPart(bucket: string, upload: UploadHandle, partNumber: number, body: Readable, opts: PartOptions): Promise<PartRecord> {
    const uploadId = await this.uploads.require(bucket, upload.key, upload.ref);
    let ref: string;
    if (opts.size !== undefined) {
      ref = await this.uploads.part(bucket, upload.key, uploadId, partNumber, body, opts.size);
    } else {
      const settled = await settle(body, this.partSize, this.tmpDir);
      try {
        ref = await this.uploads.part(bucket, upload.key, uploadId, partNumber, sourceOf(settled), settled.length);
      } finally {
        await discard(settled);
      }
    }
    return { ...opts.seal(), ref };
  }

  /** Nothing to do: the upstream replaced the part when its number was uploaded again. */
  async deletePart(): Promise<void> {}

  /** `check`, then the upstream Complete with the listed parts, then the sidecar (ETag, checksum, parts). */
  async completeUpload(bucket: string, upload: UploadHandle, parts: PartRecord[], record: ObjectRecord, check?: CommitCheck): Promise<ObjectRecord> {
    const uploadId = await this.uploads.require(bucket, upload.key, upload.ref);
    const pre = await this.objects.precondition(bucket, upload.key, check);
    const upstreamEtag = await this.uploads.complete(bucket, upload.key, uploadId, parts.map((p) => ({ partNumber: p.partNumber, etag: p.ref })), pre.headers);
    await this.sidecars.save(bucket, upload.key, record, upstreamEtag, pre.hadEntry);
    return record;
  }

  /** Aborts the upstream upload; an unknown or finished handle is a no-op (and never sent upstream). */
  async abortUpload(bucket: string, upload: UploadHandle): Promise<void> {
    const entry = await this.uploads.entry(upload.ref);
    if (!entry || entry.bucket !== bucket) return;
    await this.uploads.abort(bucket, entry.key, upload.ref!);
  }

  /** Upstream CopyObject with the attributes of `record` (metadata directive REPLACE); the sidecar follows. */
  copyObject(src: { bucket: string; key: string }, dst: { bucket: string; key: string }, record: ObjectRecord, check?: CommitCheck): Promise<ObjectRecord> {
    return this.writes.copy(src, dst, record, check, async () => (await this.objects.get(src.bucket, src.key))?.body);
  }

  /** Closes the pooled upstream connections; the metadata store belongs to the caller. */
  async close(): Promise<void> {
    this.up.close();
  }

  private async bucketUsable(bucket: string): Promise<boolean> {
    try {
      (await this.up.send({ method: 'HEAD', bucket, notFound: 'NoSuchBucket' })).resume();
      return true;
    } catch (e) {
      if (isGatewayError(e)) return false;
      throw e;
    }
  }
}

