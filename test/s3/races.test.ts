// Requests that race on one bucket or one upload: whichever wins, the outcome is one that some
// serial order of the acknowledged requests explains, and a deleted bucket's data never shows up
// in a bucket that another user creates under the same name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ALICE_KEY, startGateway, type TestGateway } from '../lib/gateway.js';
import { assertNoServerErrors, S3Http, texts, parseXml } from '../lib/s3http.js';

let gw: TestGateway;
let s3: S3Http;

before(async () => {
  gw = await startGateway();
  s3 = new S3Http(gw.endpoint);
});
after(async () => {
  await s3?.close();
  await gw?.stop();
});

/** The UploadIds a bucket lists, as `as` sees them (asserting 200). */
async function uploadIds(bucket: string, as?: typeof ALICE_KEY): Promise<string[]> {
  const res = await s3.send({ path: `/${bucket}?uploads`, as });
  assert.equal(res.status, 200, res.text);
  return texts(await parseXml(res.text), 'Upload', 'UploadId');
}

test('DeleteBucket racing with PUTs and CreateMultipartUpload: either the delete or the writes win, and a new owner of the name finds nothing', async () => {
  let deletesWon = 0;
  let writesWon = 0;
  for (let round = 0; round < 12; round++) {
    const bucket = `race-delete-${round}`;
    await s3.createBucket(bucket);
    const [del, ...writes] = await Promise.all([
      s3.send({ method: 'DELETE', path: `/${bucket}` }),
      ...Array.from({ length: 4 }, (_, i) => s3.send({ method: 'PUT', path: `/${bucket}/k${i}`, body: Buffer.alloc(round % 2 ? 100_000 : 1000, 65 + i) })),
      s3.send({ method: 'POST', path: `/${bucket}/upload?uploads` }),
    ]);
    const puts = writes.slice(0, 4);
    const create = writes[4];
    for (const r of writes) assert.ok(r.status === 200 || r.status === 404, `a write answered ${r.status}: ${r.text}`);
    const stored = puts.flatMap((r, i) => (r.status === 200 ? [`k${i}`] : []));
    if (del.status === 204) {
      deletesWon++;
      assert.deepEqual(stored, [], 'no PUT is acknowledged into a bucket that was deleted');
      assert.equal(create.status, 404, 'no upload is acknowledged into a bucket that was deleted');
      // Another user takes the name: the bucket must be new and empty.
      await s3.createBucket(bucket, ALICE_KEY);
      assert.deepEqual(await s3.keys(bucket, ALICE_KEY), []);
      assert.deepEqual(await uploadIds(bucket, ALICE_KEY), []);
      for (let i = 0; i < 4; i++) assert.equal((await s3.send({ path: `/${bucket}/k${i}`, as: ALICE_KEY })).status, 404);
      assert.equal((await s3.send({ method: 'DELETE', path: `/${bucket}`, as: ALICE_KEY })).status, 204);
    } else {
      writesWon++;
      assert.equal(del.status, 409, del.text);
      assert.match(del.text, /<Code>BucketNotEmpty<\/Code>/);
      // The bucket is still there with exactly what was acknowledged.
      assert.deepEqual(await s3.keys(bucket), stored);
      const ids = await uploadIds(bucket);
      assert.deepEqual(ids, create.status === 200 ? [/<UploadId>([^<]+)</.exec(create.text)![1]] : []);
      for (const id of ids) assert.equal((await s3.send({ method: 'DELETE', path: `/${bucket}/upload?uploadId=${id}` })).status, 204);
      for (const key of stored) assert.equal((await s3.send({ method: 'DELETE', path: `/${bucket}/${key}` })).status, 204);
      assert.equal((await s3.send({ method: 'DELETE', path: `/${bucket}` })).status, 204);
    }
  }
  assert.equal(deletesWon + writesWon, 12);
  assertNoServerErrors(gw);
});

test('CompleteMultipartUpload racing with AbortMultipartUpload: exactly one of them succeeds', async () => {
  await s3.createBucket('race-complete');
  const outcomes = new Map<string, number>();
  for (let round = 0; round < 16; round++) {
    const key = `object-${round}`;
    const created = await s3.send({ method: 'POST', path: `/race-complete/${key}?uploads` });
    assert.equal(created.status, 200, created.text);
    const uploadId = /<UploadId>([^<]+)</.exec(created.text)![1];
    const part = await s3.send({ method: 'PUT', path: `/race-complete/${key}?partNumber=1&uploadId=${encodeURIComponent(uploadId)}`, body: Buffer.alloc(1000, round) });
    assert.equal(part.status, 200, part.text);
    const xml = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.headers.etag}</ETag></Part></CompleteMultipartUpload>`;
    const [complete, abort] = await Promise.all([
      s3.send({ method: 'POST', path: `/race-complete/${key}?uploadId=${encodeURIComponent(uploadId)}`, body: xml }),
      s3.send({ method: 'DELETE', path: `/race-complete/${key}?uploadId=${encodeURIComponent(uploadId)}` }),
    ]);
    const outcome = `complete=${complete.status} abort=${abort.status}`;
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    const object = await s3.get('race-complete', key);
    if (complete.status === 200) {
      assert.equal(abort.status, 404, `an abort acknowledged while the upload completed: ${outcome}`);
      assert.match(abort.text, /<Code>NoSuchUpload<\/Code>/);
      assert.equal(object.status, 200);
      assert.ok(object.body.equals(Buffer.alloc(1000, round)));
    } else {
      assert.equal(abort.status, 204, `neither succeeded: ${outcome} ${complete.text}`);
      assert.equal(complete.status, 404, complete.text);
      assert.match(complete.text, /<Code>NoSuchUpload<\/Code>/);
      assert.equal(object.status, 404);
    }
    assert.deepEqual(await uploadIds('race-complete'), [], 'the upload is gone either way');
  }
  assertNoServerErrors(gw);
});
