// Turns the measurements into the table (gateway vs references, ratio, target, verdict) and the JSON.
import type { ServerName } from './servers.js';
import { median, percentile, type BenchConfig, type BigResult, type ListingResult, type MultipartResult, type PerServer, type SmallResult, type SmallStats, MiB } from './scenarios.js';

export interface MemorySnapshot {
  /** MiB, per server: resident now and high-water mark since start. */
  [phase: string]: PerServer<{ rss: number; peak: number }>;
}

export interface Results {
  config: BenchConfig;
  big?: BigResult;
  small?: SmallResult;
  multipart?: MultipartResult;
  listing?: ListingResult;
  memory: MemorySnapshot;
  complaints: PerServer<string[]>;
  error?: string;
}

export interface Row {
  scenario: string;
  unit: string;
  gateway?: number;
  raw?: number;
  rawMd5?: number;
  /** gateway / the reference named by `versus`. */
  ratio?: number;
  versus?: ServerName;
  target?: string;
  pass?: boolean;
  note?: string;
}

const size = (bytes: number) => (bytes >= 1024 * MiB ? `${bytes / (1024 * MiB)} GiB` : bytes >= MiB ? `${bytes / MiB} MiB` : `${bytes / 1024} KiB`);

/** A comparison row; `higher` says whether more is better (throughput) or worse (time, memory). */
function compare(scenario: string, unit: string, v: PerServer<number>, versus: ServerName | undefined, limit: number | undefined, higher: boolean, note?: string): Row {
  const row: Row = { scenario, unit, gateway: v.gateway, raw: v.raw, rawMd5: v['raw+MD5'], note };
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

function errorsNote(m: PerServer<SmallStats>): string | undefined {
  const bad = Object.entries(m).filter(([, s]) => s!.errors > 0).map(([k, s]) => `${k}: ${s!.errors} errors (${s!.firstError})`);
  return bad.length ? bad.join('; ') : undefined;
}

export function rows(r: Results): Row[] {
  const out: Row[] = [];
  const cfg = r.config;
  if (r.big) {
    const big = size(cfg.bigSize);
    out.push(compare(`PUT ${big}, one stream (median of ${cfg.bigRounds})`, 'MiB/s', each(r.big.put, median), 'raw+MD5', 0.9, true, r.big.etagsAgree ? undefined : 'gateway ETag differs from the MD5 of the body'));
    out.push(compare(`  PUT ${big}: wait after the last byte sent`, 's', each(r.big.putTail, median), 'raw+MD5', undefined, false));
    out.push(compare(`  PUT ${big}: server CPU per GiB`, 's', each(r.big.putCpu, median), 'raw+MD5', undefined, false));
    out.push(compare(`GET ${big}, one stream (median of ${cfg.bigRounds})`, 'MiB/s', each(r.big.get, median), 'raw', 0.9, true));
    out.push(compare(`  GET ${big}: server CPU per GiB`, 's', each(r.big.getCpu, median), 'raw', undefined, false));
  }
  if (r.small) {
    const label = `${size(cfg.smallSize)} x${cfg.smallConcurrency}`;
    for (const [op, m, versus] of [['PUT', r.small.put, 'raw+MD5'], ['GET', r.small.get, 'raw']] as const) {
      const errs = errorsNote(m);
      const row = compare(`${op} ${label} (median of ${cfg.smallRounds} x ${cfg.smallMeasureMs / 1000} s)`, 'ops/s', each(m, (s) => median(s.opsPerSec)), versus, 0.7, true, errs);
      if (errs) row.pass = false;
      out.push(row);
      out.push(compare(`  ${op} ${label} latency p50`, 'ms', each(m, (s) => percentile(s.latencies, 50)), versus, undefined, false));
      out.push(compare(`  ${op} ${label} latency p99`, 'ms', each(m, (s) => percentile(s.latencies, 99)), versus, undefined, false));
      out.push(compare(`  ${op} ${label} server CPU per op`, 'us', each(m, (s) => median(s.cpuMicrosPerOp)), versus, undefined, false));
    }
  }
  if (r.multipart) {
    const parts = Math.ceil(cfg.mpSize / cfg.mpPartSize);
    out.push(compare(`multipart ${size(cfg.mpSize)}: ${parts} x ${size(cfg.mpPartSize)} parts, ${cfg.mpConcurrency} at once (refs: ${parts} PUTs)`, 'MiB/s', each(r.multipart.mibPerSec, median), 'raw+MD5', 0.9, true));
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
  const peak = (phase: string) => each(r.memory[phase] ?? {}, (m) => m.peak);
  if (r.memory.start) out.push(compare('RSS at start', 'MiB', each(r.memory.start, (m) => m.rss), 'raw', undefined, false));
  if (r.memory.afterSmall) out.push(compare(`peak RSS after the ${size(cfg.smallSize)} phase`, 'MiB', peak('afterSmall'), 'raw', undefined, false));
  if (r.memory.afterBig) out.push(compare(`peak RSS after the ${size(cfg.bigSize)} phase`, 'MiB', peak('afterBig'), 'raw', 1.2, false));
  if (r.memory.afterMultipart) out.push(compare('peak RSS after the multipart phase', 'MiB', peak('afterMultipart'), 'raw', 1.2, false));
  return out;
}

function fmt(v: number | undefined, unit: string): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  if (unit === 'ms') return v < 10 ? v.toFixed(2) : v.toFixed(1);
  if (unit === 's') return v < 10 ? v.toFixed(2) : v.toFixed(1);
  if (unit === 'MiB') return v.toFixed(1);
  return v.toFixed(0);
}

/** A Markdown table: aligned in a terminal, pasteable into an issue. */
export function table(rs: Row[]): string {
  const head = ['scenario', 'unit', 'gateway', 'raw', 'raw+MD5', 'ratio', 'target', 'result'];
  const body = rs.map((r) => [
    r.scenario, r.unit, fmt(r.gateway, r.unit), fmt(r.raw, r.unit), fmt(r.rawMd5, r.unit),
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x ${r.versus}`,
    r.target ?? '', r.pass === undefined ? '' : r.pass ? 'PASS' : 'MISS',
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const right = new Set([2, 3, 4]);
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
      memoryMiB: r.memory,
    },
    complaints: r.complaints,
  };
}
