import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
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
    const e = this.expect;
    if (e.length !== undefined && this.size !== e.length) throw new GatewayError('IncompleteBody');
    const md5 = this.md5.digest();
    if (e.md5 !== undefined && md5.toString('base64') !== e.md5) throw new GatewayError('BadDigest', undefined, { ExpectedDigest: e.md5, CalculatedDigest: md5.toString('base64') });
    if (this.sha256) {
      const got = this.sha256.digest('hex');
      if (got !== e.sha256) throw new GatewayError('XAmzContentSHA256Mismatch', undefined, { ClientComputedContentSHA256: e.sha256 ?? '', S3ComputedContentSHA256: got });
    }
    let checksum: BodyDigest['checksum'];
    if (this.hasher && e.checksum) {
      const digest = this.hasher.digest();
      const expected = typeof e.checksum.expected === 'function' ? e.checksum.expected() : e.checksum.expected;
      if (expected !== undefined && digest.toString('base64') !== expected) {
        throw new GatewayError('BadDigest', `The ${e.checksum.algorithm} you specified did not match the calculated checksum.`);
      }
      checksum = { algorithm: e.checksum.algorithm, digest };
    }
    this.computed = { size: this.size, md5, checksum };
    return undefined;
  }

  /** The digests of the whole body; valid once the stream has ended without error. */
  result(): BodyDigest {
    if (!this.computed) throw new GatewayError('InternalError', 'body digest read before the body ended');
    return this.computed;
  }
}
