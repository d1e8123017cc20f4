/** Byte-order helpers for stores that keep keys as UTF-8 bytes in an ordered index. */

/** The smallest key greater than every key that starts with `bytes`, or undefined if none exists. */
export function prefixSuccessor(bytes: Buffer): Buffer | undefined {
  const out = Buffer.from(bytes);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i]++;
      return out.subarray(0, i + 1);
    }
  }
  return undefined;
}

/** The smallest key strictly greater than `bytes` (the key itself followed by a NUL byte). */
export function keySuccessor(bytes: Buffer): Buffer {
  return Buffer.concat([bytes, Buffer.alloc(1)]);
}
