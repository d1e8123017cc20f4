// Object contents that identify themselves, and what each key may legally hold after a crash.
//
// Every 4 KiB block of a version's bytes begins with a tag (version, key hash, block index, size),
// so a read that mixes two versions, or blocks of another key, names the offending block.
import { createHash, randomBytes } from 'node:crypto';

export const MiB = 1024 * 1024;
export const BLOCK = 4096;
const TAG = 16;
/** Shared filler; each (key, version) starts at its own offset, so equal sizes still differ. */
const NOISE = randomBytes(6 * MiB);

/** One stored version of a key: its bytes are `content(key, version, size)`. */
export interface Version {
  version: number;
  size: number;
  /** The ETag S3 gives it (without quotes). */
  etag: string;
  /** Part sizes for a multipart version (each part is a blob on disk); undefined for a single PUT. */
  parts?: number[];
}

/** What a key holds: a version, or nothing. */
export type Outcome = Version | null;

const keyHash = (key: string) => createHash('sha256').update(key).digest().readUInt32BE(0);
export const md5 = (data: Buffer) => createHash('md5').update(data).digest();

/** The bytes of `version` of `key`. */
export function content(key: string, version: number, size: number): Buffer {
  if (size > NOISE.length) throw new RangeError('size exceeds the filler');
  const start = createHash('sha256').update(`${key}\0${version}`).digest().readUInt32BE(0) % (NOISE.length - size + 1);
  const out = Buffer.from(NOISE.subarray(start, start + size));
  const tag = Buffer.alloc(TAG);
  for (let i = 0, off = 0; off < size; i++, off += BLOCK) {
    tag.writeUInt32BE(version, 0);
    tag.writeUInt32BE(keyHash(key), 4);
    tag.writeUInt32BE(i, 8);
    tag.writeUInt32BE(size, 12);
    tag.copy(out, off, 0, Math.min(TAG, size - off));
  }
  return out;
}

/** A single-PUT version: the ETag is the MD5 of the bytes. */
export function singleVersion(key: string, version: number, size: number): { v: Version; body: Buffer } {
  const body = content(key, version, size);
  return { v: { version, size, etag: md5(body).toString('hex') }, body };
}

/** A multipart version: the ETag is the MD5 of the part MD5s, then `-<count>`. */
export function multipartVersion(key: string, version: number, partSizes: number[]): { v: Version; parts: Buffer[] } {
  const body = content(key, version, partSizes.reduce((a, b) => a + b, 0));
  const parts: Buffer[] = [];
  for (let off = 0, i = 0; i < partSizes.length; off += partSizes[i++]) parts.push(body.subarray(off, off + partSizes[i]));
  const etag = `${md5(Buffer.concat(parts.map(md5))).toString('hex')}-${parts.length}`;
  return { v: { version, size: body.length, etag, parts: partSizes }, parts };
}

/**
 * Which of the `allowed` outcomes the read `body` (with its ETag) is, or a description of why it is
 * none of them: a torn mix, another key's blocks, a wrong length or ETag.
 */
export function identify(key: string, body: Buffer, etag: string, allowed: Version[]): Version | string {
  if (body.length < TAG) {
    const hit = allowed.find((v) => v.size === body.length && content(key, v.version, v.size).equals(body));
    return hit ?? `${body.length} bytes that match none of the versions ${allowed.map((v) => `${v.version} (${v.size} B)`).join(', ')}`;
  }
  const version = body.readUInt32BE(0);
  for (let i = 0, off = 0; off + TAG <= body.length; i++, off += BLOCK) {
    const [v, kh, idx, size] = [0, 4, 8, 12].map((o) => body.readUInt32BE(off + o));
    if (v !== version || kh !== keyHash(key) || idx !== i || size !== body.length) {
      return `torn read: block ${i} is tagged version ${v} block ${idx} of a ${size}-byte body (key ${kh === keyHash(key) ? 'same' : 'OTHER'}), block 0 version ${version}, body ${body.length} bytes`;
    }
  }
  const v = allowed.find((a) => a.version === version);
  if (!v) return `version ${version} is not one of the allowed ${allowed.map((a) => a.version).join(', ') || '(none: key must be absent)'}`;
  if (v.size !== body.length) return `version ${version} should be ${v.size} bytes, read ${body.length}`;
  if (!content(key, version, v.size).equals(body)) return `version ${version}: bytes differ from what was written`;
  if (etag !== `"${v.etag}"`) return `version ${version}: ETag ${etag}, expected "${v.etag}"`;
  return v;
}

/**
 * One key as the client knows it. Writes to a key are issued one at a time, so after a crash the
 * key holds `current` (acknowledged, or observed after the previous restart) or the outcome of a
 * write that was unanswered when the gateway died.
 */
export class KeyState {
  current: Outcome = null;
  readonly inflight = new Set<Outcome>();
  /** Versions handed out so far (each write, even a rejected one, gets a new number). */
  versions = 0;

  allowed(): Outcome[] {
    return [this.current, ...this.inflight];
  }
}

/** A multipart upload as the client knows it. */
export interface UploadState {
  key: string;
  /** Unknown while CreateMultipartUpload is unanswered. */
  uploadId?: string;
  created: 'inflight' | 'acked';
  /** Part number → ETag, for acknowledged UploadPart requests. */
  parts: Map<number, string>;
  complete: 'none' | 'inflight' | 'acked';
  v: Version;
  bodies: Buffer[];
}

/** A seeded PRNG (mulberry32), so that a failing schedule can be rerun with CRASH_SEED. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
