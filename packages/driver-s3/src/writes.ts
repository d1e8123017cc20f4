import type { Readable } from 'node:stream';
import { GatewayError, pickAttrs, type CommitCheck, type ObjectRecord, type PutOptions } from '@twinport/core';
import { PartReader, type Chunks } from './body.js';
import { failedAfter200, MAX_PARTS, type UpstreamUploads } from './multipart.js';
import type { Objects, Precondition } from './objects.js';
import { attributeHeaders, unquote } from './records.js';
import type { Sidecars } from './sidecar.js';
import { uriEscape, type Upstream } from './upstream.js';
import { text } from './xml.js';

/** Largest object S3 takes in one PUT or one CopyObject. */
export const MAX_SINGLE = 5 * 1024 ** 3;

/**
 * Object writes. Each commits upstream first and then records the sidecar, so a reader may, for
 * an instant, see the new object without its sidecar (its upstream ETag, no checksum); a failed
 * write never reaches the upstream commit and leaves the previous object as it was.
 */
export class Writes {
  constructor(
    private readonly up: Upstream,
    private readonly objects: Objects,
    private readonly sidecars: Sidecars,
    private readonly uploads: UpstreamUploads,
    private readonly partSize: number,
  ) {}

  /**
   * Stores `body` as `key`. A body in memory is one PUT. With a declared size it is one streaming PUT; otherwise up to
   * `partSize` bytes are buffered, and a body that ends within them is one PUT, while a longer one
   * becomes an upstream multipart upload holding at most two parts in memory.
   */
  async put(bucket: string, key: string, body: Readable | Buffer, opts: PutOptions): Promise<ObjectRecord> {
    if (Buffer.isBuffer(body)) return this.single(bucket, key, [body], body.length, opts);
    if (opts.size !== undefined && opts.size <= MAX_SINGLE) return this.single(bucket, key, body, opts.size, opts);
    const reader = new PartReader(body, this.partSize);
    const first = await reader.next();
    if (!first || !(await reader.more())) {
      const whole = first ?? { chunks: [], length: 0 };
      return this.single(bucket, key, whole.chunks, whole.length, opts);
    }
    return this.multipart(bucket, key, reader, first, opts);
  }

  /** Server-side copy with the attributes of `record` (metadata directive REPLACE), sidecar included. */
  async copy(src: { bucket: string; key: string }, dst: { bucket: string; key: string }, record: ObjectRecord, check?: CommitCheck, read?: () => Promise<Readable | undefined>): Promise<ObjectRecord> {
    if (record.size > MAX_SINGLE && read) {
      // Beyond what CopyObject takes: stream it through, as an upload of unknown length.
      const body = await read();
      if (!body) throw new GatewayError('NoSuchKey', undefined, { Key: src.key });
      return this.put(dst.bucket, dst.key, body, { attrs: pickAttrs(record), seal: () => record, check });
    }
    const pre = await this.objects.precondition(dst.bucket, dst.key, check);
    const headers = {
      ...attributeHeaders(record),
      ...pre.headers,
      'x-amz-copy-source': `/${src.bucket}/${uriEscape(src.key).replace(/%2F/g, '/')}`,
      'x-amz-metadata-directive': 'REPLACE',
    };
    const { body } = await this.up.call({ method: 'PUT', bucket: dst.bucket, key: dst.key, headers, slow: true });
    failedAfter200(body, 'NoSuchKey');
    return this.commit(dst.bucket, dst.key, record, unquote(text(body, 'ETag')), pre);
  }

  /** One PUT of exactly `length` bytes, streamed as they come. */
  private async single(bucket: string, key: string, source: Readable | Buffer[], length: number, opts: PutOptions): Promise<ObjectRecord> {
    const pre = await this.objects.precondition(bucket, key, opts.check);
    const headers = { ...attributeHeaders(opts.attrs), ...pre.headers };
    const res = await this.up.send({ method: 'PUT', bucket, key, headers, stream: { source, length }, notFound: 'NoSuchBucket' });
    res.resume();
    return this.commit(bucket, key, opts.seal(), unquote(res.headers.etag), pre);
  }

  /** An upstream multipart upload of a long body of unknown length, reading a part ahead of the one in flight. */
  private async multipart(bucket: string, key: string, reader: PartReader, first: Chunks, opts: PutOptions): Promise<ObjectRecord> {
    const uploadId = await this.uploads.start(bucket, key, opts.attrs);
    const etags: string[] = [];
    let inflight: Promise<string> | undefined;
    try {
      let part: Chunks | undefined = first;
      for (let n = 1; part; n++) {
        if (n > MAX_PARTS) throw new GatewayError('EntityTooLarge');
        inflight = this.uploads.part(bucket, key, uploadId, n, part.chunks, part.length);
        inflight.catch(() => {});
        part = await reader.next();
        etags.push(await inflight);
        inflight = undefined;
      }
      const pre = await this.objects.precondition(bucket, key, opts.check);
      const upstreamEtag = await this.uploads.complete(bucket, key, uploadId, etags.map((etag, i) => ({ partNumber: i + 1, etag })), pre.headers);
      return await this.commit(bucket, key, opts.seal(), upstreamEtag, pre);
    } catch (e) {
      await reader.cancel();
      await inflight?.catch(() => {});
      await this.uploads.abort(bucket, key, uploadId).catch(() => {});
      throw e;
    }
  }

  /** Records the sidecar of an object just committed upstream. */
  private async commit(bucket: string, key: string, record: ObjectRecord, upstreamEtag: string, pre: Precondition): Promise<ObjectRecord> {
    await this.sidecars.save(bucket, key, record, upstreamEtag, pre.hadEntry);
    return record;
  }
}
