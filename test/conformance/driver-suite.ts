// The one conformance suite every storage driver passes.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, test, before, after } from 'node:test';
import type { Driver } from '../../packages/core/src/driver.js';
import { GatewayError, isGatewayError } from '../../packages/core/src/errors.js';
import { NO_ATTRS, bodyOf, failingBody, manualBody, partOf, randomBody, readAll, recordOf, sha256, streamDigest } from './streams.js';

/**
 * What a suite run needs from an implementation; `leftovers` lists its temporary files, if it has
 * any; `inlineMax` is the largest object it stores apart from its large-object path, if it has one;
 * `limits` names what the storage under the driver cannot do (an upstream S3 server that rewrites
 * files in place, or makes paths of keys), whose tests are then skipped with that reason.
 */
export interface DriverFixture {
  driver: Driver;
  cleanup: () => Promise<void>;
  leftovers?: () => Promise<string[]>;
  inlineMax?: number;
  limits?: { inPlaceOverwrite?: string; pathKeys?: string };
}

const MiB = 1024 * 1024;

/** Registers the driver conformance tests for the implementation that `open` creates. */
export function driverConformance(name: string, open: () => Promise<DriverFixture>): void {
  describe(`driver conformance: ${name}`, () => {
    let fx: DriverFixture;
    let d: Driver;
    before(async () => {
      fx = await open();
      d = fx.driver;
    });
    after(() => fx.cleanup());

    const bucket = async (b: string) => (await d.createBucket(b), b);
    const put = (b: string, key: string, data: Buffer | string) => d.putObject(b, key, bodyOf(data), { attrs: NO_ATTRS, seal: () => recordOf(key, data) });
    const get = async (b: string, key: string, range?: { start: number; end: number }) => {
      const r = await d.getObject(b, key, range);
      return r && readAll(r.body);
    };
    const keys = async (b: string, opts: Partial<Parameters<Driver['listObjects']>[1]> = {}) =>
      (await d.listObjects(b, { prefix: '', limit: 10_000, ...opts })).map((r) => r.key);
    const noLeftovers = async () => assert.deepEqual((await fx.leftovers?.()) ?? [], []);
    const code = (c: string) => (e: unknown) => isGatewayError(e) && e.code === c;
    // Sizes around the point where a driver may switch storage paths; 64 KiB for one without.
    const edge = () => fx.inlineMax ?? 64 * 1024;
    const ranges = (size: number) => [[0, 0], [size - 1, size - 1], [1, size - 2], [size >> 1, size - 1], [0, size - 1]];
    const assertRanges = async (b: string, key: string, data: Buffer) => {
      for (const [s, e] of ranges(data.length)) assert.ok(data.subarray(s, e + 1).equals((await get(b, key, { start: s, end: e }))!), `${key} range ${s}-${e}`);
    };

    test('put, head, get and delete round-trip exact bytes', async () => {
      const b = await bucket('round-trip');
      const data = randomBytes(100_000);
      const rec = await put(b, 'k', data);
      assert.equal(rec.key, 'k');
      assert.equal(rec.size, data.length);
      assert.equal((await d.headObject(b, 'k'))?.etag, rec.etag);
      const got = await d.getObject(b, 'k');
      assert.equal(got?.record.size, data.length);
      assert.ok(data.equals(await readAll(got!.body)));
      assert.equal(await d.deleteObject(b, 'k'), true);
      assert.equal(await d.headObject(b, 'k'), undefined);
      assert.equal(await d.getObject(b, 'k'), undefined);
      assert.equal(await d.deleteObject(b, 'k'), false);
    });

    test('empty object', async () => {
      const b = await bucket('empty');
      await put(b, 'zero', Buffer.alloc(0));
      assert.equal((await d.headObject(b, 'zero'))?.size, 0);
      assert.equal((await get(b, 'zero'))?.length, 0);
    });


    test('a body handed over in memory is stored like a streamed one, on either side of the edge', async () => {
      const b = await bucket('in-memory');
      for (const size of [0, 1, edge(), edge() + 1]) {
        const data = randomBytes(size);
        const key = `mem-${size}`;
        const rec = await d.putObject(b, key, data, { attrs: NO_ATTRS, size, seal: () => recordOf(key, data) });
        assert.equal(rec.size, size);
        assert.equal((await d.headObject(b, key))?.etag, recordOf(key, data).etag);
        assert.ok(data.equals((await get(b, key))!), key);
      }
      assert.deepEqual(await keys(b), [`mem-${edge()}`, `mem-${edge() + 1}`, 'mem-0', 'mem-1'].sort());
      await noLeftovers();
    });
    test('50 MiB object streams in and out intact', async () => {
      const b = await bucket('large');
      const { body, digest } = randomBody(50 * MiB);
      await d.putObject(b, 'big', body, { attrs: NO_ATTRS, seal: () => ({ ...recordOf('big', ''), size: 50 * MiB }) });
      const got = await d.getObject(b, 'big');
      assert.equal(await streamDigest(got!.body), await digest);
    });

    test('ranges: first byte, last byte, middle', async () => {
      const b = await bucket('ranges');
      const data = randomBytes(10_000);
      await put(b, 'r', data);
      assert.ok(data.subarray(0, 1).equals((await get(b, 'r', { start: 0, end: 0 }))!));
      assert.ok(data.subarray(9_999).equals((await get(b, 'r', { start: 9_999, end: 9_999 }))!));
      assert.ok(data.subarray(1234, 5679).equals((await get(b, 'r', { start: 1234, end: 5678 }))!));
      assert.ok(data.equals((await get(b, 'r', { start: 0, end: 9_999 }))!));
    });

    const unless = (limit: keyof NonNullable<DriverFixture['limits']>) => (t: { skip: (reason: string) => void }) => {
      const reason = fx.limits?.[limit];
      if (reason) t.skip(reason);
      return reason !== undefined;
    };

    test('overwrite keeps the old content readable until the new one commits', async (t) => {
      if (unless('inPlaceOverwrite')(t)) return;
      const b = await bucket('overwrite');
      const v1 = randomBytes(3 * MiB);
      const v2 = randomBytes(MiB);
      await put(b, 'o', v1);
      const incoming = manualBody();
      const writing = d.putObject(b, 'o', incoming, { attrs: NO_ATTRS, seal: () => recordOf('o', v2) });
      incoming.write(v2.subarray(0, 1000));
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(v1.equals((await get(b, 'o'))!), 'old bytes while the new ones stream in');
      const early = await d.getObject(b, 'o');
      incoming.end(v2.subarray(1000));
      await writing;
      assert.ok(v2.equals((await get(b, 'o'))!));
      assert.ok(v1.equals(await readAll(early!.body)), 'a read begun before the commit sees the old bytes whole');
    });

    test('a body that fails midway changes nothing and leaves nothing behind', async () => {
      const b = await bucket('failing');
      await put(b, 'f', 'old');
      const boom = new Error('client went away');
      await assert.rejects(d.putObject(b, 'f', failingBody(randomBytes(200_000), boom), { attrs: NO_ATTRS, seal: () => recordOf('f', 'x') }), boom);
      await assert.rejects(d.putObject(b, 'new', failingBody(randomBytes(10), boom), { attrs: NO_ATTRS, seal: () => recordOf('new', 'x') }), boom);
      assert.equal((await get(b, 'f'))?.toString(), 'old');
      assert.equal(await d.headObject(b, 'new'), undefined);
      await noLeftovers();
    });

    test('a throwing check aborts the write; check sees the current record', async () => {
      const b = await bucket('check');
      const old = await put(b, 'c', 'old');
      const seen: unknown[] = [];
      const refuse = (cur: unknown) => {
        seen.push(cur);
        throw new GatewayError('PreconditionFailed');
      };
      await assert.rejects(d.putObject(b, 'c', bodyOf('new'), { attrs: NO_ATTRS, seal: () => recordOf('c', 'new'), check: refuse }), code('PreconditionFailed'));
      await assert.rejects(d.deleteObject(b, 'c', refuse), code('PreconditionFailed'));
      await assert.rejects(d.putObject(b, 'absent', bodyOf('x'), { attrs: NO_ATTRS, seal: () => recordOf('absent', 'x'), check: refuse }), code('PreconditionFailed'));
      assert.equal((seen[0] as { etag: string }).etag, old.etag);
      assert.equal((seen[1] as { etag: string }).etag, old.etag);
      assert.equal(seen[2], undefined);
      assert.equal((await get(b, 'c'))?.toString(), 'old');
      assert.equal(await d.headObject(b, 'absent'), undefined);
      await d.putObject(b, 'c', bodyOf('new'), { attrs: NO_ATTRS, seal: () => recordOf('c', 'new'), check: (cur) => assert.equal(cur?.etag, old.etag) });
      assert.equal((await get(b, 'c'))?.toString(), 'new');
      await noLeftovers();
    });

    test('objects just below, at and just above the inline threshold round-trip whole and in ranges', async () => {
      const b = await bucket('threshold');
      const max = edge();
      const sizes = [max - 1, max, max + 1];
      const data = new Map(sizes.map((n) => [n, randomBytes(n)]));
      for (const [n, bytes] of data) {
        const rec = await put(b, `s${n}`, bytes);
        assert.equal(rec.size, n);
        assert.equal((await d.headObject(b, `s${n}`))?.etag, rec.etag);
      }
      for (const [n, bytes] of data) {
        const got = await d.getObject(b, `s${n}`);
        assert.equal(got?.record.size, n);
        assert.ok(bytes.equals(await readAll(got!.body)), `${n} bytes`);
        await assertRanges(b, `s${n}`, bytes);
      }
      assert.deepEqual(
        (await d.listObjects(b, { prefix: '', limit: 10 })).map((r) => [r.key, r.size]),
        sizes.map((n) => [`s${n}`, n]).sort((x, y) => Buffer.compare(Buffer.from(x[0] as string), Buffer.from(y[0] as string))),
      );
      await noLeftovers();
    });

    test('a body that grows past the inline threshold in many small writes, or in one big chunk', async () => {
      const b = await bucket('grow');
      const max = edge();
      const data = randomBytes(2 * max + 123);
      const incoming = manualBody();
      const writing = d.putObject(b, 'grown', incoming, { attrs: NO_ATTRS, seal: () => recordOf('grown', data) });
      for (let off = 0; off < data.length; off += 1000) {
        incoming.write(data.subarray(off, off + 1000));
        if (off % 20_000 === 0) await new Promise((r) => setImmediate(r));
      }
      incoming.end();
      assert.equal((await writing).size, data.length);
      assert.ok(data.equals((await get(b, 'grown'))!));
      assert.ok(data.subarray(max - 5, max + 6).equals((await get(b, 'grown', { start: max - 5, end: max + 5 }))!), 'range across the threshold');
      await assertRanges(b, 'grown', data);
      const one = randomBytes(3 * max);
      await d.putObject(b, 'one', bodyOf(one, one.length), { attrs: NO_ATTRS, seal: () => recordOf('one', one) });
      assert.ok(one.equals((await get(b, 'one'))!));
      // A body that fails after outgrowing the threshold, or just before reaching it.
      const boom = new Error('client went away');
      await assert.rejects(d.putObject(b, 'grown', failingBody(randomBytes(max + 10), boom), { attrs: NO_ATTRS, seal: () => recordOf('grown', 'x') }), boom);
      await assert.rejects(d.putObject(b, 'one', failingBody(randomBytes(max - 10), boom), { attrs: NO_ATTRS, seal: () => recordOf('one', 'x') }), boom);
      assert.ok(data.equals((await get(b, 'grown'))!));
      assert.ok(one.equals((await get(b, 'one'))!));
      await noLeftovers();
    });

    test('overwrites between small and large objects, both ways, serve the latest bytes', async (t) => {
      if (unless('inPlaceOverwrite')(t)) return;
      const b = await bucket('small-large');
      const max = edge();
      const [small1, large1, small2, large2] = [randomBytes(100), randomBytes(max + 1), randomBytes(max), randomBytes(3 * max)];
      await put(b, 'o', small1);
      await put(b, 'o', large1);
      assert.ok(large1.equals((await get(b, 'o'))!), 'small → large');
      const reading = await d.getObject(b, 'o');
      await put(b, 'o', small2);
      assert.ok(small2.equals((await get(b, 'o'))!), 'large → small');
      assert.ok(large1.equals(await readAll(reading!.body)), 'a read begun before the overwrite sees the old bytes whole');
      const early = await d.getObject(b, 'o', { start: 10, end: 20 });
      await put(b, 'o', large2);
      assert.ok(small2.subarray(10, 21).equals(await readAll(early!.body)), 'a small read begun before the overwrite sees the old bytes');
      assert.ok(large2.equals((await get(b, 'o'))!), 'small → large again');
      await put(b, 'o', 'tiny');
      assert.equal((await get(b, 'o'))?.toString(), 'tiny');
      assert.equal((await d.headObject(b, 'o'))?.size, 4);
      assert.deepEqual((await d.listObjects(b, { prefix: '', limit: 10 })).map((r) => [r.key, r.size]), [['o', 4]]);
      assert.equal(await d.deleteObject(b, 'o'), true);
      assert.equal(await d.getObject(b, 'o'), undefined);
      assert.equal(await d.deleteObject(b, 'o'), false);
      await noLeftovers();
    });

    test('keys list in UTF-8 byte order and never collide', async (t) => {
      if (unless('pathKeys')(t)) return;
      const b = await bucket('order');
      const names = ['a', 'a/b', 'a/', 'a b', 'a+b', 'a%2Bb', '~', "!'()*", 'ü/ö', '\uFF5E', '😀', 'trailing/', '/lead', 'a//b', 'a/./b', 'a/../b', '../x', 'é'.repeat(512)];
      for (const k of names) await put(b, k, `content of ${k}`);
      const expected = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      assert.deepEqual(await keys(b), expected);
      assert.ok((await keys(b)).indexOf('😀') > (await keys(b)).indexOf('\uFF5E'));
      for (const k of names) assert.equal((await get(b, k))?.toString(), `content of ${k}`);
    });

    test('prefix, after, limit and skipPrefix', async (t) => {
      if (unless('pathKeys')(t)) return;
      const b = await bucket('window');
      for (const k of ['a', 'a/1', 'a/2', 'a/3', 'a0', 'b', 'b/1', 'c']) await put(b, k, k);
      assert.deepEqual(await keys(b, { prefix: 'a/' }), ['a/1', 'a/2', 'a/3']);
      assert.deepEqual(await keys(b, { prefix: 'a/', after: 'a/1' }), ['a/2', 'a/3']);
      assert.deepEqual(await keys(b, { limit: 2 }), ['a', 'a/1']);
      assert.deepEqual(await keys(b, { after: 'a/', skipPrefix: true }), ['a0', 'b', 'b/1', 'c']);
      assert.deepEqual(await keys(b, { after: 'b', skipPrefix: true }), ['c']);
      assert.deepEqual(await keys(b, { after: 'a/2', skipPrefix: true, limit: 1 }), ['a/3']);
      assert.deepEqual(await keys(b, { prefix: 'b', after: 'a' }), ['b', 'b/1']);
      assert.deepEqual(await keys(b, { after: 'c' }), []);
      assert.deepEqual(await keys(b, { prefix: 'zz' }), []);
      assert.deepEqual(await keys(b, { limit: 0 }), []);
      const paged: string[] = [];
      for (let page = await keys(b, { limit: 3 }); page.length > 0; page = await keys(b, { limit: 3, after: paged.at(-1) })) paged.push(...page);
      assert.deepEqual(paged, await keys(b));
    });

    const upload = async (b: string, key: string) => ({ uploadId: `up_${randomUUID()}`, key, ref: await d.createUpload(b, key, NO_ATTRS) });

    test('multipart: listed parts only, in order; ranges across part boundaries', async () => {
      const b = await bucket('multipart');
      const up = await upload(b, 'mp');
      // Every part but the last at least 5 MiB, as an upstream S3 requires.
      const [p1, p2old, p2, p3] = [randomBytes(5 * MiB + 7), randomBytes(5), randomBytes(30_000), randomBytes(999)];
      const part = (n: number, data: Buffer) => d.putPart(b, up, n, bodyOf(data), { size: data.length, seal: () => partOf(n, data) });
      const r1 = await part(1, p1);
      const r2old = await part(2, p2old);
      const r2 = await part(2, p2);
      await d.deletePart(b, up, r2old.ref);
      await part(3, p3);
      assert.equal(r2.etag, partOf(2, p2).etag);
      const whole = Buffer.concat([p1, p2]);
      const rec = await d.completeUpload(b, up, [r1, r2], recordOf('mp', whole, { parts: [r1, r2] }));
      assert.equal(rec.size, whole.length);
      assert.equal((await d.headObject(b, 'mp'))?.size, whole.length);
      assert.ok(whole.equals((await get(b, 'mp'))!));
      const edge = p1.length;
      for (const [s, e] of [[edge - 1, edge], [0, 0], [whole.length - 1, whole.length - 1], [edge - 1000, edge + 1000], [10, whole.length - 10]]) {
        assert.ok(whole.subarray(s, e + 1).equals((await get(b, 'mp', { start: s, end: e }))!), `range ${s}-${e}`);
      }
      await d.abortUpload(b, up);
      assert.ok(whole.equals((await get(b, 'mp'))!), 'releasing the upload keeps the object');
      await noLeftovers();
    });

    test('abortUpload releases the parts and is idempotent; bad upload ids are NoSuchUpload', async () => {
      const b = await bucket('abort');
      const up = await upload(b, 'k');
      const r1 = await d.putPart(b, up, 1, bodyOf('abc'), { size: 3, seal: () => partOf(1, 'abc') });
      await d.abortUpload(b, up);
      await d.abortUpload(b, up);
      await d.abortUpload(b, { uploadId: `never-${randomUUID()}`, key: 'k', ref: `never-${randomUUID()}` });
      await assert.rejects(d.completeUpload(b, up, [r1], recordOf('k', 'abc')));
      assert.equal(await d.headObject(b, 'k'), undefined);
      for (const bad of ['../x', 'a/b', '', 'x y', '..']) {
        await assert.rejects(d.putPart(b, { uploadId: bad, key: 'k', ref: bad }, 1, bodyOf('x'), { size: 1, seal: () => partOf(1, 'x') }), code('NoSuchUpload'), bad);
      }
      await noLeftovers();
    });

    test('copyObject copies bytes that outlive the source', async (t) => {
      if (!d.capabilities.copy || !d.copyObject) return t.skip('no native copy');
      const src = await bucket('copy-src');
      const dst = await bucket('copy-dst');
      const data = randomBytes(200_000);
      await put(src, 's', data);
      const rec = await d.copyObject({ bucket: src, key: 's' }, { bucket: dst, key: 'd' }, recordOf('d', data));
      assert.equal(rec.size, data.length);
      await put(src, 's', 'replaced');
      assert.ok(data.equals((await get(dst, 'd'))!));
      await d.deleteObject(src, 's');
      assert.ok(data.equals((await get(dst, 'd'))!));
      await d.copyObject({ bucket: dst, key: 'd' }, { bucket: dst, key: 'd' }, recordOf('d', data, { contentType: 'text/x' }));
      assert.equal((await d.headObject(dst, 'd'))?.contentType, 'text/x');
      assert.ok(data.equals((await get(dst, 'd'))!), 'copy onto itself keeps the bytes');
      await assert.rejects(
        d.copyObject({ bucket: dst, key: 'd' }, { bucket: dst, key: 'e' }, recordOf('e', data), () => {
          throw new GatewayError('PreconditionFailed');
        }),
        code('PreconditionFailed'),
      );
      assert.equal(await d.headObject(dst, 'e'), undefined);
    });

    test('copyObject of small objects, onto new, large and small keys', async (t) => {
      if (!d.capabilities.copy || !d.copyObject) return t.skip('no native copy');
      const b = await bucket('copy-small');
      const max = edge();
      const [data, large, other] = [randomBytes(max), randomBytes(max + 1), randomBytes(10)];
      await put(b, 's', data);
      await put(b, 'large', large);
      await put(b, 'small', other);
      for (const dst of ['new', 'large', 'small']) {
        const rec = await d.copyObject({ bucket: b, key: 's' }, { bucket: b, key: dst }, recordOf(dst, data, { contentType: 'text/x' }));
        assert.equal(rec.size, data.length);
        assert.equal((await d.headObject(b, dst))?.contentType, 'text/x');
      }
      await put(b, 's', 'replaced');
      await d.deleteObject(b, 's');
      for (const dst of ['new', 'large', 'small']) {
        assert.ok(data.equals((await get(b, dst))!), dst);
        await assertRanges(b, dst, data);
      }
      await d.copyObject({ bucket: b, key: 'new' }, { bucket: b, key: 'new' }, recordOf('new', data));
      assert.ok(data.equals((await get(b, 'new'))!), 'copy onto itself keeps the bytes');
      await put(b, 'big', large);
      await d.copyObject({ bucket: b, key: 'big' }, { bucket: b, key: 'small' }, recordOf('small', large));
      assert.ok(large.equals((await get(b, 'small'))!), 'a large object copied over a small one');
      await assert.rejects(d.copyObject({ bucket: b, key: 's' }, { bucket: b, key: 'x' }, recordOf('x', data)), code('NoSuchKey'));
      await noLeftovers();
    });

    test('buckets are isolated, including a bucket whose name prefixes another', async (t) => {
      if (unless('pathKeys')(t)) return;
      const a = await bucket('iso');
      const ab = await bucket('isob');
      await put(ab, 'x', 'in isob');
      await put(ab, '/y', 'in isob');
      await put(a, 'b/x', 'in iso');
      assert.deepEqual(await keys(a), ['b/x']);
      assert.deepEqual(await keys(a, { after: 'b/x' }), []);
      assert.deepEqual(await keys(ab), ['/y', 'x']);
      assert.equal(await d.headObject(a, 'x'), undefined);
      assert.equal((await get(ab, 'x'))?.toString(), 'in isob');
      await d.deleteObject(a, 'b/x');
      await d.deleteBucket(a);
      assert.deepEqual(await keys(ab), ['/y', 'x']);
      await d.createBucket(a);
      assert.deepEqual(await keys(a), []);
    });
  });
}
