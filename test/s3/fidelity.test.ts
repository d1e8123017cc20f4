// S3 behaviours that S3-compatible servers tend to get subtly wrong, checked with the AWS SDK for
// JavaScript v3 and with presigned URLs fetched directly (which shows the raw status and body):
// partNumber reads past the last part, checksums in presigned query strings, the CRC64NVME S3
// stores for uploads without a checksum, and keys holding characters XML 1.0 cannot carry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  S3Client, CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand,
  GetObjectCommand, HeadObjectCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { s3Client, serviceError } from '../lib/sdk.js';
import { startGateway, ROOT_KEY, type TestGateway } from '../lib/gateway.js';


const MiB = 1024 * 1024;
let gw: TestGateway;
let s3: S3Client;

function client(endpoint: string, extra: Partial<ConstructorParameters<typeof S3Client>[0]> = {}): S3Client {
  return s3Client(endpoint, ROOT_KEY, extra);
}

const failure = serviceError;

async function bytesOf(c: S3Client, Bucket: string, Key: string, PartNumber?: number): Promise<Buffer> {
  const r = await c.send(new GetObjectCommand({ Bucket, Key, PartNumber }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

async function crc64nvme(data: Buffer): Promise<string> {
  const h = new Crc64Nvme();
  h.update(data);
  return Buffer.from(await h.digest()).toString('base64');
}

const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

before(async () => {
  gw = await startGateway();
  s3 = client(gw.endpoint);
});
after(async () => {
  s3?.destroy();
  await gw?.stop();
});

test('partNumber: 1 reads a single-part object whole; past the last part is 416 InvalidPartNumber', async () => {
  const Bucket = 'fid-parts';
  await s3.send(new CreateBucketCommand({ Bucket }));
  const single = Buffer.from('abcdefghijklmnopqrstuvwxyz');
  await s3.send(new PutObjectCommand({ Bucket, Key: 'single', Body: single }));
  const p1 = randomBytes(5 * MiB);
  const p2 = randomBytes(1000);
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'multi' }));
  const parts = [];
  for (const [i, Body] of [p1, p2].entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket, Key: 'multi', UploadId, PartNumber: i + 1, Body }));
    parts.push({ PartNumber: i + 1, ETag: r.ETag });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'multi', UploadId, MultipartUpload: { Parts: parts } }));

  const whole = await s3.send(new GetObjectCommand({ Bucket, Key: 'single', PartNumber: 1 }));
  assert.equal(whole.$metadata.httpStatusCode, 206);
  assert.equal(whole.ContentRange, 'bytes 0-25/26');
  assert.ok(Buffer.from(await whole.Body!.transformToByteArray()).equals(single));
  const second = await s3.send(new GetObjectCommand({ Bucket, Key: 'multi', PartNumber: 2 }));
  assert.equal(second.PartsCount, 2);
  assert.equal(second.ContentRange, `bytes ${p1.length}-${p1.length + p2.length - 1}/${p1.length + p2.length}`);
  assert.ok(Buffer.from(await second.Body!.transformToByteArray()).equals(p2));

  // A part the object does not have: 416 InvalidPartNumber (S3's error, as in OpenStack Swift's
  // s3api and LocalStack's AWS-derived spec), counting a single-part object as one part.
  for (const [Key, PartNumber, count] of [['single', 2, 1], ['multi', 3, 2], ['multi', 10000, 2]] as const) {
    const e = await failure(s3.send(new GetObjectCommand({ Bucket, Key, PartNumber })));
    assert.equal(e.name, 'InvalidPartNumber', `${Key} part ${PartNumber}`);
    assert.equal(e.$metadata.httpStatusCode, 416);
    const raw = await fetch(await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key, PartNumber }), { expiresIn: 300 }));
    assert.equal(raw.status, 416);
    const body = await raw.text();
    assert.match(body, /<Code>InvalidPartNumber<\/Code><Message>The requested partnumber is not satisfiable<\/Message>/);
    assert.match(body, new RegExp(`<PartNumberRequested>${PartNumber}</PartNumberRequested><ActualPartCount>${count}</ActualPartCount>`));
    const head = await fetch(await getSignedUrl(s3, new HeadObjectCommand({ Bucket, Key, PartNumber }), { expiresIn: 300 }), { method: 'HEAD' });
    assert.equal(head.status, 416);
    assert.equal((await head.arrayBuffer()).byteLength, 0);
  }
  // Outside 1..10000 the number itself is refused, before any lookup.
  for (const PartNumber of [0, 10001]) {
    const e = await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'multi', PartNumber })));
    assert.equal(e.name, 'InvalidArgument');
    assert.equal(e.$metadata.httpStatusCode, 400);
  }
  assert.ok((await bytesOf(s3, Bucket, 'multi', 1)).equals(p1));
});

test('a default presigned PUT carries the empty body\'s CRC32 in its query: ignored, as S3 does', async () => {
  const Bucket = 'fid-presign';
  await s3.send(new CreateBucketCommand({ Bucket }));
  const url = new URL(await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: 'q' }), { expiresIn: 300 }));
  assert.equal(url.searchParams.get('x-amz-checksum-crc32'), 'AAAAAA==', 'the SDK signs the CRC32 of an empty body');
  assert.equal(url.searchParams.get('x-amz-sdk-checksum-algorithm'), 'CRC32');
  const body = randomBytes(10_000);
  const put = await fetch(url, { method: 'PUT', body });
  assert.equal(put.status, 200, await put.text());
  assert.equal(put.headers.get('etag'), `"${md5(body)}"`);
  assert.equal(put.headers.get('x-amz-checksum-crc32'), null);
  assert.ok((await bytesOf(s3, Bucket, 'q')).equals(body));
  const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'q', ChecksumMode: 'ENABLED' }));
  assert.equal(head.ChecksumCRC32, undefined, 'the query value is not stored either');

  // A checksum the URL requires as a signed header is verified like any header checksum.
  const hello = 'NhCmhg=='; // CRC32 of "hello"
  const signed = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: 'h', ChecksumCRC32: hello }), { expiresIn: 300, unhoistableHeaders: new Set(['x-amz-checksum-crc32']) });
  assert.match(new URL(signed).searchParams.get('X-Amz-SignedHeaders') ?? '', /x-amz-checksum-crc32/);
  const bad = await fetch(signed, { method: 'PUT', body: 'jello', headers: { 'x-amz-checksum-crc32': hello } });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /<Code>BadDigest<\/Code>/);
  assert.equal((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'h' })))).$metadata.httpStatusCode, 404);
  const good = await fetch(signed, { method: 'PUT', body: 'hello', headers: { 'x-amz-checksum-crc32': hello } });
  assert.equal(good.status, 200, await good.text());
  assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'h', ChecksumMode: 'ENABLED' }))).ChecksumCRC32, hello);
});

test('a PUT without a checksum stores none unless the default CRC64NVME is enabled (CPU cost)', async () => {
  const Bucket = 'fid-nochecksum';
  const plain = client(gw.endpoint, { requestChecksumCalculation: 'WHEN_REQUIRED' });
  await plain.send(new CreateBucketCommand({ Bucket }));
  const put = await plain.send(new PutObjectCommand({ Bucket, Key: 'k', Body: randomBytes(1000) }));
  assert.equal(put.ChecksumCRC64NVME, undefined);
  assert.equal((await plain.send(new HeadObjectCommand({ Bucket, Key: 'k', ChecksumMode: 'ENABLED' }))).ChecksumCRC64NVME, undefined);
  plain.destroy();
});

test('with GATEWAY_DEFAULT_CHECKSUM=crc64nvme, a PUT without a checksum stores the CRC64NVME S3 would', async () => {
  const withDefault = await startGateway({ env: { GATEWAY_DEFAULT_CHECKSUM: 'crc64nvme' } });
  const endpoint = withDefault.endpoint;
  const plain = client(endpoint, { requestChecksumCalculation: 'WHEN_REQUIRED' });
  const crc32 = client(endpoint);
  try {
    const Bucket = 'fid-default';
    await plain.send(new CreateBucketCommand({ Bucket }));
    const data = randomBytes(3 * MiB + 7);
    const expected = await crc64nvme(data);
    const put = await plain.send(new PutObjectCommand({ Bucket, Key: 'k', Body: data }));
    assert.equal(put.ChecksumCRC64NVME, expected);
    assert.equal(put.ChecksumType, 'FULL_OBJECT');
    assert.equal(put.ETag, `"${md5(data)}"`);
    const head = await plain.send(new HeadObjectCommand({ Bucket, Key: 'k', ChecksumMode: 'ENABLED' }));
    assert.equal(head.ChecksumCRC64NVME, expected);
    const got = await plain.send(new GetObjectCommand({ Bucket, Key: 'k', ChecksumMode: 'ENABLED' }));
    assert.equal(got.ChecksumCRC64NVME, expected);
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data));
    const empty = await plain.send(new PutObjectCommand({ Bucket, Key: 'empty', Body: Buffer.alloc(0) }));
    assert.equal(empty.ChecksumCRC64NVME, 'AAAAAAAAAAA=');

    // A client's own checksum is the one stored, alone.
    const own = await crc32.send(new PutObjectCommand({ Bucket, Key: 'own', Body: data }));
    assert.ok(own.ChecksumCRC32);
    assert.equal(own.ChecksumCRC64NVME, undefined);
    const ownHead = await crc32.send(new HeadObjectCommand({ Bucket, Key: 'own', ChecksumMode: 'ENABLED' }));
    assert.equal(ownHead.ChecksumCRC32, own.ChecksumCRC32);
    assert.equal(ownHead.ChecksumCRC64NVME, undefined);
  } finally {
    plain.destroy();
    crc32.destroy();
    await withDefault.stop();
  }
});

test('a key with U+0001 lists with EncodingType url (encoded) and without it (as a character reference)', async () => {
  const Bucket = 'fid-ctl';
  await s3.send(new CreateBucketCommand({ Bucket }));
  const keys = ['a b+c', 'ctl\u0001key'];
  for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));

  // The JS SDK v3 leaves url-encoded keys as sent (botocore decodes them itself): form-style
  // encoding, so '+' is a space and %2B a plus.
  const encoded = await s3.send(new ListObjectsV2Command({ Bucket, EncodingType: 'url' }));
  assert.equal(encoded.EncodingType, 'url');
  assert.deepEqual(encoded.Contents?.map((c) => c.Key), ['a+b%2Bc', 'ctl%01key']);
  const decoded = encoded.Contents!.map((c) => decodeURIComponent(c.Key!.replace(/\+/g, ' ')));
  assert.deepEqual(decoded, keys);
  for (const Key of decoded) assert.equal((await bytesOf(s3, Bucket, Key)).toString(), Key);

  // Without encoding-type the key goes out as &#x1; like S3 does, never as a raw control byte;
  // the SDK's parser reads the reference back (strict XML 1.0 parsers refuse it).
  const raw = await fetch(await getSignedUrl(s3, new ListObjectsV2Command({ Bucket }), { expiresIn: 300 }));
  const bytes = Buffer.from(await raw.arrayBuffer());
  assert.equal(raw.status, 200);
  assert.ok(!bytes.includes(0x01), 'no raw control byte in the XML');
  assert.match(bytes.toString(), /<Key>ctl&#x1;key<\/Key>/);
  assert.deepEqual((await s3.send(new ListObjectsV2Command({ Bucket }))).Contents?.map((c) => c.Key), keys);
  assert.deepEqual((await s3.send(new ListObjectsCommand({ Bucket }))).Contents?.map((c) => c.Key), keys);
});
