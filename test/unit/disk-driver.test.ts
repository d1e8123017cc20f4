// DiskDriver against the driver conformance suite, plus what only a filesystem driver can get wrong.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { open as openLmdb } from 'lmdb';
import { DiskDriver, INLINE_MAX } from '../../packages/driver-disk/src/index.js';
import { Layout } from '../../packages/driver-disk/src/layout.js';
import { isGatewayError } from '../../packages/core/src/errors.js';
import { driverConformance } from '../conformance/driver-suite.js';
import { NO_ATTRS, bodyOf, partOf, readAll, recordOf } from '../conformance/streams.js';

const scratch = () => mkdtemp(join(tmpdir(), 'twinport-disk-'));

/** Every file under `dir`, as paths relative to it. */
async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath ?? e.path, e.name))).sort();
}

/** The ids in the driver's pending table, read with the driver closed. */
async function pendingIds(dataDir: string): Promise<string[]> {
  const env = openLmdb({ path: new Layout(dataDir).index, overlappingSync: false, maxDbs: 4 });
  const ids = [...env.openDB<unknown, string>({ name: 'pending', encoding: 'json' }).getKeys()] as string[];
  await env.close();
  return ids;
}

driverConformance('DiskDriver', async () => {
  const dir = await scratch();
  const driver = await DiskDriver.open(dir);
  const layout = new Layout(dir);
  return {
    driver,
    inlineMax: INLINE_MAX,
    leftovers: async () => [...(await readdir(layout.tmp)), ...(await readdir(layout.uploads)).map((u) => `uploads/${u}`)],
    cleanup: async () => {
      await driver.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('DiskDriver on disk', () => {
  const blobFiles = async (dir: string) => (await walk(new Layout(dir).blobs)).length;

  test('open cleans what a crash left and keeps every committed object', async () => {
    const dir = await scratch();
    let d = await DiskDriver.open(dir);
    await d.createBucket('b');
    await d.putObject('b', 'keep', bodyOf('hello'), { attrs: NO_ATTRS, seal: () => recordOf('keep', 'hello') });
    const big = randomBytes(INLINE_MAX + 1);
    await d.putObject('b', 'big', bodyOf(big), { attrs: NO_ATTRS, seal: () => recordOf('big', big) });
    const up = { uploadId: `u_${randomUUID()}`, key: 'mp' };
    const parts = [await d.putPart('b', up, 1, bodyOf('one'), { seal: () => partOf(1, 'one') }), await d.putPart('b', up, 2, bodyOf('two'), { seal: () => partOf(2, 'two') })];
    await d.completeUpload('b', up, parts, recordOf('mp', 'onetwo'));
    await d.close();

    const layout = new Layout(dir);
    await writeFile(join(layout.tmp, randomUUID()), 'half an upload');
    await writeFile(join(layout.tmp, 'stray'), 'x');
    // A blob renamed into place whose index commit never happened, and one whose unlink never did.
    const orphan = randomUUID();
    const unreaped = randomUUID();
    const vanished = randomUUID();
    await writeFile(layout.blobPath(orphan), 'never committed');
    await writeFile(layout.blobPath(unreaped), 'replaced long ago');
    const env = openLmdb({ path: layout.index, overlappingSync: false, maxDbs: 4 });
    const pending = env.openDB<unknown, string>({ name: 'pending', encoding: 'json' });
    for (const id of [orphan, unreaped, vanished]) await pending.put(id, 1);
    await env.close();
    assert.equal(await blobFiles(dir), 5);

    d = await DiskDriver.open(dir);
    assert.deepEqual(await readdir(layout.tmp), []);
    assert.equal(await blobFiles(dir), 3, 'only the blobs of big and of the two parts of mp remain');
    assert.equal((await readAll((await d.getObject('b', 'keep'))!.body)).toString(), 'hello');
    assert.ok(big.equals(await readAll((await d.getObject('b', 'big'))!.body)));
    assert.equal((await readAll((await d.getObject('b', 'mp'))!.body)).toString(), 'onetwo');
    await d.close();
    assert.deepEqual(await pendingIds(dir), []);
    await rm(dir, { recursive: true, force: true });
  });

  test('a completeUpload refused by its check leaves the upload intact and no blob behind', async () => {
    const dir = await scratch();
    const d = await DiskDriver.open(dir);
    await d.createBucket('b');
    const up = { uploadId: `u_${randomUUID()}`, key: 'mp' };
    const parts = [await d.putPart('b', up, 1, bodyOf('one'), { seal: () => partOf(1, 'one') }), await d.putPart('b', up, 2, bodyOf('two'), { seal: () => partOf(2, 'two') })];
    const refuse = () => {
      throw new Error('precondition');
    };
    await assert.rejects(d.completeUpload('b', up, parts, recordOf('mp', 'onetwo'), refuse), /precondition/);
    assert.equal(await blobFiles(dir), 0);
    await d.completeUpload('b', up, parts, recordOf('mp', 'onetwo'));
    assert.equal((await readAll((await d.getObject('b', 'mp'))!.body)).toString(), 'onetwo');
    assert.deepEqual(await readdir(new Layout(dir).uploads), []);
    await d.close();
    assert.deepEqual(await pendingIds(dir), []);
    await rm(dir, { recursive: true, force: true });
  });

  test('small objects live in the index: no file, and overwrites either way reap the replaced blob', async () => {
    const dir = await scratch();
    const layout = new Layout(dir);
    let d = await DiskDriver.open(dir);
    await d.createBucket('b');
    const files = async () => [await blobFiles(dir), (await readdir(layout.tmp)).length];
    const [atMax, overMax, small] = [randomBytes(INLINE_MAX), randomBytes(INLINE_MAX + 1), randomBytes(10)];
    await d.putObject('b', 'k', bodyOf(atMax), { attrs: NO_ATTRS, seal: () => recordOf('k', atMax) });
    assert.deepEqual(await files(), [0, 0], 'INLINE_MAX bytes: no file at all');
    await d.putObject('b', 'k', bodyOf(overMax), { attrs: NO_ATTRS, seal: () => recordOf('k', overMax) });
    assert.deepEqual(await files(), [1, 0], 'one byte more: a blob');
    await d.putObject('b', 'k', bodyOf(small), { attrs: NO_ATTRS, seal: () => recordOf('k', small) });
    assert.deepEqual(await files(), [0, 0], 'overwritten by a small object: the blob is reaped');
    await d.putObject('b', 'k', bodyOf(overMax), { attrs: NO_ATTRS, seal: () => recordOf('k', overMax) });
    await d.copyObject({ bucket: 'b', key: 'k' }, { bucket: 'b', key: 'c' }, recordOf('c', overMax));
    assert.deepEqual(await files(), [2, 0]);
    await d.putObject('b', 'c', bodyOf(small), { attrs: NO_ATTRS, seal: () => recordOf('c', small) });
    assert.deepEqual(await files(), [1, 0], 'the copy, overwritten by a small object, is reaped');
    await d.copyObject({ bucket: 'b', key: 'c' }, { bucket: 'b', key: 'k' }, recordOf('k', small));
    assert.deepEqual(await files(), [0, 0], 'a small copy over a large object reaps its blob');
    await d.putObject('b', 'gone', bodyOf(atMax), { attrs: NO_ATTRS, seal: () => recordOf('gone', atMax) });
    await d.deleteObject('b', 'gone');
    await d.close();
    assert.deepEqual(await pendingIds(dir), []);
    d = await DiskDriver.open(dir);
    for (const key of ['k', 'c']) assert.ok(small.equals(await readAll((await d.getObject('b', key))!.body)), `${key} after reopening`);
    assert.equal(await d.getObject('b', 'gone'), undefined);
    assert.deepEqual((await d.listObjects('b', { prefix: '', limit: 10 })).map((r) => [r.key, r.size]), [['c', 10], ['k', 10]]);
    await d.deleteBucket('b');
    assert.deepEqual(await d.listObjects('b', { prefix: '', limit: 10 }), []);
    await d.createBucket('b');
    assert.equal(await d.getObject('b', 'k'), undefined, 'deleting the bucket dropped the inline bytes too');
    await d.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('completeUpload refuses a part file cut short or missing (InvalidPart) and adopts nothing', async () => {
    const dir = await scratch();
    const layout = new Layout(dir);
    const d = await DiskDriver.open(dir);
    await d.createBucket('b');
    const up = { uploadId: `u_${randomUUID()}`, key: 'mp' };
    const [one, two] = [randomBytes(100_000), randomBytes(5_000)];
    const parts = [await d.putPart('b', up, 1, bodyOf(one), { seal: () => partOf(1, one) }), await d.putPart('b', up, 2, bodyOf(two), { seal: () => partOf(2, two) })];
    const whole = Buffer.concat([one, two]);
    const invalidPart = (n: number) => (e: unknown) => isGatewayError(e) && e.code === 'InvalidPart' && e.details?.PartNumber === String(n);
    await truncate(layout.partPath(up.uploadId, parts[0].ref), 4096);
    await assert.rejects(d.completeUpload('b', up, parts, recordOf('mp', whole)), invalidPart(1));
    await unlink(layout.partPath(up.uploadId, parts[1].ref));
    await assert.rejects(d.completeUpload('b', up, parts.slice(1), recordOf('mp', two)), invalidPart(2));
    assert.equal(await d.headObject('b', 'mp'), undefined);
    assert.equal(await blobFiles(dir), 0);
    await d.abortUpload('b', up);
    assert.deepEqual(await readdir(layout.uploads), []);
    await d.close();
    assert.deepEqual(await pendingIds(dir), []);
    await rm(dir, { recursive: true, force: true });
  });

  for (const delay of [20, 60, 150, 400]) {
    test(`SIGKILL after ${delay} ms loses nothing acknowledged and leaks nothing`, async () => {
      const dir = await scratch();
      try {
        await crashRound(dir, delay);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  test('keys never become paths: nothing is created outside the data directory', async () => {
    const root = await scratch();
    const dataDir = join(root, 'data');
    const d = await DiskDriver.open(dataDir);
    await d.createBucket('t');
    const before = await walk(root);
    // Bodies too large to live in the index, so that every key gets a file.
    const body = (i: number) => Buffer.concat([Buffer.from(`v${i}`), Buffer.alloc(INLINE_MAX)]);
    const keys = ['../x', '../../x', 'a/../../b', '/etc/passwd', '..', '.', '../', '%2e%2e/x', '..\\..\\x', 'nul\0byte', '/'.repeat(1024), `${'../'.repeat(341)}x`];
    for (const [i, k] of keys.entries()) await d.putObject('t', k, bodyOf(body(i)), { attrs: NO_ATTRS, seal: () => recordOf(k, body(i)) });
    for (const [i, k] of keys.entries()) assert.ok(body(i).equals(await readAll((await d.getObject('t', k))!.body)), k);
    const listed = (await d.listObjects('t', { prefix: '', limit: 100 })).map((r) => r.key);
    assert.deepEqual(listed, [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    const created = (await walk(root)).filter((f) => !before.includes(f));
    assert.equal(created.length, keys.length);
    for (const f of created) assert.match(f, /^data\/objects\/blobs\/[0-9a-f]{2}\/[0-9a-f-]{36}$/);
    for (const f of await walk(root)) assert.ok(f.startsWith('data/objects/'), f);
    await d.close();
    await rm(root, { recursive: true, force: true });
  });

  test('streams release descriptors when destroyed early, and a read in progress outlives an overwrite', async () => {
    const dir = await scratch();
    const d = await DiskDriver.open(dir);
    await d.createBucket('b');
    const v1 = randomBytes(4 << 20);
    await d.putObject('b', 'k', bodyOf(v1), { attrs: NO_ATTRS, seal: () => recordOf('k', v1) });
    const fds = () => readdirSync('/proc/self/fd').length;
    const settle = () => new Promise((r) => setTimeout(r, 20));
    await settle();
    const base = fds();
    for (let i = 0; i < 20; i++) {
      const r = (await d.getObject('b', 'k', { start: 1, end: v1.length - 2 }))!;
      if (i % 2) await new Promise((ok) => r.body.once('data', ok));
      r.body.destroy();
    }
    for (let i = 0; i < 50 && fds() > base; i++) await settle();
    assert.ok(fds() <= base, `descriptors leaked: ${fds()} > ${base}`);

    const reading = (await d.getObject('b', 'k'))!;
    const v2 = randomBytes(INLINE_MAX + 1);
    await d.putObject('b', 'k', bodyOf(v2), { attrs: NO_ATTRS, seal: () => recordOf('k', v2) });
    assert.equal(await blobFiles(dir), 2, 'the old blob waits for its reader');
    assert.ok(v1.equals(await readAll(reading.body)));
    for (let i = 0; i < 50 && (await blobFiles(dir)) > 1; i++) await settle();
    assert.equal(await blobFiles(dir), 1, 'and goes once the reader is done');
    const again = (await d.getObject('b', 'k'))!;
    await d.putObject('b', 'k', bodyOf('v3'), { attrs: NO_ATTRS, seal: () => recordOf('k', 'v3') });
    assert.equal(await blobFiles(dir), 1, 'replaced by a small object, the blob still waits for its reader');
    assert.ok(v2.equals(await readAll(again.body)));
    for (let i = 0; i < 50 && (await blobFiles(dir)) > 0; i++) await settle();
    assert.equal(await blobFiles(dir), 0);
    await d.deleteObject('b', 'k');
    await d.close();
    assert.deepEqual(await pendingIds(dir), []);
    await rm(dir, { recursive: true, force: true });
  });
});

// The crash test: a child process writes, overwrites, deletes and completes multipart uploads on
// four keys, logging each operation before and after; the parent SIGKILLs it mid-flight. Every key
// must then read as the result of its last acknowledged operation or of the one in flight.
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const driverUrl = pathToFileURL(join(repoRoot, 'packages/driver-disk/src/index.ts')).href;
const opOf = (i: number) => (['put', 'put', 'multipart', 'delete', 'put'] as const)[Math.floor(i / 4) % 5];
const contentSrc = `(i) => {
  const size = (i * 7919) % 200000 + 1;
  const seed = createHash('sha256').update(String(i)).digest();
  const out = Buffer.alloc(size);
  for (let o = 0; o < size; o += 32) seed.copy(out, o);
  return out;
}`;
const content = new Function('createHash', `return ${contentSrc}`)(createHash) as (i: number) => Buffer;

const childScript = `
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { DiskDriver } from ${JSON.stringify(driverUrl)};
const content = ${contentSrc};
const opOf = ${opOf.toString()};
const d = await DiskDriver.open(process.argv[2]);
await d.createBucket('crash');
console.log('ready');
const rec = (key, i, size) => ({ key, size, etag: 'e' + i, lastModified: 0, userMeta: {} });
const part = (n, b) => ({ seal: () => ({ partNumber: n, size: b.length, etag: 'p', lastModified: 0 }) });
await Promise.all([0, 1, 2, 3].map(async (lane) => {
  const key = 'k' + lane;
  for (let i = lane; ; i += 4) {
    const data = content(i);
    console.log('start', lane, i);
    if (opOf(i) === 'delete') await d.deleteObject('crash', key);
    else if (opOf(i) === 'multipart') {
      const up = { uploadId: 'u' + i, key }, a = data.subarray(0, data.length >> 1), b = data.subarray(data.length >> 1);
      const parts = [await d.putPart('crash', up, 1, Readable.from([a]), part(1, a)), await d.putPart('crash', up, 2, Readable.from([b]), part(2, b))];
      await d.completeUpload('crash', up, parts, rec(key, i, data.length));
    } else await d.putObject('crash', key, Readable.from([data.subarray(0, 1000), data.subarray(1000)]), { attrs: { userMeta: {} }, seal: () => rec(key, i, data.length) });
    console.log('done', lane, i);
  }
}));
`;

async function crashRound(dataDir: string, delay: number): Promise<void> {
  const script = join(dataDir, 'child.mjs');
  await writeFile(script, childScript);
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--import', 'tsx', script, dataDir], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  const closed = once(child, 'close');
  for (let t = 0; !out.includes('ready\n'); t++) {
    assert.ok(t < 600 && child.exitCode === null, 'child failed to start');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, delay));
  child.kill('SIGKILL');
  await closed;

  const lanes = [0, 1, 2, 3].map(() => ({ done: undefined as number | undefined, inflight: undefined as number | undefined }));
  for (const line of out.split('\n').slice(0, -1)) {
    const [what, lane, i] = line.split(' ');
    if (what === 'start') lanes[Number(lane)].inflight = Number(i);
    if (what === 'done') lanes[Number(lane)] = { done: Number(i), inflight: undefined };
  }
  const stateOf = (i: number | undefined) => (i === undefined || opOf(i) === 'delete' ? undefined : i);
  const d = await DiskDriver.open(dataDir);
  let blobs = 0;
  for (const [lane, { done, inflight }] of lanes.entries()) {
    const allowed = new Set([stateOf(done), ...(inflight === undefined ? [] : [stateOf(inflight)])]);
    const head = await d.headObject('crash', `k${lane}`);
    const present = head ? Number(head.etag.slice(1)) : undefined;
    assert.ok(allowed.has(present), `lane ${lane}: found ${present}, expected one of ${[...allowed]}`);
    if (present === undefined) continue;
    assert.ok(content(present).equals(await readAll((await d.getObject('crash', `k${lane}`))!.body)), `lane ${lane} bytes`);
    // A single PUT small enough lives in the index, without a blob.
    blobs += opOf(present) === 'multipart' ? 2 : content(present).length > INLINE_MAX ? 1 : 0;
  }
  const layout = new Layout(dataDir);
  assert.deepEqual(await readdir(layout.tmp), []);
  assert.equal((await walk(layout.blobs)).length, blobs, 'no blob outlives the crash unreferenced');
  await d.close();
  assert.deepEqual(await pendingIds(dataDir), []);
}
