// A full disk under the gateway: writes are refused with 507 InsufficientStorage (QingStor:
// service_unavailable), nothing acknowledged is lost or torn, no temporary file is left, reads go
// on, and writes work again once space is freed, also after a restart. The data directory is a
// small tmpfs mounted by the test (root only, as in CI).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IN_CI, ROOT_KEY, startGateway, type TestGateway } from '../lib/gateway.js';
import { call, qingstor } from '../lib/qingstor.js';
import { byteSort, expectError, S3Http, tempFiles } from '../lib/s3http.js';

const MiB = 1024 * 1024;
const DISK = { driver: 'disk', meta: 'embedded' } as const;

/** Mounts a tmpfs of `size` on a new directory and runs `fn` with it; unmounts afterwards. Skips outside CI when mounting is not allowed. */
async function onSmallDisk(t: TestContext, size: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'twinport-full-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    const why = `mounting a tmpfs failed (it needs root): ${mounted.stderr || mounted.error}`;
    if (IN_CI) assert.fail(why);
    return void t.skip(why);
  }
  try {
    await fn(dir);
  } finally {
    spawnSync('umount', ['-l', dir]);
    await rm(dir, { recursive: true, force: true });
  }
}

/** PUTs `size`-byte objects `<prefix><n>` until one is refused (at most `max`); returns the stored ones and the refusal. */
async function fill(s3: S3Http, bucket: string, prefix: string, size: number, max: number) {
  const stored = new Map<string, Buffer>();
  for (let n = 0; n < max; n++) {
    const key = `${prefix}${n}`;
    const body = randomBytes(size);
    const res = await s3.send({ method: 'PUT', path: `/${bucket}/${key}`, body });
    if (res.status !== 200) return { stored, refused: { key, res } };
    stored.set(key, body);
  }
  assert.fail(`${max} PUTs of ${size} bytes all succeeded: the storage never filled up`);
}

/** The gateway logged errors, and each of them is a full storage. */
function assertOnlyStorageFull(gw: TestGateway): void {
  const errors = gw.logs.map((l) => JSON.parse(l) as { level?: number; msg?: string; status?: number }).filter((e) => (e.level ?? 0) >= 50 || e.status === 500);
  assert.ok(errors.length > 0, 'a full storage is logged');
  assert.deepEqual([...new Set(errors.map((e) => e.msg))], ['storage full']);
}

test('disk driver: a full disk refuses writes with 507, keeps every acknowledged object, and recovers', async (t) => {
  await onSmallDisk(t, '16m', async (dir) => {
    const dataDir = join(dir, 'data');
    await mkdir(dataDir);
    let gw = await startGateway({ dataDir, backend: DISK });
    let s3 = new S3Http(gw.endpoint);
    try {
      await s3.createBucket('full');
      await s3.put('full', 'keep', 'precious bytes');

      // Blob files fill the disk first, then the index's inline objects.
      const big = await fill(s3, 'full', 'big-', MiB, 64);
      assert.ok(big.stored.size >= 4, `only ${big.stored.size} MiB objects fit`);
      await expectError(big.refused.res, 507, 'InsufficientStorage');
      const small = await fill(s3, 'full', 'small-', 4096, 20_000);
      await expectError(small.refused.res, 507, 'InsufficientStorage');

      const qs = await call(qingstor(gw).Bucket('full', 'pek3a').putObject('qs-object', { body: randomBytes(MiB) }));
      assert.equal(qs.status, 503);
      assert.equal(qs.data.code, 'service_unavailable');
      assert.match(qs.data.message, /storage is full/);

      const stored = new Map([['keep', Buffer.from('precious bytes')], ...big.stored, ...small.stored]);
      const check = async () => {
        assert.deepEqual(await s3.keys('full'), byteSort([...stored.keys()]));
        for (const key of ['keep', ...[...big.stored.keys()].slice(0, 3), ...[...small.stored.keys()].slice(-3)]) await s3.assertObject('full', key, stored.get(key)!);
        await s3.assertMissing('full', big.refused.key);
        await s3.assertMissing('full', small.refused.key);
        assert.deepEqual(await tempFiles(gw), []);
      };
      await check();

      // Freeing space makes writes work again, without a restart.
      for (const key of [...big.stored.keys()].slice(0, 3)) {
        assert.equal((await s3.send({ method: 'DELETE', path: `/full/${key}` })).status, 204);
        stored.delete(key);
        big.stored.delete(key);
      }
      const after = randomBytes(MiB);
      await s3.put('full', 'after', after);
      stored.set('after', after);
      await check();
      assertOnlyStorageFull(gw);

      // And everything acknowledged is still there after a restart.
      await s3.close();
      await gw.stop({ keepData: true });
      gw = await startGateway({ dataDir, backend: DISK });
      s3 = new S3Http(gw.endpoint);
      await check();
      await s3.assertObject('full', 'after', after);
    } finally {
      await s3.close();
      await gw.stop({ keepData: true });
    }
  });
});

test('s3 driver: an upstream whose disk is full refuses writes with 507, and the gateway keeps serving reads', async (t) => {
  await onSmallDisk(t, '12m', async (dir) => {
    const dataDir = join(dir, 'data');
    await mkdir(dataDir);
    const upstream = await startGateway({ dataDir, backend: DISK });
    let gw: TestGateway | undefined;
    let s3: S3Http | undefined;
    try {
      gw = await startGateway({
        env: {
          GATEWAY_DRIVER: 's3', GATEWAY_META: 'embedded', GATEWAY_UPSTREAM_ENDPOINT: upstream.endpoint,
          GATEWAY_UPSTREAM_ACCESS_KEY: ROOT_KEY.accessKey, GATEWAY_UPSTREAM_SECRET_KEY: ROOT_KEY.secretKey, GATEWAY_UPSTREAM_REGION: 'pek3a',
        },
      });
      s3 = new S3Http(gw.endpoint);
      await s3.createBucket('full');
      const big = await fill(s3, 'full', 'big-', MiB, 64);
      assert.ok(big.stored.size >= 2, `only ${big.stored.size} MiB objects fit`);
      const err = await expectError(big.refused.res, 507, 'InsufficientStorage');
      assert.match(err.Message, /upstream storage service is full/);
      assert.deepEqual(await s3.keys('full'), byteSort([...big.stored.keys()]));
      for (const [key, body] of big.stored) await s3.assertObject('full', key, body);
      await s3.assertMissing('full', big.refused.key);
    } finally {
      await s3?.close();
      await gw?.stop();
      await upstream.stop({ keepData: true });
    }
  });
});
