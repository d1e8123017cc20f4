import type { Database } from 'lmdb';
import { unlinkQuiet } from './files.js';

/**
 * Deletes blob files that no committed index entry references any more.
 *
 * Every id handed to `reap` is already recorded in the durable `pending` table, so a crash at any
 * point only leaves work that the next open finishes. Blobs that a reader in this process is
 * still streaming are pinned: their deletion waits until the last reader lets go, so a GET that
 * started before an overwrite or delete always reads the bytes it started with.
 */
export class Reaper {
  private readonly pins = new Map<string, number>();
  private readonly deferred = new Set<string>();
  private readonly background = new Set<Promise<void>>();

  /** Reaps blobs found at `pathOf(id)` and clears their ids from `pending`. */
  constructor(
    private readonly pathOf: (id: string) => string,
    private readonly pending: Database<unknown, string>,
  ) {}

  /** Keeps the given blobs on disk until the returned function is called (idempotent). */
  pin(ids: readonly string[]): () => void {
    for (const id of ids) this.pins.set(id, (this.pins.get(id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const free: string[] = [];
      for (const id of ids) {
        const n = (this.pins.get(id) ?? 1) - 1;
        if (n > 0) {
          this.pins.set(id, n);
          continue;
        }
        this.pins.delete(id);
        if (this.deferred.delete(id)) free.push(id);
      }
      if (free.length > 0) this.track(this.remove(free));
    };
  }

  /**
   * Deletes the files of pending blobs now, or when their last reader finishes. Never rejects:
   * a file that cannot be deleted keeps its pending entry and is retried at the next open.
   */
  async reap(ids: readonly string[]): Promise<void> {
    const now: string[] = [];
    for (const id of ids) {
      if (this.pins.has(id)) this.deferred.add(id);
      else now.push(id);
    }
    if (now.length > 0) await this.remove(now);
  }

  /** Waits for background bookkeeping, so that closing the index loses none of it. */
  async drain(): Promise<void> {
    while (this.background.size > 0) await Promise.all(this.background);
  }

  private async remove(ids: readonly string[]): Promise<void> {
    const gone: string[] = [];
    await Promise.all(
      ids.map(async (id) => {
        try {
          await unlinkQuiet(this.pathOf(id));
          gone.push(id);
        } catch {
          // Left pending: the next open retries it.
        }
      }),
    );
    if (gone.length === 0) return;
    // Clearing the entries only saves the next open a few no-op unlinks, so nobody waits for it.
    this.track(
      Promise.resolve().then(() =>
        this.pending.childTransaction(() => {
          for (const id of gone) this.pending.remove(id);
        }),
      ),
    );
  }

  private track(work: Promise<unknown>): void {
    const p: Promise<void> = work.then(
      () => {},
      // lmdb-js hands the cause of a failed commit to a promise of its own, which must be settled too.
      (e: unknown) => void (e as { commitError?: Promise<unknown> } | null)?.commitError?.catch(() => {}),
    );
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }
}
