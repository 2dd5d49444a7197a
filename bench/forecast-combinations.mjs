// bench:forecast-combinations — how the pipeline's candidates are combined at the lead time, rule by rule,
// from one set of backtests. Per series and per evaluation origin (forecast-eval's lead-time origins, as in
// bench:forecast-accuracy), the pipeline's own inner backtest and every candidate's forecast are computed
// once and cached; each rule is then scored from them in seconds: the rules the pipeline ships (`auto`,
// `anchored`, `graded`, `best`, `simplex`, `inverse-mae`, from src/core) beside rules tried in development
// and not shipped (other thresholds and bands, fixed mixes). Every rule's interval is calibrated as the
// `auto` calibration does, and scored as forecast-eval scores the pipeline (MAE over the best of persistence
// and daily and weekly seasonal naive, one choice per series; geometric means).
// Usage: npm run bench:forecast-combinations -- [--traces DIR] [--cache DIR] [--jobs N] [--out FILE]
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ANCHOR_T, calibrationFactors, combinationWeights, GRADED_FROM_T, innerBacktest, mixForecasts, originsFor, pairedAdvantage, resolveCalibration, rollingOrigin } from '../dist/src/core/auto-forecast.js';
import { rollingOptionsOf } from '../dist/src/forecast/evaluate.js';
import { defaultCandidates } from '../dist/src/forecast/models.js';
import { loadTrace, toSeries } from '../dist/src/sim/trace.js';
import { args, family, geoMean, machine, table, traceSeries } from './lib.mjs';

const LEAD = 120;
const ORIGINS = 60;
const LEVEL = 0.8;
const a = args();
const traces = a.traces ?? '../shared/traces';
const out = a.out ?? 'bench/results/forecast-combinations.md';
const jobs = Number(a.jobs ?? 2);
if (!Number.isInteger(jobs) || jobs < 1) {
  console.error(`--jobs: expected a whole number of processes, at least 1; got ${JSON.stringify(a.jobs)}`);
  process.exit(2);
}
if (!existsSync(traces)) {
  console.error(`--traces: no such folder ${JSON.stringify(traces)}`);
  process.exit(2);
}
const commit = /commit (\S+)/.exec(machine())?.[1] ?? 'uncommitted';
// The cache holds one commit's candidates' forecasts on one folder's series: another commit or folder
// builds its own, and a file that holds another series or commit than expected (`--cache DIR` given) is
// built again.
const cache = a.cache ?? join(tmpdir(), `shadowscale-combinations-${commit}-${createHash('sha256').update(resolve(traces)).digest('hex').slice(0, 12)}`);
const series = traceSeries(traces, ['hour']);
if (!series.length) {
  console.error(`--traces: no CSV series under ${JSON.stringify(traces)}`);
  process.exit(2);
}
const nameOf = (s) => `${relative(traces, s.file)}${s.columns > 1 ? ` [${s.column}]` : ''}`;
const fileOf = (i) => join(cache, `${i}.json`);
/** Whether the cache holds series i (the file exists and names the same series and commit). */
const cached = (i) => {
  try {
    const d = JSON.parse(readFileSync(fileOf(i), 'utf8'));
    return d.name === nameOf(series[i]) && d.commit === commit;
  } catch {
    return false;
  }
};
const finite = (xs) => Array.from(xs, (x) => (Number.isFinite(x) ? x : null));

/** The pipeline's inner backtest (as AutoForecaster.forecastVariants makes it) and every candidate's final forecast. */
async function build(i) {
  const s = series[i];
  const full = toSeries(await loadTrace(s.file, { column: s.column, step: s.step, duplicates: 'mean' }));
  const o = rollingOptionsOf(full, { horizonSeconds: LEAD, origins: ORIGINS, strideSeconds: 3600, level: LEVEL });
  const candidates = defaultCandidates('auto');
  const outer = originsFor(full.values.length, o).map((at) => {
    const from = Math.max(0, at - o.maxHistory);
    const history = { start: full.start + from * full.step, step: full.step, values: full.values.slice(from, at) };
    const bt = rollingOrigin(history, candidates, { horizon: o.horizon, level: LEVEL, ...innerBacktest(history.values.length, history.step, o.horizon) });
    const finals = candidates.map((c) => {
      try {
        const f = c.forecast(history, o.horizon, LEVEL);
        return { mean: finite(f.mean), lower: finite(f.lower), upper: finite(f.upper) };
      } catch {
        return null;
      }
    });
    return { horizonSeconds: o.horizon * history.step, actual: finite(full.values.slice(at, at + o.horizon)), bt: { origins: bt.origins, actual: finite(bt.actual), mean: bt.mean.map(finite), lower: bt.lower.map(finite), upper: bt.upper.map(finite), scores: bt.scores.map((x) => ({ ...x, mae: Number.isFinite(x.mae) ? x.mae : null })) }, finals };
  });
  writeFileSync(fileOf(i), JSON.stringify({ name: nameOf(s), commit, family: family(relative(traces, s.file)), names: candidates.map((c) => c.name), outer }));
}

// Worker: build every `parts`-th missing series from `part`.
if (a.worker !== undefined) {
  const [part, parts] = String(a.worker).split('/').map(Number);
  for (let i = part; i < series.length; i += parts) {
    if (cached(i)) continue;
    await build(i);
    process.send?.(i);
  }
  process.exit(0);
}

const t0 = performance.now();
mkdirSync(cache, { recursive: true });
const missing = series.filter((_, i) => !cached(i)).length;
if (missing) {
  let done = 0;
  process.stderr.write(`building the backtests of ${missing} series in ${cache}\n`);
  const self = fileURLToPath(import.meta.url);
  await Promise.all(
    Array.from({ length: jobs }, (_, part) => new Promise((resolve, reject) => {
      const child = fork(self, [...process.argv.slice(2), '--worker', `${part}/${jobs}`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.on('message', () => process.stderr.write(`\r${++done}/${missing}`));
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${part} exited with ${code}`))));
    })),
  );
  process.stderr.write('\n');
}
const built = (performance.now() - t0) / 1000;

const F = (xs) => Float64Array.from(xs, (x) => (x === null ? Number.NaN : x));
const data = series.map((_, i) => {
  const d = JSON.parse(readFileSync(fileOf(i), 'utf8'));
  for (const o of d.outer) {
    o.actual = F(o.actual);
    o.bt = { ...o.bt, actual: F(o.bt.actual), mean: o.bt.mean.map(F), lower: o.bt.lower.map(F), upper: o.bt.upper.map(F), scores: o.bt.scores.map((x) => ({ ...x, mae: x.mae ?? Number.POSITIVE_INFINITY })) };
    o.finals = o.finals.map((f) => f && { mean: F(f.mean), lower: F(f.lower), upper: F(f.upper) });
  }
  return d;
});
const names = data[0]?.names ?? [];
const ANCHOR = names.indexOf('analog');
const LAG = names.indexOf('lag-regression');
const BASELINES = ['persistence', 'seasonal-naive-daily', 'seasonal-naive-weekly'].map((n) => names.indexOf(n));

/** Per series: MAE over the best baseline and 80 % coverage of a rule (weights from the inner backtest). */
function score(rule) {
  return data.map((d) => {
    let abs = 0;
    let inside = 0;
    let points = 0;
    const base = BASELINES.map(() => 0);
    for (const o of d.outer) {
      const w = rule(o.bt, o.horizonSeconds);
      const h = o.actual.length;
      const f = mixForecasts(w, o.finals, h);
      const b = mixForecasts(w, o.bt.mean.map((m, ci) => ({ mean: m, lower: o.bt.lower[ci], upper: o.bt.upper[ci] })), o.bt.actual.length);
      const k = calibrationFactors(resolveCalibration('auto', o.bt.origins.length, o.horizonSeconds), o.bt.actual, b, LEVEL);
      for (let j = 0; j < h; j++) {
        const y = o.actual[j];
        if (!Number.isFinite(y)) continue;
        const m = f.mean[j];
        abs += Math.abs(y - m);
        if (y >= m - k.lower * (m - f.lower[j]) && y <= m + k.upper * (f.upper[j] - m)) inside++;
        points++;
        BASELINES.forEach((ci, bi) => (base[bi] += o.finals[ci] ? Math.abs(y - o.finals[ci].mean[j]) : Number.POSITIVE_INFINITY));
      }
    }
    const best = Math.min(...base);
    return { name: d.name, family: d.family, ratio: best > 0 ? abs / best : abs === 0 ? 1 : Number.POSITIVE_INFINITY, coverage: inside / points, points };
  });
}

const single = (c, i) => Float64Array.from({ length: c }, (_, j) => (j === i ? 1 : 0));
const ranked = (bt) => bt.scores.map((_, i) => i).filter((i) => Number.isFinite(bt.scores[i].mae)).sort((x, y) => bt.scores[x].mae - bt.scores[y].mae || x - y);
/** The anchor and the best mixed: the best's share from the paired advantage t (the shipped rules are special cases). */
const byEvidence = (share) => (bt) => {
  const c = bt.scores.length;
  const order = ranked(bt);
  if (!order.length) return single(c, 0);
  if (!order.includes(ANCHOR)) return single(c, order[0]);
  const best = order[0];
  if (best === ANCHOR) return single(c, ANCHOR);
  const x = share(pairedAdvantage(bt, ANCHOR, best));
  const w = new Float64Array(c);
  w[best] = x;
  w[ANCHOR] += 1 - x;
  return w;
};
const band = (lo, hi) => byEvidence((t) => Math.min(1, Math.max(0, (t - lo) / (hi - lo))));
const fixed = (weights) => (bt) => {
  const c = bt.scores.length;
  const use = Object.keys(weights).map(Number).filter((i) => Number.isFinite(bt.scores[i].mae));
  if (!use.length) return single(c, 0);
  const total = use.reduce((s, i) => s + weights[i], 0);
  const w = new Float64Array(c);
  for (const i of use) w[i] = weights[i] / total;
  return w;
};
const shipped = (how) => (bt, hs) => combinationWeights(bt, how, ANCHOR, hs);
const RULES = [
  ['auto (the default)', 'shipped', shipped('auto')],
  ['graded', 'shipped', shipped('graded')],
  ['anchored', 'shipped', shipped('anchored')],
  ['best', 'shipped', shipped('best')],
  ['inverse-mae', 'shipped', shipped('inverse-mae')],
  ['simplex', 'shipped', shipped('simplex')],
  ...[1, 1.5, 2.5, 3].map((t) => [`switch at t = ${t}`, 'tried', byEvidence((x) => (x >= t ? 1 : 0))]),
  ...[[0, 2], [0, 3], [1, 3], [0, 4], [-1, 3]].map(([lo, hi]) => [`graded from t = ${lo} to ${hi}`, 'tried', band(lo, hi)]),
  ['analog 0.7 + lag regression 0.3', 'tried', fixed({ [ANCHOR]: 0.7, [LAG]: 0.3 })],
  ['analog + lag regression, half each', 'tried', fixed({ [ANCHOR]: 0.5, [LAG]: 0.5 })],
  ['equal: analog, lag regression, smoothed level', 'tried', fixed({ [ANCHOR]: 1, [LAG]: 1, [names.indexOf('smoothed-level')]: 1 })],
  ['equal: the five models', 'tried', fixed(Object.fromEntries(['fast-seasonal', 'fast-seasonal-log', 'smoothed-level', 'lag-regression', 'analog'].map((n) => [names.indexOf(n), 1])))],
];
const FAMILIES = ['NAB', 'cluster and web'].filter((f) => data.some((d) => d.family === f));
const split = FAMILIES.length === 2;
const summary = (rows) => {
  const pts = rows.reduce((s, r) => s + r.points, 0);
  return `${geoMean(rows.map((r) => r.ratio)).toFixed(3)} / ${(rows.reduce((s, r) => s + r.coverage * r.points, 0) / pts).toFixed(3)}`;
};
const scored = RULES.map(([name, kind, rule]) => ({ name, kind, per: score(rule) }));
const wall = (performance.now() - t0) / 1000;

const md = `# bench:forecast-combinations — combination rules at the lead time, from one set of backtests

Command: \`npm run bench:forecast-combinations -- --traces ${traces}\` (bench/forecast-combinations.mjs)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}; wall time ${wall.toFixed(0)} s (${built.toFixed(0)} s building the backtests of ${missing} series, ${jobs} processes).

${series.length} series, ${LEAD} s ahead, ${ORIGINS} origins an hour apart (bench:forecast-accuracy's lead-time points). At every
origin the pipeline's inner backtest (48 errors) and every candidate's forecast are computed once; each rule
turns the backtest into weights, the candidates' forecasts are mixed with them, and the interval is
calibrated from the mixed backtest as the \`auto\` calibration does (per side with 24 origins or more). MAE over the best of
persistence and daily and weekly seasonal naive (one per series), geometric means; coverage of the 80 %
interval, pooled. The \`shipped\` rules are \`--combine\`'s (src/core/auto-forecast.ts: \`graded\` hands the best
candidate weight from the analog from a paired advantage of ${GRADED_FROM_T} standard error${GRADED_FROM_T === 1 ? "" : "s"} to all of it at ${ANCHOR_T}); the \`tried\`
rules were tried in development and not shipped.

${table(['rule', 'kind', ...(split ? FAMILIES : []), 'all'].map((h, i) => (i > 1 ? `${h}: vs best baseline / coverage` : h)), scored.map((r) => [r.name, r.kind, ...(split ? FAMILIES.map((f) => summary(r.per.filter((p) => p.family === f))) : []), summary(r.per)]))}

<details><summary>Per series (MAE vs best baseline), the shipped rules</summary>

${table(['series', ...scored.filter((r) => r.kind === 'shipped').map((r) => r.name)], data.map((d, i) => [d.name, ...scored.filter((r) => r.kind === 'shipped').map((r) => r.per[i].ratio.toFixed(3))]))}

</details>
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(`wrote ${out} (${wall.toFixed(0)} s)`);
