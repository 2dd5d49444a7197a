// Runs every compiled test file with node's test runner (spec output), then prints the closing
// line CI reads: "N passed, N failed". Exit code 1 when anything failed.
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

const only = process.argv.slice(2);
const files = findTests('dist').filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
// Files named *.serial.test.js compare real-time runs (their figures are the machine's as much as the
// code's), or need no other test's demo running (a demo stops every gone demo's orphans): they run after
// the others, one at a time, with nothing else loading the machine.
const serial = files.filter((f) => f.endsWith('.serial.test.js'));
const parallel = files.filter((f) => !f.endsWith('.serial.test.js'));
let passed = 0;
let failed = 0;
let skipped = 0;
// The fuzzers (test/fuzz) print "fuzz NAME: seed S, N cases in T s": their total is printed at the end.
let fuzzCases = 0;
let fuzzRuns = 0;
// Each file runs in its own process under this timeout (a hung file fails, the others go on). A file's time is
// the sum of its top-level tests (they run one after another): the slowest are printed at the end, and any past
// two thirds of the timeout is named, before a slower machine takes it past (cli.test.js did: 244 s here, over
// 300 s in CI).
const FILE_TIMEOUT_MS = 300_000;
const fileMs = new Map();

async function runPhase(phaseFiles, concurrency) {
  if (phaseFiles.length === 0) return;
  const stream = run({ files: phaseFiles, concurrency, timeout: FILE_TIMEOUT_MS });
  const time = (e) => {
    if (e.nesting === 0 && e.file) fileMs.set(e.file, (fileMs.get(e.file) ?? 0) + (e.details?.duration_ms ?? 0));
  };
  stream.on('test:pass', (e) => {
    time(e);
    if (e.details?.type === 'suite') return;
    if (e.skip || e.todo) skipped++;
    else passed++;
  });
  stream.on('test:fail', (e) => {
    time(e);
    if (e.details?.type === 'suite' && !e.details?.error?.failureType?.includes('hook')) return;
    failed++;
  });
  stream.on('test:stdout', (e) => {
    for (const m of String(e.message).matchAll(/^fuzz [\w-]+: seed \d+, (\d+) cases in/gm)) {
      fuzzCases += Number(m[1]);
      fuzzRuns++;
    }
  });
  const report = stream.compose(spec);
  report.pipe(process.stdout, { end: false });
  await finished(report);
}

await runPhase(parallel, 2);
if (serial.length) console.log(`serial: ${serial.length} file(s) that compare real-time runs, one at a time`);
await runPhase(serial, 1);
const slowest = [...fileMs].sort((a, b) => b[1] - a[1]).slice(0, 5);
if (slowest.length > 0) {
  const name = (f) => f.slice(f.lastIndexOf('dist/'));
  console.log(`slowest files (each under a ${FILE_TIMEOUT_MS / 1000} s timeout): ${slowest.map(([f, ms]) => `${name(f)} ${(ms / 1000).toFixed(0)} s`).join(', ')}`);
  for (const [f, ms] of slowest) if (ms > (FILE_TIMEOUT_MS * 2) / 3) console.log(`warning: ${name(f)} took ${(ms / 1000).toFixed(0)} s, past two thirds of its timeout: split it`);
}
if (fuzzRuns > 0) console.log(`fuzz: ${fuzzCases} cases in total over ${fuzzRuns} fuzzers`);
const total = passed + failed;
if (total === 0) {
  console.log('0 passed, 1 failed (no test ran)');
  process.exitCode = 1;
} else {
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  if (failed > 0) process.exitCode = 1;
}
