// bench:sim — simulate 30 days (2.592 M one-second steps) for all four strategies, one after the
// other on one thread, and report the wall time. Input: 30 contiguous days of the NASA trace
// (1995-08-01 04:00Z .. 08-31 04:00Z, which includes the hurricane outage as zeros).
// Usage: npm run bench:sim -- [--traces DIR] [--out FILE]
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { predictiveStrategy, serviceModel } from '../dist/src/config/derive.js';
import { loadConfig } from '../dist/src/config/load.js';
import { runBacktest } from '../dist/src/sim/backtest.js';
import { loadTrace } from '../dist/src/sim/trace.js';
import { args, machine, table } from './lib.mjs';

const a = args();
if (process.argv.includes('--policy-memory')) {
  // Ten SLO policies at the default settings, kept alive: the growth of the array-buffer bytes (collected,
  // and the frees settled, before and after) over ten, in MiB, printed alone.
  const settle = async () => {
    globalThis.gc();
    await delay(50);
    globalThis.gc();
  };
  const cfg = loadConfig();
  await settle();
  const before = process.memoryUsage().arrayBuffers;
  const policies = Array.from({ length: 10 }, () => predictiveStrategy(serviceModel(cfg, cfg.services[0])));
  await settle();
  process.stdout.write(((process.memoryUsage().arrayBuffers - before) / policies.length / 1048576).toFixed(2));
  process.exit(0);
}
const traces = a.traces ?? '../shared/traces';
const out = a.out ?? 'bench/results/sim.md';
const full = await loadTrace(join(traces, 'nasa-http-1995/nasa_http_1995_per_minute.csv'));
const from = Date.UTC(1995, 7, 1, 4) / 1000;
const to = from + 30 * 86400;
const idx = [];
for (let i = 0; i < full.times.length; i++) if (full.times[i] >= from && full.times[i] < to) idx.push(i);
const times = Float64Array.from(idx, (i) => full.times[i]);
const values = Float64Array.from(idx, (i) => full.values[i]);
let max = 0;
let sum = 0;
for (const v of values) {
  max = Math.max(max, v);
  sum += v;
}
const trace = { ...full, times, values, gaps: [], stats: { rows: values.length, min: 0, max, mean: sum / values.length } };
const cfg = loadConfig();
const strategies = ['reactive', 'predictive', 'hybrid', 'oracle'];
const t0 = performance.now();
const report = runBacktest(trace, { config: cfg, service: cfg.services[0], peakRps: 2000, strategies });
const wall = (performance.now() - t0) / 1000;
const steps = report.input.simulatedSeconds;
const peakRss = process.resourceUsage().maxRSS / 1024;
// The SLO policy's memory (its error histograms are typed arrays), measured in a process of its own so
// that neither the run's garbage nor its peak mixes in: see policyMemory below.
const policyMiB = Number(execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--policy-memory'], { encoding: 'utf8' }));
const md = `# bench:sim — simulator speed

Command: \`npm run bench:sim\` (bench/sim.mjs)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}

30 days of the NASA trace (${values.length} rows, 1995-08-01 04:00Z onwards) at --peak-rps 2000, default
configuration, one-second steps: ${steps.toLocaleString('en-US')} steps per strategy, all four strategies
(reactive, predictive, hybrid, oracle) one after the other on a single thread, including workload
construction, the oracle's schedule and the forecaster refits.

${table(['what', 'value'], [
  ['steps per strategy', steps.toLocaleString('en-US')],
  ['strategies', String(strategies.length)],
  ['wall time, all four', `${wall.toFixed(2)} s`],
  ['target', '< 20 s'],
  ['steps per second (all strategies)', Math.round((steps * strategies.length) / wall).toLocaleString('en-US')],
  ['peak RSS (the run)', `${peakRss.toFixed(0)} MiB`],
  ['typed arrays per SLO policy (default settings)', `${policyMiB.toFixed(1)} MiB`],
])}

Results of that run (cost ratio to the oracle / SLO violation minutes):
${strategies.map((s) => `${s} ${report.strategies[s].costRatioToOracle} / ${report.strategies[s].sloViolationMinutes}`).join(', ')}.
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(md);
