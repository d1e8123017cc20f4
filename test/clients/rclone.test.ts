// rclone (Debian's package, /usr/bin/rclone) against a gateway started here, as an S3 remote of
// provider Other, path-style, configured only by the file this test writes: mkdir, copy of a tree up
// (one file multipart), lsf/lsl, check, md5sum, cat, copyto down, sync deleting a removed file,
// server-side copyto (single and multipart copy), moveto, delete, rmdir and purge.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, ROOT_KEY, type TestGateway } from '../lib/gateway.js';
import { S3Http, byteSort, md5Hex, multipartEtag, objectPath } from '../lib/s3http.js';

const MiB = 1024 * 1024;
const RCLONE = '/usr/bin/rclone';
/** The remote's name in the test's config file. */
const R = 'gw';
let gw: TestGateway;
let http: S3Http;
let work: string;
let config: string;

interface Run { status: number | null; stdout: string; stderr: string }

/**
 * Runs rclone with the test's config file only: HOME is the test's directory, and no RCLONE_*,
 * AWS_* (an AWS_CA_BUNDLE alone breaks rclone's plain-HTTP client), XDG_* or proxy variable reaches
 * it. One try per request and per command, so a failing request fails the test instead of being retried.
 */
function rclone(args: string[]): Promise<Run> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(AWS_|RCLONE_|XDG_)|_proxy$/i.test(k)) env[k] = v;
  Object.assign(env, { HOME: work, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' });
  const all = ['--config', config, '--retries', '1', '--low-level-retries', '1', ...args];
  return new Promise((resolve, reject) => {
    execFile(RCLONE, all, { env, cwd: work, encoding: 'utf8', timeout: 120_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ status: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** Runs an rclone command that must succeed and returns its standard output. */
async function ok(args: string[]): Promise<string> {
  const r = await rclone(args);
  assert.equal(r.status, 0, `rclone ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Runs an rclone command that must succeed and returns its log (standard error, at -v). */
async function okLog(args: string[]): Promise<string> {
  const r = await rclone(['-v', ...args]);
  assert.equal(r.status, 0, `rclone ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stderr;
}

/** Output lines, sorted by bytes. */
const lines = (out: string): string[] => byteSort(out.split('\n').filter(Boolean));

/** `rclone lsl` lines as [path, size], sorted by path. */
function parseLsl(out: string): Array<[string, number]> {
  const rows = out.split('\n').filter(Boolean).map((line): [string, number] => {
    const m = /^\s*(\d+) \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (.+)$/.exec(line);
    assert.ok(m, `unexpected lsl line: ${JSON.stringify(line)}`);
    return [m[2], Number(m[1])];
  });
  return rows.sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
}

const md5 = md5Hex;


/** HEAD of an object through the test's own signed request. */
async function head(bucket: string, key: string): Promise<{ status: number; headers: Record<string, string> }> {
  const res = await http.send({ method: 'HEAD', path: objectPath(bucket, key) });
  return { status: res.status, headers: res.headers };
}

/** Writes `files` (relative path -> bytes) under a new directory and returns it. */
async function writeTree(name: string, files: Record<string, Buffer>): Promise<string> {
  const dir = join(work, name);
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), data);
  }
  return dir;
}

/** Small files with awkward names, nested, and one of 12 MiB. */
function treeFiles(): Record<string, Buffer> {
  return {
    'top.txt': Buffer.from('top level\n'),
    'a+b c.txt': Buffer.from('plus and space\n'),
    '50% off.txt': Buffer.from('percent\n'),
    'empty.txt': Buffer.alloc(0),
    'with space/ünïcødé 文件.txt': Buffer.from('unicode\n'),
    'with space/nested/deep/c.bin': randomBytes(70_000),
    'big.bin': randomBytes(12 * MiB),
  };
}

// Above 5 MiB rclone uploads in 5 MiB parts: the 12 MiB file goes multipart.
const MULTIPART = ['--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M'];

before(async () => {
  gw = await startGateway();
  http = new S3Http(gw.endpoint);
  work = await mkdtemp(join(tmpdir(), 'twinport-rclone-'));
  config = join(work, 'rclone.conf');
  await writeFile(config, [
    `[${R}]`,
    'type = s3',
    'provider = Other',
    `access_key_id = ${ROOT_KEY.accessKey}`,
    `secret_access_key = ${ROOT_KEY.secretKey}`,
    `endpoint = ${gw.endpoint}`,
    'region = us-east-1',
    'force_path_style = true',
    '',
  ].join('\n'));
});
after(async () => {
  await http?.close();
  await gw?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

test('rclone is installed', async () => {
  assert.ok(existsSync(RCLONE), `${RCLONE} (Debian's rclone package) is required`);
  assert.match(await ok(['version']), /^rclone v1\./);
});

test('rclone: mkdir, copy a tree up (one file multipart), lsf/lsl, check, md5sum, cat, copyto down', async () => {
  const bucket = 'rclone-copy';
  const files = treeFiles();
  const src = await writeTree('copy-src', files);
  await ok(['mkdir', `${R}:${bucket}`]);
  assert.ok((await ok(['lsf', `${R}:`])).split('\n').includes(`${bucket}/`));

  await ok(['copy', ...MULTIPART, src, `${R}:${bucket}/tree`]);
  // 12 MiB in 5 MiB parts: 5 + 5 + 2.
  assert.equal((await head(bucket, 'tree/big.bin')).headers.etag, multipartEtag(files['big.bin'], 5 * MiB));
  assert.equal((await head(bucket, 'tree/a+b c.txt')).headers.etag, `"${md5(files['a+b c.txt'])}"`);

  const names = byteSort(Object.keys(files));
  assert.deepEqual(lines(await ok(['lsf', `${R}:${bucket}/tree`])), ['50% off.txt', 'a+b c.txt', 'big.bin', 'empty.txt', 'top.txt', 'with space/']);
  assert.deepEqual(lines(await ok(['lsf', '-R', '--files-only', `${R}:${bucket}/tree`])), names);
  assert.deepEqual(lines(await ok(['lsf', '-R', '--dirs-only', `${R}:${bucket}`])), ['tree/', 'tree/with space/', 'tree/with space/nested/', 'tree/with space/nested/deep/']);
  assert.deepEqual(lines(await ok(['lsf', `${R}:${bucket}/tree/with space`])), ['nested/', 'ünïcødé 文件.txt']);
  assert.deepEqual(parseLsl(await ok(['lsl', `${R}:${bucket}/tree`])), names.map((n) => [n, files[n].length]));
  assert.deepEqual(parseLsl(await ok(['lsl', '--max-depth', '1', `${R}:${bucket}/tree`])), names.filter((n) => !n.includes('/')).map((n) => [n, files[n].length]));
  assert.deepEqual(lines(await ok(['lsf', '-R', '--files-only', '--format', 'ps', '--separator', '|', `${R}:${bucket}/tree`])),
    byteSort(['50% off.txt|8', 'a+b c.txt|15', 'big.bin|12582912', 'empty.txt|0', 'top.txt|10', 'with space/nested/deep/c.bin|70000', 'with space/ünïcødé 文件.txt|8']));

  // Sizes and MD5s (from the ETag, or for the multipart file the MD5 rclone stored with it) all agree.
  const check = await rclone(['check', src, `${R}:${bucket}/tree`]);
  assert.equal(check.status, 0, check.stderr);
  assert.match(check.stderr, /: 0 differences found/);
  assert.match(check.stderr, new RegExp(`: ${names.length} matching files`));
  // ... and with the bytes read back.
  const download = await rclone(['check', '--download', src, `${R}:${bucket}/tree`]);
  assert.equal(download.status, 0, download.stderr);
  assert.match(download.stderr, /: 0 differences found/);
  assert.deepEqual(lines(await ok(['md5sum', `${R}:${bucket}/tree`])), byteSort(names.map((n) => `${md5(files[n])}  ${n}`)));

  assert.equal(await ok(['cat', `${R}:${bucket}/tree/with space/ünïcødé 文件.txt`]), 'unicode\n');
  assert.equal(await ok(['cat', `${R}:${bucket}/tree/50% off.txt`]), 'percent\n');

  const back = join(work, 'copy-back');
  await ok(['copyto', `${R}:${bucket}/tree/big.bin`, join(back, 'big.bin')]);
  await ok(['copyto', `${R}:${bucket}/tree/with space/nested/deep/c.bin`, join(back, 'c.bin')]);
  await ok(['copyto', `${R}:${bucket}/tree/a+b c.txt`, join(back, 'a+b c.txt')]);
  assert.ok((await readFile(join(back, 'big.bin'))).equals(files['big.bin']));
  assert.ok((await readFile(join(back, 'c.bin'))).equals(files['with space/nested/deep/c.bin']));
  assert.ok((await readFile(join(back, 'a+b c.txt'))).equals(files['a+b c.txt']));

  // A second copy finds everything in place.
  assert.match(await okLog(['copy', ...MULTIPART, src, `${R}:${bucket}/tree`]), /There was nothing to transfer/);

  // rclone takes a key that is not there for an empty directory: nothing to read, nothing written.
  assert.equal(await ok(['cat', `${R}:${bucket}/tree/no such file.txt`]), '');
  await ok(['copyto', `${R}:${bucket}/tree/no such file.txt`, join(back, 'missing.txt')]);
  assert.ok(!existsSync(join(back, 'missing.txt')));
  // In a bucket that does not exist it is an error.
  const missing = await rclone(['cat', `${R}:rclone-no-such-bucket/x.txt`]);
  assert.equal(missing.status, 3, missing.stderr); // directory not found
  assert.match(missing.stderr, /Failed to cat: directory not found/);

  // A local file changed (same size, other bytes) is one difference.
  await writeFile(join(src, 'top.txt'), 'TOP LEVEL\n');
  const changed = await rclone(['check', src, `${R}:${bucket}/tree`]);
  assert.equal(changed.status, 1, changed.stderr);
  assert.match(changed.stderr, /ERROR : top\.txt: md5 differ/);
  assert.match(changed.stderr, /: 1 differences found/);

  await ok(['purge', `${R}:${bucket}`]);
  assert.ok(!(await ok(['lsf', `${R}:`])).split('\n').includes(`${bucket}/`));
});

test('rclone: sync removes a deleted file, server-side copyto and moveto, delete, rmdir, purge', async () => {
  const bucket = 'rclone-sync';
  const files = treeFiles();
  const src = await writeTree('sync-src', files);
  await ok(['mkdir', `${R}:${bucket}`]);
  await ok(['sync', ...MULTIPART, src, `${R}:${bucket}/tree`]);
  const names = byteSort(Object.keys(files));
  assert.deepEqual(lines(await ok(['lsf', '-R', '--files-only', `${R}:${bucket}/tree`])), names);

  // A file removed locally disappears from the bucket; nothing else moves.
  await rm(join(src, 'a+b c.txt'));
  const synced = await okLog(['sync', ...MULTIPART, src, `${R}:${bucket}/tree`]);
  assert.match(synced, /INFO {2}: a\+b c\.txt: Deleted/);
  assert.match(synced, /There was nothing to transfer/);
  assert.deepEqual(lines(await ok(['lsf', '-R', '--files-only', `${R}:${bucket}/tree`])), names.filter((n) => n !== 'a+b c.txt'));
  assert.equal((await head(bucket, 'tree/a+b c.txt')).status, 404);

  // Server-side copy of a small file (CopyObject) and of the 12 MiB one in 5 MiB UploadPartCopy parts.
  const small = '50% off.txt';
  const copyLog = await okLog(['copyto', `${R}:${bucket}/tree/${small}`, `${R}:${bucket}/copies/50% copy+1 ü.txt`]);
  assert.match(copyLog, /Copied \(server-side copy\)/);
  assert.equal(await ok(['cat', `${R}:${bucket}/copies/50% copy+1 ü.txt`]), files[small].toString());
  const bigLog = await okLog(['copyto', '--s3-copy-cutoff', '5M', `${R}:${bucket}/tree/big.bin`, `${R}:${bucket}/copies/big copy.bin`]);
  assert.match(bigLog, /Copied \(server-side copy\)/);
  assert.equal((await head(bucket, 'copies/big copy.bin')).headers.etag, multipartEtag(files['big.bin'], 5 * MiB));
  await ok(['copyto', `${R}:${bucket}/copies/big copy.bin`, join(work, 'big-copy.back')]);
  assert.ok((await readFile(join(work, 'big-copy.back'))).equals(files['big.bin']));
  assert.deepEqual(lines(await ok(['md5sum', `${R}:${bucket}/copies`])), byteSort([`${md5(files[small])}  50% copy+1 ü.txt`, `${md5(files['big.bin'])}  big copy.bin`]));

  // moveto: a server-side copy, then the source is deleted.
  const moveLog = await okLog(['moveto', `${R}:${bucket}/copies/50% copy+1 ü.txt`, `${R}:${bucket}/moved/deep/ü+%.txt`]);
  assert.match(moveLog, /Copied \(server-side copy\)/);
  assert.match(moveLog, /50% copy\+1 ü\.txt: Deleted/);
  assert.equal((await head(bucket, 'copies/50% copy+1 ü.txt')).status, 404);
  assert.equal(await ok(['cat', `${R}:${bucket}/moved/deep/ü+%.txt`]), files[small].toString());

  // rmdir of a bucket holding objects fails with BucketNotEmpty and removes nothing.
  const notEmpty = await rclone(['rmdir', `${R}:${bucket}`]);
  assert.notEqual(notEmpty.status, 0);
  assert.match(notEmpty.stderr, /BucketNotEmpty/);
  assert.equal(lines(await ok(['lsf', '-R', '--files-only', `${R}:${bucket}`])).length, names.length - 1 + 2);

  // delete removes the files under a path and leaves the rest.
  const deleted = await okLog(['delete', `${R}:${bucket}/copies`]);
  assert.equal(deleted.split('\n').filter((l) => / Deleted$/.test(l)).length, 1, deleted);
  assert.deepEqual(lines(await ok(['lsf', '-R', '--files-only', `${R}:${bucket}`])),
    byteSort(['moved/deep/ü+%.txt', ...names.filter((n) => n !== 'a+b c.txt').map((n) => `tree/${n}`)]));
  // purge of a path removes everything under it.
  await ok(['purge', `${R}:${bucket}/tree`]);
  assert.deepEqual(lines(await ok(['lsf', '-R', '--files-only', `${R}:${bucket}`])), ['moved/deep/ü+%.txt']);
  await ok(['delete', `${R}:${bucket}`]);
  assert.equal(await ok(['lsf', '-R', `${R}:${bucket}`]), '');
  // Now empty, the bucket goes.
  await ok(['rmdir', `${R}:${bucket}`]);
  assert.ok(!(await ok(['lsf', `${R}:`])).split('\n').includes(`${bucket}/`));
  const gone = await http.send({ method: 'HEAD', path: `/${bucket}` });
  assert.equal(gone.status, 404);
});
