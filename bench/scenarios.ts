// The measured scenarios on the disk. Every one that compares servers runs them in rounds, each
// round visiting the servers in a rotated order (ABC, BCA, CAB…), so slow drift — page-cache state,
// writeback, thermal or neighbour noise — lands on all of them alike.
import { performance } from 'node:perf_hooks';
import { repeatedBody, type Client } from './client.js';
import { cpuOf, log, measuredLoop, median, parallel, rotate, settle, smallStats, timed, type SmallStats } from './measure.js';
import type { ServerName } from './servers.js';

export const MiB = 1024 * 1024;
export const BUCKET = 'bench';
export const LIST_BUCKET = 'list';

export interface BenchConfig {
  quick: boolean;
  bigSize: number;
  bigRounds: number;
  smallSize: number;
  smallConcurrency: number;
  smallWarmupMs: number;
  smallMeasureMs: number;
  smallRounds: number;
  mpSize: number;
  mpPartSize: number;
  mpConcurrency: number;
  mpRounds: number;
  listKeys: number;
  listDirs: number;
  listFillConcurrency: number;
  listPageRuns: number;
  listDelimiterRuns: number;
  upSize: number;
  upRounds: number;
}

export type PerServer<T> = Partial<Record<ServerName, T>>;

/** Width of a server name in progress lines. */
export const NAME_WIDTH = 13;

/**
 * The durable reference writes only: its GETs would be raw+MD5's (the same files, read the same
 * way), so the read phases skip it and keep the run short.
 */
function readers(clients: Client[]): Client[] {
  return clients.filter((c) => c.server.name !== 'raw+MD5+fsync');
}

// --- one large object -------------------------------------------------------------------------

export interface BigResult {
  /** MiB/s per round. */
  put: PerServer<number[]>;
  /**
   * Seconds per round between the client handing over the last body byte and the PUT's response:
   * the part of the PUT spent after the upload (flushing, committing), not overlapped with it.
   */
  putTail: PerServer<number[]>;
  get: PerServer<number[]>;
  /** Server CPU seconds per GiB moved, per round. */
  putCpu: PerServer<number[]>;
  getCpu: PerServer<number[]>;
  /** The gateway's ETag equals the MD5 reference's for the same bytes, every round. */
  etagsAgree: boolean;
}

export async function bigObject(clients: Client[], cfg: BenchConfig, source: Buffer): Promise<BigResult> {
  const res: BigResult = { put: {}, putTail: {}, get: {}, putCpu: {}, getCpu: {}, etagsAgree: true };
  const perGiB = (cpu: number) => cpu / (cfg.bigSize / (1024 * MiB));
  for (let round = 0; round < cfg.bigRounds; round++) {
    const key = `big/round-${round}`;
    const etags: PerServer<string | undefined> = {};
    const order = rotate(clients, round);
    for (const c of order) {
      settle();
      const body = repeatedBody(source, cfg.bigSize);
      let sent = NaN;
      body.once('end', () => { sent = performance.now(); });
      let s = 0;
      const cpu = await cpuOf(c, async () => { s = await timed(async () => { etags[c.server.name] = await c.put(BUCKET, key, body, cfg.bigSize); }); });
      const tail = (performance.now() - sent) / 1000;
      (res.putCpu[c.server.name] ??= []).push(perGiB(cpu));
      (res.put[c.server.name] ??= []).push(cfg.bigSize / MiB / s);
      (res.putTail[c.server.name] ??= []).push(tail);
      log(`${cfg.bigSize / MiB} MiB PUT  round ${round + 1}/${cfg.bigRounds} ${c.server.name.padEnd(NAME_WIDTH)} ${(cfg.bigSize / MiB / s).toFixed(0)} MiB/s (${s.toFixed(2)} s, of which ${tail.toFixed(2)} s after the last byte)`);
    }
    for (const ref of ['raw+MD5', 'raw+MD5+fsync'] as const) {
      if (etags.gateway !== undefined && etags[ref] !== undefined && etags.gateway !== etags[ref]) {
        res.etagsAgree = false;
        log(`ETag mismatch: gateway ${etags.gateway}, ${ref} ${etags[ref]}`);
      }
    }
    for (const c of readers(order)) {
      settle();
      let s = 0;
      const cpu = await cpuOf(c, async () => { s = await timed(() => c.get(BUCKET, key, cfg.bigSize)); });
      (res.get[c.server.name] ??= []).push(cfg.bigSize / MiB / s);
      (res.getCpu[c.server.name] ??= []).push(perGiB(cpu));
      log(`${cfg.bigSize / MiB} MiB GET  round ${round + 1}/${cfg.bigRounds} ${c.server.name.padEnd(NAME_WIDTH)} ${(cfg.bigSize / MiB / s).toFixed(0)} MiB/s`);
    }
  }
  return res;
}

// --- many small objects -----------------------------------------------------------------------

export interface SmallResult {
  put: PerServer<SmallStats>;
  get: PerServer<SmallStats>;
}

export async function smallObjects(clients: Client[], cfg: BenchConfig, source: Buffer): Promise<SmallResult> {
  const res: SmallResult = { put: {}, get: {} };
  const size = cfg.smallSize;
  const bodyAt = (n: number) => source.subarray((n * size) % (source.length - size), ((n * size) % (source.length - size)) + size);
  const stats = (m: PerServer<SmallStats>, name: ServerName) => (m[name] ??= smallStats());
  const loop = { warmupMs: cfg.smallWarmupMs, measureMs: cfg.smallMeasureMs, concurrency: cfg.smallConcurrency };
  for (let round = 0; round < cfg.smallRounds; round++) {
    const order = rotate(clients, round);
    const written = new Map<ServerName, string[]>();
    for (const c of order) {
      const keys: string[] = [];
      written.set(c.server.name, keys);
      const put = async (phase: string, worker: number, n: number) => {
        const key = `small/${round}/${phase}${worker}-${n}`;
        await c.put(BUCKET, key, bodyAt(n * cfg.smallConcurrency + worker), size);
        keys.push(key);
      };
      const s = stats(res.put, c.server.name);
      settle();
      const rate = await measuredLoop(c, s, loop, put);
      log(`4 KiB PUT  round ${round + 1}/${cfg.smallRounds} ${c.server.name.padEnd(NAME_WIDTH)} ${rate.toFixed(0)} ops/s, ${s.cpuMicrosPerOp.at(-1)!.toFixed(0)} µs CPU/op${s.errors ? ` (${s.errors} errors: ${s.firstError})` : ''}`);
    }
    for (const c of readers(order)) {
      const keys = written.get(c.server.name)!;
      if (keys.length === 0) throw new Error(`${c.server.name}: no 4 KiB object was stored, nothing to GET`);
      const get = () => c.get(BUCKET, keys[Math.floor(Math.random() * keys.length)], size);
      const s = stats(res.get, c.server.name);
      settle();
      const rate = await measuredLoop(c, s, loop, get);
      log(`4 KiB GET  round ${round + 1}/${cfg.smallRounds} ${c.server.name.padEnd(NAME_WIDTH)} ${rate.toFixed(0)} ops/s, ${s.cpuMicrosPerOp.at(-1)!.toFixed(0)} µs CPU/op${s.errors ? ` (${s.errors} errors: ${s.firstError})` : ''}`);
    }
  }
  return res;
}

// --- multipart --------------------------------------------------------------------------------

export interface MultipartResult {
  /** MiB/s per round: a multipart upload through the gateway, separate part-sized PUTs for the references. */
  mibPerSec: PerServer<number[]>;
  /** Where the gateway's upload time went, per round: seconds in Create, in the parts, in Complete. */
  gatewayPhases: Array<{ create: number; parts: number; complete: number }>;
}

function xmlField(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}

async function multipartUpload(c: Client, key: string, cfg: BenchConfig, source: Buffer): Promise<MultipartResult['gatewayPhases'][number]> {
  const parts = Math.ceil(cfg.mpSize / cfg.mpPartSize);
  const t0 = performance.now();
  const created = await c.send('POST', BUCKET, key, { query: { uploads: '' }, keepText: true });
  const uploadId = created.status === 200 ? xmlField(created.text ?? '', 'UploadId') : undefined;
  if (!uploadId) throw new Error(`CreateMultipartUpload: ${created.status} ${created.text}`);
  const etags: string[] = [];
  const t1 = performance.now();
  await parallel(parts, cfg.mpConcurrency, async (i) => {
    const len = Math.min(cfg.mpPartSize, cfg.mpSize - i * cfg.mpPartSize);
    const offset = (i * cfg.mpPartSize) % (source.length - len + 1);
    const r = await c.send('PUT', BUCKET, key, { query: { partNumber: String(i + 1), uploadId }, body: source.subarray(offset, offset + len), length: len });
    if (r.status !== 200 || typeof r.headers.etag !== 'string') throw new Error(`UploadPart ${i + 1}: ${r.status} ${r.text ?? ''}`);
    etags[i] = r.headers.etag;
  });
  const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
  const body = Buffer.from(xml);
  const t2 = performance.now();
  const done = await c.send('POST', BUCKET, key, { query: { uploadId }, body, length: body.length, keepText: true });
  // S3 may answer 200 and still fail, with an <Error> body.
  if (done.status !== 200 || !/<CompleteMultipartUploadResult/.test(done.text ?? '')) throw new Error(`CompleteMultipartUpload: ${done.status} ${done.text}`);
  return { create: (t1 - t0) / 1000, parts: (t2 - t1) / 1000, complete: (performance.now() - t2) / 1000 };
}

export async function multipart(clients: Client[], cfg: BenchConfig, source: Buffer): Promise<MultipartResult> {
  const res: MultipartResult = { mibPerSec: {}, gatewayPhases: [] };
  const parts = Math.ceil(cfg.mpSize / cfg.mpPartSize);
  for (let round = 0; round < cfg.mpRounds; round++) {
    for (const c of rotate(clients, round)) {
      const key = `mp/round-${round}`;
      settle();
      let phases = '';
      const s = await timed(async () => {
        if (c.server.signed) {
          const p = await multipartUpload(c, key, cfg, source);
          res.gatewayPhases.push(p);
          phases = ` (create ${p.create.toFixed(3)} s, parts ${p.parts.toFixed(2)} s, complete ${p.complete.toFixed(3)} s)`;
          return;
        }
        await parallel(parts, cfg.mpConcurrency, async (i) => {
          const len = Math.min(cfg.mpPartSize, cfg.mpSize - i * cfg.mpPartSize);
          const offset = (i * cfg.mpPartSize) % (source.length - len + 1);
          await c.put(BUCKET, `${key}/part-${i + 1}`, source.subarray(offset, offset + len), len);
        });
      });
      if (c.server.signed) {
        const head = await c.send('HEAD', BUCKET, key);
        if (head.status !== 200 || Number(head.headers['content-length']) !== cfg.mpSize) throw new Error(`multipart object: HEAD ${head.status}, ${head.headers['content-length']} bytes, expected ${cfg.mpSize}`);
      }
      (res.mibPerSec[c.server.name] ??= []).push(cfg.mpSize / MiB / s);
      log(`${cfg.mpSize / MiB} MiB multipart round ${round + 1}/${cfg.mpRounds} ${c.server.name.padEnd(NAME_WIDTH)} ${(cfg.mpSize / MiB / s).toFixed(0)} MiB/s${phases}`);
    }
  }
  return res;
}

// --- listing (gateway only) -------------------------------------------------------------------

export interface ListingResult {
  keys: number;
  fillSeconds: number;
  /** ms of each 1000-key ListObjectsV2 page from the middle of the bucket. */
  pageMs: number[];
  /** ms of each root `delimiter=/` listing. */
  delimiterMs: number[];
}

export function listingKey(i: number, dirs: number): string {
  return `dir${String(i % dirs).padStart(3, '0')}/file${String(i).padStart(6, '0')}`;
}

export async function listing(gw: Client, cfg: BenchConfig): Promise<ListingResult> {
  const empty = Buffer.alloc(0);
  let done = 0;
  const progress = setInterval(() => log(`listing fill: ${done}/${cfg.listKeys} keys`), 10_000);
  let fillSeconds: number;
  try {
    fillSeconds = await timed(() => parallel(cfg.listKeys, cfg.listFillConcurrency, async (i) => {
      await gw.put(LIST_BUCKET, listingKey(i, cfg.listDirs), empty, 0);
      done++;
    }));
  } finally {
    clearInterval(progress);
  }
  log(`listing fill: ${cfg.listKeys} keys in ${fillSeconds.toFixed(1)} s (${(cfg.listKeys / fillSeconds).toFixed(0)} PUT/s at concurrency ${cfg.listFillConcurrency})`);

  const sorted = Array.from({ length: cfg.listKeys }, (_, i) => listingKey(i, cfg.listDirs)).sort();
  const startAfter = sorted[sorted.length >> 1];
  const expectKeys = Math.min(1000, sorted.length - (sorted.length >> 1) - 1);
  const list = async (query: Record<string, string>, check: (xml: string) => void): Promise<number> => {
    const t0 = performance.now();
    const r = await gw.send('GET', LIST_BUCKET, undefined, { query, keepText: true });
    const ms = performance.now() - t0;
    if (r.status !== 200) throw new Error(`ListObjectsV2 ${JSON.stringify(query)}: ${r.status} ${r.text}`);
    check(r.text ?? '');
    return ms;
  };
  const count = (xml: string, tag: string) => xml.split(`<${tag}>`).length - 1;
  const page = () => list({ 'list-type': '2', 'start-after': startAfter, 'max-keys': '1000' }, (xml) => {
    if (count(xml, 'Key') !== expectKeys) throw new Error(`middle page: ${count(xml, 'Key')} keys, expected ${expectKeys}`);
  });
  const root = () => list({ 'list-type': '2', delimiter: '/' }, (xml) => {
    if (count(xml, 'CommonPrefixes') !== cfg.listDirs) throw new Error(`root listing: ${count(xml, 'CommonPrefixes')} prefixes, expected ${cfg.listDirs}`);
  });
  // One untimed call of each so the first timed one does not pay for cold code paths.
  await page();
  await root();
  const pageMs: number[] = [];
  for (let i = 0; i < cfg.listPageRuns; i++) pageMs.push(await page());
  const delimiterMs: number[] = [];
  for (let i = 0; i < cfg.listDelimiterRuns; i++) delimiterMs.push(await root());
  log(`listing: middle 1000-key page median ${median(pageMs).toFixed(1)} ms, root delimiter listing median ${median(delimiterMs).toFixed(1)} ms`);
  return { keys: cfg.listKeys, fillSeconds, pageMs, delimiterMs };
}
