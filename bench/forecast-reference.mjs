// bench:forecast-reference — the pipeline beside established forecasters from outside the project, on the same
// rolling origins at the scaling policy's lead time (bench:forecast-accuracy's: 60 origins an hour apart, at
// most 28 days of history each): statsforecast's AutoETS and AutoARIMA and a LightGBM regression on lag
// features (bench/forecast-reference.py, in a Python venv this script makes from PyPI, pinned). Every MAE is
// divided by the same best baseline (persistence or seasonal naive, one per series) as bench:forecast-accuracy.
// The question: is the lead-time target (MAE <= 0.85x the best baseline on each family) within reach of standard
// methods on these traces, or is what stands between the pipeline and it in the data?
// Usage: npm run bench:forecast-reference -- [--traces DIR] [--venv DIR] [--jobs N] [--match REGEX] [--out FILE]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { originsFor } from '../dist/src/core/auto-forecast.js';
import { rollingOptionsOf } from '../dist/src/forecast/evaluate.js';
import { runJobs } from '../dist/src/forecast/pool.js';
import { loadTrace, toSeries } from '../dist/src/sim/trace.js';
import { args, family, geoMean, machine, requireTools, table, traceSeries } from './lib.mjs';

const a = args();
const traces = a.traces ?? '../shared/traces';
const out = a.out ?? 'bench/results/forecast-reference.md';
const venv = a.venv ?? join(tmpdir(), 'shadowscale-forecast-reference-venv');
const procs = Number(a.jobs ?? 2);
let match;
try {
  match = a.match ? new RegExp(a.match) : undefined;
} catch (e) {
  console.error(`--match: expected a regular expression over series names; ${e.message}`);
  process.exit(2);
}
if (!(Number.isInteger(procs) && procs >= 1)) {
  console.error(`--jobs: expected a whole number of processes, at least 1; got ${JSON.stringify(a.jobs)}`);
  process.exit(2);
}
const LEAD = 120;
const REQUEST = { horizonSeconds: LEAD, origins: 60, strideSeconds: 3600, level: 0.8 };
const PINS = ['lightgbm==4.7.0', 'statsforecast==2.1.1'];
const REFERENCES = ['auto-ets', 'auto-arima', 'lightgbm'];

requireTools('bench:forecast-reference', ['python3']);
// A venv whose install was interrupted has a python but not the packages: install until they import.
const ready = () => {
  try {
    execFileSync(join(venv, 'bin', 'python'), ['-c', 'import lightgbm, statsforecast'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
if (!ready()) {
  console.error(`making the venv ${venv} (${PINS.join(', ')})`);
  if (!existsSync(join(venv, 'bin', 'python'))) execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', ...PINS], { stdio: 'inherit' });
}

const series = traceSeries(traces, ['hour'])
  .map((s) => ({ ...s, name: `${relative(traces, s.file)}${s.columns > 1 ? ` [${s.column}]` : ''}` }))
  .filter((s) => !match || match.test(s.name));
if (series.length === 0) {
  console.error(`no series in ${traces}${match ? ` matches --match ${match.source}` : ''}`);
  process.exit(2);
}
const t0 = performance.now();
// 1. The pipeline and the baselines, on every core.
let done = 0;
const pipeline = await runJobs(
  series.map((s) => ({ evaluate: { file: s.file, column: s.column, step: s.step, duplicates: 'mean', model: 'auto', seasonality: 'auto', ...REQUEST } })),
  { onResult: () => process.stderr.write(`\rpipeline ${++done}/${series.length}`) },
);
process.stderr.write('\n');
// 2. The references on the same points, `procs` Python processes over a share of the series each.
const work = mkdtempSync(join(tmpdir(), 'forecast-reference-'));
// Ctrl-C reaches the Python processes through the terminal's process group; the scratch files go with them.
process.once('SIGINT', () => {
  rmSync(work, { recursive: true, force: true });
  process.exit(130);
});
const shares = Array.from({ length: procs }, () => []);
for (const [i, s] of series.entries()) {
  const values = toSeries(await loadTrace(s.file, { column: s.column, step: s.step, duplicates: 'mean' }));
  const o = rollingOptionsOf(values, REQUEST);
  shares[i % procs].push({ name: s.name, horizon: o.horizon, perDay: Number.isInteger(86400 / values.step) ? 86400 / values.step : 0, maxHistory: o.maxHistory, origins: originsFor(values.values.length, o), values: Array.from(values.values, (v) => (Number.isFinite(v) ? v : null)) });
}
let finished = 0;
const references = Object.assign(
  {},
  ...(await Promise.all(
    shares.map(
      (share, k) =>
        new Promise((resolve, reject) => {
          const input = join(work, `in-${k}.json`);
          const output = join(work, `out-${k}.json`);
          writeFileSync(input, JSON.stringify(share));
          const child = spawn(join(venv, 'bin', 'python'), [new URL('./forecast-reference.py', import.meta.url).pathname, input, output], { stdio: ['ignore', 'inherit', 'pipe'] });
          child.stderr.on('data', (d) => {
            for (const line of String(d).split('\n').filter(Boolean)) process.stderr.write(`references ${line.endsWith(' s') ? `${++finished}/${series.length} ` : ''}${line}\n`);
          });
          child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(readFileSync(output, 'utf8'))) : reject(new Error(`forecast-reference.py exited ${code}`))));
        }),
    ),
  )),
);
rmSync(work, { recursive: true, force: true });
const wall = (performance.now() - t0) / 1000;

// 3. Ratios to the best baseline, per series and per family.
const f3 = (x) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(3));
const MODELS = ['pipeline (auto)', ...REFERENCES];
const rows = series.map((s, i) => {
  // A series the pipeline cannot evaluate has no baseline either: its row is empty, its error listed.
  const job = pipeline[i];
  const e = job.ok ? job.output : { mae: Number.NaN, persistenceMae: Number.NaN, seasonalNaiveDailyMae: Number.NaN, seasonalNaiveWeeklyMae: Number.NaN };
  const best = Math.min(e.persistenceMae, e.seasonalNaiveDailyMae, e.seasonalNaiveWeeklyMae);
  const ratio = (mae) => (typeof mae === 'number' && best > 0 ? mae / best : Number.NaN);
  const r = references[s.name] ?? {};
  const ratios = { 'pipeline (auto)': ratio(e.mae), ...Object.fromEntries(REFERENCES.map((m) => [m, ratio(r[m])])) };
  const finite = (ms) => ms.map((m) => ratios[m]).filter(Number.isFinite);
  return { name: s.name, family: family(s.name), ratios, errors: [...(job.ok ? [] : [`pipeline (auto): ${job.message}`]), ...REFERENCES.filter((m) => r[m]?.error).map((m) => `${m}: ${r[m].error}`)], bestReference: Math.min(...finite(REFERENCES)), bestAll: Math.min(...finite(MODELS)) };
});
// The shared traces' two families side by side; another folder (e.g. bench:unseen-traces) is one set.
const families = ['NAB', 'cluster and web'].map((f) => [f, rows.filter((r) => r.family === f)]);
const groups = [['all', rows], ...(families.every(([, rs]) => rs.length) ? families : [])];
const cell = (rs, pick) => {
  const xs = rs.map(pick).filter(Number.isFinite);
  return xs.length ? `${f3(geoMean(xs))}${xs.length < rs.length ? ` (${xs.length} of ${rs.length})` : ''}` : '-';
};
const summary = [
  ...MODELS.map((m) => [m, ...groups.map(([, rs]) => cell(rs, (r) => r.ratios[m]))]),
  ['best reference per series, in hindsight', ...groups.map(([, rs]) => cell(rs, (r) => r.bestReference))],
  ['best of all four per series, in hindsight', ...groups.map(([, rs]) => cell(rs, (r) => r.bestAll))],
];
const failures = rows.flatMap((r) => r.errors.map((e) => `- ${r.name}: ${e}`));
const given = process.argv.slice(2).join(' ');
const md = `# bench:forecast-reference — the pipeline beside established forecasters, at the lead time

Command: \`npm run bench:forecast-reference${given ? ` -- ${given}` : ''}\` (bench/forecast-reference.mjs and bench/forecast-reference.py; Python
${PINS.join(', ')} from PyPI in a venv)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}; wall time ${wall.toFixed(0)} s.

Every model forecasts ${LEAD} s ahead (the scaling policy's lead time) from the same ${REQUEST.origins} origins an hour apart per series
as \`bench:forecast-accuracy\`'s lead-time table; each MAE is divided by the best of persistence and daily and weekly
seasonal naive on the same points (one choice per series). Geometric means over series; the issue's target is
0.85 on each family. The references, from outside the project:

- **auto-ets**: statsforecast's AutoETS (Nixtla), non-seasonal (at this horizon a season is hundreds of points), fitted
  at each origin on its last 1,000 points;
- **auto-arima**: statsforecast's AutoARIMA, non-seasonal, on the same points;
- **lightgbm**: LightGBM (L1 loss) regressing the change h points ahead on the last 12 one-step changes, the gaps to
  the means of the last 3 to 48 points, the same change a day and a week earlier, the time of day and the level;
  trained on at most 4,032 points before the origin, retrained every 6 origins.

${table(['model', ...groups.map(([g, rs]) => `${g} (${rs.length})`)], summary)}
${failures.length ? `\nFailed fits (left out of their model's mean):\n${failures.join('\n')}\n` : ''}
<details><summary>Per series (MAE / best baseline)</summary>

${table(['series', ...MODELS], rows.map((r) => [r.name, ...MODELS.map((m) => f3(r.ratios[m]))]))}
</details>
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(md);
