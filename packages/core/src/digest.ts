import { createHash, hash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { collect } from './streams.js';
import { GatewayError } from './errors.js';
import { createHasher, type Hasher } from './checksum.js';
import type { ChecksumAlgorithm } from './types.js';

/** What a client declared about a body; checked after the last byte, before anything is committed. */
export interface BodyExpectations {
  /** Exact length in bytes (Content-Length or x-amz-decoded-content-length). */
  length?: number;
  /** Content-MD5, base64 (already checked to be well-formed). */
  md5?: string;
  /** x-amz-content-sha256 when it is a hex digest. */
  sha256?: string;
  /** A flexible checksum to compute; `expected` may be known only at the end (aws-chunked trailers). */
  checksum?: { algorithm: ChecksumAlgorithm; expected?: string | (() => string | undefined) };
  /** Largest acceptable body. */
  maxLength?: number;
}

/** What was computed over a body. */
export interface BodyDigest {
  size: number;
  md5: Buffer;
  checksum?: { algorithm: ChecksumAlgorithm; digest: Buffer };
}

/**
 * Passes a body through unchanged while hashing it in one pass, and fails the stream (so that the
 * driver commits nothing) when the body disagrees with what the client declared.
 */
export class DigestStream extends Transform {
  private readonly md5: Hash = createHash('md5');
  private readonly sha256?: Hash;
  private readonly hasher?: Hasher;
  private size = 0;
  private computed?: BodyDigest;

  constructor(private readonly expect: BodyExpectations) {
    super();
    if (expect.sha256) this.sha256 = createHash('sha256');
    if (expect.checksum) this.hasher = createHasher(expect.checksum.algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    const max = this.expect.maxLength;
    if ((this.expect.length !== undefined && this.size > this.expect.length) || (max !== undefined && this.size > max)) {
      cb(new GatewayError(max !== undefined && this.size > max ? 'EntityTooLarge' : 'IncompleteBody', 'The request body is longer than declared.'));
      return;
    }
    this.md5.update(chunk);
    this.sha256?.update(chunk);
    this.hasher?.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    try {
      cb(null, this.finish());
    } catch (e) {
      cb(e as Error);
    }
  }

  private finish(): undefined {
    this.computed = verified(this.expect, this.size, this.md5.digest(), this.sha256?.digest('hex'), this.hasher?.digest());
    return undefined;
  }

  /** The digests of the whole body; valid once the stream has ended without error. */
  result(): BodyDigest {
    if (!this.computed) throw new GatewayError('InternalError', 'body digest read before the body ended');
    return this.computed;
  }
}

/**
 * Bodies declared at most this long are read whole and hashed in one call (readDigested) instead
 * of streaming through a DigestStream: for small objects the stream machinery costs more than the
 * hashing, and the drivers keep bodies this small in memory anyway.
 */
export const SMALL_BODY = 64 * 1024;

/** Reads a body declared to be `expect.length` (≤ SMALL_BODY) bytes into memory and checks it as DigestStream would. */
export async function readDigested(body: Readable, expect: BodyExpectations & { length: number }): Promise<{ bytes: Buffer; digest: BodyDigest }> {
  const head = await collect(body, expect.length);
  if (!head.ended) {
    // Only a decoded body (aws-chunked) can outgrow its declared length; failing it unpipes the
    // request, which stays readable for the error answer.
    const err = new GatewayError('IncompleteBody', 'The request body is longer than declared.');
    body.destroy(err);
    throw err;
  }
  const bytes = Buffer.concat(head.chunks, head.size);
  return { bytes, digest: digestBytes(bytes, expect) };
}

/**
 * The digests of a body already in memory, checked against `expect` exactly as DigestStream checks
 * a streamed one; one-shot hashing spares a small body the stream and hash objects.
 */
export function digestBytes(bytes: Buffer, expect: BodyExpectations): BodyDigest {
  const max = expect.maxLength;
  if (max !== undefined && bytes.length > max) throw new GatewayError('EntityTooLarge', 'The request body is longer than declared.');
  if (expect.length !== undefined && bytes.length > expect.length) throw new GatewayError('IncompleteBody', 'The request body is longer than declared.');
  const sha256 = expect.sha256 ? hash('sha256', bytes, 'hex') : undefined;
  let checksum: Buffer | undefined;
  if (expect.checksum) {
    const hasher = createHasher(expect.checksum.algorithm);
    hasher.update(bytes);
    checksum = hasher.digest();
  }
  return verified(expect, bytes.length, hash('md5', bytes, 'buffer'), sha256, checksum);
}

/** Compares what was computed over a body with what the client declared; throws the S3 error for a mismatch. */
function verified(e: BodyExpectations, size: number, md5: Buffer, sha256: string | undefined, checksumDigest: Buffer | undefined): BodyDigest {
  if (e.length !== undefined && size !== e.length) throw new GatewayError('IncompleteBody');
  if (e.md5 !== undefined && md5.toString('base64') !== e.md5) throw new GatewayError('BadDigest', undefined, { ExpectedDigest: e.md5, CalculatedDigest: md5.toString('base64') });
  if (sha256 !== undefined && sha256 !== e.sha256) {
    throw new GatewayError('XAmzContentSHA256Mismatch', undefined, { ClientComputedContentSHA256: e.sha256 ?? '', S3ComputedContentSHA256: sha256 });
  }
  let checksum: BodyDigest['checksum'];
  if (checksumDigest && e.checksum) {
    const expected = typeof e.checksum.expected === 'function' ? e.checksum.expected() : e.checksum.expected;
    if (expected !== undefined && checksumDigest.toString('base64') !== expected) {
      throw new GatewayError('BadDigest', `The ${e.checksum.algorithm} you specified did not match the calculated checksum.`);
    }
    checksum = { algorithm: e.checksum.algorithm, digest: checksumDigest };
  }
  return { size, md5, checksum };
}
