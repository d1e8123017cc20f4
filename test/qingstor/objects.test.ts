// Object operations through the npm qingstor-sdk: put (Content-MD5, metadata, content headers),
// get and head (ranges, conditionals, response-* overrides), delete, copy, move and append, with
// keys that need escaping.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { assertNoServerErrors } from '../lib/s3http.js';
import { startGateway, type TestGateway } from '../lib/gateway.js';
import { call, md5b64, qingstor, withHeaders } from '../lib/qingstor.js';

let gw: TestGateway;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let b: any;

const md5hex = (d: Buffer | string) => createHash('md5').update(d).digest('hex');

before(async () => {
  gw = await startGateway();
  b = qingstor(gw).Bucket('ob-bucket', 'sh1a');
  assert.equal((await call(b.put())).status, 201);
});
after(async () => {
  await gw?.stop();
});

test('put object: 201 with the quoted MD5 ETag; a matching Content-MD5 is accepted', async () => {
  const data = randomBytes(70_000);
  const res = await call(b.putObject('put/plain.bin', { body: data, 'content-md5': md5b64(data) }));
  assert.equal(res.status, 201);
  assert.equal(res.headers.etag, `"${md5hex(data)}"`);
  assert.equal(res.data.length, 0);
  const got = await call(b.getObject('put/plain.bin'));
  assert.ok(got.data.equals(data));
  assert.equal(got.headers['content-type'], 'application/octet-stream');
  assert.equal(got.headers['x-qs-storage-class'], 'STANDARD');
  assert.equal(got.headers['last-modified'], new Date(Date.parse(got.headers['last-modified'])).toUTCString());
});

test('user metadata and content headers are stored and replayed on GET and HEAD', async () => {
  const req = b.putObjectRequest('meta/doc.txt', { body: 'with metadata', 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'max-age=60', 'content-encoding': 'identity' });
  const put = await withHeaders(req, { 'x-qs-meta-color': 'red', 'x-qs-meta-owner-name': 'Zhang San', 'x-qs-meta-encoded': encodeURIComponent('中文') });
  assert.equal(put.status, 201);
  for (const res of [await call(b.headObject('meta/doc.txt')), await call(b.getObject('meta/doc.txt'))]) {
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-qs-meta-color'], 'red');
    assert.equal(res.headers['x-qs-meta-owner-name'], 'Zhang San');
    assert.equal(decodeURIComponent(res.headers['x-qs-meta-encoded']), '中文');
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'max-age=60');
    assert.equal(res.headers['content-encoding'], 'identity');
    assert.equal(res.headers['content-length'], String('with metadata'.length));
    assert.equal(res.headers.etag, `"${md5hex('with metadata')}"`);
    assert.equal(res.headers['x-qs-object-type'], undefined);
  }
});

test('get object: ranges give 206 with Content-Range; unsatisfiable ranges 416 invalid_range', async () => {
  const data = Buffer.from('0123456789abcdefghij');
  await call(b.putObject('range.txt', { body: data }));
  const cases: Array<[string, string, string]> = [['bytes=2-5', '2345', 'bytes 2-5/20'], ['bytes=15-', 'fghij', 'bytes 15-19/20'], ['bytes=-3', 'hij', 'bytes 17-19/20'], ['bytes=18-100', 'ij', 'bytes 18-19/20']];
  for (const [range, body, contentRange] of cases) {
    const res = await call(b.getObject('range.txt', { range }));
    assert.equal(res.status, 206, range);
    assert.equal(res.data.toString(), body, range);
    assert.equal(res.headers['content-range'], contentRange, range);
    assert.equal(res.headers['content-length'], String(body.length), range);
  }
  const bad = await call(b.getObject('range.txt', { range: 'bytes=20-' }));
  assert.equal(bad.status, 416);
  assert.equal(bad.data.code, 'invalid_range');
  assert.equal(bad.headers['content-range'], 'bytes */20');
});

test('conditional GET and HEAD: If-None-Match and If-Modified-Since give 304, If-Match and If-Unmodified-Since 412', async () => {
  const put = await call(b.putObject('cond.txt', { body: 'conditional' }));
  const etag = put.headers.etag;
  const past = new Date(Date.now() - 3600_000).toUTCString();
  const future = new Date(Date.now() + 3600_000).toUTCString();
  assert.equal((await call(b.getObject('cond.txt', { 'if-match': etag }))).status, 200);
  const notModified = await call(b.getObject('cond.txt', { 'if-none-match': etag }));
  assert.equal(notModified.status, 304);
  assert.equal(notModified.headers.etag, etag);
  assert.equal(notModified.data.length, 0);
  assert.equal((await call(b.headObject('cond.txt', { 'if-modified-since': future }))).status, 304);
  assert.equal((await call(b.getObject('cond.txt', { 'if-modified-since': past }))).status, 200);
  const failed = await call(b.getObject('cond.txt', { 'if-match': '"0123456789abcdef0123456789abcdef"' }));
  assert.equal(failed.status, 412);
  assert.equal(failed.data.code, 'precondition_failed');
  assert.equal((await call(b.headObject('cond.txt', { 'if-unmodified-since': past }))).status, 412);
});

test('response-* parameters override the response headers', async () => {
  await call(b.putObject('override.bin', { body: 'x', 'content-type': 'application/octet-stream' }));
  const res = await call(b.getObject('override.bin', {
    'response-content-type': 'text/plain; charset=utf-8',
    'response-content-disposition': 'attachment; filename="a b.txt"',
    'response-cache-control': 'no-cache',
    'response-expires': 'Thu, 01 Dec 2044 16:00:00 GMT',
    'response-content-language': 'zh-CN',
    'response-content-encoding': 'identity',
  }));
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(res.headers['content-disposition'], 'attachment; filename="a b.txt"');
  assert.equal(res.headers['cache-control'], 'no-cache');
  assert.equal(res.headers.expires, 'Thu, 01 Dec 2044 16:00:00 GMT');
  assert.equal(res.headers['content-language'], 'zh-CN');
  assert.equal(res.headers['content-encoding'], 'identity');
});

test('head and delete: 404 without a body for a missing key; delete answers 204, also for a missing key', async () => {
  await call(b.putObject('del.txt', { body: 'bye' }));
  const head = await call(b.headObject('del.txt'));
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '3');
  assert.equal(head.data.length, 0);
  assert.equal((await call(b.deleteObject('del.txt'))).status, 204);
  const missing = await call(b.headObject('del.txt'));
  assert.equal(missing.status, 404);
  assert.equal(missing.data.length, 0);
  assert.ok(missing.headers['x-qs-request-id']);
  assert.equal((await call(b.deleteObject('del.txt'))).status, 204);
  const get = await call(b.getObject('del.txt'));
  assert.equal(get.data.code, 'object_not_exists');
});

test('copy: 201, COPY keeps the source metadata, REPLACE takes the request\'s; copy-source conditions give 412', async () => {
  const src = b.putObjectRequest('copy/src file+1.txt', { body: 'copy me', 'content-type': 'text/plain' });
  await withHeaders(src, { 'x-qs-meta-origin': 'source' });
  const copied = await call(b.putObject('copy/kept.txt', { 'x-qs-copy-source': '/ob-bucket/copy/src file+1.txt' }));
  assert.equal(copied.status, 201);
  assert.equal(copied.headers.etag, `"${md5hex('copy me')}"`);
  const kept = await call(b.getObject('copy/kept.txt'));
  assert.equal(kept.data.toString(), 'copy me');
  assert.equal(kept.headers['content-type'], 'text/plain');
  assert.equal(kept.headers['x-qs-meta-origin'], 'source');

  const replace = b.putObjectRequest('copy/replaced.txt', { 'x-qs-copy-source': '/ob-bucket/copy/src file+1.txt', 'x-qs-metadata-directive': 'REPLACE', 'content-type': 'text/markdown' });
  assert.equal((await withHeaders(replace, { 'x-qs-meta-origin': 'replaced' })).status, 201);
  const replaced = await call(b.headObject('copy/replaced.txt'));
  assert.equal(replaced.headers['content-type'], 'text/markdown');
  assert.equal(replaced.headers['x-qs-meta-origin'], 'replaced');

  // Copying an object onto itself with REPLACE updates its metadata.
  const self = b.putObjectRequest('copy/replaced.txt', { 'x-qs-copy-source': '/ob-bucket/copy/replaced.txt', 'x-qs-metadata-directive': 'REPLACE', 'content-type': 'text/plain' });
  assert.equal((await withHeaders(self, { 'x-qs-meta-origin': 'updated' })).status, 201);
  assert.equal((await call(b.headObject('copy/replaced.txt'))).headers['x-qs-meta-origin'], 'updated');
  assert.equal((await call(b.getObject('copy/replaced.txt'))).data.toString(), 'copy me');

  const etag = `"${md5hex('copy me')}"`;
  assert.equal((await call(b.putObject('copy/if.txt', { 'x-qs-copy-source': '/ob-bucket/copy/kept.txt', 'x-qs-copy-source-if-match': etag }))).status, 201);
  const failed = await call(b.putObject('copy/if-not.txt', { 'x-qs-copy-source': '/ob-bucket/copy/kept.txt', 'x-qs-copy-source-if-none-match': etag }));
  assert.equal(failed.status, 412);
  assert.equal(failed.data.code, 'precondition_failed');
  assert.equal((await call(b.headObject('copy/if-not.txt'))).status, 404);
  const missing = await call(b.putObject('copy/none.txt', { 'x-qs-copy-source': '/ob-bucket/copy/nothing' }));
  assert.equal(missing.status, 404);
  assert.equal(missing.data.code, 'object_not_exists');
});

test('move: 201, the object with its metadata appears under the new key and leaves the old one', async () => {
  const req = b.putObjectRequest('move/from.txt', { body: 'moving', 'content-type': 'text/plain' });
  await withHeaders(req, { 'x-qs-meta-trip': 'one-way' });
  const moved = await call(b.putObject('move/to dir/to.txt', { 'x-qs-move-source': '/ob-bucket/move/from.txt' }));
  assert.equal(moved.status, 201);
  const got = await call(b.getObject('move/to dir/to.txt'));
  assert.equal(got.data.toString(), 'moving');
  assert.equal(got.headers['x-qs-meta-trip'], 'one-way');
  assert.equal(got.headers['content-type'], 'text/plain');
  assert.equal((await call(b.headObject('move/from.txt'))).status, 404);
  const again = await call(b.putObject('move/to2.txt', { 'x-qs-move-source': '/ob-bucket/move/from.txt' }));
  assert.equal(again.data.code, 'object_not_exists');
});

test('append: position 0 creates an appendable object, each answer names the next position, GET reads the whole', async () => {
  const first = await call(b.appendObject('log/app.log', { position: '0', body: 'line 1\n', 'content-type': 'text/plain' }));
  assert.equal(first.status, 200);
  assert.equal(first.headers['x-qs-next-append-position'], '7');
  const second = await call(b.appendObject('log/app.log', { position: '7', body: 'line 2\n' }));
  assert.equal(second.status, 200);
  assert.equal(second.headers['x-qs-next-append-position'], '14');
  const head = await call(b.headObject('log/app.log'));
  assert.equal(head.headers['x-qs-object-type'], 'append');
  assert.equal(head.headers['x-qs-next-append-position'], '14');
  assert.equal(head.headers['content-type'], 'text/plain');
  assert.equal(head.headers.etag, `"${md5hex('line 1\nline 2\n')}"`);
  assert.equal((await call(b.getObject('log/app.log'))).data.toString(), 'line 1\nline 2\n');
});

test('keys that need escaping: spaces, plus, percent, CJK, emoji, a 1023-byte key, all listed and read back', async () => {
  const keys = ['a b/c d.txt', 'plus+sign=eq&amp.txt', '%41%2F literal.txt', '中文/测试 ✓.txt', 'emoji 😀/🚀', `long/${'k'.repeat(1018)}`, "quotes'\"<>[]{}|.txt"];
  const c = qingstor(gw).Bucket('ob-keys', 'pek3a');
  await call(c.put());
  for (const k of keys) {
    const res = await call(c.putObject(k, { body: `bytes of ${k}` }));
    assert.equal(res.status, 201, k);
  }
  for (const k of keys) assert.equal((await call(c.getObject(k))).data.toString(), `bytes of ${k}`, k);
  const listed = await call(c.listObjects());
  assert.deepEqual(listed.data.keys.map((k: { key: string }) => k.key).sort(), [...keys].sort());
});

test('the gateway logged no internal errors', () => {
  assertNoServerErrors(gw);
});
