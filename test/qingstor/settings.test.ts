// Bucket settings through the npm qingstor-sdk: JSON ACLs (user and QS_ALL_USERS grants, enforced on
// other users and on anonymous requests, owner-only to read and change), CORS rules with OPTIONS
// preflights and actual cross-origin requests, and bucket statistics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoServerErrors } from '../lib/s3http.js';
import { startGateway, ALICE_KEY, type TestGateway } from '../lib/gateway.js';
import { call, qingstor, raw } from '../lib/qingstor.js';

let gw: TestGateway;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let qs: any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let alice: any;
let rootId: string;
let aliceId: string;

type Entry = { grantee: { type: string; id?: string; name: string }; permission: string };
const entries = (acl: Entry[]) => acl.map((g) => `${g.grantee.type}:${g.grantee.name}:${g.grantee.id ?? ''}:${g.permission}`);

before(async () => {
  gw = await startGateway();
  qs = qingstor(gw);
  alice = qingstor(gw, ALICE_KEY);
  await call(qs.Bucket('st-root', 'pek3a').put());
  await call(alice.Bucket('st-alice', 'pek3a').put());
  rootId = (await call(qs.Bucket('st-root', 'pek3a').getACL())).data.owner.id;
  aliceId = (await call(alice.Bucket('st-alice', 'pek3a').getACL())).data.owner.id;
});
after(async () => {
  await gw?.stop();
});

test('get ACL of a new bucket: the owner, and the owner as a named FULL_CONTROL user grant first', async () => {
  const res = await call(qs.Bucket('st-root', 'pek3a').getACL());
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.deepEqual(res.data, { owner: { id: rootId, name: 'root' }, acl: [{ grantee: { type: 'user', id: rootId, name: 'root' }, permission: 'FULL_CONTROL' }] });
  assert.notEqual(rootId, aliceId);
});

test('user grants: READ lets alice read, not write; FULL_CONTROL lets her write; ACLs stay owner-only', async () => {
  const mine = qs.Bucket('st-shared', 'sh1a');
  await call(mine.put());
  await call(mine.putObject('doc.txt', { body: 'shared doc' }));
  const hers = alice.Bucket('st-shared', 'sh1a');
  assert.equal((await call(hers.getObject('doc.txt'))).status, 403);

  assert.equal((await call(mine.putACL({ acl: [{ grantee: { type: 'user', id: aliceId }, permission: 'READ' }] }))).status, 200);
  const acl = await call(mine.getACL());
  assert.deepEqual(entries(acl.data.acl), [`user:root:${rootId}:FULL_CONTROL`, `user:alice:${aliceId}:READ`]);
  assert.equal((await call(hers.getObject('doc.txt'))).data.toString(), 'shared doc');
  assert.equal((await call(hers.head())).status, 200);
  const denied = await call(hers.putObject('new.txt', { body: 'x' }));
  assert.equal(denied.status, 403);
  assert.equal(denied.data.code, 'permission_denied');

  // A grantee may be named by user name too.
  assert.equal((await call(mine.putACL({ acl: [{ grantee: { type: 'user', name: 'alice' }, permission: 'FULL_CONTROL' }] }))).status, 200);
  assert.equal((await call(hers.putObject('new.txt', { body: 'from alice' }))).status, 201);
  assert.equal((await call(mine.getObject('new.txt'))).data.toString(), 'from alice');
  // FULL_CONTROL on the bucket's objects is not ownership: the ACL and stats stay the owner's.
  for (const op of [() => hers.getACL(), () => hers.putACL({ acl: [{ grantee: { type: 'group', name: 'QS_ALL_USERS' }, permission: 'READ' }] }), () => hers.getStatistics(), () => hers.putCORS({ cors_rules: [{ allowed_origin: '*', allowed_methods: ['GET'] }] })]) {
    const res = await call(op());
    assert.equal(res.status, 403);
    assert.equal(res.data.code, 'permission_denied');
  }
  assert.deepEqual(entries((await call(mine.getACL())).data.acl), [`user:root:${rootId}:FULL_CONTROL`, `user:alice:${aliceId}:FULL_CONTROL`]);
});

test('QS_ALL_USERS grants open the bucket to anonymous requests: READ reads, WRITE writes', async () => {
  const b = qs.Bucket('st-public', 'gd2');
  await call(b.put());
  await call(b.putObject('r.txt', { body: 'readable' }));
  assert.equal((await raw(gw, { path: '/st-public/r.txt', host: 'gd2.localhost', as: null })).status, 403);

  await call(b.putACL({ acl: [{ grantee: { type: 'group', name: 'QS_ALL_USERS' }, permission: 'READ' }] }));
  assert.deepEqual(entries((await call(b.getACL())).data.acl), [`user:root:${rootId}:FULL_CONTROL`, 'group:QS_ALL_USERS::READ']);
  const read = await raw(gw, { path: '/st-public/r.txt', host: 'gd2.localhost', as: null });
  assert.equal(read.status, 200);
  assert.equal(read.body.toString(), 'readable');
  const write = await raw(gw, { method: 'PUT', path: '/st-public/w.txt', host: 'gd2.localhost', as: null, body: 'anon' });
  assert.equal(write.status, 403);
  assert.equal(write.json.code, 'permission_denied');

  await call(b.putACL({ acl: [{ grantee: { type: 'group', name: 'QS_ALL_USERS' }, permission: 'READ' }, { grantee: { type: 'group', name: 'QS_ALL_USERS' }, permission: 'WRITE' }] }));
  assert.equal((await raw(gw, { method: 'PUT', path: '/st-public/w.txt', host: 'gd2.localhost', as: null, body: 'anon' })).status, 201);
  assert.equal((await call(b.getObject('w.txt'))).data.toString(), 'anon');
  // Anonymous callers never change settings, whatever the grants.
  const anonAcl = await raw(gw, { method: 'PUT', path: '/st-public?acl', host: 'gd2.localhost', as: null, body: '{"acl":[]}' });
  assert.equal(anonAcl.status, 403);
  assert.equal(anonAcl.json.code, 'permission_denied');
});

test('CORS rules: put, get (one rule per origin), delete; get without rules is an empty list', async () => {
  const b = qs.Bucket('st-cors', 'pek3a');
  await call(b.put());
  const none = await call(b.getCORS());
  assert.equal(none.status, 200);
  assert.deepEqual(none.data, { cors_rules: [] });

  const rules = [
    { allowed_origin: 'http://*.example.com', allowed_methods: ['GET', 'PUT'], allowed_headers: ['x-qs-date', 'content-type'], expose_headers: ['x-qs-request-id'], max_age_seconds: 200 },
    { allowed_origin: 'https://app.test', allowed_methods: ['*'] },
  ];
  assert.equal((await call(b.putCORS({ cors_rules: rules }))).status, 200);
  const got = await call(b.getCORS());
  assert.deepEqual(got.data.cors_rules, [
    rules[0],
    { allowed_origin: 'https://app.test', allowed_methods: ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'], allowed_headers: [], expose_headers: [] },
  ]);
  assert.equal((await call(b.deleteCORS())).status, 204);
  assert.deepEqual((await call(b.getCORS())).data, { cors_rules: [] });
  assert.equal((await call(b.deleteCORS())).status, 204);
});

test('OPTIONS preflight: Allow headers from the matching rule, 200 without them when none matches; actual requests get CORS headers', async () => {
  const b = qs.Bucket('st-preflight', 'pek3a');
  await call(b.put());
  await call(b.putObject('page.html', { body: '<p>hi</p>', 'content-type': 'text/html' }));
  await call(b.putCORS({ cors_rules: [{ allowed_origin: 'http://*.example.com', allowed_methods: ['GET', 'PUT'], allowed_headers: ['x-qs-*'], expose_headers: ['x-qs-request-id'], max_age_seconds: 300 }] }));
  const preflight = (origin: string, method: string, path = '/st-preflight/page.html') =>
    raw(gw, { method: 'OPTIONS', path, as: null, headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'x-qs-date, X-QS-Meta-A' } });

  const ok = await preflight('http://www.example.com', 'PUT');
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['access-control-allow-origin'], 'http://www.example.com');
  assert.equal(ok.headers['access-control-allow-methods'], 'GET, PUT');
  assert.equal(ok.headers['access-control-allow-headers'], 'x-qs-date, x-qs-meta-a');
  assert.equal(ok.headers['access-control-expose-headers'], 'x-qs-request-id');
  assert.equal(ok.headers['access-control-max-age'], '300');
  assert.equal((await preflight('http://www.example.com', 'GET', '/st-preflight')).headers['access-control-allow-origin'], 'http://www.example.com');

  for (const [origin, method] of [['http://evil.test', 'GET'], ['http://www.example.com', 'DELETE']]) {
    const no = await preflight(origin, method);
    assert.equal(no.status, 200, `${origin} ${method}`);
    assert.equal(no.headers['access-control-allow-origin'], undefined);
    assert.equal(no.headers['access-control-allow-methods'], undefined);
  }
  const noBucket = await preflight('http://www.example.com', 'GET', '/st-nothing/x');
  assert.equal(noBucket.status, 404);
  assert.equal(noBucket.json.code, 'bucket_not_exists');

  const actual = await raw(gw, { path: '/st-preflight/page.html', headers: { origin: 'http://www.example.com' } });
  assert.equal(actual.status, 200);
  assert.equal(actual.headers['access-control-allow-origin'], 'http://www.example.com');
  assert.equal(actual.headers['access-control-expose-headers'], 'x-qs-request-id');
  const failed = await raw(gw, { path: '/st-preflight/missing', headers: { origin: 'http://www.example.com' } });
  assert.equal(failed.status, 404);
  assert.equal(failed.headers['access-control-allow-origin'], 'http://www.example.com');
  const foreign = await raw(gw, { path: '/st-preflight/page.html', headers: { origin: 'http://evil.test' } });
  assert.equal(foreign.headers['access-control-allow-origin'], undefined);
});

test('bucket statistics: count, size, status active, zone and URL', async () => {
  const b = qs.Bucket('st-stats', 'sh1a');
  await call(b.put());
  await call(b.putObject('a', { body: 'abc' }));
  await call(b.putObject('d/b', { body: 'defgh' }));
  const res = await call(b.getStatistics());
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/json');
  const { created, ...rest } = res.data;
  assert.deepEqual(rest, { name: 'st-stats', location: 'sh1a', url: `http://st-stats.sh1a.localhost:${gw.qsPort}`, status: 'active', count: 2, size: 8 });
  assert.ok(Math.abs(Date.parse(created) - Date.now()) < 120_000);
});

test('the gateway logged no internal errors', () => {
  assertNoServerErrors(gw);
});
