// Bucket ACLs through S3: canned ACLs, grant headers and AccessControlPolicy bodies (AWS SDK for
// JavaScript v3), enforced on anonymous requests (plain HTTP) and on other users.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  S3Client, S3ServiceException, CreateBucketCommand, GetBucketAclCommand, GetObjectAclCommand, PutBucketAclCommand, PutObjectCommand,
  GetObjectCommand, ListBucketsCommand, type Grant,
} from '@aws-sdk/client-s3';
import { s3Client } from '../lib/sdk.js';
import { startGateway, ALICE_KEY, ROOT_KEY, type TestGateway } from '../lib/gateway.js';
import { S3Http, assertError } from '../lib/s3http.js';


const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
const AUTH_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';
let gw: TestGateway;
let root: S3Client;
let alice: S3Client;
let raw: S3Http;
let rootId: string;
let aliceId: string;

const client = (key: typeof ROOT_KEY) => s3Client(gw.endpoint, key);
const anon = (method: string, path: string, body?: string) => fetch(`${gw.endpoint}${path}`, { method, body });
const errorOf = async (p: Promise<unknown>): Promise<{ name: string; status?: number }> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ServiceException) return { name: e.name, status: e.$metadata.httpStatusCode };
    throw e;
  }
  throw new Error('expected the request to fail');
};
const grantsOf = (grants: Grant[] | undefined) =>
  (grants ?? []).map((g) => `${g.Grantee?.Type}:${g.Grantee?.ID ?? g.Grantee?.URI}:${g.Permission}`).sort();

before(async () => {
  gw = await startGateway();
  root = client(ROOT_KEY);
  alice = client(ALICE_KEY);
  raw = new S3Http(gw.endpoint);
  rootId = (await root.send(new ListBucketsCommand({}))).Owner!.ID!;
  aliceId = (await alice.send(new ListBucketsCommand({}))).Owner!.ID!;
  await root.send(new CreateBucketCommand({ Bucket: 'acl' }));
  await root.send(new PutObjectCommand({ Bucket: 'acl', Key: 'doc.txt', Body: 'public bytes', ContentType: 'text/plain' }));
});

after(async () => {
  root?.destroy();
  alice?.destroy();
  await raw?.close();
  await gw?.stop();
});

test('a new bucket is private: only the owner FULL_CONTROL grant; anonymous and other users are refused', async () => {
  const acl = await root.send(new GetBucketAclCommand({ Bucket: 'acl' }));
  assert.equal(acl.Owner?.ID, rootId);
  assert.deepEqual(grantsOf(acl.Grants), [`CanonicalUser:${rootId}:FULL_CONTROL`]);
  const res = await anon('GET', '/acl/doc.txt');
  assert.equal(res.status, 403);
  assert.match(await res.text(), /<Code>AccessDenied<\/Code>/);
  assert.equal((await errorOf(alice.send(new GetObjectCommand({ Bucket: 'acl', Key: 'doc.txt' })))).status, 403);
  assert.equal((await errorOf(alice.send(new GetBucketAclCommand({ Bucket: 'acl' })))).name, 'AccessDenied');
});

test('canned public-read opens anonymous reads and listings, not writes; private closes them again', async () => {
  await root.send(new PutBucketAclCommand({ Bucket: 'acl', ACL: 'public-read' }));
  const acl = await root.send(new GetBucketAclCommand({ Bucket: 'acl' }));
  assert.deepEqual(grantsOf(acl.Grants), [`CanonicalUser:${rootId}:FULL_CONTROL`, `Group:${ALL_USERS}:READ`].sort());
  const got = await anon('GET', '/acl/doc.txt');
  assert.equal(got.status, 200);
  assert.equal(await got.text(), 'public bytes');
  assert.equal(got.headers.get('content-type'), 'text/plain');
  const list = await anon('GET', '/acl?list-type=2');
  assert.equal(list.status, 200);
  assert.match(await list.text(), /<Key>doc\.txt<\/Key>/);
  assert.equal((await anon('HEAD', '/acl/doc.txt')).status, 200);
  const write = await anon('PUT', '/acl/anon.txt', 'x');
  assert.equal(write.status, 403);
  assert.equal((await anon('DELETE', '/acl/doc.txt')).status, 403);
  // Another user reads too (AllUsers includes everyone) but cannot change the ACL.
  const viaAlice = await alice.send(new GetObjectCommand({ Bucket: 'acl', Key: 'doc.txt' }));
  assert.equal(await viaAlice.Body!.transformToString(), 'public bytes');
  assert.equal((await errorOf(alice.send(new PutBucketAclCommand({ Bucket: 'acl', ACL: 'public-read-write' })))).name, 'AccessDenied');
  assert.equal((await errorOf(alice.send(new PutObjectCommand({ Bucket: 'acl', Key: 'alice.txt', Body: 'x' })))).status, 403);

  await root.send(new PutBucketAclCommand({ Bucket: 'acl', ACL: 'private' }));
  assert.equal((await anon('GET', '/acl/doc.txt')).status, 403);
  assert.deepEqual(grantsOf((await root.send(new GetBucketAclCommand({ Bucket: 'acl' }))).Grants), [`CanonicalUser:${rootId}:FULL_CONTROL`]);
});

test('public-read-write lets anonymous clients write and delete', async () => {
  await root.send(new PutBucketAclCommand({ Bucket: 'acl', ACL: 'public-read-write' }));
  assert.equal((await anon('PUT', '/acl/anon.txt', 'from nobody')).status, 200);
  const back = await root.send(new GetObjectCommand({ Bucket: 'acl', Key: 'anon.txt' }));
  assert.equal(await back.Body!.transformToString(), 'from nobody');
  assert.equal((await anon('DELETE', '/acl/anon.txt')).status, 204);
  await root.send(new PutBucketAclCommand({ Bucket: 'acl', ACL: 'private' }));
});

test('an AccessControlPolicy body and grant headers give users and groups their permissions; GetObjectAcl shows the same', async () => {
  await root.send(new PutBucketAclCommand({
    Bucket: 'acl',
    AccessControlPolicy: {
      Owner: { ID: rootId },
      Grants: [
        { Grantee: { Type: 'CanonicalUser', ID: rootId }, Permission: 'FULL_CONTROL' },
        { Grantee: { Type: 'CanonicalUser', ID: aliceId }, Permission: 'READ' },
        { Grantee: { Type: 'Group', URI: AUTH_USERS }, Permission: 'READ_ACP' },
      ],
    },
  }));
  const expected = [`CanonicalUser:${rootId}:FULL_CONTROL`, `CanonicalUser:${aliceId}:READ`, `Group:${AUTH_USERS}:READ_ACP`].sort();
  assert.deepEqual(grantsOf((await root.send(new GetBucketAclCommand({ Bucket: 'acl' }))).Grants), expected);
  assert.deepEqual(grantsOf((await alice.send(new GetObjectAclCommand({ Bucket: 'acl', Key: 'doc.txt' }))).Grants), expected);
  const viaAlice = await alice.send(new GetObjectCommand({ Bucket: 'acl', Key: 'doc.txt' }));
  assert.equal(await viaAlice.Body!.transformToString(), 'public bytes');
  assert.equal((await errorOf(alice.send(new PutObjectCommand({ Bucket: 'acl', Key: 'a.txt', Body: 'x' })))).status, 403);
  assert.equal((await anon('GET', '/acl/doc.txt')).status, 403, 'a user grant opens nothing to anonymous clients');
  await root.send(new PutBucketAclCommand({ Bucket: 'acl', GrantWrite: `id="${aliceId}"`, GrantRead: `uri="${ALL_USERS}"` }));
  await alice.send(new PutObjectCommand({ Bucket: 'acl', Key: 'a.txt', Body: 'by alice' }));
  assert.equal(await (await anon('GET', '/acl/a.txt')).text(), 'by alice');
  await root.send(new PutBucketAclCommand({ Bucket: 'acl', ACL: 'private' }));
});

test('CreateBucket with a canned ACL', async () => {
  await root.send(new CreateBucketCommand({ Bucket: 'acl-born-public', ACL: 'public-read' }));
  await root.send(new PutObjectCommand({ Bucket: 'acl-born-public', Key: 'k', Body: 'v' }));
  assert.equal(await (await anon('GET', '/acl-born-public/k')).text(), 'v');
});

test('bad ACL requests get S3 errors and change nothing', async () => {
  await root.send(new PutBucketAclCommand({ Bucket: 'acl', ACL: 'public-read' }));
  const put = (headers: Record<string, string>, body?: string) => raw.send({ method: 'PUT', path: '/acl', query: { acl: '' }, headers, body });
  assertError(await put({ 'x-amz-acl': 'world-writable' }), 400, 'InvalidArgument');
  assertError(await put({ 'x-amz-acl': 'private', 'x-amz-grant-read': `id="${aliceId}"` }), 400, 'InvalidRequest');
  assertError(await put({}, '<AccessControlPolicy><AccessControlList><Grant><Permission>EVERYTHING</Permission></Grant></AccessControlList></AccessControlPolicy>'), 400, 'MalformedACLError');
  assertError(await put({}, '<AccessControlPolicy><Owner>'), 400, 'MalformedXML');
  assertError(await put({}, '<NotAnAcl/>'), 400, 'MalformedXML');
  assertError(await put({ 'x-amz-grant-read': 'uri="http://example.com/everyone"' }), 400, 'InvalidArgument');
  assertError(await put({}), 400, 'MissingSecurityHeader');
  assertError(await raw.send({ method: 'PUT', path: '/acl', query: { acl: '' }, headers: { 'x-amz-acl': 'private' }, as: ALICE_KEY }), 403, 'AccessDenied');
  assertError(await raw.send({ method: 'PUT', path: '/no-such-bucket', query: { acl: '' }, headers: { 'x-amz-acl': 'private' } }), 404, 'NoSuchBucket');
  // Still public-read after all of that.
  assert.equal(await (await anon('GET', '/acl/doc.txt')).text(), 'public bytes');
  assert.deepEqual(grantsOf((await root.send(new GetBucketAclCommand({ Bucket: 'acl' }))).Grants), [`CanonicalUser:${rootId}:FULL_CONTROL`, `Group:${ALL_USERS}:READ`].sort());
});
