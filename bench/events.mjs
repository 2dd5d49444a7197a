// bench:events — what declaring a known event is worth, on real traces with a campaign added. Every shared
// series gets a one-off campaign: its demand times --actual (3) for two hours from the first 10:00 UTC (of the
// trace's clock) a week or more after it starts (three days when too short), and is cut a day after it. Each is backtested
// (reactive and hybrid, --peak-rps 2000, the default configuration) with no event declared and with the
// event declared at multipliers --declared (2,3,4.5: under, right, over), and the violated minutes from five
// minutes before the campaign to its end and the cost of the whole trace are compared.
// Usage: npm run bench:events -- [--traces DIR] [--actual M] [--declared M,M,...] [--out FILE] [--only SUBSTRING]
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../dist/src/config/load.js';
import { runBacktest } from '../dist/src/sim/backtest.js';
import { loadTrace } from '../dist/src/sim/trace.js';
import { args, geoMean, machine, onInterrupt, table, traceSeries } from './lib.mjs';

const a = args();
const traces = a.traces ?? '../shared/traces';
const out = a.out ?? 'bench/results/events.md';
const actual = Number(a.actual ?? 3);
const declared = String(a.declared ?? '2,3,4.5').split(',').map(Number);
if (!(actual > 0) || declared.some((m) => !(m >= 0.001 && m <= 1000))) {
  console.error('--actual: a positive number; --declared: numbers from 0.001 to 1000, comma-separated');
  process.exit(2);
}
const PEAK = 2000;
const DAY = 86400;
const LENGTH = 2 * 3600;
const BEFORE = 300;
const iso = (s) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

/**
 * The campaign's start: the first 10:00 of the trace's clock at least a week after its first row (a week of
 * history: the weekly season), or three days where the trace is too short for that.
 */
function campaignStart(trace) {
  const first = trace.times[0];
  const last = trace.times[trace.times.length - 1];
  const after = (days) => {
    const day = Math.floor((first + days * DAY) / DAY) * DAY;
    return day + 36000 >= first + days * DAY ? day + 36000 : day + DAY + 36000;
  };
  return after(7) + LENGTH + DAY <= last ? after(7) : after(3);
}

/**
 * The trace up to a day after the campaign, with the campaign's rows multiplied (a copy), or the reason it
 * cannot take one. What follows that day does not change the campaign's minutes.
 */
function withCampaign(trace, start) {
  const end = start + LENGTH;
  const last = trace.times[trace.times.length - 1];
  if (end + DAY / 4 > last) return { skip: 'shorter than the campaign and six hours after it' };
  if (trace.gaps.some((g) => g.to > start - trace.step && g.from < end)) return { skip: 'a gap during the campaign' };
  let n = 0;
  while (n < trace.times.length && trace.times[n] < end + DAY) n++;
  const times = trace.times.slice(0, n);
  const values = Float64Array.from(trace.values.subarray(0, n), (v, i) => (times[i] >= start && times[i] < end ? v * actual : v));
  let max = 0;
  let min = Number.POSITIVE_INFINITY;
  let total = 0;
  for (const v of values) {
    max = Math.max(max, v);
    min = Math.min(min, v);
    total += v;
  }
  return { trace: { ...trace, times, values, gaps: trace.gaps.filter((g) => g.from < end + DAY), stats: { ...trace.stats, rows: n, min, max, mean: total / n } } };
}

function run(trace, start, multiplier) {
  // Declared from the row before the campaign: the simulator interpolates demand between rows, so on a
  // 5-minute series the campaign's demand starts to rise at 09:55.
  const sets = multiplier === undefined ? [] : ['services[0].events[0].name=campaign', `services[0].events[0].start=${iso(start - trace.step)}`, `services[0].events[0].end=${iso(start + LENGTH)}`, `services[0].events[0].multiplier=${multiplier}`];
  const config = loadConfig({ sets });
  const minutes = {};
  const r = runBacktest(trace, { config, service: config.services[0], peakRps: PEAK, strategies: ['reactive', 'hybrid'], onMinutes: (name, m) => (minutes[name] = m) });
  const inCampaign = (name) => minutes[name].filter((m) => m.at >= start - BEFORE && m.at < start + LENGTH && m.violated).length;
  return {
    reactive: { violated: inCampaign('reactive'), cost: r.strategies.reactive.cost },
    hybrid: { violated: inCampaign('hybrid'), cost: r.strategies.hybrid.cost, attainment: r.strategies.hybrid.sloAttainment, knownEvent: r.strategies.hybrid.reasons.known_event ?? 0 },
  };
}

/** One series, all its runs: the row, or why it was skipped. */
async function series(s) {
  const name = `${relative(traces, s.file)}${s.columns > 1 ? ` [${s.column}]` : ''}`;
  const trace = await loadTrace(s.file, { column: s.column, step: s.step, duplicates: 'mean' });
  const start = campaignStart(trace);
  const c = withCampaign(trace, start);
  if (c.skip) return { name, skip: c.skip };
  const none = run(c.trace, start);
  const by = Object.fromEntries(declared.map((m) => [m, run(c.trace, start, m)]));
  return { name, start, days: (c.trace.times[c.trace.times.length - 1] - c.trace.times[0]) / DAY, none, by };
}

const all = traceSeries(traces, ['hour']).filter((x) => !a.only || x.file.includes(a.only));
if (a.one !== undefined) {
  // A child of the run below: one series, its result as JSON on stdout.
  process.stdout.write(JSON.stringify(await series(all[Number(a.one)])));
  process.exit(0);
}

const t0 = performance.now();
const forwarded = [...(a.traces ? ['--traces', traces] : []), ...(a.actual ? ['--actual', String(actual)] : []), ...(a.declared ? ['--declared', declared.join(',')] : []), ...(a.only ? ['--only', a.only] : [])];
const results = new Array(all.length);
let next = 0;
let done = 0;
const children = new Set();
onInterrupt(() => children.forEach((c) => c.kill('SIGTERM')));
await Promise.all(
  Array.from({ length: Math.max(1, Math.min(2, cpus().length)) }, async () => {
    while (next < all.length) {
      const k = next++;
      results[k] = await new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...forwarded, '--one', String(k)], { stdio: ['ignore', 'pipe', 'inherit'] });
        children.add(child);
        let stdout = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.on('close', (code) => {
          children.delete(child);
          if (code === 0) resolve(JSON.parse(stdout));
          else reject(new Error(`series ${k}: exit ${code}`));
        });
      });
      process.stderr.write(`\r${++done}/${all.length} ${results[k].name.slice(0, 70).padEnd(70)}`);
    }
  }),
);
process.stderr.write('\n');
const wall = (performance.now() - t0) / 1000;
const rows = results.filter((r) => !r.skip);
const skipped = results.filter((r) => r.skip).map((r) => `${r.name}: ${r.skip}`);

const right = declared.includes(actual) ? actual : declared[0];
const sum = (f) => rows.reduce((s, r) => s + f(r), 0);
const summary = [
  ['no event declared', sum((r) => r.none.hybrid.violated), rows.filter((r) => r.none.hybrid.violated === 0).length, '1.000', sum((r) => r.none.reactive.violated)],
  ...declared.map((m) => [
    `declared x${m}${m === actual ? ' (right)' : m < actual ? ' (under)' : ' (over)'}`,
    sum((r) => r.by[m].hybrid.violated),
    rows.filter((r) => r.by[m].hybrid.violated === 0).length,
    geoMean(rows.map((r) => r.by[m].hybrid.cost / r.none.hybrid.cost)).toFixed(3),
    sum((r) => r.by[m].reactive.violated),
  ]),
];
const better = rows.filter((r) => r.by[right].hybrid.violated < r.none.hybrid.violated).length;
const worse = rows.filter((r) => r.by[right].hybrid.violated > r.none.hybrid.violated).length;

const md = `# bench:events — a known event declared, on real traces with a campaign added

Command: \`npm run bench:events -- --traces ${traces}${a.actual ? ` --actual ${actual}` : ''}${a.declared ? ` --declared ${declared.join(',')}` : ''}\` (bench/events.mjs)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}; wall time ${wall.toFixed(0)} s, two series at a time.

Each shared series gets a one-off campaign: its demand times ${actual} for two hours from the first 10:00 UTC (of the
trace's clock) a week or more after it starts (three days where the series is too short for a week and a day after
it), which no forecast of its past can see. The series is cut a day after the campaign. It is backtested (reactive and hybrid, \`--peak-rps ${PEAK}\` after the campaign is added, the default
configuration) with no event declared and with the event declared (\`services[0].events[0]\`, one-off, from the
row before the campaign, where the simulator's demand, interpolated between rows, starts to rise, to its end) at a
multiplier of ${declared.join(', ')}. "Violated" counts the minutes that missed the SLO from
five minutes before the campaign to its end; the cost is that of the whole series as cut. Reactive reads no forecast, so its
figures are the same in every row (a check). ${rows.length} series; ${skipped.length} skipped (listed at the end).

## Summary (hybrid)

${table(['event', 'violated minutes in the campaigns, summed', 'series with none violated', 'cost / no event, geometric mean', 'reactive: violated minutes, summed'], summary)}

Declared at the right multiplier (x${right}), hybrid violates fewer of the campaign's minutes than undeclared on ${better} of ${rows.length}
series and more on ${worse}.

## Every series (hybrid: violated minutes in the campaign / cost over the no-event run)

${table(['series', 'campaign (days simulated)', 'no event', ...declared.map((m) => `x${m}`), 'reactive'], rows.map((r) => [r.name, `${iso(r.start)} (${r.days.toFixed(1)})`, `${r.none.hybrid.violated}`, ...declared.map((m) => `${r.by[m].hybrid.violated} / ${(r.by[m].hybrid.cost / r.none.hybrid.cost).toFixed(3)}`), `${r.none.reactive.violated}`]))}

Skipped: ${skipped.length ? skipped.join('; ') : 'none'}.
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(md.split('\n## Every series')[0]);
