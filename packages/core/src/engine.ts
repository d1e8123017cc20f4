import type { Readable } from 'node:stream';
import { chain } from './streams.js';
import { answerFor, GatewayError, isGatewayError } from './errors.js';
import type { Driver } from './driver.js';
import type { MetaStore } from './meta.js';
import type { BucketRecord, ByteRange, ObjectAttributes, ObjectRecord, User } from './types.js';
import { assertBucketName, assertKey } from './names.js';
import { DigestStream, readDigested, SMALL_BODY, type BodyExpectations } from './digest.js';
import { checkReadConditions, writeCheck, type Conditions } from './conditions.js';
import { resolveRange } from './range.js';
import { listPage, type ListPage, type ListRequest } from './listing.js';
import { Multipart } from './multipart.js';
import { MAX_OBJECT_SIZE, pickAttrs, sealRecord } from './seal.js';
import { allows, normalizeGrants, type Access, type Grant } from './acl.js';
import { BucketSettings } from './settings.js';
import { appendObject } from './append.js';


/** Options of the engine: the two stores, and the zones (= regions) it serves. */
export interface EngineOptions {
  driver: Driver;
  meta: MetaStore;
  zones: string[];
  defaultZone: string;
  /**
   * Whether a PutObject that carries no checksum gets a CRC64NVME computed in the MD5 pass and
   * stored, as S3 has done since December 2024 (returned on PUT and on GET/HEAD with
   * x-amz-checksum-mode). Off unless set: in pure JS it doubles the hashing CPU per byte, which
   * measured as a third of single-PUT throughput.
   */
  defaultChecksum?: boolean;
}

/** A body as it arrives, with what the client declared about it. */
export interface BodyInput {
  body: Readable;
  expect: BodyExpectations;
}

/** How to read an object. */
export interface ReadOptions {
  range?: string;
  partNumber?: number;
  conditions?: Conditions;
}

/** A read: the record, the stream (undefined for HEAD), and the served range. */
export interface ReadResult {
  record: ObjectRecord;
  body?: Readable;
  range?: ByteRange;
  partsCount?: number;
}

/**
 * The storage engine both protocol adapters call: access decisions, validation, listing and
 * multipart semantics live here once; bytes go to the driver and bookkeeping to the metadata store.
 */
export class Engine {
  readonly driver: Driver;
  readonly meta: MetaStore;
  readonly zones: string[];
  readonly defaultZone: string;
  /** Whether PUTs without a client checksum get a stored CRC64NVME. */
  readonly defaultChecksum: boolean;
  /** Multipart uploads. */
  readonly multipart: Multipart;
  /** Bucket ACLs, CORS rules and statistics. */
  readonly settings: BucketSettings;

  constructor(opts: EngineOptions) {
    this.driver = opts.driver;
    this.meta = opts.meta;
    this.zones = opts.zones;
    this.defaultZone = opts.defaultZone;
    this.defaultChecksum = opts.defaultChecksum ?? false;
    this.multipart = new Multipart(this);
    this.settings = new BucketSettings(this);
  }

  /** The buckets `user` owns, by name. */
  async listBuckets(user: User): Promise<BucketRecord[]> {
    const out: BucketRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.meta.list<BucketRecord>('buckets', { after, limit: 1000 });
      for (const { value } of page) if (value.owner === user.id && value.state !== 'creating') out.push(value);
      if (page.length < 1000) return out;
      after = page[page.length - 1].id;
    }
  }

  /**
   * Creates a bucket in `zone` (the default zone when absent), with `acl` grants if given. The name
   * is claimed first with a record in state `creating` (racing creates have one winner), then the
   * driver makes the bucket's storage, then the record becomes live. A failure in between (an
   * outage of the metadata store or the driver) leaves at most an invisible claim, which the same
   * owner's next create completes: never a bucket without storage.
   */
  async createBucket(user: User, name: string, zone?: string, acl?: Grant[]): Promise<BucketRecord> {
    assertBucketName(name);
    const z = zone || this.defaultZone;
    if (!this.zones.includes(z)) throw new GatewayError('InvalidLocationConstraint', undefined, { LocationConstraint: z });
    const rec: BucketRecord = { name, owner: user.id, zone: z, created: Date.now(), ...(acl?.length ? { acl: normalizeGrants(acl, user.id) } : {}) };
    if (!(await this.meta.insert('buckets', name, { ...rec, state: 'creating' }))) {
      const existing = await this.meta.get<BucketRecord>('buckets', name);
      const unfinished = existing?.state !== undefined && existing.owner === user.id;
      if (!unfinished) throw new GatewayError(existing?.owner === user.id ? 'BucketAlreadyOwnedByYou' : 'BucketAlreadyExists', undefined, { BucketName: name });
      await this.meta.put('buckets', name, { ...rec, state: 'creating' });
    }
    await this.driver.createBucket(name);
    await this.meta.put('buckets', name, rec);
    return rec;
  }

  /**
   * The zone a bucket lives in, whoever asks (zones are not secret: QingStor tells them to anyone
   * who knocks at the wrong one); undefined when there is no such bucket.
   */
  async bucketZone(name: string): Promise<string | undefined> {
    const rec = await this.meta.get<BucketRecord>('buckets', name);
    return rec && rec.state !== 'creating' ? rec.zone : undefined;
  }

  /** The bucket record if `user` (undefined = anonymous) has `need` on it; NoSuchBucket or AccessDenied otherwise. */
  async bucket(user: User | undefined, name: string, need: Access): Promise<BucketRecord> {
    const rec = await this.meta.get<BucketRecord>('buckets', name);
    if (!rec || rec.state === 'creating') throw new GatewayError('NoSuchBucket', undefined, { BucketName: name });
    if (!allows(rec, user, need)) throw new GatewayError('AccessDenied');
    return rec;
  }

  /**
   * The bucket record for a write that adds data (an object, an upload), which `user` must be
   * allowed: NoSuchBucket also while a DeleteBucket is deciding whether the bucket is empty.
   */
  async bucketToFill(user: User | undefined, name: string): Promise<BucketRecord> {
    const rec = await this.bucket(user, name, 'WRITE');
    if (rec.state === 'deleting') throw new GatewayError('NoSuchBucket', undefined, { BucketName: name });
    return rec;
  }

  /**
   * Deletes an empty bucket (no objects, no uploads in progress). The record is marked `deleting`
   * BEFORE the emptiness check, so that no write that adds data starts in the bucket after the
   * check (see bucketToFill; reads and deletes go on); writes that started before it confirm the
   * bucket once they have committed (see confirmBucket). A bucket found not empty is unmarked. Then the driver removes the
   * storage and the record goes. An interrupted delete leaves an invisible claim that the owner's
   * next create or delete finishes (a delete checks emptiness again first).
   */
  async deleteBucket(user: User, name: string): Promise<void> {
    const rec = await this.meta.get<BucketRecord>('buckets', name);
    if (!(rec?.state && rec.owner === user.id)) await this.bucket(user, name, 'OWNER');
    await this.meta.update<BucketRecord>('buckets', name, (cur) => {
      if (!cur || cur.owner !== user.id) throw new GatewayError('NoSuchBucket', undefined, { BucketName: name });
      return cur.state === 'deleting' ? cur : { ...cur, state: 'deleting' };
    });
    try {
      const objects = await this.driver.listObjects(name, { prefix: '', limit: 1 });
      if (objects.length > 0 || (await this.multipart.hasUploads(name))) throw new GatewayError('BucketNotEmpty', undefined, { BucketName: name });
      await this.driver.deleteBucket(name);
    } catch (e) {
      if (isGatewayError(e) && e.code === 'BucketNotEmpty') await this.restore(name);
      throw e;
    }
    await this.meta.delete('buckets', name);
  }

  /** Unmarks a bucket that a delete found not empty. */
  private async restore(name: string): Promise<void> {
    await this.meta.update<BucketRecord>('buckets', name, (cur) => {
      if (cur?.state !== 'deleting') return cur;
      const { state: _deleting, ...live } = cur;
      return live;
    });
  }

  /**
   * Confirms, after a write into the bucket `rec` has committed, that `rec` is still the live
   * bucket. A DeleteBucket that checked emptiness while the write was in flight (and perhaps a
   * create of the same name by someone else since) would otherwise leave the object in a deleted
   * bucket, for the name's next owner to find. Such a write is undone, if the key still holds
   * what it wrote, and answered NoSuchBucket.
   */
  async confirmBucket(rec: BucketRecord, undo: () => Promise<unknown>): Promise<void> {
    const now = await this.meta.get<BucketRecord>('buckets', rec.name);
    if (now && !now.state && now.created === rec.created && now.owner === rec.owner) return;
    await undo().catch(() => {});
    throw new GatewayError('NoSuchBucket', undefined, { BucketName: rec.name });
  }

  /** Writes an object with `write`, then confirms the bucket (see confirmBucket). */
  async writeInto(rec: BucketRecord, key: string, write: () => Promise<ObjectRecord>): Promise<ObjectRecord> {
    const written = await write();
    await this.confirmBucket(rec, () => this.driver.deleteObject(rec.name, key, (cur) => {
      // The ETag, as drivers differ in how precisely they keep the time.
      if (cur?.etag !== written.etag) throw new GatewayError('PreconditionFailed');
    }));
    return written;
  }

  /** Stores an object from a streamed body, verifying what the client declared before commit. */
  async putObject(user: User | undefined, bucket: string, key: string, input: BodyInput, attrs: ObjectAttributes, conditions: Conditions = {}): Promise<ObjectRecord> {
    const rec = await this.bucketToFill(user, bucket);
    assertKey(key);
    return this.writeInto(rec, key, () => this.store(bucket, key, input, attrs, conditions));
  }

  private async store(bucket: string, key: string, input: BodyInput, attrs: ObjectAttributes, conditions: Conditions): Promise<ObjectRecord> {
    const check = writeCheck(conditions);
    // S3 stores a CRC64NVME for objects uploaded without a checksum (PutObject API reference,
    // ChecksumCRC64NVME: "or if it was uploaded without a checksum (and Amazon S3 added the default
    // checksum, CRC64NVME)"); computed here in the same pass as the MD5 when enabled.
    const checksum = input.expect.checksum ?? (this.defaultChecksum ? { algorithm: 'CRC64NVME' as const } : undefined);
    const expect = { maxLength: MAX_OBJECT_SIZE, ...input.expect, checksum };
    const { length } = expect;
    if (length !== undefined && length <= SMALL_BODY) {
      const small = await readDigested(input.body, { ...expect, length });
      return this.driver.putObject(bucket, key, small.bytes, { attrs, size: length, seal: () => sealRecord(key, small.digest, attrs), check });
    }
    const digest = new DigestStream(expect);
    const body = chain(input.body, digest);
    return this.driver.putObject(bucket, key, body, { attrs, size: length, seal: () => sealRecord(key, digest.result(), attrs), check });
  }

  /** The record of an object, after access and existence checks. */
  async headObject(user: User | undefined, bucket: string, key: string, opts: ReadOptions = {}): Promise<ReadResult> {
    return this.read(user, bucket, key, opts, false);
  }

  /** Streams an object or a range of it. */
  async getObject(user: User | undefined, bucket: string, key: string, opts: ReadOptions = {}): Promise<ReadResult> {
    return this.read(user, bucket, key, opts, true);
  }

  private async read(user: User | undefined, bucket: string, key: string, opts: ReadOptions, withBody: boolean): Promise<ReadResult> {
    await this.bucket(user, bucket, 'READ');
    if (withBody && opts.range === undefined && opts.partNumber === undefined) {
      // A whole-object read needs no size first: one driver call (one upstream request for the s3
      // driver instead of a HEAD and a GET), with the conditions checked on the record it returns.
      const got = await this.driver.getObject(bucket, key);
      if (!got) throw new GatewayError('NoSuchKey', undefined, { Key: key });
      try {
        if (opts.conditions) checkReadConditions(opts.conditions, got.record);
      } catch (e) {
        got.body.destroy();
        throw e;
      }
      return { record: got.record, body: got.body };
    }
    const record = await this.driver.headObject(bucket, key);
    if (!record) throw new GatewayError('NoSuchKey', undefined, { Key: key });
    if (opts.conditions) checkReadConditions(opts.conditions, record);
    let range: ByteRange | undefined;
    let partsCount: number | undefined;
    if (opts.partNumber !== undefined) {
      if (opts.range) throw new GatewayError('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
      ({ range, partsCount } = partRange(record, opts.partNumber));
    } else {
      range = resolveRange(opts.range, record.size);
    }
    if (!withBody) return { record, range, partsCount };
    const got = await this.driver.getObject(bucket, key, range);
    if (!got) throw new GatewayError('NoSuchKey', undefined, { Key: key });
    if (got.record.etag !== record.etag) {
      // Replaced between head and open: serve the new object only if it still satisfies the request.
      got.body.destroy();
      return this.read(user, bucket, key, opts, withBody);
    }
    return { record: got.record, body: got.body, range, partsCount };
  }

  /** Deletes an object; deleting a missing key succeeds, as in S3. */
  async deleteObject(user: User | undefined, bucket: string, key: string, conditions: { ifMatch?: string } = {}): Promise<void> {
    await this.bucket(user, bucket, 'WRITE');
    const check = conditions.ifMatch !== undefined ? writeCheck({ ifMatch: conditions.ifMatch }) : undefined;
    await this.driver.deleteObject(bucket, key, check);
  }

  /** Deletes many keys; reports each key's outcome without stopping at the first failure. */
  async deleteObjects(user: User | undefined, bucket: string, keys: string[]): Promise<Array<{ key: string; error?: GatewayError }>> {
    await this.bucket(user, bucket, 'WRITE');
    const out: Array<{ key: string; error?: GatewayError }> = [];
    for (const key of keys) {
      try {
        assertKey(key);
        await this.driver.deleteObject(bucket, key);
        out.push({ key });
      } catch (e) {
        out.push({ key, error: answerFor(e).err });
      }
    }
    return out;
  }

  /**
   * Copies an object. With `replace`, `attrs` become the new attributes; otherwise the source's are
   * kept, and copying an object onto itself is refused as S3 does.
   */
  async copyObject(user: User | undefined, src: { bucket: string; key: string }, dst: { bucket: string; key: string }, opts: { replace: boolean; attrs: ObjectAttributes; sourceConditions: Conditions; conditions?: Conditions }): Promise<ObjectRecord> {
    await this.bucket(user, src.bucket, 'READ');
    const rec = await this.bucketToFill(user, dst.bucket);
    assertKey(dst.key);
    return this.writeInto(rec, dst.key, () => this.copy(src, dst, opts));
  }

  private async copy(src: { bucket: string; key: string }, dst: { bucket: string; key: string }, opts: { replace: boolean; attrs: ObjectAttributes; sourceConditions: Conditions; conditions?: Conditions }): Promise<ObjectRecord> {
    if (!opts.replace && src.bucket === dst.bucket && src.key === dst.key) {
      throw new GatewayError('InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata, storage class, website redirect location or encryption attributes.');
    }
    const source = await this.driver.headObject(src.bucket, src.key);
    if (!source) throw new GatewayError('NoSuchKey', undefined, { Key: src.key });
    checkReadConditions(opts.sourceConditions, source, true);
    const check = writeCheck(opts.conditions ?? {});
    const attrs = opts.replace ? opts.attrs : pickAttrs(source);
    const record: ObjectRecord = { ...source, ...attrs, key: dst.key, lastModified: Date.now() };
    if (this.driver.capabilities.copy && this.driver.copyObject) {
      return this.driver.copyObject(src, dst, record, check);
    }
    const got = await this.driver.getObject(src.bucket, src.key);
    if (!got) throw new GatewayError('NoSuchKey', undefined, { Key: src.key });
    const digest = new DigestStream({});
    const body = chain(got.body, digest);
    return this.driver.putObject(dst.bucket, dst.key, body, { attrs: pickAttrs(record), size: source.size, seal: () => ({ ...record, size: digest.result().size }), check });
  }

  /**
   * Moves an object (QingStor's x-qs-move-source): a copy that keeps the source's attributes, then
   * the source's removal, only if the source is still the object that was copied.
   */
  async moveObject(user: User | undefined, src: { bucket: string; key: string }, dst: { bucket: string; key: string }): Promise<ObjectRecord> {
    await this.bucket(user, src.bucket, 'WRITE');
    if (src.bucket === dst.bucket && src.key === dst.key) {
      const same = await this.driver.headObject(src.bucket, src.key);
      if (!same) throw new GatewayError('NoSuchKey', undefined, { Key: src.key });
      return same;
    }
    const moved = await this.copyObject(user, src, dst, { replace: false, attrs: { userMeta: {} }, sourceConditions: {} });
    await this.driver.deleteObject(src.bucket, src.key, writeCheck({ ifMatch: moved.etag }));
    return moved;
  }

  /** Appends to an appendable object at `position` (its current size; 0 creates it). */
  async appendObject(user: User | undefined, bucket: string, key: string, position: number, input: BodyInput, attrs: ObjectAttributes): Promise<ObjectRecord> {
    const rec = await this.bucketToFill(user, bucket);
    assertKey(key);
    return this.writeInto(rec, key, () => appendObject(this.driver, bucket, key, position, input, attrs));
  }

  /** One page of a bucket listing with S3 delimiter semantics, with the bucket's record. */
  async listObjects(user: User | undefined, bucket: string, req: ListRequest): Promise<ListPage & { bucket: BucketRecord }> {
    const rec = await this.bucket(user, bucket, 'READ');
    return { ...(await listPage(this.driver, bucket, req)), bucket: rec };
  }

}


/**
 * The byte range of part `partNumber` of an object, for GET/HEAD with `?partNumber=`. A part the
 * object does not have is 416 InvalidPartNumber with PartNumberRequested and ActualPartCount, as
 * S3 answers (the error shape LocalStack's AWS-derived spec gives, and what OpenStack Swift's s3api
 * returns); an object that was not assembled from parts counts as one part, so partNumber=1 reads
 * all of it. Numbers outside 1..10000 are InvalidArgument before any lookup, as for UploadPart.
 */
function partRange(record: ObjectRecord, partNumber: number): { range?: ByteRange; partsCount?: number } {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) throw new GatewayError('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: String(partNumber) });
  const count = record.parts?.length ?? 1;
  if (partNumber > count) throw new GatewayError('InvalidPartNumber', undefined, { PartNumberRequested: String(partNumber), ActualPartCount: String(count) });
  if (!record.parts) return { range: record.size > 0 ? { start: 0, end: record.size - 1 } : undefined, partsCount: undefined };
  let start = 0;
  for (let i = 0; i < partNumber - 1; i++) start += record.parts[i].size;
  const size = record.parts[partNumber - 1].size;
  return { range: { start, end: start + size - 1 }, partsCount: record.parts.length };
}
