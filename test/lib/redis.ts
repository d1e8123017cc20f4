// Starts a real redis-server for a test on a free local port, without persistence, and stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A redis-server under test. */
export interface TestRedis {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** Pid of the server currently running (changes on restart). */
  pid(): number | undefined;
  /** Stops the server (SIGTERM, then SIGKILL) and waits for it to exit; its data is gone. */
  stop(): Promise<void>;
  /** Starts a fresh, empty server on the same port (stopping the current one first if running). */
  restart(): Promise<void>;
}

/** Where redis-server is on PATH, or undefined. */
export async function findRedisServer(): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'redis-server');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch { /* not in this directory */ }
  }
  return undefined;
}

/** A port the kernel picked as free on 127.0.0.1 (briefly bound, then released for redis). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts redis-server on a free port; fails (also outside CI) when redis-server is not installed. */
export async function startRedis(): Promise<TestRedis> {
  const bin = await findRedisServer();
  if (!bin) throw new Error('redis-server not found on PATH: the Redis metadata tests need it (Debian package "redis-server")');
  // Another process may take the port between our probe and redis binding it; then try another.
  for (let tries = 1; ; tries++) {
    const port = await freePort();
    try {
      return await runOn(bin, port);
    } catch (e) {
      if (tries >= 3 || !String((e as Error).message).includes('in use')) throw e;
    }
  }
}

async function runOn(bin: string, port: number): Promise<TestRedis> {
  let current: Server | undefined = await launch(bin, port);
  const stop = async () => {
    const s = current;
    current = undefined;
    await s?.stop();
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: () => current?.proc.pid,
    stop,
    async restart() {
      await stop();
      // The old socket is gone once the process has exited, so the same port binds again at once.
      current = await launch(bin, port);
    },
  };
}

interface Server {
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** One redis-server process in its own temp dir, resolved once it answers PING. */
async function launch(bin: string, port: number): Promise<Server> {
  const dir = await mkdtemp(join(tmpdir(), 'twinport-redis-'));
  const logFile = join(dir, 'redis.log');
  const proc = spawn(bin, [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--logfile', logFile, '--daemonize', 'no', '--loglevel', 'warning',
  ], { stdio: 'ignore' });
  running.add(proc);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => { running.delete(proc); resolve(); }));
  // A forgotten server must not keep the test process alive; the exit hook below still kills it.
  proc.unref();
  const stop = async () => {
    proc.ref();
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > deadline) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      await stop();
      throw new Error(`redis-server on port ${port} did not start: ${log.trim() || 'no log output'}`);
    }
    await sleep(50);
  }
  return { proc, stop };
}

/** Whether a Redis on `port` answers PING with PONG. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

const running = new Set<ChildProcess>();
const killAll = () => {
  for (const p of running) p.kill('SIGKILL');
};
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    // Keep the signal's usual effect unless someone else handles it.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}
