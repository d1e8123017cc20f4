// Service and bucket operations through the npm qingstor-sdk (and hand-signed requests where the SDK
// cannot go): list buckets by zone, create in a zone, head, delete, list objects and uploads, delete
// multiple objects, and the zone rules (discovery redirect, wrong zone, zone-less hosts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { assertNoServerErrors } from '../lib/s3http.js';
import { startGateway, ALICE_KEY, type TestGateway } from '../lib/gateway.js';
import { call, qingstor, raw } from '../lib/qingstor.js';

let gw: TestGateway;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let qs: any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let alice: any;

before(async () => {
  gw = await startGateway();
  qs = qingstor(gw);
  alice = qingstor(gw, ALICE_KEY);
});
after(async () => {
  await gw?.stop();
});

const names = (r: { data: { buckets: Array<{ name: string }> } }) => r.data.buckets.map((b) => b.name);

test('list buckets: by zone through the Location header or a zone host, paged, own buckets only, never anonymous', async () => {
  for (const [name, zone] of [['lb-one', 'pek3a'], ['lb-two', 'sh1a'], ['lb-three', 'gd2'], ['lb-four', 'sh1a']]) {
    assert.equal((await call(qs.Bucket(name, zone).put())).status, 201, name);
  }
  assert.equal((await call(alice.Bucket('lb-alice', 'pek3a').put())).status, 201);

  const all = await call(qs.listBuckets());
  assert.equal(all.headers['content-type'], 'application/json');
  assert.deepEqual(names(all), ['lb-four', 'lb-one', 'lb-three', 'lb-two']);
  assert.deepEqual(all.data.buckets.map((b: { location: string }) => b.location), ['sh1a', 'pek3a', 'gd2', 'sh1a']);
  assert.deepEqual(names(await call(qs.listBuckets({ location: 'sh1a' }))), ['lb-four', 'lb-two']);
  assert.deepEqual(names(await call(alice.listBuckets())), ['lb-alice']);

  // A zone's host lists that zone.
  const viaZone = await raw(gw, { path: '/', host: 'gd2.localhost' });
  assert.equal(viaZone.status, 200);
  assert.deepEqual(viaZone.json.buckets.map((b: { name: string }) => b.name), ['lb-three']);

  const page = await call(qs.listBuckets({ limit: 2, offset: 1 }));
  assert.equal(page.data.count, 4);
  assert.deepEqual(names(page), ['lb-one', 'lb-three']);

  const anonymous = await raw(gw, { path: '/', host: 'localhost', as: null });
  assert.equal(anonymous.status, 403);
  assert.equal(anonymous.json.code, 'permission_denied');
});

test('put bucket: 201 in the Host\'s zone; an existing name is 409 bucket_already_exists, for its owner too', async () => {
  const b = qs.Bucket('pb-zoned', 'gd2');
  const made = await call(b.put());
  assert.equal(made.status, 201);
  assert.equal(made.data.length, 0);
  const listed = await call(qs.listBuckets({ location: 'gd2' }));
  assert.ok(names(listed).includes('pb-zoned'));

  for (const client of [qs, alice]) {
    const again = await call(client.Bucket('pb-zoned', 'gd2').put());
    assert.equal(again.status, 409);
    assert.equal(again.data.code, 'bucket_already_exists');
  }
  // Through another zone the name is still taken, and the bucket stays where it was.
  const elsewhere = await call(qs.Bucket('pb-zoned', 'pek3a').put());
  assert.equal(elsewhere.data.code, 'bucket_already_exists');
  assert.ok(names(await call(qs.listBuckets({ location: 'gd2' }))).includes('pb-zoned'));

  // Through the bare host (no zone) a bucket goes to the default zone.
  const bare = await raw(gw, { method: 'PUT', path: '/pb-default', host: 'localhost' });
  assert.equal(bare.status, 201);
  assert.ok(names(await call(qs.listBuckets({ location: 'pek3a' }))).includes('pb-default'));
});

test('head and delete bucket: 200, 404 without a body, 403 for others; 409 when not empty, then 204', async () => {
  const b = qs.Bucket('hd-bucket', 'sh1a');
  await call(b.put());
  assert.equal((await call(b.head())).status, 200);
  const missing = await call(qs.Bucket('hd-missing', 'sh1a').head());
  assert.equal(missing.status, 404);
  assert.equal(missing.data.length, 0);
  assert.equal((await call(alice.Bucket('hd-bucket', 'sh1a').head())).status, 403);

  await call(b.putObject('x', { body: 'x' }));
  const full = await call(b.delete());
  assert.equal(full.status, 409);
  assert.equal(full.data.code, 'bucket_not_empty');
  assert.equal((await call(alice.Bucket('hd-bucket', 'sh1a').delete())).data.code, 'permission_denied');
  assert.equal((await call(b.deleteObject('x'))).status, 204);
  assert.equal((await call(b.delete())).status, 204);
  assert.equal((await call(b.head())).status, 404);
  assert.equal((await call(b.delete())).data.code, 'bucket_not_exists');
});

test('list objects: prefix, delimiter, marker paging, JSON fields, limit default 100 and cap 1000', async () => {
  const b = qs.Bucket('lo-bucket', 'pek3a');
  await call(b.put());
  const keys = ['a.txt', 'b/1.txt', 'b/2.txt', 'c/x/y.txt', 'd.txt'];
  for (const k of keys) await call(b.putObject(k, { body: `body of ${k}`, 'content-type': 'text/plain' }));

  const first = await call(b.listObjects({ delimiter: '/', limit: 2 }));
  assert.equal(first.status, 200);
  assert.deepEqual(first.data.keys.map((k: { key: string }) => k.key), ['a.txt']);
  assert.deepEqual(first.data.common_prefixes, ['b/']);
  assert.equal(first.data.has_more, true);
  assert.equal(first.data.next_marker, 'b/');
  assert.equal(first.data.limit, 2);
  assert.equal(first.data.delimiter, '/');
  assert.equal(first.data.name, 'lo-bucket');
  assert.equal(first.data.owner.name, 'root');
  const entry = first.data.keys[0];
  assert.equal(entry.etag, `"${createHash('md5').update('body of a.txt').digest('hex')}"`);
  assert.equal(entry.size, 'body of a.txt'.length);
  assert.equal(entry.mime_type, 'text/plain');
  assert.equal(entry.storage_class, 'STANDARD');
  assert.ok(Number.isInteger(entry.modified) && Math.abs(entry.modified - Date.now() / 1000) < 120);
  assert.match(entry.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(Math.floor(Date.parse(entry.created) / 1000), entry.modified);

  const second = await call(b.listObjects({ delimiter: '/', limit: 2, marker: first.data.next_marker }));
  assert.deepEqual(second.data.common_prefixes, ['c/']);
  assert.deepEqual(second.data.keys.map((k: { key: string }) => k.key), ['d.txt']);
  assert.equal(second.data.marker, 'b/');
  assert.equal(second.data.has_more, false);
  assert.equal(second.data.next_marker, '');

  const underB = await call(b.listObjects({ prefix: 'b/' }));
  assert.deepEqual(underB.data.keys.map((k: { key: string }) => k.key), ['b/1.txt', 'b/2.txt']);
  assert.equal(underB.data.prefix, 'b/');
  assert.equal((await call(b.listObjects())).data.limit, 100);
  assert.equal((await call(b.listObjects({ limit: 5000 }))).data.limit, 1000);

  // Even with a public READ grant, listing is for authenticated callers only.
  await call(b.putACL({ acl: [{ grantee: { type: 'group', name: 'QS_ALL_USERS' }, permission: 'READ' }] }));
  const anonymous = await raw(gw, { path: '/lo-bucket', as: null });
  assert.equal(anonymous.status, 403);
  assert.equal(anonymous.json.code, 'permission_denied');
  assert.equal((await raw(gw, { path: '/lo-bucket/a.txt', as: null })).body.toString(), 'body of a.txt');
});

test('list multipart uploads: uploads in progress with prefix and delimiter', async () => {
  const b = qs.Bucket('lu-bucket', 'pek3a');
  await call(b.put());
  const ids: Record<string, string> = {};
  for (const k of ['movies/a.mp4', 'movies/b.mp4', 'music/x.mp3']) ids[k] = (await call(b.initiateMultipartUpload(k))).data.upload_id;
  const all = await call(b.listMultipartUploads());
  assert.equal(all.status, 200);
  assert.deepEqual(all.data.uploads.map((u: { key: string; upload_id: string }) => [u.key, u.upload_id]), Object.entries(ids));
  assert.ok(all.data.uploads.every((u: { created: string }) => Math.abs(Date.parse(u.created) - Date.now()) < 120_000));
  const rolled = await call(b.listMultipartUploads({ delimiter: '/' }));
  assert.deepEqual(rolled.data.common_prefixes, ['movies/', 'music/']);
  assert.deepEqual(rolled.data.uploads, []);
  const paged = await call(b.listMultipartUploads({ prefix: 'movies/', limit: 1 }));
  assert.deepEqual(paged.data.uploads.map((u: { key: string }) => u.key), ['movies/a.mp4']);
  assert.equal(paged.data.has_more, true);
  assert.equal(paged.data.next_key_marker, 'movies/a.mp4');
  const next = await call(b.listMultipartUploads({ prefix: 'movies/', key_marker: paged.data.next_key_marker, upload_id_marker: paged.data.next_upload_id_marker }));
  assert.deepEqual(next.data.uploads.map((u: { key: string }) => u.key), ['movies/b.mp4']);
});

test('delete multiple objects: deleted and errors lists, missing keys count as deleted, quiet', async () => {
  const b = qs.Bucket('dm-bucket', 'sh1a');
  await call(b.put());
  for (const k of ['one', 'two', 'three']) await call(b.putObject(k, { body: k }));
  const res = await call(b.deleteMultipleObjects({ objects: [{ key: 'one' }, { key: 'two' }, { key: 'never-there' }] }));
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.deepEqual(res.data, { deleted: [{ key: 'one' }, { key: 'two' }, { key: 'never-there' }], errors: [] });
  const quiet = await call(b.deleteMultipleObjects({ objects: [{ key: 'three' }], quiet: true }));
  assert.deepEqual(quiet.data, { errors: [] });
  assert.deepEqual((await call(b.listObjects())).data.keys, []);
});

test('zones: discovery redirect for anonymous HEAD, invalid_location through another zone, zone-less hosts served', async () => {
  const b = qs.Bucket('zn-bucket', 'sh1a');
  await call(b.put());
  await call(b.putObject('k.txt', { body: 'zone bytes' }));

  // qscamel's probe: unauthenticated HEAD at <bucket>.<domain>, redirects not followed.
  const probe = await raw(gw, { method: 'HEAD', path: '/', host: 'zn-bucket.localhost', as: null });
  assert.equal(probe.status, 301);
  assert.equal(probe.headers.location, `http://zn-bucket.sh1a.localhost:${gw.qsPort}/`);
  assert.equal(new URL(probe.headers.location!).hostname.split('.')[1], 'sh1a');
  const wrongZoneProbe = await raw(gw, { method: 'HEAD', path: '/zn-bucket/k.txt', host: 'gd2.localhost', as: null });
  assert.equal(wrongZoneProbe.status, 301);
  assert.equal(wrongZoneProbe.headers.location, `http://zn-bucket.sh1a.localhost:${gw.qsPort}/k.txt`);
  assert.ok(wrongZoneProbe.headers['x-qs-request-id']);
  // A probe for a bucket that does not exist is a plain 404.
  assert.equal((await raw(gw, { method: 'HEAD', path: '/', host: 'zn-nothing.localhost', as: null })).status, 404);

  const wrong = await call(qs.Bucket('zn-bucket', 'pek3a').getObject('k.txt'));
  assert.equal(wrong.status, 400);
  assert.equal(wrong.data.code, 'invalid_location');
  assert.match(wrong.data.message, /sh1a/);

  // Hosts that name no zone serve the bucket in its own zone: the bare host and <bucket>.<domain>.
  assert.equal((await raw(gw, { path: '/zn-bucket/k.txt', host: 'localhost' })).body.toString(), 'zone bytes');
  assert.equal((await raw(gw, { path: '/k.txt', host: 'zn-bucket.localhost', vhostBucket: 'zn-bucket' })).body.toString(), 'zone bytes');
  // An authenticated HEAD at <bucket>.<domain> is served, not redirected.
  assert.equal((await raw(gw, { method: 'HEAD', path: '/k.txt', host: 'zn-bucket.localhost', vhostBucket: 'zn-bucket' })).status, 200);
});

test('virtual-host style: <bucket>.<zone>.<host> for bucket and object operations', async () => {
  const vq = qingstor(gw, undefined, { vhost: true });
  const b = vq.Bucket('vh-bucket', 'gd2');
  assert.equal((await call(b.put())).status, 201);
  assert.equal((await call(b.putObject('dir/a b.txt', { body: 'virtual' }))).status, 201);
  assert.equal((await call(b.getObject('dir/a b.txt'))).data.toString(), 'virtual');
  assert.deepEqual((await call(b.listObjects())).data.keys.map((k: { key: string }) => k.key), ['dir/a b.txt']);
  assert.equal((await call(b.getACL())).status, 200);
  assert.equal((await call(qs.Bucket('vh-bucket', 'gd2').getObject('dir/a b.txt'))).data.toString(), 'virtual');
});

test('the gateway logged no internal errors', () => {
  assertNoServerErrors(gw);
});
