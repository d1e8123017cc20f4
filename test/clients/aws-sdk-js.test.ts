// The AWS SDK for JavaScript v3 with its default settings (only endpoint, region, credentials and
// path style set) against a gateway started here. Current SDKs send CRC32 checksums and aws-chunked
// bodies with trailers by default, so these tests also check that no framing ever reaches the data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import {
  S3Client, AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand,
  CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand, DeleteObjectsCommand, GetBucketLocationCommand,
  GetBucketVersioningCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListBucketsCommand,
  ListMultipartUploadsCommand, ListObjectVersionsCommand, ListObjectsCommand, ListObjectsV2Command, ListPartsCommand,
  PutObjectCommand, UploadPartCommand, UploadPartCopyCommand, type CompletedPart,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { s3Client, serviceError } from '../lib/sdk.js';
import { startGateway, ALICE_KEY, ROOT_KEY, type TestGateway } from '../lib/gateway.js';


const MiB = 1024 * 1024;
let gw: TestGateway;
let s3: S3Client;

function client(key = ROOT_KEY, extra: Partial<ConstructorParameters<typeof S3Client>[0]> = {}): S3Client {
  return s3Client(gw.endpoint, key, extra);
}

/** Records the method, host, path and headers of every request as it leaves the client (after signing). */
function spy(c: S3Client): Array<{ method: string; host: string; path: string; headers: Record<string, string> }> {
  const seen: Array<{ method: string; host: string; path: string; headers: Record<string, string> }> = [];
  c.middlewareStack.add((next) => async (args) => {
    const req = args.request as { method: string; hostname: string; path: string; headers: Record<string, string> };
    seen.push({ method: req.method, host: req.headers.host ?? req.hostname, path: req.path, headers: { ...req.headers } });
    return next(args);
  }, { step: 'deserialize', name: 'requestSpy' });
  return seen;
}

const failure = serviceError;

async function bytesOf(bucket: string, key: string, extra: { Range?: string } = {}): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...extra }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

const crc32b64 = (b: Buffer): string => { const out = Buffer.alloc(4); out.writeUInt32BE(crc32(b)); return out.toString('base64'); };
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

before(async () => {
  gw = await startGateway();
  s3 = client();
});
after(async () => {
  s3?.destroy();
  await gw?.stop();
});

test('buckets: create, already owned, list with owner, head, location', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'js-buckets' }));
  const again = await failure(s3.send(new CreateBucketCommand({ Bucket: 'js-buckets' })));
  assert.equal(again.name, 'BucketAlreadyOwnedByYou');
  assert.equal(again.$metadata.httpStatusCode, 409);
  await s3.send(new CreateBucketCommand({ Bucket: 'js-zoned', CreateBucketConfiguration: { LocationConstraint: 'sh1a' as never } }));

  const list = await s3.send(new ListBucketsCommand({}));
  assert.equal(list.Owner?.DisplayName, 'root');
  assert.match(list.Owner?.ID ?? '', /^[0-9a-f]{64}$/);
  const names = list.Buckets!.map((b) => b.Name);
  assert.ok(names.includes('js-buckets') && names.includes('js-zoned'), names.join(','));
  assert.ok(list.Buckets!.every((b) => b.CreationDate instanceof Date));

  // Another user sees neither bucket, and cannot read them.
  const alice = client(ALICE_KEY);
  const theirs = await alice.send(new ListBucketsCommand({}));
  assert.equal(theirs.Owner?.DisplayName, 'alice');
  assert.deepEqual(theirs.Buckets ?? [], []);
  assert.equal((await failure(alice.send(new ListObjectsV2Command({ Bucket: 'js-buckets' })))).name, 'AccessDenied');
  alice.destroy();

  const head = await s3.send(new HeadBucketCommand({ Bucket: 'js-zoned' }));
  assert.equal(head.$metadata.httpStatusCode, 200);
  assert.equal(head.BucketRegion, 'sh1a');
  assert.equal((await s3.send(new GetBucketLocationCommand({ Bucket: 'js-zoned' }))).LocationConstraint, 'sh1a');
  const missing = await failure(s3.send(new HeadBucketCommand({ Bucket: 'js-no-such-bucket' })));
  assert.equal(missing.$metadata.httpStatusCode, 404);
});

test('PutObject bodies: string, Buffer, sized stream (aws-chunked with CRC32 trailer), unknown-length stream', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'js-bodies' }));
  const seen = spy(s3);
  const text = 'héllo wörld\r\n0\r\n';
  await s3.send(new PutObjectCommand({ Bucket: 'js-bodies', Key: 'string.txt', Body: text }));
  assert.equal((await bytesOf('js-bodies', 'string.txt')).toString('utf8'), text);

  const buf = randomBytes(100_003);
  const put = await s3.send(new PutObjectCommand({ Bucket: 'js-bodies', Key: 'buffer.bin', Body: buf }));
  assert.equal(put.ETag, `"${md5(buf)}"`);
  assert.equal(put.ChecksumCRC32, crc32b64(buf));
  assert.ok((await bytesOf('js-bodies', 'buffer.bin')).equals(buf));

  // A stream with a known length goes out aws-chunked with the CRC32 as a trailer.
  const streamed = randomBytes(300_001);
  const chunks = [streamed.subarray(0, 65_536), streamed.subarray(65_536, 200_000), streamed.subarray(200_000)];
  const sp = await s3.send(new PutObjectCommand({ Bucket: 'js-bodies', Key: 'stream.bin', Body: Readable.from(chunks), ContentLength: streamed.length }));
  const wire = seen.find((r) => r.path.endsWith('/stream.bin'))!;
  assert.equal(wire.headers['content-encoding'], 'aws-chunked');
  assert.equal(wire.headers['x-amz-content-sha256'], 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
  assert.equal(wire.headers['x-amz-trailer'], 'x-amz-checksum-crc32');
  assert.equal(sp.ChecksumCRC32, crc32b64(streamed));
  const back = await s3.send(new HeadObjectCommand({ Bucket: 'js-bodies', Key: 'stream.bin' }));
  assert.equal(back.ContentLength, streamed.length);
  assert.equal(back.ContentEncoding, undefined, 'aws-chunked is a transfer detail, not stored');
  const got = await bytesOf('js-bodies', 'stream.bin');
  assert.equal(got.length, streamed.length);
  assert.ok(got.equals(streamed), 'no chunk framing or trailer in the object');

  // PutObject refuses a stream without a length in the SDK itself; apps use lib-storage's Upload for that.
  const unknown = randomBytes(70_000);
  await new Upload({ client: s3, params: { Bucket: 'js-bodies', Key: 'unknown.bin', Body: Readable.from([unknown.subarray(0, 1000), unknown.subarray(1000)]) } }).done();
  assert.ok((await bytesOf('js-bodies', 'unknown.bin')).equals(unknown));
  s3.middlewareStack.remove('requestSpy');
});

test('GetObject: range, and checksum mode returns the CRC32', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'js-get' }));
  const data = randomBytes(10_000);
  await s3.send(new PutObjectCommand({ Bucket: 'js-get', Key: 'obj', Body: data }));
  const part = await s3.send(new GetObjectCommand({ Bucket: 'js-get', Key: 'obj', Range: 'bytes=1000-1999' }));
  assert.equal(part.$metadata.httpStatusCode, 206);
  assert.equal(part.ContentRange, 'bytes 1000-1999/10000');
  assert.equal(part.ContentLength, 1000);
  assert.ok(Buffer.from(await part.Body!.transformToByteArray()).equals(data.subarray(1000, 2000)));
  assert.ok((await bytesOf('js-get', 'obj', { Range: 'bytes=-10' })).equals(data.subarray(9990)));

  const full = await s3.send(new GetObjectCommand({ Bucket: 'js-get', Key: 'obj', ChecksumMode: 'ENABLED' }));
  assert.equal(full.ChecksumCRC32, crc32b64(data));
  assert.equal(full.ChecksumType, 'FULL_OBJECT');
  assert.ok(Buffer.from(await full.Body!.transformToByteArray()).equals(data));
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'js-get', Key: 'obj', ChecksumMode: 'ENABLED' }));
  assert.equal(head.ChecksumCRC32, crc32b64(data));

  const range = await failure(s3.send(new GetObjectCommand({ Bucket: 'js-get', Key: 'obj', Range: 'bytes=10000-' })));
  assert.equal(range.name, 'InvalidRange');
  assert.equal(range.$metadata.httpStatusCode, 416);
});

test('empty object: HeadObject says ContentLength 0, GetObject returns no bytes', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'js-empty' }));
  // The SDK sends an empty string body without Content-Length (and warns about it).
  const put = await s3.send(new PutObjectCommand({ Bucket: 'js-empty', Key: 'empty', Body: '' }));
  assert.equal(put.ETag, '"d41d8cd98f00b204e9800998ecf8427e"');
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'js-empty', Key: 'empty' }));
  assert.equal(head.ContentLength, 0);
  assert.equal(head.ETag, '"d41d8cd98f00b204e9800998ecf8427e"');
  assert.equal((await bytesOf('js-empty', 'empty')).length, 0);
});

test('metadata and content headers round trip, through CopyObject COPY and REPLACE', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'js-meta' }));
  const attrs = {
    ContentType: 'text/plain; charset=utf-8',
    ContentDisposition: 'attachment; filename="report.txt"',
    ContentEncoding: 'gzip',
    CacheControl: 'max-age=60, private',
    ContentLanguage: 'de-DE',
    Metadata: { color: 'blue', 'multi-word': 'two words' },
  };
  // A stream body makes the SDK send `Content-Encoding: gzip,aws-chunked`; only gzip is the object's.
  const data = Buffer.from('not really gzip, the gateway stores what it is told');
  await s3.send(new PutObjectCommand({ Bucket: 'js-meta', Key: 'src key+%.txt', Body: Readable.from([data]), ContentLength: data.length, ...attrs }));
  const check = async (key: string, want: typeof attrs) => {
    const h = await s3.send(new HeadObjectCommand({ Bucket: 'js-meta', Key: key }));
    assert.deepEqual(
      { ContentType: h.ContentType, ContentDisposition: h.ContentDisposition, ContentEncoding: h.ContentEncoding, CacheControl: h.CacheControl, ContentLanguage: h.ContentLanguage, Metadata: h.Metadata },
      want, key);
    assert.equal(h.ContentLength, data.length);
  };
  await check('src key+%.txt', attrs);
  assert.ok((await bytesOf('js-meta', 'src key+%.txt')).equals(data));

  // The copy source is URL-encoded by the caller, as the S3 API requires.
  const source = `js-meta/${encodeURIComponent('src key+%.txt')}`;
  const copied = await s3.send(new CopyObjectCommand({ Bucket: 'js-meta', Key: 'copy.txt', CopySource: source }));
  assert.equal(copied.CopyObjectResult?.ETag, `"${md5(data)}"`);
  await check('copy.txt', attrs);
  assert.ok((await bytesOf('js-meta', 'copy.txt')).equals(data));

  await s3.send(new CopyObjectCommand({ Bucket: 'js-meta', Key: 'replaced.txt', CopySource: source, MetadataDirective: 'REPLACE', ContentType: 'application/json', Metadata: { fresh: 'yes' } }));
  const h = await s3.send(new HeadObjectCommand({ Bucket: 'js-meta', Key: 'replaced.txt' }));
  assert.equal(h.ContentType, 'application/json');
  assert.deepEqual(h.Metadata, { fresh: 'yes' });
  assert.equal(h.ContentDisposition, undefined);
  assert.equal(h.CacheControl, undefined);
  assert.ok((await bytesOf('js-meta', 'replaced.txt')).equals(data));
});

test('listings: V2 pagination over 25 keys, V1 with delimiter, versions, versioning status, DeleteObjects', async () => {
  const bucket = 'js-list';
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const keys = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, '0')}`);
  await Promise.all(keys.map((k) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: k }))));

  const pages: string[][] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 10, ContinuationToken: token }));
    pages.push(page.Contents!.map((c) => c.Key!));
    assert.equal(page.KeyCount, pages.at(-1)!.length);
    assert.equal(page.IsTruncated, pages.length < 3);
    assert.ok(page.Contents!.every((c) => c.Size === 3 && c.ETag === `"${md5(Buffer.from(c.Key!))}"`));
    token = page.NextContinuationToken;
  } while (token && pages.length < 5);
  assert.deepEqual(pages, [keys.slice(0, 10), keys.slice(10, 20), keys.slice(20)]);

  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/a', Body: 'a' }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/sub/b', Body: 'b' }));
  const v1 = await s3.send(new ListObjectsCommand({ Bucket: bucket, Delimiter: '/', Marker: 'k22' }));
  assert.deepEqual(v1.Contents!.map((c) => c.Key), ['k23', 'k24']);
  assert.deepEqual(v1.CommonPrefixes, undefined);
  const v1dir = await s3.send(new ListObjectsCommand({ Bucket: bucket, Delimiter: '/', Prefix: 'dir/' }));
  assert.deepEqual(v1dir.Contents!.map((c) => c.Key), ['dir/a']);
  assert.deepEqual(v1dir.CommonPrefixes!.map((p) => p.Prefix), ['dir/sub/']);
  const v1page = await s3.send(new ListObjectsCommand({ Bucket: bucket, MaxKeys: 2 }));
  assert.deepEqual(v1page.Contents!.map((c) => c.Key), ['dir/a', 'dir/sub/b']);
  assert.equal(v1page.IsTruncated, true);

  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'dir/' }));
  assert.deepEqual(versions.Versions!.map((v) => [v.Key, v.VersionId, v.IsLatest]), [['dir/a', 'null', true], ['dir/sub/b', 'null', true]]);
  assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, undefined);

  const loud = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'k00' }, { Key: 'k01' }, { Key: 'never-existed' }] } }));
  assert.deepEqual(loud.Deleted!.map((d) => d.Key).sort(), ['k00', 'k01', 'never-existed']);
  assert.equal(loud.Errors, undefined);
  const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Quiet: true, Objects: keys.slice(2, 24).map((Key) => ({ Key })) } }));
  assert.equal(quiet.Deleted, undefined);
  assert.equal(quiet.Errors, undefined);
  const rest = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  assert.deepEqual(rest.Contents!.map((c) => c.Key), ['dir/a', 'dir/sub/b', 'k24']);
});

test('presigned GET and PUT URLs work with fetch', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'js-presign' }));
  const key = 'folder/a file+name.txt';
  const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'js-presign', Key: key }), { expiresIn: 300 });
  const body = randomBytes(4096);
  const put = await fetch(putUrl, { method: 'PUT', body });
  assert.equal(put.status, 200, await put.text());
  assert.equal(put.headers.get('etag'), `"${md5(body)}"`);
  assert.ok((await bytesOf('js-presign', key)).equals(body));

  const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'js-presign', Key: key }), { expiresIn: 300 });
  const get = await fetch(getUrl);
  assert.equal(get.status, 200);
  assert.ok(Buffer.from(await get.arrayBuffer()).equals(body));
  // Without the signature the object is private.
  const bare = await fetch(getUrl.slice(0, getUrl.indexOf('?')));
  assert.equal(bare.status, 403);
  assert.match(await bare.text(), /<Code>AccessDenied<\/Code>/);
});

test('lib-storage Upload of 50 MiB is a multipart upload that reads back identical', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'js-upload' }));
  const data = randomBytes(50 * MiB);
  // A stream of 1 MiB pieces, so the SDK splits it into 5 MiB parts itself.
  const pieces = Array.from({ length: 50 }, (_, i) => data.subarray(i * MiB, (i + 1) * MiB));
  const done = await new Upload({ client: s3, params: { Bucket: 'js-upload', Key: 'big.bin', Body: Readable.from(pieces) } }).done();
  assert.match(done.ETag ?? '', /^"[0-9a-f]{32}-10"$/);
  const partMd5s = Buffer.concat(Array.from({ length: 10 }, (_, i) => createHash('md5').update(data.subarray(i * 5 * MiB, (i + 1) * 5 * MiB)).digest()));
  assert.equal(done.ETag, `"${md5(partMd5s)}-10"`);
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'js-upload', Key: 'big.bin' }));
  assert.equal(head.ContentLength, data.length);
  assert.equal(sha256(await bytesOf('js-upload', 'big.bin')), sha256(data));
  assert.deepEqual((await s3.send(new ListMultipartUploadsCommand({ Bucket: 'js-upload' }))).Uploads ?? [], []);
});

test('multipart by hand: ListParts, ListMultipartUploads, AbortMultipartUpload', async () => {
  const Bucket = 'js-mpu';
  await s3.send(new CreateBucketCommand({ Bucket }));
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'pending.bin' }));
  const p1 = randomBytes(5 * MiB);
  const p2 = randomBytes(1234);
  const r1 = await s3.send(new UploadPartCommand({ Bucket, Key: 'pending.bin', UploadId, PartNumber: 1, Body: p1 }));
  const r2 = await s3.send(new UploadPartCommand({ Bucket, Key: 'pending.bin', UploadId, PartNumber: 2, Body: p2 }));
  assert.equal(r1.ETag, `"${md5(p1)}"`);

  const parts = await s3.send(new ListPartsCommand({ Bucket, Key: 'pending.bin', UploadId }));
  assert.deepEqual(parts.Parts!.map((p) => [p.PartNumber, p.Size, p.ETag]), [[1, p1.length, r1.ETag], [2, p2.length, r2.ETag]]);
  assert.equal(parts.IsTruncated, false);
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket }));
  assert.deepEqual(uploads.Uploads!.map((u) => [u.Key, u.UploadId]), [['pending.bin', UploadId]]);

  await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: 'pending.bin', UploadId }));
  assert.deepEqual((await s3.send(new ListMultipartUploadsCommand({ Bucket }))).Uploads ?? [], []);
  const gone = await failure(s3.send(new UploadPartCommand({ Bucket, Key: 'pending.bin', UploadId, PartNumber: 3, Body: 'x' })));
  assert.equal(gone.name, 'NoSuchUpload');
  assert.equal((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'pending.bin' })))).$metadata.httpStatusCode, 404);
});

test('UploadPartCopy with CopySourceRange assembles an object from ranges of another', async () => {
  const Bucket = 'js-partcopy';
  await s3.send(new CreateBucketCommand({ Bucket }));
  const src = randomBytes(6 * MiB + 100);
  await s3.send(new PutObjectCommand({ Bucket, Key: 'source.bin', Body: src }));
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'assembled.bin' }));
  // Part 1: the last 5 MiB of the source; part 2: its first 100 bytes.
  const tail = src.subarray(src.length - 5 * MiB);
  const c1 = await s3.send(new UploadPartCopyCommand({ Bucket, Key: 'assembled.bin', UploadId, PartNumber: 1, CopySource: `${Bucket}/source.bin`, CopySourceRange: `bytes=${src.length - 5 * MiB}-${src.length - 1}` }));
  const c2 = await s3.send(new UploadPartCopyCommand({ Bucket, Key: 'assembled.bin', UploadId, PartNumber: 2, CopySource: `${Bucket}/source.bin`, CopySourceRange: 'bytes=0-99' }));
  assert.equal(c1.CopyPartResult?.ETag, `"${md5(tail)}"`);
  assert.equal(c2.CopyPartResult?.ETag, `"${md5(src.subarray(0, 100))}"`);
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'assembled.bin', UploadId, MultipartUpload: { Parts: [
    { PartNumber: 1, ETag: c1.CopyPartResult!.ETag }, { PartNumber: 2, ETag: c2.CopyPartResult!.ETag },
  ] } }));
  assert.match(done.ETag ?? '', /-2"$/);
  assert.ok((await bytesOf(Bucket, 'assembled.bin')).equals(Buffer.concat([tail, src.subarray(0, 100)])));
});

/** Uploads `parts` with the given checksum settings and completes with the part checksums the SDK returned. */
async function checksummedUpload(Bucket: string, Key: string, parts: Buffer[], algorithm: 'CRC32' | 'CRC64NVME', type: 'COMPOSITE' | 'FULL_OBJECT') {
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: algorithm, ChecksumType: type }));
  assert.equal(created.ChecksumAlgorithm, algorithm);
  const done: CompletedPart[] = [];
  for (const [i, Body] of parts.entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId: created.UploadId, PartNumber: i + 1, Body, ChecksumAlgorithm: algorithm }));
    done.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumCRC32: r.ChecksumCRC32, ChecksumCRC64NVME: r.ChecksumCRC64NVME });
  }
  return s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: created.UploadId, ChecksumType: type, MultipartUpload: { Parts: done } }));
}

test('multipart with CRC32 (COMPOSITE) and CRC64NVME (FULL_OBJECT) checksums', async () => {
  const Bucket = 'js-mpu-checksum';
  await s3.send(new CreateBucketCommand({ Bucket }));
  const parts = [randomBytes(5 * MiB), randomBytes(777)];
  const whole = Buffer.concat(parts);

  const composite = await checksummedUpload(Bucket, 'crc32.bin', parts, 'CRC32', 'COMPOSITE');
  // COMPOSITE: the CRC32 of the concatenated part CRC32s, suffixed with the part count.
  const expected = `${crc32b64(Buffer.concat(parts.map((p) => Buffer.from(crc32b64(p), 'base64'))))}-2`;
  assert.equal(composite.ChecksumCRC32, expected);
  const g1 = await s3.send(new GetObjectCommand({ Bucket, Key: 'crc32.bin', ChecksumMode: 'ENABLED' }));
  assert.equal(g1.ChecksumCRC32, expected);
  assert.equal(g1.ChecksumType, 'COMPOSITE');
  assert.ok(Buffer.from(await g1.Body!.transformToByteArray()).equals(whole));

  const full = await checksummedUpload(Bucket, 'crc64.bin', parts, 'CRC64NVME', 'FULL_OBJECT');
  // FULL_OBJECT: the CRC64NVME of the whole object, as if it had been one PUT.
  const hasher = new Crc64Nvme();
  hasher.update(whole);
  const crc64 = Buffer.from(await hasher.digest()).toString('base64');
  assert.equal(full.ChecksumCRC64NVME, crc64);
  const g2 = await s3.send(new GetObjectCommand({ Bucket, Key: 'crc64.bin', ChecksumMode: 'ENABLED' }));
  assert.equal(g2.ChecksumCRC64NVME, crc64);
  assert.equal(g2.ChecksumType, 'FULL_OBJECT');
  assert.ok(Buffer.from(await g2.Body!.transformToByteArray()).equals(whole));
});

test('error names: BucketNotEmpty, NoSuchKey, NoSuchBucket, SignatureDoesNotMatch, InvalidAccessKeyId', async () => {
  await s3.send(new CreateBucketCommand({ Bucket: 'js-errors' }));
  await s3.send(new PutObjectCommand({ Bucket: 'js-errors', Key: 'keep', Body: 'x' }));
  const notEmpty = await failure(s3.send(new DeleteBucketCommand({ Bucket: 'js-errors' })));
  assert.equal(notEmpty.name, 'BucketNotEmpty');
  assert.equal(notEmpty.$metadata.httpStatusCode, 409);

  const noKey = await failure(s3.send(new GetObjectCommand({ Bucket: 'js-errors', Key: 'missing' })));
  assert.equal(noKey.name, 'NoSuchKey');
  assert.equal(noKey.$metadata.httpStatusCode, 404);
  const noBucket = await failure(s3.send(new GetObjectCommand({ Bucket: 'js-no-such-bucket', Key: 'k' })));
  assert.equal(noBucket.name, 'NoSuchBucket');
  assert.equal((await failure(s3.send(new ListObjectsV2Command({ Bucket: 'js-no-such-bucket' })))).name, 'NoSuchBucket');

  const wrongSecret = client({ accessKey: ROOT_KEY.accessKey, secretKey: 'not-the-secret-at-all' });
  const sig = await failure(wrongSecret.send(new ListObjectsV2Command({ Bucket: 'js-errors' })));
  assert.equal(sig.name, 'SignatureDoesNotMatch');
  assert.equal(sig.$metadata.httpStatusCode, 403);
  const sigPut = await failure(wrongSecret.send(new PutObjectCommand({ Bucket: 'js-errors', Key: 'keep', Body: 'overwrite' })));
  assert.equal(sigPut.name, 'SignatureDoesNotMatch');
  wrongSecret.destroy();
  const unknown = client({ accessKey: 'NOSUCHACCESSKEY00000', secretKey: 'whatever-secret-key' });
  const ak = await failure(unknown.send(new ListBucketsCommand({})));
  assert.equal(ak.name, 'InvalidAccessKeyId');
  assert.equal(ak.$metadata.httpStatusCode, 403);
  unknown.destroy();
  assert.equal((await bytesOf('js-errors', 'keep')).toString(), 'x', 'the rejected PUT changed nothing');

  await s3.send(new DeleteObjectsCommand({ Bucket: 'js-errors', Delete: { Objects: [{ Key: 'keep' }] } }));
  await s3.send(new DeleteBucketCommand({ Bucket: 'js-errors' }));
  assert.equal((await failure(s3.send(new HeadBucketCommand({ Bucket: 'js-errors' })))).$metadata.httpStatusCode, 404);
});

test('virtual-host style: <bucket>.localhost addresses the bucket', async () => {
  // *.localhost does not resolve on every machine; this agent sends every name to 127.0.0.1.
  const lookup = (_host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) =>
    (opts?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4));
  const httpAgent = new Agent({ lookup } as ConstructorParameters<typeof Agent>[0]);
  const vh = new S3Client({
    endpoint: `http://localhost:${gw.port}`, region: 'us-east-1', forcePathStyle: false,
    credentials: { accessKeyId: ROOT_KEY.accessKey, secretAccessKey: ROOT_KEY.secretKey }, requestHandler: { httpAgent },
  });
  const seen = spy(vh);
  await vh.send(new CreateBucketCommand({ Bucket: 'js-vhost' }));
  const data = randomBytes(2048);
  await vh.send(new PutObjectCommand({ Bucket: 'js-vhost', Key: 'dir/obj.bin', Body: data }));
  const listed = await vh.send(new ListObjectsV2Command({ Bucket: 'js-vhost' }));
  assert.deepEqual(listed.Contents!.map((c) => c.Key), ['dir/obj.bin']);
  const got = await vh.send(new GetObjectCommand({ Bucket: 'js-vhost', Key: 'dir/obj.bin' }));
  assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data));
  assert.deepEqual(seen.map((r) => [r.host, r.path]), [
    [`js-vhost.localhost:${gw.port}`, '/'], [`js-vhost.localhost:${gw.port}`, '/dir/obj.bin'],
    [`js-vhost.localhost:${gw.port}`, '/'], [`js-vhost.localhost:${gw.port}`, '/dir/obj.bin'],
  ]);
  vh.destroy();
  httpAgent.destroy();
  // The same object, path style.
  assert.ok((await bytesOf('js-vhost', 'dir/obj.bin')).equals(data));
});
