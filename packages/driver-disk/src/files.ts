import { createWriteStream } from 'node:fs';
import { copyFile, link, open, rm, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Streams `body` into a new file at `path`, after the chunks in `head` (already read from it), and
 * resolves to the byte count. With `durable`, the file is fsynced before it resolves.
 * On any failure (including an error raised by `body`) the file is removed and the error rethrown.
 */
export async function receive(body: Readable, path: string, opts: { durable: boolean; head?: readonly Buffer[] }): Promise<number> {
  // A WriteStream batches queued chunks into writev calls, which keeps throughput at raw-fs
  // speed; `flush` fsyncs before the close that pipeline waits for.
  const out = createWriteStream(path, { flags: 'wx', flush: opts.durable, highWaterMark: 1 << 20 });
  try {
    for (const chunk of opts.head ?? []) out.write(chunk);
    await pipeline(body, out);
    return out.bytesWritten;
  } catch (e) {
    // The open may still be in flight; unlinking before the stream closes could miss the file.
    if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
    await unlinkQuiet(path).catch(() => {});
    throw e;
  }
}

/** Makes a file's bytes durable (fdatasync) and returns its size. */
export async function syncFile(path: string): Promise<number> {
  const fh = await open(path, 'r+');
  try {
    await fh.datasync();
    return (await fh.stat()).size;
  } finally {
    await fh.close();
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

/** Maps with at most `limit` calls in flight, keeping thousands of parts from exhausting descriptors. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
