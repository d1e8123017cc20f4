// Multipart uploads over raw HTTP: CompleteMultipartUpload validation, part replacement, the
// multipart ETag and checksums (computed here independently), partNumber reads, ListParts paging and
// UploadPartCopy. 5 MiB parts are used only where S3's minimum part size makes them necessary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startGateway, type TestGateway } from '../lib/gateway.js';
import { S3Http, all, assertError, checksumOf, md5Hex, objectPath, parseXml, text, texts, type RawResponse } from '../lib/s3http.js';

const B = 'multipart';
const MIB5 = 5 * 1024 * 1024;
/** One 5 MiB part, reused wherever a non-last part must reach the minimum size. */
const BIG = randomBytes(MIB5);

let gw: TestGateway;
let s3: S3Http;

async function create(key: string, headers: Record<string, string> = {}): Promise<{ id: string; res: RawResponse }> {
  const res = await s3.send({ method: 'POST', path: objectPath(B, key), query: 'uploads', headers });
  assert.equal(res.status, 200, res.text);
  return { id: text(await parseXml(res.text), 'UploadId')!, res };
}

function uploadPart(key: string, id: string, part: number | string, body: Buffer | string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return s3.send({ method: 'PUT', path: objectPath(B, key), query: { partNumber: String(part), uploadId: id }, body, headers });
}

async function part(key: string, id: string, n: number, body: Buffer | string, headers: Record<string, string> = {}): Promise<string> {
  const res = await uploadPart(key, id, n, body, headers);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.etag, `"${md5Hex(body)}"`);
  return res.headers.etag;
}

function completeXml(parts: Array<[number, string, string?]>): string {
  return `<CompleteMultipartUpload>${parts.map(([n, etag, crc]) => `<Part><PartNumber>${n}</PartNumber><ETag>${etag}</ETag>${crc ? `<ChecksumCRC32>${crc}</ChecksumCRC32>` : ''}</Part>`).join('')}</CompleteMultipartUpload>`;
}

function complete(key: string, id: string, body: string | Array<[number, string, string?]>): Promise<RawResponse> {
  return s3.send({ method: 'POST', path: objectPath(B, key), query: { uploadId: id }, body: typeof body === 'string' ? body : completeXml(body) });
}

/** S3's multipart ETag: MD5 of the concatenated binary part MD5s, then `-<part count>`. */
function multipartEtag(parts: Buffer[]): string {
  const md5 = createHash('md5');
  for (const p of parts) md5.update(createHash('md5').update(p).digest());
  return `"${md5.digest('hex')}-${parts.length}"`;
}

before(async () => {
  gw = await startGateway();
  s3 = new S3Http(gw.endpoint);
  await s3.createBucket(B);
});

after(async () => {
  await s3?.close();
  await gw?.stop();
});

test('CompleteMultipartUpload validation: order, unknown part, wrong ETag, small part, empty list', async () => {
  const { id } = await create('validate');
  const p1 = Buffer.alloc(1024, 1);
  const e1 = await part('validate', id, 1, p1);
  const e2 = await part('validate', id, 2, Buffer.alloc(1024, 2));
  assertError(await complete('validate', id, [[2, e2], [1, e1]]), 400, 'InvalidPartOrder');
  assertError(await complete('validate', id, [[1, e1], [1, e1]]), 400, 'InvalidPartOrder');
  assertError(await complete('validate', id, [[3, e2]]), 400, 'InvalidPart');
  assertError(await complete('validate', id, [[1, e2]]), 400, 'InvalidPart');
  assertError(await complete('validate', id, [[1, '"not-an-etag"']]), 400, 'InvalidPart');
  const small = await complete('validate', id, [[1, e1], [2, e2]]);
  assertError(small, 400, 'EntityTooSmall');
  assert.match(small.text, /<ProposedSize>1024<\/ProposedSize>/);
  assert.match(small.text, /<PartNumber>1<\/PartNumber>/);
  for (const body of ['<CompleteMultipartUpload></CompleteMultipartUpload>', '<CompleteMultipartUpload/>', '', '<Complete', '<Other><Part/></Other>']) {
    assertError(await complete('validate', id, body), 400, 'MalformedXML');
  }
  // None of the failures consumed the upload; the last part alone may be small, and the part
  // uploaded but not listed is discarded.
  const done = await complete('validate', id, [[1, e1.replace(/"/g, '')]]);
  assert.equal(done.status, 200, done.text);
  const get = await s3.send({ path: objectPath(B, 'validate') });
  assert.ok(get.body.equals(p1));
  assert.equal(get.headers.etag, multipartEtag([p1]));
  assertError(await s3.send({ path: objectPath(B, 'validate'), query: { uploadId: id } }), 404, 'NoSuchUpload');
});

test('part numbers outside 1..10000 → 400 InvalidArgument', async () => {
  const { id } = await create('numbers');
  for (const n of ['0', '10001', '-1', 'abc']) assertError(await uploadPart('numbers', id, n, 'x'), 400, 'InvalidArgument');
  assert.equal((await uploadPart('numbers', id, 10000, 'x')).status, 200);
  assert.equal((await s3.send({ method: 'PUT', path: objectPath(B, 'numbers'), body: 'single' })).status, 200);
  for (const n of ['0', '10001']) assertError(await s3.send({ path: objectPath(B, 'numbers'), query: { partNumber: n } }), 400, 'InvalidArgument');
  assert.equal((await s3.send({ method: 'DELETE', path: objectPath(B, 'numbers'), query: { uploadId: id } })).status, 204);
});

test('unknown uploadId → 404 NoSuchUpload on UploadPart, ListParts, Complete and Abort', async () => {
  const { id } = await create('known');
  for (const [key, uploadId] of [['known', 'no-such-upload-id'], ['other-key', id]]) {
    assertError(await uploadPart(key, uploadId, 1, 'x'), 404, 'NoSuchUpload');
    assertError(await s3.send({ path: objectPath(B, key), query: { uploadId } }), 404, 'NoSuchUpload');
    assertError(await complete(key, uploadId, [[1, '"00"']]), 404, 'NoSuchUpload');
    assertError(await s3.send({ method: 'DELETE', path: objectPath(B, key), query: { uploadId } }), 404, 'NoSuchUpload');
  }
  assert.equal((await s3.send({ method: 'DELETE', path: objectPath(B, 'known'), query: { uploadId: id } })).status, 204);
  assertError(await s3.send({ method: 'DELETE', path: objectPath(B, 'known'), query: { uploadId: id } }), 404, 'NoSuchUpload');
  assertError(await uploadPart('known', id, 1, 'x'), 404, 'NoSuchUpload');
});

test('re-uploading a part replaces it; ETag is md5 of part md5s + -N; partNumber reads return one part', async () => {
  const key = 'assembled';
  const { id } = await create(key, { 'content-type': 'application/x-test', 'x-amz-meta-origin': 'multipart' });
  const e1 = await part(key, id, 1, BIG);
  const old2 = await part(key, id, 2, 'first version of part 2');
  const p2 = randomBytes(300 * 1024);
  const e2 = await part(key, id, 2, p2);
  await part(key, id, 3, 'uploaded but never listed');
  const listed = await s3.xml({ path: objectPath(B, key), query: { uploadId: id } });
  assert.deepEqual(texts(listed, 'Part', 'PartNumber'), ['1', '2', '3']);
  assert.deepEqual(texts(listed, 'Part', 'ETag'), [e1, e2, `"${md5Hex('uploaded but never listed')}"`]);
  assert.deepEqual(texts(listed, 'Part', 'Size'), [String(MIB5), String(p2.length), '25']);
  assertError(await complete(key, id, [[1, e1], [2, old2]]), 400, 'InvalidPart');

  const res = await complete(key, id, [[1, e1], [2, e2]]);
  assert.equal(res.status, 200, res.text);
  const doc = await parseXml(res.text);
  const etag = multipartEtag([BIG, p2]);
  assert.equal(doc.$root, 'CompleteMultipartUploadResult');
  assert.equal(text(doc, 'ETag'), etag);
  assert.equal(text(doc, 'Bucket'), B);
  assert.equal(text(doc, 'Key'), key);

  const total = MIB5 + p2.length;
  const whole = await s3.send({ path: objectPath(B, key) });
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.etag, etag);
  assert.equal(whole.headers['content-length'], String(total));
  assert.equal(whole.headers['content-type'], 'application/x-test');
  assert.equal(whole.headers['x-amz-meta-origin'], 'multipart');
  assert.ok(whole.body.equals(Buffer.concat([BIG, p2])), 'object = listed parts only, the replacement of part 2');

  const second = await s3.send({ path: objectPath(B, key), query: { partNumber: '2' } });
  assert.equal(second.status, 206);
  assert.ok(second.body.equals(p2));
  assert.equal(second.headers['content-range'], `bytes ${MIB5}-${total - 1}/${total}`);
  assert.equal(second.headers['content-length'], String(p2.length));
  assert.equal(second.headers['x-amz-mp-parts-count'], '2');
  const first = await s3.send({ method: 'HEAD', path: objectPath(B, key), query: { partNumber: '1' } });
  assert.equal(first.status, 206);
  assert.equal(first.headers['content-length'], String(MIB5));
  assert.equal(first.headers['content-range'], `bytes 0-${MIB5 - 1}/${total}`);
  assert.equal(first.headers['x-amz-mp-parts-count'], '2');
  assertError(await s3.send({ path: objectPath(B, key), query: { uploadId: id } }), 404, 'NoSuchUpload');
});

test('ListParts paging with max-parts and part-number-marker', async () => {
  const { id } = await create('paged');
  const etags: string[] = [];
  for (const n of [1, 2, 3, 5, 8]) etags.push(await part('paged', id, n, `part ${n}`));
  for (const size of [1, 2, 3, 5]) {
    const seen: string[] = [];
    let marker: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await s3.xml({ path: objectPath(B, 'paged'), query: { uploadId: id, 'max-parts': size, 'part-number-marker': marker } });
      assert.equal(text(page, 'UploadId'), id);
      assert.equal(text(page, 'MaxParts'), String(size));
      assert.equal(text(page, 'PartNumberMarker'), marker ?? '0');
      const nums = texts(page, 'Part', 'PartNumber');
      seen.push(...nums);
      if (text(page, 'IsTruncated') !== 'true') break;
      assert.equal(nums.length, size);
      marker = text(page, 'NextPartNumberMarker');
      assert.equal(marker, nums[nums.length - 1]);
    }
    assert.deepEqual(seen, ['1', '2', '3', '5', '8'], `max-parts=${size}`);
  }
  const tail = await s3.xml({ path: objectPath(B, 'paged'), query: { uploadId: id, 'part-number-marker': 3 } });
  assert.deepEqual(texts(tail, 'Part', 'PartNumber'), ['5', '8']);
  assert.deepEqual(texts(tail, 'Part', 'ETag'), etags.slice(3));
  assert.equal(text(tail, 'IsTruncated'), 'false');
  assert.equal((await s3.send({ method: 'DELETE', path: objectPath(B, 'paged'), query: { uploadId: id } })).status, 204);
});

test('UploadPartCopy with and without x-amz-copy-source-range; malformed range → 400, past the end → 416', async () => {
  assert.equal((await s3.send({ method: 'PUT', path: objectPath(B, 'copy-src'), body: BIG })).status, 200);
  const key = 'from-copies';
  const { id } = await create(key);
  const copyPart = (n: number, headers: Record<string, string> = {}) =>
    s3.send({ method: 'PUT', path: objectPath(B, key), query: { partNumber: String(n), uploadId: id }, headers: { 'x-amz-copy-source': `/${B}/copy-src`, ...headers } });
  const whole = await copyPart(1);
  assert.equal(whole.status, 200, whole.text);
  const wholeDoc = await parseXml(whole.text);
  assert.equal(wholeDoc.$root, 'CopyPartResult');
  assert.equal(text(wholeDoc, 'ETag'), `"${md5Hex(BIG)}"`);
  const ranged = await copyPart(2, { 'x-amz-copy-source-range': 'bytes=10-19' });
  assert.equal(ranged.status, 200, ranged.text);
  assert.equal(text(await parseXml(ranged.text), 'ETag'), `"${md5Hex(BIG.subarray(10, 20))}"`);
  for (const range of ['bytes=10-', 'bytes=-10', 'bytes=abc', '10-19', 'bytes=19-10']) {
    const res = await copyPart(3, { 'x-amz-copy-source-range': range });
    assertError(res, 400, 'InvalidArgument');
    assert.match(res.text, /<ArgumentName>x-amz-copy-source-range<\/ArgumentName>/, range);
  }
  assertError(await copyPart(3, { 'x-amz-copy-source-range': `bytes=0-${MIB5}` }), 416, 'InvalidRange');
  assertError(await copyPart(3, { 'x-amz-copy-source-range': `bytes=${MIB5}-${MIB5 + 10}` }), 416, 'InvalidRange');
  const listed = await s3.xml({ path: objectPath(B, key), query: { uploadId: id } });
  assert.deepEqual(texts(listed, 'Part', 'PartNumber'), ['1', '2'], 'failed copies store no part');
  const done = await complete(key, id, [[1, text(wholeDoc, 'ETag')!], [2, `"${md5Hex(BIG.subarray(10, 20))}"`]]);
  assert.equal(done.status, 200, done.text);
  const got = await s3.send({ path: objectPath(B, key) });
  assert.ok(got.body.equals(Buffer.concat([BIG, BIG.subarray(10, 20)])));
});

test('DeleteBucket while an upload is in progress → 409 BucketNotEmpty', async () => {
  const bucket = 'mp-busy';
  await s3.createBucket(bucket);
  const res = await s3.send({ method: 'POST', path: objectPath(bucket, 'pending'), query: 'uploads' });
  const id = text(await parseXml(res.text), 'UploadId')!;
  assertError(await s3.send({ method: 'DELETE', path: `/${bucket}` }), 409, 'BucketNotEmpty');
  assert.equal((await s3.send({ method: 'DELETE', path: objectPath(bucket, 'pending'), query: { uploadId: id } })).status, 204);
  assert.equal((await s3.send({ method: 'DELETE', path: `/${bucket}` })).status, 204);
});

test('CRC32 COMPOSITE: base64(crc32 of the part CRC32 digests)-N, per part in ListParts', async () => {
  const key = 'crc32-composite';
  const { id, res } = await create(key, { 'x-amz-checksum-algorithm': 'CRC32' });
  assert.equal(res.headers['x-amz-checksum-algorithm'], 'CRC32');
  assert.equal(res.headers['x-amz-checksum-type'], 'COMPOSITE');
  const p2 = Buffer.from('the small last part');
  const [c1, c2] = [await checksumOf('crc32', BIG), await checksumOf('crc32', p2)];
  const up1 = await uploadPart(key, id, 1, BIG, { 'x-amz-checksum-crc32': c1 });
  assert.equal(up1.headers['x-amz-checksum-crc32'], c1);
  assertError(await uploadPart(key, id, 2, p2, { 'x-amz-checksum-crc32': c1 }), 400, 'BadDigest');
  const e2 = await part(key, id, 2, p2, { 'x-amz-checksum-crc32': c2 });
  const listed = await s3.xml({ path: objectPath(B, key), query: { uploadId: id } });
  assert.equal(text(listed, 'ChecksumAlgorithm'), 'CRC32');
  assert.deepEqual(texts(listed, 'Part', 'ChecksumCRC32'), [c1, c2]);
  assertError(await complete(key, id, [[1, up1.headers.etag, c2], [2, e2, c2]]), 400, 'InvalidPart');

  const expected = `${await checksumOf('crc32', Buffer.concat([Buffer.from(c1, 'base64'), Buffer.from(c2, 'base64')]))}-2`;
  const done = await complete(key, id, [[1, up1.headers.etag, c1], [2, e2, c2]]);
  assert.equal(done.status, 200, done.text);
  const doc = await parseXml(done.text);
  assert.equal(text(doc, 'ChecksumCRC32'), expected);
  assert.equal(text(doc, 'ChecksumType'), 'COMPOSITE');
  const head = await s3.send({ method: 'HEAD', path: objectPath(B, key), headers: { 'x-amz-checksum-mode': 'ENABLED' } });
  assert.equal(head.headers['x-amz-checksum-crc32'], expected);
  assert.equal(head.headers['x-amz-checksum-type'], 'COMPOSITE');
});

test('FULL_OBJECT checksums equal the whole-object checksum (CRC64NVME, CRC32)', async () => {
  const p2 = randomBytes(1000);
  const wholeData = Buffer.concat([BIG, p2]);
  for (const [alg, headers, expected] of [
    ['CRC64NVME', { 'x-amz-checksum-algorithm': 'CRC64NVME' }, await checksumOf('crc64nvme', wholeData)],
    ['CRC32', { 'x-amz-checksum-algorithm': 'CRC32', 'x-amz-checksum-type': 'FULL_OBJECT' }, await checksumOf('crc32', wholeData)],
  ] as const) {
    const key = `full-${alg}`;
    const { id, res } = await create(key, headers);
    assert.equal(res.headers['x-amz-checksum-type'], 'FULL_OBJECT');
    const e1 = await part(key, id, 1, BIG);
    const e2 = await part(key, id, 2, p2);
    const done = await complete(key, id, [[1, e1], [2, e2]]);
    assert.equal(done.status, 200, done.text);
    const doc = await parseXml(done.text);
    assert.equal(text(doc, `Checksum${alg}`), expected, alg);
    assert.equal(text(doc, 'ChecksumType'), 'FULL_OBJECT');
    const get = await s3.send({ path: objectPath(B, key), headers: { 'x-amz-checksum-mode': 'ENABLED' } });
    assert.equal(get.headers[`x-amz-checksum-${alg.toLowerCase()}`], expected);
    assert.equal(get.headers['x-amz-checksum-type'], 'FULL_OBJECT');
    assert.ok(get.body.equals(wholeData));
  }
});

test('invalid checksum algorithm/type combinations on CreateMultipartUpload → 400 InvalidRequest', async () => {
  for (const headers of [
    { 'x-amz-checksum-algorithm': 'SHA256', 'x-amz-checksum-type': 'FULL_OBJECT' } as Record<string, string>,
    { 'x-amz-checksum-algorithm': 'SHA1', 'x-amz-checksum-type': 'FULL_OBJECT' },
    { 'x-amz-checksum-algorithm': 'CRC64NVME', 'x-amz-checksum-type': 'COMPOSITE' },
    { 'x-amz-checksum-algorithm': 'MD5' },
    { 'x-amz-checksum-type': 'COMPOSITE' },
  ]) {
    assertError(await s3.send({ method: 'POST', path: objectPath(B, 'bad-checksum'), query: 'uploads', headers }), 400, 'InvalidRequest');
  }
  const uploads = await s3.xml({ path: `/${B}`, query: { uploads: '', prefix: 'bad-checksum' } });
  assert.equal(all(uploads, 'Upload').length, 0, 'refused creations leave no upload behind');
});
