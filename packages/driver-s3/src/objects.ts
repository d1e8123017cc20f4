import type { IncomingMessage } from 'node:http';
import { pipeline, Transform, type Readable } from 'node:stream';
import { BytesStream, collect, GatewayError, isGatewayError, SMALL_BODY, type ByteRange, type CommitCheck, type ObjectRecord } from '@twinport/core';
import { unavailable } from './errors.js';
import { objectFromHeaders, totalSize, type UpstreamObject } from './records.js';
import { withSidecar, type Sidecar, type Sidecars } from './sidecar.js';
import type { Upstream } from './upstream.js';

/** An object's state as a write's commit check needs it. */
export interface Current {
  /** The upstream object, if there is one. */
  obj?: UpstreamObject;
  /** Its sidecar entry, matching or stale. */
  entry?: Sidecar;
}

/** A conditional write's upstream headers, and whether a sidecar entry exists to be replaced. */
export interface Precondition {
  headers: Record<string, string>;
  hadEntry?: boolean;
}

/** Reads and deletes of single objects. */
export class Objects {
  constructor(
    private readonly up: Upstream,
    private readonly sidecars: Sidecars,
  ) {}

  /** The upstream object (HEAD) and its sidecar entry, fetched together. */
  async lookup(bucket: string, key: string): Promise<Current> {
    // Drained at once: a HEAD answer holds its connection until read, whatever else fails.
    const heading = this.up.send({ method: 'HEAD', bucket, key, ok: [200, 404] }).then((res) => res.resume());
    const [res, entry] = await Promise.all([heading, this.sidecars.get(bucket, key)]);
    if (res.statusCode === 404) return { entry };
    return { obj: objectFromHeaders(key, res.headers, Number(res.headers['content-length'] ?? 0)), entry };
  }

  /** The gateway's record of `key`, or undefined (also for a bucket missing upstream). */
  async head(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    const { obj, entry } = await this.lookup(bucket, key);
    return obj && withSidecar(obj, entry);
  }

  /** Streams the object or a range of it from the upstream; undefined when there is no such key. */
  async get(bucket: string, key: string, range?: ByteRange): Promise<{ record: ObjectRecord; body: Readable } | undefined> {
    const sending = this.up.send({ method: 'GET', bucket, key, headers: range ? { range: `bytes=${range.start}-${range.end}` } : {}, ok: [200, 206] }).catch((e: unknown) => {
      if (isGatewayError(e) && e.code === 'NoSuchKey') return undefined;
      throw e;
    });
    // Awaited only after the sidecar read: until then a failed upstream request (refused in a
    // moment) must not count as an unhandled rejection, which would end the process.
    sending.catch(() => {});
    let entry: Sidecar | undefined;
    try {
      entry = await this.sidecars.get(bucket, key);
    } catch (e) {
      // The response must not hold its connection forever.
      sending.then((res) => res?.destroy(), () => {});
      throw e;
    }
    const res = await sending;
    if (!res) return undefined;
    const size = totalSize(res.headers);
    const record = withSidecar(objectFromHeaders(key, res.headers, size), entry);
    if (range) return { record, body: exactly(res, range, size) };
    return { record, body: size <= SMALL_BODY ? await whole(res, size) : res };
  }

  /**
   * Runs a write's commit check against the current record. For the write itself it gives the
   * upstream conditions that hold it to the state checked: If-Match on the upstream ETag seen, or
   * If-None-Match: * when there was none. An upstream that ignores them (s3rver) leaves a window:
   * a write that lands upstream between this HEAD and our commit goes unnoticed.
   */
  async precondition(bucket: string, key: string, check: CommitCheck | undefined): Promise<Precondition> {
    if (!check) return { headers: {} };
    const { obj, entry } = await this.lookup(bucket, key);
    check(obj && withSidecar(obj, entry));
    return { headers: obj ? { 'if-match': `"${obj.upstreamEtag}"` } : { 'if-none-match': '*' }, hadEntry: entry !== undefined };
  }

  /** Deletes `key` after `check` (see precondition); true when it existed. */
  async delete(bucket: string, key: string, check?: CommitCheck): Promise<boolean> {
    const { obj, entry } = await this.lookup(bucket, key);
    check?.(obj && withSidecar(obj, entry));
    if (obj) {
      const headers: Record<string, string> = check ? { 'if-match': `"${obj.upstreamEtag}"` } : {};
      (await this.up.send({ method: 'DELETE', bucket, key, headers, ok: [204, 200], notFound: 'NoSuchBucket' })).resume();
    }
    if (entry) await this.sidecars.drop(bucket, key);
    return obj !== undefined;
  }
}

/**
 * A small answer read to its end before anything is sent on: an upstream that fails mid-body is
 * then a 503 instead of a 200 cut short, and the adapters send the bytes as one Buffer.
 */
async function whole(res: IncomingMessage, size: number): Promise<Readable> {
  let head;
  try {
    head = await collect(res, size);
  } catch (e) {
    throw isGatewayError(e) ? e : unavailable(e);
  }
  if (!head.ended || head.size !== size) {
    res.destroy();
    throw new GatewayError('ServiceUnavailable', `The upstream sent ${head.size} bytes of a ${size}-byte object.`);
  }
  return new BytesStream(Buffer.concat(head.chunks, head.size));
}

/**
 * The bytes of `range` from an answer that may hold more: an upstream may ignore Range (200) or
 * widen it (s3rver reads `bytes=0-0` as the whole object). What is beyond the range is discarded.
 */
function exactly(res: IncomingMessage, range: ByteRange, size: number): Readable {
  const sent = /^bytes (\d+)-(\d+)\//.exec(res.headers['content-range'] ?? '');
  const [from, to] = res.statusCode === 206 && sent ? [Number(sent[1]), Number(sent[2])] : [0, size - 1];
  if (from === range.start && to === range.end) return res;
  if (from > range.start || to < range.end) {
    res.destroy();
    throw new GatewayError('ServiceUnavailable', `The upstream answered bytes ${from}-${to} for ${range.start}-${range.end}.`);
  }
  let skip = range.start - from;
  let take = range.end - range.start + 1;
  const slice = new Transform({
    transform(chunk: Buffer, _enc, done) {
      const start = Math.min(skip, chunk.length);
      skip -= start;
      const part = chunk.subarray(start, start + take);
      take -= part.length;
      done(null, part.length > 0 ? part : undefined);
    },
  });
  return pipeline(res, slice, () => {});
}
