// The configuration contract as an operator meets it: --help, validation at start, request logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPTIONS } from '../../apps/gateway/src/config.js';
import { ROOT, startGateway } from '../lib/gateway.js';

const MAIN = join(ROOT, 'apps/gateway/dist/main.js');

function run(env: Record<string, string>, args: string[] = []) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEWAY_')));
  return spawnSync(process.execPath, [MAIN, ...args], { env: { ...clean, GATEWAY_S3_PORT: '0', ...env }, encoding: 'utf8', timeout: 20_000 });
}

test('--help lists every option with its default', () => {
  const r = run({}, ['--help']);
  assert.equal(r.status, 0);
  for (const [name, opt] of Object.entries(OPTIONS)) {
    const line = r.stdout.split('\n').find((l) => l.trim().startsWith(name));
    assert.ok(line, `--help mentions ${name}`);
    if (opt.default !== undefined) assert.ok(line.includes(`(default: ${opt.default})`), `${name} shows its default`);
  }
});

test('a bad value stops the gateway at start, naming the option', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'twinport-config-'));
  try {
    const cases: Array<[Record<string, string>, string]> = [
      [{ GATEWAY_S3_PORT: 'abc' }, 'GATEWAY_S3_PORT'],
      [{ GATEWAY_S3_PORT: '70000' }, 'GATEWAY_S3_PORT'],
      [{ GATEWAY_DRIVER: 'tape' }, 'GATEWAY_DRIVER'],
      [{ GATEWAY_ZONES: 'pek3a,SH 1' }, 'GATEWAY_ZONES'],
      [{ GATEWAY_DEFAULT_ZONE: 'nowhere' }, 'GATEWAY_DEFAULT_ZONE'],
      [{ GATEWAY_USERS_FILE: join(dir, 'missing.json') }, 'GATEWAY_USERS_FILE'],
      [{ GATEWAY_LOG_LEVEL: 'loud' }, 'GATEWAY_LOG_LEVEL'],
      [{ GATEWAY_META: 'etcd' }, 'GATEWAY_META'],
      [{ GATEWAY_DRIVER: 's3' }, 'GATEWAY_UPSTREAM_ENDPOINT'],
      [{ GATEWAY_DRIVER: 's3', GATEWAY_UPSTREAM_ENDPOINT: 'http://127.0.0.1:1' }, 'GATEWAY_UPSTREAM_ACCESS_KEY'],
      [{ GATEWAY_DRIVER: 's3', GATEWAY_UPSTREAM_ENDPOINT: 'not a url', GATEWAY_UPSTREAM_ACCESS_KEY: 'a', GATEWAY_UPSTREAM_SECRET_KEY: 'b' }, 'GATEWAY_UPSTREAM_ENDPOINT'],
    ];
    await writeFile(join(dir, 'bad-users.json'), JSON.stringify([{ name: 'x', accessKey: 'k' }]));
    cases.push([{ GATEWAY_USERS_FILE: join(dir, 'bad-users.json') }, 'GATEWAY_USERS_FILE']);
    for (const [env, option] of cases) {
      const r = run({ GATEWAY_DATA_DIR: join(dir, 'data'), ...env });
      assert.equal(r.status, 2, `${JSON.stringify(env)} exits with 2`);
      assert.match(r.stderr, new RegExp(`configuration error: ${option}:`), `${JSON.stringify(env)} names ${option}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an unreachable Redis stops the gateway at start, naming GATEWAY_REDIS_URL', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'twinport-config-'));
  try {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const r = run({ GATEWAY_DATA_DIR: join(dir, 'data'), GATEWAY_META: 'redis', GATEWAY_REDIS_URL: 'redis://127.0.0.1:1' });
    assert.equal(r.status, 1);
    assert.match(r.stdout + r.stderr, /GATEWAY_REDIS_URL: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a config file supplies options, environment variables win', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'twinport-config-'));
  try {
    await writeFile(join(dir, 'gw.json'), JSON.stringify({ GATEWAY_DEFAULT_ZONE: 'mars', GATEWAY_ZONES: 'mars,venus' }));
    const bad = run({ GATEWAY_DATA_DIR: join(dir, 'data'), GATEWAY_CONFIG_FILE: join(dir, 'gw.json'), GATEWAY_ZONES: 'pek3a' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /GATEWAY_DEFAULT_ZONE: mars is not one of GATEWAY_ZONES \(pek3a\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('one log line per request, and a clean exit on SIGTERM', async () => {
  const gw = await startGateway();
  const res = await fetch(`${gw.endpoint}/no-such-bucket-here`);
  assert.equal(res.status, 404);
  await res.text();
  await new Promise((r) => setTimeout(r, 100));
  const lines = gw.logs.map((l) => JSON.parse(l) as { msg: string; method?: string; url?: string; status?: number; id?: string });
  const requests = lines.filter((l) => l.msg === 'request');
  assert.equal(requests.length, 1);
  assert.deepEqual([requests[0].method, requests[0].url, requests[0].status], ['GET', '/no-such-bucket-here', 404]);
  assert.equal(requests[0].id, res.headers.get('x-amz-request-id'));
  assert.equal(await gw.stop(), 0);
});

test('a second gateway on the same data dir is refused while the first runs; a dead one is taken over', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'twinport-lock-'));
  try {
    const first = await startGateway({ dataDir: dir });
    const second = run({ GATEWAY_DATA_DIR: dir });
    assert.equal(second.status, 2);
    assert.match(second.stderr, /configuration error: GATEWAY_DATA_DIR: .* is in use by another gateway \(pid \d+\)/);
    const res = await fetch(`${first.endpoint}/`);
    assert.equal(res.status, 403, 'the first gateway still serves');
    await res.text();
    await first.kill();
    const again = await startGateway({ dataDir: dir });
    assert.equal(await again.stop(), 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
