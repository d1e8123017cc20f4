import { copyFile, link, open, rm, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Streams `body` into a new file at `path` and makes its bytes durable; resolves to the byte count.
 * On any failure (including an error raised by `body`) the file is removed and the error rethrown.
 */
export async function receive(body: Readable, path: string): Promise<number> {
  const fh = await open(path, 'wx');
  let ok = false;
  try {
    // A WriteStream batches queued chunks into writev calls, which is what keeps throughput at
    // raw-fs speed; autoClose is off so that the handle stays ours for the datasync below.
    const out = fh.createWriteStream({ autoClose: false, emitClose: false, highWaterMark: 1 << 20 });
    await pipeline(body, out);
    await fh.datasync();
    ok = true;
    return out.bytesWritten;
  } finally {
    await fh.close().catch(() => {});
    if (!ok) await unlinkQuiet(path);
  }
}

/** Flushes a directory so that renames and links into it survive a power loss. */
export async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Removes a file, treating an already missing one as success. */
export async function unlinkQuiet(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if (code(e) !== 'ENOENT') throw e;
  }
}

/** Removes a directory tree, treating a missing one as success. */
export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/**
 * Gives the immutable file `src` a second name `dst`: a hard link where the filesystem allows
 * one, otherwise a durable copy.
 */
export async function linkOrCopy(src: string, dst: string): Promise<void> {
  try {
    await link(src, dst);
    return;
  } catch (e) {
    if (!['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK'].includes(code(e) ?? '')) throw e;
  }
  await copyFile(src, dst);
  const fh = await open(dst, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** The errno code of a thrown value, if it has one. */
export function code(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined;
}
