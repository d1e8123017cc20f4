// The aws command line against a gateway started here: Debian's aws-cli v2 at /usr/bin/aws for the
// full flow (s3 mb/cp/ls/sync/rm/rb and s3api), and the `aws` found on PATH (aws-cli v1 with a
// current botocore on this machine, which sends the default CRC32 checksums) for the cp/ls/rm flow.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, ROOT_KEY, type TestGateway } from '../lib/gateway.js';
import { md5Hex, multipartEtag } from '../lib/s3http.js';

const MiB = 1024 * 1024;
const DEBIAN_AWS = '/usr/bin/aws';
let gw: TestGateway;
let work: string;

/** Runs an aws command with only the test's credentials and settings (no user config, no pager). */
function aws(bin: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_')) env[k] = v;
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: ROOT_KEY.accessKey, AWS_SECRET_ACCESS_KEY: ROOT_KEY.secretKey, AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_PAGER: '', AWS_EC2_METADATA_DISABLED: 'true',
  });
  return new Promise((resolve, reject) => {
    execFile(bin, ['--endpoint-url', gw.endpoint, ...args], { env, encoding: 'utf8', timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ status: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** Runs an aws command that must succeed and returns its output. */
async function ok(bin: string, args: string[]): Promise<string> {
  const r = await aws(bin, args);
  assert.equal(r.status, 0, `${bin} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** `aws s3 ls` object lines as [size, key], and PRE lines as ['PRE', prefix]. */
function parseLs(out: string): Array<[string, string]> {
  return out.split('\n').filter(Boolean).map((line) => {
    const pre = /^\s+PRE (.+)$/.exec(line);
    if (pre) return ['PRE', pre[1]];
    const obj = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+(\d+) (.+)$/.exec(line);
    assert.ok(obj, `unexpected ls line: ${line}`);
    return [obj[1], obj[2]];
  });
}

const md5 = md5Hex;


before(async () => {
  gw = await startGateway();
  work = await mkdtemp(join(tmpdir(), 'twinport-awscli-'));
});
after(async () => {
  await gw?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** mb, cp up and down (small and multipart), ls of buckets and objects, rm; shared by both CLIs. */
async function cpLsRmFlow(bin: string, bucket: string, bigSize: number): Promise<void> {
  const dir = await mkdtemp(join(work, `${bucket}-`));
  const small = Buffer.from('hello from the aws cli\n');
  const big = randomBytes(bigSize);
  await writeFile(join(dir, 'small.txt'), small);
  await writeFile(join(dir, 'big.bin'), big);

  assert.match(await ok(bin, ['s3', 'mb', `s3://${bucket}`]), new RegExp(`make_bucket: ${bucket}`));
  await ok(bin, ['s3', 'cp', '--no-progress', join(dir, 'small.txt'), `s3://${bucket}/docs/small.txt`]);
  await ok(bin, ['s3', 'cp', '--no-progress', join(dir, 'big.bin'), `s3://${bucket}/big.bin`]);

  const buckets = await ok(bin, ['s3', 'ls']);
  assert.ok(buckets.split('\n').some((l) => new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d ${bucket}$`).test(l)), buckets);
  assert.deepEqual(parseLs(await ok(bin, ['s3', 'ls', `s3://${bucket}`])), [['PRE', 'docs/'], [String(big.length), 'big.bin']]);
  assert.deepEqual(parseLs(await ok(bin, ['s3', 'ls', `s3://${bucket}`, '--recursive'])), [[String(big.length), 'big.bin'], [String(small.length), 'docs/small.txt']]);

  // The CLI uploads files over 8 MiB in 8 MiB parts.
  const head = JSON.parse(await ok(bin, ['s3api', 'head-object', '--bucket', bucket, '--key', 'big.bin'])) as { ContentLength: number; ETag: string };
  assert.equal(head.ContentLength, big.length);
  assert.equal(head.ETag, multipartEtag(big, 8 * MiB));

  // Down, both at once: the big one in ranged GETs.
  await ok(bin, ['s3', 'cp', '--no-progress', '--recursive', `s3://${bucket}/`, join(dir, 'back')]);
  assert.ok((await readFile(join(dir, 'back', 'docs', 'small.txt'))).equals(small));
  assert.ok((await readFile(join(dir, 'back', 'big.bin'))).equals(big));

  assert.match(await ok(bin, ['s3', 'rm', `s3://${bucket}/big.bin`]), /^delete: s3:\/\/.*\/big\.bin$/m);
  assert.match(await ok(bin, ['s3', 'rm', `s3://${bucket}`, '--recursive']), /^delete: s3:\/\/.*\/docs\/small\.txt$/m);
  // rb succeeds only on an empty bucket.
  await ok(bin, ['s3', 'rb', `s3://${bucket}`]);
  assert.ok(!(await ok(bin, ['s3', 'ls'])).includes(` ${bucket}\n`));
}

// Both CLIs at once: each command is mostly Python start-up, so running the two flows side by side
// keeps this file's runtime down.
test('mb, cp up/down (small and multipart), ls, rm, rb: Debian aws-cli v2 and the aws on PATH (aws-cli v1 here)', async () => {
  assert.ok(existsSync(DEBIAN_AWS), `${DEBIAN_AWS} (Debian's awscli package) is required`);
  const which = spawnSync('sh', ['-c', 'command -v aws'], { encoding: 'utf8' });
  assert.equal(which.status, 0, 'an aws command on PATH is required');
  const onPath = which.stdout.trim();
  const version = spawnSync(onPath, ['--version'], { encoding: 'utf8' });
  assert.equal(version.status, 0, `${onPath} --version failed: ${version.stderr}`);
  assert.match(version.stdout + version.stderr, /^aws-cli\/\d+\./);
  await Promise.all([cpLsRmFlow(DEBIAN_AWS, 'cli-v2-flow', 20 * MiB), cpLsRmFlow(onPath, 'cli-path-flow', 10 * MiB)]);
});

test('Debian aws-cli v2: sync of a nested tree with spaces and unicode, then a second sync uploads nothing', async () => {
  const bucket = 'cli-sync';
  const src = join(work, 'sync-src');
  const files: Record<string, Buffer> = {
    'top.txt': Buffer.from('top level\n'),
    'nested/b.txt': Buffer.from('nested b\n'),
    'nested/deeper/c.bin': randomBytes(70_000),
    'with space/ünïcødé 文件 +%.txt': Buffer.from('spaces, unicode, plus and percent\n'),
    'empty.txt': Buffer.alloc(0),
  };
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(join(src, rel, '..'), { recursive: true });
    await writeFile(join(src, rel), data);
  }
  await ok(DEBIAN_AWS, ['s3', 'mb', `s3://${bucket}`]);
  const first = await ok(DEBIAN_AWS, ['s3', 'sync', '--no-progress', src, `s3://${bucket}/tree`]);
  assert.equal(first.split('\n').filter((l) => l.startsWith('upload:')).length, Object.keys(files).length, first);

  const listed = JSON.parse(await ok(DEBIAN_AWS, ['s3api', 'list-objects-v2', '--bucket', bucket])) as { Contents: Array<{ Key: string; Size: number }> };
  const want = Object.keys(files).map((k) => `tree/${k}`).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.deepEqual(listed.Contents.map((c) => c.Key), want);
  assert.deepEqual(listed.Contents.map((c) => c.Size), want.map((k) => files[k.slice(5)].length));

  const second = await ok(DEBIAN_AWS, ['s3', 'sync', '--no-progress', src, `s3://${bucket}/tree`]);
  assert.equal(second, '', 'nothing changed, so nothing is uploaded');

  // Down again into an empty directory: every file comes back byte for byte.
  const dst = join(work, 'sync-dst');
  await ok(DEBIAN_AWS, ['s3', 'sync', '--no-progress', `s3://${bucket}/tree`, dst]);
  for (const [rel, data] of Object.entries(files)) assert.ok((await readFile(join(dst, rel))).equals(data), rel);

  const rb = await aws(DEBIAN_AWS, ['s3', 'rb', `s3://${bucket}`]);
  assert.notEqual(rb.status, 0);
  assert.match(rb.stderr, /BucketNotEmpty/);
  const removed = await ok(DEBIAN_AWS, ['s3', 'rm', `s3://${bucket}`, '--recursive']);
  assert.equal(removed.split('\n').filter((l) => l.startsWith('delete:')).length, Object.keys(files).length, removed);
  await ok(DEBIAN_AWS, ['s3', 'rb', `s3://${bucket}`]);
});

test('Debian aws-cli v2: s3api put-object, head-object, get-object, list-objects-v2, delete-object', async () => {
  const bucket = 'cli-s3api';
  const body = randomBytes(12_345);
  const file = join(work, 's3api-body.bin');
  await writeFile(file, body);
  await ok(DEBIAN_AWS, ['s3api', 'create-bucket', '--bucket', bucket]);
  const put = JSON.parse(await ok(DEBIAN_AWS, ['s3api', 'put-object', '--bucket', bucket, '--key', 'a/b c.bin', '--body', file,
    '--content-type', 'application/x-thing', '--metadata', 'owner=cli,purpose=test'])) as { ETag: string };
  assert.equal(put.ETag, `"${md5(body)}"`);

  const head = JSON.parse(await ok(DEBIAN_AWS, ['s3api', 'head-object', '--bucket', bucket, '--key', 'a/b c.bin'])) as Record<string, unknown>;
  assert.equal(head.ContentLength, body.length);
  assert.equal(head.ETag, `"${md5(body)}"`);
  assert.equal(head.ContentType, 'application/x-thing');
  assert.deepEqual(head.Metadata, { owner: 'cli', purpose: 'test' });

  const out = join(work, 's3api-out.bin');
  const got = JSON.parse(await ok(DEBIAN_AWS, ['s3api', 'get-object', '--bucket', bucket, '--key', 'a/b c.bin', '--range', 'bytes=100-199', out])) as Record<string, unknown>;
  assert.equal(got.ContentRange, `bytes 100-199/${body.length}`);
  assert.ok((await readFile(out)).equals(body.subarray(100, 200)));
  await ok(DEBIAN_AWS, ['s3api', 'get-object', '--bucket', bucket, '--key', 'a/b c.bin', out]);
  assert.ok((await readFile(out)).equals(body));

  const missing = await aws(DEBIAN_AWS, ['s3api', 'get-object', '--bucket', bucket, '--key', 'nope', out]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /NoSuchKey/);

  await ok(DEBIAN_AWS, ['s3api', 'put-object', '--bucket', bucket, '--key', 'a/z.txt', '--body', file]);
  const listed = JSON.parse(await ok(DEBIAN_AWS, ['s3api', 'list-objects-v2', '--no-paginate', '--bucket', bucket, '--prefix', 'a/'])) as { Contents: Array<{ Key: string; Size: number }>; KeyCount: number };
  assert.deepEqual(listed.Contents.map((c) => [c.Key, c.Size]), [['a/b c.bin', body.length], ['a/z.txt', body.length]]);
  assert.equal(listed.KeyCount, 2);

  await ok(DEBIAN_AWS, ['s3api', 'delete-object', '--bucket', bucket, '--key', 'a/b c.bin']);
  const one = JSON.parse(await ok(DEBIAN_AWS, ['s3api', 'list-objects-v2', '--no-paginate', '--bucket', bucket])) as { KeyCount: number; Contents: Array<{ Key: string }> };
  assert.deepEqual(one.Contents.map((c) => c.Key), ['a/z.txt']);
  await ok(DEBIAN_AWS, ['s3api', 'delete-object', '--bucket', bucket, '--key', 'a/z.txt']);
  await ok(DEBIAN_AWS, ['s3api', 'delete-bucket', '--bucket', bucket]);
});
