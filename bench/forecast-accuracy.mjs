// bench:forecast-accuracy — rolling-origin accuracy of every model and of the pipeline over every series
// of the shared traces, at the scaling policy's lead time, 1 hour and 1 day ahead: MAE over the
// baselines (geometric mean over series) and 80 % interval coverage; then a leave-one-family-out
// report: the pipeline's variant chosen on NAB and scored on the cluster and web traces, and the
// reverse. All cores.
// Usage: npm run bench:forecast-accuracy -- [--traces DIR] [--origins K] [--lead-seconds S] [--models a,b] [--horizons lead,hour,day] [--out FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ANCHOR_T, ANCHORED_FROM_ORIGINS, ANCHORED_UP_TO_SECONDS, CALIBRATIONS, COMBINATIONS, DEFAULT_VARIANT, GRADED_FROM_T, MANY_ORIGINS, PER_SIDE_UP_TO_SECONDS } from '../dist/src/core/auto-forecast.js';
import { runJobs } from '../dist/src/forecast/pool.js';
import { args, family, geoMean, machine, table, traceSeries } from './lib.mjs';

const a = args();
const traces = a.traces ?? '../shared/traces';
const out = a.out ?? 'bench/results/forecast-accuracy.md';
const origins = Number(a.origins ?? 20);
// The default instance type's provisioning + warm-up (60 s + 60 s): what the scaling policy forecasts over.
const lead = Number(a['lead-seconds'] ?? 120);
const models = (a.models ?? 'persistence,seasonal-naive-daily,seasonal-naive-weekly,fast-seasonal,fast-seasonal-log,smoothed-level,lag-regression,analog,mstl-ets,auto').split(',');
const VARIANTS = COMBINATIONS.flatMap((combine) => CALIBRATIONS.map((calibration) => ({ combine, calibration })));
const vname = (v) => `${v.combine} / ${v.calibration}`;
// At the lead time a forecast is one to four points: more origins (an hour apart) so each series is
// scored on dozens of points; MSTL (minutes per series at this many origins) is left out there.
const HORIZONS = {
  lead: { name: `lead time (${lead} s)`, seconds: lead, origins: 3 * origins, strideSeconds: 3600, models: models.filter((m) => m !== 'mstl-ets') },
  hour: { name: '1 hour', seconds: 3600, origins, strideSeconds: 21600, models },
  // The lag regression and the analog decline more than 12 points ahead (a day is 48 points or more on
  // the shared series), the smoothed level more than a quarter of a day.
  day: { name: '1 day', seconds: 86400, origins, strideSeconds: 86400, models: models.filter((m) => m !== 'lag-regression' && m !== 'analog' && m !== 'smoothed-level') },
};
const horizons = (a.horizons ?? 'lead,hour,day').split(',').map((h) => {
  if (!HORIZONS[h]) {
    console.error(`--horizons: expected a comma-separated list of lead, hour, day; got ${JSON.stringify(h)}`);
    process.exit(2);
  }
  return HORIZONS[h];
});
const series = traceSeries(traces, ['hour']);
// The shared traces' two families; another folder (e.g. bench:unseen-traces) is scored as one set.
const FAMILIES = ['NAB', 'cluster and web'].filter((f) => series.some((s) => family(relative(traces, s.file)) === f));
const split = FAMILIES.length === 2;
const jobs = [];
for (const hz of horizons) {
  for (const s of series) {
    for (const model of hz.models) {
      const name = `${relative(traces, s.file)}${s.columns > 1 ? ` [${s.column}]` : ''}`;
      jobs.push({
        key: { hz: hz.name, series: name, model },
        evaluate: { file: s.file, column: s.column, step: s.step, duplicates: 'mean', model, seasonality: 'auto', horizonSeconds: hz.seconds, origins: hz.origins, strideSeconds: hz.strideSeconds, level: 0.8, ...(model === 'auto' ? { variants: VARIANTS } : {}) },
      });
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

const f3 = (x) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(3));

/** Pooled summary of rows { ratio, best, coverage, points }. */
function summary(rows) {
  const ok = rows.filter((r) => Number.isFinite(r.ratio) && r.ratio > 0 && Number.isFinite(r.best) && r.best > 0);
  const points = ok.reduce((s, r) => s + r.points, 0);
  return { ratio: ok.length ? geoMean(ok.map((r) => r.ratio)) : Number.NaN, best: ok.length ? geoMean(ok.map((r) => r.best)) : Number.NaN, coverage: points ? ok.reduce((s, r) => s + r.coverage * r.points, 0) / points : Number.NaN, n: ok.length, failed: rows.length - ok.length };
}

const given = process.argv.slice(2).join(' ');
let md = `# bench:forecast-accuracy — forecast accuracy over ${split ? 'the shared traces' : `the traces in ${traces}`}

Command: \`npm run bench:forecast-accuracy${given ? ` -- ${given}` : ''}\` (bench/forecast-accuracy.mjs; each cell is \`shadowscale forecast-eval
--model M --horizon-seconds H --duplicates mean\` on one series, with the origins below)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}; wall time ${wall.toFixed(0)} s on all cores.

Rolling origin: each model sees only the history before its origin (at most 28 days). At the lead time
(${lead} s: the default instance type's provisioning and warm-up, the horizon the scaling policy forecasts
over) ${3 * origins} origins an hour apart; at 1 hour ${origins} origins a quarter of a day apart; at 1 day ${origins}
origins a day apart (fewer where the series is short). Two ratios: "vs seasonal naive" is the model's MAE over
the better of daily and weekly seasonal naive's on the same points; "vs best baseline" over the best of
persistence (the last value) and the two seasonal naives, one choice per series, so a model must beat what a
user would pick by hand. Summaries are geometric means over series; coverage is the share of held-out points
inside the 80 % interval. Series: every value column of every CSV (${series.length}); a column named "hour" (the
Google week file's) is skipped. \`auto\` is the pipeline with its default variant (${vname(DEFAULT_VARIANT)}).
`;

const byHz = new Map();
jobs.forEach((j, i) => {
  const r = results[i];
  if (!byHz.has(j.key.hz)) byHz.set(j.key.hz, []);
  byHz.get(j.key.hz).push({ ...j.key, r });
});

for (const hz of horizons) {
  const cells = byHz.get(hz.name);
  const rowOf = (c) => (c.r.ok ? { ratio: c.r.output.maeRatio, best: c.r.output.maeRatioBestBaseline, coverage: c.r.output.coverage, points: c.r.output.points } : { ratio: Number.NaN, best: Number.NaN, coverage: Number.NaN, points: 0 });
  // Per family as well: the anchor of `--combine anchored` / `graded` is the best single model on either family.
  const head = ['model', 'vs seasonal naive', 'vs best baseline', '80 % coverage', ...(split ? FAMILIES : []).map((f) => `${f}: vs best baseline / coverage`), 'series evaluated', 'failed'];
  const lines = hz.models.map((m) => {
    const mine = cells.filter((c) => c.model === m);
    const s = summary(mine.map(rowOf));
    const fam = (split ? FAMILIES : []).map((f) => {
      const x = summary(mine.filter((c) => family(c.series) === f).map(rowOf));
      return `${f3(x.best)} / ${f3(x.coverage)}`;
    });
    return [m, f3(s.ratio), f3(s.best), f3(s.coverage), ...fam, String(s.n), String(s.failed)];
  });
  md += `\n## ${hz.name} ahead\n\n${table(head, lines)}\n`;
  // How far the choice of model could go: per series the best of the models (not the baselines) picked
  // on the very points it is scored on, which no forecaster can do.
  const picks = hz.models.filter((m) => m !== 'persistence' && !m.startsWith('seasonal-naive'));
  const hindsight = (fam) => {
    const best = new Map();
    for (const c of cells) {
      if (!picks.includes(c.model) || !c.r.ok || (fam && family(c.series) !== fam)) continue;
      const x = c.r.output.maeRatioBestBaseline;
      if (Number.isFinite(x) && x > 0) best.set(c.series, Math.min(best.get(c.series) ?? Number.POSITIVE_INFINITY, x));
    }
    return best.size ? `${f3(geoMean([...best.values()]))} (${best.size} series)` : '-';
  };
  if (picks.length > 1) md += `\nThe best of ${picks.join(', ')} per series, picked in hindsight on the scored points (no forecaster can): vs best baseline ${hindsight()}${split ? `; NAB ${hindsight('NAB')}; cluster and web ${hindsight('cluster and web')}` : ''}.\n`;
  const perSeries = new Map();
  for (const c of cells) {
    if (!perSeries.has(c.series)) perSeries.set(c.series, {});
    perSeries.get(c.series)[c.model] = c.r.ok ? `${f3(c.r.output.maeRatioBestBaseline)} / ${c.r.output.coverage.toFixed(2)}` : 'error';
  }
  md += `\n<details><summary>Per series (MAE vs best baseline / coverage), ${hz.name} ahead</summary>\n\n${table(['series', ...hz.models], [...perSeries].map(([name, c]) => [name, ...hz.models.map((m) => c[m] ?? '-')]))}\n\n</details>\n`;
}

// Leave one family out: the variant is chosen on one family (lowest geometric-mean MAE vs the best
// baseline among variants whose pooled coverage is within 75-85 %, else the coverage nearest 80 %),
// then scored on the other.
if (split) md += `\n## Leave one family out: the pipeline's variant chosen on one family, scored on the other

Families: NAB (${series.filter((s) => family(relative(traces, s.file)) === 'NAB').length} series) and the cluster and web traces (Alibaba, Google, NASA: ${series.filter((s) => family(relative(traces, s.file)) !== 'NAB').length} series). A variant is how the
pipeline uses its rolling-origin backtest: \`best\` (the candidate with the lowest MAE), \`inverse-mae\` (the
three best weighted by 1 / MAE), \`simplex\` (convex weights in tenths with the lowest backtest MAE),
\`anchored\` (the analog, unless the best candidate's paired advantage over it is ${ANCHOR_T} standard errors clear),
\`graded\` (the analog and the best candidate mixed, the best's share rising from 0 at ${GRADED_FROM_T} standard errors to 1 at ${ANCHOR_T}) or
\`auto\` (graded with ${ANCHORED_FROM_ORIGINS} origins or more at most ${ANCHORED_UP_TO_SECONDS / 60} minutes ahead, simplex otherwise), and
the interval calibration \`widen\` (one factor, never below 1), \`per-side\` (each side to its tail share) or
\`auto\` (per-side with ${MANY_ORIGINS} origins or more at most ${PER_SIDE_UP_TO_SECONDS / 60} minutes ahead). All variants share one backtest per origin. On the training
family the variant with the lowest geometric-mean MAE vs the best baseline is chosen among those whose
coverage lies in 75-85 % (else the one nearest 80 %); the test columns are that variant on the other family.
`;
else md += `\n## The pipeline's variants\n\nThese series are not the shared traces' two families: no leave-one-family-out split, every variant on all of them.\n`;
const pick = (rows) => {
  const inBand = rows.filter((r) => r.s.coverage >= 0.75 && r.s.coverage <= 0.85);
  const pool = inBand.length ? inBand : rows;
  return pool.reduce((b, r) => (inBand.length ? r.s.best < b.s.best : Math.abs(r.s.coverage - 0.8) < Math.abs(b.s.coverage - 0.8)) ? r : b);
};
const lofo = [];
const variantTables = [];
for (const hz of horizons) {
  const autos = byHz.get(hz.name).filter((c) => c.model === 'auto' && c.r.ok && c.r.output.variants);
  const per = (fam, v) =>
    summary(
      autos
        .filter((c) => fam === 'all' || family(c.series) === fam)
        .map((c) => {
          const x = c.r.output.variants.find((y) => y.combine === v.combine && y.calibration === v.calibration);
          return { ratio: x.maeRatio, best: x.maeRatioBestBaseline, coverage: x.coverage, points: c.r.output.points };
        }),
    );
  variantTables.push(`\n<details><summary>Every variant, ${hz.name} ahead (vs best baseline / coverage)</summary>\n\n${table(['variant', ...(split ? FAMILIES : []), 'all'], VARIANTS.map((v) => [vname(v), ...[...(split ? FAMILIES : []), 'all'].map((f) => { const s = per(f, v); return `${f3(s.best)} / ${f3(s.coverage)}`; })]))}\n\n</details>\n`);
  for (const train of split ? FAMILIES : []) {
    const test = FAMILIES.find((f) => f !== train);
    const chosen = pick(VARIANTS.map((v) => ({ v, s: per(train, v) })));
    const t = per(test, chosen.v);
    const d = per(test, DEFAULT_VARIANT);
    lofo.push([hz.name, train, vname(chosen.v), f3(chosen.s.best), f3(chosen.s.coverage), test, f3(t.best), f3(t.ratio), f3(t.coverage), `${f3(d.best)} / ${f3(d.coverage)}`]);
  }
}
if (split) md += `\n${table(['horizon', 'trained on', 'variant chosen', 'train: vs best baseline', 'train: coverage', 'tested on', 'test: vs best baseline', 'test: vs seasonal naive', 'test: coverage', `test, default (${vname(DEFAULT_VARIANT)})`], lofo)}\n`;
md += variantTables.join('');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(md.replace(/<details>[\s\S]*?<\/details>/g, ''));
