// Memory readings of the servers from /proc: snapshots after each phase, and a sampler that keeps
// the peak anonymous memory of each phase (the kernel keeps a peak only for the whole RSS, VmHWM,
// which also counts mapped files such as the LMDB index).
import { readFileSync } from 'node:fs';

/** One reading, MiB. `anonPeak` is the highest RssAnon sampled since the previous snapshot. */
export interface MemoryReading {
  /** VmRSS: resident now. */
  rss: number;
  /** VmHWM: the highest VmRSS since the process started (anonymous and file-backed pages). */
  peak: number;
  /** RssAnon now: heap, buffers, stacks. */
  anon: number;
  /** RssFile now: resident pages of mapped files (code, LMDB's map). */
  file: number;
  /** The highest RssAnon sampled during the phase that this snapshot ends. */
  anonPeak: number;
}

/** Resident set now, its high-water mark, and the split into anonymous and file-backed pages, in MiB. */
export function memory(pid: number): Omit<MemoryReading, 'anonPeak'> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024, anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024 };
}

function anonNow(pid: number): number | undefined {
  try {
    return memory(pid).anon;
  } catch {
    // The process has exited; its last samples stand.
    return undefined;
  }
}

/**
 * Samples the RssAnon of every watched process at a fixed interval and keeps each one's maximum
 * since the last `take`. A spike shorter than the interval can slip between two samples; VmHWM,
 * kept by the kernel, cannot miss one, which is why the report shows both.
 */
export class AnonSampler {
  private readonly peaks = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 100) {
    this.timer = setInterval(() => { for (const pid of this.peaks.keys()) this.sample(pid); }, intervalMs);
    // The sampler must never be what keeps the bench alive.
    this.timer.unref();
  }

  /** Starts sampling `pid`. */
  watch(pid: number): void {
    if (!this.peaks.has(pid)) this.peaks.set(pid, anonNow(pid) ?? 0);
  }

  /** A snapshot of `pid` whose `anonPeak` covers the time since the previous one; starts the next phase. */
  take(pid: number): MemoryReading {
    const now = memory(pid);
    const anonPeak = Math.max(this.peaks.get(pid) ?? 0, now.anon);
    this.peaks.set(pid, now.anon);
    return { ...now, anonPeak };
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(pid: number): void {
    const anon = anonNow(pid);
    if (anon !== undefined && anon > this.peaks.get(pid)!) this.peaks.set(pid, anon);
  }
}
