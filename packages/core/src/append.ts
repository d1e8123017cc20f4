import { Readable } from 'node:stream';
import { GatewayError, isGatewayError } from './errors.js';
import type { Driver } from './driver.js';
import type { BodyInput } from './engine.js';
import { DigestStream } from './digest.js';
import { MAX_OBJECT_SIZE, pickAttrs } from './seal.js';
import { chain } from './streams.js';
import type { ObjectAttributes, ObjectRecord } from './types.js';

/**
 * Appends `input` to the appendable object `key` at `position`, which must be its current size (0
 * for a new object). Drivers have no append of their own: the object is rewritten as the old bytes
 * followed by the new ones, in one stream, and committed only if nobody changed it meanwhile — so
 * the result is a whole object with a true MD5 ETag, and a failed append changes nothing.
 */
export async function appendObject(driver: Driver, bucket: string, key: string, position: number, input: BodyInput, attrs: ObjectAttributes): Promise<ObjectRecord> {
  if (!Number.isSafeInteger(position) || position < 0) throw new GatewayError('InvalidArgument', 'The position must be a non-negative integer.', { ArgumentName: 'position', ArgumentValue: String(position) });
  let current = await driver.headObject(bucket, key);
  if (current && !current.appendable) {
    // A driver that keeps the flag beside the object (the s3 driver's sidecar) shows an appendable
    // object that another append has just written without it for an instant: look once more.
    await new Promise((resolve) => setTimeout(resolve, 50));
    current = await driver.headObject(bucket, key);
    if (current && !current.appendable) throw new GatewayError('InvalidObjectState', 'The object is not appendable.');
  }
  const size = current?.size ?? 0;
  if (position !== size) throw new GatewayError('InvalidWriteOffset', undefined, { Position: String(position), NextAppendPosition: String(size) });
  const appended = new DigestStream({ maxLength: MAX_OBJECT_SIZE - size, ...input.expect });
  const tail = chain(input.body, appended);
  let head: Readable | undefined;
  if (current && size > 0) {
    const got = await driver.getObject(bucket, key);
    if (!got || got.record.etag !== current.etag) throw new GatewayError('InvalidWriteOffset', 'The object changed during the append.');
    head = got.body;
  }
  const whole = new DigestStream({});
  const body = chain(Readable.from(concat(head, tail)), whole);
  const kept = current ? pickAttrs(current) : attrs;
  const declared = input.expect.length === undefined ? undefined : size + input.expect.length;
  try {
    return await driver.putObject(bucket, key, body, {
      attrs: kept,
      size: declared,
      seal: () => ({ ...kept, key, size: whole.result().size, etag: whole.result().md5.toString('hex'), lastModified: Date.now(), appendable: true }),
      check: (cur) => {
        if ((cur?.etag ?? undefined) !== (current?.etag ?? undefined)) throw new GatewayError('InvalidWriteOffset', 'The object changed during the append.');
      },
    });
  } catch (e) {
    // Another append won the race: the upstream's conditional write says so as PreconditionFailed.
    if (!(isGatewayError(e) && (e.code === 'PreconditionFailed' || e.code === 'InvalidWriteOffset'))) throw e;
    const now = await driver.headObject(bucket, key);
    throw new GatewayError('InvalidWriteOffset', 'The object changed during the append.', { Position: String(position), NextAppendPosition: String(now?.size ?? 0) });
  }
}

async function* concat(head: Readable | undefined, tail: Readable): AsyncGenerator<Buffer> {
  try {
    if (head) for await (const chunk of head) yield chunk as Buffer;
    for await (const chunk of tail) yield chunk as Buffer;
  } finally {
    head?.destroy();
    tail.destroy();
  }
}
