// Summarises a V8 .cpuprofile (from BENCH_CPU_PROF=1): where the gateway's CPU time went, by
// function (self time) and by package. Also usable alone:
//   node --import tsx bench/cpuprofile.ts .bench/profiles/<file>.cpuprofile
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The package a script belongs to: a workspace package, a dependency, or Node itself. */
function owner(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return dep[1];
  const ws = /\/(packages|apps)\/([^/]+)\//.exec(url);
  if (ws) return `@twinport/${ws[2]}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url;
}

export function summarize(path: string, top = 20): string {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  // Idle time is the server waiting for the client or the disk; shares are of the busy time only.
  let idle = 0;
  for (const [id, us] of self) if (byId.get(id)!.callFrame.functionName === '(idle)') { idle += us; self.delete(id); }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const file = url.replace(/^.*\/(node_modules|packages|apps)\//, '$1/');
    const fn = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
    const pkg = owner(url, functionName);
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const list = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => `  ${pct(us)}  ${k}`);
  return [
    `CPU profile ${path}: ${(total / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle, over ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s wall`,
    'self time by package:', ...list(byPkg, 15),
    `self time by function (top ${top}):`, ...list(byFn, top),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const f of process.argv.slice(2)) console.log(summarize(f, 30));
}
