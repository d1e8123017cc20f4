// Starts a real gateway process for a test, on a kernel-picked port, and stops it afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const ROOT_KEY = { accessKey: 'TESTROOTACCESSKEY0001', secretKey: 'test-root-secret-key-0001' };
export const ALICE_KEY = { accessKey: 'TESTALICEACCESSKEY001', secretKey: 'test-alice-secret-key-001' };

/** A gateway process under test. */
export interface TestGateway {
  endpoint: string;
  port: number;
  dataDir: string;
  proc: ChildProcess;
  /** Log lines the process printed (JSON). */
  logs: string[];
  /** SIGTERM and wait for a clean exit; removes the data dir unless `keepData`. */
  stop(opts?: { keepData?: boolean }): Promise<number | null>;
  /** SIGKILL and wait for the process to be gone (data kept). */
  kill(): Promise<void>;
}

/** Starts `node apps/gateway/dist/main.js` with a fresh (or given) data dir and test users. */
export async function startGateway(opts: { dataDir?: string; env?: Record<string, string> } = {}): Promise<TestGateway> {
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
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in time: ${stderr}`)), 20_000);
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`gateway exited with ${code}: ${stderr}`)); });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; s3Port?: number };
        if (entry.msg === 'listening' && entry.s3Port) { clearTimeout(timer); resolve(entry.s3Port); }
      } catch { /* not JSON */ }
    });
  });
  hold(false);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    proc,
    logs,
    async stop({ keepData = false } = {}) {
      hold(true);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const code = await exited;
      await rm(usersFile, { force: true });
      if (!keepData && !opts.dataDir) await rm(dataDir, { recursive: true, force: true });
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
