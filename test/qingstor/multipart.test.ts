// Multipart uploads through the npm qingstor-sdk: 0-based part numbers, parts listed and completed
// without ETags (as the SDK's upload helper does), 4 MiB minimum part, copied parts, abort after
// complete, and the codes for unknown uploads and bad part numbers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { assertNoServerErrors } from '../lib/s3http.js';
import { BACKEND, startGateway, type TestGateway } from '../lib/gateway.js';
import { call, qingstor } from '../lib/qingstor.js';

const MiB = 1024 * 1024;
let gw: TestGateway;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let b: any;

const md5hex = (d: Buffer | string) => createHash('md5').update(d).digest('hex');

before(async () => {
  gw = await startGateway();
  b = qingstor(gw).Bucket('mp-bucket', 'pek3a');
  assert.equal((await call(b.put())).status, 201);
});
after(async () => {
  await gw?.stop();
});

async function initiate(key: string, opts: Record<string, string> = {}): Promise<string> {
  const res = await call(b.initiateMultipartUpload(key, opts));
  assert.equal(res.status, 200);
  return res.data.upload_id;
}

test('initiate, upload parts 0 and 1, list them 0-based, complete without ETags: 201, bytes and type read back', async () => {
  const init = await call(b.initiateMultipartUpload('big/file.bin', { 'content-type': 'video/mp4' }));
  assert.equal(init.status, 200);
  assert.equal(init.headers['content-type'], 'application/json');
  assert.deepEqual(Object.keys(init.data).sort(), ['bucket', 'key', 'upload_id']);
  assert.equal(init.data.bucket, 'mp-bucket');
  assert.equal(init.data.key, 'big/file.bin');
  const id = init.data.upload_id;

  const p0 = randomBytes(5 * MiB);
  const p1 = randomBytes(1000);
  const up0 = await call(b.uploadMultipart('big/file.bin', { part_number: '0', upload_id: id, body: p0 }));
  assert.equal(up0.status, 201);
  assert.equal(up0.headers.etag, `"${md5hex(p0)}"`);
  assert.equal((await call(b.uploadMultipart('big/file.bin', { part_number: '1', upload_id: id, body: p1 }))).status, 201);

  const listed = await call(b.listMultipart('big/file.bin', { upload_id: id }));
  assert.equal(listed.status, 200);
  assert.equal(listed.data.count, 2);
  assert.deepEqual(listed.data.object_parts.map((p: { part_number: number; size: number; etag: string }) => [p.part_number, p.size, p.etag]), [[0, p0.length, md5hex(p0)], [1, p1.length, md5hex(p1)]]);
  assert.ok(listed.data.object_parts.every((p: { created: string }) => Math.abs(Date.parse(p.created) - Date.now()) < 120_000));
  const after0 = await call(b.listMultipart('big/file.bin', { upload_id: id, part_number_marker: '0' }));
  assert.deepEqual(after0.data.object_parts.map((p: { part_number: number }) => p.part_number), [1]);
  assert.deepEqual((await call(b.listMultipart('big/file.bin', { upload_id: id, limit: 1 }))).data.object_parts.map((p: { part_number: number }) => p.part_number), [0]);

  const done = await call(b.completeMultipartUpload('big/file.bin', { upload_id: id, object_parts: [{ part_number: 0 }, { part_number: 1 }] }));
  assert.equal(done.status, 201);
  const md5s = createHash('md5').update(Buffer.concat([createHash('md5').update(p0).digest(), createHash('md5').update(p1).digest()])).digest('hex');
  assert.equal(done.headers.etag, `"${md5s}-2"`);
  const got = await call(b.getObject('big/file.bin'));
  assert.ok(got.data.equals(Buffer.concat([p0, p1])));
  assert.equal(got.headers['content-type'], 'video/mp4');
  assert.equal(got.headers.etag, `"${md5s}-2"`);
  // The SDK scenarios abort after completing, and expect 204.
  assert.equal((await call(b.abortMultipartUpload('big/file.bin', { upload_id: id }))).status, 204);
  assert.deepEqual((await call(b.listMultipartUploads())).data.uploads, []);
});

test('complete takes list-parts entries verbatim (size, created and etag included) and leaves out unlisted parts', async () => {
  const id = await initiate('verbatim.bin');
  const parts = [randomBytes(5 * MiB), randomBytes(10), randomBytes(20)];
  for (const [i, p] of parts.entries()) await call(b.uploadMultipart('verbatim.bin', { part_number: String(i), upload_id: id, body: p }));
  const listed = (await call(b.listMultipart('verbatim.bin', { upload_id: id }))).data.object_parts;
  const done = await call(b.completeMultipartUpload('verbatim.bin', { upload_id: id, object_parts: [listed[0], listed[2]] }));
  assert.equal(done.status, 201);
  assert.ok((await call(b.getObject('verbatim.bin'))).data.equals(Buffer.concat([parts[0], parts[2]])));
});

// An upstream S3 service has S3's 5 MiB minimum, which the s3 driver cannot lower.
test('a 4 MiB part is large enough for QingStor', { skip: BACKEND.driver === 's3' ? 'the upstream S3 refuses parts under 5 MiB (documented gap)' : false }, async () => {
  const id = await initiate('four.bin');
  const p0 = randomBytes(4 * MiB);
  await call(b.uploadMultipart('four.bin', { part_number: '0', upload_id: id, body: p0 }));
  await call(b.uploadMultipart('four.bin', { part_number: '1', upload_id: id, body: 'end' }));
  assert.equal((await call(b.completeMultipartUpload('four.bin', { upload_id: id, object_parts: [{ part_number: 0 }, { part_number: 1 }] }))).status, 201);
  assert.ok((await call(b.getObject('four.bin'))).data.equals(Buffer.concat([p0, Buffer.from('end')])));
});

test('a non-final part under 4 MiB makes complete fail with entity_too_small, and the upload stays', async () => {
  const id = await initiate('small.bin');
  await call(b.uploadMultipart('small.bin', { part_number: '0', upload_id: id, body: randomBytes(4 * MiB - 1) }));
  await call(b.uploadMultipart('small.bin', { part_number: '1', upload_id: id, body: 'tail' }));
  const res = await call(b.completeMultipartUpload('small.bin', { upload_id: id, object_parts: [{ part_number: 0 }, { part_number: 1 }] }));
  assert.equal(res.status, 400);
  assert.equal(res.data.code, 'entity_too_small');
  assert.equal((await call(b.headObject('small.bin'))).status, 404);
  assert.equal((await call(b.listMultipart('small.bin', { upload_id: id }))).data.count, 2);
  assert.equal((await call(b.abortMultipartUpload('small.bin', { upload_id: id }))).status, 204);
  const gone = await call(b.listMultipart('small.bin', { upload_id: id }));
  assert.equal(gone.status, 404);
  assert.equal(gone.data.code, 'upload_not_exists');
});

test('upload part copy: x-qs-copy-source with x-qs-copy-range copies a byte range of an object', async () => {
  const source = randomBytes(6 * MiB);
  await call(b.putObject('copy-src.bin', { body: source }));
  const id = await initiate('copy-dst.bin');
  const c0 = await call(b.uploadMultipart('copy-dst.bin', { part_number: '0', upload_id: id, 'x-qs-copy-source': '/mp-bucket/copy-src.bin', 'x-qs-copy-range': `bytes=0-${5 * MiB - 1}` }));
  assert.equal(c0.status, 201);
  assert.equal(c0.headers.etag, `"${md5hex(source.subarray(0, 5 * MiB))}"`);
  assert.equal(c0.headers['x-qs-content-copy-range'], `bytes 0-${5 * MiB - 1}/${source.length}`);
  const c1 = await call(b.uploadMultipart('copy-dst.bin', { part_number: '1', upload_id: id, 'x-qs-copy-source': '/mp-bucket/copy-src.bin', 'x-qs-copy-range': `bytes=${5 * MiB}-` }));
  assert.equal(c1.status, 201);
  assert.equal((await call(b.completeMultipartUpload('copy-dst.bin', { upload_id: id, object_parts: [{ part_number: 0 }, { part_number: 1 }] }))).status, 201);
  assert.ok((await call(b.getObject('copy-dst.bin'))).data.equals(source));
});

test('unknown uploads: upload and list answer 404 upload_not_exists, abort answers 204; part numbers out of range are invalid_argument', async () => {
  const up = await call(b.uploadMultipart('ghost.bin', { part_number: '0', upload_id: 'no-such-upload', body: 'x' }));
  assert.equal(up.status, 404);
  assert.equal(up.data.code, 'upload_not_exists');
  assert.equal((await call(b.listMultipart('ghost.bin', { upload_id: 'no-such-upload' }))).data.code, 'upload_not_exists');
  const complete = await call(b.completeMultipartUpload('ghost.bin', { upload_id: 'no-such-upload', object_parts: [{ part_number: 0 }] }));
  assert.equal(complete.status, 404);
  assert.equal(complete.data.code, 'upload_not_exists');
  assert.equal((await call(b.abortMultipartUpload('ghost.bin', { upload_id: 'no-such-upload' }))).status, 204);

  const id = await initiate('range.bin');
  for (const n of ['10000', '-1', 'x']) {
    const res = await call(b.uploadMultipart('range.bin', { part_number: n, upload_id: id, body: 'x' }));
    assert.equal(res.status, 400, n);
    assert.equal(res.data.code, 'invalid_argument', n);
  }
  assert.equal((await call(b.uploadMultipart('range.bin', { part_number: '9999', upload_id: id, body: 'last' }))).status, 201);
  assert.deepEqual((await call(b.listMultipart('range.bin', { upload_id: id }))).data.object_parts.map((p: { part_number: number }) => p.part_number), [9999]);
});

test('the gateway logged no internal errors', () => {
  assertNoServerErrors(gw);
});
