// bench:tune-search — does a general optimiser find cheaper policy settings than `shadowscale tune`'s
// coordinate grid, for the same number of replays? Per series (hybrid, target slo.attainment 99.9 %):
//   grid:        tune() as the CLI runs it (one stage per setting, each from the best run so far);
//   nelder-mead: fmin's Nelder-Mead over the same five settings made continuous (the aim as a factor of
//                the error budget and adaptRate on log scales, the hold, the level exponent, the net's
//                utilization), each scaled to [0, 1] and clamped, minimising cost / oracle plus a penalty
//                of 10 per error budget missed, stopped after as many distinct replays as the grid made.
// Both start from the default settings; both keep the cheapest run that meets the target.
// Usage: npm run bench:tune-search -- [--traces DIR] [--peak-rps R] [--only SUBSTRING[,SUBSTRING...]] [--out FILE]
//        (default series: six of the shared traces with different shapes; --only picks others)
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import 'fmin'; // a UMD build under "type": "module": it loads as the global `fmin`, not as exports
import { loadConfig } from '../dist/src/config/load.js';
import { aimedAttainment, hybridNetUtilization, serviceModel } from '../dist/src/config/derive.js';
import { prepareBacktest } from '../dist/src/sim/backtest.js';
import { runWith } from '../dist/src/sim/sweep.js';
import { loadTrace } from '../dist/src/sim/trace.js';
import { tune } from '../dist/src/sim/tune.js';
import { args, machine, table, traceSeries } from './lib.mjs';

const fminVersion = JSON.parse(readFileSync(new URL('../node_modules/fmin/package.json', import.meta.url), 'utf8')).version;

const a = args();
const traces = a.traces ?? '../shared/traces';
const peak = Number(a['peak-rps'] ?? 2000);
const out = a.out ?? 'bench/results/tune-search.md';
const DEFAULT_ONLY = [
  'nasa_http_1995_per_minute',
  'Twitter_volume_IBM',
  'Twitter_volume_GOOG',
  'ec2_cpu_utilization_825cc2',
  'week1_with_hour.csv [avg_cpu]',
  'grouped_300_seconds.csv [net_in]',
];
const only = typeof a.only === 'string' ? a.only.split(',') : DEFAULT_ONLY;
const series = traceSeries(traces, ['hour']).filter((x) => only.some((o) => `${x.file} [${x.column}]`.includes(o)));

if (a.job !== undefined) {
  // A child: one series, both searches, one JSON line on stdout.
  const s = series[Number(a.job)];
  const trace = await loadTrace(s.file, { column: s.column, step: s.step, duplicates: 'mean' });
  const config = loadConfig();
  const service = config.services[0];
  const target = service.slo.attainment;
  const o = { config, service, peakRps: peak, strategy: 'hybrid', target };
  const p = prepareBacktest(trace, o);
  const t0 = performance.now();
  const grid = await tune(trace, o, p);
  const gridSeconds = (performance.now() - t0) / 1000;

  const budget = 1 - target;
  const space = [
    { path: 'scaling.predictive.targetAttainment', lo: Math.log(0.25), hi: Math.log(4), value: (x) => Math.round((1 - budget * Math.exp(x)) * 1e6) / 1e6, start: Math.log((1 - aimedAttainment(service)) / budget) },
    { path: 'scaling.predictive.adaptRate', lo: Math.log(1e-4), hi: Math.log(2e-3), value: (x) => Number(Math.exp(x).toPrecision(3)), start: Math.log(service.scaling.predictive.adaptRate) },
    { path: 'scaling.predictive.scaleInHoldLeads', lo: 0, hi: 3, value: (x) => Math.round(x * 100) / 100, start: service.scaling.predictive.scaleInHoldLeads },
    { path: 'scaling.predictive.riskLevelExponent', lo: -1.5, hi: 0.5, value: (x) => Math.round(x * 100) / 100, start: service.scaling.predictive.riskLevelExponent },
    { path: 'scaling.hybrid.reactiveTargetUtilization', lo: 0.6, hi: 0.95, value: (x) => Math.round(x * 1000) / 1000, start: hybridNetUtilization(serviceModel(config, service)) },
  ];
  // Nelder-Mead's first simplex steps 20 % of each value away from the start, so the unit cube is
  // shifted to [1, 2]: a step is then 0.2 to 0.4 of a setting's range.
  const settingsOf = (y) => Object.fromEntries(space.map((d, i) => [d.path, d.value(d.lo + Math.min(1, Math.max(0, y[i] - 1)) * (d.hi - d.lo))]));
  const cache = new Map();
  const seen = new Map();
  let best;
  const STOP = Symbol('budget spent');
  const t1 = performance.now();
  const objective = (y) => {
    const settings = settingsOf(y);
    const key = JSON.stringify(settings);
    let r = seen.get(key);
    if (!r) {
      if (seen.size >= grid.runs) throw STOP;
      const sim = runWith(p, config, service, 'hybrid', settings, cache);
      r = { settings, cost: sim.bill.total, sloAttainment: sim.sloAttainment };
      seen.set(key, r);
      if (r.sloAttainment >= target - 1e-12 && (!best || r.cost < best.cost)) best = r;
    }
    return r.cost / p.oracleCost + (r.sloAttainment < target ? (10 * (target - r.sloAttainment)) / budget : 0);
  };
  const y0 = space.map((d) => 1 + (d.start - d.lo) / (d.hi - d.lo));
  // fmin 0.0.4's shrink step assigns an undeclared loop variable `i`, which throws under its own
  // 'use strict'; a global of that name lets the assignment through.
  globalThis.i = 0;
  try {
    globalThis.fmin.nelderMead(objective, y0, { nonZeroDelta: 1.2, maxIterations: 10 * grid.runs });
  } catch (e) {
    if (e !== STOP) throw e;
  }
  const nmSeconds = (performance.now() - t1) / 1000;
  const pick = (r) => (r ? { cost: r.cost, ratio: r.cost / p.oracleCost, sloAttainment: r.sloAttainment, settings: r.settings } : null);
  process.stdout.write(
    `${JSON.stringify({
      oracleCost: p.oracleCost,
      default: pick(grid.default),
      grid: { runs: grid.runs, seconds: gridSeconds, best: grid.meetsTarget ? pick(grid.best) : null },
      nelderMead: { runs: seen.size, seconds: nmSeconds, best: pick(best) },
    })}\n`,
  );
  process.exit(0);
}

function child(i) {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [new URL(import.meta.url).pathname, '--job', String(i), '--traces', traces, '--peak-rps', String(peak), '--only', only.join(',')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (code) => resolve(code === 0 ? JSON.parse(stdout) : { error: stderr.trim().split('\n').pop() }));
  });
}

const t0 = performance.now();
const results = new Array(series.length);
let next = 0;
let done = 0;
await Promise.all(
  Array.from({ length: Math.max(1, Math.min(2, cpus().length)) }, async () => {
    while (next < series.length) {
      const i = next++;
      results[i] = await child(i);
      process.stderr.write(`\r${++done}/${series.length} series`);
    }
  }),
);
process.stderr.write('\n');
const wall = (performance.now() - t0) / 1000;

const name = (s) => `${relative(traces, s.file)}${s.columns > 1 ? ` [${s.column}]` : ''}`;
const cell = (b) => (b ? `${b.ratio.toFixed(3)} (${(b.sloAttainment * 100).toFixed(3)} %)` : 'target not met');
const rows = [];
const logs = [];
results.forEach((r, i) => {
  if (r.error) return rows.push([name(series[i]), `error: ${r.error}`, '', '', '']);
  const g = r.grid.best;
  const n = r.nelderMead.best;
  if (g && n) logs.push(Math.log(n.cost / g.cost));
  rows.push([name(series[i]), cell(r.default), `${cell(g)}, ${r.grid.runs} runs`, `${cell(n)}, ${r.nelderMead.runs} runs`, g && n ? (n.cost / g.cost).toFixed(3) : '-']);
});
const geo = logs.length ? Math.exp(logs.reduce((x, y) => x + y, 0) / logs.length) : Number.NaN;
const md = `# bench:tune-search — tune's coordinate grid against Nelder-Mead (fmin), same number of replays

Command: \`npm run bench:tune-search${a.only ? ` -- --only "${only.join(',')}"` : ''}\` (bench/tune-search.mjs)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}; wall time ${wall.toFixed(0)} s for ${series.length} series (2 at a time).

Hybrid, target 99.9 % of minutes (the default \`slo.attainment\`), --peak-rps ${peak}. The grid is \`shadowscale tune\`:
one stage per setting (the aim, adaptRate, the hold, the level exponent, the net's utilization), each from
the best run so far. Nelder-Mead (fmin ${fminVersion}) searches the same five settings made continuous and scaled
to [0, 1], minimising cost / oracle plus 10 per error budget missed, from the same start (the defaults), and
stops after as many distinct replays as the grid made. Cells: the cheapest run that meets the target, cost /
oracle (attainment).

${table(['series', 'default', 'grid', 'Nelder-Mead', 'Nelder-Mead / grid'], rows)}

Geometric mean of Nelder-Mead's cost over the grid's where both meet the target: ${Number.isFinite(geo) ? geo.toFixed(3) : '-'} over ${logs.length} series.
`;
writeFileSync(out, md);
process.stdout.write(md);
