// s3cmd (Debian's package, /usr/bin/s3cmd) against a gateway started here, path-style over plain
// HTTP with Signature V4, configured only by the file this test writes: mb/rb, put (small and
// multipart), ls, info, get, put with a MIME type and extra headers, cp (a multipart copy), mv, del,
// sync up and down, and what s3cmd reports for a missing key and an existing bucket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startGateway, ROOT_KEY, type TestGateway } from '../lib/gateway.js';
import { S3Http, byteSort, md5Hex, multipartEtag, objectPath } from '../lib/s3http.js';

const MiB = 1024 * 1024;
const S3CMD = '/usr/bin/s3cmd';
let gw: TestGateway;
let http: S3Http;
let work: string;
let config: string;

interface Run { status: number | null; stdout: string; stderr: string }

/**
 * Runs s3cmd with the test's config file only: HOME is the test's directory (no ~/.s3cfg), and no
 * AWS_*, S3CMD* or proxy variable reaches it.
 */
function s3cmd(args: string[]): Promise<Run> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(AWS_|S3CMD|XDG_)|_proxy$/i.test(k)) env[k] = v;
  Object.assign(env, { HOME: work, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' });
  return new Promise((resolve, reject) => {
    execFile(S3CMD, ['-c', config, ...args], { env, cwd: work, encoding: 'utf8', timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ status: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** Runs an s3cmd command that must succeed and returns its standard output. */
async function ok(args: string[]): Promise<string> {
  const r = await s3cmd(args);
  assert.equal(r.status, 0, `s3cmd ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** `s3cmd ls` lines: objects as [size, uri], "directories" as ['DIR', uri]. */
function parseLs(out: string): Array<[string, string]> {
  return out.split('\n').filter(Boolean).map((line) => {
    const dir = /^\s+DIR\s+(s3:\/\/.+)$/.exec(line);
    if (dir) return ['DIR', dir[1]];
    const obj = /^\d{4}-\d\d-\d\d \d\d:\d\d\s+(\d+)\s+(s3:\/\/.+)$/.exec(line);
    assert.ok(obj, `unexpected ls line: ${JSON.stringify(line)}`);
    return [obj[1], obj[2]];
  });
}

/** The `Name: value` fields of `s3cmd info`. */
function parseInfo(out: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of out.split('\n').slice(1)) {
    const m = /^\s+([^:]+):\s+(.*)$/.exec(line);
    if (m) fields[m[1]] = m[2];
  }
  return fields;
}

/** The keys named by the `upload:` lines of a put or sync, in output order. */
function uploadedKeys(out: string, bucket: string): string[] {
  return [...out.matchAll(new RegExp(`^upload: '.*' -> 's3://${bucket}/(.*)'  ?[([]`, 'gm'))].map((m) => m[1]);
}

/** Every file under `dir` as relative path -> bytes. */
async function readTree(dir: string): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath ?? entry.path, entry.name);
    out[relative(dir, full)] = await readFile(full);
  }
  return out;
}

const md5 = md5Hex;


/** HEAD of an object through the test's own signed request. */
async function head(bucket: string, key: string): Promise<{ status: number; headers: Record<string, string> }> {
  const res = await http.send({ method: 'HEAD', path: objectPath(bucket, key) });
  return { status: res.status, headers: res.headers };
}

before(async () => {
  gw = await startGateway();
  http = new S3Http(gw.endpoint);
  work = await mkdtemp(join(tmpdir(), 'twinport-s3cmd-'));
  config = join(work, 's3cfg');
  const host = `127.0.0.1:${gw.port}`;
  // Path style: host_bucket equal to host_base. Copies of objects over 5 MiB go part by part.
  await writeFile(config, [
    '[default]',
    `access_key = ${ROOT_KEY.accessKey}`,
    `secret_key = ${ROOT_KEY.secretKey}`,
    `host_base = ${host}`,
    `host_bucket = ${host}`,
    'bucket_location = us-east-1',
    'use_https = False',
    'signature_v2 = False',
    'multipart_copy_chunk_size_mb = 5',
    '',
  ].join('\n'));
});
after(async () => {
  await http?.close();
  await gw?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

test('s3cmd is installed', async () => {
  assert.ok(existsSync(S3CMD), `${S3CMD} (Debian's s3cmd package) is required`);
  assert.match(await ok(['--version']), /^s3cmd version 2\./);
});

test('s3cmd: mb, put (small and multipart), ls of buckets, objects and a prefix, info, get, rb', async () => {
  const bucket = 's3cmd-basic';
  const dir = await mkdtemp(join(work, 'basic-'));
  const small = Buffer.from('hello from s3cmd\n');
  const big = randomBytes(12 * MiB);
  await writeFile(join(dir, 'small.txt'), small);
  await writeFile(join(dir, 'big.bin'), big);

  assert.equal(await ok(['mb', `s3://${bucket}`]), `Bucket 's3://${bucket}/' created\n`);
  assert.deepEqual(uploadedKeys(await ok(['put', join(dir, 'small.txt'), `s3://${bucket}/docs/small.txt`]), bucket), ['docs/small.txt']);
  assert.deepEqual(uploadedKeys(await ok(['put', '--multipart-chunk-size-mb=5', join(dir, 'big.bin'), `s3://${bucket}/big.bin`]), bucket), ['big.bin']);
  // s3cmd sent it in 5 MiB parts: 5 + 5 + 2.
  assert.equal((await head(bucket, 'big.bin')).headers.etag, multipartEtag(big, 5 * MiB));

  const buckets = await ok(['ls']);
  assert.ok(buckets.split('\n').some((l) => new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d  s3://${bucket}$`).test(l)), buckets);
  assert.deepEqual(parseLs(await ok(['ls', `s3://${bucket}`])), [['DIR', `s3://${bucket}/docs/`], [String(big.length), `s3://${bucket}/big.bin`]]);
  assert.deepEqual(parseLs(await ok(['ls', `s3://${bucket}/docs/`])), [[String(small.length), `s3://${bucket}/docs/small.txt`]]);
  assert.deepEqual(parseLs(await ok(['ls', '--recursive', `s3://${bucket}`])), [[String(big.length), `s3://${bucket}/big.bin`], [String(small.length), `s3://${bucket}/docs/small.txt`]]);

  const smallInfo = parseInfo(await ok(['info', `s3://${bucket}/docs/small.txt`]));
  assert.equal(smallInfo['File size'], String(small.length));
  assert.equal(smallInfo['MD5 sum'], md5(small));
  assert.equal(smallInfo['MIME type'], 'text/plain');
  assert.equal((await head(bucket, 'docs/small.txt')).headers.etag, `"${md5(small)}"`);
  const bigInfo = parseInfo(await ok(['info', `s3://${bucket}/big.bin`]));
  assert.equal(bigInfo['File size'], String(big.length));
  // For a multipart ETag s3cmd shows the MD5 it stored in its own metadata at upload.
  assert.equal(bigInfo['MD5 sum'], md5(big));
  assert.equal(bigInfo['MIME type'], 'application/octet-stream');

  await ok(['get', `s3://${bucket}/docs/small.txt`, join(dir, 'small.back')]);
  assert.ok((await readFile(join(dir, 'small.back'))).equals(small));
  await ok(['get', `s3://${bucket}/big.bin`, join(dir, 'big.back')]);
  assert.ok((await readFile(join(dir, 'big.back'))).equals(big));

  // A bucket that is not empty stays.
  const rb = await s3cmd(['rb', `s3://${bucket}`]);
  assert.notEqual(rb.status, 0);
  assert.match(rb.stderr, /ERROR: S3 error: 409 \(BucketNotEmpty\)/);
  assert.match(await ok(['del', `s3://${bucket}/big.bin`]), new RegExp(`^delete: 's3://${bucket}/big\\.bin'$`, 'm'));
  assert.match(await ok(['del', `s3://${bucket}/docs/small.txt`]), new RegExp(`^delete: 's3://${bucket}/docs/small\\.txt'$`, 'm'));
  assert.equal(await ok(['ls', '--recursive', `s3://${bucket}`]), '');
  assert.equal(await ok(['rb', `s3://${bucket}`]), `Bucket 's3://${bucket}/' removed\n`);
  assert.ok(!(await ok(['ls'])).includes(`s3://${bucket}\n`));
});

test('s3cmd: get and info of a missing key, mb of a bucket that exists', async () => {
  const bucket = 's3cmd-errors';
  await ok(['mb', `s3://${bucket}`]);
  await writeFile(join(work, 'keep.txt'), 'kept\n');
  await ok(['put', join(work, 'keep.txt'), `s3://${bucket}/keep.txt`]);

  // s3cmd asks with a HEAD first (a 404 without a body), and reports a missing source.
  const get = await s3cmd(['get', `s3://${bucket}/no such key`, join(work, 'missing.out')]);
  assert.equal(get.status, 64, get.stderr);
  assert.match(get.stderr, new RegExp(`ERROR: Parameter problem: Source object 's3://${bucket}/no such key' does not exist\\.`));
  assert.ok(!existsSync(join(work, 'missing.out')));
  const info = await s3cmd(['info', `s3://${bucket}/no such key`]);
  assert.equal(info.status, 12, info.stderr); // EX_NOTFOUND
  assert.match(info.stderr, /ERROR: S3 error: 404 \(NoSuchKey\)/);
  const noBucket = await s3cmd(['ls', 's3://s3cmd-no-such-bucket']);
  assert.equal(noBucket.status, 12, noBucket.stderr);
  assert.match(noBucket.stderr, /ERROR: S3 error: 404 \(NoSuchBucket\)/);

  // Creating a bucket you own again: 409 BucketAlreadyOwnedByYou, and the bucket keeps its objects.
  const again = await s3cmd(['mb', `s3://${bucket}`]);
  assert.equal(again.status, 13, `${again.stdout}${again.stderr}`); // EX_CONFLICT
  assert.match(again.stderr, /ERROR: S3 error: 409 \(BucketAlreadyOwnedByYou\)/);
  assert.deepEqual(parseLs(await ok(['ls', `s3://${bucket}`])), [['5', `s3://${bucket}/keep.txt`]]);

  assert.match(await ok(['del', '--recursive', '--force', `s3://${bucket}`]), /^delete: '.*\/keep\.txt'$/m);
  await ok(['rb', `s3://${bucket}`]);
});

test('s3cmd: put with --mime-type and --add-header, then cp (a multipart copy), mv and del', async () => {
  const bucket = 's3cmd-meta';
  const body = Buffer.from('{"greeting":"hello"}\n');
  await writeFile(join(work, 'data.json'), body);
  await ok(['mb', `s3://${bucket}`]);
  await ok(['put', '--mime-type=application/x-custom', '--add-header=x-amz-meta-owner:alice', '--add-header=Cache-Control:max-age=60',
    '--add-header=Content-Disposition:attachment; filename="d.json"', join(work, 'data.json'), `s3://${bucket}/meta/data.json`]);

  const info = parseInfo(await ok(['info', `s3://${bucket}/meta/data.json`]));
  assert.equal(info['File size'], String(body.length));
  assert.equal(info['MIME type'], 'application/x-custom');
  assert.equal(info['MD5 sum'], md5(body));
  assert.equal(info['x-amz-meta-owner'], 'alice');

  // What any other client reading the object sees.
  const got = await http.send({ path: objectPath(bucket, 'meta/data.json') });
  assert.equal(got.status, 200, got.text);
  assert.ok(got.body.equals(body));
  assert.equal(got.headers['content-type'], 'application/x-custom');
  assert.equal(got.headers['cache-control'], 'max-age=60');
  assert.equal(got.headers['content-disposition'], 'attachment; filename="d.json"');
  assert.equal(got.headers['x-amz-meta-owner'], 'alice');
  assert.equal(got.headers.etag, `"${md5(body)}"`);

  // cp keeps the type and the metadata.
  const copied = 'copy/da ta+1 ü.json';
  assert.match(await ok(['cp', `s3://${bucket}/meta/data.json`, `s3://${bucket}/${copied}`]), new RegExp(`^remote copy: 's3://${bucket}/meta/data\\.json' -> 's3://${bucket}/copy/da ta\\+1 ü\\.json'`, 'm'));
  const copy = await http.send({ path: objectPath(bucket, copied) });
  assert.equal(copy.status, 200, copy.text);
  assert.ok(copy.body.equals(body));
  assert.equal(copy.headers['content-type'], 'application/x-custom');
  assert.equal(copy.headers['x-amz-meta-owner'], 'alice');

  // A copy of a 12 MiB object goes in three UploadPartCopy requests (multipart_copy_chunk_size_mb = 5).
  const big = randomBytes(12 * MiB);
  await writeFile(join(work, 'big-src.bin'), big);
  await ok(['put', '--multipart-chunk-size-mb=5', join(work, 'big-src.bin'), `s3://${bucket}/big.bin`]);
  await ok(['cp', `s3://${bucket}/big.bin`, `s3://${bucket}/copy of big+.bin`]);
  assert.equal((await head(bucket, 'copy of big+.bin')).headers.etag, multipartEtag(big, 5 * MiB));
  await ok(['get', `s3://${bucket}/copy of big+.bin`, join(work, 'big-copy.back')]);
  assert.ok((await readFile(join(work, 'big-copy.back'))).equals(big));

  // mv: the new key holds the bytes, the old one is gone.
  assert.match(await ok(['mv', `s3://${bucket}/${copied}`, `s3://${bucket}/moved.json`]), new RegExp(`^move: 's3://${bucket}/copy/da ta\\+1 ü\\.json' -> 's3://${bucket}/moved\\.json'`, 'm'));
  assert.equal((await head(bucket, copied)).status, 404);
  await ok(['get', `s3://${bucket}/moved.json`, join(work, 'moved.back')]);
  assert.ok((await readFile(join(work, 'moved.back'))).equals(body));
  assert.deepEqual(parseLs(await ok(['ls', '--recursive', `s3://${bucket}`])), [
    [String(big.length), `s3://${bucket}/big.bin`],
    [String(big.length), `s3://${bucket}/copy of big+.bin`],
    [String(body.length), `s3://${bucket}/meta/data.json`],
    [String(body.length), `s3://${bucket}/moved.json`],
  ]);

  await ok(['del', `s3://${bucket}/moved.json`]);
  assert.equal((await head(bucket, 'moved.json')).status, 404);
  // Without --force s3cmd refuses to empty a whole bucket.
  const unforced = await s3cmd(['del', '--recursive', `s3://${bucket}`]);
  assert.equal(unforced.status, 64);
  assert.match(unforced.stderr, /Please use --force/);
  const deleted = await ok(['del', '--recursive', '--force', `s3://${bucket}`]);
  assert.deepEqual(deleted.split('\n').filter(Boolean).sort(), ['big.bin', 'copy of big+.bin', 'meta/data.json'].map((k) => `delete: 's3://${bucket}/${k}'`).sort());
  assert.equal(await ok(['ls', '--recursive', `s3://${bucket}`]), '');
  await ok(['rb', `s3://${bucket}`]);
});

test('s3cmd: sync up (spaces, +, %, unicode), sync again uploads only what changed, sync down, --delete-removed', async () => {
  const bucket = 's3cmd-sync';
  const src = join(work, 'sync-src');
  const files: Record<string, Buffer> = {
    'top.txt': Buffer.from('top level\n'),
    'a+b c.txt': Buffer.from('plus and space\n'),
    'nested/50% off.txt': Buffer.from('percent\n'),
    'nested/deeper/c.bin': randomBytes(70_000),
    'with space/ünïcødé 文件.txt': Buffer.from('unicode\n'),
    'empty.txt': Buffer.alloc(0),
  };
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(join(src, rel, '..'), { recursive: true });
    await writeFile(join(src, rel), data);
  }
  await ok(['mb', `s3://${bucket}`]);
  const first = await ok(['sync', `${src}/`, `s3://${bucket}/tree/`]);
  const want = byteSort(Object.keys(files));
  assert.deepEqual(uploadedKeys(first, bucket).sort(), want.map((k) => `tree/${k}`).sort(), first);
  assert.deepEqual(parseLs(await ok(['ls', '--recursive', `s3://${bucket}`])), want.map((k) => [String(files[k].length), `s3://${bucket}/tree/${k}`]));
  assert.deepEqual(parseLs(await ok(['ls', `s3://${bucket}/tree/with space/`])), [[String(files['with space/ünïcødé 文件.txt'].length), `s3://${bucket}/tree/with space/ünïcødé 文件.txt`]]);

  // Nothing changed: nothing is uploaded.
  const second = await ok(['sync', `${src}/`, `s3://${bucket}/tree/`]);
  assert.deepEqual(uploadedKeys(second, bucket), [], second);
  // Same size, other bytes: only that file goes up (s3cmd compares the MD5 with the ETag).
  files['a+b c.txt'] = Buffer.from('PLUS AND SPACE\n');
  await writeFile(join(src, 'a+b c.txt'), files['a+b c.txt']);
  const third = await ok(['sync', `${src}/`, `s3://${bucket}/tree/`]);
  assert.deepEqual(uploadedKeys(third, bucket), ['tree/a+b c.txt'], third);

  // Down into a new directory: the same tree, byte for byte.
  const dst = join(work, 'sync-dst');
  const down = await ok(['sync', `s3://${bucket}/tree/`, `${dst}/`]);
  assert.equal(down.split('\n').filter((l) => l.startsWith('download: ')).length, want.length, down);
  const back = await readTree(dst);
  assert.deepEqual(Object.keys(back).sort(), Object.keys(files).sort());
  for (const [rel, data] of Object.entries(files)) assert.ok(back[rel].equals(data), rel);

  // A file removed locally goes from the bucket with --delete-removed.
  await rm(join(src, 'nested/50% off.txt'));
  const removed = await ok(['sync', '--delete-removed', `${src}/`, `s3://${bucket}/tree/`]);
  assert.match(removed, new RegExp(`^delete: 's3://${bucket}/tree/nested/50% off\\.txt'$`, 'm'));
  assert.deepEqual(uploadedKeys(removed, bucket), []);
  assert.deepEqual(parseLs(await ok(['ls', '--recursive', `s3://${bucket}`])).map(([, uri]) => uri), want.filter((k) => k !== 'nested/50% off.txt').map((k) => `s3://${bucket}/tree/${k}`));

  const deleted = await ok(['del', '--recursive', '--force', `s3://${bucket}`]);
  assert.equal(deleted.split('\n').filter((l) => l.startsWith('delete: ')).length, want.length - 1, deleted);
  assert.equal(await ok(['ls', '--recursive', `s3://${bucket}`]), '');
  await ok(['rb', `s3://${bucket}`]);
  assert.ok(!(await ok(['ls'])).includes(`s3://${bucket}\n`));
});
