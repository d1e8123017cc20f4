// RedisMetaStore against the metadata conformance suite and a real redis-server: races between two
// store instances (two gateway processes), the exact key layout, prefixes, and a Redis outage.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { isGatewayError } from '../../packages/core/src/errors.js';
import { RedisMetaStore } from '../../packages/meta-redis/src/index.js';
import { metaConformance, type MetaFixture } from '../conformance/meta-suite.js';
import { freePort, startRedis, type TestRedis } from '../lib/redis.js';

const byteOrder = (x: string, y: string) => Buffer.compare(Buffer.from(x), Buffer.from(y));

metaConformance('RedisMetaStore', async () => {
  const redis = await startRedis();
  const fx: MetaFixture = {
    meta: await RedisMetaStore.open(redis.url),
    reopen: () => RedisMetaStore.open(redis.url),
    cleanup: async () => {
      await fx.meta.close();
      await redis.stop();
    },
  };
  return fx;
});

/** Asserts that `p` rejects with GatewayError ServiceUnavailable (503) within `ms`. */
async function rejectsUnavailable(p: Promise<unknown>, ms: number, what: string): Promise<void> {
  const started = Date.now();
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isGatewayError(e), `${what}: expected a GatewayError, got ${String(e)}`);
    assert.equal(e.code, 'ServiceUnavailable', what);
    assert.equal(e.status, 503, what);
    return true;
  });
  const took = Date.now() - started;
  assert.ok(took < ms, `${what} took ${took} ms to fail, more than ${ms} ms`);
}

/** Retries `op` until it succeeds; fails when that takes longer than `ms`. */
async function eventually<R>(op: () => Promise<R>, ms: number): Promise<R> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await op();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(100);
    }
  }
}

describe('RedisMetaStore on a real redis-server', () => {
  let redis: TestRedis;
  let raw: Redis;
  const stores: RedisMetaStore[] = [];
  const open = async (keyPrefix?: string) => {
    const s = await RedisMetaStore.open(redis.url, keyPrefix === undefined ? {} : { keyPrefix });
    stores.push(s);
    return s;
  };
  before(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url, { lazyConnect: true });
    await raw.connect();
  });
  after(async () => {
    for (const s of stores) await s.close();
    raw?.disconnect();
    await redis?.stop();
  });

  test('two store instances racing insert of one id: exactly one wins', async () => {
    const [a, b] = [await open('race:'), await open('race:')];
    for (let round = 0; round < 5; round++) {
      const id = `bucket-${round}`;
      const attempts = Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).insert('buckets', id, { owner: i }));
      const results = await Promise.all(attempts);
      assert.equal(results.filter(Boolean).length, 1, `round ${round}: ${results}`);
      const winner = results.indexOf(true);
      assert.deepEqual(await a.get('buckets', id), { owner: winner });
      assert.deepEqual(await b.get('buckets', id), { owner: winner });
    }
  });

  test('two store instances racing update increments lose no update', async () => {
    const [a, b] = [await open('race:'), await open('race:')];
    const inc = (cur: number | undefined) => (cur ?? 0) + 1;
    const results = await Promise.all(Array.from({ length: 80 }, (_, i) => (i % 2 ? a : b).update<number>('counters', 'c', inc)));
    assert.equal(await a.get('counters', 'c'), 80);
    assert.deepEqual([...results].sort((x, y) => x! - y!), Array.from({ length: 80 }, (_, i) => i + 1));
  });

  test('keys with unicode and separators: exact Redis keys, byte order, prefixes', async () => {
    const m = await open();
    const table = 'parts/ü: {x} 😀';
    const ids = ['a:b', 'a/b', 'a b', 'a', 'é', 'ÿ', 'ÿz', 'Ā', '日本/語', '😀', '\uFF5E', 'a\u0000b', '{tag}', 'Z', ' '];
    for (const id of ids) await m.put(table, id, { id });
    assert.deepEqual((await raw.keys('twinport:*')).sort(), [`twinport:idx:${table}`, `twinport:val:${table}`]);
    assert.equal(await raw.type(`twinport:idx:${table}`), 'zset');
    assert.equal(await raw.hget(`twinport:val:${table}`, '日本/語'), JSON.stringify({ id: '日本/語' }));
    const sorted = [...ids].sort(byteOrder);
    assert.deepEqual(await raw.zrangebylex(`twinport:idx:${table}`, '-', '+'), sorted);
    const listed = await m.list<{ id: string }>(table, { limit: 100 });
    assert.deepEqual(listed.map((e) => e.id), sorted);
    assert.ok(listed.every((e) => e.value.id === e.id));
    const idsOf = async (opts: { prefix?: string; after?: string; limit: number }) => (await m.list(table, opts)).map((e) => e.id);
    // 'ÿ' is C3 BF, so the end of its prefix range (C3 C0) is not valid UTF-8; 'Ā' (C4 80) is past it.
    assert.deepEqual(await idsOf({ prefix: 'ÿ', limit: 10 }), ['ÿ', 'ÿz']);
    assert.deepEqual(await idsOf({ prefix: '日本/', limit: 10 }), ['日本/語']);
    assert.deepEqual(await idsOf({ prefix: 'a', after: 'a', limit: 10 }), ['a\u0000b', 'a b', 'a/b', 'a:b']);
    assert.deepEqual(await idsOf({ after: 'é', limit: 2 }), sorted.slice(sorted.indexOf('é') + 1, sorted.indexOf('é') + 3));
    for (const id of ids) assert.equal(await m.delete(table, id), true);
    assert.deepEqual(await raw.keys('twinport:*'), [], 'an emptied table leaves no keys behind');
  });

  test('stores with different key prefixes do not see each other', async () => {
    const [p1, p2] = [await open('tenant-1:'), await open('tenant-2:')];
    await p1.put('buckets', 'shared-name', 'one');
    assert.equal(await p2.get('buckets', 'shared-name'), undefined);
    assert.deepEqual(await p2.list('buckets', { limit: 10 }), []);
    assert.equal(await p2.insert('buckets', 'shared-name', 'two'), true);
    assert.equal(await p1.get('buckets', 'shared-name'), 'one');
    assert.equal(await p2.delete('buckets', 'shared-name'), true);
    assert.deepEqual(await p1.list('buckets', { limit: 10 }), [{ id: 'shared-name', value: 'one' }]);
    assert.deepEqual((await raw.keys('tenant-*')).sort(), ['tenant-1:idx:buckets', 'tenant-1:val:buckets']);
  });

  test('open rejects with ServiceUnavailable when nothing listens', async () => {
    const port = await freePort();
    await rejectsUnavailable(RedisMetaStore.open(`redis://127.0.0.1:${port}`), 3000, 'open');
  });
});

describe('RedisMetaStore during a Redis outage', () => {
  let redis: TestRedis;
  let m: RedisMetaStore;
  before(async () => {
    redis = await startRedis();
    m = await RedisMetaStore.open(redis.url);
  });
  after(async () => {
    await m?.close();
    await redis?.stop();
  });

  const everyCall = (s: RedisMetaStore): Array<[string, () => Promise<unknown>]> => [
    ['get', () => s.get('t', 'k')],
    ['put', () => s.put('t', 'k', 1)],
    ['insert', () => s.insert('t', 'new', 1)],
    ['update', () => s.update<number>('t', 'k', (c) => (c ?? 0) + 1)],
    ['delete', () => s.delete('t', 'k')],
    ['list', () => s.list('t', { limit: 10 })],
  ];

  test('with redis-server stopped every call fails fast with 503, and works again after a restart', async () => {
    await m.put('t', 'k', 1);
    await redis.stop();
    for (const [name, call] of everyCall(m)) await rejectsUnavailable(call(), 2500, `${name} while stopped`);
    // Still failing (not hanging) after the client has been retrying for a while.
    await sleep(1500);
    await rejectsUnavailable(m.get('t', 'k'), 2500, 'get after 1.5 s down');

    await redis.restart();
    const started = Date.now();
    await eventually(() => m.put('t', 'k', 7), 5000);
    assert.ok(Date.now() - started < 5000);
    assert.equal(await m.get('t', 'k'), 7);
    assert.equal(await m.insert('t', 'new', 'x'), true);
    assert.equal(await m.update<number>('t', 'k', (c) => c! + 1), 8);
    assert.deepEqual(await m.list('t', { limit: 10 }), [{ id: 'k', value: 8 }, { id: 'new', value: 'x' }]);
    assert.equal(await m.delete('t', 'new'), true);
  });

  test('with redis-server not answering (SIGSTOP) calls time out with 503 within ~2 s, then recover', async () => {
    await m.put('t', 'k', 1);
    const pid = redis.pid()!;
    process.kill(pid, 'SIGSTOP');
    try {
      // All at once: each must time out by itself, not queue behind the others.
      await Promise.all(everyCall(m).map(([name, call]) => rejectsUnavailable(call(), 2500, `${name} while paused`)));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await eventually(() => m.get('t', 'k'), 5000);
    // Writes that timed out had reached Redis and ran, in order, once it resumed: put k, insert
    // `new`, delete k (update gave up at its read). Each landed whole: index and values agree.
    assert.equal(await m.get('t', 'k'), undefined);
    assert.deepEqual(await m.list('t', { limit: 10 }), [{ id: 'new', value: 1 }]);
    await m.put('t', 'k', 5);
    assert.equal(await m.get('t', 'k'), 5);
  });
});
