// QingStor signatures: the reference's worked examples (made by the Python SDK) and the npm qingstor-sdk's own signer.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { UserDirectory } from '@twinport/core';
import {
  authorizationHeader,
  canonicalizedHeaders,
  canonicalizedResource,
  computeSignature,
  signedQuery,
  stringToSign,
  verifyRequest,
} from '../../packages/protocol-qingstor/src/auth/index.js';
import { encodePath } from '../../packages/protocol-qingstor/src/url.js';

const AK = 'EXAMPLEACCESSKEYID00';
const SK = 'EXAMPLESECRETACCESSKEY0000000000000000000';
const DATE = 'Mon, 14 Nov 2016 14:05:00 GMT';
const T = Date.parse(DATE);
const users = new UserDirectory([{ name: 'example', accessKey: AK, secretKey: SK }]);
const lookup = (k: string) => users.find(k);
const creds = { accessKey: AK, secretKey: SK };

// The SDK writes a default config file on first use; keep it out of the home directory.
const configDir = mkdtempSync(join(tmpdir(), 'qs-sdk-'));
process.env.QINGSTOR_CONFIG_PATH = join(configDir, 'config.yaml');
after(() => rmSync(configDir, { recursive: true, force: true }));
const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const sdk: any = require('qingstor-sdk');

describe('worked examples (Python SDK, Date pinned)', () => {
  test('a) put_object with x-qs-meta and a space in the key', () => {
    const headers = { Host: 'pek3a.qingstor.com', 'Content-Type': 'image/jpeg', 'X-QS-Meta-Color': 'red', 'Content-Length': '5', Date: DATE };
    const url = `/mybucket/${encodePath('photos/my cat.jpg')}`;
    assert.equal(url, '/mybucket/photos/my%20cat.jpg');
    const sts = stringToSign({ method: 'PUT', contentType: 'image/jpeg', date: DATE, canonicalHeaders: canonicalizedHeaders(headers), resource: canonicalizedResource(url, '') });
    assert.equal(sts, 'PUT\n\nimage/jpeg\nMon, 14 Nov 2016 14:05:00 GMT\nx-qs-meta-color:red\n/mybucket/photos/my%20cat.jpg');
    const auth = authorizationHeader({ method: 'PUT', url, headers, ...creds });
    assert.equal(auth, 'QS EXAMPLEACCESSKEYID00:Zy5Fqbki7X6ckCfB9pHEGSgf/BhkDiE/r4QNltaV1PE=');
    assert.equal(verifyRequest({ method: 'PUT', url, headers: { ...headers, Authorization: auth } }, lookup, T)?.name, 'example');
  });

  test('b) presigned GET', () => {
    const q = signedQuery({ method: 'GET', url: '/mybucket/photos/my%20cat.jpg', headers: {}, expires: 1479107162, ...creds });
    assert.equal(q, 'signature=4dSiwUmvYGsB0/LXOVTPocBt46B%2BCEnIWX1Q/oOITyU%3D&access_key_id=EXAMPLEACCESSKEYID00&expires=1479107162');
    const url = `/mybucket/photos/my%20cat.jpg?${q}`;
    assert.equal(verifyRequest({ method: 'GET', url, headers: { host: 'pek3a.qingstor.com' } }, lookup, 1479107162 * 1000 - 1000)?.name, 'example');
  });

  test('c) upload_multipart signs part_number and upload_id', () => {
    const url = '/mybucket/big.bin?part_number=1&upload_id=4f1a2b';
    const headers = { 'Content-Type': 'application/octet-stream', Date: DATE, 'Content-Length': '1' };
    const resource = canonicalizedResource('/mybucket/big.bin', 'part_number=1&upload_id=4f1a2b');
    assert.equal(stringToSign({ method: 'PUT', contentType: 'application/octet-stream', date: DATE, canonicalHeaders: '', resource }), 'PUT\n\napplication/octet-stream\nMon, 14 Nov 2016 14:05:00 GMT\n/mybucket/big.bin?part_number=1&upload_id=4f1a2b');
    assert.equal(authorizationHeader({ method: 'PUT', url, headers, ...creds }), 'QS EXAMPLEACCESSKEYID00:Hc0/1Zi6taXWjVdMRCEAaGA3igIgndpoykKu3FOmgow=');
  });

  test('d) copy signs x-qs-copy-source as sent (still encoded)', () => {
    const headers = { 'Content-Type': 'image/jpeg', Date: DATE, 'X-QS-Copy-Source': '/mybucket/photos/my%20cat.jpg' };
    assert.equal(canonicalizedHeaders(headers), 'x-qs-copy-source:/mybucket/photos/my%20cat.jpg\n');
    assert.equal(authorizationHeader({ method: 'PUT', url: '/mybucket/copy.jpg', headers, ...creds }), 'QS EXAMPLEACCESSKEYID00:dhi8/8Fp8EBltq72Oi1jrmOKEH5B8PMuEUDgYg1jzss=');
  });

  test('e) virtual-host list_objects signs /bucket/ and no listing parameters', () => {
    const url = '/?delimiter=/&limit=2&prefix=photos/';
    assert.equal(canonicalizedResource('/', 'delimiter=/&limit=2&prefix=photos/', { vhostBucket: 'mybucket' }), '/mybucket/');
    const headers = { Host: 'mybucket.pek3a.qingstor.com', 'Content-Type': 'application/octet-stream', Date: DATE };
    const auth = authorizationHeader({ method: 'GET', url, headers, vhostBucket: 'mybucket', ...creds });
    assert.equal(auth, 'QS EXAMPLEACCESSKEYID00:t5ouyVGZ07hFJes3Yng10omEzySDdysdRZuerqMVBKw=');
    assert.ok(verifyRequest({ method: 'GET', url, headers: { ...headers, authorization: auth }, vhostBucket: 'mybucket' }, lookup, T));
  });

  test('f) delete_multiple_objects signs Content-MD5 and ?delete', () => {
    const headers = { 'Content-MD5': 'hz9Eu1CS2k7MNONiHOuucQ==', 'Content-Type': 'application/json', Date: DATE };
    const sts = stringToSign({ method: 'POST', contentMd5: headers['Content-MD5'], contentType: 'application/json', date: DATE, canonicalHeaders: canonicalizedHeaders(headers), resource: canonicalizedResource('/mybucket', 'delete') });
    assert.equal(sts, `POST\nhz9Eu1CS2k7MNONiHOuucQ==\napplication/json\n${DATE}\n/mybucket?delete`);
    assert.equal(authorizationHeader({ method: 'POST', url: '/mybucket?delete', headers, ...creds }), `QS ${AK}:${computeSignature(SK, sts)}`);
  });
});

describe('canonicalization rules', () => {
  test('sub-resources are kept raw and sorted; other parameters are left out', () => {
    assert.equal(
      canonicalizedResource('/b/k', 'upload_id=u%2B1&limit=5&part_number=3&response-content-type=text%2Fplain&marker=x'),
      '/b/k?part_number=3&response-content-type=text%2Fplain&upload_id=u%2B1',
    );
    assert.equal(canonicalizedResource('/b/k', 'response-content-type=text%2Fplain', { decodeValues: true }), '/b/k?response-content-type=text/plain');
    assert.equal(canonicalizedResource('/b', 'acl&'), '/b?acl');
    assert.equal(canonicalizedResource('/b/k', 'append&position=10'), '/b/k?append&position=10');
  });

  test('x-qs headers: lowercased, trimmed, sorted; x-qs-date empties the date line', () => {
    const h = { 'X-QS-Meta-B': ' 2 ', 'x-qs-meta-a': '1', 'X-QS-Date': DATE, 'Content-Type': 'a/b', 'x-amz-meta-c': '3' };
    assert.equal(canonicalizedHeaders(h), `x-qs-date:${DATE}\nx-qs-meta-a:1\nx-qs-meta-b:2\n`);
    const withDate = authorizationHeader({ method: 'GET', url: '/b', headers: { ...h, Date: 'Tue, 15 Nov 2016 00:00:00 GMT' }, ...creds });
    const without = authorizationHeader({ method: 'GET', url: '/b', headers: h, ...creds });
    assert.equal(withDate, without);
  });

  test('encodePath percent-encodes like Python quote(safe="/")', () => {
    assert.equal(encodePath("a b/c+d=e!'()*~._-"), 'a%20b/c%2Bd%3De%21%27%28%29%2A~._-');
    assert.equal(encodePath('中文/é'), '%E4%B8%AD%E6%96%87/%C3%A9');
  });
});

/** The request-target an operation the SDK built goes out with: its URI without the endpoint. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function target(op: any): string {
  const uri: string = op.uri;
  assert.ok(uri.startsWith(op.endpoint));
  const rest = uri.slice(op.endpoint.length);
  // Virtual-host bucket operations have no path (`http://b.zone.host:port?acl&`); HTTP sends `/`.
  return rest.startsWith('/') ? rest : `/${rest}`;
}

describe('npm qingstor-sdk signer', () => {
  const config = new sdk.Config({ access_key_id: AK, secret_access_key: SK, endpoint: 'http://127.0.0.1:9001', log_level: 'error' });
  const bucket = new sdk.QingStor(config).Bucket('mybucket', 'pek3a');

  /** Signs a built SDK request and returns what our verifier and our signer make of it. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function check(req: any, extraHeaders: Record<string, string> = {}): Promise<{ sdkAuth: string; ours: string; url: string }> {
    Object.assign(req.operation.headers, extraHeaders);
    await req.sign();
    const op = req.operation;
    const url = target(op);
    const user = verifyRequest({ method: op.method, url, headers: op.headers }, lookup);
    assert.equal(user?.accessKey, AK, `verifier rejected ${op.method} ${url}`);
    const { authorization, ...unsigned } = op.headers;
    return { sdkAuth: authorization, ours: authorizationHeader({ method: op.method, url, headers: unsigned, ...creds }), url };
  }

  const same: Array<[string, () => unknown, Record<string, string>?]> = [
    ['put object, unicode key with slashes', () => bucket.putObjectRequest('中文/测试 ✓.txt', { body: 'hello', 'content-type': 'text/plain' })],
    ['put object with x-qs-meta-* headers', () => bucket.putObjectRequest('photos/my cat.jpg', { body: 'x', 'content-type': 'image/jpeg' }), { 'x-qs-meta-color': 'red', 'x-qs-meta-size': ' big ' }],
    ['put bucket ACL (?acl)', () => bucket.putACLRequest({ acl: [{ grantee: { type: 'group', name: 'QS_ALL_USERS' }, permission: 'READ' }] })],
    ['initiate multipart (?uploads)', () => bucket.initiateMultipartUploadRequest('big.bin', { 'content-type': 'application/octet-stream' })],
    ['upload part 0', () => bucket.uploadMultipartRequest('big.bin', { part_number: '0', upload_id: '4f1a2b', body: 'x' })],
    ['complete multipart', () => bucket.completeMultipartUploadRequest('big.bin', { upload_id: '4f1a2b', object_parts: [{ part_number: 0 }] })],
    ['abort multipart', () => bucket.abortMultipartUploadRequest('big.bin', { upload_id: '4f1a2b' })],
    ['list objects (unsigned params)', () => bucket.listObjectsRequest({ prefix: 'a b/', delimiter: '/', limit: 10 })],
    ['delete multiple (?delete, Content-MD5)', () => bucket.deleteMultipleObjectsRequest({ objects: [{ key: 'a' }, { key: 'b c' }] })],
    ['copy (x-qs-copy-source)', () => bucket.putObjectRequest('copy.jpg', { 'x-qs-copy-source': '/mybucket/photos/my cat.jpg' })],
    ['key with !\'()* and %', () => bucket.getObjectRequest("x!'()*%41.txt")],
    ['bucket statistics (?stats)', () => bucket.getStatisticsRequest()],
  ];
  for (const [name, build, extra] of same) {
    test(`${name}: same signature as the SDK, accepted`, async () => {
      const { sdkAuth, ours } = await check(build(), extra);
      assert.match(sdkAuth, /^QS EXAMPLEACCESSKEYID00:[A-Za-z0-9+/]{43}=$/);
      assert.equal(ours, sdkAuth);
    });
  }

  test('response-content-type: the SDK signs the decoded value, the verifier still accepts it', async () => {
    const { sdkAuth, ours, url } = await check(bucket.getObjectRequest('a.txt', { 'response-content-type': 'text/plain; charset=utf-8' }));
    assert.match(url, /response-content-type=text%2Fplain%3B%20charset%3Dutf-8/);
    assert.notEqual(ours, sdkAuth);
  });

  test('append: the SDK leaves position unsigned, the verifier still accepts it', async () => {
    const { url } = await check(bucket.appendObjectRequest('log.txt', { position: '5', body: 'abc' }));
    assert.match(url, /\?append&position=5$/);
  });

  test('virtual-host style: bucket ops sign /bucket?acl while the path is /', async () => {
    const vconfig = new sdk.Config({ access_key_id: AK, secret_access_key: SK, endpoint: 'http://127.0.0.1:9001', enable_virtual_host_style: true, log_level: 'error' });
    const vbucket = new sdk.QingStor(vconfig).Bucket('mybucket', 'pek3a');
    for (const req of [vbucket.getACLRequest(), vbucket.listObjectsRequest({ limit: 1 }), vbucket.getObjectRequest('k 1')]) {
      await req.sign();
      const op = req.operation;
      const url = target(op);
      assert.ok(!url.startsWith('/mybucket'));
      assert.equal(verifyRequest({ method: op.method, url, headers: op.headers, vhostBucket: 'mybucket' }, lookup)?.accessKey, AK, url);
    }
  });

  test('query signature equals ours and is accepted until it expires', async () => {
    const req = await bucket.getObjectRequest('photos/my cat.jpg').signQuery(600);
    const url = target(req.operation);
    const params = new URLSearchParams(url.slice(url.indexOf('?') + 1));
    const expires = Number(params.get('expires'));
    const ours = signedQuery({ method: 'GET', url: url.slice(0, url.indexOf('?')), headers: {}, expires, ...creds });
    assert.equal(new URLSearchParams(ours).get('signature'), params.get('signature'));
    assert.equal(verifyRequest({ method: 'GET', url, headers: {} }, lookup)?.accessKey, AK);
    assert.throws(() => verifyRequest({ method: 'GET', url, headers: {} }, lookup, (expires + 1) * 1000), { code: 'RequestTimeTooSkewed' });
  });

  test('Signer class on a hand-made operation: same Authorization', () => {
    const op = {
      method: 'PUT',
      path: '/mybucket/dir%2Fobj',
      params: { part_number: '2', upload_id: 'abc', limit: '5' },
      headers: { 'content-type': 'text/plain', 'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==', 'x-qs-date': DATE, 'x-qs-storage-class': 'STANDARD_IA', 'x-qs-meta-k': 'v' },
    };
    const signed = new sdk.Signer(AK, SK).sign({ ...op, headers: { ...op.headers } });
    const ours = authorizationHeader({ method: 'PUT', url: '/mybucket/dir%2Fobj?limit=5&part_number=2&upload_id=abc', headers: op.headers, ...creds });
    assert.equal(ours, signed.headers.authorization);
  });
});
