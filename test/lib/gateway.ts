// Starts a real gateway process for a test, on a kernel-picked port, and stops it afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startRedis } from './redis.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const ROOT_KEY = { accessKey: 'TESTROOTACCESSKEY0001', secretKey: 'test-root-secret-key-0001' };
export const ALICE_KEY = { accessKey: 'TESTALICEACCESSKEY001', secretKey: 'test-alice-secret-key-001' };

/** A gateway process under test. */
export interface TestGateway {
  endpoint: string;
  port: number;
  /** The QingStor API listener (same host, its own port). */
  qsEndpoint: string;
  qsPort: number;
  dataDir: string;
  proc: ChildProcess;
  /** Log lines the process printed (JSON). */
  logs: string[];
  /** SIGTERM and wait for a clean exit; removes the data dir unless `keepData`; stops the upstream and Redis started for it. */
  stop(opts?: { keepData?: boolean }): Promise<number | null>;
  /** SIGKILL and wait for the process to be gone (data kept). */
  kill(): Promise<void>;
}

/** The storage a test gateway runs on: its driver and its metadata store. */
export interface Backend {
  driver: 'disk' | 's3';
  meta: 'embedded' | 'redis';
}

/** Every backend the protocol and client suites run against (test/run.mjs runs them once per backend). */
export const BACKENDS = ['disk+embedded', 's3+embedded', 'disk+redis', 's3+redis'];

/** The backend of this run, from TEST_BACKEND (`<driver>+<meta>`, default disk+embedded). */
export const BACKEND: Backend = (() => {
  const name = process.env.TEST_BACKEND ?? 'disk+embedded';
  if (!BACKENDS.includes(name)) throw new Error(`TEST_BACKEND: unknown backend ${name}; one of ${BACKENDS.join(', ')}`);
  const [driver, meta] = name.split('+') as [Backend['driver'], Backend['meta']];
  return { driver, meta };
})();

/**
 * Starts what the backend needs besides the gateway: an upstream S3 (another gateway on the disk
 * driver) for the s3 driver, a redis-server for Redis metadata. Returns the gateway's environment
 * for them and a function that stops them.
 */
async function startDependencies(backend: Backend): Promise<{ env: Record<string, string>; stop: () => Promise<void> }> {
  const stops: Array<() => Promise<unknown>> = [];
  const env: Record<string, string> = { GATEWAY_DRIVER: backend.driver, GATEWAY_META: backend.meta };
  try {
    if (backend.driver === 's3') {
      const upstream = await startGateway({ backend: { driver: 'disk', meta: 'embedded' } });
      stops.push(() => upstream.stop());
      Object.assign(env, { GATEWAY_UPSTREAM_ENDPOINT: upstream.endpoint, GATEWAY_UPSTREAM_ACCESS_KEY: ROOT_KEY.accessKey, GATEWAY_UPSTREAM_SECRET_KEY: ROOT_KEY.secretKey, GATEWAY_UPSTREAM_REGION: 'pek3a' });
    }
    if (backend.meta === 'redis') {
      const redis = await startRedis();
      stops.push(() => redis.stop());
      env.GATEWAY_REDIS_URL = redis.url;
    }
  } catch (e) {
    for (const stop of stops.reverse()) await stop();
    throw e;
  }
  return { env, stop: async () => { for (const stop of stops.reverse()) await stop(); } };
}

/**
 * Starts `node apps/gateway/dist/main.js` with a fresh (or given) data dir and test users, on the
 * run's backend unless `backend` is given or `env` names a driver or metadata store itself.
 */
export async function startGateway(opts: { dataDir?: string; env?: Record<string, string>; backend?: Backend } = {}): Promise<TestGateway> {
  const pinned = opts.env?.GATEWAY_DRIVER !== undefined || opts.env?.GATEWAY_META !== undefined;
  const deps = pinned ? { env: {}, stop: async () => {} } : await startDependencies(opts.backend ?? BACKEND);
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'twinport-test-')));
  const usersFile = join(dataDir, '..', `users-${process.pid}-${Date.now()}.json`);
  await writeFile(usersFile, JSON.stringify([{ name: 'alice', ...ALICE_KEY }]));
  const proc = spawn(process.execPath, [join(ROOT, 'apps/gateway/dist/main.js')], {
    env: {
      ...process.env,
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_S3_PORT: '0',
      GATEWAY_QINGSTOR_PORT: '0',
      GATEWAY_DATA_DIR: dataDir,
      GATEWAY_ACCESS_KEY: ROOT_KEY.accessKey,
      GATEWAY_SECRET_KEY: ROOT_KEY.secretKey,
      GATEWAY_USERS_FILE: usersFile,
      GATEWAY_LOG_LEVEL: process.env.TEST_GATEWAY_LOG_LEVEL ?? 'info',
      ...deps.env,
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  // A failed assertion must not leave the test process waiting on a gateway nobody will stop:
  // the child is held only while the harness itself waits on it (start, stop, kill).
  const hold = (on: boolean) => {
    for (const h of [proc, proc.stdout, proc.stderr] as unknown as Array<{ ref?: () => void; unref?: () => void }>) (on ? h.ref : h.unref)?.call(h);
  };
  const logs: string[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const { port, qsPort } = await new Promise<{ port: number; qsPort: number }>((resolve, reject) => {
    // A gateway that fails to start takes what was started for it down with it.
    const fail = (e: Error) => void deps.stop().finally(() => reject(e));
    const timer = setTimeout(() => fail(new Error(`gateway did not start in time: ${stderr}`)), 20_000);
    proc.once('exit', (code) => { clearTimeout(timer); fail(new Error(`gateway exited with ${code}: ${stderr}${logs.slice(-3).join("\n")}`)); });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; s3Port?: number; qingstorPort?: number };
        if (entry.msg === 'listening' && entry.s3Port) { clearTimeout(timer); resolve({ port: entry.s3Port, qsPort: entry.qingstorPort ?? 0 }); }
      } catch { /* not JSON */ }
    });
  });
  hold(false);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    qsEndpoint: `http://127.0.0.1:${qsPort}`,
    qsPort,
    dataDir,
    proc,
    logs,
    async stop({ keepData = false } = {}) {
      hold(true);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const code = await exited;
      await rm(usersFile, { force: true });
      if (!keepData && !opts.dataDir) await rm(dataDir, { recursive: true, force: true });
      await deps.stop();
      return code;
    },
    async kill() {
      hold(true);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** Whether tests run in CI, where a missing tool fails instead of skipping. */
export const IN_CI = process.env.CI === 'true';
