// The servers under test, each a child process on 127.0.0.1 with its own data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = new URL('../', import.meta.url).pathname;

/**
 * `gateway` and the references are compared on the disk; `s3-gateway` is a gateway on the s3 driver
 * whose upstream is `upstream`, a gateway on the disk driver.
 */
export type ServerName = 'gateway' | 'raw' | 'raw+MD5' | 'raw+MD5+fsync' | 's3-gateway' | 'upstream';

/** The reference modes of reference-server.mjs, and the name each one gets in the report. */
export const REFERENCES = { raw: 'raw', md5: 'raw+MD5', 'md5-fsync': 'raw+MD5+fsync' } as const satisfies Record<string, ServerName>;
export type ReferenceMode = keyof typeof REFERENCES;

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

/** A port that was free a moment ago on 127.0.0.1. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => s.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

/**
 * Starts `node <args>` and waits until it serves: either it prints a JSON line naming its port
 * (`portOf`), or, when the port was chosen here (`knownPort`), until that port accepts connections.
 */
async function launch(name: ServerName, args: string[], env: NodeJS.ProcessEnv, signed: boolean, portOf: (line: Record<string, unknown>) => number | undefined, knownPort?: number): Promise<Server> {
  // stdin stays a pipe: the reference servers exit when it closes, so they cannot outlive the bench.
  const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const complaints: string[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d;
    for (const line of d.toString().split('\n')) if (line.trim()) complaints.push(line.trim());
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let started = false;
  const port = await new Promise<number>((resolve, reject) => {
    const done = (p: number) => { started = true; clearTimeout(timer); resolve(p); };
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s: ${stderr}`)), 30_000);
    // A gateway reports a failed start as a JSON log line on stdout, so the message waits for 'close'
    // (the output read to the end) and quotes the complaints, which hold those lines and stderr's.
    proc.once('close', (code, signal) => { clearTimeout(timer); reject(new Error(`${name} exited (${code ?? signal}) before listening: ${complaints.join('\n')}`)); });
    // Reading stdout to the end matters beyond the first line: a full pipe would stall the server.
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try { entry = JSON.parse(line) as Record<string, unknown>; } catch { return; }
      const p = portOf(entry);
      if (p && !started) return done(p);
      if (typeof entry.level === 'number' && entry.level >= 40) complaints.push(line);
    });
    if (knownPort !== undefined) {
      void (async () => {
        while (!started && proc.exitCode === null && proc.signalCode === null) {
          if (await accepts(knownPort)) return done(knownPort);
          await sleep(50);
        }
      })();
    }
  }).catch((e: unknown) => {
    // A server that never came up is still a process to stop.
    proc.kill('SIGKILL');
    throw e;
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

/**
 * Starts a gateway: by default on the disk driver with embedded metadata; `opts.env` overrides
 * GATEWAY_* settings (the s3 driver and its upstream). With `profDir`, it writes a CPU profile there
 * when it exits.
 */
export async function startGateway(dataDir: string, profDir?: string, opts: { name?: ServerName; env?: Record<string, string> } = {}): Promise<Server> {
  await mkdir(dataDir, { recursive: true });
  // Inherited GATEWAY_* settings (a config file, a log level) would make runs incomparable.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEWAY_')));
  // At log level warn the gateway does not print its 'listening' line, so the port is chosen here.
  const port = await freePort();
  Object.assign(env, {
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_S3_PORT: String(port),
    GATEWAY_QINGSTOR_PORT: '0',
    GATEWAY_DATA_DIR: dataDir,
    GATEWAY_DRIVER: 'disk',
    GATEWAY_META: 'embedded',
    GATEWAY_ACCESS_KEY: CREDENTIALS.accessKey,
    GATEWAY_SECRET_KEY: CREDENTIALS.secretKey,
    GATEWAY_LOG_LEVEL: 'warn',
  }, opts.env);
  const nodeArgs = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  return launch(opts.name ?? 'gateway', [...nodeArgs, join(ROOT, 'apps/gateway/dist/main.js')], env, true, (e) => (e.msg === 'listening' && typeof e.s3Port === 'number' ? e.s3Port : undefined), port);
}

/** Starts a gateway on the s3 driver (embedded metadata in `dataDir`) whose upstream is `upstream`, with the bench's credentials on both sides. */
export function startS3Gateway(dataDir: string, upstream: Server, profDir?: string): Promise<Server> {
  return startGateway(dataDir, profDir, {
    name: 's3-gateway',
    env: {
      GATEWAY_DRIVER: 's3',
      GATEWAY_UPSTREAM_ENDPOINT: `http://127.0.0.1:${upstream.port}`,
      GATEWAY_UPSTREAM_ACCESS_KEY: CREDENTIALS.accessKey,
      GATEWAY_UPSTREAM_SECRET_KEY: CREDENTIALS.secretKey,
      GATEWAY_UPSTREAM_REGION: CREDENTIALS.region,
    },
  });
}

/** Starts a reference server in one of reference-server.mjs's modes (profiled like the gateway when `profDir` is given). */
export async function startReference(dataDir: string, mode: ReferenceMode, profDir?: string): Promise<Server> {
  await mkdir(dataDir, { recursive: true });
  const nodeArgs = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  return launch(REFERENCES[mode], [...nodeArgs, join(ROOT, 'bench/reference-server.mjs'), dataDir, mode], process.env, false, (e) => (e.msg === 'listening' && typeof e.port === 'number' ? e.port : undefined));
}

/** CPU time (user + system, all threads) the process has used so far, in seconds. */
export function cpuSeconds(pid: number): number {
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
