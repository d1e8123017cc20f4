import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ByteRange } from '@twinport/core';

/** A byte window `[start, end)` of one blob file. */
export interface Segment {
  path: string;
  start: number;
  end: number;
}

/** A blob as an index entry lists it. */
export interface BlobRef {
  id: string;
  size: number;
}

const CHUNK = 256 * 1024;

/** The windows of the given blobs (in object order) that cover `range`, or all of them without one. */
export function segmentsFor(blobs: readonly BlobRef[], pathOf: (id: string) => string, range?: ByteRange): Segment[] {
  const total = blobs.reduce((n, b) => n + b.size, 0);
  const from = range ? range.start : 0;
  const to = range ? Math.min(range.end + 1, total) : total;
  const out: Segment[] = [];
  let offset = 0;
  for (const b of blobs) {
    const lo = Math.max(from, offset);
    const hi = Math.min(to, offset + b.size);
    if (lo < hi) out.push({ path: pathOf(b.id), start: lo - offset, end: hi - offset });
    offset += b.size;
    if (offset >= to) break;
  }
  return out;
}

/**
 * Streams a sequence of file windows, holding at most one file open at a time and opening each
 * lazily, so a 10,000-part object costs one descriptor. `onDone` runs exactly once when the stream
 * ends, fails or is destroyed by its consumer.
 */
export class SegmentStream extends Readable {
  private fh: FileHandle | undefined;
  private index = 0;
  private pos: number;
  private done: (() => void) | undefined;

  /** Streams `segments` in order and calls `onDone` when finished either way. */
  constructor(private readonly segments: readonly Segment[], onDone: () => void) {
    super({ highWaterMark: CHUNK });
    this.pos = segments[0]?.start ?? 0;
    this.done = onDone;
  }

  override _read(): void {
    this.pump().catch((e: unknown) => this.destroy(e as Error));
  }

  private async pump(): Promise<void> {
    while (this.index < this.segments.length) {
      const seg = this.segments[this.index];
      if (this.pos >= seg.end) {
        await this.closeFile();
        this.index++;
        this.pos = this.segments[this.index]?.start ?? 0;
        continue;
      }
      if (!this.fh) {
        const fh = await open(seg.path, 'r');
        // The consumer may have gone away while the open was in flight.
        if (this.destroyed) return void (await fh.close());
        this.fh = fh;
      }
      const want = Math.min(CHUNK, seg.end - this.pos);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await this.fh.read(buf, 0, want, this.pos);
      if (this.destroyed) return;
      if (bytesRead === 0) throw new Error('blob file is shorter than its index entry');
      this.pos += bytesRead;
      this.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
      return;
    }
    await this.closeFile();
    this.push(null);
  }

  private async closeFile(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    if (fh) await fh.close();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const finish = () => {
      const done = this.done;
      this.done = undefined;
      done?.();
      cb(err);
    };
    // FileHandle.close waits for a read in flight, so nothing touches a closed descriptor.
    this.closeFile().then(finish, finish);
  }
}
