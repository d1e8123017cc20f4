// The measuring tools the scenarios share: timing, server CPU, statistics, round rotation and the
// load loops.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Client } from './client.js';
import { cpuSeconds } from './servers.js';

/** Prints a progress line on stderr (stdout carries the table). */
export function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** `xs` rotated left by `by`: round r visits the servers starting with the r-th. */
export function rotate<T>(xs: T[], by: number): T[] {
  const k = by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

/**
 * Writes dirty pages back before each timed step. raw and raw+MD5 never fsync, so without this the
 * writeback of one server's data would be billed to whichever server runs next.
 */
export function settle(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

/** The median; NaN for no samples. */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The p-th percentile (nearest rank); NaN for no samples. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** The server's CPU seconds (all threads) spent while `fn` runs. */
export async function cpuOf(c: Client, fn: () => Promise<unknown>): Promise<number> {
  const before = cpuSeconds(c.server.proc.pid!);
  await fn();
  return cpuSeconds(c.server.proc.pid!) - before;
}

/** Seconds `fn` takes. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** Runs `jobs` items through `concurrency` workers; the first failure stops the rest. */
export async function parallel(jobs: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs) }, async () => {
    while (failed === undefined && next < jobs) {
      const i = next++;
      try { await job(i); } catch (e) { failed ??= e; }
    }
  }));
  if (failed !== undefined) throw failed;
}

/** Throughput, CPU and latencies of a closed-loop phase of small requests. */
export interface SmallStats {
  /** ops/s per round. */
  opsPerSec: number[];
  /** Server CPU (all threads) per measured op, µs, per round. */
  cpuMicrosPerOp: number[];
  /** Latencies of every measured op, all rounds, ms. */
  latencies: number[];
  errors: number;
  firstError?: string;
}

/** Empty SmallStats. */
export function smallStats(): SmallStats {
  return { opsPerSec: [], cpuMicrosPerOp: [], latencies: [], errors: 0 };
}

/** Keeps `concurrency` requests in flight for `ms` and returns completed ops/s; failures are counted, latencies kept only when `record`. */
export async function closedLoop(ms: number, concurrency: number, op: (worker: number, n: number) => Promise<void>, stats: SmallStats, record: boolean): Promise<number> {
  const end = performance.now() + ms;
  let ops = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
    for (let n = 0; performance.now() < end; n++) {
      const t = performance.now();
      try {
        await op(worker, n);
        ops++;
        if (record) stats.latencies.push(performance.now() - t);
      } catch (e) {
        stats.errors++;
        stats.firstError ??= (e as Error).message;
      }
    }
  }));
  return ops / ((performance.now() - t0) / 1000);
}

/**
 * Runs one measured closed-loop phase of `op` against `c` (after an unmeasured warm-up of
 * `warmupMs`), adding its rate, CPU per op and latencies to `s`; returns the rate.
 */
export async function measuredLoop(c: Client, s: SmallStats, opts: { warmupMs: number; measureMs: number; concurrency: number }, op: (phase: 'w' | 'm', worker: number, n: number) => Promise<void>): Promise<number> {
  if (opts.warmupMs > 0) await closedLoop(opts.warmupMs, opts.concurrency, (w, n) => op('w', w, n), s, false);
  const ops = s.latencies.length;
  let rate = 0;
  const cpu = await cpuOf(c, async () => { rate = await closedLoop(opts.measureMs, opts.concurrency, (w, n) => op('m', w, n), s, true); });
  s.opsPerSec.push(rate);
  s.cpuMicrosPerOp.push((cpu * 1e6) / (s.latencies.length - ops));
  return rate;
}
