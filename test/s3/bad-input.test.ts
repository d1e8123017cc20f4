// Hostile and broken input against a real gateway: each gets S3's own error (never a 500, never a
// hang), and none of it changes what is stored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { startGateway, type TestGateway } from '../lib/gateway.js';
import { S3Http, assertNoServerErrors, eventually, expectError, rawSocket, rssBytes, sha256, tempFiles } from '../lib/s3http.js';

const BUCKET = 'bad-input';
const KEEP = 'keep/original.txt';
const KEEP_DATA = 'stored before any bad input\n';

let gw: TestGateway;
let c: S3Http;
let uploadId: string;

before(async () => {
  gw = await startGateway();
  c = new S3Http(gw.endpoint);
  await c.createBucket(BUCKET);
  await c.put(BUCKET, KEEP, KEEP_DATA);
  const init = await c.send({ method: 'POST', path: `/${BUCKET}/mpu/target?uploads` });
  assert.equal(init.status, 200, init.text);
  uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init.text)![1];
  await c.send({ method: 'PUT', path: `/${BUCKET}/mpu/target?partNumber=1&uploadId=${uploadId}`, body: 'part one' });
});

after(async () => {
  await c.close();
  await gw.stop();
});

const deleteObjects = (body: string | Buffer, headers: Record<string, string> = {}) => c.send({ method: 'POST', path: `/${BUCKET}?delete`, body, headers });
const complete = (body: string | Buffer, headers: Record<string, string> = {}) => c.send({ method: 'POST', path: `/${BUCKET}/mpu/target?uploadId=${uploadId}`, body, headers });
const createBucket = (name: string, body?: string) => c.send({ method: 'PUT', path: `/${name}`, body });

/** The status code of a raw HTTP response text. */
function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
}

async function assertStillServing(): Promise<void> {
  await c.assertObject(BUCKET, KEEP, KEEP_DATA);
}

test('malformed XML bodies give 400 MalformedXML and change nothing', async () => {
  const bodies = ['not xml at all', '<Delete><Object><Key>keep/original.txt</Key></Object>', '<Delete></Delete>', '<Wrong><Object><Key>keep/original.txt</Key></Object></Wrong>', '<Delete><Object><Key>a</Key></Object></Delete><Delete/>'];
  for (const body of bodies) await expectError(await deleteObjects(body), 400, 'MalformedXML');
  for (const body of ['<CompleteMultipartUpload><Part>', '<CompleteMultipartUpload/>', '<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>"e"</ETag></Part></CompleteMultipartUpload>', '']) {
    await expectError(await complete(body), 400, 'MalformedXML');
  }
  for (const body of ['<CreateBucketConfiguration><LocationConstraint>pek3a', '<<>>', '<NotAConfiguration/>']) {
    await expectError(await createBucket('bad-config-bucket', body), 400, 'MalformedXML');
  }
  assert.ok(!(await c.bucketNames()).includes('bad-config-bucket'));
  await assertStillServing();
  // The upload survived the bad Complete bodies.
  const parts = await c.send({ path: `/${BUCKET}/mpu/target?uploadId=${uploadId}` });
  assert.equal(parts.status, 200, parts.text);
  assert.match(parts.text, /<PartNumber>1<\/PartNumber>/);
});

test('XML with a DTD (billion laughs, external entity) gives 400 and leaks nothing', async () => {
  const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('')}]><Delete><Object><Key>&lol9;</Key></Object></Delete>`;
  const xxe = (root: string, inner: string) => `<?xml version="1.0"?><!DOCTYPE ${root} [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><${root}>${inner}</${root}>`;
  const responses = [
    await deleteObjects(laughs),
    await deleteObjects(xxe('Delete', '<Object><Key>&xxe;</Key></Object>')),
    await complete(xxe('CompleteMultipartUpload', '<Part><PartNumber>1</PartNumber><ETag>&xxe;</ETag></Part>')),
    await createBucket('xxe-bucket', xxe('CreateBucketConfiguration', '<LocationConstraint>&xxe;</LocationConstraint>')),
  ];
  for (const res of responses) {
    await expectError(res, 400, 'MalformedXML');
    assert.ok(!res.text.includes('root:') && !res.text.includes('lollol'), `entity expanded into the answer: ${res.text}`);
  }
  assert.ok(!(await c.bucketNames()).includes('xxe-bucket'));
  await assertStillServing();
});

test('50,000-deep nesting gives 400 quickly', async () => {
  const deep = `<Delete>${'<a>'.repeat(50_000)}${'</a>'.repeat(50_000)}<Object><Key>keep/original.txt</Key></Object></Delete>`;
  const started = Date.now();
  await expectError(await deleteObjects(deep), 400, 'MalformedXML');
  await expectError(await complete(deep.replace(/Delete/g, 'CompleteMultipartUpload')), 400, 'MalformedXML');
  assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
  await assertStillServing();
});

test('8 MB XML bodies give 400 with bounded gateway memory', async () => {
  const big = Buffer.from(`<Delete>${'<Object><Key>keep/original.txt</Key></Object>'.repeat(Math.ceil(8 * 1024 * 1024 / 45))}</Delete>`);
  assert.ok(big.length >= 8 * 1024 * 1024);
  const before = await rssBytes(gw);
  for (let i = 0; i < 3; i++) {
    for (const send of [deleteObjects, complete]) {
      // Once with Content-Length (refused up front), once HTTP-chunked (refused when the cap is hit).
      for (const headers of [{}, { 'transfer-encoding': 'chunked' }] as Array<Record<string, string>>) {
        const res = await send(big, headers);
        assert.equal(res.status, 400, res.text);
        assert.ok(['MaxMessageLengthExceeded', 'MalformedXML'].includes(/<Code>([^<]+)/.exec(res.text)?.[1] ?? ''), res.text);
        await expectError(res, 400, /<Code>([^<]+)/.exec(res.text)![1]);
      }
    }
  }
  const grown = (await rssBytes(gw)) - before;
  assert.ok(grown < 100 * 1024 * 1024, `gateway RSS grew by ${Math.round(grown / 1048576)} MB`);
  await assertStillServing();
});

test('an error sent before the body is read reaches a client that is still sending it', async () => {
  // The client is mid-write when the answer comes; the connection must not be reset under it.
  const body = Buffer.alloc(6 * 1024 * 1024, 0x62);
  for (let i = 0; i < 10; i++) {
    await expectError(await c.send({ method: 'PUT', path: '/no-such-bucket/big', body, payload: 'UNSIGNED-PAYLOAD' }), 404, 'NoSuchBucket');
    await expectError(await c.send({ method: 'PUT', path: `/${BUCKET}/big`, body, payload: 'UNSIGNED-PAYLOAD', as: null }), 403, 'AccessDenied');
    await expectError(await c.send({ method: 'PUT', path: `/${BUCKET}/big`, body, payload: 'UNSIGNED-PAYLOAD', headers: { 'transfer-encoding': 'chunked' }, as: null }), 403, 'AccessDenied');
  }
  await c.assertMissing(BUCKET, 'big');
  await assertStillServing();
});

test('invalid bucket names give 400 InvalidBucketName', async () => {
  const names = ['ab', 'UpperCase', 'under_score', '-leading', 'trailing-', 'a..b', '192.168.5.4', 'xn--punycode', 'a'.repeat(64), 'name-s3alias', 'sthree-x', 'bucket.mrap'];
  for (const name of names) {
    const err = await expectError(await createBucket(name), 400, 'InvalidBucketName');
    assert.equal(err.BucketName, name);
  }
  const listed = await c.bucketNames();
  assert.deepEqual(listed.filter((n) => names.includes(n)), []);
});

test('missing buckets and keys give 404 NoSuchBucket / NoSuchKey, and a PUT creates no bucket', async () => {
  const nb = await expectError(await c.send({ path: '/no-such-bucket/key' }), 404, 'NoSuchBucket');
  assert.equal(nb.BucketName, 'no-such-bucket');
  await expectError(await c.send({ path: '/no-such-bucket?list-type=2' }), 404, 'NoSuchBucket');
  await expectError(await c.send({ method: 'PUT', path: '/no-such-bucket/key', body: 'x' }), 404, 'NoSuchBucket');
  await expectError(await c.send({ method: 'DELETE', path: '/no-such-bucket' }), 404, 'NoSuchBucket');
  const nk = await expectError(await c.send({ path: `/${BUCKET}/no/such/key` }), 404, 'NoSuchKey');
  assert.equal(nk.Key, 'no/such/key');
  const head = await c.send({ method: 'HEAD', path: `/${BUCKET}/no/such/key` });
  assert.equal(head.status, 404);
  assert.equal(head.body.length, 0);
  assert.ok(!(await c.bucketNames()).includes('no-such-bucket'));
});

test('deleting a non-empty bucket gives 409 BucketNotEmpty, also when only an upload is in progress', async () => {
  await expectError(await c.send({ method: 'DELETE', path: `/${BUCKET}` }), 409, 'BucketNotEmpty');
  await c.createBucket('only-upload');
  const init = await c.send({ method: 'POST', path: '/only-upload/k?uploads' });
  assert.equal(init.status, 200, init.text);
  await expectError(await c.send({ method: 'DELETE', path: '/only-upload' }), 409, 'BucketNotEmpty');
  assert.ok((await c.bucketNames()).includes(BUCKET));
  await assertStillServing();
});

test('a body shorter than its Content-Length stores nothing and leaves no temp data', async () => {
  const body = Buffer.alloc(200_000, 0x61);
  for (const [key, mode] of [['short/ended', 'end'], ['short/destroyed', 'destroy'], [KEEP, 'end'], [KEEP, 'destroy']] as const) {
    const headers = c.sign({ method: 'PUT', path: `/${BUCKET}/${key}`, payload: 'UNSIGNED-PAYLOAD', headers: { 'content-length': String(body.length) } });
    const head = `PUT /${BUCKET}/${key} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
    await rawSocket(c.port, Buffer.concat([Buffer.from(head), body.subarray(0, 70_000)]), { destroy: mode === 'destroy', waitMs: 1_000 });
  }
  await eventually(async () => assert.deepEqual(await tempFiles(gw), []));
  await c.assertMissing(BUCKET, 'short/ended');
  await c.assertMissing(BUCKET, 'short/destroyed');
  await assertStillServing();
});

test('10,000 headers or a 1 MB header give a 4xx, not a hang or a 500', async () => {
  const many = `GET /${BUCKET}/${KEEP} HTTP/1.1\r\nHost: ${c.host}\r\n${Array.from({ length: 10_000 }, (_, i) => `x-h-${i}: v\r\n`).join('')}\r\n`;
  const huge = `GET /${BUCKET}/${KEEP} HTTP/1.1\r\nHost: ${c.host}\r\nx-big: ${'a'.repeat(1024 * 1024)}\r\n\r\n`;
  for (const req of [many, huge]) {
    const started = Date.now();
    const status = statusOf(await rawSocket(c.port, req));
    assert.ok(status >= 400 && status < 500, `status ${status}`);
    assert.ok(Date.now() - started < 3_000);
  }
  await assertStillServing();
});

test('clients dribbling a request byte by byte do not slow down others', async () => {
  const request = Buffer.from(`GET /${BUCKET}/${KEEP} HTTP/1.1\r\nHost: ${c.host}\r\nx-padding: ${'p'.repeat(40)}\r\n\r\n`);
  const sockets = Array.from({ length: 20 }, () => {
    const s = net.connect(c.port, '127.0.0.1');
    s.on('error', () => {});
    return s;
  });
  let sent = 0;
  const timer = setInterval(() => {
    for (const s of sockets) if (sent < request.length) s.write(request.subarray(sent, sent + 1));
    sent++;
  }, 200);
  try {
    const deadline = Date.now() + 3_000;
    let n = 0;
    while (Date.now() < deadline) {
      const started = Date.now();
      const key = `slow/${n++}`;
      await c.put(BUCKET, key, key);
      await c.assertObject(BUCKET, key, key);
      assert.ok(Date.now() - started < 1_000, `a request took ${Date.now() - started} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(sent >= 10 && sent < request.length, 'the slow clients were still mid-request');
  } finally {
    clearInterval(timer);
    for (const s of sockets) s.destroy();
  }
  const del = await c.send({ method: 'POST', path: `/${BUCKET}?delete`, body: `<Delete><Quiet>true</Quiet>${(await c.keys(BUCKET)).filter((k) => k.startsWith('slow/')).map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>` });
  assert.equal(del.status, 200, del.text);
});

test('invalid percent-encoding in the path gives 400 InvalidURI', async () => {
  for (const path of [`/${BUCKET}/%ZZ`, `/${BUCKET}/a%2`, `/${BUCKET}/%C3%28`]) {
    await expectError(await c.send({ path, as: null }), 400, 'InvalidURI');
    await expectError(await c.send({ method: 'PUT', path, body: 'x', as: null }), 400, 'InvalidURI');
  }
  await assertStillServing();
});

test('an unsupported sub-resource gives 501 NotImplemented', async () => {
  await expectError(await c.send({ path: `/${BUCKET}?replication` }), 501, 'NotImplemented');
  await expectError(await c.send({ method: 'PUT', path: `/${BUCKET}?replication`, body: '<ReplicationConfiguration/>' }), 501, 'NotImplemented');
  await expectError(await c.send({ method: 'PUT', path: `/${BUCKET}/${KEEP}?retention`, body: '<Retention/>' }), 501, 'NotImplemented');
  await assertStillServing();
});

test('SSE-C and KMS encryption are refused with 501 (nothing stored in plaintext), an unknown one with 400; AES256 is accepted', async () => {
  const ssec = {
    'x-amz-server-side-encryption-customer-algorithm': 'AES256',
    'x-amz-server-side-encryption-customer-key': Buffer.alloc(32, 7).toString('base64'),
    'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(Buffer.alloc(32, 7)).digest('base64'),
  };
  await expectError(await c.send({ method: 'PUT', path: `/${BUCKET}/secret`, body: 'plaintext', headers: ssec }), 501, 'NotImplemented');
  await expectError(await c.send({ path: `/${BUCKET}/${KEEP}`, headers: ssec }), 501, 'NotImplemented');
  await expectError(await c.send({ method: 'PUT', path: `/${BUCKET}/secret`, body: 'plaintext', headers: { 'x-amz-server-side-encryption': 'aws:kms' } }), 501, 'NotImplemented');
  await expectError(await c.send({ method: 'PUT', path: `/${BUCKET}/secret`, body: 'plaintext', headers: { 'x-amz-server-side-encryption': 'BOGUS' } }), 400, 'InvalidArgument');
  await c.assertMissing(BUCKET, 'secret');
  const sse = await c.send({ method: 'PUT', path: `/${BUCKET}/sse-s3`, body: 'at rest', headers: { 'x-amz-server-side-encryption': 'AES256' } });
  assert.equal(sse.status, 200, sse.text);
  await c.assertObject(BUCKET, 'sse-s3', 'at rest');
  assert.equal((await c.send({ method: 'DELETE', path: `/${BUCKET}/sse-s3` })).status, 204);
  await assertStillServing();
});

test('odd header values S3 refuses: storage class, canned ACL, transfer coding; CONNECT is 405', async () => {
  await expectError(await c.send({ method: 'PUT', path: `/${BUCKET}/odd`, body: 'x', headers: { 'x-amz-storage-class': 'BOGUS' } }), 400, 'InvalidStorageClass');
  await expectError(await c.send({ method: 'PUT', path: `/${BUCKET}/odd`, body: 'x', headers: { 'x-amz-acl': 'bogus' } }), 400, 'InvalidArgument');
  const gzip = await rawSocket(gw.port, `PUT /${BUCKET}/odd HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n1\r\nx\r\n0\r\n\r\n`);
  assert.match(gzip, /^HTTP\/1\.1 501 /, gzip.slice(0, 200));
  await c.assertMissing(BUCKET, 'odd');
  for (const [name, value] of [['x-amz-storage-class', 'STANDARD_IA'], ['x-amz-acl', 'bucket-owner-full-control']]) {
    const ok = await c.send({ method: 'PUT', path: `/${BUCKET}/odd`, body: 'x', headers: { [name]: value } });
    assert.equal(ok.status, 200, `${name}: ${value}: ${ok.text}`);
  }
  assert.equal((await c.send({ method: 'DELETE', path: `/${BUCKET}/odd` })).status, 204);
  assert.match(await rawSocket(gw.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'), /^HTTP\/1\.1 405 /);
  await assertStillServing();
});

test('POST to an object without uploads or uploadId gives 405 MethodNotAllowed', async () => {
  const res = await c.send({ method: 'POST', path: `/${BUCKET}/${KEEP}`, body: 'data' });
  const err = await expectError(res, 405, 'MethodNotAllowed');
  assert.equal(err.Method, 'POST');
  assert.ok(String(res.headers.allow).includes('GET'), `Allow: ${res.headers.allow}`);
  await assertStillServing();
});

test('no stray keys appeared and the gateway logged no internal errors', async () => {
  assert.deepEqual(await c.keys(BUCKET), [KEEP]);
  // An unrelated request signed with the payload's real hash still works at the end.
  const res = await c.send({ method: 'PUT', path: `/${BUCKET}/final`, body: 'final', payload: sha256('final') });
  assert.equal(res.status, 200, res.text);
  assertNoServerErrors(gw);
});
