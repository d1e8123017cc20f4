import { GatewayError, isGatewayError, type MetaStore, type ObjectAttributes } from '@twinport/core';
import { errorCodeOf, mapUpstreamError } from './errors.js';
import { attributeHeaders, unquote } from './records.js';
import type { Upstream } from './upstream.js';
import { escapeXml, text } from './xml.js';

/** The metadata-store table of upstream multipart uploads in progress, by upstream upload id. */
export const UPLOAD_TABLE = 's3-uploads';

/** An upstream upload the driver started and has not yet completed or aborted. */
export interface UploadEntry {
  bucket: string;
  key: string;
  /** Milliseconds since the epoch. */
  started: number;
}

/** Most parts an upload may have. */
export const MAX_PARTS = 10_000;

/**
 * Upstream multipart uploads, each registered in the metadata store while in progress. The
 * registry is what tells a live upload id from a stale or forged one: some upstreams (s3rver)
 * accept parts for any id, and none needs ListParts or ListMultipartUploads this way.
 */
export class UpstreamUploads {
  constructor(
    private readonly up: Upstream,
    private readonly meta: MetaStore,
  ) {}

  /** Starts an upload of `key` that will carry `attrs`; resolves to the upstream upload id. */
  async start(bucket: string, key: string, attrs: ObjectAttributes): Promise<string> {
    const { body } = await this.up.call({ method: 'POST', bucket, key, query: { uploads: '' }, headers: attributeHeaders(attrs), notFound: 'NoSuchBucket' });
    const uploadId = text(body, 'UploadId');
    if (!uploadId) throw new GatewayError('ServiceUnavailable', 'The upstream did not return an upload id.');
    try {
      await this.meta.put<UploadEntry>(UPLOAD_TABLE, uploadId, { bucket, key, started: Date.now() });
    } catch (e) {
      await this.abortUpstream(bucket, key, uploadId).catch(() => {});
      throw e;
    }
    return uploadId;
  }

  /** The registered upload, if `ref` names one. */
  async entry(ref: string | undefined): Promise<UploadEntry | undefined> {
    return ref ? this.meta.get<UploadEntry>(UPLOAD_TABLE, ref) : undefined;
  }

  /** `ref` if it names an upload of `bucket`/`key` in progress; NoSuchUpload otherwise. */
  async require(bucket: string, key: string, ref: string | undefined): Promise<string> {
    const e = await this.entry(ref);
    if (!e || e.bucket !== bucket || e.key !== key) throw new GatewayError('NoSuchUpload', undefined, { UploadId: ref ?? '' });
    return ref!;
  }

  /** Sends part `partNumber` of `length` bytes as they come; resolves to the upstream part ETag. */
  async part(bucket: string, key: string, uploadId: string, partNumber: number, source: AsyncIterable<unknown> | Iterable<unknown>, length: number): Promise<string> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PARTS) {
      throw new GatewayError('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber', ArgumentValue: String(partNumber) });
    }
    const res = await this.up.send({ method: 'PUT', bucket, key, query: { partNumber: String(partNumber), uploadId }, stream: { source, length }, notFound: 'NoSuchUpload' });
    res.resume();
    const etag = unquote(res.headers.etag);
    if (!etag) throw new GatewayError('ServiceUnavailable', 'The upstream did not return a part ETag.');
    return etag;
  }

  /**
   * Completes the upload with `parts` (ascending part numbers, upstream ETags), with conditional
   * `headers`; resolves to the object's upstream ETag and forgets the upload.
   */
  async complete(bucket: string, key: string, uploadId: string, parts: Array<{ partNumber: number; etag: string }>, headers: Record<string, string>): Promise<string> {
    const xml = `<CompleteMultipartUpload>${parts.map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>"${escapeXml(p.etag)}"</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
    const { body } = await this.up.call({ method: 'POST', bucket, key, query: { uploadId }, headers: { ...headers, 'content-type': 'application/xml' }, body: Buffer.from(xml), notFound: 'NoSuchUpload', slow: true });
    failedAfter200(body, 'NoSuchUpload');
    await this.forget(uploadId);
    return unquote(text(body, 'ETag'));
  }

  /** Aborts the upload upstream (one already gone is fine) and forgets it. */
  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.abortUpstream(bucket, key, uploadId);
    await this.forget(uploadId);
  }

  private async abortUpstream(bucket: string, key: string, uploadId: string): Promise<void> {
    try {
      (await this.up.send({ method: 'DELETE', bucket, key, query: { uploadId }, ok: [204, 200], notFound: 'NoSuchUpload' })).resume();
    } catch (e) {
      // Gone already, or an upstream that cannot abort (s3rver answers MethodNotAllowed): the
      // parts are unreachable either way.
      if (!(isGatewayError(e) && ['NoSuchUpload', 'NoSuchBucket', 'MethodNotAllowed', 'NotImplemented'].includes(e.code))) throw e;
    }
  }

  private async forget(uploadId: string): Promise<void> {
    await this.meta.delete(UPLOAD_TABLE, uploadId);
  }
}

/** S3 may answer a long operation (Complete, Copy) with 200 and report the failure in the body. */
export function failedAfter200(body: string, notFound: 'NoSuchUpload' | 'NoSuchKey'): void {
  if (!/<Error[\s>]/.test(body)) return;
  const code = errorCodeOf(body);
  const status = code === 'InternalError' || code === 'SlowDown' || code === 'ServiceUnavailable' ? 503 : 400;
  throw mapUpstreamError(status, code, text(body, 'Message'), notFound);
}
