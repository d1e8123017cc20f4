// QingStor request verification: what the npm qingstor-sdk sends over the wire is accepted (zone and
// virtual-host Hosts included), and tampered, stale, expired or unknown-key requests get QingStor's codes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isGatewayError, UserDirectory } from '@twinport/core';
import { resolveAddress, type AddressingConfig } from '../../packages/protocol-qingstor/src/addressing.js';
import { verifyRequest, type VerifyInput } from '../../packages/protocol-qingstor/src/auth/index.js';
import { errorBody, toQsError } from '../../packages/protocol-qingstor/src/errors.js';

const ALICE = { accessKey: 'QSALICEACCESSKEY0001', secretKey: 'alice-secret-key-0000000000000000000000' };
const BOB = { accessKey: 'QSBOBACCESSKEY000001', secretKey: 'bob-secret-key-00000000000000000000000' };
const users = new UserDirectory([{ name: 'alice', ...ALICE }, { name: 'bob', ...BOB }]);
const lookup = (k: string) => users.find(k);
const CFG: AddressingConfig = { domain: 'qingstor.test', zones: ['pek3a', 'sh1a'], defaultZone: 'pek3a' };

const configDir = mkdtempSync(join(tmpdir(), 'qs-sdk-'));
process.env.QINGSTOR_CONFIG_PATH = join(configDir, 'config.yaml');
after(() => rmSync(configDir, { recursive: true, force: true }));
const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const sdk: any = require('qingstor-sdk');

/** The QingStor code a verification failure renders as, with its status. */
function failure(input: VerifyInput, now?: number): { core: string; code: string; status: number } {
  try {
    verifyRequest(input, lookup, now);
  } catch (e) {
    assert.ok(isGatewayError(e), String(e));
    const qs = toQsError(e);
    return { core: e.code, code: qs.code, status: qs.status };
  }
  assert.fail('request was accepted');
}

/** Every name resolves to the loopback address, so `<zone>.<host>` and `<bucket>.<zone>.<host>` reach the test server. */
const loopback = new http.Agent({
  lookup: ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
    if (opts.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
    else cb(null, '127.0.0.1', 4);
  }) as never,
});

describe('requests from the npm SDK over HTTP', () => {
  let server: http.Server;
  let port = 0;
  // Each request's outcome as the server saw it.
  const seen: Array<Record<string, unknown>> = [];

  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        let status = 200;
        let body: Record<string, unknown>;
        try {
          const addr = resolveAddress(req.headers.host, req.url ?? '/', CFG);
          if (addr.kind !== 'address') throw new Error(`bad address ${JSON.stringify(addr)}`);
          const user = verifyRequest({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, vhostBucket: addr.virtualHost ? addr.bucket : undefined }, lookup);
          body = { user: user?.name ?? null, zone: addr.zone, bucket: addr.bucket ?? null, key: addr.key ?? null, vhost: addr.virtualHost };
        } catch (e) {
          const qs = toQsError(e);
          status = qs.status;
          body = { ...errorBody(qs, 'test') };
        }
        seen.push({ method: req.method, host: req.headers.host, ...body });
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    loopback.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  function client(opts: { vhost?: boolean; secret?: string } = {}) {
    const config = new sdk.Config({
      access_key_id: ALICE.accessKey,
      secret_access_key: opts.secret ?? ALICE.secretKey,
      endpoint: `http://qingstor.test:${port}`,
      enable_virtual_host_style: opts.vhost ?? false,
      connection_retries: 0,
      log_level: 'error',
      // The SDK sets Host to `<zone>.<host>` even in virtual-host style; put the bucket back in.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      getAxiosConfig: (op: any) => ({
        httpAgent: loopback,
        transformRequest: opts.vhost ? [(data: unknown, headers: Record<string, string>) => ((headers.host = op.endpoint.replace(/^\w+:\/\//, '').replace(/:\d+$/, '')), data)] : undefined,
      }),
    });
    return new sdk.QingStor(config);
  }

  test('path style through <zone>.<host>: every operation authenticates as alice', async () => {
    const qs = client();
    const b = qs.Bucket('mybucket', 'SH1A');
    const calls: Array<[string, () => Promise<{ status: number; data: Record<string, unknown> }>, string | null]> = [
      ['list buckets', () => qs.listBuckets({ location: 'pek3a' }), null],
      ['put bucket', () => b.put(), null],
      ['put object', () => b.putObject('photos/my cat.jpg', { body: 'hello', 'content-type': 'image/jpeg' }), 'photos/my cat.jpg'],
      ['unicode key', () => b.putObject('中文/测试 ✓.txt', { body: Buffer.from('x') }), '中文/测试 ✓.txt'],
      ['put ACL', () => b.putACL({ acl: [{ grantee: { type: 'group', name: 'QS_ALL_USERS' }, permission: 'READ' }] }), null],
      ['initiate', () => b.initiateMultipartUpload('big.bin'), 'big.bin'],
      ['part 0', () => b.uploadMultipart('big.bin', { part_number: '0', upload_id: 'abc123', body: 'x' }), 'big.bin'],
      ['list parts', () => b.listMultipart('big.bin', { upload_id: 'abc123' }), 'big.bin'],
      ['get with response-content-type', () => b.getObject('a b', { 'response-content-type': 'text/plain; charset=utf-8' }), 'a b'],
      ['append', () => b.appendObject('log', { position: '3', body: 'abc' }), 'log'],
      ['delete multiple', () => b.deleteMultipleObjects({ objects: [{ key: 'a' }] }), null],
      ['list objects', () => b.listObjects({ prefix: 'photos/', delimiter: '/', limit: 2 }), null],
    ];
    for (const [name, call, key] of calls) {
      const r = await call();
      assert.equal(r.status, 200, name);
      assert.equal(r.data.user, 'alice', name);
      assert.equal(r.data.key, key, name);
      assert.equal(r.data.bucket, name === 'list buckets' ? null : 'mybucket', name);
      assert.equal(r.data.zone, name === 'list buckets' ? 'pek3a' : 'sh1a', name);
    }
    assert.equal(seen.find((s) => s.method === 'PUT' && s.key === 'big.bin')?.host, 'sh1a.qingstor.test');
  });

  test('virtual-host style through <bucket>.<zone>.<host>', async () => {
    const b = client({ vhost: true }).Bucket('mybucket', 'pek3a');
    for (const [call, key] of [[() => b.getACL(), null], [() => b.listObjects({ limit: 1 }), null], [() => b.putObject('dir/a b', { body: 'x' }), 'dir/a b']] as const) {
      const r = await call();
      assert.deepEqual(r.data, { user: 'alice', zone: 'pek3a', bucket: 'mybucket', key, vhost: true });
    }
  });

  test('a wrong secret gets 401 signature_not_matched on the wire', async () => {
    const b = client({ secret: 'not-the-secret' }).Bucket('mybucket', 'pek3a');
    await assert.rejects(b.getObject('k'), (e: { response: { status: number; data: Record<string, unknown> } }) => {
      assert.equal(e.response.status, 401);
      assert.equal(e.response.data.code, 'signature_not_matched');
      return true;
    });
  });
});

describe('verification outcomes', () => {
  const config = new sdk.Config({ access_key_id: ALICE.accessKey, secret_access_key: ALICE.secretKey, endpoint: 'http://qingstor.test:9001', log_level: 'error' });
  const bucket = new sdk.QingStor(config).Bucket('mybucket', 'pek3a');

  /** An SDK-signed request as the server receives it. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function signed(req: any, headers: Record<string, string> = {}): Promise<VerifyInput & { headers: Record<string, string> }> {
    Object.assign(req.operation.headers, headers);
    await req.sign();
    return { method: req.operation.method, url: req.operation.uri.slice(req.operation.endpoint.length), headers: { ...req.operation.headers } };
  }

  test('untouched request: alice; no credentials: anonymous', async () => {
    const r = await signed(bucket.putObjectRequest('k', { body: 'x' }), { 'x-qs-meta-color': 'red' });
    assert.equal(verifyRequest(r, lookup)?.name, 'alice');
    const { authorization: _, ...anonymous } = r.headers;
    assert.equal(verifyRequest({ ...r, headers: anonymous }, lookup), undefined);
  });

  test('tampering with what is signed: 401 signature_not_matched', async () => {
    const r = await signed(bucket.uploadMultipartRequest('k', { part_number: '1', upload_id: 'u1', body: 'x' }), { 'x-qs-meta-color': 'red' });
    const expected = { core: 'SignatureDoesNotMatch', code: 'signature_not_matched', status: 401 };
    assert.deepEqual(failure({ ...r, url: r.url.replace('/k?', '/j?') }), expected);
    assert.deepEqual(failure({ ...r, url: r.url.replace('upload_id=u1', 'upload_id=u2') }), expected);
    assert.deepEqual(failure({ ...r, url: r.url.replace('part_number=1', 'part_number=2') }), expected);
    assert.deepEqual(failure({ ...r, method: 'POST' }), expected);
    assert.deepEqual(failure({ ...r, headers: { ...r.headers, 'x-qs-meta-color': 'blue' } }), expected);
    assert.deepEqual(failure({ ...r, headers: { ...r.headers, 'x-qs-meta-extra': '1' } }), expected);
    assert.deepEqual(failure({ ...r, headers: { ...r.headers, 'content-type': 'text/plain' } }), expected);
    assert.deepEqual(failure({ ...r, headers: { ...r.headers, 'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==' } }), expected);
    // Parameters that are not sub-resources are not signed.
    assert.equal(verifyRequest({ ...r, url: `${r.url}&limit=3` }, lookup)?.name, 'alice');
  });

  test("another user's access key with alice's signature: signature_not_matched; unknown key: invalid_access_key_id", async () => {
    const r = await signed(bucket.headObjectRequest('k'));
    const sig = r.headers.authorization.split(':')[1];
    assert.deepEqual(failure({ ...r, headers: { ...r.headers, authorization: `QS ${BOB.accessKey}:${sig}` } }), { core: 'SignatureDoesNotMatch', code: 'signature_not_matched', status: 401 });
    assert.deepEqual(failure({ ...r, headers: { ...r.headers, authorization: `QS NOSUCHKEY:${sig}` } }), { core: 'InvalidAccessKeyId', code: 'invalid_access_key_id', status: 401 });
  });

  test('malformed Authorization headers: invalid_argument', () => {
    for (const authorization of ['QS', 'QS nocolon', `AWS ${ALICE.accessKey}:abc`, `QS ${ALICE.accessKey}:`, '']) {
      assert.deepEqual(failure({ method: 'GET', url: '/', headers: { authorization, 'x-qs-date': new Date().toUTCString() } }), { core: 'AuthorizationHeaderMalformed', code: 'invalid_argument', status: 400 }, authorization);
    }
  });

  test('x-qs-date or Date more than 15 minutes off: 403 request_expired, even when correctly signed', async () => {
    const now = Date.now();
    const stale = await signed(bucket.getObjectRequest('k'), { 'x-qs-date': new Date(now - 16 * 60_000).toUTCString() });
    assert.deepEqual(failure(stale, now), { core: 'RequestTimeTooSkewed', code: 'request_expired', status: 403 });
    assert.equal(verifyRequest(stale, lookup, now - 2 * 60_000)?.name, 'alice');
    const fresh = await signed(bucket.getObjectRequest('k'), { 'x-qs-date': new Date(now - 14 * 60_000).toUTCString() });
    assert.equal(verifyRequest(fresh, lookup, now)?.name, 'alice');
    // Python SDK style: Date instead of x-qs-date.
    const { 'x-qs-date': _, ...noQsDate } = fresh.headers;
    assert.deepEqual(failure({ ...fresh, headers: { ...noQsDate, date: new Date(now + 20 * 60_000).toUTCString() } }, now), { core: 'RequestTimeTooSkewed', code: 'request_expired', status: 403 });
    // Neither header: no time to check against.
    assert.deepEqual(failure({ ...fresh, headers: noQsDate }, now), { core: 'RequestTimeTooSkewed', code: 'request_expired', status: 403 });
  });

  test('query signatures: accepted until expires, then request_expired; tampered ones rejected', async () => {
    const req = await bucket.getObjectRequest('photos/my cat.jpg').signQuery(60);
    const url: string = req.operation.uri.slice(req.operation.endpoint.length);
    const expires = Number(new URLSearchParams(url.split('?')[1]).get('expires'));
    assert.equal(verifyRequest({ method: 'GET', url, headers: {} }, lookup)?.name, 'alice');
    // A browser GET of the link carries no Content-Type; a client that adds one is still accepted.
    assert.equal(verifyRequest({ method: 'GET', url, headers: { 'content-type': 'application/octet-stream' } }, lookup)?.name, 'alice');
    assert.equal(verifyRequest({ method: 'GET', url, headers: {} }, lookup, expires * 1000)?.name, 'alice');
    assert.deepEqual(failure({ method: 'GET', url, headers: {} }, expires * 1000 + 1000), { core: 'RequestTimeTooSkewed', code: 'request_expired', status: 403 });
    assert.deepEqual(failure({ method: 'GET', url: url.replace(/expires=\d+/, `expires=${expires + 3600}`), headers: {} }), { core: 'SignatureDoesNotMatch', code: 'signature_not_matched', status: 401 });
    assert.deepEqual(failure({ method: 'HEAD', url, headers: {} }), { core: 'SignatureDoesNotMatch', code: 'signature_not_matched', status: 401 });
    assert.deepEqual(failure({ method: 'GET', url: url.replace('my%20cat', 'my%20dog'), headers: {} }), { core: 'SignatureDoesNotMatch', code: 'signature_not_matched', status: 401 });
    assert.deepEqual(failure({ method: 'GET', url: url.replace(/&expires=\d+/, ''), headers: {} }), { core: 'AuthorizationQueryParametersError', code: 'invalid_argument', status: 400 });
    assert.deepEqual(failure({ method: 'GET', url: url.replace(/expires=\d+/, 'expires=soon'), headers: {} }), { core: 'AuthorizationQueryParametersError', code: 'invalid_argument', status: 400 });
    assert.deepEqual(failure({ method: 'GET', url: url.replace(/access_key_id=[^&]+/, 'access_key_id=NOSUCHKEY'), headers: {} }), { core: 'InvalidAccessKeyId', code: 'invalid_access_key_id', status: 401 });
  });

  test('a signature whose + arrives unescaped is read as a plus', () => {
    // Worked example b of the reference: its signature holds a '+' (sent as %2B).
    const users2 = new UserDirectory([{ name: 'ex', accessKey: 'EXAMPLEACCESSKEYID00', secretKey: 'EXAMPLESECRETACCESSKEY0000000000000000000' }]);
    const url = '/mybucket/photos/my%20cat.jpg?signature=4dSiwUmvYGsB0/LXOVTPocBt46B+CEnIWX1Q/oOITyU%3D&access_key_id=EXAMPLEACCESSKEYID00&expires=1479107162';
    assert.equal(verifyRequest({ method: 'GET', url, headers: {} }, (k) => users2.find(k), 1479107000_000)?.name, 'ex');
  });
});
