import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { GatewayError } from './errors.js';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from './types.js';

/** An incremental checksum; `digest` returns the big-endian bytes S3 base64-encodes. */
export interface Hasher {
  update(chunk: Buffer): void;
  digest(): Buffer;
}

// The word-at-a-time loops read little-endian words through an Int32Array view.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
// Below this, creating a typed-array view costs more than it saves.
const WORD_LOOP_MIN = 64;

const CRC32_POLY = 0xedb88320;
const CRC32C_POLY = 0x82f63b78;
const CRC64_POLY_HI = 0x9a6c9329;
const CRC64_POLY_LO = 0xac4bc9b5;

/** Slice-by-16 tables for a reflected 32-bit CRC: table k holds byte i followed by k zero bytes. */
function crc32Tables(poly: number): Uint32Array {
  const t = new Uint32Array(256 * 16);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c;
  }
  for (let k = 1; k < 16; k++) {
    for (let i = 0; i < 256; i++) {
      const p = t[(k - 1) * 256 + i];
      t[k * 256 + i] = (p >>> 8) ^ t[p & 255];
    }
  }
  return t;
}

/** Advances a reflected 32-bit CRC (final form) over `d`. */
function crc32Update(t: Uint32Array, crc: number, d: Uint8Array): number {
  const n = d.length;
  crc = ~crc;
  let i = 0;
  if (LITTLE_ENDIAN && n >= WORD_LOOP_MIN) {
    while ((d.byteOffset + i) & 3) crc = (crc >>> 8) ^ t[(crc ^ d[i++]) & 255];
    const words = ((n - i) >>> 4) << 2;
    const w = new Int32Array(d.buffer, d.byteOffset + i, words);
    for (let j = 0; j < words; j += 4) {
      const a = crc ^ w[j], b = w[j + 1], c = w[j + 2], e = w[j + 3];
      crc = t[3840 + (a & 255)] ^ t[3584 + ((a >>> 8) & 255)] ^ t[3328 + ((a >>> 16) & 255)] ^ t[3072 + (a >>> 24)]
        ^ t[2816 + (b & 255)] ^ t[2560 + ((b >>> 8) & 255)] ^ t[2304 + ((b >>> 16) & 255)] ^ t[2048 + (b >>> 24)]
        ^ t[1792 + (c & 255)] ^ t[1536 + ((c >>> 8) & 255)] ^ t[1280 + ((c >>> 16) & 255)] ^ t[1024 + (c >>> 24)]
        ^ t[768 + (e & 255)] ^ t[512 + ((e >>> 8) & 255)] ^ t[256 + ((e >>> 16) & 255)] ^ t[e >>> 24];
    }
    i += words * 4;
  }
  for (; i < n; i++) crc = (crc >>> 8) ^ t[(crc ^ d[i]) & 255];
  return ~crc >>> 0;
}

/** Multiplies a reflected 64-bit polynomial [hi, lo] by x^times modulo the CRC-64/NVME polynomial. */
function mulByX64(h: number, l: number, times: number): [number, number] {
  for (let j = 0; j < times; j++) {
    const carry = l & 1;
    l = ((l >>> 1) | (h << 31)) >>> 0;
    h >>>= 1;
    if (carry) {
      h ^= CRC64_POLY_HI;
      l ^= CRC64_POLY_LO;
    }
  }
  return [h >>> 0, l >>> 0];
}

/** Slice-by-8 tables for CRC-64/NVME, split into high and low 32-bit halves to stay off BigInt. */
function crc64Tables(): [Uint32Array, Uint32Array] {
  const hi = new Uint32Array(256 * 8);
  const lo = new Uint32Array(256 * 8);
  for (let i = 0; i < 256; i++) [hi[i], lo[i]] = mulByX64(0, i, 8);
  for (let k = 1; k < 8; k++) {
    for (let i = 0; i < 256; i++) {
      const ph = hi[(k - 1) * 256 + i];
      const pl = lo[(k - 1) * 256 + i];
      hi[k * 256 + i] = (ph >>> 8) ^ hi[pl & 255];
      lo[k * 256 + i] = ((pl >>> 8) | (ph << 24)) ^ lo[pl & 255];
    }
  }
  return [hi, lo];
}

let crc32cTable: Uint32Array | undefined;
let crc64Table: [Uint32Array, Uint32Array] | undefined;

/** A 32-bit CRC held in its final (inverted) form, the form zlib.crc32 takes and returns. */
class Crc32Hasher implements Hasher {
  private crc = 0;
  constructor(private readonly advance: (crc: number, d: Buffer) => number) {}
  update(chunk: Buffer): void {
    this.crc = this.advance(this.crc, chunk);
  }
  digest(): Buffer {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(this.crc >>> 0);
    return out;
  }
}

class Crc64NvmeHasher implements Hasher {
  private hi = 0xffffffff;
  private lo = 0xffffffff;
  private readonly H: Uint32Array;
  private readonly L: Uint32Array;
  constructor() {
    [this.H, this.L] = crc64Table ??= crc64Tables();
  }
  update(d: Buffer): void {
    const H = this.H, L = this.L, n = d.length;
    let h = this.hi, l = this.lo, i = 0;
    if (LITTLE_ENDIAN && n >= WORD_LOOP_MIN) {
      while ((d.byteOffset + i) & 3) {
        const x = (l ^ d[i++]) & 255;
        l = ((l >>> 8) | (h << 24)) ^ L[x];
        h = (h >>> 8) ^ H[x];
      }
      const words = ((n - i) >>> 3) << 1;
      const w = new Int32Array(d.buffer, d.byteOffset + i, words);
      for (let j = 0; j < words; j += 2) {
        const a = l ^ w[j], b = h ^ w[j + 1];
        const x0 = 1792 + (a & 255), x1 = 1536 + ((a >>> 8) & 255), x2 = 1280 + ((a >>> 16) & 255), x3 = 1024 + (a >>> 24);
        const x4 = 768 + (b & 255), x5 = 512 + ((b >>> 8) & 255), x6 = 256 + ((b >>> 16) & 255), x7 = b >>> 24;
        l = L[x0] ^ L[x1] ^ L[x2] ^ L[x3] ^ L[x4] ^ L[x5] ^ L[x6] ^ L[x7];
        h = H[x0] ^ H[x1] ^ H[x2] ^ H[x3] ^ H[x4] ^ H[x5] ^ H[x6] ^ H[x7];
      }
      i += words * 4;
    }
    for (; i < n; i++) {
      const x = (l ^ d[i]) & 255;
      l = ((l >>> 8) | (h << 24)) ^ L[x];
      h = (h >>> 8) ^ H[x];
    }
    this.hi = h >>> 0;
    this.lo = l >>> 0;
  }
  digest(): Buffer {
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32BE(~this.hi >>> 0, 0);
    out.writeUInt32BE(~this.lo >>> 0, 4);
    return out;
  }
}

function nodeHasher(name: string): Hasher {
  const hash = createHash(name);
  return { update: (chunk) => void hash.update(chunk), digest: () => hash.digest() };
}

/** Starts an incremental checksum of the given algorithm. */
export function createHasher(alg: ChecksumAlgorithm): Hasher {
  switch (alg) {
    case 'CRC32':
      // zlib.crc32 (Node >= 20.15, the engines floor) is native and several times faster than any table.
      return new Crc32Hasher((crc, d) => zlib.crc32(d, crc));
    case 'CRC32C':
      crc32cTable ??= crc32Tables(CRC32C_POLY);
      return new Crc32Hasher((crc, d) => crc32Update(crc32cTable!, crc, d));
    case 'CRC64NVME':
      return new Crc64NvmeHasher();
    case 'SHA1':
      return nodeHasher('sha1');
    case 'SHA256':
      return nodeHasher('sha256');
  }
}

const BYTE_LENGTHS: Record<ChecksumAlgorithm, number> = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 };

/** Size in bytes of the algorithm's raw digest. */
export function checksumByteLength(alg: ChecksumAlgorithm): number {
  return BYTE_LENGTHS[alg];
}

/** The `x-amz-checksum-*` header (and trailer) name for an algorithm. */
export function checksumHeaderName(alg: ChecksumAlgorithm): string {
  return `x-amz-checksum-${alg.toLowerCase()}`;
}

/** The algorithm named by an `x-amz-checksum-*` header, or undefined for any other header. */
export function algorithmFromHeaderName(name: string): ChecksumAlgorithm | undefined {
  const lower = name.toLowerCase();
  return lower.startsWith('x-amz-checksum-') ? parseAlgorithm(lower.slice('x-amz-checksum-'.length)) : undefined;
}

/** Reads an algorithm name in any letter case, or undefined when it is absent or unknown. */
export function parseAlgorithm(s: string | undefined): ChecksumAlgorithm | undefined {
  if (s === undefined) return undefined;
  const upper = s.toUpperCase();
  return CHECKSUM_ALGORITHMS.find((a) => a === upper);
}

/** Whether a header value is canonical base64 of exactly the algorithm's digest length. */
export function isValidChecksumValue(alg: ChecksumAlgorithm, base64: string): boolean {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) return false;
  const raw = Buffer.from(base64, 'base64');
  // Re-encoding rejects non-zero padding bits, so one digest has exactly one accepted spelling.
  return raw.length === BYTE_LENGTHS[alg] && raw.toString('base64') === base64;
}

// CRC combination works on the final (post-inverted) values: because init equals xorout for all
// three CRCs, crc(A||B) = crc(A) * x^(8*len(B)) mod P xor crc(B), as in zlib's crc32_combine.
// Values are reflected, so the most significant bit holds the x^0 coefficient.

/** Product modulo P of two reflected 32-bit polynomials. */
function mulMod32(a: number, b: number, poly: number): number {
  let p = 0;
  for (let m = 0x80000000; m !== 0 && a !== 0; m >>>= 1) {
    if (a & m) {
      p ^= b;
      a ^= m;
    }
    b = b & 1 ? (b >>> 1) ^ poly : b >>> 1;
  }
  return p >>> 0;
}

/** Product modulo P of two reflected 64-bit polynomials held as [hi, lo]. */
function mulMod64(a: [number, number], b: [number, number]): [number, number] {
  let [bh, bl] = b;
  let ph = 0;
  let pl = 0;
  for (let i = 0; i < 64; i++) {
    const bit = i < 32 ? a[0] & (0x80000000 >>> i) : a[1] & (0x80000000 >>> (i - 32));
    if (bit) {
      ph ^= bh;
      pl ^= bl;
    }
    [bh, bl] = mulByX64(bh, bl, 1);
  }
  return [ph >>> 0, pl >>> 0];
}

// Enough squarings for any safe-integer byte count.
const MAX_SHIFT_BITS = 53;

/** Table k holds x^(8 * 2^k) mod P, so a shift by n bytes multiplies one entry per set bit of n. */
function byteShiftPowers<T>(x: T, mul: (a: T, b: T) => T): T[] {
  let square = x;
  for (let k = 0; k < 3; k++) square = mul(square, square);
  const powers = [square];
  for (let k = 1; k < MAX_SHIFT_BITS; k++) powers.push(square = mul(square, square));
  return powers;
}

/** x^(8n) mod P from the precomputed powers. */
function shiftOperator<T>(n: number, one: T, powers: T[], mul: (a: T, b: T) => T): T {
  let result = one;
  for (let k = 0; n > 0; k++, n = Math.floor(n / 2)) {
    if (n % 2 === 1) result = mul(powers[k], result);
  }
  return result;
}

const mulCrc32 = (a: number, b: number): number => mulMod32(a, b, CRC32_POLY);
const mulCrc32c = (a: number, b: number): number => mulMod32(a, b, CRC32C_POLY);
const shiftPowers: { CRC32?: number[]; CRC32C?: number[]; CRC64NVME?: Array<[number, number]> } = {};

/** crc(A||B) from crc(A), crc(B) and len(B), for FULL_OBJECT multipart checksums. */
export function combineCrc(alg: 'CRC32' | 'CRC32C' | 'CRC64NVME', crcA: Buffer, crcB: Buffer, lengthB: number): Buffer<ArrayBuffer> {
  const size = BYTE_LENGTHS[alg];
  if (crcA.length !== size || crcB.length !== size || !Number.isSafeInteger(lengthB) || lengthB < 0) {
    throw new GatewayError('InternalError', `cannot combine ${alg} values of ${crcA.length} and ${crcB.length} bytes`);
  }
  const out = Buffer.allocUnsafe(size);
  if (alg === 'CRC64NVME') {
    const powers = shiftPowers.CRC64NVME ??= byteShiftPowers<[number, number]>([0x40000000, 0], mulMod64);
    const op = shiftOperator<[number, number]>(lengthB, [0x80000000, 0], powers, mulMod64);
    const [h, l] = mulMod64(op, [crcA.readUInt32BE(0), crcA.readUInt32BE(4)]);
    out.writeUInt32BE((h ^ crcB.readUInt32BE(0)) >>> 0, 0);
    out.writeUInt32BE((l ^ crcB.readUInt32BE(4)) >>> 0, 4);
    return out;
  }
  const mul = alg === 'CRC32' ? mulCrc32 : mulCrc32c;
  const powers = (shiftPowers[alg] ??= byteShiftPowers(0x40000000, mul));
  const op = shiftOperator(lengthB, 0x80000000, powers, mul);
  out.writeUInt32BE((mul(op, crcA.readUInt32BE(0)) ^ crcB.readUInt32BE(0)) >>> 0);
  return out;
}

/** The COMPOSITE multipart value: base64 of the checksum of the concatenated part digests, `-N`. */
export function compositeChecksum(alg: ChecksumAlgorithm, partDigests: Buffer[]): string {
  const h = createHasher(alg);
  for (const d of partDigests) h.update(d);
  return `${h.digest().toString('base64')}-${partDigests.length}`;
}
