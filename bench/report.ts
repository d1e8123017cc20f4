// Turns the measurements into the table (gateway vs references, ratio, target, verdict) and the JSON.
import { median, percentile, type SmallStats } from './measure.js';
import type { MemoryReading } from './memory.js';
import { MiB, type BenchConfig, type BigResult, type ListingResult, type MultipartResult, type PerServer, type SmallResult } from './scenarios.js';
import { UPSTREAM_PHASES, type UpstreamResult } from './upstream.js';

/** Memory readings (MiB) per phase end, per server. */
export type MemorySnapshot = Record<string, PerServer<MemoryReading>>;

export interface Results {
  config: BenchConfig;
  big?: BigResult;
  small?: SmallResult;
  multipart?: MultipartResult;
  listing?: ListingResult;
  upstream?: UpstreamResult;
  memory: MemorySnapshot;
  complaints: PerServer<string[]>;
  error?: string;
}

/**
 * The table's value columns: the servers of the disk scenarios, and `direct`, the upstream reached
 * without the s3 driver (whose gateway then fills the `gateway` column).
 */
export type Column = 'gateway' | 'raw' | 'raw+MD5' | 'raw+MD5+fsync' | 'direct';

/** One line of the table. */
export interface Row {
  scenario: string;
  unit: string;
  gateway?: number;
  raw?: number;
  rawMd5?: number;
  rawMd5Fsync?: number;
  direct?: number;
  /** gateway / the column named by `versus`. */
  ratio?: number;
  versus?: Column;
  target?: string;
  pass?: boolean;
  note?: string;
}

const COLUMNS: Array<[Column, 'gateway' | 'raw' | 'rawMd5' | 'rawMd5Fsync' | 'direct']> = [
  ['gateway', 'gateway'], ['raw', 'raw'], ['raw+MD5', 'rawMd5'], ['raw+MD5+fsync', 'rawMd5Fsync'], ['direct', 'direct'],
];

type Values = Partial<Record<Column, number>>;

const size = (bytes: number) => (bytes >= 1024 * MiB ? `${bytes / (1024 * MiB)} GiB` : bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes / 1024} KiB`);

/** A comparison row; `higher` says whether more is better (throughput) or worse (time, memory). */
function compare(scenario: string, unit: string, v: Values, versus: Column | undefined, limit: number | undefined, higher: boolean, note?: string): Row {
  const row: Row = { scenario, unit };
  for (const [col, field] of COLUMNS) if (v[col] !== undefined) row[field] = v[col];
  if (note !== undefined) row.note = note;
  if (versus && v.gateway !== undefined && v[versus] !== undefined) {
    row.ratio = v.gateway / v[versus]!;
    row.versus = versus;
    if (limit !== undefined) {
      row.target = `${higher ? '>=' : '<='} ${limit}x ${versus}`;
      row.pass = higher ? row.ratio >= limit : row.ratio <= limit;
    }
  }
  return row;
}

function each<T>(m: PerServer<T>, f: (x: T) => number): PerServer<number> {
  return Object.fromEntries(Object.entries(m).map(([k, x]) => [k, f(x as T)])) as PerServer<number>;
}

/** The values without the durable reference: the rows with the issue's targets compare as they always have. */
function nonDurable(v: PerServer<number>): PerServer<number> {
  const { 'raw+MD5+fsync': _, ...rest } = v;
  return rest;
}

/** The informational row under a PUT row: the gateway against the reference that fsyncs as it does. */
function durableRow(label: string, unit: string, v: PerServer<number>): Row[] {
  if (v['raw+MD5+fsync'] === undefined) return [];
  return [compare(`  ${label} vs the durable reference`, unit, { gateway: v.gateway, 'raw+MD5+fsync': v['raw+MD5+fsync'] }, 'raw+MD5+fsync', undefined, true)];
}

function errorsNote(m: PerServer<SmallStats>): string | undefined {
  const bad = Object.entries(m).filter(([, s]) => s!.errors > 0).map(([k, s]) => `${k}: ${s!.errors} errors (${s!.firstError})`);
  return bad.length ? bad.join('; ') : undefined;
}

export function rows(r: Results): Row[] {
  const out: Row[] = [];
  const cfg = r.config;
  if (r.big) {
    const big = size(cfg.bigSize);
    const put = each(r.big.put, median);
    out.push(compare(`PUT ${big}, one stream (median of ${cfg.bigRounds})`, 'MiB/s', nonDurable(put), 'raw+MD5', 0.9, true, r.big.etagsAgree ? undefined : 'gateway ETag differs from the MD5 of the body'));
    out.push(...durableRow(`PUT ${big}`, 'MiB/s', put));
    out.push(compare(`  PUT ${big}: wait after the last byte sent`, 's', each(r.big.putTail, median), 'raw+MD5', undefined, false));
    out.push(compare(`  PUT ${big}: server CPU per GiB`, 's', each(r.big.putCpu, median), 'raw+MD5', undefined, false));
    out.push(compare(`GET ${big}, one stream (median of ${cfg.bigRounds})`, 'MiB/s', each(r.big.get, median), 'raw', 0.9, true));
    out.push(compare(`  GET ${big}: server CPU per GiB`, 's', each(r.big.getCpu, median), 'raw', undefined, false));
  }
  if (r.small) {
    const label = `${size(cfg.smallSize)} x${cfg.smallConcurrency}`;
    for (const [op, m, versus] of [['PUT', r.small.put, 'raw+MD5'], ['GET', r.small.get, 'raw']] as const) {
      const errs = errorsNote(m);
      const rate = each(m, (s) => median(s.opsPerSec));
      const row = compare(`${op} ${label} (median of ${cfg.smallRounds} x ${cfg.smallMeasureMs / 1000} s)`, 'ops/s', nonDurable(rate), versus, 0.7, true, errs);
      if (errs) row.pass = false;
      out.push(row);
      out.push(...durableRow(`${op} ${label}`, 'ops/s', rate));
      out.push(compare(`  ${op} ${label} latency p50`, 'ms', each(m, (s) => percentile(s.latencies, 50)), versus, undefined, false));
      out.push(compare(`  ${op} ${label} latency p99`, 'ms', each(m, (s) => percentile(s.latencies, 99)), versus, undefined, false));
      out.push(compare(`  ${op} ${label} server CPU per op`, 'us', each(m, (s) => median(s.cpuMicrosPerOp)), versus, undefined, false));
    }
  }
  if (r.multipart) {
    const parts = Math.ceil(cfg.mpSize / cfg.mpPartSize);
    const rate = each(r.multipart.mibPerSec, median);
    out.push(compare(`multipart ${size(cfg.mpSize)}: ${parts} x ${size(cfg.mpPartSize)} parts, ${cfg.mpConcurrency} at once (refs: ${parts} PUTs)`, 'MiB/s', nonDurable(rate), 'raw+MD5', 0.9, true));
    out.push(...durableRow(`multipart ${size(cfg.mpSize)}`, 'MiB/s', rate));
    const ph = r.multipart.gatewayPhases;
    if (ph.length) {
      out.push({ scenario: '  multipart: time in the UploadParts', unit: 's', gateway: median(ph.map((p) => p.parts)) });
      out.push({ scenario: '  multipart: time in CompleteMultipartUpload', unit: 's', gateway: median(ph.map((p) => p.complete)) });
    }
  }
  if (r.listing) {
    const l = r.listing;
    out.push({ scenario: `listing fill: ${l.keys} empty PUTs, ${cfg.listFillConcurrency} at once (${(l.keys / l.fillSeconds).toFixed(0)} PUT/s)`, unit: 's', gateway: l.fillSeconds });
    const page = median(l.pageMs);
    out.push({ scenario: `ListObjectsV2 1000 keys from the middle of ${l.keys} (median of ${l.pageMs.length})`, unit: 'ms', gateway: page, target: '<= 50 ms', pass: page <= 50 });
    const root = median(l.delimiterMs);
    out.push({ scenario: `ListObjectsV2 delimiter=/ at the root, ${cfg.listDirs} prefixes (median of ${l.delimiterMs.length})`, unit: 'ms', gateway: root, target: '<= 100 ms', pass: root <= 100 });
  }
  out.push(...memoryRows(r));
  if (r.upstream) out.push(...upstreamRows(r.upstream, r));
  return out;
}

/** RSS rows of the disk servers: VmHWM after each phase as the targets have it, each with the sampled anonymous peak of that phase. */
function memoryRows(r: Results): Row[] {
  const out: Row[] = [];
  const at = (phase: string, f: (m: MemoryReading) => number) => each(r.memory[phase] ?? {}, f);
  if (r.memory.start) {
    out.push(compare('RSS at start', 'MiB', at('start', (m) => m.rss), 'raw', undefined, false));
    out.push(compare('  anonymous RSS at start', 'MiB', at('start', (m) => m.anon), 'raw', undefined, false));
  }
  const phases: Array<[string, string, number | undefined]> = [
    ['afterSmall', `the ${size(r.config.smallSize)} phase`, undefined],
    ['afterBig', `the ${size(r.config.bigSize)} phase`, 1.2],
    ['afterMultipart', 'the multipart phase', 1.2],
  ];
  for (const [phase, label, limit] of phases) {
    if (!r.memory[phase]) continue;
    out.push(compare(`peak RSS after ${label}`, 'MiB', at(phase, (m) => m.peak), 'raw', limit, false));
    out.push(compare(`  peak anonymous RSS during ${label}`, 'MiB', at(phase, (m) => m.anonPeak), 'raw', undefined, false));
  }
  return out;
}

/** The s3-driver rows: each route's throughput (gateway = through the s3 driver), and its memory after small and large objects. */
function upstreamRows(u: UpstreamResult, r: Results): Row[] {
  const cfg = r.config;
  const big = size(u.size);
  // The table's columns: the s3-driver gateway is the gateway under test, the upstream is `direct`.
  const cols = (v: PerServer<number>): Values => ({ gateway: v['s3-gateway'], direct: v.upstream });
  const out: Row[] = [];
  for (const [op, mibs, cpu] of [['PUT', u.put, u.putCpu], ['GET', u.get, u.getCpu]] as const) {
    out.push(compare(`upstream: ${op} ${big} through the s3 driver vs direct (median of ${cfg.upRounds})`, 'MiB/s', cols(each(mibs, median)), 'direct', 0.85, true, op === 'PUT' && !u.etagsAgree ? 'the two routes gave different ETags for the same bytes' : undefined));
    out.push(compare(`  upstream ${op} ${big}: CPU per GiB of the server the client talks to`, 's', cols(each(cpu, median)), 'direct', undefined, false));
  }
  const label = `${size(cfg.smallSize)} x${cfg.smallConcurrency}`;
  for (const [op, s] of [['PUT', u.small.put], ['GET', u.small.get]] as const) {
    const errs = s.errors ? `${s.errors} errors (${s.firstError})` : undefined;
    out.push({ scenario: `  upstream: ${op} ${label} through the s3 driver (${cfg.smallMeasureMs / 1000} s)`, unit: 'ops/s', gateway: median(s.opsPerSec), ...(errs ? { note: errs } : {}) });
  }
  const mem = (phase: string) => r.memory[phase]?.['s3-gateway'];
  const small = mem(UPSTREAM_PHASES.small);
  const large = mem(UPSTREAM_PHASES.big);
  if (small) out.push({ scenario: `s3 driver: peak RSS after the ${size(cfg.smallSize)} phase`, unit: 'MiB', gateway: small.peak });
  if (large) out.push({ scenario: `s3 driver: peak RSS after the ${big} phase`, unit: 'MiB', gateway: large.peak });
  if (small && large) {
    out.push({ scenario: `  s3 driver: peak RSS growth from the ${size(cfg.smallSize)} to the ${big} phase`, unit: 'MiB', gateway: large.peak - small.peak });
    out.push({ scenario: `  s3 driver: peak anonymous RSS during the ${size(cfg.smallSize)} phase`, unit: 'MiB', gateway: small.anonPeak });
    out.push({ scenario: `  s3 driver: peak anonymous RSS during the ${big} phase`, unit: 'MiB', gateway: large.anonPeak });
  }
  return out;
}

function fmt(v: number | undefined, unit: string): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  if (unit === 'ms') return v < 10 ? v.toFixed(2) : v.toFixed(1);
  if (unit === 's') return v < 10 ? v.toFixed(2) : v.toFixed(1);
  if (unit === 'MiB') return v.toFixed(1);
  return v.toFixed(0);
}

/** A Markdown table: aligned in a terminal, pasteable into an issue. Value columns no row fills are left out. */
export function table(rs: Row[]): string {
  const cols = COLUMNS.filter(([, field]) => rs.some((r) => r[field] !== undefined));
  const head = ['scenario', 'unit', ...cols.map(([col]) => col), 'ratio', 'target', 'result'];
  const body = rs.map((r) => [
    r.scenario, r.unit, ...cols.map(([, field]) => fmt(r[field], r.unit)),
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x ${r.versus}`,
    r.target ?? '', r.pass === undefined ? '' : r.pass ? 'PASS' : 'MISS',
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const right = new Set(cols.map((_, i) => i + 2));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (right.has(i) ? c.padStart(width[i]) : c.padEnd(width[i]))).join(' | ')} |`;
  const notes = rs.filter((r) => r.note).map((r) => `note (${r.scenario.trim()}): ${r.note}`);
  return [line(head), `|${width.map((w, i) => (right.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`, ...body.map(line), ...notes].join('\n');
}

/** The JSON document: the rows plus the raw samples (latencies summarised, not listed). */
export function json(r: Results, rs: Row[]): unknown {
  const small = (m: PerServer<SmallStats> | undefined) => m && Object.fromEntries(Object.entries(m).map(([k, s]) => [k, {
    opsPerSec: s!.opsPerSec, cpuMicrosPerOp: s!.cpuMicrosPerOp, ops: s!.latencies.length, errors: s!.errors, firstError: s!.firstError,
    latencyMs: { p50: percentile(s!.latencies, 50), p90: percentile(s!.latencies, 90), p99: percentile(s!.latencies, 99), max: percentile(s!.latencies, 100) },
  }]));
  return {
    generatedAt: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    config: r.config,
    error: r.error,
    rows: rs,
    samples: {
      bigMiBPerSec: r.big && { put: r.big.put, putTailSeconds: r.big.putTail, get: r.big.get, putCpuSecondsPerGiB: r.big.putCpu, getCpuSecondsPerGiB: r.big.getCpu, etagsAgree: r.big.etagsAgree },
      small: r.small && { put: small(r.small.put), get: small(r.small.get) },
      multipartMiBPerSec: r.multipart?.mibPerSec,
      multipartGatewayPhasesSeconds: r.multipart?.gatewayPhases,
      listing: r.listing,
      upstream: r.upstream && {
        size: r.upstream.size, putMiBPerSec: r.upstream.put, getMiBPerSec: r.upstream.get, putCpuSecondsPerGiB: r.upstream.putCpu, getCpuSecondsPerGiB: r.upstream.getCpu,
        etagsAgree: r.upstream.etagsAgree, small: { put: small({ 's3-gateway': r.upstream.small.put }), get: small({ 's3-gateway': r.upstream.small.get }) },
      },
      memoryMiB: r.memory,
    },
    complaints: r.complaints,
  };
}
