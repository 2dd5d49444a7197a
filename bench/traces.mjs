// bench:traces — (1) every CSV under the shared traces loads, every column, with the rows, step, time
// format and gaps found; (2) a generated 5,000,000-row trace loads in a fresh process, with its wall time
// and peak resident memory (target: < 1 GB). Writes bench/results/traces.md.
// Usage: npm run bench:traces -- [--traces DIR] [--rows N] [--out FILE]
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { once } from 'node:events';
import { loadTrace } from '../dist/src/sim/trace.js';
import { args, machine, table, traceSeries } from './lib.mjs';

const a = args();
const traces = a.traces ?? '../shared/traces';
const rowsWanted = Number(a.rows ?? 5_000_000);
const out = a.out ?? 'bench/results/traces.md';

if (a.child) {
  // Child mode: load one file and report time and peak RSS as JSON.
  const t0 = process.hrtime.bigint();
  const t = await loadTrace(a.child);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ rows: t.stats.rows, seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024, gaps: t.gaps.length }));
  process.exit(0);
}


const rows = [];
let failures = 0;
for (const { file, column, step } of traceSeries(traces)) {
  try {
    const t = await loadTrace(file, { column, step, duplicates: 'mean' });
    const missing = t.gaps.reduce((s, g) => s + g.missingPoints, 0);
    rows.push([relative(traces, file), column, String(t.stats.rows), `${t.step}`, t.timeFormat, `${t.gaps.length} (${missing} points)`, String(t.duplicatesMerged), `${t.stats.min.toPrecision(4)} .. ${t.stats.max.toPrecision(4)}`]);
  } catch (err) {
    failures++;
    rows.push([relative(traces, file), column, 'ERROR', '', '', '', '', String(err.message).replace(/\|/g, '/')]);
  }
}

// A large synthetic trace: ISO 8601 timestamps every second, integer values.
const dir = mkdtempSync(join(tmpdir(), 'shadowscale-bench-'));
const big = join(dir, 'big.csv');
const ws = createWriteStream(big);
ws.write('timestamp,value\n');
const start = Date.UTC(2020, 0, 1) / 1000;
let chunk = '';
for (let i = 0; i < rowsWanted; i++) {
  chunk += `${new Date((start + i) * 1000).toISOString().slice(0, 19)}Z,${(i * 7919) % 1000}\n`;
  if (chunk.length > 1 << 20) {
    if (!ws.write(chunk)) await once(ws, 'drain');
    chunk = '';
  }
}
ws.end(chunk);
await once(ws, 'finish');
const size = statSync(big).size;
const res = JSON.parse(execFileSync(process.execPath, ['bench/traces.mjs', '--child', big], { encoding: 'utf8' }));
rmSync(dir, { recursive: true, force: true });

const md = `# bench:traces — trace loading

Command: \`npm run bench:traces\` (bench/traces.mjs)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}

## ${rowsWanted.toLocaleString('en-US')} rows in a fresh process

${table(['what', 'value'], [
  ['file', `${(size / 2 ** 20).toFixed(0)} MiB, ISO 8601 timestamps, one row per second`],
  ['rows loaded', res.rows.toLocaleString('en-US')],
  ['wall time', `${res.seconds.toFixed(2)} s`],
  ['peak resident memory of the process', `${res.maxRssMiB.toFixed(0)} MiB`],
  ['target', '< 1024 MiB'],
])}

## Every CSV under the shared traces, every column (${rows.length} series, ${failures} failures)

Files without a time column are loaded with \`--step\` taken from their name (\`grouped_N_seconds\`).
Gaps are spacings over 1.5 x the step; they are reported, never filled. Rows repeating the previous
row's time are an error by default; here they are merged by their mean (\`--duplicates mean\`) and counted.

${table(['file', 'column', 'rows', 'step (s)', 'time format', 'gaps', 'duplicates merged', 'range'], rows)}
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(md.split('## Every CSV')[0]);
console.log(`${rows.length} series, ${failures} failures`);
if (failures) process.exitCode = 1;
