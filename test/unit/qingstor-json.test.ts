// QingStor JSON bodies: the bounded reader's refusals as a client sees them, and success bodies
// with the exact Content-Type the Python SDK needs.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import Koa from 'koa';
import { renderError } from '../../packages/protocol-qingstor/src/errors.js';
import { readJson, readJsonObject, sendJson } from '../../packages/protocol-qingstor/src/json.js';

const LIMIT = 1024;

describe('readJson and sendJson over HTTP', () => {
  let server: http.Server;
  let port = 0;
  // What the reader made of requests whose client went away.
  const serverSide: string[] = [];

  before(async () => {
    const app = new Koa();
    app.silent = true;
    app.use(async (ctx) => {
      try {
        if (ctx.path === '/object') {
          sendJson(ctx, { got: await readJsonObject(ctx, { limit: LIMIT }) }, 201);
        } else if (ctx.path === '/optional') {
          sendJson(ctx, { got: (await readJson(ctx, { limit: LIMIT, allowEmpty: true })) ?? null });
        } else {
          sendJson(ctx, { got: await readJson(ctx, { limit: LIMIT }) });
        }
      } catch (e) {
        if (ctx.path === '/watch') serverSide.push((e as { code?: string }).code ?? String(e));
        renderError(ctx, e, 'rid');
      }
    });
    server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Sends a body (fixed length or HTTP-chunked) and reads the whole answer. */
  function send(path: string, body: Buffer | string, headers: Record<string, string | number> = {}, opts: { chunked?: boolean; agent?: http.Agent } = {}) {
    return new Promise<{ status: number; type?: string; json: Record<string, unknown>; socket: net.Socket }>((resolve, reject) => {
      const buf = Buffer.from(body);
      const h = opts.chunked ? headers : { 'content-length': buf.length, ...headers };
      const req = http.request({ host: '127.0.0.1', port, path, method: 'PUT', headers: h, agent: opts.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], json: JSON.parse(Buffer.concat(chunks).toString() || 'null'), socket: req.socket as net.Socket }));
      });
      req.on('error', reject);
      if (opts.chunked) {
        // Several writes so that the body really goes out in chunks.
        for (let i = 0; i < buf.length; i += 256) req.write(buf.subarray(i, i + 256));
        req.end();
      } else req.end(buf);
    });
  }

  test('a JSON document comes back parsed, sent with Content-Type: application/json exactly', async () => {
    const r = await send('/any', '{"acl":[{"grantee":{"type":"group","name":"QS_ALL_USERS"},"permission":"READ"}],"n":"中文"}');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'application/json');
    assert.deepEqual(r.json, { got: { acl: [{ grantee: { type: 'group', name: 'QS_ALL_USERS' }, permission: 'READ' }], n: '中文' } });
    const created = await send('/object', '{"object_parts":[{"part_number":0}]}');
    assert.deepEqual([created.status, created.type, created.json], [201, 'application/json', { got: { object_parts: [{ part_number: 0 }] } }]);
  });

  test('malformed JSON, invalid UTF-8 and a non-object where an object is needed: 400 invalid_json', async () => {
    for (const [path, body] of [['/any', '{"acl": ['], ['/any', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])], ['/object', '[1,2]'], ['/object', '"text"']] as const) {
      const r = await send(path, body);
      assert.equal(r.status, 400);
      assert.equal(r.type, 'application/json');
      assert.equal(r.json.code, 'invalid_json', String(body));
      assert.equal(r.json.request_id, 'rid');
    }
  });

  test('an empty body: 400 invalid_request, unless the caller allows it', async () => {
    const r = await send('/any', '');
    assert.deepEqual([r.status, r.json.code], [400, 'invalid_request']);
    const ok = await send('/optional', '');
    assert.deepEqual([ok.status, ok.json], [200, { got: null }]);
  });

  test('Content-MD5: checked when sent (the SDK sends it for delete_multiple_objects)', async () => {
    const body = '{"objects":[{"key":"a"}]}';
    const md5 = createHash('md5').update(body).digest('base64');
    assert.equal((await send('/any', body, { 'content-md5': md5 })).status, 200);
    const wrong = await send('/any', body, { 'content-md5': createHash('md5').update('other').digest('base64') });
    assert.deepEqual([wrong.status, wrong.json.code], [400, 'bad_digest']);
    const garbage = await send('/any', body, { 'content-md5': 'not-base64' });
    assert.deepEqual([garbage.status, garbage.json.code], [400, 'bad_digest']);
  });

  test('a declared length over the limit: 400 entity_too_large, body drained, connection reused', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const big = await send('/any', `{"k":"${'x'.repeat(200 * 1024)}"}`, {}, { agent });
      assert.deepEqual([big.status, big.type, big.json.code], [400, 'application/json', 'entity_too_large']);
      const next = await send('/any', '{"a":1}', {}, { agent });
      assert.deepEqual([next.status, next.json], [200, { got: { a: 1 } }]);
      assert.equal(next.socket, big.socket);
    } finally {
      agent.destroy();
    }
  });

  test('an HTTP-chunked body that runs over the limit: 400 entity_too_large; exactly the limit is fine', async () => {
    const over = await send('/any', `"${'y'.repeat(LIMIT)}"`, {}, { chunked: true });
    assert.deepEqual([over.status, over.json.code], [400, 'entity_too_large']);
    const exact = await send('/any', `"${'y'.repeat(LIMIT - 2)}"`, {}, { chunked: true });
    assert.deepEqual([exact.status, exact.json], [200, { got: 'y'.repeat(LIMIT - 2) }]);
  });

  test('a client that goes away mid-body: the reader reports incomplete_body and the server keeps serving', async () => {
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.write(`PUT /watch HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"partial":`);
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 50);
      });
      s.on('error', reject);
    });
    for (let i = 0; i < 50 && serverSide.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(serverSide, ['IncompleteBody']);
    assert.equal((await send('/any', '{}')).status, 200);
  });
});
