// bench:burstiness — how bursty a trace is at the scale autoscaling reacts on, and what that costs any
// strategy that cannot see the future. For each minute t: the largest of the next three minutes
// (what capacity requested now, ready in ~2 minutes, must meet) over the mean / max of the past window.
// Then the simple causal rule "capacity = k x max of the last 15 minutes": its cost relative to the
// per-minute need and how often the minute two ahead exceeds it. Writes bench/results/burstiness.md.
// Usage: npm run bench:burstiness -- [--traces DIR] [--out FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadTrace } from '../dist/src/sim/trace.js';
import { args, machine, table } from './lib.mjs';

const a = args();
const traces = a.traces ?? '../shared/traces';
const out = a.out ?? 'bench/results/burstiness.md';
const file = join(traces, 'nasa-http-1995/nasa_http_1995_per_minute.csv');
const t = await loadTrace(file);
const peak = 2000;
const perInstance = 133.879; // req/s per default instance at p99 <= 200 ms (backtest settings.perInstanceRpsAtSlo)
const v = Array.from(t.values, (x) => (x * peak) / t.stats.max);
const meanRps = (t.stats.mean * peak) / t.stats.max;
const n = v.length;
const q = (xs, p) => {
  const s = Float64Array.from(xs).sort();
  return s[Math.floor(p * (s.length - 1))];
};

const ratioRows = [];
for (const win of [5, 15, 30]) {
  const r = [];
  for (let i = win; i < n - 3; i++) {
    let m = 0;
    for (let k = i - win; k < i; k++) m += v[k];
    m /= win;
    if (m < meanRps) continue;
    r.push(Math.max(v[i], v[i + 1], v[i + 2]) / m);
  }
  ratioRows.push([`${win} min`, ...[0.5, 0.9, 0.99, 0.999].map((p) => q(r, p).toFixed(2))]);
}

let need = 0;
for (let i = 0; i < n; i++) need += Math.max(1, Math.ceil(v[i] / perInstance));
const ruleRows = [];
for (const k of [1.3, 1.5, 1.7, 2.0]) {
  let cost = 0;
  let miss = 0;
  let cnt = 0;
  for (let i = 15; i < n - 3; i++) {
    let m = 0;
    for (let j = i - 15; j < i; j++) m = Math.max(m, v[j]);
    const cap = Math.max(1, Math.ceil((k * m) / perInstance));
    cost += cap;
    cnt++;
    if (v[i + 2] > cap * perInstance) miss++;
  }
  ruleRows.push([String(k), (cost / need).toFixed(3), `${((100 * miss) / cnt).toFixed(3)} %`]);
}

const md = `# bench:burstiness — minute-level bursts in the NASA trace

Command: \`npm run bench:burstiness\` (bench/burstiness.mjs)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}

${file}: ${n} minutes, mean ${t.stats.mean.toFixed(1)} and max ${t.stats.max} requests per minute
(the busiest minute is ${(t.stats.max / t.stats.mean).toFixed(1)}x the mean). Scaled to --peak-rps ${peak}.

## Largest of the next 3 minutes / mean of the past window (minutes whose past mean is at least the trace mean)

${table(['past window', 'p50', 'p90', 'p99', 'p99.9'], ratioRows)}

## Causal rule "capacity = k x max of the last 15 minutes" (${perInstance} req/s per instance)

"cost / need" is instance-minutes over the per-minute need (ceil(load / per-instance rate), at least 1);
the simulator's oracle itself pays about 1.2x this need (lead time, bridging, per-second noise).
"misses" is the share of minutes whose load two minutes later exceeds the capacity.

${table(['k', 'cost / need', 'misses'], ruleRows)}
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(md);
