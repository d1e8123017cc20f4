// The QingStor getting-started flow with the npm qingstor-sdk against a gateway process: list and
// create buckets in a zone, put a file, read it back, delete it, and open a bucket to everyone with
// a JSON ACL (then close it again), checked with plain anonymous HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertNoServerErrors } from '../lib/s3http.js';
import { startGateway, type TestGateway } from '../lib/gateway.js';
import { call, qingstor } from '../lib/qingstor.js';

let gw: TestGateway;
let dir: string;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let qs: any;

before(async () => {
  gw = await startGateway();
  dir = await mkdtemp(join(tmpdir(), 'qs-guide-'));
  qs = qingstor(gw);
});
after(async () => {
  await gw?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('guide: buckets in zones, a file up and down, then deleted', async () => {
  const empty = await call(qs.listBuckets());
  assert.equal(empty.status, 200);
  assert.deepEqual(empty.data, { count: 0, buckets: [] });

  const bucket = qs.Bucket('guide-photos', 'sh1a');
  const created = await call(bucket.put());
  assert.equal(created.status, 201);
  assert.match(created.headers['x-qs-request-id'], /^[0-9a-f]{16}$/);
  assert.equal((await call(qs.Bucket('guide-logs', 'pek3a').put())).status, 201);

  const all = await call(qs.listBuckets());
  assert.equal(all.data.count, 2);
  assert.deepEqual(all.data.buckets.map((b: { name: string; location: string }) => [b.name, b.location]), [['guide-logs', 'pek3a'], ['guide-photos', 'sh1a']]);
  const photos = all.data.buckets.find((b: { name: string }) => b.name === 'guide-photos');
  assert.equal(photos.url, `http://guide-photos.sh1a.localhost:${gw.qsPort}`);
  assert.match(photos.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const inSh1a = await call(qs.listBuckets({ location: 'sh1a' }));
  assert.deepEqual(inSh1a.data.buckets.map((b: { name: string }) => b.name), ['guide-photos']);
  assert.equal(inSh1a.data.count, 1);

  const listed = await call(bucket.listObjects());
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.data.keys, []);
  assert.equal(listed.data.has_more, false);

  const file = join(dir, 'cat.jpg');
  const bytes = randomBytes(300 * 1024);
  await writeFile(file, bytes);
  const put = await call(bucket.putObject('photos/cat.jpg', { body: createReadStream(file), 'content-length': bytes.length, 'content-type': 'image/jpeg' }));
  assert.equal(put.status, 201);

  const got = await call(bucket.getObject('photos/cat.jpg'));
  assert.equal(got.status, 200);
  assert.ok(Buffer.isBuffer(got.data) && got.data.equals(bytes), 'the bytes read back equal the file');
  assert.equal(got.headers['content-type'], 'image/jpeg');
  assert.equal(got.headers['content-length'], String(bytes.length));
  assert.equal(got.headers.etag, put.headers.etag);

  const again = await call(bucket.listObjects());
  assert.deepEqual(again.data.keys.map((k: { key: string; size: number }) => [k.key, k.size]), [['photos/cat.jpg', bytes.length]]);

  assert.equal((await call(bucket.deleteObject('photos/cat.jpg'))).status, 204);
  const gone = await call(bucket.getObject('photos/cat.jpg'));
  assert.equal(gone.status, 404);
  assert.equal(gone.data.code, 'object_not_exists');
  assert.deepEqual((await call(bucket.listObjects())).data.keys, []);
});

test('guide: a QS_ALL_USERS FULL_CONTROL grant opens anonymous reads; revoking it closes them', async () => {
  const bucket = qs.Bucket('guide-public', 'sh1a');
  assert.equal((await call(bucket.put())).status, 201);
  assert.equal((await call(bucket.putObject('hello.txt', { body: 'hello, everyone', 'content-type': 'text/plain' }))).status, 201);
  const anonymousGet = () => fetch(`${gw.qsEndpoint}/guide-public/hello.txt`);

  const before = await anonymousGet();
  assert.equal(before.status, 403);
  assert.equal(((await before.json()) as { code: string }).code, 'permission_denied');

  const opened = await call(bucket.putACL({ acl: [{ grantee: { type: 'group', name: 'QS_ALL_USERS' }, permission: 'FULL_CONTROL' }] }));
  assert.equal(opened.status, 200);
  const acl = await call(bucket.getACL());
  assert.deepEqual(acl.data.acl.map((g: { grantee: { type: string; name: string }; permission: string }) => [g.grantee.type, g.grantee.name, g.permission]), [
    ['user', 'root', 'FULL_CONTROL'],
    ['group', 'QS_ALL_USERS', 'FULL_CONTROL'],
  ]);

  const open = await anonymousGet();
  assert.equal(open.status, 200);
  assert.equal(await open.text(), 'hello, everyone');

  // The SDK refuses an empty list, so the bucket is closed by granting the owner alone.
  const revoked = await call(bucket.putACL({ acl: [{ grantee: { type: 'user', id: acl.data.owner.id }, permission: 'FULL_CONTROL' }] }));
  assert.equal(revoked.status, 200);
  const closed = await anonymousGet();
  assert.equal(closed.status, 403);
  const body = (await closed.json()) as { code: string; request_id: string };
  assert.equal(body.code, 'permission_denied');
  assert.equal(body.request_id, closed.headers.get('x-qs-request-id'));
  assert.deepEqual((await call(bucket.getACL())).data.acl.map((g: { permission: string }) => g.permission), ['FULL_CONTROL']);
});

test('the gateway logged no internal errors', () => {
  assertNoServerErrors(gw);
});
