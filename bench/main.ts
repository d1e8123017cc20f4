// `npm run bench`: the gateway against three raw Node http→fs references, on the same disk, in one
// run, then a gateway on the s3 driver against its upstream. Environment: BENCH_QUICK=1 (small
// sizes, a short run), BENCH_OUT=<file> (JSON results; default .bench/results.json),
// BENCH_SCENARIOS=small,big,multipart,listing,upstream (a subset), BENCH_CPU_PROF=1 (CPU profiles
// of the servers, summarised at the end).
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Client } from './client.js';
import { summarize } from './cpuprofile.js';
import { AnonSampler } from './memory.js';
import { json, rows, table, type Results } from './report.js';
import { bigObject, listing, multipart, smallObjects, BUCKET, LIST_BUCKET, MiB, type BenchConfig } from './scenarios.js';
import { ROOT, startGateway, startReference, startS3Gateway, type Server } from './servers.js';
import { upstream } from './upstream.js';

const quick = process.env.BENCH_QUICK === '1';
const config: BenchConfig = {
  quick,
  bigSize: quick ? 64 * MiB : 1024 * MiB,
  bigRounds: quick ? 2 : 5,
  smallSize: 4096,
  smallConcurrency: 16,
  smallWarmupMs: quick ? 500 : 1000,
  smallMeasureMs: quick ? 1500 : 4000,
  smallRounds: quick ? 1 : 4,
  mpSize: quick ? 64 * MiB : 256 * MiB,
  mpPartSize: 8 * MiB,
  mpConcurrency: 4,
  mpRounds: quick ? 2 : 3,
  listKeys: quick ? 10_000 : 100_000,
  listDirs: 100,
  listFillConcurrency: 32,
  listPageRuns: 20,
  listDelimiterRuns: 10,
  upSize: quick ? 256 * MiB : 1024 * MiB,
  upRounds: quick ? 2 : 3,
};
const ALL = ['small', 'big', 'multipart', 'listing', 'upstream'];
const selected = new Set(process.env.BENCH_SCENARIOS ? process.env.BENCH_SCENARIOS.split(',').map((s) => s.trim()) : ALL);
for (const s of selected) if (!ALL.includes(s)) throw new Error(`BENCH_SCENARIOS: unknown scenario ${s} (known: ${ALL.join(', ')})`);

// Under the repository, not /tmp: the point is the disk the gateway would really use (and /tmp may be tmpfs).
const benchDir = join(ROOT, '.bench');
const runDir = join(benchDir, `run-${process.pid}`);
const profDir = process.env.BENCH_CPU_PROF === '1' ? join(benchDir, 'profiles') : undefined;
const outFile = resolve(process.env.BENCH_OUT ?? join(benchDir, 'results.json'));

const servers: Server[] = [];
const clients: Client[] = [];
const sampler = new AnonSampler(100);

/** Adds a started server to those stopped at the end and whose memory is sampled; returns its client. */
function track(s: Server): Client {
  servers.push(s);
  sampler.watch(s.proc.pid!);
  const c = new Client(s, config.listFillConcurrency);
  clients.push(c);
  return c;
}

async function shutdown(): Promise<void> {
  sampler.stop();
  await Promise.allSettled(clients.map((c) => c.pool.destroy()));
  await Promise.allSettled(servers.map((s) => s.stop()));
  await rm(runDir, { recursive: true, force: true });
}

// Last resort when the bench dies without shutdown() (an uncaught error, a closed output pipe): the
// references exit with our stdin, but the gateways would run on.
process.on('exit', () => {
  for (const s of servers) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGTERM');
});

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`[bench] ${signal}: stopping the servers\n`);
    void shutdown().finally(() => process.exit(130));
  });
}

/** Memory of `of` at the end of `phase`; each snapshot also ends the anonymous-peak window of the phase. */
function snapshot(results: Results, phase: string, of: Server[]): void {
  results.memory[phase] = Object.fromEntries(of.map((s) => [s.name, sampler.take(s.proc.pid!)]));
}

async function main(): Promise<number> {
  if (!existsSync(join(ROOT, 'apps/gateway/dist/main.js'))) throw new Error('apps/gateway/dist/main.js is missing: run `npx tsc -b` first');
  await mkdir(runDir, { recursive: true });
  if (profDir) await mkdir(profDir, { recursive: true });
  const results: Results = { config, memory: {}, complaints: {} };
  const profilesBefore = new Set(profDir ? readdirSync(profDir) : []);
  try {
    process.stderr.write(`[bench] ${quick ? 'quick' : 'full'} run, data in ${runDir}\n`);
    const gw = track(await startGateway(join(runDir, 'gateway'), profDir));
    track(await startReference(join(runDir, 'raw'), 'raw', profDir));
    track(await startReference(join(runDir, 'raw-md5'), 'md5', profDir));
    track(await startReference(join(runDir, 'raw-md5-fsync'), 'md5-fsync', profDir));
    const disk = [...clients];
    const diskServers = [...servers];
    for (const bucket of [BUCKET, LIST_BUCKET]) {
      const r = await gw.send('PUT', bucket, undefined, { keepText: true });
      if (r.status !== 200) throw new Error(`CreateBucket ${bucket}: ${r.status} ${r.text}`);
    }
    const source = randomBytes(16 * MiB);
    snapshot(results, 'start', diskServers);
    if (selected.has('small')) {
      results.small = await smallObjects(disk, config, source);
      snapshot(results, 'afterSmall', diskServers);
    }
    if (selected.has('big')) {
      results.big = await bigObject(disk, config, source);
      snapshot(results, 'afterBig', diskServers);
    }
    if (selected.has('multipart')) {
      results.multipart = await multipart(disk, config, source);
      snapshot(results, 'afterMultipart', diskServers);
    }
    if (selected.has('listing')) results.listing = await listing(gw, config);
    if (selected.has('upstream')) {
      // Last, and started only now: these two are not part of the disk comparison.
      const up = await startGateway(join(runDir, 'upstream'), profDir, { name: 'upstream' });
      const direct = track(up);
      const via = track(await startS3Gateway(join(runDir, 's3-gateway'), up, profDir));
      results.upstream = await upstream(via, direct, config, source, (phase) => snapshot(results, phase, [via.server, up]));
    }
  } catch (e) {
    results.error = interrupted ? 'interrupted' : (e as Error).stack ?? String(e);
    process.stderr.write(`[bench] FAILED: ${results.error}\n`);
  } finally {
    for (const s of servers) results.complaints[s.name] = s.complaints.slice(0, 50);
    const rs = rows(results);
    await mkdir(dirname(outFile), { recursive: true });
    await writeFile(outFile, `${JSON.stringify(json(results, rs), null, 2)}\n`);
    await shutdown();
    console.log(`\ntwinport benchmark (${quick ? 'BENCH_QUICK' : 'full'}; node ${process.version}; ratio = gateway / named reference)\n`);
    console.log(table(rs));
    for (const s of servers) {
      if (s.complaints.length) console.log(`\n${s.name} printed ${s.complaints.length} warning/error lines; first: ${s.complaints[0].slice(0, 400)}`);
    }
    console.log(`\nresults: ${outFile}`);
    if (profDir) {
      // --cpu-prof names each file after the pid that wrote it.
      const nameOf = new Map(servers.map((s) => [String(s.proc.pid), s.name]));
      for (const f of readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile') && !profilesBefore.has(f))) {
        console.log(`\n${nameOf.get(f.split('.')[3]) ?? '?'}: ${summarize(join(profDir, f))}`);
      }
    }
  }
  return results.error ? 1 : 0;
}

process.exitCode = await main();
