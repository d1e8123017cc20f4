// S3Driver against the driver conformance suite over a real upstream, plus what only an upstream
// driver can get wrong: what the upstream itself shows, streaming, outages and error mapping, over a
// gateway process on the disk driver and over s3rver.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Client } from 'minio';
import { EmbeddedMetaStore } from '../../packages/meta-embedded/src/index.js';
import { S3Driver, SIDECAR_TABLE, UPLOAD_TABLE } from '../../packages/driver-s3/src/index.js';
import { GatewayError, isGatewayError } from '../../packages/core/src/errors.js';
import type { ObjectAttributes, ObjectRecord } from '../../packages/core/src/types.js';
import { driverConformance, type DriverFixture } from '../conformance/driver-suite.js';
import { NO_ATTRS, bodyOf, failingBody, manualBody, partOf, randomBody, readAll, recordOf, streamDigest } from '../conformance/streams.js';
import { directClient, startGatewayUpstream, startS3rver, type RestartableUpstream, type TestUpstream } from '../lib/upstream.js';

const MiB = 1024 * 1024;
/** The smallest part size, so that the suite's threshold tests cross from one PUT to multipart. */
const PART = 5 * MiB;

const code = (c: string) => (e: unknown) => isGatewayError(e) && e.code === c;
const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');

/** Uploads in progress that the upstream lists (the gateway upstream can; s3rver cannot). */
async function upstreamUploads(u: TestUpstream): Promise<string[]> {
  const mc = directClient(u);
  const out: string[] = [];
  for (const b of await mc.listBuckets()) {
    for await (const item of mc.listIncompleteUploads(b.name, '', true)) out.push(`upstream:${b.name}/${item.key}`);
  }
  return out;
}

/** A driver over `upstream` with an embedded metadata store in a fresh directory. */
async function openDriver(upstream: TestUpstream, extra: Partial<Parameters<typeof S3Driver.open>[0]> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'twinport-s3driver-'));
  const meta = await EmbeddedMetaStore.open(join(dir, 'meta'));
  const driver = await S3Driver.open({ endpoint: upstream.endpoint, accessKey: upstream.accessKey, secretKey: upstream.secretKey, meta, partSize: PART, ...extra });
  return {
    driver,
    meta,
    registry: async () => (await meta.list(UPLOAD_TABLE, { limit: 100 })).map((r) => r.id),
    close: async () => {
      await driver.close();
      await meta.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

driverConformance('S3Driver over a gateway upstream', async (): Promise<DriverFixture> => {
  const upstream = await startGatewayUpstream();
  const d = await openDriver(upstream);
  return {
    driver: d.driver,
    inlineMax: PART,
    leftovers: async () => [...(await d.registry()).map((id) => `registry:${id}`), ...(await upstreamUploads(upstream))],
    cleanup: async () => {
      await d.close();
      await upstream.stop();
    },
  };
});

// s3rver, an independent implementation, overwrites files in place (a read in progress is cut
// short) and derives paths from keys ('a//b' is 'a/b', '../x' leaves the bucket, listings follow
// its directory walk): the tests of those properties are skipped over it, with that reason.
driverConformance('S3Driver over s3rver', async (): Promise<DriverFixture> => {
  const upstream = await startS3rver();
  const d = await openDriver(upstream);
  return {
    driver: d.driver,
    inlineMax: PART,
    leftovers: async () => (await d.registry()).map((id) => `registry:${id}`),
    limits: {
      inPlaceOverwrite: 's3rver rewrites an object file in place, so a read in progress is cut short',
      pathKeys: 's3rver stores keys as file paths (a//b is a/b, ../x leaves the bucket) and lists in directory order',
    },
    cleanup: async () => {
      await d.close();
      await upstream.stop();
    },
  };
});

/** The response of a GET straight to the upstream (minio-js returns the HTTP response itself). */
async function directGet(mc: Client, bucket: string, key: string): Promise<{ headers: IncomingMessage['headers']; data: Buffer }> {
  const res = (await mc.getObject(bucket, key)) as IncomingMessage;
  return { headers: res.headers, data: await readAll(res) };
}

const ATTRS: ObjectAttributes = {
  contentType: 'text/csv',
  contentEncoding: 'identity',
  contentDisposition: 'attachment; filename="report.csv"',
  contentLanguage: 'de-CH',
  cacheControl: 'max-age=60',
  expires: 'Wed, 21 Oct 2037 07:28:00 GMT',
  userMeta: { color: 'blue', 'project-id': 'Alpha Beta 7' },
};

/** The attributes of a record, for comparison. */
const attrsOf = (r: ObjectRecord | undefined): ObjectAttributes => {
  const { contentType, contentEncoding, contentDisposition, contentLanguage, cacheControl, expires, userMeta } = r ?? ({ userMeta: {} } as unknown as ObjectRecord);
  return { contentType, contentEncoding, contentDisposition, contentLanguage, cacheControl, expires, userMeta };
};

/** A body that delivers every byte of `data` and then fails, as a body failing its digest check does. */
function failsAfterLastByte(data: Buffer, error: Error): Readable {
  const t = new Transform({
    transform: (chunk, _enc, done) => done(null, chunk),
    flush: (done) => done(error),
  });
  Readable.from([data]).pipe(t);
  return t;
}

/**
 * Tests every upstream must pass. `wholeMd5Etag`: the upstream gives a multipart object the MD5 of
 * its bytes as ETag (s3rver) rather than S3's md5-of-md5s-N.
 */
function upstreamBehaviour(name: string, start: () => Promise<TestUpstream>, wholeMd5Etag: boolean) {
  describe(`S3Driver and its upstream: ${name}`, () => {
    let upstream: TestUpstream;
    let d: Awaited<ReturnType<typeof openDriver>>;
    let mc: Client;
    let n = 0;
    const bucket = async () => {
      const b = `${name.replace(/[^a-z0-9]/g, '')}-t${++n}`;
      await d.driver.createBucket(b);
      return b;
    };
    before(async () => {
      upstream = await start();
      d = await openDriver(upstream);
      mc = directClient(upstream);
    });
    after(async () => {
      await d.close();
      await upstream.stop();
    });

    test('content headers and user metadata round-trip, and are what the upstream itself shows', async () => {
      const b = await bucket();
      const data = 'a,b\n1,2\n';
      await d.driver.putObject(b, 'report.csv', bodyOf(data), { attrs: ATTRS, size: data.length, seal: () => ({ ...recordOf('report.csv', data), ...ATTRS }) });
      assert.deepEqual(attrsOf(await d.driver.headObject(b, 'report.csv')), ATTRS);
      const direct = await directGet(mc, b, 'report.csv');
      assert.equal(direct.data.toString(), data);
      assert.equal(direct.headers['content-type'], 'text/csv');
      assert.equal(direct.headers['content-disposition'], 'attachment; filename="report.csv"');
      assert.equal(direct.headers['cache-control'], 'max-age=60');
      assert.equal(direct.headers['x-amz-meta-color'], 'blue');
      assert.equal(direct.headers['x-amz-meta-project-id'], 'Alpha Beta 7');
      assert.equal(direct.headers.etag, `"${md5(data)}"`);

      // A multipart upload carries the attributes given when it started.
      const up = { uploadId: 'u1', key: 'mp.csv', ref: await d.driver.createUpload(b, 'mp.csv', ATTRS) };
      const [p1, p2] = [randomBytes(PART), Buffer.from('tail')];
      const parts = [
        await d.driver.putPart(b, up, 1, bodyOf(p1), { size: p1.length, seal: () => partOf(1, p1) }),
        await d.driver.putPart(b, up, 2, bodyOf(p2), { size: p2.length, seal: () => partOf(2, p2) }),
      ];
      await d.driver.completeUpload(b, up, parts, { ...recordOf('mp.csv', Buffer.concat([p1, p2])), ...ATTRS });
      assert.deepEqual(attrsOf(await d.driver.headObject(b, 'mp.csv')), ATTRS);
      assert.equal((await mc.statObject(b, 'mp.csv')).metaData.color, 'blue');
      assert.deepEqual(await d.registry(), []);
    });

    test('an object written directly upstream reads, lists and copies through the driver', async () => {
      const b = await bucket();
      const data = randomBytes(70_000);
      await mc.putObject(b, 'direct/x.bin', data, data.length, { 'Content-Type': 'application/x-test', 'X-Amz-Meta-Origin': 'direct' });
      const head = await d.driver.headObject(b, 'direct/x.bin');
      assert.equal(head?.size, data.length);
      assert.equal(head?.etag, md5(data));
      assert.equal(head?.contentType, 'application/x-test');
      assert.deepEqual(head?.userMeta, { origin: 'direct' });
      assert.ok(data.equals(await readAll((await d.driver.getObject(b, 'direct/x.bin'))!.body)));
      assert.ok(data.subarray(0, 1).equals(await readAll((await d.driver.getObject(b, 'direct/x.bin', { start: 0, end: 0 }))!.body)), 'a one-byte range is one byte');
      const listed = await d.driver.listObjects(b, { prefix: 'direct/', limit: 10 });
      assert.deepEqual(listed.map((r) => [r.key, r.size, r.etag]), [['direct/x.bin', data.length, md5(data)]]);
      await d.driver.copyObject!({ bucket: b, key: 'direct/x.bin' }, { bucket: b, key: 'copy.bin' }, { ...head!, key: 'copy.bin', contentType: 'text/plain', userMeta: { origin: 'copied' } });
      const copied = await directGet(mc, b, 'copy.bin');
      assert.ok(data.equals(copied.data));
      assert.equal(copied.headers['content-type'], 'text/plain');
      assert.equal(copied.headers['x-amz-meta-origin'], 'copied');
    });

    test("the gateway's ETag, checksum and parts are kept beside the object, and ignored once it is replaced upstream", async () => {
      const b = await bucket();
      const checksum = { algorithm: 'CRC32' as const, value: 'NSRBwg==', type: 'FULL_OBJECT' as const };
      await d.driver.putObject(b, 'summed', bodyOf('hello'), { attrs: NO_ATTRS, size: 5, seal: () => recordOf('summed', 'hello', { checksum }) });
      assert.deepEqual((await d.driver.headObject(b, 'summed'))?.checksum, checksum);
      assert.deepEqual((await d.driver.getObject(b, 'summed'))?.record.checksum, checksum);

      const up = { uploadId: 'u2', key: 'mp', ref: await d.driver.createUpload(b, 'mp', NO_ATTRS) };
      const [p1, p2] = [randomBytes(PART + 1), randomBytes(1000)];
      const parts = [
        await d.driver.putPart(b, up, 1, bodyOf(p1), { size: p1.length, seal: () => partOf(1, p1) }),
        await d.driver.putPart(b, up, 2, bodyOf(p2), { size: p2.length, seal: () => partOf(2, p2) }),
      ];
      const etag = `${md5(Buffer.concat([Buffer.from(parts[0].etag, 'hex'), Buffer.from(parts[1].etag, 'hex')]))}-2`;
      const summary = parts.map(({ partNumber, size, etag: e }) => ({ partNumber, size, etag: e }));
      await d.driver.completeUpload(b, up, parts, recordOf('mp', Buffer.concat([p1, p2]), { etag, parts: summary }));
      const head = await d.driver.headObject(b, 'mp');
      assert.equal(head?.etag, etag);
      assert.deepEqual(head?.parts, summary);
      assert.deepEqual((await d.driver.listObjects(b, { prefix: 'm', limit: 5 })).map((r) => r.etag), [etag]);

      // Replaced behind the driver's back: the upstream's own record is the truth again.
      await mc.putObject(b, 'mp', Buffer.from('new'), 3);
      const after = await d.driver.headObject(b, 'mp');
      assert.equal(after?.etag, md5('new'));
      assert.equal(after?.parts, undefined);
      assert.deepEqual((await d.driver.listObjects(b, { prefix: 'm', limit: 5 })).map((r) => r.etag), [md5('new')]);
      await mc.putObject(b, 'summed', Buffer.from('hello'), 5);
      // Same bytes, same upstream ETag: the checksum still describes them.
      assert.deepEqual((await d.driver.headObject(b, 'summed'))?.checksum, checksum);
      assert.equal(await d.driver.deleteObject(b, 'summed'), true);
      assert.equal(await d.meta.get(SIDECAR_TABLE, `${b}/summed`), undefined);
    });

    test('bodies of unknown length: one PUT up to the part size, a multipart upload beyond', async () => {
      const b = await bucket();
      for (const size of [0, PART, PART + 1, 2 * PART + 17]) {
        const data = randomBytes(size);
        const rec = await d.driver.putObject(b, `u${size}`, bodyOf(data, 100_000), { attrs: ATTRS, seal: () => recordOf(`u${size}`, data) });
        assert.equal(rec.etag, md5(data));
        assert.equal((await d.driver.headObject(b, `u${size}`))?.etag, md5(data), `${size}: the gateway's ETag`);
        const upstreamEtag = (await mc.statObject(b, `u${size}`)).etag;
        if (size <= PART || wholeMd5Etag) assert.equal(upstreamEtag, md5(data), `${size} bytes`);
        else assert.match(upstreamEtag, /^[0-9a-f]{32}-\d+$/, `${size} bytes went up in parts`);
        assert.ok(data.equals((await directGet(mc, b, `u${size}`)).data));
        assert.deepEqual(attrsOf(await d.driver.headObject(b, `u${size}`)), ATTRS);
      }
      assert.deepEqual(await d.registry(), []);
    });

    test('a part of unknown length is counted first, beyond the part size in a temporary file', async () => {
      const b = await bucket();
      const tmp = await mkdtemp(join(tmpdir(), 'twinport-parts-'));
      const other = await openDriver(upstream, { tmpDir: tmp });
      try {
        const up = { uploadId: 'u3', key: 'k', ref: await other.driver.createUpload(b, 'k', NO_ATTRS) };
        const [p1, p2] = [randomBytes(PART + 123_456), randomBytes(10)];
        const parts = [
          await other.driver.putPart(b, up, 1, bodyOf(p1), { seal: () => partOf(1, p1) }),
          await other.driver.putPart(b, up, 2, bodyOf(p2), { seal: () => partOf(2, p2) }),
        ];
        assert.deepEqual(await readdir(tmp), []);
        await other.driver.completeUpload(b, up, parts, recordOf('k', Buffer.concat([p1, p2])));
        assert.ok(Buffer.concat([p1, p2]).equals((await directGet(mc, b, 'k')).data));
      } finally {
        await other.close();
        await rm(tmp, { recursive: true, force: true });
      }
    });

    test('listing skips a whole prefix and checks every key, paging on when the upstream returns keys outside the window', async () => {
      const b = await bucket();
      // s3rver compares start-after as UTF-16 strings, so it returns 'a\uFF5E' after 'a\u{10FFFF}'.
      for (const k of ['a', 'a0', 'a\uFF5E', 'b', 'b1', 'c']) await d.driver.putObject(b, k, bodyOf(k), { attrs: NO_ATTRS, seal: () => recordOf(k, k) });
      const keys = async (opts: { after?: string; skipPrefix?: boolean; limit: number; prefix?: string }) => (await d.driver.listObjects(b, { prefix: '', ...opts })).map((r) => r.key);
      assert.deepEqual(await keys({ after: 'a', skipPrefix: true, limit: 1 }), ['b']);
      assert.deepEqual(await keys({ after: 'a', skipPrefix: true, limit: 10 }), ['b', 'b1', 'c']);
      assert.deepEqual(await keys({ after: 'a', limit: 2 }), ['a0', 'a\uFF5E']);
      assert.deepEqual(await keys({ prefix: 'b', limit: 10 }), ['b', 'b1']);
    });

    test('error answers map to the gateway codes; nothing is left half done', async () => {
      const b = await bucket();
      const missing = `missing-${randomBytes(4).toString('hex')}`;
      await assert.rejects(d.driver.getObject(missing, 'k'), code('NoSuchBucket'));
      await assert.rejects(d.driver.listObjects(missing, { prefix: '', limit: 10 }), code('NoSuchBucket'));
      await assert.rejects(d.driver.putObject(missing, 'k', bodyOf('x'), { attrs: NO_ATTRS, size: 1, seal: () => recordOf('k', 'x') }), code('NoSuchBucket'));
      await assert.rejects(d.driver.putObject(missing, 'k', bodyOf('x'), { attrs: NO_ATTRS, seal: () => recordOf('k', 'x') }), code('NoSuchBucket'));
      await assert.rejects(d.driver.createUpload(missing, 'k', NO_ATTRS), code('NoSuchBucket'));
      assert.equal(await d.driver.headObject(missing, 'k'), undefined);
      assert.equal(await d.driver.deleteObject(missing, 'k'), false);
      assert.equal(await d.driver.headObject(b, 'nope'), undefined);
      assert.equal(await d.driver.getObject(b, 'nope'), undefined);
      assert.equal(await d.driver.deleteObject(b, 'nope'), false);
      await assert.rejects(d.driver.copyObject!({ bucket: b, key: 'nope' }, { bucket: b, key: 'x' }, recordOf('x', '')), code('NoSuchKey'));
      await d.driver.createBucket(b);
      await d.driver.deleteBucket(missing);

      // An unknown access key (s3rver does not check SigV4 signatures, so a wrong secret would pass).
      const wrong = await openDriver({ ...upstream, accessKey: 'NOSUCHACCESSKEY00000', secretKey: 'not-the-secret' });
      try {
        await assert.rejects(wrong.driver.listObjects(b, { prefix: '', limit: 1 }), (e) => code('ServiceUnavailable')(e) && /InvalidAccessKeyId/.test((e as Error).message));
        await assert.rejects(wrong.driver.headObject(b, 'k'), code('ServiceUnavailable'));
      } finally {
        await wrong.close();
      }
    });

    test('an upload the registry does not know is never sent upstream; abort is idempotent', async () => {
      const b = await bucket();
      const up = { uploadId: 'u4', key: 'k', ref: await d.driver.createUpload(b, 'k', NO_ATTRS) };
      const part = await d.driver.putPart(b, up, 1, bodyOf('abc'), { size: 3, seal: () => partOf(1, 'abc') });
      await assert.rejects(d.driver.putPart(b, { ...up, key: 'other' }, 1, bodyOf('x'), { size: 1, seal: () => partOf(1, 'x') }), code('NoSuchUpload'));
      await assert.rejects(d.driver.putPart(b, up, 10_001, bodyOf('x'), { size: 1, seal: () => partOf(1, 'x') }), code('InvalidArgument'));
      await d.driver.abortUpload(b, up);
      await d.driver.abortUpload(b, up);
      await assert.rejects(d.driver.putPart(b, up, 2, bodyOf('x'), { size: 1, seal: () => partOf(2, 'x') }), code('NoSuchUpload'));
      await assert.rejects(d.driver.completeUpload(b, up, [part], recordOf('k', 'abc')), code('NoSuchUpload'));
      assert.equal(await d.driver.headObject(b, 'k'), undefined);
      assert.deepEqual(await d.registry(), []);
    });
  });
}

upstreamBehaviour('gateway', startGatewayUpstream, false);
upstreamBehaviour('s3rver', startS3rver, true);

describe('S3Driver over a gateway upstream: atomicity, memory and outages', () => {
  let upstream: RestartableUpstream;
  let d: Awaited<ReturnType<typeof openDriver>>;
  let mc: Client;
  before(async () => {
    upstream = await startGatewayUpstream();
    d = await openDriver(upstream);
    mc = directClient(upstream);
    await d.driver.createBucket('atomic');
  });
  after(async () => {
    await d.close();
    await upstream.stop();
  });

  test('a body that fails, even after its last byte, never replaces the object upstream', async () => {
    const boom = new Error('client went away');
    const badDigest = new GatewayError('BadDigest');
    await d.driver.putObject('atomic', 'k', bodyOf('old'), { attrs: NO_ATTRS, seal: () => recordOf('k', 'old') });
    const data = randomBytes(300_000);
    await assert.rejects(d.driver.putObject('atomic', 'k', failingBody(data.subarray(0, 1000), boom), { attrs: NO_ATTRS, size: data.length, seal: () => recordOf('k', data) }), boom);
    await assert.rejects(d.driver.putObject('atomic', 'k', failsAfterLastByte(data, badDigest), { attrs: NO_ATTRS, size: data.length, seal: () => recordOf('k', data) }), code('BadDigest'));
    await assert.rejects(d.driver.putObject('atomic', 'k', bodyOf(data), { attrs: NO_ATTRS, size: data.length + 1, seal: () => recordOf('k', data) }), code('IncompleteBody'));
    await assert.rejects(d.driver.putObject('atomic', 'k', bodyOf(data), { attrs: NO_ATTRS, size: data.length - 1, seal: () => recordOf('k', data) }), code('IncompleteBody'));
    const big = randomBytes(PART + 1000);
    await assert.rejects(d.driver.putObject('atomic', 'k', failsAfterLastByte(big, badDigest), { attrs: NO_ATTRS, seal: () => recordOf('k', big) }), code('BadDigest'));
    assert.equal((await directGet(mc, 'atomic', 'k')).data.toString(), 'old');
    assert.equal((await d.driver.headObject('atomic', 'k'))?.etag, md5('old'));

    // A part re-sent with a body that fails after its last byte leaves the earlier part in place.
    const up = { uploadId: 'u5', key: 'mp', ref: await d.driver.createUpload('atomic', 'mp', NO_ATTRS) };
    const good = await d.driver.putPart('atomic', up, 1, bodyOf('good part'), { size: 9, seal: () => partOf(1, 'good part') });
    await assert.rejects(d.driver.putPart('atomic', up, 1, failsAfterLastByte(Buffer.from('evil part'), badDigest), { size: 9, seal: () => partOf(1, 'evil part') }), code('BadDigest'));
    await d.driver.completeUpload('atomic', up, [good], recordOf('mp', 'good part'));
    assert.equal((await directGet(mc, 'atomic', 'mp')).data.toString(), 'good part');
    assert.deepEqual(await upstreamUploads(upstream), []);
    assert.deepEqual(await d.registry(), []);
  });

  test('a conditional write loses to a write that lands upstream while its body streams', async () => {
    const ifAbsent = (cur: ObjectRecord | undefined) => {
      if (cur) throw new GatewayError('PreconditionFailed');
    };
    const body = manualBody();
    const writing = d.driver.putObject('atomic', 'race', body, { attrs: NO_ATTRS, size: 6, seal: () => recordOf('race', 'driver'), check: ifAbsent });
    body.write('dri');
    await new Promise((r) => setTimeout(r, 200));
    await mc.putObject('atomic', 'race', Buffer.from('direct'), 6);
    body.end('ver');
    await assert.rejects(writing, code('PreconditionFailed'));
    assert.equal((await directGet(mc, 'atomic', 'race')).data.toString(), 'direct');
  });

  test('100 MiB streams through: the body is read only as fast as the upstream takes it, and memory stays flat', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    for (const declared of [true, false]) {
      const what = declared ? 'declared length' : 'unknown length';
      const size = 100 * MiB;
      const { body: source, digest } = randomBody(size);
      let read = 0;
      const body = source.pipe(new Transform({ transform: (c: Buffer, _e, done) => ((read += c.length), done(null, c)) }));
      gc();
      const base = process.memoryUsage().rss;
      let peak = 0;
      const sampler = setInterval(() => {
        gc();
        peak = Math.max(peak, process.memoryUsage().rss - base);
      }, 100);
      const writing = d.driver.putObject('atomic', 'big', body, { attrs: NO_ATTRS, size: declared ? size : undefined, seal: () => ({ ...recordOf('big', ''), size }) });
      writing.catch(() => {});
      let frozenRead: number;
      let whileFrozen: number;
      try {
        while (read < 30 * MiB) await sleep(5);
        // Frozen midway, the upstream takes nothing more: the driver may fill its buffers, then must stop reading.
        upstream.freeze();
        await sleep(300);
        const settled = read;
        await sleep(1000);
        frozenRead = read;
        whileFrozen = read - settled;
      } finally {
        upstream.thaw();
      }
      await writing.finally(() => clearInterval(sampler));
      assert.ok(frozenRead < 46 * MiB, `${what}: ${Math.round(frozenRead / MiB)} MiB read by the time a frozen upstream had taken at most 30`);
      assert.equal(whileFrozen, 0, `${what}: ${whileFrozen} bytes read while the upstream took none`);
      assert.ok(peak < 64 * MiB, `${what}: RSS grew by ${Math.round(peak / MiB)} MiB`);
      assert.equal(await streamDigest((await mc.getObject('atomic', 'big')) as Readable), await digest);
    }
  });

  test('an upstream that goes away gives ServiceUnavailable within seconds, and is used again when it returns', async () => {
    await d.driver.putObject('atomic', 'kept', bodyOf('still here'), { attrs: NO_ATTRS, seal: () => recordOf('kept', 'still here') });
    await upstream.halt();
    const ops: Array<[string, () => Promise<unknown>]> = [
      ['put', () => d.driver.putObject('atomic', 'x', bodyOf('x'), { attrs: NO_ATTRS, size: 1, seal: () => recordOf('x', 'x') })],
      ['put of unknown length', () => d.driver.putObject('atomic', 'x', bodyOf('x'), { attrs: NO_ATTRS, seal: () => recordOf('x', 'x') })],
      ['get', () => d.driver.getObject('atomic', 'kept')],
      ['head', () => d.driver.headObject('atomic', 'kept')],
      ['list', () => d.driver.listObjects('atomic', { prefix: '', limit: 10 })],
      ['delete', () => d.driver.deleteObject('atomic', 'kept')],
      ['create upload', () => d.driver.createUpload('atomic', 'x', NO_ATTRS)],
      ['copy', () => d.driver.copyObject!({ bucket: 'atomic', key: 'kept' }, { bucket: 'atomic', key: 'y' }, recordOf('y', 'still here'))],
    ];
    try {
      for (const [name, op] of ops) {
        const t0 = Date.now();
        await assert.rejects(op(), code('ServiceUnavailable'), name);
        assert.ok(Date.now() - t0 < 3000, `${name} took ${Date.now() - t0} ms`);
      }
    } finally {
      await upstream.resume();
    }
    assert.equal((await readAll((await d.driver.getObject('atomic', 'kept'))!.body)).toString(), 'still here');
    await d.driver.putObject('atomic', 'after', bodyOf('back'), { attrs: NO_ATTRS, size: 4, seal: () => recordOf('after', 'back') });
    assert.deepEqual((await d.driver.listObjects('atomic', { prefix: 'after', limit: 10 })).map((r) => r.key), ['after']);
  });

  test('EntityTooSmall and InvalidPart come from the upstream as the gateway codes', async () => {
    const up = { uploadId: 'u6', key: 'small', ref: await d.driver.createUpload('atomic', 'small', NO_ATTRS) };
    const parts = [
      await d.driver.putPart('atomic', up, 1, bodyOf('tiny'), { size: 4, seal: () => partOf(1, 'tiny') }),
      await d.driver.putPart('atomic', up, 2, bodyOf('last'), { size: 4, seal: () => partOf(2, 'last') }),
    ];
    await assert.rejects(d.driver.completeUpload('atomic', up, parts, recordOf('small', 'tinylast')), code('EntityTooSmall'));
    await assert.rejects(d.driver.completeUpload('atomic', up, [{ ...parts[1], ref: md5('other') }], recordOf('small', 'last')), code('InvalidPart'));
    await d.driver.abortUpload('atomic', up);
    assert.equal(await d.driver.headObject('atomic', 'small'), undefined);
  });
});

describe('S3Driver against an upstream that hangs', () => {
  test('a silent upstream and a stalled download fail within the stall limit instead of hanging; a small stalled read is a 503', async () => {
    const sockets = new Set<Socket>();
    const silent = createTcpServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    // Answers every request with a body that stops after 10 bytes: of 1000 for key `small`, of
    // 1 MiB for any other.
    const stalling = createHttpServer((req, res) => {
      req.resume();
      const length = req.url?.endsWith('/small') ? 1000 : 1024 * 1024;
      res.writeHead(200, { 'content-length': String(length), etag: '"x"', 'last-modified': new Date().toUTCString() });
      res.write(Buffer.alloc(10));
    });
    silent.listen(0, '127.0.0.1');
    stalling.listen(0, '127.0.0.1');
    await Promise.all([once(silent, 'listening'), once(stalling, 'listening')]);
    const at = (s: { address(): AddressInfo | string | null }) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    const limits = { connectTimeoutMs: 500, stallTimeoutMs: 500 };
    const hung = await openDriver({ endpoint: at(silent), port: 0, accessKey: 'a', secretKey: 'b', stop: async () => {} }, limits);
    const slow = await openDriver({ endpoint: at(stalling), port: 0, accessKey: 'a', secretKey: 'b', stop: async () => {} }, limits);
    try {
      for (const [name, op] of [
        ['head', () => hung.driver.headObject('b', 'k')],
        ['put', () => hung.driver.putObject('b', 'k', bodyOf('data'), { attrs: NO_ATTRS, size: 4, seal: () => recordOf('k', 'data') })],
        ['list', () => hung.driver.listObjects('b', { prefix: '', limit: 1 })],
      ] as const) {
        const t0 = Date.now();
        await assert.rejects(op(), code('ServiceUnavailable'), name);
        assert.ok(Date.now() - t0 < 2500, `${name} took ${Date.now() - t0} ms`);
      }
      // A large object streams, so its stall fails the body already being sent on; a small one is
      // read whole first, so its stall is a 503 before anything is sent.
      const got = await slow.driver.getObject('b', 'k');
      let t0 = Date.now();
      await assert.rejects(readAll(got!.body));
      assert.ok(Date.now() - t0 < 2500, `the stalled download took ${Date.now() - t0} ms to fail`);
      t0 = Date.now();
      await assert.rejects(slow.driver.getObject('b', 'small'), code('ServiceUnavailable'));
      assert.ok(Date.now() - t0 < 2500, `the stalled small read took ${Date.now() - t0} ms to fail`);
    } finally {
      await hung.close();
      await slow.close();
      for (const s of sockets) s.destroy();
      stalling.closeAllConnections();
      await Promise.all([new Promise((r) => silent.close(r)), new Promise((r) => stalling.close(r))]);
    }
  });
});
