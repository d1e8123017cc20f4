// The one conformance suite every metadata store passes.
import assert from 'node:assert/strict';
import { describe, test, before, after } from 'node:test';
import type { MetaStore } from '../../packages/core/src/meta.js';

/** What a suite run needs from an implementation; `reopen` opens the same data again after a close. */
export interface MetaFixture {
  meta: MetaStore;
  cleanup: () => Promise<void>;
  reopen?: () => Promise<MetaStore>;
}

const byteOrder = (x: string, y: string) => Buffer.compare(Buffer.from(x), Buffer.from(y));

/** Registers the metadata store conformance tests for the implementation that `open` creates. */
export function metaConformance(name: string, open: () => Promise<MetaFixture>): void {
  describe(`meta conformance: ${name}`, () => {
    let fx: MetaFixture;
    let m: MetaStore;
    before(async () => {
      fx = await open();
      m = fx.meta;
    });
    after(() => fx?.cleanup());

    test('get, put and replace', async () => {
      assert.equal(await m.get('t-basic', 'missing'), undefined);
      const value = { name: 'b', n: 1, nested: { list: [1, 'two', null], flag: true } };
      await m.put('t-basic', 'x', value);
      assert.deepEqual(await m.get('t-basic', 'x'), value);
      await m.put('t-basic', 'x', 'replaced');
      assert.equal(await m.get('t-basic', 'x'), 'replaced');
      await m.put('t-basic', 'n', 0);
      assert.equal(await m.get('t-basic', 'n'), 0);
    });

    test('insert only when absent, atomically', async () => {
      assert.equal(await m.insert('t-insert', 'k', { v: 1 }), true);
      assert.equal(await m.insert('t-insert', 'k', { v: 2 }), false);
      assert.deepEqual(await m.get('t-insert', 'k'), { v: 1 });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => m.insert('t-insert', 'race', i)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await m.get('t-insert', 'race'), results.indexOf(true));
    });

    test('update is an atomic read-modify-write', async () => {
      const inc = (cur: number | undefined) => (cur ?? 0) + 1;
      const all = await Promise.all(Array.from({ length: 50 }, () => m.update<number>('t-update', 'counter', inc)));
      assert.equal(await m.get('t-update', 'counter'), 50);
      assert.deepEqual([...all].sort((x, y) => x! - y!), Array.from({ length: 50 }, (_, i) => i + 1));
    });

    test('update: a throwing fn changes nothing; undefined deletes', async () => {
      await m.put('t-update2', 'k', { v: 1 });
      const boom = new Error('no');
      await assert.rejects(
        m.update('t-update2', 'k', () => {
          throw boom;
        }),
        boom,
      );
      assert.deepEqual(await m.get('t-update2', 'k'), { v: 1 });
      assert.deepEqual(await m.update<{ v: number }>('t-update2', 'k', (c) => ({ v: c!.v + 1 })), { v: 2 });
      assert.equal(await m.update('t-update2', 'k', () => undefined), undefined);
      assert.equal(await m.get('t-update2', 'k'), undefined);
      assert.equal(await m.update('t-update2', 'never', () => undefined), undefined);
      assert.deepEqual(await m.list('t-update2', { limit: 10 }), []);
    });

    test('delete', async () => {
      await m.put('t-delete', 'k', 1);
      assert.equal(await m.delete('t-delete', 'k'), true);
      assert.equal(await m.delete('t-delete', 'k'), false);
      assert.equal(await m.get('t-delete', 'k'), undefined);
    });

    test('list in UTF-8 byte order with prefix, after and limit', async () => {
      const ids = ['a', 'a/b', 'a/', 'a b', 'b', 'ü', '\uFF5E', '😀', 'z', '~', 'A', '0', 'a\u0000x'];
      for (const id of ids) await m.put('t-list', id, { id });
      const sorted = [...ids].sort(byteOrder);
      const all = await m.list<{ id: string }>('t-list', { limit: 100 });
      assert.deepEqual(all.map((e) => e.id), sorted);
      assert.ok(all.every((e) => e.value.id === e.id));
      assert.ok(sorted.indexOf('😀') > sorted.indexOf('\uFF5E'));
      const ids_ = async (opts: { prefix?: string; after?: string; limit: number }) => (await m.list('t-list', opts)).map((e) => e.id);
      assert.deepEqual(await ids_({ prefix: 'a', limit: 100 }), ['a', 'a\u0000x', 'a b', 'a/', 'a/b']);
      assert.deepEqual(await ids_({ prefix: 'a/', limit: 100 }), ['a/', 'a/b']);
      assert.deepEqual(await ids_({ prefix: 'a', after: 'a b', limit: 100 }), ['a/', 'a/b']);
      assert.deepEqual(await ids_({ prefix: 'b', after: 'a', limit: 100 }), ['b']);
      assert.deepEqual(await ids_({ after: 'z', limit: 100 }), sorted.slice(sorted.indexOf('z') + 1));
      assert.deepEqual(await ids_({ limit: 3 }), sorted.slice(0, 3));
      assert.deepEqual(await ids_({ after: sorted.at(-1), limit: 3 }), []);
      assert.deepEqual(await ids_({ limit: 0 }), []);
      assert.deepEqual(await ids_({ prefix: 'nothing', limit: 10 }), []);
    });

    test('tables are isolated, including a table whose name prefixes another', async () => {
      await m.put('iso', 'x', 1);
      await m.put('isob', 'x', 2);
      await m.put('is', 'ob', 3);
      assert.deepEqual(await m.list('iso', { limit: 10 }), [{ id: 'x', value: 1 }]);
      assert.deepEqual(await m.list('isob', { limit: 10 }), [{ id: 'x', value: 2 }]);
      assert.deepEqual(await m.list('is', { limit: 10 }), [{ id: 'ob', value: 3 }]);
      assert.equal(await m.get('iso', 'bx'), undefined);
      await m.delete('iso', 'x');
      assert.equal(await m.get('isob', 'x'), 2);
    });

    test('data survives close and reopen', async (t) => {
      if (!fx.reopen) return t.skip('no reopen');
      await m.put('t-durable', 'k', { kept: true });
      await m.update<number>('t-durable', 'n', (c) => (c ?? 0) + 41);
      await m.close();
      m = await fx.reopen();
      fx.meta = m;
      assert.deepEqual(await m.get('t-durable', 'k'), { kept: true });
      assert.equal(await m.get('t-durable', 'n'), 41);
      assert.deepEqual((await m.list('t-durable', { limit: 10 })).map((e) => e.id), ['k', 'n']);
    });
  });
}
