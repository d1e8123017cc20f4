// Object and bucket semantics over raw HTTP: ranges, conditionals, response overrides, metadata,
// copies, deletes, conditional writes, bucket naming/zones/ownership and virtual-host addressing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, ALICE_KEY, type TestGateway } from '../lib/gateway.js';
import { S3Http, all, assertError, md5Hex, objectPath, parseXml, text, texts, type RawResponse } from '../lib/s3http.js';

const B = 'objects';
const DATA = 'abcdefghijklmnopqrstuvwxyz';
const DAY = 86_400_000;

let gw: TestGateway;
let s3: S3Http;
let etag: string;
let lastModified: number;

const get = (key: string, headers: Record<string, string> = {}, query?: Record<string, string>) => s3.send({ path: objectPath(B, key), headers, query });
const head = (key: string, headers: Record<string, string> = {}) => s3.send({ method: 'HEAD', path: objectPath(B, key), headers });
const put = (key: string, body: string | Buffer, headers: Record<string, string> = {}) => s3.send({ method: 'PUT', path: objectPath(B, key), body, headers });
const copy = (key: string, source: string, headers: Record<string, string> = {}) => s3.send({ method: 'PUT', path: objectPath(B, key), headers: { 'x-amz-copy-source': source, ...headers } });
const httpDate = (ms: number) => new Date(ms).toUTCString();

before(async () => {
  gw = await startGateway();
  s3 = new S3Http(gw.endpoint);
  await s3.createBucket(B);
  assert.equal((await put('data', DATA)).status, 200);
  assert.equal((await put('empty', '')).status, 200);
  const h = await head('data');
  etag = h.headers.etag;
  lastModified = Date.parse(h.headers['last-modified']);
});

after(async () => {
  await s3?.close();
  await gw?.stop();
});

function assertRange(res: RawResponse, body: string, contentRange: string): void {
  assert.equal(res.status, 206, res.text);
  assert.equal(res.text, body);
  assert.equal(res.headers['content-range'], contentRange);
  assert.equal(res.headers['content-length'], String(body.length));
}

function assertWhole(res: RawResponse): void {
  assert.equal(res.status, 200, res.text);
  assert.equal(res.text, DATA);
  assert.equal(res.headers['content-range'], undefined);
}

test('single ranges: 206 with exact bytes and Content-Range; end clamped to the size', async () => {
  assertRange(await get('data', { range: 'bytes=0-9' }), 'abcdefghij', 'bytes 0-9/26');
  assertRange(await get('data', { range: 'bytes=-5' }), 'vwxyz', 'bytes 21-25/26');
  assertRange(await get('data', { range: 'bytes=5-' }), DATA.slice(5), 'bytes 5-25/26');
  assertRange(await get('data', { range: 'bytes=20-1000' }), 'uvwxyz', 'bytes 20-25/26');
  assertRange(await get('data', { range: 'bytes=-1000' }), DATA, 'bytes 0-25/26');
  assertRange(await get('data', { range: 'bytes=25-25' }), 'z', 'bytes 25-25/26');
  const h = await head('data', { range: 'bytes=0-9' });
  assert.equal(h.status, 206);
  assert.equal(h.headers['content-range'], 'bytes 0-9/26');
  assert.equal(h.body.length, 0);
});

test('unsatisfiable ranges → 416 InvalidRange with Content-Range bytes */N, never bytes 0--1/0', async () => {
  for (const range of ['bytes=-0', 'bytes=26-', 'bytes=26-30', 'bytes=100-200']) {
    const res = await get('data', { range });
    assertError(res, 416, 'InvalidRange');
    assert.equal(res.headers['content-range'], 'bytes */26', range);
  }
  for (const range of ['bytes=-5', 'bytes=0-', 'bytes=0-0', 'bytes=-0']) {
    const res = await get('empty', { range });
    assertError(res, 416, 'InvalidRange');
    assert.equal(res.headers['content-range'], 'bytes */0', range);
  }
});

test('multiple ranges, reversed ranges and garbage are ignored: 200 with the whole object', async () => {
  for (const range of ['bytes=0-1,3-4', 'bytes=9-5', 'items=0-5', 'bytes=abc', 'bytes=-']) assertWhole(await get('data', { range }));
});

test('GET/HEAD preconditions in RFC 9110 order (If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since)', async () => {
  const past = httpDate(lastModified - DAY);
  const future = httpDate(lastModified + DAY);
  const exact = httpDate(lastModified);
  const cases: Array<[Record<string, string>, number]> = [
    [{ 'if-match': etag }, 200],
    [{ 'if-match': '*' }, 200],
    [{ 'if-match': `"0123", ${etag}` }, 200],
    [{ 'if-match': '"0123"' }, 412],
    [{ 'if-unmodified-since': future }, 200],
    [{ 'if-unmodified-since': exact }, 200],
    [{ 'if-unmodified-since': past }, 412],
    [{ 'if-none-match': etag }, 304],
    [{ 'if-none-match': '*' }, 304],
    [{ 'if-none-match': '"0123"' }, 200],
    [{ 'if-modified-since': past }, 200],
    [{ 'if-modified-since': exact }, 304],
    [{ 'if-modified-since': future }, 304],
    [{ 'if-modified-since': 'not a date' }, 200],
    // The two combinations AWS documents: If-Match wins over a failing If-Unmodified-Since, and a
    // matching If-None-Match gives 304 even when If-Modified-Since alone would serve the object.
    [{ 'if-match': etag, 'if-unmodified-since': past }, 200],
    [{ 'if-none-match': etag, 'if-modified-since': past }, 304],
  ];
  for (const [headers, status] of cases) {
    for (const method of ['GET', 'HEAD']) {
      const res = await s3.send({ method, path: objectPath(B, 'data'), headers });
      assert.equal(res.status, status, `${method} ${JSON.stringify(headers)}: ${res.text}`);
      if (status === 200) assert.equal(res.text, method === 'GET' ? DATA : '');
      if (status === 304) {
        assert.equal(res.body.length, 0);
        assert.equal(res.headers.etag, etag);
        assert.equal(res.headers['last-modified'], httpDate(lastModified));
      }
      if (status === 412 && method === 'GET') assert.match(res.text, /<Code>PreconditionFailed<\/Code>/);
    }
  }
});

test('a failing precondition beats an unsatisfiable range: 412, not 416', async () => {
  assertError(await get('data', { 'if-match': '"0123"', range: 'bytes=100-' }), 412, 'PreconditionFailed');
  assertError(await get('data', { 'if-unmodified-since': httpDate(lastModified - DAY), range: 'bytes=100-' }), 412, 'PreconditionFailed');
});

test('response-* overrides set the response headers on signed and presigned GETs', async () => {
  const overrides = {
    'response-content-type': 'text/csv',
    'response-content-disposition': 'attachment; filename="report.csv"',
    'response-cache-control': 'no-store',
    'response-content-language': 'de-DE',
    'response-expires': 'Thu, 01 Jan 2037 00:00:00 GMT',
    'response-content-encoding': 'identity',
  };
  const expect = (res: RawResponse) => {
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, DATA);
    assert.equal(res.headers['content-type'], 'text/csv');
    assert.equal(res.headers['content-disposition'], 'attachment; filename="report.csv"');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['content-language'], 'de-DE');
    assert.equal(res.headers.expires, 'Thu, 01 Jan 2037 00:00:00 GMT');
    assert.equal(res.headers['content-encoding'], 'identity');
  };
  expect(await get('data', {}, overrides));
  const url = new URL(s3.presign('GET', objectPath(B, 'data'), new URLSearchParams(overrides).toString().replace(/\+/g, '%20')));
  expect(await s3.send({ path: url.pathname, query: url.search.slice(1), as: null }));
  // There are no public objects yet: an anonymous GET is refused before overrides matter.
  assertError(await s3.send({ path: objectPath(B, 'data'), query: overrides, as: null }), 403, 'AccessDenied');
});

test('HEAD and GET of an empty object send Content-Length: 0', async () => {
  const h = await head('empty');
  assert.equal(h.status, 200);
  assert.equal(h.headers['content-length'], '0');
  assert.equal(h.headers.etag, '"d41d8cd98f00b204e9800998ecf8427e"');
  const g = await get('empty');
  assert.equal(g.status, 200);
  assert.equal(g.headers['content-length'], '0');
  assert.equal(g.body.length, 0);
  const part = await get('empty', {}, { partNumber: '1' });
  assert.equal(part.status, 200);
  assert.equal(part.headers['content-length'], '0');
});

test('Content-Type defaults to binary/octet-stream; content headers and lowercase user metadata round-trip', async () => {
  assert.equal((await head('data')).headers['content-type'], 'binary/octet-stream');
  assert.equal((await put('typed', 'x', {
    'content-type': 'text/plain; charset=utf-8', 'cache-control': 'max-age=60', 'content-disposition': 'inline',
    'content-language': 'fr', 'X-Amz-Meta-Color': 'Blue', 'x-amz-meta-MixedCase': 'Value With Spaces',
  })).status, 200);
  for (const res of [await head('typed'), await get('typed')]) {
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'max-age=60');
    assert.equal(res.headers['content-disposition'], 'inline');
    assert.equal(res.headers['content-language'], 'fr');
    assert.equal(res.headers['x-amz-meta-color'], 'Blue');
    assert.equal(res.headers['x-amz-meta-mixedcase'], 'Value With Spaces');
  }
});

test('user metadata is limited to 2 KB of names and values → MetadataTooLarge', async () => {
  // Name 'k' (1 byte) plus the value: 2048 bytes in total is the largest accepted.
  assert.equal((await put('meta-max', 'x', { 'x-amz-meta-k': 'v'.repeat(2047) })).status, 200);
  assert.equal((await head('meta-max')).headers['x-amz-meta-k'], 'v'.repeat(2047));
  assertError(await put('meta-over', 'x', { 'x-amz-meta-k': 'v'.repeat(2048) }), 400, 'MetadataTooLarge');
  assertError(await put('meta-over', 'x', { 'x-amz-meta-a': 'v'.repeat(1100), 'x-amz-meta-b': 'v'.repeat(1000) }), 400, 'MetadataTooLarge');
  assertError(await get('meta-over'), 404, 'NoSuchKey');
  assertError(await copy('meta-over', `/${B}/data`, { 'x-amz-metadata-directive': 'REPLACE', 'x-amz-meta-k': 'v'.repeat(2048) }), 400, 'MetadataTooLarge');
});

test('CopyObject: COPY keeps the source metadata, REPLACE takes the request\'s', async () => {
  assert.equal((await put('src', 'source bytes', { 'content-type': 'text/plain', 'x-amz-meta-a': '1' })).status, 200);
  const res = await copy('dst-copy', `/${B}/src`, { 'content-type': 'application/json', 'x-amz-meta-b': '2' });
  assert.equal(res.status, 200, res.text);
  const doc = await parseXml(res.text);
  assert.equal(doc.$root, 'CopyObjectResult');
  assert.equal(text(doc, 'ETag'), `"${md5Hex('source bytes')}"`);
  assert.match(text(doc, 'LastModified')!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const copied = await get('dst-copy');
  assert.equal(copied.text, 'source bytes');
  assert.equal(copied.headers['content-type'], 'text/plain');
  assert.equal(copied.headers['x-amz-meta-a'], '1');
  assert.equal(copied.headers['x-amz-meta-b'], undefined);

  assert.equal((await copy('dst-replace', `${B}/src`, { 'x-amz-metadata-directive': 'REPLACE', 'content-type': 'application/json', 'x-amz-meta-b': '2' })).status, 200);
  const replaced = await get('dst-replace');
  assert.equal(replaced.text, 'source bytes');
  assert.equal(replaced.headers['content-type'], 'application/json');
  assert.equal(replaced.headers['x-amz-meta-b'], '2');
  assert.equal(replaced.headers['x-amz-meta-a'], undefined);
  assertError(await copy('dst-missing', `/${B}/no-such-source`), 404, 'NoSuchKey');
});

test('CopyObject onto itself: 400 InvalidRequest without REPLACE, allowed with REPLACE', async () => {
  assert.equal((await put('self', 'self bytes', { 'x-amz-meta-v': 'old' })).status, 200);
  assertError(await copy('self', `/${B}/self`), 400, 'InvalidRequest');
  assertError(await copy('self', `/${B}/self`, { 'x-amz-metadata-directive': 'COPY' }), 400, 'InvalidRequest');
  assert.equal((await copy('self', `/${B}/self`, { 'x-amz-metadata-directive': 'REPLACE', 'x-amz-meta-v': 'new' })).status, 200);
  const res = await get('self');
  assert.equal(res.text, 'self bytes');
  assert.equal(res.headers['x-amz-meta-v'], 'new');
});

test('x-amz-copy-source-if-*: every failure is 412 (never 304); the documented combinations', async () => {
  const past = httpDate(lastModified - DAY);
  const future = httpDate(lastModified + DAY);
  const cases: Array<[Record<string, string>, number]> = [
    [{ 'x-amz-copy-source-if-match': etag }, 200],
    [{ 'x-amz-copy-source-if-match': '"0123"' }, 412],
    [{ 'x-amz-copy-source-if-none-match': '"0123"' }, 200],
    [{ 'x-amz-copy-source-if-none-match': etag }, 412],
    [{ 'x-amz-copy-source-if-unmodified-since': future }, 200],
    [{ 'x-amz-copy-source-if-unmodified-since': past }, 412],
    [{ 'x-amz-copy-source-if-modified-since': past }, 200],
    [{ 'x-amz-copy-source-if-modified-since': future }, 412],
    [{ 'x-amz-copy-source-if-match': etag, 'x-amz-copy-source-if-unmodified-since': past }, 200],
    [{ 'x-amz-copy-source-if-none-match': etag, 'x-amz-copy-source-if-modified-since': past }, 412],
  ];
  for (const [i, [headers, status]] of cases.entries()) {
    const res = await copy(`cond-${i}`, `/${B}/data`, headers);
    assert.equal(res.status, status, `${JSON.stringify(headers)}: ${res.text}`);
    if (status === 412) {
      assert.match(res.text, /<Code>PreconditionFailed<\/Code>/);
      assertError(await get(`cond-${i}`), 404, 'NoSuchKey');
    } else {
      assert.equal((await get(`cond-${i}`)).text, DATA);
    }
  }
});

test('x-amz-copy-source is URL-decoded exactly once (%, + and non-ASCII keys)', async () => {
  const keys = ['p+q', 'p%2Bq', 'p q', 'ünï %25 cöde'];
  for (const key of keys) assert.equal((await put(key, `body ${key}`)).status, 200);
  for (const key of keys) {
    const res = await copy(`copy-of/${key}`, objectPath(B, key));
    assert.equal(res.status, 200, `${key}: ${res.text}`);
    assert.equal((await get(`copy-of/${key}`)).text, `body ${key}`, key);
  }
  // Without the leading slash, as boto3 sends it.
  assert.equal((await copy('copy-noslash', `${B}/${encodeURIComponent('ünï %25 cöde')}`)).status, 200);
  assert.equal((await get('copy-noslash')).text, 'body ünï %25 cöde');
});

test('DeleteObject of a missing key is 204; DeleteObjects reports missing keys as deleted, Quiet lists none', async () => {
  assert.equal((await s3.send({ method: 'DELETE', path: objectPath(B, 'never-existed') })).status, 204);
  for (const k of ['del-1', 'del-2', 'del-3']) assert.equal((await put(k, k)).status, 200);
  const body = (keys: string[], quiet = false) => `<Delete>${quiet ? '<Quiet>true</Quiet>' : ''}${keys.map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>`;
  const loud = await s3.xml({ method: 'POST', path: `/${B}`, query: 'delete', body: body(['del-1', 'del-missing']) });
  assert.equal(loud.$root, 'DeleteResult');
  assert.deepEqual(texts(loud, 'Deleted', 'Key'), ['del-1', 'del-missing']);
  assert.equal(all(loud, 'Error').length, 0);
  const quiet = await s3.xml({ method: 'POST', path: `/${B}`, query: 'delete', body: body(['del-2', 'del-3'], true) });
  assert.equal(all(quiet, 'Deleted').length, 0);
  assert.equal(all(quiet, 'Error').length, 0);
  for (const k of ['del-1', 'del-2', 'del-3']) assertError(await get(k), 404, 'NoSuchKey');
  const tooMany = Array.from({ length: 1001 }, (_, i) => `k${i}`);
  assertError(await s3.send({ method: 'POST', path: `/${B}`, query: 'delete', body: body(tooMany) }), 400, 'MalformedXML');
  assertError(await s3.send({ method: 'POST', path: `/${B}`, query: 'delete', body: '<Delete></Delete>' }), 400, 'MalformedXML');
});

test('conditional writes: If-None-Match: * refuses an existing key, If-Match compares the current ETag', async () => {
  assert.equal((await put('cw', 'first', { 'if-none-match': '*' })).status, 200);
  assertError(await put('cw', 'second', { 'if-none-match': '*' }), 412, 'PreconditionFailed');
  assert.equal((await get('cw')).text, 'first');
  assertError(await put('cw', 'second', { 'if-match': `"${md5Hex('other')}"` }), 412, 'PreconditionFailed');
  assert.equal((await get('cw')).text, 'first');
  assert.equal((await put('cw', 'second', { 'if-match': `"${md5Hex('first')}"` })).status, 200);
  assert.equal((await get('cw')).text, 'second');
  assertError(await put('cw-absent', 'x', { 'if-match': `"${md5Hex('x')}"` }), 404, 'NoSuchKey');
});

test('partNumber=1 on a single-part object returns the whole object as a range; with Range → 400', async () => {
  const res = await get('data', {}, { partNumber: '1' });
  assertRange(res, DATA, 'bytes 0-25/26');
  assert.equal(res.headers['x-amz-mp-parts-count'], undefined);
  assertError(await get('data', { range: 'bytes=0-1' }, { partNumber: '1' }), 400, 'InvalidRequest');
});

test('HeadBucket and GetBucketLocation; CreateBucket in zone sh1a; an unknown zone → 400', async () => {
  const h = await s3.send({ method: 'HEAD', path: `/${B}` });
  assert.equal(h.status, 200);
  assert.equal(h.headers['x-amz-bucket-region'], 'pek3a');
  assert.equal(h.body.length, 0);
  const missing = await s3.send({ method: 'HEAD', path: '/no-such-bucket-here' });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.length, 0);
  assert.equal((await s3.send({ method: 'HEAD', path: `/${B}`, as: ALICE_KEY })).status, 403);
  assert.equal((await s3.xml({ path: `/${B}`, query: 'location' }))._, 'pek3a');

  const config = (zone: string) => `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>${zone}</LocationConstraint></CreateBucketConfiguration>`;
  assert.equal((await s3.send({ method: 'PUT', path: '/zoned-bucket', body: config('sh1a') })).status, 200);
  const loc = await s3.xml({ path: '/zoned-bucket', query: 'location' });
  assert.equal(loc.$root, 'LocationConstraint');
  assert.equal(loc._, 'sh1a');
  assert.equal((await s3.send({ method: 'HEAD', path: '/zoned-bucket' })).headers['x-amz-bucket-region'], 'sh1a');
  assertError(await s3.send({ method: 'PUT', path: '/nowhere-bucket', body: config('mars-1') }), 400, 'InvalidLocationConstraint');
  assertError(await s3.send({ method: 'HEAD', path: '/nowhere-bucket' }), 404);
});

test('bucket naming rules → 400 InvalidBucketName', async () => {
  for (const name of ['ab', 'UPPER', 'a..b', '192.168.1.1', 'xn--x', 'x'.repeat(64), '-dash', 'dash-', 'under_score', 'bucket-s3alias']) {
    assertError(await s3.send({ method: 'PUT', path: `/${name}` }), 400, 'InvalidBucketName');
  }
  for (const name of ['abc', 'x'.repeat(63), 'a.b-c1']) assert.equal((await s3.send({ method: 'PUT', path: `/${name}` })).status, 200, name);
});

test('bucket ownership: BucketAlreadyExists for another owner, BucketAlreadyOwnedByYou for the owner', async () => {
  assertError(await s3.send({ method: 'PUT', path: `/${B}`, as: ALICE_KEY }), 409, 'BucketAlreadyExists');
  assertError(await s3.send({ method: 'PUT', path: `/${B}` }), 409, 'BucketAlreadyOwnedByYou');
});

test('ListBuckets shows each user only their own buckets, with Owner ID and DisplayName', async () => {
  assert.equal((await s3.send({ method: 'PUT', path: '/alice-bucket', as: ALICE_KEY })).status, 200);
  const root = await s3.xml({ path: '/' });
  const alice = await s3.xml({ path: '/', as: ALICE_KEY });
  assert.equal(root.$root, 'ListAllMyBucketsResult');
  const names = (doc: typeof root) => texts(all(doc, 'Buckets')[0], 'Bucket', 'Name');
  assert.ok(names(root).includes(B));
  assert.ok(!names(root).includes('alice-bucket'));
  assert.deepEqual(names(alice), ['alice-bucket']);
  const rootOwner = all(root, 'Owner')[0];
  const aliceOwner = all(alice, 'Owner')[0];
  assert.equal(text(rootOwner, 'DisplayName'), 'root');
  assert.equal(text(aliceOwner, 'DisplayName'), 'alice');
  assert.match(text(rootOwner, 'ID')!, /^[0-9a-f]{64}$/);
  assert.notEqual(text(rootOwner, 'ID'), text(aliceOwner, 'ID'));
  assert.ok(all(all(root, 'Buckets')[0], 'Bucket').every((b) => /^\d{4}-\d\d-\d\dT/.test(text(b, 'CreationDate')!)));
});

test('virtual-host style (Host: <bucket>.localhost:<port>): create, PUT, GET and list', async () => {
  const host = `vhost-bucket.localhost:${gw.port}`;
  assert.equal((await s3.send({ method: 'PUT', path: '/', host })).status, 200);
  assert.equal((await s3.send({ method: 'PUT', path: '/dir/hello.txt', host, body: 'hello vhost' })).status, 200);
  const res = await s3.send({ path: '/dir/hello.txt', host });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.text, 'hello vhost');
  assert.equal((await s3.send({ path: '/vhost-bucket/dir/hello.txt' })).text, 'hello vhost', 'same object path-style');
  for (const query of ['', 'list-type=2']) {
    const list = await s3.xml({ path: '/', host, query });
    assert.equal(list.$root, 'ListBucketResult');
    assert.equal(text(list, 'Name'), 'vhost-bucket');
    assert.deepEqual(texts(list, 'Contents', 'Key'), ['dir/hello.txt']);
  }
  assertError(await s3.send({ path: '/dir/hello.txt', host: `no-such-vhost.localhost:${gw.port}` }), 404, 'NoSuchBucket');
});
