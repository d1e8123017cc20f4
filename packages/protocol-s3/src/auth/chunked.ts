import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { GatewayError } from '@twinport/core';
import { ALGORITHM, EMPTY_SHA256, hmacHex, sha256Hex, signaturesMatch } from './sigv4.js';

/** What signs the chunks of an aws-chunked body: the request's key, time, scope and seed signature. */
export interface StreamingContext {
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

/** Signature of one aws-chunked chunk, chained from the previous chunk's (or the seed) signature. */
export function chunkSignature(ctx: StreamingContext, previous: string, dataSha256Hex: string): string {
  return hmacHex(ctx.signingKey, `${ALGORITHM}-PAYLOAD\n${ctx.amzDate}\n${ctx.scope}\n${previous}\n${EMPTY_SHA256}\n${dataSha256Hex}`);
}

/** Signature of the trailer section; `trailerText` is the `name:value\n` lines, signature line excluded. */
export function trailerSignature(ctx: StreamingContext, finalChunkSignature: string, trailerText: string): string {
  return hmacHex(ctx.signingKey, `${ALGORITHM}-TRAILER\n${ctx.amzDate}\n${ctx.scope}\n${finalChunkSignature}\n${sha256Hex(trailerText)}`);
}

/** Which aws-chunked variant a body uses, from its x-amz-content-sha256 value. */
export type ChunkedMode = 'signed' | 'signed-trailer' | 'unsigned-trailer';

/** How to decode one aws-chunked body. */
export interface ChunkedOptions {
  mode: ChunkedMode;
  /** Required for the signed modes. */
  streaming?: StreamingContext;
  /** Lowercased names from x-amz-trailer. */
  announcedTrailers: string[];
}

const MAX_LINE = 4096;
// A signed chunk is held until its signature checks out, so its size bounds memory per request.
const MAX_SIGNED_CHUNK = 16 * 1024 * 1024;
const MAX_TRAILERS = 32;
const CR = 0x0d;
const LF = 0x0a;
const TRAILER_SIGNATURE = 'x-amz-trailer-signature';

const State = { SizeLine: 0, Data: 1, DataEnd: 2, Trailer: 3, Done: 4 } as const;
type State = (typeof State)[keyof typeof State];

function framing(message: string): GatewayError {
  return new GatewayError('IncompleteBody', `Malformed aws-chunked body: ${message}`);
}

/**
 * Decodes an aws-chunked body into the object bytes. In the signed modes a chunk is released
 * downstream only after its signature verifies, so nothing unauthenticated reaches the driver.
 */
export class AwsChunkedDecoder extends Transform {
  /** Trailer values by lowercased name; complete once the stream has ended without error. */
  readonly trailers: Record<string, string> = {};
  /** Object bytes emitted so far. */
  decodedLength = 0;

  private readonly signed: boolean;
  private state: State = State.SizeLine;
  private line: Buffer[] = [];
  private lineLength = 0;
  private remaining = 0;
  private crlfSeen = 0;
  private chunkHash?: Hash;
  private pending: Buffer[] = [];
  private chunkSig = '';
  private previousSig = '';
  private trailerLines: string[] = [];

  constructor(private readonly opts: ChunkedOptions) {
    super();
    this.signed = opts.mode !== 'unsigned-trailer';
    this.previousSig = opts.streaming?.seedSignature ?? '';
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
      callback();
    } catch (e) {
      callback(e as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      // Some clients end the body right after the last trailer line, without the closing CRLF.
      const rest = Buffer.concat(this.line);
      if (this.state === State.Trailer && (rest.length === 0 || (rest.length === 1 && rest[0] === CR))) this.finishTrailers();
      if (this.state !== State.Done) throw new GatewayError('IncompleteBody', 'The aws-chunked body ended before its final chunk.');
      callback();
    } catch (e) {
      callback(e as Error);
    }
  }

  private consume(data: Buffer): void {
    if (this.signed && !this.opts.streaming) throw new GatewayError('InvalidRequest', 'A signed aws-chunked payload needs a SigV4-signed request.');
    let pos = 0;
    while (pos < data.length) {
      switch (this.state) {
        case State.SizeLine:
        case State.Trailer: {
          const nl = data.indexOf(LF, pos);
          const end = nl < 0 ? data.length : nl;
          this.lineLength += end - pos;
          if (this.lineLength > MAX_LINE) throw framing('line too long');
          if (end > pos) this.line.push(data.subarray(pos, end));
          pos = end;
          if (nl < 0) break;
          pos++;
          const line = this.takeLine();
          if (this.state === State.SizeLine) this.sizeLine(line);
          else this.trailerLine(line);
          break;
        }
        case State.Data: {
          const piece = data.subarray(pos, pos + Math.min(this.remaining, data.length - pos));
          pos += piece.length;
          this.remaining -= piece.length;
          if (this.signed) {
            this.chunkHash!.update(piece);
            this.pending.push(piece);
          } else {
            this.release(piece);
          }
          if (this.remaining === 0) this.state = State.DataEnd;
          break;
        }
        case State.DataEnd: {
          if (data[pos++] !== (this.crlfSeen === 0 ? CR : LF)) throw framing('chunk data not followed by CRLF');
          if (++this.crlfSeen === 2) this.endChunk();
          break;
        }
        case State.Done: {
          for (; pos < data.length; pos++) if (data[pos] !== CR && data[pos] !== LF) throw framing('data after the final chunk');
          break;
        }
      }
    }
  }

  /** The accumulated line without its CRLF. */
  private takeLine(): string {
    const buf = Buffer.concat(this.line);
    this.line = [];
    this.lineLength = 0;
    if (buf.length === 0 || buf[buf.length - 1] !== CR) throw framing('line not terminated by CRLF');
    return buf.toString('latin1', 0, buf.length - 1);
  }

  private sizeLine(line: string): void {
    const semi = line.indexOf(';');
    const sizeText = (semi < 0 ? line : line.slice(0, semi)).trim();
    const size = /^[0-9a-fA-F]{1,16}$/.test(sizeText) ? parseInt(sizeText, 16) : NaN;
    if (!Number.isSafeInteger(size)) throw framing('invalid chunk size');
    if (this.signed) {
      const ext = semi < 0 ? [] : line.slice(semi + 1).split(';').map((e) => e.trim());
      const sig = ext.find((e) => e.startsWith('chunk-signature='))?.slice('chunk-signature='.length) ?? '';
      if (!/^[0-9a-fA-F]{64}$/.test(sig)) throw new GatewayError('SignatureDoesNotMatch', 'The chunk signature is missing or malformed.');
      if (size > MAX_SIGNED_CHUNK) throw new GatewayError('InvalidArgument', `aws-chunked chunks are limited to ${MAX_SIGNED_CHUNK} bytes.`);
      this.chunkSig = sig;
      this.chunkHash = createHash('sha256');
    }
    if (size === 0) {
      if (this.signed) this.checkChunk(EMPTY_SHA256);
      this.state = State.Trailer;
      return;
    }
    this.remaining = size;
    this.crlfSeen = 0;
    this.state = State.Data;
  }

  private endChunk(): void {
    if (this.signed) {
      this.checkChunk(this.chunkHash!.digest('hex'));
      for (const piece of this.pending) this.release(piece);
      this.pending = [];
    }
    this.state = State.SizeLine;
  }

  private checkChunk(dataHash: string): void {
    const expected = chunkSignature(this.opts.streaming!, this.previousSig, dataHash);
    if (!signaturesMatch(expected, this.chunkSig)) throw new GatewayError('SignatureDoesNotMatch', 'The chunk signature does not match.');
    this.previousSig = expected;
  }

  private release(piece: Buffer): void {
    this.decodedLength += piece.length;
    this.push(piece);
  }

  private trailerLine(line: string): void {
    if (line === '') return this.finishTrailers();
    if (this.trailerLines.length >= MAX_TRAILERS || line.indexOf(':') <= 0) throw new GatewayError('MalformedTrailerError');
    this.trailerLines.push(line);
  }

  private finishTrailers(): void {
    let signature: string | undefined;
    const signedLines: Array<[string, string]> = [];
    for (const line of this.trailerLines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === TRAILER_SIGNATURE && this.opts.mode === 'signed-trailer') {
        signature = value;
        continue;
      }
      if (!this.opts.announcedTrailers.includes(name) || name in this.trailers) throw new GatewayError('MalformedTrailerError', `Unexpected trailer ${name}.`);
      this.trailers[name] = value;
      signedLines.push([name, line]);
    }
    for (const name of this.opts.announcedTrailers) {
      if (!(name in this.trailers)) throw new GatewayError('MalformedTrailerError', `The announced trailer ${name} is missing.`);
    }
    if (this.opts.mode === 'signed-trailer') {
      signedLines.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const text = signedLines.map(([, line]) => `${line}\n`).join('');
      const expected = trailerSignature(this.opts.streaming!, this.previousSig, text);
      if (signature === undefined || !signaturesMatch(expected, signature)) throw new GatewayError('SignatureDoesNotMatch', 'The trailer signature does not match.');
    }
    this.state = State.Done;
  }
}
