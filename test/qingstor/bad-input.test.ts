// Bad input through the QingStor API: each gets QingStor's JSON error with the exact code and
// status, never a 500 or a hang, and leaves what is stored as it was (checked by reading back).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { assertNoServerErrors } from '../lib/s3http.js';
import { startGateway, ROOT_KEY, type TestGateway } from '../lib/gateway.js';
import { call, md5b64, qingstor, raw, type RawReply } from '../lib/qingstor.js';

let gw: TestGateway;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let qs: any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let b: any;

before(async () => {
  gw = await startGateway();
  qs = qingstor(gw);
  b = qs.Bucket('bad-bucket', 'sh1a');
  assert.equal((await call(b.put())).status, 201);
  assert.equal((await call(b.putObject('keep.txt', { body: 'original bytes', 'content-type': 'text/plain' }))).status, 201);
});
after(async () => {
  await gw?.stop();
});

/** Asserts a QingStor JSON error: status, code, the request id in body and header, the docs URL. */
function assertError(res: RawReply, status: number, code: string): void {
  assert.equal(res.status, status, `${code}: ${res.body.toString()}`);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.equal(res.json.code, code);
  assert.equal(typeof res.json.message, 'string');
  assert.equal(res.json.request_id, res.headers['x-qs-request-id']);
  assert.match(res.json.url, /^https:\/\/docs\.qingcloud\.com\//);
}

async function assertKept(): Promise<void> {
  const got = await call(b.getObject('keep.txt'));
  assert.equal(got.status, 200);
  assert.equal(got.data.toString(), 'original bytes');
}

test('signatures: a wrong secret is 401 signature_not_matched, an unknown key 401 invalid_access_key_id, nothing is written', async () => {
  const wrong = await raw(gw, { method: 'PUT', path: '/bad-bucket/keep.txt', host: 'sh1a.localhost', body: 'overwritten', as: { accessKey: ROOT_KEY.accessKey, secretKey: 'not-the-secret' } });
  assertError(wrong, 401, 'signature_not_matched');
  const unknown = await raw(gw, { method: 'PUT', path: '/bad-bucket/new.txt', host: 'sh1a.localhost', body: 'x', as: { accessKey: 'NOSUCHACCESSKEY00000', secretKey: 'whatever-secret' } });
  assertError(unknown, 401, 'invalid_access_key_id');
  const viaSdk = await call(qingstor(gw, { accessKey: ROOT_KEY.accessKey, secretKey: 'wrong-secret-key' }).Bucket('bad-bucket', 'sh1a').deleteObject('keep.txt'));
  assert.equal(viaSdk.status, 401);
  assert.equal(viaSdk.data.code, 'signature_not_matched');
  // A signature over other headers than those sent: metadata added after signing.
  const tampered = await raw(gw, { method: 'PUT', path: '/bad-bucket/keep.txt', host: 'sh1a.localhost', body: 'x', unsigned: { 'x-qs-meta-a': '1' } });
  assertError(tampered, 401, 'signature_not_matched');
  const malformed = await raw(gw, { path: '/bad-bucket/keep.txt', host: 'sh1a.localhost', as: null, headers: { authorization: 'QS no-colon-here' } });
  assertError(malformed, 400, 'invalid_argument');
  assert.equal((await call(b.headObject('new.txt'))).status, 404);
  await assertKept();
});

test('expired: a request dated 20 minutes ago and a signed URL past its expiry are 403 request_expired', async () => {
  const old = await raw(gw, { method: 'DELETE', path: '/bad-bucket/keep.txt', host: 'sh1a.localhost', date: new Date(Date.now() - 20 * 60_000) });
  assertError(old, 403, 'request_expired');
  const future = await raw(gw, { method: 'DELETE', path: '/bad-bucket/keep.txt', host: 'sh1a.localhost', date: new Date(Date.now() + 20 * 60_000) });
  assertError(future, 403, 'request_expired');
  await assertKept();

  const live = await b.getObjectRequest('keep.txt').signQuery(60);
  const livePath = live.operation.uri.replace(/^http:\/\/[^/]+/, '');
  assert.equal((await raw(gw, { path: livePath, host: 'sh1a.localhost', as: null })).body.toString(), 'original bytes');
  const expired = await b.getObjectRequest('keep.txt').signQuery(-10);
  assertError(await raw(gw, { path: expired.operation.uri.replace(/^http:\/\/[^/]+/, ''), host: 'sh1a.localhost', as: null }), 403, 'request_expired');
});

test('zones: an unknown zone is 400 invalid_location; a bucket through another zone is 400 invalid_location and unchanged', async () => {
  const unknown = await call(qs.Bucket('bad-bucket', 'mars9').getObject('keep.txt'));
  assert.equal(unknown.status, 400);
  assert.equal(unknown.data.code, 'invalid_location');
  assertError(await raw(gw, { method: 'PUT', path: '/zz-new-bucket', host: 'zz9.localhost' }), 400, 'invalid_location');
  assert.equal((await call(qs.Bucket('zz-new-bucket', 'pek3a').head())).status, 404);
  assertError(await raw(gw, { path: '/', host: 'localhost', headers: { location: 'mars9' } }), 400, 'invalid_location');

  const wrong = await call(qs.Bucket('bad-bucket', 'pek3a').putObject('keep.txt', { body: 'through the wrong zone' }));
  assert.equal(wrong.status, 400);
  assert.equal(wrong.data.code, 'invalid_location');
  assert.equal((await call(qs.Bucket('bad-bucket', 'gd2').delete())).data.code, 'invalid_location');
  await assertKept();
});

test('invalid bucket names are 400 invalid_bucket_name; nothing is created', async () => {
  for (const name of ['ab', 'abcde', 'my.bucket', '-leading', 'trailing-']) {
    const res = await call(qs.Bucket(name, 'pek3a').put());
    assert.equal(res.status, 400, name);
    assert.equal(res.data.code, 'invalid_bucket_name', name);
  }
  assertError(await raw(gw, { method: 'PUT', path: '/Upper_Case', host: 'pek3a.localhost' }), 400, 'invalid_bucket_name');
  assertError(await raw(gw, { path: '/Upper_Case/key', host: 'pek3a.localhost' }), 400, 'invalid_bucket_name');
  assertError(await raw(gw, { path: '/', host: 'bad_host.pek3a.localhost' }), 400, 'invalid_bucket_name');
  assert.deepEqual((await call(qs.listBuckets())).data.buckets.map((x: { name: string }) => x.name), ['bad-bucket']);
});

test('unknown keys and buckets: 404 object_not_exists / bucket_not_exists', async () => {
  assertError(await raw(gw, { path: '/bad-bucket/no/such/key', host: 'sh1a.localhost' }), 404, 'object_not_exists');
  assertError(await raw(gw, { path: '/no-such-bucket/key', host: 'sh1a.localhost' }), 404, 'bucket_not_exists');
  assertError(await raw(gw, { path: '/no-such-bucket?acl', host: 'sh1a.localhost' }), 404, 'bucket_not_exists');
  assertError(await raw(gw, { path: '/bad-bucket/%ZZbroken', host: 'sh1a.localhost' }), 400, 'invalid_request');
});

test('malformed ACL bodies: invalid_json, invalid_request, invalid_argument; the ACL is unchanged', async () => {
  const put = (body: string) => raw(gw, { method: 'PUT', path: '/bad-bucket?acl', host: 'sh1a.localhost', body, headers: { 'content-type': 'application/json' } });
  assertError(await put('{"acl": [{"grantee": '), 400, 'invalid_json');
  assertError(await put('[1, 2]'), 400, 'invalid_json');
  assertError(await put(''), 400, 'invalid_request');
  assertError(await put('{"grants": []}'), 400, 'invalid_request');
  assertError(await put('{"acl": [{"grantee": {"type": "group", "name": "EVERYONE"}, "permission": "READ"}]}'), 400, 'invalid_request');
  assertError(await put('{"acl": [{"grantee": {"type": "group", "name": "QS_ALL_USERS"}, "permission": "READ_ACP"}]}'), 400, 'invalid_request');
  assertError(await put('{"acl": [{"grantee": {"type": "robot", "id": "x"}, "permission": "READ"}]}'), 400, 'invalid_request');
  assertError(await put('{"acl": [{"grantee": {"type": "user", "id": "usr-nobody"}, "permission": "READ"}]}'), 400, 'invalid_argument');
  assertError(await put(`{"acl": [], "pad": "${'x'.repeat(1024 * 1024)}"}`), 400, 'entity_too_large');
  const acl = await call(b.getACL());
  assert.deepEqual(acl.data.acl.map((g: { permission: string }) => g.permission), ['FULL_CONTROL']);
  assert.equal((await raw(gw, { path: '/bad-bucket/keep.txt', host: 'sh1a.localhost', as: null })).status, 403);
});

test('malformed CORS bodies: invalid_json, invalid_request; the rules are unchanged', async () => {
  const rules = { cors_rules: [{ allowed_origin: 'https://ok.test', allowed_methods: ['GET'] }] };
  assert.equal((await call(b.putCORS(rules))).status, 200);
  const put = (body: string) => raw(gw, { method: 'PUT', path: '/bad-bucket?cors', host: 'sh1a.localhost', body, headers: { 'content-type': 'application/json' } });
  assertError(await put('{"cors_rules": [{'), 400, 'invalid_json');
  assertError(await put('{"cors_rules": []}'), 400, 'invalid_request');
  assertError(await put('{"cors_rules": [{"allowed_methods": ["GET"]}]}'), 400, 'invalid_request');
  assertError(await put('{"cors_rules": [{"allowed_origin": "*", "allowed_methods": ["PATCH"]}]}'), 400, 'invalid_request');
  assertError(await put('{"cors_rules": [{"allowed_origin": "*", "allowed_methods": ["GET"], "max_age_seconds": -5}]}'), 400, 'invalid_request');
  const got = await call(b.getCORS());
  assert.deepEqual(got.data.cors_rules.map((r: { allowed_origin: string; allowed_methods: string[] }) => [r.allowed_origin, r.allowed_methods]), [['https://ok.test', ['GET']]]);
});

test('malformed complete-multipart bodies and bad parts: exact codes, and the upload is still there', async () => {
  const id = (await call(b.initiateMultipartUpload('mp.bin'))).data.upload_id;
  await call(b.uploadMultipart('mp.bin', { part_number: '0', upload_id: id, body: 'part zero' }));
  const complete = (body: string) => raw(gw, { method: 'POST', path: `/bad-bucket/mp.bin?upload_id=${id}`, host: 'sh1a.localhost', body, headers: { 'content-type': 'application/json' } });
  assertError(await complete('{"object_parts": [{"part_number": 0'), 400, 'invalid_json');
  assertError(await complete('{"object_parts": []}'), 400, 'invalid_request');
  assertError(await complete('{"parts": [{"part_number": 0}]}'), 400, 'invalid_request');
  assertError(await complete('{"object_parts": [{"part_number": "zero"}]}'), 400, 'invalid_argument');
  assertError(await complete('{"object_parts": [{"part_number": 0, "etag": "\\"0123456789abcdef0123456789abcdef\\""}]}'), 400, 'invalid_argument');
  assertError(await complete('{"object_parts": [{"part_number": 3}]}'), 400, 'invalid_argument');
  await call(b.uploadMultipart('mp.bin', { part_number: '1', upload_id: id, body: 'part one' }));
  assertError(await complete('{"object_parts": [{"part_number": 1}, {"part_number": 0}]}'), 400, 'invalid_request');
  const parts = await call(b.listMultipart('mp.bin', { upload_id: id }));
  assert.deepEqual(parts.data.object_parts.map((p: { part_number: number }) => p.part_number), [0, 1]);
  assert.equal((await call(b.headObject('mp.bin'))).status, 404);
  // The last part may be small: a single-part completion works afterwards.
  assert.equal((await complete('{"object_parts": [{"part_number": 0}]}')).status, 201);
  assert.equal((await call(b.getObject('mp.bin'))).data.toString(), 'part zero');
});

test('delete multiple: Content-MD5 required and verified (bad_digest), malformed bodies refused; nothing is deleted', async () => {
  const post = (body: string, md5?: string) => raw(gw, { method: 'POST', path: '/bad-bucket?delete', host: 'sh1a.localhost', body, headers: { 'content-type': 'application/json', ...(md5 ? { 'content-md5': md5 } : {}) } });
  const body = '{"objects":[{"key":"keep.txt"}],"quiet":false}';
  assertError(await post(body, md5b64('something else')), 400, 'bad_digest');
  assertError(await post(body, 'not-base64'), 400, 'bad_digest');
  assertError(await post(body), 400, 'invalid_request');
  const broken = '{"objects":[{"key":';
  assertError(await post(broken, md5b64(broken)), 400, 'invalid_json');
  for (const doc of ['{"objects":[]}', '{"objects":[{"name":"keep.txt"}]}', '{"keys":["keep.txt"]}', '{"objects":[{"key":"keep.txt"}],"quiet":"yes"}']) {
    assertError(await post(doc, md5b64(doc)), 400, 'invalid_request');
  }
  const tooMany = JSON.stringify({ objects: Array.from({ length: 1001 }, (_, i) => ({ key: `k${i}` })) });
  assertError(await post(tooMany, md5b64(tooMany)), 400, 'invalid_request');
  await assertKept();
});

test('put object: a wrong Content-MD5 is 400 bad_digest and the stored object stays; too much metadata is metadata_too_large', async () => {
  const data = randomBytes(10_000);
  const res = await call(b.putObject('keep.txt', { body: data, 'content-md5': md5b64('other bytes') }));
  assert.equal(res.status, 400);
  assert.equal(res.data.code, 'bad_digest');
  const fresh = await call(b.putObject('fresh.bin', { body: data, 'content-md5': md5b64('other bytes') }));
  assert.equal(fresh.data.code, 'bad_digest');
  assert.equal((await call(b.headObject('fresh.bin'))).status, 404);
  assertError(await raw(gw, { method: 'PUT', path: '/bad-bucket/keep.txt', host: 'sh1a.localhost', body: 'x', headers: { 'x-qs-meta-big': 'v'.repeat(2100) } }), 400, 'metadata_too_large');
  assertError(await raw(gw, { method: 'PUT', path: '/bad-bucket/keep.txt', host: 'sh1a.localhost', body: 'x', headers: { 'x-qs-storage-class': 'GLACIER' } }), 400, 'invalid_request');
  assertError(await raw(gw, { method: 'PUT', path: '/bad-bucket/keep.txt', host: 'sh1a.localhost', body: 'x', headers: { 'x-qs-encryption-customer-algorithm': 'AES256' } }), 400, 'invalid_request');
  await assertKept();
});

test('append: a wrong position is 400 invalid_argument naming the next position; a normal object is invalid_object_state', async () => {
  assert.equal((await call(b.appendObject('log.txt', { position: '0', body: 'abc' }))).status, 200);
  for (const position of ['0', '2', '4']) {
    const res = await call(b.appendObject('log.txt', { position, body: 'zzz' }));
    assert.equal(res.status, 400, position);
    assert.equal(res.data.code, 'invalid_argument', position);
    assert.equal(res.headers['x-qs-next-append-position'], '3', position);
  }
  const missingPosition = await raw(gw, { method: 'POST', path: '/bad-bucket/log.txt?append', host: 'sh1a.localhost', body: 'zzz' });
  assertError(missingPosition, 400, 'invalid_argument');
  assert.equal((await call(b.getObject('log.txt'))).data.toString(), 'abc');

  const onNormal = await call(b.appendObject('keep.txt', { position: '14', body: 'more' }));
  assert.equal(onNormal.status, 400);
  assert.equal(onNormal.data.code, 'invalid_object_state');
  await assertKept();
  const badMd5 = await call(b.appendObject('log.txt', { position: '3', body: 'def', 'content-md5': md5b64('xyz') }));
  assert.equal(badMd5.data.code, 'bad_digest');
  assert.equal((await call(b.getObject('log.txt'))).data.toString(), 'abc');
});

test('append: of 8 appends racing at one position exactly one wins; the others are invalid_argument naming the next position', async () => {
  const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => call(b.appendObject('race.log', { position: '0', body: `writer-${i};` }))));
  const won = replies.filter((r) => r.status === 200);
  assert.equal(won.length, 1, JSON.stringify(replies.map((r) => [r.status, r.data?.code])));
  for (const r of replies.filter((x) => x.status !== 200)) {
    assert.equal(r.status, 400);
    assert.equal(r.data.code, 'invalid_argument');
    assert.equal(r.headers['x-qs-next-append-position'], '9');
  }
  assert.match((await call(b.getObject('race.log'))).data.toString(), /^writer-\d;$/);
  assert.equal((await call(b.deleteObject('race.log'))).status, 204);
});

test('unsupported operations and methods: QingStor errors, never a 500', async () => {
  const cases: Array<[string, string, string?]> = [
    ['GET', '/bad-bucket?policy'], ['PUT', '/bad-bucket?lifecycle', '{"rule":[]}'], ['GET', '/bad-bucket?logging'], ['DELETE', '/bad-bucket?notification'],
    ['GET', '/bad-bucket?replication'], ['GET', '/bad-bucket?mirror'], ['GET', '/bad-bucket?cname'], ['GET', '/bad-bucket/keep.txt?image&action=resize'],
    ['PATCH', '/bad-bucket'], ['POST', '/bad-bucket/keep.txt'], ['GET', '/bad-bucket/keep.txt?uploads'],
  ];
  for (const [method, path, body] of cases) {
    const res = await raw(gw, { method, path, host: 'sh1a.localhost', body });
    assertError(res, 405, 'method_not_allowed');
  }
  const fetchSource = await raw(gw, { method: 'PUT', path: '/bad-bucket/fetched', host: 'sh1a.localhost', headers: { 'x-qs-fetch-source': 'https://example.com/x' } });
  assertError(fetchSource, 405, 'method_not_allowed');
  const preflight = await raw(gw, { method: 'OPTIONS', path: '/bad-bucket/keep.txt', host: 'sh1a.localhost', as: null });
  assertError(preflight, 400, 'invalid_request');
  await assertKept();
});

test('the gateway logged no internal errors', () => {
  assertNoServerErrors(gw);
});
