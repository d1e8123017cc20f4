// Parameters past what any stored name can be, and values no header can carry: each gets S3's
// answer (an exact listing, NoSuchUpload, a 400), never a 500.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startGateway, type TestGateway } from '../lib/gateway.js';
import { raw } from '../lib/qingstor.js';
import { assertNoServerErrors, expectError, md5b64, parseXml, S3Http, texts } from '../lib/s3http.js';

let gw: TestGateway;
let s3: S3Http;

/** Keys around a 1024-byte key: a marker longer than any key must fall among them exactly. */
const LONGEST = 'z'.repeat(1024);
const KEYS = ['a', 'y', 'z'.repeat(1023), LONGEST, `${'z'.repeat(1022)}é`, 'zzz€', '€'];

before(async () => {
  gw = await startGateway();
  s3 = new S3Http(gw.endpoint);
  await s3.createBucket('limits');
  for (const key of KEYS) await s3.put('limits', encodeURIComponent(key), key.slice(0, 8));
});
after(async () => {
  await s3?.close();
  await gw?.stop();
});

/** Sends `request` on a new connection and resolves to every byte of the answer (the server closes). */
function readWire(port: number, request: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    const got: Buffer[] = [];
    socket.on('data', (c: Buffer) => got.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(got)));
  });
}

/** Every key a listing query returns, in order. */
async function listed(query: string): Promise<string[]> {
  const res = await s3.send({ path: `/limits?${query}` });
  assert.equal(res.status, 200, res.text);
  return texts(await parseXml(res.text), 'Contents', 'Key');
}

/** The stored keys that sort after `marker` in UTF-8 byte order. */
const after_ = (marker: string): string[] =>
  KEYS.filter((k) => Buffer.compare(Buffer.from(k), Buffer.from(marker)) > 0).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

test('a prefix longer than any key lists nothing (v1, v2, uploads)', async () => {
  const prefix = encodeURIComponent('z'.repeat(2000));
  assert.deepEqual(await listed(`prefix=${prefix}`), []);
  assert.deepEqual(await listed(`list-type=2&prefix=${prefix}`), []);
  const uploads = await s3.send({ path: `/limits?uploads&prefix=${prefix}` });
  assert.equal(uploads.status, 200, uploads.text);
  assert.deepEqual(texts(await parseXml(uploads.text), 'Upload', 'Key'), []);
  assertNoServerErrors(gw);
});

test('a marker or start-after longer than any key resumes exactly where S3 would', async () => {
  for (const marker of ['z'.repeat(5000), `${'z'.repeat(1023)}${'€'.repeat(50)}`, `${'z'.repeat(1022)}é${'z'.repeat(10)}`, 'a'.repeat(4100)]) {
    const m = encodeURIComponent(marker);
    const want = after_(marker);
    assert.deepEqual(await listed(`marker=${m}`), want, `marker of ${Buffer.byteLength(marker)} bytes`);
    assert.deepEqual(await listed(`list-type=2&start-after=${m}`), want);
    assert.deepEqual(await listed(`marker=${m}&delimiter=%2F`), want);
  }
  const uploads = await s3.send({ path: `/limits?uploads&key-marker=${encodeURIComponent('z'.repeat(5000))}` });
  assert.equal(uploads.status, 200, uploads.text);
  assertNoServerErrors(gw);
});

test('an upload id longer than any we hand out is NoSuchUpload for ListParts, UploadPart, Complete and Abort', async () => {
  const id = 'a'.repeat(5000);
  await expectError(await s3.send({ path: `/limits/k?uploadId=${id}` }), 404, 'NoSuchUpload');
  await expectError(await s3.send({ method: 'PUT', path: `/limits/k?partNumber=1&uploadId=${id}`, body: 'x' }), 404, 'NoSuchUpload');
  await expectError(await s3.send({ method: 'POST', path: `/limits/k?uploadId=${id}`, body: '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>' }), 404, 'NoSuchUpload');
  await expectError(await s3.send({ method: 'DELETE', path: `/limits/k?uploadId=${id}` }), 404, 'NoSuchUpload');
  assertNoServerErrors(gw);
});

test('QingStor: a marker longer than any key lists what S3 would; a long upload id is upload_not_exists', async () => {
  const res = await raw(gw, { path: `/limits?marker=${encodeURIComponent('z'.repeat(5000))}` });
  assert.equal(res.status, 200, res.body.toString());
  assert.deepEqual(res.json.keys.map((k: { key: string }) => k.key), after_('z'.repeat(5000)));
  const parts = await raw(gw, { path: `/limits/k?upload_id=${'a'.repeat(5000)}` });
  assert.equal(parts.status, 404, parts.body.toString());
  assert.equal(parts.json.code, 'upload_not_exists');
  assertNoServerErrors(gw);
});

test('response-* overrides: control characters are 400 InvalidArgument; others go out as UTF-8 (percent-encoded in Content-Disposition)', async () => {
  await expectError(await s3.send({ path: '/limits/a?response-content-disposition=a%0D%0ASet-Cookie%3A%20x' }), 400, 'InvalidArgument');
  await expectError(await s3.send({ path: '/limits/a?response-cache-control=a%00b' }), 400, 'InvalidArgument');
  // Read off the wire: Node's client decodes Content-Disposition differently from other headers.
  const query = `response-content-disposition=${encodeURIComponent('attachment; filename="€ naïve.txt"')}&response-content-type=${encodeURIComponent('text/plain; title=€ï')}&response-cache-control=${encodeURIComponent('max-age=1')}`;
  const url = new URL(s3.presign('GET', '/limits/a', query));
  const wire = (await readWire(gw.port, `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`)).toString('utf8');
  assert.match(wire, /^HTTP\/1\.1 200 /);
  const headers = Object.fromEntries(wire.split('\r\n\r\n')[0].split('\r\n').slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  assert.equal(headers['content-disposition'], 'attachment; filename="%E2%82%AC na%C3%AFve.txt"');
  assert.equal(headers['content-type'], 'text/plain; title=€ï');
  assert.equal(headers['cache-control'], 'max-age=1');
  const res = await s3.send({ path: `/limits/a?response-content-disposition=${encodeURIComponent('attachment')}&response-cache-control=${encodeURIComponent('max-age=1')}` });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers['cache-control'], 'max-age=1');
  assert.equal(res.headers['set-cookie'], undefined);
  assertNoServerErrors(gw);
});

test('CORS: an ExposeHeader that is not a header name is refused (both APIs), and the stored rules keep working', async () => {
  const good = '<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>x-amz-request-id</ExposeHeader></CORSRule></CORSConfiguration>';
  assert.equal((await s3.send({ method: 'PUT', path: '/limits?cors', body: good, headers: { 'content-md5': md5b64(good) } })).status, 200);
  for (const name of ['€', 'a&#13;&#10;b', 'a b', '']) {
    const bad = `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>${name}</ExposeHeader></CORSRule></CORSConfiguration>`;
    const res = await s3.send({ method: 'PUT', path: '/limits?cors', body: bad, headers: { 'content-md5': md5b64(bad) } });
    assert.equal(res.status, 400, `${name}: ${res.text}`);
  }
  const qsBody = JSON.stringify({ cors_rules: [{ allowed_origin: '*', allowed_methods: ['GET'], expose_headers: ['a\r\nb'] }] });
  const qs = await raw(gw, { method: 'PUT', path: '/limits?cors', body: qsBody, headers: { 'content-type': 'application/json' } });
  assert.equal(qs.status, 400, qs.body.toString());
  const got = await s3.send({ path: '/limits/a', headers: { origin: 'http://example.com' } });
  assert.equal(got.status, 200, got.text);
  assert.equal(got.headers['access-control-expose-headers'], 'x-amz-request-id');
  const rules = await s3.send({ path: '/limits?cors' });
  assert.deepEqual(texts(await parseXml(rules.text), 'CORSRule', 'ExposeHeader'), ['x-amz-request-id']);
  assertNoServerErrors(gw);
});
