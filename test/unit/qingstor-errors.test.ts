// QingStor error rendering: codes and statuses of the reference's table, the JSON body a client reads,
// and an answer that still reaches a client whose request body was never read.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Koa from 'koa';
import { ERRORS, GatewayError, type ErrorCode } from '@twinport/core';
import { CODE_MAP, ERROR_DOC_URL, QS_CODES, renderError, toQsError } from '../../packages/protocol-qingstor/src/errors.js';

describe('mapping table', () => {
  test('the core codes QingStor clients meet get the reference §4 code and status', () => {
    const expected: Array<[ErrorCode, string, number]> = [
      ['InvalidAccessKeyId', 'invalid_access_key_id', 401],
      ['SignatureDoesNotMatch', 'signature_not_matched', 401],
      ['RequestTimeTooSkewed', 'request_expired', 403],
      ['AccessDenied', 'permission_denied', 403],
      ['NoSuchBucket', 'bucket_not_exists', 404],
      ['NoSuchKey', 'object_not_exists', 404],
      ['NoSuchUpload', 'upload_not_exists', 404],
      ['BucketAlreadyExists', 'bucket_already_exists', 409],
      ['BucketAlreadyOwnedByYou', 'bucket_already_exists', 409],
      ['BucketNotEmpty', 'bucket_not_empty', 409],
      ['InvalidBucketName', 'invalid_bucket_name', 400],
      ['InvalidArgument', 'invalid_argument', 400],
      ['InvalidRequest', 'invalid_request', 400],
      ['MalformedXML', 'invalid_json', 400],
      ['IncompleteBody', 'incomplete_body', 400],
      ['BadDigest', 'bad_digest', 400],
      ['InvalidRange', 'invalid_range', 416],
      ['PreconditionFailed', 'precondition_failed', 412],
      ['InvalidLocationConstraint', 'invalid_location', 400],
      ['EntityTooSmall', 'entity_too_small', 400],
      ['EntityTooLarge', 'entity_too_large', 400],
      ['KeyTooLongError', 'invalid_object_name', 400],
      ['MetadataTooLarge', 'metadata_too_large', 400],
      ['MethodNotAllowed', 'method_not_allowed', 405],
      ['InternalError', 'internal_error', 500],
      ['ServiceUnavailable', 'service_unavailable', 503],
    ];
    for (const [core, code, status] of expected) {
      const qs = toQsError(new GatewayError(core));
      assert.deepEqual([qs.code, qs.status], [code, status], core);
    }
  });

  test('every core code maps to a QingStor code with a status and message', () => {
    for (const core of Object.keys(ERRORS) as ErrorCode[]) {
      const code = CODE_MAP[core];
      assert.ok(code && QS_CODES[code], `${core} has no QingStor code`);
      assert.match(code, /^[a-z_]+$/);
    }
  });

  test("the core's S3 wording is replaced, a message the thrower chose is kept, anything else is internal_error", () => {
    assert.equal(toQsError(new GatewayError('NoSuchKey')).message, 'The object you are accessing does not exist.');
    assert.equal(toQsError(new GatewayError('InvalidArgument', 'limit must be a number')).message, 'limit must be a number');
    assert.deepEqual(toQsError(new Error('ENOENT /var/secret/path')), { code: 'internal_error', status: 500, message: QS_CODES.internal_error.message });
    assert.deepEqual(toQsError('a string'), { code: 'internal_error', status: 500, message: QS_CODES.internal_error.message });
    assert.equal(toQsError(new GatewayError('InternalError', 'disk /srv/data failed')).message, QS_CODES.internal_error.message);
  });

  test('a core code added after this table renders by its own status', () => {
    const later = { name: 'GatewayError', code: 'SomeLaterCode', status: 409, message: 'Conflicting request.', details: {} };
    assert.deepEqual(toQsError(later), { code: 'invalid_request', status: 409, message: 'Conflicting request.' });
    assert.equal(toQsError({ ...later, status: 502 }).code, 'internal_error');
  });
});

describe('rendered over HTTP', () => {
  let server: http.Server;
  let base = '';
  let n = 0;
  const failures: Record<string, unknown> = {
    '/nokey': new GatewayError('NoSuchKey'),
    '/custom': new GatewayError('InvalidArgument', 'limit must be a number'),
    '/crash': new Error('secret internal detail'),
    '/range': new GatewayError('InvalidRange', undefined, { ActualObjectSize: '10' }),
    '/notmod': new GatewayError('NotModified'),
    '/method': new GatewayError('MethodNotAllowed', undefined, { Allow: 'GET, HEAD' }),
    '/early': new GatewayError('NoSuchBucket'),
  };

  before(async () => {
    const app = new Koa();
    app.silent = true;
    app.use(async (ctx) => {
      const requestId = `req${(++n).toString(16).padStart(8, '0')}`;
      try {
        if (ctx.path === '/ok') {
          ctx.body = 'fine';
          return;
        }
        throw failures[ctx.path] ?? new GatewayError('NoSuchBucket');
      } catch (e) {
        renderError(ctx, e, requestId);
      }
    });
    server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('JSON body {code, message, request_id, url}, Content-Type exactly application/json, x-qs-request-id', async () => {
    const r = await fetch(`${base}/nokey`);
    assert.equal(r.status, 404);
    assert.equal(r.headers.get('content-type'), 'application/json');
    const id = r.headers.get('x-qs-request-id');
    assert.match(id ?? '', /^req[0-9a-f]{8}$/);
    assert.deepEqual(await r.json(), { code: 'object_not_exists', message: 'The object you are accessing does not exist.', request_id: id, url: ERROR_DOC_URL });
  });

  test('a chosen message is sent; an unexpected failure is a 500 internal_error without its details', async () => {
    const custom = await fetch(`${base}/custom`);
    assert.deepEqual([custom.status, (await custom.json()).message], [400, 'limit must be a number']);
    const crash = await fetch(`${base}/crash`);
    const text = await crash.text();
    assert.equal(crash.status, 500);
    assert.equal(JSON.parse(text).code, 'internal_error');
    assert.doesNotMatch(text, /secret/);
  });

  test('HEAD and 304 carry no body; the status and request id stay', async () => {
    const head = await fetch(`${base}/nokey`, { method: 'HEAD' });
    assert.equal(head.status, 404);
    assert.ok(head.headers.get('x-qs-request-id'));
    assert.equal(await head.text(), '');
    const nm = await fetch(`${base}/notmod`);
    assert.equal(nm.status, 304);
    assert.equal(await nm.text(), '');
  });

  test('invalid_range says the object size; method_not_allowed says what is allowed', async () => {
    const range = await fetch(`${base}/range`);
    assert.deepEqual([range.status, range.headers.get('content-range'), (await range.json()).code], [416, 'bytes */10', 'invalid_range']);
    const method = await fetch(`${base}/method`);
    assert.deepEqual([method.status, method.headers.get('allow'), (await method.json()).code], [405, 'GET, HEAD', 'method_not_allowed']);
  });

  test('an error before the body is read: a 4 MiB upload still gets the JSON answer and the connection is reused', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const send = (path: string, body: Buffer) =>
        new Promise<{ status: number; body: string; socket: unknown }>((resolve, reject) => {
          const req = http.request(`${base}${path}`, { method: 'PUT', agent, headers: { 'content-length': body.length } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), socket: req.socket }));
          });
          req.on('error', reject);
          req.end(body);
        });
      const first = await send('/early', Buffer.alloc(4 * 1024 * 1024, 1));
      assert.equal(first.status, 404);
      assert.equal(JSON.parse(first.body).code, 'bucket_not_exists');
      const second = await send('/ok', Buffer.from('x'));
      assert.deepEqual([second.status, second.body], [200, 'fine']);
      assert.equal(second.socket, first.socket);
    } finally {
      agent.destroy();
    }
  });

  test('a body declared larger than the drain limit: answered, then the connection is closed', async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(`${base}/early`, { method: 'PUT', headers: { 'content-length': 64 * 1024 * 1024 } }, resolve);
      req.on('error', reject);
      req.write(Buffer.alloc(1024));
    });
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers.connection, 'close');
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    assert.equal(JSON.parse(Buffer.concat(chunks).toString()).code, 'bucket_not_exists');
    res.socket?.destroy();
  });
});
