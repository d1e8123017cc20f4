import { code, syncFile } from './files.js';

/**
 * Part files are acknowledged unflushed, and completeUpload must fdatasync them all before it
 * commits. Flushing 8 MiB parts only then makes Complete wait for the whole upload's bytes to reach
 * the disk; so each part's writeback is started in the background as soon as the part is written,
 * overlapping the upload of the next parts, and the flush at Complete finds the bytes written.
 *
 * A background flush that fails is remembered: Linux reports a writeback error to the first
 * fdatasync that sees it, so a later flush through a new descriptor could succeed although the
 * bytes are lost. Complete refuses such a part.
 */
export class PartFlusher {
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly failed = new Map<string, unknown>();

  /** Starts flushing the fully written file at `path`; nobody waits for it. */
  start(path: string): void {
    const flush = syncFile(path).then(
      () => {},
      (e: unknown) => {
        // A part deleted or aborted meanwhile needs no flush.
        if (code(e) !== 'ENOENT') this.failed.set(path, e);
      },
    );
    const tracked = flush.finally(() => this.inflight.delete(path));
    this.inflight.set(path, tracked);
  }

  /** Makes the file at `path` durable (after its background flush, which must not have failed); resolves to its size. */
  async sync(path: string): Promise<number> {
    await this.inflight.get(path);
    if (this.failed.has(path)) throw this.failed.get(path);
    return syncFile(path);
  }

  /** Drops what is remembered about files under `prefix` (a deleted part, a finished upload). */
  forget(prefix: string): void {
    for (const path of this.failed.keys()) if (path.startsWith(prefix)) this.failed.delete(path);
  }

  /** Waits for the flushes in flight, so that closing leaves no descriptor open. */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all(this.inflight.values());
  }
}
