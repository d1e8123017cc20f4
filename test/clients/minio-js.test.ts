// minio-js (the `minio` package) against a gateway started here, path style over plain HTTP. minio-js 8
// sends no aws-chunked bodies: over HTTP it signs each payload's SHA-256, and it splits streams larger
// than its part size into its own multipart upload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { Client, CopyConditions } from 'minio';
import { startGateway, ROOT_KEY, type TestGateway } from '../lib/gateway.js';

const MiB = 1024 * 1024;
const BUCKET = 'minio-js';
let gw: TestGateway;
let mc: Client;

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Keys, then common prefixes (minio-js emits a page's prefixes after its objects). */
async function listKeys(prefix: string, recursive: boolean): Promise<string[]> {
  const keys: string[] = [];
  const prefixes: string[] = [];
  for await (const item of mc.listObjectsV2(BUCKET, prefix, recursive)) {
    if (item.name !== undefined) keys.push(item.name);
    else prefixes.push(`prefix:${item.prefix}`);
  }
  return [...keys, ...prefixes];
}

/** The requests (method and URL) the gateway logged that mention `needle`, once `last` has been logged. */
async function loggedRequests(needle: string, last: RegExp): Promise<string[]> {
  // Log lines arrive through a pipe, a moment after the responses.
  for (let i = 0; i < 100; i++) {
    const lines = gw.logs.map((l) => JSON.parse(l) as { msg?: string; method?: string; url?: string })
      .filter((e) => e.msg === 'request' && e.url!.includes(needle)).map((e) => `${e.method} ${e.url}`);
    if (lines.some((l) => last.test(l))) return lines;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`no logged request matched ${last}`);
}

/** minio-js's own trace of the requests `fn` makes (request lines and headers). */
async function traced(fn: () => Promise<unknown>): Promise<string> {
  let text = '';
  mc.traceOn(new Writable({ write(chunk, _enc, cb) { text += chunk; cb(); } }));
  try {
    await fn();
  } finally {
    mc.traceOff();
  }
  return text;
}

before(async () => {
  gw = await startGateway();
  mc = new Client({
    endPoint: '127.0.0.1', port: gw.port, useSSL: false, pathStyle: true, region: 'us-east-1',
    accessKey: ROOT_KEY.accessKey, secretKey: ROOT_KEY.secretKey, partSize: 5 * MiB,
  });
});
after(async () => {
  await gw?.stop();
});

test('makeBucket and bucketExists', async () => {
  assert.equal(await mc.bucketExists(BUCKET), false);
  await mc.makeBucket(BUCKET, 'us-east-1');
  assert.equal(await mc.bucketExists(BUCKET), true);
  const buckets = await mc.listBuckets();
  assert.deepEqual(buckets.map((b) => b.name), [BUCKET]);
  await assert.rejects(mc.makeBucket(BUCKET, 'us-east-1'), (e: { code?: string }) => e.code === 'BucketAlreadyOwnedByYou');
});

test('putObject of a Buffer and of a small stream; getObject and statObject', async () => {
  const buf = randomBytes(64 * 1024 + 7);
  const put = await mc.putObject(BUCKET, 'buffer.bin', buf, buf.length, { 'Content-Type': 'application/x-test', 'X-Amz-Meta-Origin': 'minio-js' });
  assert.equal(put.etag, md5(buf));
  assert.ok((await collect(await mc.getObject(BUCKET, 'buffer.bin'))).equals(buf));

  const stat = await mc.statObject(BUCKET, 'buffer.bin');
  assert.equal(stat.size, buf.length);
  assert.equal(stat.etag, md5(buf));
  assert.equal(stat.metaData['content-type'], 'application/x-test');
  assert.equal(stat.metaData.origin, 'minio-js');
  assert.ok(stat.lastModified instanceof Date && !Number.isNaN(stat.lastModified.getTime()));

  const streamed = randomBytes(300_000);
  const pieces = [streamed.subarray(0, 1), streamed.subarray(1, 150_000), streamed.subarray(150_000)];
  let sp: { etag: string } | undefined;
  const trace = await traced(async () => { sp = await mc.putObject(BUCKET, 'dir/stream.bin', Readable.from(pieces), streamed.length); });
  // Over plain HTTP minio-js buffers the stream and signs its SHA-256, which the gateway checks.
  assert.match(trace, new RegExp(`^x-amz-content-sha256: ${createHash('sha256').update(streamed).digest('hex')}$`, 'm'));
  assert.equal(sp!.etag, md5(streamed));
  assert.ok((await collect(await mc.getObject(BUCKET, 'dir/stream.bin'))).equals(streamed));
  assert.equal((await mc.statObject(BUCKET, 'dir/stream.bin')).size, streamed.length);
});

test('a 12 MiB stream becomes minio-js\'s own multipart upload of 5 MiB parts', async () => {
  const data = randomBytes(12 * MiB);
  const pieces = Array.from({ length: 12 }, (_, i) => data.subarray(i * MiB, (i + 1) * MiB));
  const result = await mc.putObject(BUCKET, 'dir/large.bin', Readable.from(pieces), data.length);
  // minio-js looks for an upload to resume, then uploads three parts. (minio-js 8 numbers them
  // from 2, which S3 allows: part numbers need only ascend.)
  const requests = await loggedRequests('large.bin', /^POST .*uploadId=/);
  assert.deepEqual(requests.map((r) => r.replace(/uploadId=[^&\s]+/, 'uploadId=ID').replace(/partNumber=\d+/, 'partNumber=N')), [
    `GET /${BUCKET}?uploads&delimiter=&max-uploads=1000&prefix=dir%2Flarge.bin`,
    `POST /${BUCKET}/dir/large.bin?uploads`,
    `PUT /${BUCKET}/dir/large.bin?partNumber=N&uploadId=ID`,
    `PUT /${BUCKET}/dir/large.bin?partNumber=N&uploadId=ID`,
    `PUT /${BUCKET}/dir/large.bin?partNumber=N&uploadId=ID`,
    `POST /${BUCKET}/dir/large.bin?uploadId=ID`,
  ]);
  const partMd5s = Buffer.concat([0, 1, 2].map((i) => createHash('md5').update(data.subarray(i * 5 * MiB, (i + 1) * 5 * MiB)).digest()));
  assert.equal(result.etag, `${md5(partMd5s)}-3`);
  const stat = await mc.statObject(BUCKET, 'dir/large.bin');
  assert.equal(stat.size, data.length);
  assert.equal(stat.etag, `${md5(partMd5s)}-3`);
  assert.ok((await collect(await mc.getObject(BUCKET, 'dir/large.bin'))).equals(data));
  // A range that crosses the boundary between part 1 and part 2.
  const part = await collect(await mc.getPartialObject(BUCKET, 'dir/large.bin', 5 * MiB - 10, 20));
  assert.ok(part.equals(data.subarray(5 * MiB - 10, 5 * MiB + 10)));
});

test('a stream of unknown size is uploaded as a one-part multipart upload', async () => {
  const data = randomBytes(200_000);
  await mc.putObject(BUCKET, 'unsized.bin', Readable.from([data.subarray(0, 100), data.subarray(100)]));
  const stat = await mc.statObject(BUCKET, 'unsized.bin');
  assert.equal(stat.size, data.length);
  assert.equal(stat.etag, `${md5(createHash('md5').update(data).digest())}-1`);
  assert.ok((await collect(await mc.getObject(BUCKET, 'unsized.bin'))).equals(data));
});

test('getPartialObject returns exactly the requested bytes', async () => {
  const data = Buffer.from('0123456789abcdefghij');
  await mc.putObject(BUCKET, 'partial.txt', data);
  assert.equal((await collect(await mc.getPartialObject(BUCKET, 'partial.txt', 5, 4))).toString(), '5678');
  assert.equal((await collect(await mc.getPartialObject(BUCKET, 'partial.txt', 15))).toString(), 'fghij');
});

test('listObjectsV2, recursive and not', async () => {
  assert.deepEqual(await listKeys('', true), ['buffer.bin', 'dir/large.bin', 'dir/stream.bin', 'partial.txt', 'unsized.bin']);
  assert.deepEqual(await listKeys('', false), ['buffer.bin', 'partial.txt', 'unsized.bin', 'prefix:dir/']);
  assert.deepEqual(await listKeys('dir/', false), ['dir/large.bin', 'dir/stream.bin']);
  const sizes: Record<string, number> = {};
  for await (const item of mc.listObjectsV2(BUCKET, 'dir/', true)) sizes[item.name!] = item.size;
  assert.deepEqual(sizes, { 'dir/large.bin': 12 * MiB, 'dir/stream.bin': 300_000 });
});

test('copyObject, with a condition that holds and one that fails', async () => {
  const data = Buffer.from('copy me, unchanged');
  await mc.putObject(BUCKET, 'orig name.txt', data, data.length, { 'X-Amz-Meta-Kept': 'yes' });
  const conds = new CopyConditions();
  conds.setMatchETag(md5(data));
  // minio-js URL-encodes the copy source itself.
  const res = await mc.copyObject(BUCKET, 'copies/one.txt', `/${BUCKET}/orig name.txt`, conds);
  assert.ok('etag' in res, 'the v1 form of copyObject answers { etag, lastModified }');
  assert.equal(res.etag, md5(data));
  assert.ok((await collect(await mc.getObject(BUCKET, 'copies/one.txt'))).equals(data));
  assert.equal((await mc.statObject(BUCKET, 'copies/one.txt')).metaData.kept, 'yes');

  const wrong = new CopyConditions();
  wrong.setMatchETag('00000000000000000000000000000000');
  await assert.rejects(mc.copyObject(BUCKET, 'copies/two.txt', `/${BUCKET}/orig name.txt`, wrong),
    (e: { code?: string }) => e.code === 'PreconditionFailed');
  await assert.rejects(mc.statObject(BUCKET, 'copies/two.txt'), (e: { code?: string }) => e.code === 'NotFound');
});

test('presignedGetObject and presignedPutObject work with fetch', async () => {
  const body = randomBytes(10_000);
  const putUrl = await mc.presignedPutObject(BUCKET, 'presigned/up load.bin', 600);
  const put = await fetch(putUrl, { method: 'PUT', body });
  assert.equal(put.status, 200, await put.text());
  const getUrl = await mc.presignedGetObject(BUCKET, 'presigned/up load.bin', 600);
  const get = await fetch(getUrl);
  assert.equal(get.status, 200);
  assert.ok(Buffer.from(await get.arrayBuffer()).equals(body));
  // A tampered signature is refused.
  const bad = await fetch(getUrl.replace(/X-Amz-Signature=[0-9a-f]/, (m) => m.slice(0, -1) + (m.endsWith('0') ? '1' : '0')));
  assert.equal(bad.status, 403);
  assert.match(await bad.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
});

test('removeObject, removeObjects and removeBucket', async () => {
  await assert.rejects(mc.removeBucket(BUCKET), (e: { code?: string }) => e.code === 'BucketNotEmpty');
  await mc.removeObject(BUCKET, 'buffer.bin');
  await assert.rejects(mc.statObject(BUCKET, 'buffer.bin'), (e: { code?: string }) => e.code === 'NotFound');
  const rest = await listKeys('', true);
  const results = await mc.removeObjects(BUCKET, rest);
  assert.deepEqual(results.flat().filter((r) => r && 'Code' in (r as object)), [], 'no per-key errors');
  assert.deepEqual(await listKeys('', true), []);
  await mc.removeBucket(BUCKET);
  assert.equal(await mc.bucketExists(BUCKET), false);
  await assert.rejects(mc.getObject(BUCKET, 'dir/large.bin'), (e: { code?: string }) => e.code === 'NoSuchBucket');
});
