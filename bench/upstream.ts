// The upstream-driver scenario: a gateway on the s3 driver in front of an upstream (a gateway on the
// disk driver), against the same client going straight to that upstream in the same run. Rounds
// alternate which route goes first, as the disk scenarios rotate their servers.
import { repeatedBody, type Client } from './client.js';
import { cpuOf, log, measuredLoop, rotate, settle, smallStats, timed, type SmallStats } from './measure.js';
import { MiB, NAME_WIDTH, type BenchConfig, type PerServer } from './scenarios.js';

/** Distinct bucket names for the two routes, whatever names the s3 driver gives its buckets upstream. */
const BUCKETS = { 's3-gateway': 'bench-s3-driver', upstream: 'bench-direct' } as const;

/** Memory phases of the scenario, as keys of the report's memory snapshots. */
export const UPSTREAM_PHASES = { start: 'upstreamStart', small: 'upstreamAfterSmall', big: 'upstreamAfterBig' } as const;

/** What the scenario measured; per-route maps are keyed `s3-gateway` (through the s3 driver) and `upstream` (direct). */
export interface UpstreamResult {
  /** Bytes of the large object. */
  size: number;
  /** MiB/s per round. */
  put: PerServer<number[]>;
  get: PerServer<number[]>;
  /** CPU seconds per GiB, per round, of the server the client talks to (the upstream's own work on the s3 route is not in it). */
  putCpu: PerServer<number[]>;
  getCpu: PerServer<number[]>;
  /** Both routes gave the same ETag for the same bytes, every round. */
  etagsAgree: boolean;
  /** The small-object phase through the s3 driver that precedes the large objects. */
  small: { put: SmallStats; get: SmallStats };
}

function bucketOf(c: Client): string {
  const b = BUCKETS[c.server.name as keyof typeof BUCKETS];
  if (!b) throw new Error(`the upstream scenario has no route for ${c.server.name}`);
  return b;
}

async function smallPhase(via: Client, cfg: BenchConfig, source: Buffer, res: UpstreamResult): Promise<void> {
  const size = cfg.smallSize;
  const loop = { warmupMs: cfg.smallWarmupMs, measureMs: cfg.smallMeasureMs, concurrency: cfg.smallConcurrency };
  const keys: string[] = [];
  settle();
  const putRate = await measuredLoop(via, res.small.put, loop, async (phase, worker, n) => {
    const key = `small/${phase}${worker}-${n}`;
    const offset = ((n * cfg.smallConcurrency + worker) * size) % (source.length - size);
    await via.put(bucketOf(via), key, source.subarray(offset, offset + size), size);
    keys.push(key);
  });
  if (keys.length === 0) throw new Error(`s3-gateway: no 4 KiB object was stored (${res.small.put.firstError ?? 'no error'})`);
  settle();
  const getRate = await measuredLoop(via, res.small.get, loop, () => via.get(bucketOf(via), keys[Math.floor(Math.random() * keys.length)], size));
  const errors = res.small.put.errors + res.small.get.errors;
  log(`upstream: 4 KiB through the s3 driver: PUT ${putRate.toFixed(0)} ops/s, GET ${getRate.toFixed(0)} ops/s${errors ? ` (${errors} errors: ${res.small.put.firstError ?? res.small.get.firstError})` : ''}`);
}

/**
 * Runs the scenario: creates a bucket on each route, a small-object phase through the s3 driver,
 * then the large-object rounds. `phase` is called at each memory phase's end (UPSTREAM_PHASES).
 */
export async function upstream(via: Client, direct: Client, cfg: BenchConfig, source: Buffer, phase: (name: string) => void): Promise<UpstreamResult> {
  const res: UpstreamResult = { size: cfg.upSize, put: {}, get: {}, putCpu: {}, getCpu: {}, etagsAgree: true, small: { put: smallStats(), get: smallStats() } };
  for (const c of [via, direct]) {
    const r = await c.send('PUT', bucketOf(c), undefined, { keepText: true });
    if (r.status !== 200) throw new Error(`${c.server.name}: CreateBucket ${bucketOf(c)}: ${r.status} ${r.text}`);
  }
  phase(UPSTREAM_PHASES.start);
  await smallPhase(via, cfg, source, res);
  phase(UPSTREAM_PHASES.small);

  const mib = cfg.upSize / MiB;
  const perGiB = (cpu: number) => cpu / (cfg.upSize / (1024 * MiB));
  for (let round = 0; round < cfg.upRounds; round++) {
    const key = `big/round-${round}`;
    const order = rotate([via, direct], round);
    const etags: string[] = [];
    for (const c of order) {
      settle();
      let s = 0;
      const cpu = await cpuOf(c, async () => { s = await timed(async () => { etags.push(String(await c.put(bucketOf(c), key, repeatedBody(source, cfg.upSize), cfg.upSize))); }); });
      (res.put[c.server.name] ??= []).push(mib / s);
      (res.putCpu[c.server.name] ??= []).push(perGiB(cpu));
      log(`upstream: ${mib} MiB PUT round ${round + 1}/${cfg.upRounds} ${c.server.name.padEnd(NAME_WIDTH)} ${(mib / s).toFixed(0)} MiB/s (${s.toFixed(2)} s)`);
    }
    if (etags[0] !== etags[1]) {
      res.etagsAgree = false;
      log(`upstream: ETag mismatch: ${order[0].server.name} ${etags[0]}, ${order[1].server.name} ${etags[1]}`);
    }
    for (const c of order) {
      settle();
      let s = 0;
      const cpu = await cpuOf(c, async () => { s = await timed(() => c.get(bucketOf(c), key, cfg.upSize)); });
      (res.get[c.server.name] ??= []).push(mib / s);
      (res.getCpu[c.server.name] ??= []).push(perGiB(cpu));
      log(`upstream: ${mib} MiB GET round ${round + 1}/${cfg.upRounds} ${c.server.name.padEnd(NAME_WIDTH)} ${(mib / s).toFixed(0)} MiB/s (${s.toFixed(2)} s)`);
    }
  }
  phase(UPSTREAM_PHASES.big);
  return res;
}
