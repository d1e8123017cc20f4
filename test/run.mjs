// Runs every *.test.ts under test/ with Node's test runner (TypeScript through tsx), then runs the
// protocol and client suites (test/s3, test/clients, test/qingstor) again on every other
// backend (driver + metadata store), and prints the totals of all runs last.
//   node test/run.mjs [substring...]     only the files whose path contains one of the substrings
//   TEST_BACKENDS=s3+redis,...           the extra backends to run (default: all of them)
// Node 20's runner does not expand globs, so the files are found here.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('.', import.meta.url).pathname;
const only = process.argv.slice(2);
const MATRIX_DIRS = ['s3', 'clients', 'qingstor'].map((d) => join(root, d) + '/');
const EXTRA_BACKENDS = (process.env.TEST_BACKENDS ?? 's3+embedded,disk+redis,s3+redis').split(',').map((s) => s.trim()).filter(Boolean);

const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts') && (only.length === 0 || only.some((o) => p.includes(o)))) files.push(p);
  }
})(root);

/** Runs the files on one backend, echoing the runner's output; resolves to its pass/fail counts. */
function run(list, backend) {
  return new Promise((resolve) => {
    const args = ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...list.map((p) => relative(process.cwd(), p))];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TEST_BACKEND: backend } });
    const counts = { pass: 0, fail: 0 };
    let tail = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      tail += d;
      const lines = tail.split('\n');
      tail = lines.pop();
      for (const line of lines) {
        const m = /^ℹ (pass|fail) (\d+)$/.exec(line.trim());
        if (m) counts[m[1]] = Number(m[2]);
      }
    });
    child.on('close', (code) => resolve({ ...counts, code }));
  });
}

const totals = [];
const base = await run(files, 'disk+embedded');
totals.push(['disk+embedded', base]);
const matrixed = files.filter((p) => MATRIX_DIRS.some((d) => p.startsWith(d)));
for (const backend of matrixed.length > 0 ? EXTRA_BACKENDS : []) {
  console.log(`\n=== protocol and client suites on backend ${backend} ===\n`);
  totals.push([backend, await run(matrixed, backend)]);
}
let pass = 0;
let fail = 0;
let failedRun = false;
console.log('\nbackend          pass  fail');
for (const [backend, t] of totals) {
  console.log(`${backend.padEnd(16)} ${String(t.pass).padStart(5)} ${String(t.fail).padStart(5)}`);
  pass += t.pass;
  fail += t.fail;
  if (t.code !== 0) failedRun = true;
}
console.log(`tests ${pass + fail}, passed ${pass}, failed ${fail}`);
process.exit(fail > 0 || failedRun ? 1 : 0);
