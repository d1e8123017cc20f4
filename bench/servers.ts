// The three servers under test, each a child process on 127.0.0.1 with its own data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = new URL('../', import.meta.url).pathname;

export type ServerName = 'gateway' | 'raw' | 'raw+MD5';

export interface Server {
  name: ServerName;
  port: number;
  proc: ChildProcess;
  /** Whether requests must be SigV4-signed. */
  signed: boolean;
  /** Warning and error lines the process printed, for the report. */
  complaints: string[];
  stop(): Promise<void>;
}

export const CREDENTIALS = { accessKey: 'BENCHACCESSKEY000001', secretKey: 'bench-secret-key-not-for-production', region: 'us-east-1' };

async function launch(name: ServerName, args: string[], env: NodeJS.ProcessEnv, signed: boolean, portOf: (line: Record<string, unknown>) => number | undefined): Promise<Server> {
  // stdin stays a pipe: the reference servers exit when it closes, so they cannot outlive the bench.
  const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const complaints: string[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d;
    for (const line of d.toString().split('\n')) if (line.trim()) complaints.push(line.trim());
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s: ${stderr}`)), 30_000);
    proc.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`${name} exited (${code ?? signal}) before listening: ${stderr}`)); });
    // Reading stdout to the end matters beyond the first line: a full pipe would stall the server.
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try { entry = JSON.parse(line) as Record<string, unknown>; } catch { return; }
      const p = portOf(entry);
      if (p) { clearTimeout(timer); resolve(p); return; }
      if (typeof entry.level === 'number' && entry.level >= 40) complaints.push(line);
    });
  });
  return {
    name, port, proc, signed, complaints,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Starts the gateway (disk driver, embedded metadata); BENCH_CPU_PROF=1 writes a CPU profile of it to `profDir`. */
export async function startGateway(dataDir: string, profDir?: string): Promise<Server> {
  await mkdir(dataDir, { recursive: true });
  // Inherited GATEWAY_* settings (a config file, a log level) would make runs incomparable.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEWAY_')));
  Object.assign(env, {
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_S3_PORT: '0',
    GATEWAY_QINGSTOR_PORT: '0',
    GATEWAY_DATA_DIR: dataDir,
    GATEWAY_DRIVER: 'disk',
    GATEWAY_META: 'embedded',
    GATEWAY_ACCESS_KEY: CREDENTIALS.accessKey,
    GATEWAY_SECRET_KEY: CREDENTIALS.secretKey,
    GATEWAY_LOG_LEVEL: 'warn',
  });
  const nodeArgs = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  return launch('gateway', [...nodeArgs, join(ROOT, 'apps/gateway/dist/main.js')], env, true, (e) => (e.msg === 'listening' && typeof e.s3Port === 'number' ? e.s3Port : undefined));
}

/** Starts a reference server: `raw` or `md5`. */
export async function startReference(dataDir: string, mode: 'raw' | 'md5'): Promise<Server> {
  await mkdir(dataDir, { recursive: true });
  return launch(mode === 'raw' ? 'raw' : 'raw+MD5', [join(ROOT, 'bench/reference-server.mjs'), dataDir, mode], process.env, false, (e) => (e.msg === 'listening' && typeof e.port === 'number' ? e.port : undefined));
}

/** Resident set now and its high-water mark since the process started, in MiB (from /proc). */
export function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}
