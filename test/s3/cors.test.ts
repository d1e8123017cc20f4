// Bucket CORS through S3: PutBucketCors/GetBucketCors/DeleteBucketCors (AWS SDK for JavaScript v3),
// browser preflights (OPTIONS) and the headers of cross-origin requests (plain HTTP).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { S3Client, S3ServiceException, CreateBucketCommand, DeleteBucketCorsCommand, GetBucketCorsCommand, PutBucketCorsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3Client } from '../lib/sdk.js';
import { startGateway, ALICE_KEY, ROOT_KEY, type TestGateway } from '../lib/gateway.js';
import { S3Http, assertError } from '../lib/s3http.js';


let gw: TestGateway;
let s3: S3Client;
let raw: S3Http;
const client = (key: typeof ROOT_KEY) => s3Client(gw.endpoint, key);
const preflight = (path: string, origin: string, method: string, headers?: string) =>
  fetch(`${gw.endpoint}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, ...(headers ? { 'access-control-request-headers': headers } : {}) } });
const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) return `${e.$metadata.httpStatusCode} ${e.name}`;
    throw e;
  }
  throw new Error('expected a failure');
};

before(async () => {
  gw = await startGateway();
  s3 = client(ROOT_KEY);
  raw = new S3Http(gw.endpoint);
  await s3.send(new CreateBucketCommand({ Bucket: 'cors' }));
  await s3.send(new PutObjectCommand({ Bucket: 'cors', Key: 'page.html', Body: '<p>hi</p>' }));
});

after(async () => {
  s3?.destroy();
  await raw?.close();
  await gw?.stop();
});

test('no rules: GetBucketCors is NoSuchCORSConfiguration and preflights are refused', async () => {
  assert.equal(await failure(s3.send(new GetBucketCorsCommand({ Bucket: 'cors' }))), '404 NoSuchCORSConfiguration');
  const res = await preflight('/cors/page.html', 'https://app.example.com', 'GET');
  assert.equal(res.status, 403);
  assert.match(await res.text(), /<Code>AccessForbidden<\/Code>/);
  assert.equal(res.headers.get('access-control-allow-origin'), null);
});

test('rules round-trip and answer preflights and cross-origin requests; delete removes them', async () => {
  await s3.send(new PutBucketCorsCommand({
    Bucket: 'cors',
    CORSConfiguration: {
      CORSRules: [
        { ID: 'app', AllowedOrigins: ['https://*.example.com'], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['x-amz-*', 'content-type'], ExposeHeaders: ['ETag'], MaxAgeSeconds: 600 },
        { AllowedOrigins: ['*'], AllowedMethods: ['HEAD'] },
      ],
    },
  }));
  const got = await s3.send(new GetBucketCorsCommand({ Bucket: 'cors' }));
  assert.deepEqual(got.CORSRules?.map((r) => [r.ID, r.AllowedOrigins, r.AllowedMethods, r.AllowedHeaders ?? [], r.ExposeHeaders ?? [], r.MaxAgeSeconds]), [
    ['app', ['https://*.example.com'], ['GET', 'PUT'], ['x-amz-*', 'content-type'], ['ETag'], 600],
    [undefined, ['*'], ['HEAD'], [], [], undefined],
  ]);

  const ok = await preflight('/cors/page.html', 'https://app.example.com', 'PUT', 'Content-Type, X-Amz-Date');
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example.com');
  assert.equal(ok.headers.get('access-control-allow-methods'), 'GET, PUT');
  assert.equal(ok.headers.get('access-control-allow-headers'), 'content-type, x-amz-date');
  assert.equal(ok.headers.get('access-control-expose-headers'), 'ETag');
  assert.equal(ok.headers.get('access-control-max-age'), '600');
  const wildcard = await preflight('/cors', 'http://anywhere.test', 'HEAD');
  assert.equal(wildcard.status, 200);
  assert.equal(wildcard.headers.get('access-control-allow-origin'), '*');

  for (const [origin, method, headers] of [['https://evil.test', 'GET', undefined], ['https://app.example.com', 'DELETE', undefined], ['https://app.example.com', 'GET', 'x-custom']] as const) {
    const res = await preflight('/cors/page.html', origin, method, headers);
    assert.equal(res.status, 403, `${origin} ${method} ${headers}`);
  }

  // A public bucket read from a page of an allowed origin carries the grant.
  const get = await raw.send({ path: '/cors/page.html', headers: { origin: 'https://www.example.com' } });
  assert.equal(get.status, 200);
  assert.equal(get.text, '<p>hi</p>');
  assert.equal(get.headers['access-control-allow-origin'], 'https://www.example.com');
  assert.equal(get.headers['access-control-expose-headers'], 'ETag');
  const other = await raw.send({ path: '/cors/page.html', headers: { origin: 'https://evil.test' } });
  assert.equal(other.status, 200);
  assert.equal(other.headers['access-control-allow-origin'], undefined);

  await s3.send(new DeleteBucketCorsCommand({ Bucket: 'cors' }));
  assert.equal(await failure(s3.send(new GetBucketCorsCommand({ Bucket: 'cors' }))), '404 NoSuchCORSConfiguration');
  assert.equal((await preflight('/cors/page.html', 'https://app.example.com', 'GET')).status, 403);
});

test('bad CORS configurations and callers get S3 errors and change nothing', async () => {
  await s3.send(new PutBucketCorsCommand({ Bucket: 'cors', CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['https://ok.test'], AllowedMethods: ['GET'] }] } }));
  const put = (body: string, as = ROOT_KEY) => raw.send({ method: 'PUT', path: '/cors', query: { cors: '' }, body, as });
  assertError(await put('<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>'), 400, 'InvalidRequest');
  assertError(await put('<CORSConfiguration></CORSConfiguration>'), 400, 'MalformedXML');
  assertError(await put('<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>'), 400, 'MalformedXML');
  assertError(await put('<CORSConfiguration><CORSRule>'), 400, 'MalformedXML');
  assertError(await put('<CORSConfiguration><CORSRule><AllowedOrigin>*.*.test</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>'), 400, 'InvalidRequest');
  assertError(await put('<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>', ALICE_KEY), 403, 'AccessDenied');
  assertError(await raw.send({ path: '/cors', query: { cors: '' }, as: ALICE_KEY }), 403, 'AccessDenied');
  assertError(await raw.send({ method: 'OPTIONS', path: '/cors/page.html', as: null, headers: { origin: 'https://ok.test' } }), 400, 'InvalidRequest');
  assertError(await raw.send({ method: 'OPTIONS', path: '/no-such-bucket/x', as: null, headers: { origin: 'https://ok.test', 'access-control-request-method': 'GET' } }), 404, 'NoSuchBucket');
  const kept = await s3.send(new GetBucketCorsCommand({ Bucket: 'cors' }));
  assert.deepEqual(kept.CORSRules?.map((r) => [r.AllowedOrigins, r.AllowedMethods]), [[['https://ok.test'], ['GET']]]);
});
