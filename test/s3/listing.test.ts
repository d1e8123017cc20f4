// ListObjects v1/v2, ListObjectVersions and ListMultipartUploads, checked field by field against
// the S3 rules (s3-wire.md §6): paging must never repeat or lose an entry, whatever the page size.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, ALICE_KEY, type TestGateway } from '../lib/gateway.js';
import { S3Http, all, assertError, byteSort, md5Hex, objectPath, text, texts, type XmlEl } from '../lib/s3http.js';

const B = 'listing';
const BIG = 'listing-big';
const TREE = ['a/1', 'a/2', 'a/b/1', 'a/b/2', 'b', 'c/1', 'c/2', 'd', 'e/x/1', 'e/y', 'f', 'g--1', 'g--2', 'g-h', 'z/1'];
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let gw: TestGateway;
let s3: S3Http;
let rootId: string;

type Query = Record<string, string | number | undefined>;

/** What S3 lists for `keys` under `prefix` with `delimiter`: keys and common prefixes, in byte order. */
function model(keys: string[], prefix: string, delimiter?: string): string[] {
  const out = new Set<string>();
  for (const k of byteSort(keys)) {
    if (!k.startsWith(prefix)) continue;
    const at = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
    out.add(at >= 0 ? k.slice(0, at + delimiter!.length) : k);
  }
  return [...out];
}

/** A page's entries (keys and common prefixes) in listing order. */
function entries(page: XmlEl, entry = 'Contents'): string[] {
  return byteSort([...texts(page, entry, 'Key'), ...texts(page, 'CommonPrefixes', 'Prefix')]);
}

/** Pages through a v1 listing as a client does; checks each page's truncation fields on the way. */
async function pageV1(bucket: string, q: Query, maxKeys: number): Promise<string[]> {
  const out: string[] = [];
  let marker: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await s3.xml({ path: `/${bucket}`, query: { ...q, marker, 'max-keys': maxKeys } });
    const got = entries(page);
    const truncated = text(page, 'IsTruncated') === 'true';
    assert.equal(text(page, 'Marker'), marker ?? '');
    assert.ok(got.length <= maxKeys);
    out.push(...got);
    if (!truncated) {
      assert.equal(text(page, 'NextMarker'), undefined, 'NextMarker only on truncated pages');
      return out;
    }
    assert.equal(got.length, maxKeys, 'a truncated page is a full page');
    if (q.delimiter) {
      assert.equal(text(page, 'NextMarker'), got[got.length - 1]);
      marker = text(page, 'NextMarker');
    } else {
      assert.equal(text(page, 'NextMarker'), undefined, 'NextMarker only with a delimiter');
      marker = texts(page, 'Contents', 'Key').pop();
    }
  }
  throw new Error('listing did not end');
}

/** Pages through a v2 listing with continuation tokens. */
async function pageV2(bucket: string, q: Query, maxKeys: number): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await s3.xml({ path: `/${bucket}`, query: { 'list-type': 2, ...q, 'continuation-token': token, 'max-keys': maxKeys } });
    const got = entries(page);
    assert.equal(text(page, 'KeyCount'), String(got.length));
    assert.equal(text(page, 'ContinuationToken'), token);
    out.push(...got);
    if (text(page, 'IsTruncated') !== 'true') {
      assert.equal(text(page, 'NextContinuationToken'), undefined);
      return out;
    }
    assert.equal(got.length, maxKeys, 'a truncated page is a full page');
    token = text(page, 'NextContinuationToken');
    assert.ok(token);
  }
  throw new Error('listing did not end');
}

before(async () => {
  gw = await startGateway();
  s3 = new S3Http(gw.endpoint);
  for (const b of [B, BIG]) await s3.createBucket(b);
  for (const key of TREE) assert.equal((await s3.send({ method: 'PUT', path: objectPath(B, key), body: key })).status, 200);
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < 1001) {
      const i = next++;
      assert.equal((await s3.send({ method: 'PUT', path: `/${BIG}/k${String(i).padStart(4, '0')}`, body: '' })).status, 200);
    }
  }));
  rootId = text(all(await s3.xml({ path: '/' }), 'Owner')[0], 'ID')!;
});

after(async () => {
  await s3?.close();
  await gw?.stop();
});

test('v1 full listing: every field, Owner in Contents, Marker always echoed, no KeyCount', async () => {
  const page = await s3.xml({ path: `/${B}` });
  assert.equal(page.$root, 'ListBucketResult');
  assert.equal(text(page, 'Name'), B);
  assert.equal(text(page, 'Prefix'), '');
  assert.equal(text(page, 'Marker'), '');
  assert.equal(text(page, 'MaxKeys'), '1000');
  assert.equal(text(page, 'IsTruncated'), 'false');
  assert.equal(text(page, 'KeyCount'), undefined);
  assert.equal(text(page, 'Delimiter'), undefined);
  assert.deepEqual(texts(page, 'Contents', 'Key'), TREE);
  for (const c of all(page, 'Contents')) {
    const key = text(c, 'Key')!;
    assert.equal(text(c, 'ETag'), `"${md5Hex(key)}"`);
    assert.equal(text(c, 'Size'), String(Buffer.byteLength(key)));
    assert.equal(text(c, 'StorageClass'), 'STANDARD');
    assert.match(text(c, 'LastModified')!, ISO_MS);
    assert.equal(text(all(c, 'Owner')[0], 'ID'), rootId);
    assert.equal(text(all(c, 'Owner')[0], 'DisplayName'), 'root');
  }
});

test('v2: KeyCount, no Owner unless fetch-owner=true, StartAfter and ContinuationToken only when sent', async () => {
  const page = await s3.xml({ path: `/${B}`, query: { 'list-type': 2 } });
  assert.equal(text(page, 'KeyCount'), String(TREE.length));
  assert.equal(text(page, 'StartAfter'), undefined);
  assert.equal(text(page, 'ContinuationToken'), undefined);
  assert.equal(text(page, 'Marker'), undefined);
  assert.ok(all(page, 'Contents').every((c) => all(c, 'Owner').length === 0));
  const owned = await s3.xml({ path: `/${B}`, query: { 'list-type': 2, 'fetch-owner': 'true' } });
  for (const c of all(owned, 'Contents')) {
    assert.equal(text(all(c, 'Owner')[0], 'ID'), rootId);
    assert.equal(text(all(c, 'Owner')[0], 'DisplayName'), 'root');
  }
  const after = await s3.xml({ path: `/${B}`, query: { 'list-type': 2, 'start-after': 'e/y' } });
  assert.equal(text(after, 'StartAfter'), 'e/y');
  assert.deepEqual(texts(after, 'Contents', 'Key'), ['f', 'g--1', 'g--2', 'g-h', 'z/1']);
});

test('prefix and delimiter: keys and common prefixes, each prefix once', async () => {
  const root = await s3.xml({ path: `/${B}`, query: { 'list-type': 2, delimiter: '/' } });
  assert.deepEqual(texts(root, 'Contents', 'Key'), ['b', 'd', 'f', 'g--1', 'g--2', 'g-h']);
  assert.deepEqual(texts(root, 'CommonPrefixes', 'Prefix'), ['a/', 'c/', 'e/', 'z/']);
  assert.equal(text(root, 'KeyCount'), '10');
  assert.equal(text(root, 'Delimiter'), '/');
  const e = await s3.xml({ path: `/${B}`, query: { 'list-type': 2, prefix: 'e/', delimiter: '/' } });
  assert.equal(text(e, 'Prefix'), 'e/');
  assert.deepEqual(texts(e, 'Contents', 'Key'), ['e/y']);
  assert.deepEqual(texts(e, 'CommonPrefixes', 'Prefix'), ['e/x/']);
  const none = await s3.xml({ path: `/${B}`, query: { 'list-type': 2, prefix: 'nothing' } });
  assert.equal(text(none, 'KeyCount'), '0');
  assert.equal(text(none, 'IsTruncated'), 'false');
  assert.equal(all(none, 'Contents').length, 0);
});

test('a multi-character delimiter groups on the whole string', async () => {
  const page = await s3.xml({ path: `/${B}`, query: { delimiter: '--' } });
  assert.deepEqual(texts(page, 'CommonPrefixes', 'Prefix'), ['g--']);
  assert.deepEqual(texts(page, 'Contents', 'Key'), TREE.filter((k) => !k.includes('--')));
  assert.equal(text(page, 'Delimiter'), '--');
});

test('paging with max-keys 1, 2 and 3 concatenates to the full listing (v1 and v2, prefixes counted as entries)', async () => {
  for (const q of [{}, { delimiter: '/' }, { delimiter: '--' }, { prefix: 'a/', delimiter: '/' }, { prefix: 'a' }, { prefix: 'e', delimiter: '/' }] as Query[]) {
    const full = model(TREE, String(q.prefix ?? ''), q.delimiter as string | undefined);
    for (const n of [1, 2, 3]) {
      assert.deepEqual(await pageV1(B, q, n), full, `v1 ${JSON.stringify(q)} max-keys=${n}`);
      assert.deepEqual(await pageV2(B, q, n), full, `v2 ${JSON.stringify(q)} max-keys=${n}`);
    }
  }
});

test('IsTruncated is exact: false when the page ends on the last entry, even a common prefix', async () => {
  const ten = await s3.xml({ path: `/${B}`, query: { 'list-type': 2, delimiter: '/', 'max-keys': 10 } });
  assert.equal(text(ten, 'KeyCount'), '10');
  assert.equal(text(ten, 'IsTruncated'), 'false');
  assert.equal(text(ten, 'NextContinuationToken'), undefined);
  const nine = await s3.xml({ path: `/${B}`, query: { delimiter: '/', 'max-keys': 9 } });
  assert.equal(text(nine, 'IsTruncated'), 'true');
  assert.equal(text(nine, 'NextMarker'), 'g-h');
  const last = await s3.xml({ path: `/${B}`, query: { delimiter: '/', marker: 'g-h' } });
  assert.deepEqual(entries(last), ['z/']);
  assert.equal(text(last, 'IsTruncated'), 'false');
});

test('resuming after a common prefix skips the prefix and every key under it', async () => {
  const v1 = await s3.xml({ path: `/${B}`, query: { delimiter: '/', marker: 'a/', 'max-keys': 2 } });
  assert.deepEqual(entries(v1), ['b', 'c/']);
  assert.equal(text(v1, 'NextMarker'), 'c/');
  const v1next = await s3.xml({ path: `/${B}`, query: { delimiter: '/', marker: 'c/', 'max-keys': 1 } });
  assert.deepEqual(entries(v1next), ['d']);
  const v2 = await s3.xml({ path: `/${B}`, query: { 'list-type': 2, delimiter: '/', 'start-after': 'a/' } });
  assert.deepEqual(entries(v2)[0], 'b');
  assert.ok(!entries(v2).includes('a/'));
  const nested = await s3.xml({ path: `/${B}`, query: { prefix: 'a/', delimiter: '/', marker: 'a/b/' } });
  assert.deepEqual(entries(nested), []);
  assert.equal(text(nested, 'IsTruncated'), 'false');
});

test('a continuation token wins over start-after; a marker below the prefix is ignored', async () => {
  const first = await s3.xml({ path: `/${B}`, query: { 'list-type': 2, 'max-keys': 2 } });
  const token = text(first, 'NextContinuationToken')!;
  const second = await s3.xml({ path: `/${B}`, query: { 'list-type': 2, 'max-keys': 2, 'continuation-token': token, 'start-after': 'e' } });
  assert.deepEqual(texts(second, 'Contents', 'Key'), ['a/b/1', 'a/b/2']);
  assert.equal(text(second, 'StartAfter'), 'e');
  const below = await s3.xml({ path: `/${B}`, query: { prefix: 'c/', marker: 'b' } });
  assert.deepEqual(texts(below, 'Contents', 'Key'), ['c/1', 'c/2']);
});

test('max-keys: 0 lists nothing untruncated; 1000 and 1001 both give 1000 of 1001; bad values are InvalidArgument', async () => {
  for (const list of [{}, { 'list-type': 2 }] as Query[]) {
    const zero = await s3.xml({ path: `/${B}`, query: { ...list, 'max-keys': 0 } });
    assert.equal(text(zero, 'MaxKeys'), '0');
    assert.equal(all(zero, 'Contents').length, 0);
    assert.equal(text(zero, 'IsTruncated'), 'false');
    if (list['list-type']) assert.equal(text(zero, 'KeyCount'), '0');
    const one = await s3.xml({ path: `/${B}`, query: { ...list, 'max-keys': 1 } });
    assert.deepEqual(texts(one, 'Contents', 'Key'), ['a/1']);
    assert.equal(text(one, 'IsTruncated'), 'true');
    for (const n of [undefined, 1000, 1001]) {
      const page = await s3.xml({ path: `/${BIG}`, query: { ...list, 'max-keys': n } });
      assert.equal(all(page, 'Contents').length, 1000, `max-keys=${n}`);
      assert.equal(text(page, 'MaxKeys'), '1000');
      assert.equal(text(page, 'IsTruncated'), 'true');
      assert.equal(texts(page, 'Contents', 'Key').pop(), 'k0999');
    }
    for (const bad of ['-1', 'abc', '1.5']) {
      assertError(await s3.send({ path: `/${B}`, query: { ...list, 'max-keys': bad } }), 400, 'InvalidArgument');
    }
  }
  const rest = await s3.xml({ path: `/${BIG}`, query: { 'list-type': 2, 'start-after': 'k0999' } });
  assert.deepEqual(texts(rest, 'Contents', 'Key'), ['k1000']);
  assert.equal(text(rest, 'IsTruncated'), 'false');
});

test('invalid continuation token or encoding-type → 400 InvalidArgument', async () => {
  for (const token of ['garbage', 'not a token!', '']) {
    assertError(await s3.send({ path: `/${B}`, query: { 'list-type': 2, 'continuation-token': token } }), 400, 'InvalidArgument');
  }
  assertError(await s3.send({ path: `/${B}`, query: { 'encoding-type': 'base64' } }), 400, 'InvalidArgument');
});

test('ListObjectVersions on an unversioned bucket: one null version per object, IsLatest, key-marker paging', async () => {
  const page = await s3.xml({ path: `/${B}`, query: 'versions' });
  assert.equal(page.$root, 'ListVersionsResult');
  assert.equal(all(page, 'DeleteMarker').length, 0);
  assert.deepEqual(texts(page, 'Version', 'Key'), TREE);
  for (const v of all(page, 'Version')) {
    assert.equal(text(v, 'VersionId'), 'null');
    assert.equal(text(v, 'IsLatest'), 'true');
    assert.equal(text(v, 'ETag'), `"${md5Hex(text(v, 'Key')!)}"`);
    assert.equal(text(all(v, 'Owner')[0], 'ID'), rootId);
  }
  for (const q of [{}, { delimiter: '/' }] as Query[]) {
    for (const n of [1, 2, 3]) {
      const seen: string[] = [];
      let keyMarker: string | undefined;
      let versionMarker: string | undefined;
      for (let i = 0; i < 50; i++) {
        const p = await s3.xml({ path: `/${B}`, query: { versions: '', ...q, 'max-keys': n, 'key-marker': keyMarker, 'version-id-marker': versionMarker } });
        const got = entries(p, 'Version');
        seen.push(...got);
        if (text(p, 'IsTruncated') !== 'true') break;
        assert.equal(got.length, n);
        keyMarker = text(p, 'NextKeyMarker');
        versionMarker = text(p, 'NextVersionIdMarker');
        assert.equal(keyMarker, got[got.length - 1]);
      }
      assert.deepEqual(seen, model(TREE, '', q.delimiter as string | undefined), `versions ${JSON.stringify(q)} max-keys=${n}`);
    }
  }
});

test('GetBucketVersioning of a never-versioned bucket is an empty configuration', async () => {
  const res = await s3.send({ path: `/${B}`, query: 'versioning' });
  assert.equal(res.status, 200);
  const doc = await s3.xml({ path: `/${B}`, query: 'versioning' });
  assert.equal(doc.$root, 'VersioningConfiguration');
  assert.equal(text(doc, 'Status'), undefined);
  assert.equal(text(doc, 'MfaDelete'), undefined);
});

test('ListMultipartUploads: key then initiation order, prefix, delimiter, key-marker and upload-id-marker', async () => {
  const ids: Record<string, string[]> = {};
  for (const key of ['up/a', 'up/b', 'up/a', 'up/c/1', 'up/c/2', 'up/d', 'zz']) {
    const doc = await s3.xml({ method: 'POST', path: objectPath(B, key), query: 'uploads' });
    (ids[key] ??= []).push(text(doc, 'UploadId')!);
  }
  const order = ['up/a', 'up/a', 'up/b', 'up/c/1', 'up/c/2', 'up/d', 'zz'];
  const allIds = [...ids['up/a'], ...ids['up/b'], ...ids['up/c/1'], ...ids['up/c/2'], ...ids['up/d'], ...ids.zz];
  const list = (q: Query) => s3.xml({ path: `/${B}`, query: { uploads: '', ...q } });

  const full = await list({});
  assert.equal(full.$root, 'ListMultipartUploadsResult');
  assert.deepEqual(texts(full, 'Upload', 'Key'), order);
  assert.deepEqual(texts(full, 'Upload', 'UploadId'), allIds);
  assert.equal(text(all(full, 'Upload')[0], 'StorageClass'), 'STANDARD');
  assert.equal(text(all(all(full, 'Upload')[0], 'Initiator')[0], 'ID'), rootId);

  const grouped = await list({ prefix: 'up/', delimiter: '/' });
  assert.deepEqual(texts(grouped, 'Upload', 'Key'), ['up/a', 'up/a', 'up/b', 'up/d']);
  assert.deepEqual(texts(grouped, 'CommonPrefixes', 'Prefix'), ['up/c/']);
  assert.equal(text(grouped, 'Prefix'), 'up/');

  assert.deepEqual(texts(await list({ 'key-marker': 'up/a' }), 'Upload', 'Key'), ['up/b', 'up/c/1', 'up/c/2', 'up/d', 'zz']);
  const afterFirst = await list({ 'key-marker': 'up/a', 'upload-id-marker': ids['up/a'][0] });
  assert.deepEqual(texts(afterFirst, 'Upload', 'UploadId'), allIds.slice(1));
  assert.deepEqual(texts(await list({ 'upload-id-marker': ids['up/a'][0] }), 'Upload', 'UploadId'), allIds, 'upload-id-marker without key-marker is ignored');

  for (const q of [{}, { prefix: 'up/', delimiter: '/' }] as Query[]) {
    for (const n of [1, 2]) {
      const seen: string[] = [];
      let keyMarker: string | undefined;
      let idMarker: string | undefined;
      for (let i = 0; i < 50; i++) {
        const p = await list({ ...q, 'max-uploads': n, 'key-marker': keyMarker, 'upload-id-marker': idMarker });
        const got = [...all(p, 'Upload').map((u) => `${text(u, 'Key')}#${text(u, 'UploadId')}`), ...texts(p, 'CommonPrefixes', 'Prefix')];
        seen.push(...got);
        if (text(p, 'IsTruncated') !== 'true') break;
        assert.equal(got.length, n);
        keyMarker = text(p, 'NextKeyMarker');
        idMarker = text(p, 'NextUploadIdMarker');
      }
      const expected = q.delimiter
        ? [...ids['up/a'].map((id) => `up/a#${id}`), `up/b#${ids['up/b'][0]}`, 'up/c/', `up/d#${ids['up/d'][0]}`]
        : order.map((k, i) => `${k}#${allIds[i]}`);
      assert.deepEqual(seen, expected, `uploads ${JSON.stringify(q)} max-uploads=${n}`);
    }
  }
  for (const [key, list2] of Object.entries(ids)) {
    for (const id of list2) assert.equal((await s3.send({ method: 'DELETE', path: objectPath(B, key), query: { uploadId: id } })).status, 204);
  }
  assert.equal(all(await list({}), 'Upload').length, 0);
});

test('listing a missing bucket → 404 NoSuchBucket; another user\'s bucket → 403 AccessDenied', async () => {
  for (const query of ['', 'list-type=2', 'versions', 'uploads']) {
    const missing = await s3.send({ path: '/no-such-bucket-here', query });
    assertError(missing, 404, 'NoSuchBucket');
    assert.match(missing.text, /<BucketName>no-such-bucket-here<\/BucketName>/);
    assertError(await s3.send({ path: `/${B}`, query, as: ALICE_KEY }), 403, 'AccessDenied');
  }
});
