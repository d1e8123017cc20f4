import { createHash, randomBytes } from 'node:crypto';
import type { Access } from './acl.js';
import type { Readable } from 'node:stream';
import { chain } from './streams.js';
import { GatewayError } from './errors.js';
import { DigestStream } from './digest.js';
import { combineCrc, compositeChecksum } from './checksum.js';
import { writeCheck, checkReadConditions, type Conditions } from './conditions.js';
import { resolveRange } from './range.js';
import { assertKey, beyondKeys, fitMarker } from './names.js';
import { commonPrefixOf } from './listing.js';
import type { Engine, BodyInput } from './engine.js';
import type { ChecksumAlgorithm, ChecksumType, ObjectAttributes, ObjectRecord, PartRecord, StoredChecksum, UploadRecord, User } from './types.js';

/** Smallest part S3 accepts for every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Largest part. */
export const MAX_PART_SIZE = 5 * 1024 ** 3;

const FULL_ONLY: ChecksumAlgorithm[] = ['CRC64NVME'];
const COMPOSITE_ONLY: ChecksumAlgorithm[] = ['SHA1', 'SHA256'];

/** A part as listed in a CompleteMultipartUpload request. */
export interface CompletePart {
  partNumber: number;
  /** Must match the stored part's when given; QingStor clients may leave it out. */
  etag?: string;
  checksum?: string;
}

/** A page of ListMultipartUploads. */
export interface UploadsPage {
  uploads: UploadRecord[];
  prefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
}

const pad = (n: number) => String(n).padStart(5, '0');
const indexId = (u: UploadRecord) => `${u.bucket}/${u.key}\u0000${u.initiated.toString(36).padStart(10, '0')}\u0000${u.uploadId}`;

/** The owner recorded for uploads that an anonymous client started (where a grant allows it). */
export const ANONYMOUS = 'anonymous';

/** Multipart uploads: parts' bytes go to the driver, the bookkeeping to the metadata store. */
export class Multipart {
  /** The Complete or Abort in progress per upload id, for `finishing`. */
  private readonly finishers = new Map<string, Promise<void>>();

  constructor(private readonly engine: Engine) {}

  /** Starts an upload; validates the checksum algorithm/type combination as S3 does. */
  async create(user: User | undefined, bucket: string, key: string, attrs: ObjectAttributes, checksum?: { algorithm?: ChecksumAlgorithm; type?: ChecksumType }): Promise<UploadRecord> {
    const rec = await this.engine.bucketToFill(user, bucket);
    assertKey(key);
    let type = checksum?.type;
    const algorithm = checksum?.algorithm;
    if (type && !algorithm) throw new GatewayError('InvalidRequest', 'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.');
    if (algorithm) {
      type ??= FULL_ONLY.includes(algorithm) ? 'FULL_OBJECT' : 'COMPOSITE';
      if ((type === 'COMPOSITE' && FULL_ONLY.includes(algorithm)) || (type === 'FULL_OBJECT' && COMPOSITE_ONLY.includes(algorithm))) {
        throw new GatewayError('InvalidRequest', `The ${type} checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`);
      }
    }
    const ref = await this.engine.driver.createUpload(bucket, key, attrs);
    const upload: UploadRecord = { uploadId: randomBytes(24).toString('base64url'), bucket, key, owner: user?.id ?? ANONYMOUS, initiated: Date.now(), attrs, checksumAlgorithm: algorithm, checksumType: algorithm ? type : undefined, ref };
    await this.engine.meta.put('uploads', upload.uploadId, upload);
    await this.engine.meta.put('upload-index', indexId(upload), upload.uploadId);
    await this.engine.confirmBucket(rec, async () => {
      await this.forget(upload);
      await this.engine.driver.abortUpload(bucket, upload);
    });
    return upload;
  }

  /** The upload, if it exists for this bucket and key. */
  async get(user: User | undefined, bucket: string, key: string, uploadId: string, need: Access = 'WRITE'): Promise<UploadRecord> {
    await this.engine.bucket(user, bucket, need);
    const u = plausibleId(uploadId) ? await this.engine.meta.get<UploadRecord>('uploads', uploadId) : undefined;
    if (!u || u.bucket !== bucket || u.key !== key) throw new GatewayError('NoSuchUpload', undefined, { UploadId: uploadId });
    return u;
  }

  /**
   * Runs a Complete or an Abort of `uploadId` after any other one of this process has finished, so
   * that of two that race, the second finds the upload gone and answers NoSuchUpload, as it would
   * had it come later. (Gateways sharing Redis do not serialise each other's.)
   */
  private async finishing<T>(uploadId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.finishers.get(uploadId);
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const queue = (before ?? Promise.resolve()).then(() => mine);
    this.finishers.set(uploadId, queue);
    try {
      await before;
      return await fn();
    } finally {
      done();
      if (this.finishers.get(uploadId) === queue) this.finishers.delete(uploadId);
    }
  }

  /** Stores one part from a streamed body; a re-upload of a part number replaces it. */
  async uploadPart(user: User | undefined, bucket: string, key: string, uploadId: string, partNumber: number, input: BodyInput): Promise<PartRecord> {
    assertPartNumber(partNumber);
    const upload = await this.get(user, bucket, key, uploadId);
    const sent = input.expect.checksum;
    if (sent && upload.checksumAlgorithm && sent.algorithm !== upload.checksumAlgorithm) {
      throw new GatewayError('InvalidRequest', `Checksum Type mismatch occurred, expected checksum Type: ${upload.checksumAlgorithm.toLowerCase()}, actual checksum Type: ${sent.algorithm.toLowerCase()}`);
    }
    const checksum = sent ?? (upload.checksumAlgorithm ? { algorithm: upload.checksumAlgorithm } : undefined);
    const digest = new DigestStream({ maxLength: MAX_PART_SIZE, ...input.expect, checksum });
    const body = chain(input.body, digest);
    return this.storePart(bucket, upload, partNumber, body, digest, input.expect.length);
  }

  /** UploadPartCopy: a part made from (a range of) an existing object. */
  async copyPart(user: User | undefined, bucket: string, key: string, uploadId: string, partNumber: number, src: { bucket: string; key: string; range?: string; conditions: Conditions }): Promise<{ part: PartRecord; source: ObjectRecord }> {
    assertPartNumber(partNumber);
    const upload = await this.get(user, bucket, key, uploadId);
    await this.engine.bucket(user, src.bucket, 'READ');
    const source = await this.engine.driver.headObject(src.bucket, src.key);
    if (!source) throw new GatewayError('NoSuchKey', undefined, { Key: src.key });
    checkReadConditions(src.conditions, source, true);
    let range;
    if (src.range !== undefined) {
      const m = /^bytes=(\d+)-(\d+)$/.exec(src.range);
      if (!m || Number(m[2]) < Number(m[1])) throw new GatewayError('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy', { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: src.range });
      if (Number(m[2]) >= source.size) throw new GatewayError('InvalidRange', 'The requested range is not satisfiable', { RangeRequested: src.range, ActualObjectSize: String(source.size) });
      range = resolveRange(src.range, source.size);
    }
    const got = await this.engine.driver.getObject(src.bucket, src.key, range);
    if (!got) throw new GatewayError('NoSuchKey', undefined, { Key: src.key });
    const digest = new DigestStream({ checksum: upload.checksumAlgorithm ? { algorithm: upload.checksumAlgorithm } : undefined });
    const body = chain(got.body, digest);
    return { part: await this.storePart(bucket, upload, partNumber, body, digest, range ? range.end - range.start + 1 : source.size), source };
  }

  private async storePart(bucket: string, upload: UploadRecord, partNumber: number, body: Readable, digest: DigestStream, size: number | undefined): Promise<PartRecord> {
    const driver = this.engine.driver;
    const seal = () => {
      const d = digest.result();
      return { partNumber, size: d.size, etag: d.md5.toString('hex'), checksum: d.checksum?.digest.toString('base64'), lastModified: Date.now() };
    };
    const part = await driver.putPart(bucket, upload, partNumber, body, { size, seal });
    let replaced: PartRecord | undefined;
    await this.engine.meta.update<PartRecord>('parts', `${upload.uploadId}/${pad(partNumber)}`, (cur) => {
      replaced = cur;
      return part;
    });
    if (replaced && replaced.ref !== part.ref) await driver.deletePart(bucket, upload, replaced.ref);
    // An abort or complete that raced with this part may have released the upload already.
    if (!(await this.engine.meta.get('uploads', upload.uploadId))) {
      await driver.deletePart(bucket, upload, part.ref);
      await this.engine.meta.delete('parts', `${upload.uploadId}/${pad(partNumber)}`);
      throw new GatewayError('NoSuchUpload', undefined, { UploadId: upload.uploadId });
    }
    return part;
  }

  /** Parts uploaded so far, by part number, after `marker`. */
  async listParts(user: User | undefined, bucket: string, key: string, uploadId: string, marker: number, maxParts: number): Promise<{ upload: UploadRecord; parts: PartRecord[]; isTruncated: boolean }> {
    const upload = await this.get(user, bucket, key, uploadId, 'READ');
    const rows = await this.engine.meta.list<PartRecord>('parts', { prefix: `${uploadId}/`, after: marker > 0 ? `${uploadId}/${pad(marker)}` : undefined, limit: maxParts + 1 });
    const parts = rows.slice(0, maxParts).map((r) => r.value);
    return { upload, parts, isTruncated: rows.length > maxParts };
  }

  /** Assembles the listed parts into the object; validates order, ETags and sizes as S3 does. */
  async complete(user: User | undefined, bucket: string, key: string, uploadId: string, requested: CompletePart[], conditions: Conditions = {}, minPartSize = MIN_PART_SIZE): Promise<ObjectRecord> {
    if (requested.length === 0) {
      await this.get(user, bucket, key, uploadId);
      throw new GatewayError('MalformedXML');
    }
    return this.finishing(uploadId, async () => {
      const rec = await this.engine.bucketToFill(user, bucket);
      const upload = await this.get(user, bucket, key, uploadId);
      const done = await this.engine.writeInto(rec, key, () => this.assemble(bucket, upload, requested, conditions, minPartSize));
      await this.forget(upload);
      return done;
    });
  }

  /** Checks the requested parts against the stored ones and has the driver assemble them. */
  private async assemble(bucket: string, upload: UploadRecord, requested: CompletePart[], conditions: Conditions, minPartSize: number): Promise<ObjectRecord> {
    const { key, uploadId } = upload;
    const check = writeCheck(conditions);
    const stored = new Map<number, PartRecord>();
    for (const row of await this.allParts(uploadId)) stored.set(row.partNumber, row);
    // The order of the list is checked as a whole first, as S3 does, so that an unsorted list is
    // reported as such rather than as whichever part-level problem comes first.
    if (requested.some((p, i) => i > 0 && p.partNumber <= requested[i - 1].partNumber)) throw new GatewayError('InvalidPartOrder');
    const parts: PartRecord[] = [];
    for (const [i, p] of requested.entries()) {
      const s = stored.get(p.partNumber);
      if (!s || (p.etag !== undefined && s.etag !== p.etag.replace(/"/g, '').trim())) throw new GatewayError('InvalidPart', undefined, { PartNumber: String(p.partNumber), ETag: p.etag ?? '' });
      if (p.checksum !== undefined && s.checksum !== undefined && p.checksum !== s.checksum) throw new GatewayError('InvalidPart', undefined, { PartNumber: String(p.partNumber) });
      if (i < requested.length - 1 && s.size < minPartSize) {
        throw new GatewayError('EntityTooSmall', undefined, { ProposedSize: String(s.size), MinSizeAllowed: String(minPartSize), PartNumber: String(p.partNumber), ETag: s.etag });
      }
      parts.push(s);
    }
    const md5 = createHash('md5');
    for (const p of parts) md5.update(Buffer.from(p.etag, 'hex'));
    const record: ObjectRecord = {
      ...upload.attrs,
      key,
      size: parts.reduce((n, p) => n + p.size, 0),
      etag: `${md5.digest('hex')}-${parts.length}`,
      lastModified: Date.now(),
      checksum: objectChecksum(upload, parts),
      parts: parts.map(({ partNumber, size, etag, checksum }) => ({ partNumber, size, etag, checksum })),
    };
    return this.engine.driver.completeUpload(bucket, upload, parts, record, check);
  }

  /** Abandons an upload and releases its parts. */
  async abort(user: User | undefined, bucket: string, key: string, uploadId: string): Promise<void> {
    await this.finishing(uploadId, async () => {
      const upload = await this.get(user, bucket, key, uploadId);
      await this.forget(upload);
      await this.engine.driver.abortUpload(bucket, upload);
    });
  }

  /** Whether a bucket has uploads in progress (which make it non-empty for DeleteBucket). */
  async hasUploads(bucket: string): Promise<boolean> {
    return (await this.engine.meta.list('upload-index', { prefix: `${bucket}/`, limit: 1 })).length > 0;
  }

  /** Uploads in progress, in key order then initiation order, with delimiter roll-up. */
  async listUploads(user: User | undefined, bucket: string, opts: { prefix: string; delimiter?: string; keyMarker?: string; uploadIdMarker?: string; maxUploads: number }): Promise<UploadsPage> {
    await this.engine.bucket(user, bucket, 'READ');
    const page: UploadsPage = { uploads: [], prefixes: [], isTruncated: false };
    if (beyondKeys(opts.prefix)) return page;
    const base = `${bucket}/`;
    let after = opts.keyMarker !== undefined ? `${base}${opts.keyMarker}${opts.uploadIdMarker ? '\u0000' : '\u0001'}` : undefined;
    let skipUntil = opts.keyMarker !== undefined && opts.uploadIdMarker ? opts.uploadIdMarker : undefined;
    if (opts.keyMarker !== undefined && beyondKeys(opts.keyMarker)) {
      // Past every key under the marker's longest fitting prefix (see fitMarker).
      after = `${base}${fitMarker(opts.keyMarker)}\u{10FFFF}`;
      skipUntil = undefined;
    }
    // A key-marker that is a common prefix (where the previous page ended) resumes after every key under it.
    const skipPrefix = opts.delimiter && opts.keyMarker !== undefined && commonPrefixOf(opts.keyMarker, opts.prefix, opts.delimiter) === opts.keyMarker ? opts.keyMarker : undefined;
    let count = 0;
    for (;;) {
      const rows = await this.engine.meta.list<string>('upload-index', { prefix: base + opts.prefix, after, limit: 1000 });
      for (const row of rows) {
        after = row.id;
        const upload = await this.engine.meta.get<UploadRecord>('uploads', row.value);
        if (!upload) continue;
        if (skipPrefix !== undefined && upload.key.startsWith(skipPrefix)) continue;
        if (skipUntil !== undefined) {
          if (upload.key === opts.keyMarker) {
            if (upload.uploadId === skipUntil) skipUntil = undefined;
            continue;
          }
          skipUntil = undefined;
        }
        const common = opts.delimiter ? commonPrefixOf(upload.key, opts.prefix, opts.delimiter) : undefined;
        if (common !== undefined && page.prefixes[page.prefixes.length - 1] === common) continue;
        if (count === opts.maxUploads) {
          page.isTruncated = true;
          return page;
        }
        count++;
        if (common !== undefined) {
          page.prefixes.push(common);
          page.nextKeyMarker = common;
          page.nextUploadIdMarker = undefined;
        } else {
          page.uploads.push(upload);
          page.nextKeyMarker = upload.key;
          page.nextUploadIdMarker = upload.uploadId;
        }
      }
      if (rows.length < 1000) return page;
    }
  }

  private async allParts(uploadId: string): Promise<PartRecord[]> {
    const out: PartRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const rows = await this.engine.meta.list<PartRecord>('parts', { prefix: `${uploadId}/`, after, limit: 1000 });
      out.push(...rows.map((r) => r.value));
      if (rows.length < 1000) return out;
      after = rows[rows.length - 1].id;
    }
  }

  private async forget(upload: UploadRecord): Promise<void> {
    await this.engine.meta.delete('uploads', upload.uploadId);
    await this.engine.meta.delete('upload-index', indexId(upload));
    for (const p of await this.allParts(upload.uploadId)) await this.engine.meta.delete('parts', `${upload.uploadId}/${pad(p.partNumber)}`);
  }
}

function assertPartNumber(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 10000) throw new GatewayError('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: String(n) });
}

function objectChecksum(upload: UploadRecord, parts: PartRecord[]): StoredChecksum | undefined {
  const alg = upload.checksumAlgorithm;
  if (!alg || parts.some((p) => p.checksum === undefined)) return undefined;
  const digests = parts.map((p) => Buffer.from(p.checksum!, 'base64'));
  if (upload.checksumType === 'FULL_OBJECT' && alg !== 'SHA1' && alg !== 'SHA256') {
    let acc = digests[0];
    for (let i = 1; i < digests.length; i++) acc = combineCrc(alg, acc, digests[i], parts[i].size);
    return { algorithm: alg, value: acc.toString('base64'), type: 'FULL_OBJECT' };
  }
  return { algorithm: alg, value: compositeChecksum(alg, digests), type: 'COMPOSITE' };
}

/** Whether `id` could be an upload id (ours are 32 characters); a longer one is looked up nowhere. */
function plausibleId(id: string): boolean {
  return id.length > 0 && id.length <= 128;
}
