// bench:forecast-value — what the forecast is worth to the SLO policy: hybrid's cost at equal attainment
// (interpolated on its frontier, as bench:frontier) with the default forecaster against weaker ones on
// every shared series. Each cell is `shadowscale backtest --strategy hybrid,oracle --sweep --json` with
// `--set services[0].forecast.model=...`; the same workload, seed and oracle in every run of a series.
// Usage: npm run bench:forecast-value -- [--traces DIR] [--peak-rps R] [--out FILE] [--only SUBSTRING[,...]]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { args, cliJsonAll, machine, table, traceSeries } from './lib.mjs';

const a = args();
const traces = a.traces ?? '../shared/traces';
const peak = Number(a['peak-rps'] ?? 2000);
const out = a.out ?? 'bench/results/forecast-value.md';
const only = typeof a.only === 'string' ? a.only.split(',') : [];
if (!(peak > 0)) {
  console.error(`--peak-rps: expected a positive number, got ${JSON.stringify(a['peak-rps'])}`);
  process.exit(2);
}

// The default first: the others are divided by it.
const MODELS = [
  { name: 'fast-seasonal (default)', sets: [] },
  { name: 'seasonal naive', sets: ['services[0].forecast.model=seasonal-naive'] },
  { name: 'persistence', sets: ['services[0].forecast.model=seasonal-naive', 'services[0].forecast.seasonality=none'] },
];
const AIMS = ['0.999', '0.995'];

const series = traceSeries(traces, ['hour']).filter((x) => only.length === 0 || only.some((o) => `${x.file} [${x.column}]`.includes(o)));
const jobs = series.flatMap(({ file, column, step, columns }) => {
  const name = `${relative(traces, file)}${columns > 1 ? ` [${column}]` : ''}`;
  const base = ['--input', file, '--column', column, '--peak-rps', String(peak), '--duplicates', 'mean'];
  if (step !== undefined) base.push('--step', String(step));
  return MODELS.map((m, mi) => ({ name, mi, cli: [...base, ...m.sets.flatMap((kv) => ['--set', kv])] }));
});

const t0 = performance.now();
const results = await cliJsonAll(jobs, ['backtest', '--strategy', 'hybrid,oracle', '--sweep', '--threads', '1', '--json']);
const wall = (performance.now() - t0) / 1000;

const geo = (xs) => (xs.length ? Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length) : NaN);
const f3 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(3));
const byName = new Map();
jobs.forEach((j, i) => {
  if (!byName.has(j.name)) byName.set(j.name, []);
  byName.get(j.name)[j.mi] = results[i];
});
// Per series and aim: each model's cost at the aim over the oracle's, and over the default's.
const rows = [];
const ratios = MODELS.map(() => Object.fromEntries(AIMS.map((aim) => [aim, []])));
const json = [];
for (const [name, rs] of byName) {
  const err = rs.find((r) => r.error);
  if (err) {
    rows.push([name, 'error', err.error.replace(/\|/g, '/'), ...Array.from({ length: AIMS.length * MODELS.length - 2 }, () => '')]);
    continue;
  }
  const oracle = rs[0].report.strategies.oracle.cost;
  const cost = (mi, aim) => rs[mi].report.costAtAttainment?.hybrid?.[aim] ?? null;
  const cells = [];
  const entry = { series: name, oracle, costAtAttainment: {} };
  MODELS.forEach((m, mi) => {
    entry.costAtAttainment[m.name] = Object.fromEntries(AIMS.map((aim) => [aim, cost(mi, aim)]));
  });
  json.push(entry);
  for (const aim of AIMS) {
    const d = cost(0, aim);
    cells.push(f3(d === null ? null : d / oracle));
    MODELS.forEach((_, mi) => {
      if (mi === 0) return;
      const c = cost(mi, aim);
      const r = d !== null && c !== null ? c / d : null;
      if (r !== null) ratios[mi][aim].push(r);
      cells.push(f3(r));
    });
  }
  rows.push([name, ...cells]);
}

if (a.json) {
  console.log(JSON.stringify({ peakRps: peak, models: MODELS.map((m) => m.name), series: json, wallSeconds: wall }));
  process.exit(0);
}
const head = ['series'];
for (const aim of AIMS) {
  head.push(`default / oracle @ ${aim}`);
  for (const m of MODELS.slice(1)) head.push(`${m.name} / default @ ${aim}`);
}
const summary = MODELS.slice(1).map((m, k) => {
  const mi = k + 1;
  return [m.name, ...AIMS.flatMap((aim) => {
    const xs = ratios[mi][aim];
    return [`${f3(geo(xs))} over ${xs.length}`, `${f3(Math.min(...xs))} to ${f3(Math.max(...xs))}`];
  })];
});
const md = `# bench:forecast-value — what the forecast is worth to the SLO policy

Command: \`npm run bench:forecast-value\` (bench/forecast-value.mjs; each cell is \`shadowscale backtest --input FILE
[--column C] [--step S] --duplicates mean --peak-rps ${peak} --strategy hybrid,oracle --sweep --json [--set ...]\`)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}; wall time ${wall.toFixed(0)} s for ${byName.size} series x ${MODELS.length} forecasters (${cpus().length} at a time).

Hybrid's cost at equal attainment (interpolated on its frontier, its aim swept as in bench:frontier) with the
forecaster the strategy runs on (\`forecast.model\`) replaced: seasonal naive (\`seasonal-naive\`, the same
phase a day or a week before) and persistence (\`seasonal-naive\` with \`seasonality: none\`: the last
observed minute, flat). Everything else in the policy is unchanged: the recent peaks, the level ratio and the
online calibration of the errors. Ratios above 1: the default forecaster saves that much.

${table(['forecaster', ...AIMS.flatMap((aim) => [`/ default @ ${aim}: geometric mean`, 'range'])], summary)}

## Every series

${table(head, rows)}
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(md);
