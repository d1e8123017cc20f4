import { statfs } from 'node:fs/promises';
import { isNoSpace, storageFull } from './errors.js';

/** Free bytes below which a failed write is put down to a full filesystem. */
const NEARLY_FULL = 1024 * 1024;

/**
 * What a failed write to the filesystem holding `dir` should be answered with: InsufficientStorage
 * when the filesystem is full, else the failure itself. lmdb-js rejects a failed commit with a
 * generic "Commit failed" whose cause arrives in a `commitError` promise; that promise is always
 * settled here (it would otherwise be an unhandled rejection). On a full disk the cause is ENOSPC,
 * or EIO when LMDB's write came up short, so an EIO counts as full only when the filesystem has
 * (nearly) no free space left.
 */
export async function storageFailure(e: unknown, dir: string): Promise<unknown> {
  const commitError = (e as { commitError?: Promise<unknown> } | null)?.commitError;
  const cause = commitError && typeof commitError.then === 'function' ? await commitError.then(() => e, (c: unknown) => c) : e;
  if (isNoSpace(cause)) return storageFull();
  if ((cause as { code?: unknown } | null)?.code === 5 || (cause as { code?: unknown } | null)?.code === 'EIO') {
    const fs = await statfs(dir).catch(() => undefined);
    if (fs && fs.bavail * fs.bsize < NEARLY_FULL) return storageFull();
  }
  return e;
}
