// bench:frontier — the cost-SLO frontier of reactive (the HPA's target utilization swept) and hybrid
// (the SLO policy's attainment target swept) on every shared series: `shadowscale backtest --sweep
// --json --chart` per series, two at a time. Writes bench/results/frontier.md and one SVG chart per
// series under bench/results/frontier/.
// Usage: npm run bench:frontier -- [--traces DIR] [--peak-rps R] [--out FILE] [--only SUBSTRING[,SUBSTRING...]]
//        [--set PATH=VALUE[,PATH=VALUE...]]   (settings for every run, as `backtest --set`: a variant of the
//        policy compared on the same series, e.g. --set services[0].scaling.predictive.scaleInHoldLeads=0)
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { costAt } from '../dist/src/core/frontier.js';
import { args, cliJsonAll, machine, table, traceSeries } from './lib.mjs';

const a = args();
const traces = a.traces ?? '../shared/traces';
const peak = Number(a['peak-rps'] ?? 2000);
const out = a.out ?? 'bench/results/frontier.md';
const chartDir = join(dirname(out), 'frontier');
const only = typeof a.only === 'string' ? a.only.split(',') : [];
const sets = typeof a.set === 'string' ? a.set.split(',') : [];
mkdirSync(chartDir, { recursive: true });

const slug = (s) => s.replace(/\.csv/g, '').replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase();

const jobs = traceSeries(traces, ['hour'])
  .filter((x) => only.length === 0 || only.some((o) => `${x.file} [${x.column}]`.includes(o)))
  .map(({ file, column, step, columns }) => {
    const name = `${relative(traces, file)}${columns > 1 ? ` [${column}]` : ''}`;
    const chart = join(chartDir, `${slug(name)}.svg`);
    const cli = ['--input', file, '--column', column, '--peak-rps', String(peak), '--duplicates', 'mean', '--chart', chart];
    if (step !== undefined) cli.push('--step', String(step));
    for (const kv of sets) cli.push('--set', kv);
    return { name, chart, cli };
  });

const t0 = performance.now();
const results = await cliJsonAll(jobs, ['backtest', '--strategy', 'reactive,hybrid,oracle', '--sweep', '--json']);
const wall = (performance.now() - t0) / 1000;

const geo = (xs) => (xs.length ? Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length) : NaN);
const f3 = (x) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(3));
const pct = (x) => `${(x * 100).toFixed(3)} %`;
const rows = [];
const at999 = { hvr: [], hvo: [], rvo: [], worst: { ratio: 0, name: '' }, missing: [], hvrFrom25: [] };
const at995 = { hvr: [], hvo: [], rvo: [] };
const actions = { hybrid: 0, reactive: 0 };
let defaultMeets = 0;
let counted = 0;
const selfGap = [];
const selfGapName = [];
jobs.forEach((j, i) => {
  const r = results[i];
  if (r.error) {
    rows.push([j.name, 'error', r.error.replace(/\|/g, '/'), '', '', '', '', '']);
    return;
  }
  counted++;
  const s = r.report.strategies;
  const o = s.oracle.cost;
  const c = r.report.costAtAttainment;
  const h = s.hybrid;
  if (h.sloAttainment >= 0.999) defaultMeets++;
  actions.hybrid += h.scalingActions;
  actions.reactive += s.reactive.scalingActions;
  // How far hybrid's default sits from its own frontier at the attainment it reached.
  const frontierH = r.report.frontier.hybrid;
  const onFrontier = costAt(frontierH, h.sloAttainment);
  if (onFrontier) {
    selfGap.push(h.cost / onFrontier);
    selfGapName.push(j.name);
  }
  for (const [bucket, key] of [[at999, '0.999'], [at995, '0.995']]) {
    const hc = c.hybrid[key];
    const rc = c.reactive[key];
    if (hc !== null && rc !== null) {
      bucket.hvr.push(hc / rc);
      if (bucket === at999 && hc / rc > at999.worst.ratio) at999.worst = { ratio: hc / rc, name: j.name };
      // The series the comparison held before the HPA was swept below 25 % (its cheapest run at 99.9 % is there).
      if (bucket === at999 && r.report.frontier.reactive.some((p) => p.knob >= 0.25 && p.sloAttainment >= 0.999)) at999.hvrFrom25.push(hc / rc);
    } else if (bucket === at999) at999.missing.push(`${j.name} (${hc === null ? 'hybrid' : ''}${hc === null && rc === null ? ', ' : ''}${rc === null ? 'reactive' : ''})`);
    if (hc !== null) bucket.hvo.push(hc / o);
    if (rc !== null) bucket.rvo.push(rc / o);
  }
  rows.push([
    j.name,
    `${f3(s.reactive.cost / o)} / ${pct(s.reactive.sloAttainment)}`,
    `${f3(h.cost / o)} / ${pct(h.sloAttainment)}`,
    f3(c.reactive['0.999'] === null ? null : c.reactive['0.999'] / o),
    f3(c.hybrid['0.999'] === null ? null : c.hybrid['0.999'] / o),
    f3(c.hybrid['0.999'] !== null && c.reactive['0.999'] !== null ? c.hybrid['0.999'] / c.reactive['0.999'] : null),
    f3(c.hybrid['0.995'] !== null && c.reactive['0.995'] !== null ? c.hybrid['0.995'] / c.reactive['0.995'] : null),
    `[chart](frontier/${j.chart.split('/').pop()})`,
  ]);
});

const yes = (ok) => (ok ? 'yes' : '**no**');
const md = `# bench:frontier — cost at equal SLO attainment, reactive (HPA) against hybrid

Command: \`npm run bench:frontier${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (bench/frontier.mjs; each series is \`shadowscale backtest --input FILE
[--column C] [--step S] --duplicates mean --peak-rps ${peak} --strategy reactive,hybrid,oracle --sweep --json
--chart SVG${sets.map((kv) => ` --set ${kv}`).join('')}\`)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}; wall time ${wall.toFixed(0)} s for ${jobs.length} series (${cpus().length} at a time).

Reactive sweeps the HPA's target utilization (0.1 to 0.8); hybrid sweeps the attainment its SLO policy
aims for (0.95 to 0.9998), the policy's only knob; hybrid's default aims at half the error budget of
\`slo.attainment: 0.999\`, i.e. 0.9995. Each strategy's cost at an attainment is interpolated on its frontier (its
undominated runs); "-" where no setting reached it. Costs are divided by the oracle's (perfect foresight).

## Targets

| target | result | met |
| --- | --- | --- |
| hybrid's default reaches >= 99.9 % attainment on >= 90 % of series | ${defaultMeets} of ${counted} (${((defaultMeets / counted) * 100).toFixed(0)} %) | ${yes(defaultMeets / counted >= 0.9)} |
| at 99.9 %: geometric mean of hybrid / reactive <= 0.85 | ${f3(geo(at999.hvr))} over ${at999.hvr.length} series where both reach it; ${f3(geo(at999.hvrFrom25))} over the ${at999.hvrFrom25.length} where the HPA reaches it at 25 % utilization or more | ${yes(geo(at999.hvr) <= 0.85)}${geo(at999.hvr) <= 0.85 && geo(at999.hvrFrom25) > 0.85 ? ' (only with the HPA swept below 25 %)' : ''} |
| at 99.9 %: geometric mean of hybrid / oracle <= 1.15 | ${f3(geo(at999.hvo))} over ${at999.hvo.length} series (reactive: ${f3(geo(at999.rvo))} over ${at999.rvo.length}) | ${yes(geo(at999.hvo) <= 1.15)} |
| at 99.9 %: on no series more than 1.02x reactive | worst ${f3(at999.worst.ratio)} (${at999.worst.name}); ${at999.hvr.filter((x) => x > 1.02).length} series above 1.02 | ${yes(at999.worst.ratio <= 1.02)} |
| hybrid's default within 5 % of cost of its own frontier | geometric mean ${f3(geo(selfGap))}, worst ${f3(Math.max(...selfGap))} (${selfGapName[selfGap.indexOf(Math.max(...selfGap))]}), ${selfGap.filter((x) => x > 1.05).length} of ${selfGap.length} above 1.05 | ${yes(Math.max(...selfGap) <= 1.05)} |

At 99.5 %: hybrid / reactive geometric mean ${f3(geo(at995.hvr))} over ${at995.hvr.length} series; hybrid / oracle ${f3(geo(at995.hvo))}, reactive / oracle ${f3(geo(at995.rvo))}.
Scaling actions at the default settings, summed over the series: hybrid ${actions.hybrid}, reactive ${actions.reactive}.
${at999.missing.length ? `\nNot reached at 99.9 % by any setting: ${at999.missing.join('; ')}.\n` : ''}
## Every series

"default" is cost / oracle and attainment at the default settings (reactive at 60 % utilization, hybrid
aiming for 99.95 % to meet 99.9 %).

${table(['series', 'reactive default', 'hybrid default', 'reactive @ 99.9 %', 'hybrid @ 99.9 %', 'hybrid / reactive @ 99.9 %', 'hybrid / reactive @ 99.5 %', 'frontier'], rows)}
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(md.split('## Every series')[0]);
