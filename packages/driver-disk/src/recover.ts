import { mkdir } from 'node:fs/promises';
import type { Database } from 'lmdb';
import { FAN_OUT, BLOB_ID, type Layout } from './layout.js';
import { removeTree, syncDir, unlinkQuiet } from './files.js';

/**
 * Creates the directory layout and finishes whatever a previous process left half done: it wipes
 * `tmp/` and deletes every blob listed in the `pending` table. The protocol in index.ts guarantees
 * that a pending id is never referenced by a committed index entry, so this touches only garbage,
 * and its cost is bounded by the writes that were in flight, not by the number of stored blobs.
 */
export async function prepare(layout: Layout): Promise<void> {
  await removeTree(layout.tmp);
  await mkdir(layout.tmp, { recursive: true });
  await mkdir(layout.uploads, { recursive: true });
  await mkdir(layout.index, { recursive: true });
  await Promise.all(FAN_OUT.map((d) => mkdir(`${layout.blobs}/${d}`, { recursive: true })));
  await Promise.all([syncDir(layout.root), syncDir(layout.blobs)]);
}

/** Deletes the blobs of interrupted writes and of interrupted deletions. */
export async function reapPending(layout: Layout, pending: Database<unknown, string>): Promise<number> {
  const ids = [...pending.getKeys()];
  for (let i = 0; i < ids.length; i += 64) {
    await Promise.all(ids.slice(i, i + 64).map((id) => (BLOB_ID.test(id) ? unlinkQuiet(layout.blobPath(id)) : undefined)));
  }
  if (ids.length > 0) {
    await pending.childTransaction(() => {
      for (const id of ids) pending.remove(id);
    });
  }
  return ids.length;
}
