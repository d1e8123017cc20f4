// Integrity headers against a real gateway: x-amz-checksum-* (verified, stored, returned on
// request) and Content-MD5, including what a wrong or malformed value does to stored data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../lib/gateway.js';
import { S3Http, assertNoServerErrors, checksumOf, expectError, md5b64, type ChecksumName } from '../lib/s3http.js';

const BUCKET = 'checksums';
const ALGORITHMS: ChecksumName[] = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'];
const DATA = Buffer.from('The quick brown fox jumps over the lazy dog, checksummed.\n');
const OLD = Buffer.from('the previous version of the object\n');

let gw: TestGateway;
let c: S3Http;

before(async () => {
  gw = await startGateway();
  c = new S3Http(gw.endpoint);
  await c.createBucket(BUCKET);
  await c.put(BUCKET, 'existing', OLD);
});

after(async () => {
  await c.close();
  await gw.stop();
});

const put = (key: string, body: Buffer | string, headers: Record<string, string>) => c.send({ method: 'PUT', path: `/${BUCKET}/${key}`, body, headers });

/** Asserts that neither the fresh key nor the existing object changed. */
async function assertUntouched(freshKey: string): Promise<void> {
  await c.assertMissing(BUCKET, freshKey);
  await c.assertObject(BUCKET, 'existing', OLD);
}

test('a correct x-amz-checksum-* header of every algorithm is accepted and echoed', async () => {
  for (const alg of ALGORITHMS) {
    const value = await checksumOf(alg, DATA);
    const res = await put(`ok/${alg}`, DATA, { [`x-amz-checksum-${alg}`]: value, 'x-amz-sdk-checksum-algorithm': alg.toUpperCase() });
    assert.equal(res.status, 200, `${alg}: ${res.text}`);
    assert.equal(res.headers[`x-amz-checksum-${alg}`], value, alg);
    assert.equal(res.headers['x-amz-checksum-type'], 'FULL_OBJECT', alg);
    await c.assertObject(BUCKET, `ok/${alg}`, DATA);
  }
});

test('a wrong checksum gives 400 BadDigest and stores nothing', async () => {
  for (const alg of ALGORITHMS) {
    const wrong = await checksumOf(alg, 'some other bytes');
    const fresh = await put(`wrong/${alg}`, DATA, { [`x-amz-checksum-${alg}`]: wrong });
    const err = await expectError(fresh, 400, 'BadDigest');
    assert.match(err.Message, new RegExp(alg, 'i'));
    await expectError(await put('existing', DATA, { [`x-amz-checksum-${alg}`]: wrong }), 400, 'BadDigest');
    await assertUntouched(`wrong/${alg}`);
  }
});

test('a malformed checksum value gives 400 InvalidRequest', async () => {
  const malformed: Array<[ChecksumName, string]> = [
    ['crc32', 'not base64!'],
    ['crc32', Buffer.from('12345678').toString('base64')], // 8 bytes where CRC32 has 4
    ['crc32c', 'cbf43926'], // hex instead of base64
    ['crc64nvme', await checksumOf('crc32', DATA)], // a CRC32-sized value
    ['sha1', ''],
    ['sha256', (await checksumOf('sha256', DATA)).slice(0, -4)],
  ];
  for (const [alg, value] of malformed) {
    const err = await expectError(await put('malformed', DATA, { [`x-amz-checksum-${alg}`]: value }), 400, 'InvalidRequest');
    assert.match(err.Message, new RegExp(`x-amz-checksum-${alg}`), `${alg}=${value}`);
  }
  await assertUntouched('malformed');
});

test('two checksum headers give 400 InvalidRequest', async () => {
  const res = await put('two', DATA, { 'x-amz-checksum-crc32': await checksumOf('crc32', DATA), 'x-amz-checksum-sha256': await checksumOf('sha256', DATA) });
  await expectError(res, 400, 'InvalidRequest');
  await assertUntouched('two');
});

test('x-amz-sdk-checksum-algorithm disagreeing with the checksum header gives 400 InvalidRequest', async () => {
  const res = await put('disagree', DATA, { 'x-amz-checksum-crc32': await checksumOf('crc32', DATA), 'x-amz-sdk-checksum-algorithm': 'SHA256' });
  await expectError(res, 400, 'InvalidRequest');
  await assertUntouched('disagree');
});

test('GET and HEAD return the stored checksum only with x-amz-checksum-mode: ENABLED, and never for a range', async () => {
  for (const alg of ALGORITHMS) {
    const expected = await checksumOf(alg, DATA);
    const path = `/${BUCKET}/ok/${alg}`;
    for (const method of ['GET', 'HEAD']) {
      const on = await c.send({ method, path, headers: { 'x-amz-checksum-mode': 'ENABLED' } });
      assert.equal(on.status, 200, on.text);
      assert.equal(on.headers[`x-amz-checksum-${alg}`], expected, `${method} ${alg}`);
      assert.equal(on.headers['x-amz-checksum-type'], 'FULL_OBJECT');
      const off = await c.send({ method, path });
      assert.deepEqual(Object.keys(off.headers).filter((h) => h.startsWith('x-amz-checksum')), [], `${method} without checksum mode`);
    }
    const ranged = await c.send({ path, headers: { 'x-amz-checksum-mode': 'ENABLED', range: 'bytes=0-9' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.text, DATA.subarray(0, 10).toString());
    assert.deepEqual(Object.keys(ranged.headers).filter((h) => h.startsWith('x-amz-checksum')), [], 'ranged GET');
  }
});

test('Content-MD5: correct is accepted, wrong is BadDigest, malformed is InvalidDigest', async () => {
  const ok = await put('md5/ok', DATA, { 'content-md5': md5b64(DATA) });
  assert.equal(ok.status, 200, ok.text);
  await c.assertObject(BUCKET, 'md5/ok', DATA);

  await expectError(await put('md5/bad', DATA, { 'content-md5': md5b64('other') }), 400, 'BadDigest');
  await expectError(await put('existing', DATA, { 'content-md5': md5b64('other') }), 400, 'BadDigest');
  await assertUntouched('md5/bad');

  const hex = Buffer.from(md5b64(DATA), 'base64').toString('hex');
  for (const value of ['abc', hex, '']) {
    await expectError(await put('md5/malformed', DATA, { 'content-md5': value }), 400, 'InvalidDigest');
    await expectError(await put('existing', DATA, { 'content-md5': value }), 400, 'InvalidDigest');
  }
  await assertUntouched('md5/malformed');
});

test('Content-MD5 on a GET is ignored', async () => {
  const res = await c.send({ path: `/${BUCKET}/existing`, headers: { 'content-md5': 'abc' } });
  assert.equal(res.status, 200, res.text);
  assert.ok(res.body.equals(OLD));
});

test('DeleteObjects works without Content-MD5, and a wrong Content-MD5 or checksum deletes nothing', async () => {
  const del = (keys: string[]) => `<Delete>${keys.map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>`;
  await c.put(BUCKET, 'del/a', 'a');
  await c.put(BUCKET, 'del/b', 'b');
  const body = del(['del/a', 'del/b']);

  await expectError(await c.send({ method: 'POST', path: `/${BUCKET}?delete`, body, headers: { 'content-md5': md5b64('not the body') } }), 400, 'BadDigest');
  await expectError(await c.send({ method: 'POST', path: `/${BUCKET}?delete`, body, headers: { 'x-amz-checksum-crc32': await checksumOf('crc32', 'not the body') } }), 400, 'BadDigest');
  assert.deepEqual((await c.keys(BUCKET)).filter((k) => k.startsWith('del/')), ['del/a', 'del/b']);

  const plain = await c.send({ method: 'POST', path: `/${BUCKET}?delete`, body: del(['del/a']) });
  assert.equal(plain.status, 200, plain.text);
  assert.match(plain.text, /<Deleted><Key>del\/a<\/Key><\/Deleted>/);
  const crc = await c.send({ method: 'POST', path: `/${BUCKET}?delete`, body: del(['del/b']), headers: { 'x-amz-checksum-crc32': await checksumOf('crc32', del(['del/b'])) } });
  assert.equal(crc.status, 200, crc.text);
  assert.deepEqual((await c.keys(BUCKET)).filter((k) => k.startsWith('del/')), []);
});

test('the gateway logged no internal errors', () => {
  assertNoServerErrors(gw);
});
