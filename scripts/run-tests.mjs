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

async function runPhase(phaseFiles, concurrency) {
  if (phaseFiles.length === 0) return;
  const stream = run({ files: phaseFiles, concurrency, timeout: 300_000 });
  stream.on('test:pass', (e) => {
    if (e.details?.type === 'suite') return;
    if (e.skip || e.todo) skipped++;
    else passed++;
  });
  stream.on('test:fail', (e) => {
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
if (fuzzRuns > 0) console.log(`fuzz: ${fuzzCases} cases in total over ${fuzzRuns} fuzzers`);
const total = passed + failed;
if (total === 0) {
  console.log('0 passed, 1 failed (no test ran)');
  process.exitCode = 1;
} else {
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  if (failed > 0) process.exitCode = 1;
}
