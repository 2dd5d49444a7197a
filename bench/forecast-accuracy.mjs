// bench:forecast-accuracy — rolling-origin accuracy of every model and of the automatic choice over
// every series of the shared traces, 1 hour and 1 day ahead: MAE over the better of daily/weekly
// seasonal naive (geometric mean over series) and 80 % interval coverage. All cores.
// Usage: npm run bench:forecast-accuracy -- [--traces DIR] [--origins K] [--models a,b] [--out FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runJobs } from '../dist/src/forecast/pool.js';
import { args, machine, table, traceSeries } from './lib.mjs';

const a = args();
const traces = a.traces ?? '../shared/traces';
const out = a.out ?? 'bench/results/forecast-accuracy.md';
const origins = Number(a.origins ?? 20);
const models = (a.models ?? 'seasonal-naive-daily,seasonal-naive-weekly,fast-seasonal,fast-seasonal-log,mstl-ets,auto').split(',');
const horizons = [
  ['1 hour', 3600],
  ['1 day', 86400],
];
const series = traceSeries(traces, ['hour']);
const jobs = [];
for (const [hname, seconds] of horizons) {
  for (const s of series) {
    for (const model of models) {
      jobs.push({ key: { hname, series: `${relative(traces, s.file)}${s.columns > 1 ? ` [${s.column}]` : ''}`, model }, evaluate: { file: s.file, column: s.column, step: s.step, duplicates: 'mean', model, seasonality: 'auto', horizonSeconds: seconds, origins, level: 0.8 } });
    }
  }
}
const t0 = performance.now();
let done = 0;
const results = await runJobs(
  jobs.map(({ evaluate }) => ({ evaluate })),
  { onResult: () => process.stderr.write(`\r${++done}/${jobs.length}`) },
);
process.stderr.write('\n');
const wall = (performance.now() - t0) / 1000;

const geo = (xs) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
let md = `# bench:forecast-accuracy — forecast accuracy over the shared traces

Command: \`npm run bench:forecast-accuracy\` (bench/forecast-accuracy.mjs; each cell is \`shadowscale forecast-eval
--model M --horizon (1 h or 1 day of points) --origins ${origins} --duplicates mean\` on one series)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}; wall time ${wall.toFixed(0)} s on all cores.

Rolling origin: ${origins} origins a quarter of a day apart (at least one horizon), each model seeing only the
history before its origin (at most 28 days). "MAE ratio" is the model's MAE over the MAE of the better of
daily and weekly seasonal naive on the same points (below 1 is better than the baseline); the summary is the
geometric mean over series. Coverage is the share of held-out points inside the 80 % interval.
Series: every value column of every CSV (${series.length}); the Google week file's "hour" column is skipped.
`;
for (const [hname] of horizons) {
  const rows = [];
  const per = Object.fromEntries(models.map((m) => [m, { ratios: [], inside: 0, points: 0, failed: 0 }]));
  const bySeries = new Map();
  jobs.forEach((j, i) => {
    if (j.key.hname !== hname) return;
    const r = results[i];
    const p = per[j.key.model];
    if (!r.ok || !Number.isFinite(r.output.maeRatio) || !(r.output.maeRatio > 0)) {
      p.failed++;
    } else {
      p.ratios.push(r.output.maeRatio);
      p.inside += r.output.coverage * r.output.points;
      p.points += r.output.points;
    }
    if (!bySeries.has(j.key.series)) bySeries.set(j.key.series, {});
    bySeries.get(j.key.series)[j.key.model] = r.ok ? `${r.output.maeRatio.toFixed(3)} / ${r.output.coverage.toFixed(2)}` : 'error';
  });
  md += `\n## ${hname} ahead\n\n${table(['model', 'geometric mean MAE ratio', '80 % coverage', 'series evaluated', 'failed'], models.map((m) => [m, per[m].ratios.length ? geo(per[m].ratios).toFixed(3) : '-', per[m].points ? (per[m].inside / per[m].points).toFixed(3) : '-', String(per[m].ratios.length), String(per[m].failed)]))}\n`;
  for (const [name, cells] of bySeries) rows.push([name, ...models.map((m) => cells[m] ?? '-')]);
  md += `\n<details><summary>Per series (MAE ratio / coverage), ${hname} ahead</summary>\n\n${table(['series', ...models], rows)}\n\n</details>\n`;
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(md.replace(/<details>[\s\S]*?<\/details>/g, ''));
