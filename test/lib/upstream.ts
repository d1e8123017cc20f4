// Real upstream S3 services for tests of the S3 driver: a gateway process on the disk driver, and
// s3rver. Each listens on 127.0.0.1 and is stopped by the test that started it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'minio';
import { ROOT, ROOT_KEY, startGateway, type TestGateway } from './gateway.js';

/** An upstream S3 service under test. */
export interface TestUpstream {
  endpoint: string;
  port: number;
  accessKey: string;
  secretKey: string;
  /** Stops the service for good and removes its data. */
  stop(): Promise<void>;
}

/** An upstream that can go away and come back on the same port with its data. */
export interface RestartableUpstream extends TestUpstream {
  /** Stops the service, keeping its data; the port stays unbound until `resume`. */
  halt(): Promise<void>;
  /** Starts the service again on the same port. */
  resume(): Promise<void>;
  /** Suspends the process (SIGSTOP): connections are accepted by the kernel, but nothing is read or answered. */
  freeze(): void;
  /** Lets a frozen process run again. */
  thaw(): void;
}

/** A minio client talking straight to `u`, for looking behind the driver's back. */
export function directClient(u: TestUpstream): Client {
  const url = new URL(u.endpoint);
  return new Client({ endPoint: url.hostname, port: Number(url.port), useSSL: false, accessKey: u.accessKey, secretKey: u.secretKey, region: 'us-east-1' });
}

/**
 * A gateway process on the disk driver, on a free port below 32768 so that it can come back on
 * the same port after `halt` (a port the kernel picked may be handed to an outgoing connection
 * meanwhile).
 */
export async function startGatewayUpstream(): Promise<RestartableUpstream> {
  const dataDir = await mkdtemp(join(tmpdir(), 'twinport-upstream-'));
  const port = await freePort();
  const launch = () => startGateway({ dataDir, env: { GATEWAY_S3_PORT: String(port) } });
  let gw: TestGateway | undefined = await launch();
  const thaw = () => void gw?.proc.kill('SIGCONT');
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    ...ROOT_KEY,
    freeze: () => void gw?.proc.kill('SIGSTOP'),
    thaw,
    async halt() {
      thaw();
      await gw?.stop({ keepData: true });
      gw = undefined;
    },
    async resume() {
      gw ??= await launch();
    },
    async stop() {
      thaw();
      await gw?.stop();
      gw = undefined;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * s3rver in a child process, on a kernel-picked port, with its data in a fresh directory. Node 20
 * needs the legacy OpenSSL provider for it: its continuation tokens use a cipher OpenSSL 3 retired,
 * and a paged ListObjectsV2 answers 500 without it.
 */
export async function startS3rver(): Promise<TestUpstream> {
  const dir = await mkdtemp(join(tmpdir(), 'twinport-s3rver-'));
  const bin = join(ROOT, 'node_modules/s3rver/bin/s3rver.js');
  const proc = spawn(process.execPath, ['--openssl-legacy-provider', bin, '-d', dir, '-a', '127.0.0.1', '-p', '0', '--silent'], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`s3rver did not start in time: ${stderr}`)), 20_000);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`s3rver exited with ${code}: ${stderr}`));
      });
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        const m = /listening on .*:(\d+)\s*$/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
    });
    return {
      endpoint: `http://127.0.0.1:${port}`,
      port,
      accessKey: 'S3RVER',
      secretKey: 'S3RVER',
      async stop() {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
        await exited;
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    proc.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** A port below 32768 that nothing listens on right now. */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below 32768');
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});
