// Object keys that S3 servers commonly mangle, round-tripped through PUT, LIST, GET, COPY and DELETE
// over raw HTTP, so that `//`, `./` and `../` reach the gateway exactly as a client sends them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startGateway, type TestGateway } from '../lib/gateway.js';
import { S3Http, all, assertError, byteSort, formDecode, objectPath, text, texts, type XmlEl } from '../lib/s3http.js';

const LONG_KEY = 'é'.repeat(512); // 1024 bytes of UTF-8, 512 characters
const ESCAPE = `escape-${process.pid}`;
const KEYS = [
  'a b', 'a+b', 'a%2Bb', '~tilde', '!\'()*', 'ü/ö', '😀', '\uFF5E', '/lead', 'a//b', 'a/./b', 'a/../b', '../x',
  `../../${ESCAPE}`, 'trailing/', 'a', 'a/b', 'a/', LONG_KEY,
];
const SRC = 'keys-src';
const DST = 'keys-dst';

let parent: string;
let gw: TestGateway;
let s3: S3Http;
let filesBefore: string[];

const bodyOf = (key: string) => `bytes of ${key}`;

/** Every file under `dir` except the gateway's data dir, relative to `dir`. */
async function filesOutsideData(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = relative(dir, join(e.parentPath, e.name));
    if (p === 'data' || p.startsWith('data/')) continue;
    out.push(p);
  }
  return out.sort();
}

async function listV2(bucket: string, query: Record<string, string | number | undefined> = {}): Promise<XmlEl> {
  return s3.xml({ path: `/${bucket}`, query: { 'list-type': 2, ...query } });
}

before(async () => {
  parent = await mkdtemp(join(tmpdir(), 'twinport-keys-'));
  gw = await startGateway({ dataDir: join(parent, 'data') });
  s3 = new S3Http(gw.endpoint);
  filesBefore = await filesOutsideData(parent);
  for (const b of [SRC, DST]) await s3.createBucket(b);
});

after(async () => {
  await s3?.close();
  await gw?.stop();
  await rm(parent, { recursive: true, force: true });
});

test('PUT then GET and HEAD return each key\'s own bytes', async () => {
  for (const key of KEYS) {
    const put = await s3.send({ method: 'PUT', path: objectPath(SRC, key), body: bodyOf(key) });
    assert.equal(put.status, 200, `PUT ${JSON.stringify(key)}: ${put.text}`);
  }
  for (const key of KEYS) {
    const get = await s3.send({ path: objectPath(SRC, key) });
    assert.equal(get.status, 200, `GET ${JSON.stringify(key)}: ${get.text}`);
    assert.equal(get.text, bodyOf(key), `GET ${JSON.stringify(key)}`);
    const head = await s3.send({ method: 'HEAD', path: objectPath(SRC, key) });
    assert.equal(head.headers['content-length'], String(Buffer.byteLength(bodyOf(key))));
  }
});

test('a literal + in the path is a plus and %20 a space; a //-path keeps the leading slash', async () => {
  assert.equal((await s3.send({ path: `/${SRC}/a+b` })).text, bodyOf('a+b'));
  assert.equal((await s3.send({ path: `/${SRC}/a%20b` })).text, bodyOf('a b'));
  assert.equal((await s3.send({ path: `/${SRC}//lead` })).text, bodyOf('/lead'));
  assert.equal((await s3.send({ path: `/${SRC}/a/../b` })).text, bodyOf('a/../b'));
  assertError(await s3.send({ path: `/${SRC}/b` }), 404, 'NoSuchKey');
});

test('ListObjectsV2 returns every key exactly once, in UTF-8 byte order', async () => {
  const list = await listV2(SRC);
  const keys = texts(list, 'Contents', 'Key');
  assert.deepEqual(keys, byteSort(KEYS));
  // UTF-16 order would put the surrogate pair of U+1F600 before U+FF5E; S3 orders by UTF-8 bytes.
  assert.ok(keys.indexOf('\uFF5E') < keys.indexOf('😀'));
  assert.equal(text(list, 'KeyCount'), String(KEYS.length));
  assert.equal(text(list, 'IsTruncated'), 'false');
  for (const c of all(list, 'Contents')) assert.equal(text(c, 'Size'), String(Buffer.byteLength(bodyOf(text(c, 'Key')!))));
});

test('encoding-type=url: form-style keys (space → +, + → %2B, / kept) that decode back exactly', async () => {
  for (const version of [1, 2]) {
    const list = await s3.xml({ path: `/${SRC}`, query: { 'list-type': version === 2 ? 2 : undefined, 'encoding-type': 'url' } });
    assert.equal(text(list, 'EncodingType'), 'url');
    const encoded = texts(list, 'Contents', 'Key');
    for (const k of encoded) assert.match(k, /^[\x21-\x7E]+$/, `v${version}: ${k} is not plain ASCII`);
    assert.deepEqual(encoded.map(formDecode), byteSort(KEYS), `v${version}`);
    const has = (k: string) => assert.ok(encoded.includes(k), `v${version}: ${k} missing from ${encoded.join(' ')}`);
    has('a+b'); // 'a b'
    has('a%2Bb'); // 'a+b'
    has('a%252Bb'); // 'a%2Bb'
    has('%C3%BC/%C3%B6');
    has('%F0%9F%98%80');
    has('/lead');
    has('a//b');
    has('a/./b');
    has('trailing/');
  }
});

test('encoding-type=url encodes Prefix, Delimiter, Marker, NextMarker and CommonPrefixes (v1)', async () => {
  const list = await s3.xml({ path: `/${SRC}`, query: { 'encoding-type': 'url', prefix: 'ü', delimiter: '/', marker: 'ü ' } });
  assert.equal(text(list, 'Prefix'), '%C3%BC');
  assert.equal(text(list, 'Delimiter'), '/');
  assert.equal(text(list, 'Marker'), '%C3%BC+');
  assert.deepEqual(texts(list, 'CommonPrefixes', 'Prefix'), ['%C3%BC/']);
  const page = await s3.xml({ path: `/${SRC}`, query: { 'encoding-type': 'url', prefix: 'a', delimiter: '/', 'max-keys': 2 } });
  // Entries under prefix 'a' in byte order: 'a', 'a b', 'a%2Bb', 'a+b', then the prefix 'a/'.
  assert.deepEqual(texts(page, 'Contents', 'Key'), ['a', 'a+b']);
  assert.equal(text(page, 'IsTruncated'), 'true');
  assert.equal(text(page, 'NextMarker'), 'a+b');
});

test('encoding-type=url paging (v2): StartAfter encoded, continuation tokens echoed verbatim', async () => {
  const seen: string[] = [];
  let token: string | undefined;
  for (let i = 0; i <= KEYS.length; i++) {
    const page = await listV2(SRC, { 'encoding-type': 'url', 'max-keys': 3, 'continuation-token': token, 'start-after': token ? undefined : ' ' });
    if (token) assert.equal(text(page, 'ContinuationToken'), token);
    else assert.equal(text(page, 'StartAfter'), '+');
    seen.push(...texts(page, 'Contents', 'Key').map(formDecode));
    if (text(page, 'IsTruncated') !== 'true') break;
    token = text(page, 'NextContinuationToken');
    assert.ok(token, 'a truncated page carries NextContinuationToken');
  }
  assert.deepEqual(seen, byteSort(KEYS));
});

test('ListObjectVersions and ListMultipartUploads apply encoding-type=url as well', async () => {
  const versions = await s3.xml({ path: `/${SRC}`, query: { versions: '', 'encoding-type': 'url', prefix: 'a ' } });
  assert.deepEqual(texts(versions, 'Version', 'Key'), ['a+b']);
  assert.equal(text(versions, 'Prefix'), 'a+');
  assert.deepEqual(all(await s3.xml({ path: `/${SRC}`, query: 'versions' }), 'Version').map((v) => text(v, 'Key')), byteSort(KEYS));
  const odd = ['a b', 'ü/ö', 'ctl\u0001'];
  const ids: string[] = [];
  for (const key of odd) {
    // The Initiate result echoes the key with no encoding-type option, so U+0001 arrives as an XML
    // 1.1 character reference that strict XML 1.0 parsers refuse: read the id with a pattern.
    const res = await s3.send({ method: 'POST', path: objectPath(SRC, key), query: 'uploads' });
    assert.equal(res.status, 200, res.text);
    ids.push(/<UploadId>([^<]+)<\/UploadId>/.exec(res.text)![1]);
  }
  const uploads = await s3.xml({ path: `/${SRC}`, query: { uploads: '', 'encoding-type': 'url' } });
  assert.equal(text(uploads, 'EncodingType'), 'url');
  assert.deepEqual(texts(uploads, 'Upload', 'Key'), ['a+b', 'ctl%01', '%C3%BC/%C3%B6']);
  for (const [i, key] of odd.entries()) {
    assert.equal((await s3.send({ method: 'DELETE', path: objectPath(SRC, key), query: { uploadId: ids[i] } })).status, 204);
  }
});

test('a, a/ and a/b coexist; the delimiter rolls up a/ and a/b but not a', async () => {
  const list = await listV2(SRC, { prefix: 'a', delimiter: '/' });
  assert.deepEqual(texts(list, 'Contents', 'Key'), ['a', 'a b', 'a%2Bb', 'a+b']);
  assert.deepEqual(texts(list, 'CommonPrefixes', 'Prefix'), ['a/']);
  const under = await listV2(SRC, { prefix: 'a/', delimiter: '/' });
  assert.deepEqual(texts(under, 'Contents', 'Key'), ['a/', 'a/b']);
  assert.deepEqual(texts(under, 'CommonPrefixes', 'Prefix'), ['a/../', 'a/./', 'a//']);
});

test('CopyObject copies every key, the source named URL-encoded and decoded once', async () => {
  for (const key of KEYS) {
    const res = await s3.send({ method: 'PUT', path: objectPath(DST, key), headers: { 'x-amz-copy-source': objectPath(SRC, key) } });
    assert.equal(res.status, 200, `COPY ${JSON.stringify(key)}: ${res.text}`);
    assert.match(res.text, /<CopyObjectResult/);
  }
  for (const key of KEYS) assert.equal((await s3.send({ path: objectPath(DST, key) })).text, bodyOf(key), `copy of ${JSON.stringify(key)}`);
  assert.deepEqual(texts(await listV2(DST), 'Contents', 'Key'), byteSort(KEYS));
});

test('key length: 1024 bytes of UTF-8 are accepted, 1025 are KeyTooLongError (bytes, not characters)', async () => {
  assert.equal(Buffer.byteLength(LONG_KEY), 1024);
  for (const key of [`${LONG_KEY}k`, 'k'.repeat(1025)]) {
    assertError(await s3.send({ method: 'PUT', path: objectPath(SRC, key), body: 'x' }), 400, 'KeyTooLongError');
    assertError(await s3.send({ method: 'PUT', path: objectPath(SRC, key), headers: { 'x-amz-copy-source': objectPath(SRC, 'a') } }), 400, 'KeyTooLongError');
    assertError(await s3.send({ method: 'POST', path: objectPath(SRC, key), query: 'uploads' }), 400, 'KeyTooLongError');
  }
  assert.deepEqual(texts(await listV2(SRC), 'Contents', 'Key'), byteSort(KEYS));
});

test('a key with a control character: listable with encoding-type=url, escaped (never raw) without', async () => {
  const key = 'ctl\u0001key';
  assert.equal((await s3.send({ method: 'PUT', path: objectPath(SRC, key), body: 'ctl' })).status, 200);
  const encoded = await listV2(SRC, { prefix: 'ctl', 'encoding-type': 'url' });
  assert.deepEqual(texts(encoded, 'Contents', 'Key'), ['ctl%01key']);
  // XML 1.0 cannot carry U+0001 at all; S3 sends a character reference, which is why clients ask
  // for encoding-type=url. A raw control byte would corrupt the document for every parser.
  const raw = await s3.send({ path: `/${SRC}`, query: { 'list-type': 2, prefix: 'ctl' } });
  assert.equal(raw.status, 200);
  assert.ok(!raw.body.includes(0x01), 'no raw control byte in the XML');
  assert.match(raw.text, /<Key>ctl&#x1;key<\/Key>/);
  assert.equal((await s3.send({ path: objectPath(SRC, key) })).text, 'ctl');
  assert.equal((await s3.send({ method: 'DELETE', path: objectPath(SRC, key) })).status, 204);
});

test('traversal-looking keys create no file outside the gateway data dir', async () => {
  assert.deepEqual(await filesOutsideData(parent), filesBefore);
  assert.ok(!existsSync(join(tmpdir(), ESCAPE)), `${join(tmpdir(), ESCAPE)} exists`);
  for (const dir of [parent, join(parent, 'data'), join(parent, 'data', 'objects')]) {
    assert.ok(!existsSync(join(dir, ESCAPE)), `${join(dir, ESCAPE)} exists`);
    assert.ok(!existsSync(join(dir, 'x')), `${join(dir, 'x')} exists`);
  }
});

test('DELETE removes exactly the named key, then each of the rest', async () => {
  assert.equal((await s3.send({ method: 'DELETE', path: objectPath(SRC, 'a') })).status, 204);
  assertError(await s3.send({ path: objectPath(SRC, 'a') }), 404, 'NoSuchKey');
  assert.equal((await s3.send({ path: objectPath(SRC, 'a/') })).text, bodyOf('a/'));
  assert.equal((await s3.send({ path: objectPath(SRC, 'a/b') })).text, bodyOf('a/b'));
  assert.deepEqual(texts(await listV2(SRC), 'Contents', 'Key'), byteSort(KEYS.filter((k) => k !== 'a')));
  for (const bucket of [SRC, DST]) {
    for (const key of KEYS) {
      const res = await s3.send({ method: 'DELETE', path: objectPath(bucket, key) });
      assert.equal(res.status, 204, `DELETE ${JSON.stringify(key)}: ${res.text}`);
    }
    assert.deepEqual(texts(await listV2(bucket), 'Contents', 'Key'), []);
    assert.equal((await s3.send({ method: 'DELETE', path: `/${bucket}` })).status, 204);
  }
  assert.deepEqual(await filesOutsideData(parent), filesBefore);
});
