// Authentication over raw HTTP against a real gateway: SigV4 headers and presigned URLs, SigV2,
// the errors clients see when signing goes wrong, and who may touch whose bucket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canonicalRequest, formatAmzDate, hmacHex, presignUrl, signingKey, stringToSign, UNSIGNED_PAYLOAD } from '../../packages/protocol-s3/src/auth/index.js';
import { ALICE_KEY, ROOT_KEY, startGateway, type TestGateway } from '../lib/gateway.js';
import { S3Http, assertNoServerErrors, expectError, sha256, v2Sign, type RawResponse } from '../lib/s3http.js';

const run = promisify(execFile);
const BUCKET = 'auth-root';
const ALICE_BUCKET = 'auth-alice';
const OBJ = 'docs/readme.txt';
const DATA = 'root owns this\n';
const MINUTE = 60_000;

let gw: TestGateway;
let c: S3Http;
let work: string;

before(async () => {
  gw = await startGateway();
  c = new S3Http(gw.endpoint);
  work = await mkdtemp(join(tmpdir(), 'auth-test-'));
  await c.createBucket(BUCKET);
  await c.createBucket(ALICE_BUCKET, ALICE_KEY);
  await c.put(BUCKET, OBJ, DATA);
});

after(async () => {
  await c.close();
  await rm(work, { recursive: true, force: true });
  await gw.stop();
});

function presigned(method: string, path: string, expires: number, date = new Date()): string {
  return presignUrl({ method, url: new URL(path, gw.endpoint), expires, credentials: ROOT_KEY, date });
}

/** Sends a request to a (presigned) URL as is, adding no signature of our own. */
function fetchUrl(url: string, method = 'GET', body?: Buffer): Promise<RawResponse> {
  const u = new URL(url);
  return c.raw(method, u.pathname + u.search, { host: c.host, ...(body ? { 'content-length': String(body.length) } : {}) }, body);
}

test('SigV4 header signatures are accepted whatever region the client signs for', async () => {
  for (const region of ['us-east-1', 'eu-central-1', 'pek3b', 'auto']) {
    const as = { ...ROOT_KEY, region };
    const put = await c.send({ method: 'PUT', path: `/${BUCKET}/region/${region}`, body: region, as });
    assert.equal(put.status, 200, `${region}: ${put.text}`);
    const got = await c.send({ path: `/${BUCKET}/region/${region}`, as });
    assert.equal(got.status, 200, `${region}: ${got.text}`);
    assert.equal(got.text, region);
  }
});

test('a wrong secret gives 403 SignatureDoesNotMatch with the texts to debug it, never a secret', async () => {
  const wrong = { accessKey: ROOT_KEY.accessKey, secretKey: 'not-the-right-secret-0001' };
  const res = await c.send({ path: `/${BUCKET}/${OBJ}`, as: wrong });
  const err = await expectError(res, 403, 'SignatureDoesNotMatch');
  assert.equal(err.AWSAccessKeyId, ROOT_KEY.accessKey);
  assert.match(err.CanonicalRequest, new RegExp(`^GET\n/${BUCKET}/docs/readme.txt\n\n`));
  const stsLines = err.StringToSign.split('\n');
  assert.equal(stsLines[0], 'AWS4-HMAC-SHA256');
  assert.equal(stsLines[3], sha256(err.CanonicalRequest), 'StringToSign hashes the CanonicalRequest it reports');
  assert.ok(!res.text.includes(wrong.secretKey) && !res.text.includes(ROOT_KEY.secretKey), 'the error leaks a secret');
});

test('an unknown access key gives 403 InvalidAccessKeyId', async () => {
  const res = await c.send({ path: `/${BUCKET}/${OBJ}`, as: { accessKey: 'NOSUCHACCESSKEY00001', secretKey: 'whatever' } });
  const err = await expectError(res, 403, 'InvalidAccessKeyId');
  assert.equal(err.AWSAccessKeyId, 'NOSUCHACCESSKEY00001');
});

test('x-amz-date 20 minutes off (either way) gives 403 RequestTimeTooSkewed', async () => {
  for (const offset of [-20 * MINUTE, 20 * MINUTE]) {
    const res = await c.send({ path: `/${BUCKET}/${OBJ}`, date: new Date(Date.now() + offset) });
    const err = await expectError(res, 403, 'RequestTimeTooSkewed');
    assert.equal(err.MaxAllowedSkewMilliseconds, '900000');
  }
  // Within the allowance the same request works.
  assert.equal((await c.send({ path: `/${BUCKET}/${OBJ}`, date: new Date(Date.now() - 10 * MINUTE) })).status, 200);
});

test('a SigV4 request without x-amz-content-sha256 gives 400 InvalidRequest', async () => {
  // Signed as a generic SigV4 signer (for other AWS services) would: host and x-amz-date only.
  const amzDate = formatAmzDate(new Date());
  const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const body = 'no content sha';
  const cr = canonicalRequest('PUT', `/${BUCKET}/nosha`, '', `host:${c.host}\nx-amz-date:${amzDate}\n`, 'host;x-amz-date', sha256(body));
  const sig = hmacHex(signingKey(ROOT_KEY.secretKey, amzDate.slice(0, 8), 'us-east-1', 's3'), stringToSign(amzDate, scope, cr));
  const res = await c.raw('PUT', `/${BUCKET}/nosha`, {
    host: c.host, 'x-amz-date': amzDate, 'content-length': String(body.length),
    authorization: `AWS4-HMAC-SHA256 Credential=${ROOT_KEY.accessKey}/${scope}, SignedHeaders=host;x-amz-date, Signature=${sig}`,
  }, Buffer.from(body));
  const err = await expectError(res, 400, 'InvalidRequest');
  assert.match(err.Message, /x-amz-content-sha256/);
  await c.assertMissing(BUCKET, 'nosha');
});

test('a body that differs from the signed x-amz-content-sha256 gives 400 XAmzContentSHA256Mismatch and stores nothing', async () => {
  const signedFor = sha256('the body that was signed');
  const fresh = await c.send({ method: 'PUT', path: `/${BUCKET}/mismatch-new`, body: 'a different body of bytes', payload: signedFor });
  const err = await expectError(fresh, 400, 'XAmzContentSHA256Mismatch');
  assert.equal(err.ClientComputedContentSHA256, signedFor);
  assert.equal(err.S3ComputedContentSHA256, sha256('a different body of bytes'));
  await c.assertMissing(BUCKET, 'mismatch-new');

  const over = await c.send({ method: 'PUT', path: `/${BUCKET}/${OBJ}`, body: 'overwrite attempt', payload: signedFor });
  await expectError(over, 400, 'XAmzContentSHA256Mismatch');
  await c.assertObject(BUCKET, OBJ, DATA);
  assert.deepEqual((await c.keys(BUCKET)).filter((k) => k.startsWith('mismatch')), []);
});

test('UNSIGNED-PAYLOAD is accepted', async () => {
  const res = await c.send({ method: 'PUT', path: `/${BUCKET}/unsigned`, body: 'unsigned body', payload: UNSIGNED_PAYLOAD });
  assert.equal(res.status, 200, res.text);
  await c.assertObject(BUCKET, 'unsigned', 'unsigned body');
});

test('presigned GET and PUT work with curl', async () => {
  const file = join(work, 'upload.bin');
  const data = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
  await writeFile(file, data);
  const putUrl = presigned('PUT', `/${BUCKET}/curl/up.bin`, 300);
  const put = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-T', file, putUrl]);
  assert.equal(put.stdout, '200');
  const out = join(work, 'down.bin');
  const get = await run('curl', ['-sS', '-o', out, '-w', '%{http_code}', presigned('GET', `/${BUCKET}/curl/up.bin`, 300)]);
  assert.equal(get.stdout, '200');
  assert.ok((await readFile(out)).equals(data), 'curl downloaded other bytes than it uploaded');
});

test('curl --aws-sigv4 with raw UTF-8 metadata (signed over the bytes it sends) is accepted and the bytes come back', async () => {
  const file = join(work, 'utf8.txt');
  await writeFile(file, 'grüezi\n');
  const url = `${gw.endpoint}/${BUCKET}/curl/utf8.txt`;
  const sig = ['--aws-sigv4', 'aws:amz:us-east-1:s3', '--user', `${ROOT_KEY.accessKey}:${ROOT_KEY.secretKey}`];
  const put = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', ...sig, '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', '-H', 'x-amz-meta-city: Zürich', '-T', file, url]);
  assert.equal(put.stdout, '200');
  const head = await run('curl', ['-sS', '-I', ...sig, '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', url], { encoding: 'buffer' });
  assert.match(head.stdout.toString('utf8'), /^HTTP\/1\.1 200/);
  assert.match(head.stdout.toString('utf8'), /\r\nx-amz-meta-city: Zürich\r\n/i);
  const wrong = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--aws-sigv4', 'aws:amz:us-east-1:s3', '--user', `${ROOT_KEY.accessKey}:wrong`, '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', '-H', 'x-amz-meta-city: Zürich', '-T', file, `${url}.2`]);
  assert.equal(wrong.stdout, '403');
});

test('an expired presigned URL gives 403 AccessDenied "Request has expired"', async () => {
  const res = await fetchUrl(presigned('GET', `/${BUCKET}/${OBJ}`, 60, new Date(Date.now() - 120 * MINUTE)));
  const err = await expectError(res, 403, 'AccessDenied');
  assert.equal(err.Message, 'Request has expired');
  assert.equal(err['X-Amz-Expires'], '60');
});

test('X-Amz-Expires above a week gives 400 AuthorizationQueryParametersError', async () => {
  await expectError(await fetchUrl(presigned('GET', `/${BUCKET}/${OBJ}`, 604801)), 400, 'AuthorizationQueryParametersError');
  const week = await fetchUrl(presigned('GET', `/${BUCKET}/${OBJ}`, 604800));
  assert.equal(week.status, 200, week.text);
});

test('a presigned URL signed 20 minutes ago with a 1-hour expiry still works (no skew check)', async () => {
  const res = await fetchUrl(presigned('GET', `/${BUCKET}/${OBJ}`, 3600, new Date(Date.now() - 20 * MINUTE)));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.text, DATA);
});

test('a tampered presigned URL gives 403 and a tampered PUT stores nothing', async () => {
  const url = presigned('GET', `/${BUCKET}/${OBJ}`, 300);
  const tampered = [
    url.replace('X-Amz-Expires=300', 'X-Amz-Expires=3000'),
    url.replace(`/${OBJ}`, '/docs/other.txt'),
    `${url}&response-content-type=text%2Fhtml`,
    url.replace(/X-Amz-Signature=([0-9a-f])/, (_, d: string) => `X-Amz-Signature=${d === '0' ? '1' : '0'}`),
  ];
  for (const u of tampered) {
    assert.notEqual(u, url);
    await expectError(await fetchUrl(u), 403, 'SignatureDoesNotMatch');
  }
  const put = presigned('PUT', `/${BUCKET}/presigned-put`, 300).replace('/presigned-put', '/presigned-evil');
  await expectError(await fetchUrl(put, 'PUT', Buffer.from('evil')), 403, 'SignatureDoesNotMatch');
  await c.assertMissing(BUCKET, 'presigned-evil');
});

test('anonymous requests to a private bucket give 403 AccessDenied', async () => {
  await expectError(await c.send({ path: `/${BUCKET}`, as: null }), 403, 'AccessDenied');
  await expectError(await c.send({ path: `/${BUCKET}/${OBJ}`, as: null }), 403, 'AccessDenied');
  await expectError(await c.send({ path: '/', as: null }), 403, 'AccessDenied');
  await expectError(await c.send({ method: 'PUT', path: `/${BUCKET}/anon`, body: 'x', as: null }), 403, 'AccessDenied');
  await expectError(await c.send({ method: 'DELETE', path: `/${BUCKET}/${OBJ}`, as: null }), 403, 'AccessDenied');
  await c.assertMissing(BUCKET, 'anon');
  await c.assertObject(BUCKET, OBJ, DATA);
});

test("alice cannot read, write, list or delete root's bucket, and each sees only their own buckets", async () => {
  const as = ALICE_KEY;
  await expectError(await c.send({ path: `/${BUCKET}/${OBJ}`, as }), 403, 'AccessDenied');
  await expectError(await c.send({ path: `/${BUCKET}?list-type=2`, as }), 403, 'AccessDenied');
  await expectError(await c.send({ method: 'PUT', path: `/${BUCKET}/from-alice`, body: 'alice', as }), 403, 'AccessDenied');
  await expectError(await c.send({ method: 'PUT', path: `/${BUCKET}/${OBJ}`, body: 'alice overwrite', as }), 403, 'AccessDenied');
  await expectError(await c.send({ method: 'DELETE', path: `/${BUCKET}/${OBJ}`, as }), 403, 'AccessDenied');
  await expectError(await c.send({ method: 'DELETE', path: `/${BUCKET}`, as }), 403, 'AccessDenied');
  const head = await c.send({ method: 'HEAD', path: `/${BUCKET}/${OBJ}`, as });
  assert.equal(head.status, 403);
  assert.equal(head.body.length, 0, 'HEAD errors have no body');
  await c.assertObject(BUCKET, OBJ, DATA);
  await c.assertMissing(BUCKET, 'from-alice');

  assert.ok(!(await c.bucketNames(ROOT_KEY)).includes(ALICE_BUCKET), "root sees alice's bucket");
  assert.ok((await c.bucketNames(ROOT_KEY)).includes(BUCKET));
  assert.deepEqual(await c.bucketNames(ALICE_KEY), [ALICE_BUCKET]);
});

test('SigV2 Authorization header (AWS key:signature) works for GET and PUT', async () => {
  const date = new Date().toUTCString();
  const sts = `PUT\n\ntext/plain\n${date}\n/${BUCKET}/v2/header.txt`;
  const put = await c.raw('PUT', `/${BUCKET}/v2/header.txt`, {
    host: c.host, date, 'content-type': 'text/plain', 'content-length': '7',
    authorization: `AWS ${ROOT_KEY.accessKey}:${v2Sign(ROOT_KEY.secretKey, sts)}`,
  }, Buffer.from('v2 body'));
  assert.equal(put.status, 200, put.text);
  const get = await c.raw('GET', `/${BUCKET}/v2/header.txt`, {
    host: c.host, date, authorization: `AWS ${ROOT_KEY.accessKey}:${v2Sign(ROOT_KEY.secretKey, `GET\n\n\n${date}\n/${BUCKET}/v2/header.txt`)}`,
  });
  assert.equal(get.status, 200, get.text);
  assert.equal(get.text, 'v2 body');
  const bad = await c.raw('GET', `/${BUCKET}/v2/header.txt`, { host: c.host, date, authorization: `AWS ${ROOT_KEY.accessKey}:${v2Sign('wrong', `GET\n\n\n${date}\n/${BUCKET}/v2/header.txt`)}` });
  const err = await expectError(bad, 403, 'SignatureDoesNotMatch');
  assert.equal(err.StringToSign, `GET\n\n\n${date}\n/${BUCKET}/v2/header.txt`);
});

test('SigV2 presigned query (AWSAccessKeyId, Expires, Signature) works and expires', async () => {
  const url = (expires: number, secret = ROOT_KEY.secretKey) => {
    const sig = v2Sign(secret, `GET\n\n\n${expires}\n/${BUCKET}/${OBJ}`);
    return `/${BUCKET}/${OBJ}?AWSAccessKeyId=${ROOT_KEY.accessKey}&Expires=${expires}&Signature=${encodeURIComponent(sig)}`;
  };
  const now = Math.floor(Date.now() / 1000);
  const ok = await c.raw('GET', url(now + 300), { host: c.host });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.text, DATA);
  const expired = await expectError(await c.raw('GET', url(now - 60), { host: c.host }), 403, 'AccessDenied');
  assert.equal(expired.Message, 'Request has expired');
  await expectError(await c.raw('GET', url(now + 300, 'wrong'), { host: c.host }), 403, 'SignatureDoesNotMatch');
});

test('the gateway logged no internal errors', () => {
  assertNoServerErrors(gw);
});
