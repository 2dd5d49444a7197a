// bench:forecast-speed — 1000 synthetic series of 4032 five-minute points (daily + weekly shape, trend,
// noise, seeded), horizon 288. Side by side in one run: the default pipeline (automatic model choice
// with calibrated intervals) on all cores and on one thread, and augurs MSTL+ETS alone on one thread,
// on the same series; then each one's MAE on the 288 held-out points; and the pipeline one point ahead
// (the lead time) on the first 100.
// Usage: npm run bench:forecast-speed -- [--series N] [--lead-series N] [--out FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRng } from '../dist/src/core/random.js';
import { forecasterByName } from '../dist/src/forecast/models.js';
import { runJobs } from '../dist/src/forecast/pool.js';
import { args, machine, table } from './lib.mjs';

const a = args();
const count = Number(a.series ?? 1000);
const out = a.out ?? 'bench/results/forecast-speed.md';
const N = 4032;
const H = 288;
const rng = createRng(2026);
const all = Array.from({ length: count }, () => {
  const level = 50 + 950 * rng.next();
  const daily = 0.2 + 0.6 * rng.next();
  const weekly = 0.1 + 0.3 * rng.next();
  const phase = 2 * Math.PI * rng.next();
  const trend = (rng.next() - 0.5) * 0.3 / N;
  const noise = 0.03 + 0.12 * rng.next();
  return Float64Array.from({ length: N + H }, (_, i) => {
    const day = (2 * Math.PI * i) / 288 + phase;
    const week = (2 * Math.PI * i) / 2016;
    const v = level * (1 + trend * i) * (1 + daily * Math.sin(day) + weekly * Math.sin(week)) * (1 + noise * rng.normal());
    return Math.max(0, v);
  });
});
const history = (y) => ({ start: 0, step: 300, values: y.subarray(0, N) });
const maeOf = (y, mean) => {
  let s = 0;
  for (let h = 0; h < H; h++) s += Math.abs(y[N + h] - mean[h]);
  return s / H;
};
const request = { model: 'auto', seasonality: 'auto', horizon: H, level: 0.8 };

// 1. Default pipeline on all cores (worker threads).
let t0 = performance.now();
const pooled = await runJobs(all.map((y) => ({ series: history(y), request, absoluteTime: false })));
const pooledWall = (performance.now() - t0) / 1000;
const pooledMae = pooled.map((r, i) => maeOf(all[i], r.output.points.map((p) => p.mean)));

// 2. Default pipeline, one thread.
const auto = forecasterByName('auto');
t0 = performance.now();
const chosen = {};
const autoMae = all.map((y) => {
  const f = auto.forecast(history(y), H, 0.8);
  chosen[f.chosen] = (chosen[f.chosen] ?? 0) + 1;
  return maeOf(y, f.mean);
});
const autoWall = (performance.now() - t0) / 1000;

// 3. augurs MSTL+ETS alone, one thread.
const mstl = forecasterByName('mstl-ets');
t0 = performance.now();
const mstlMae = all.map((y) => maeOf(y, mstl.forecast(history(y), H, 0.8).mean));
const mstlWall = (performance.now() - t0) / 1000;

// 4. The default pipeline at the lead time (one point ahead: 48 backtest origins, where the lag
// regression and the analog take part), one thread, on the first series.
const leadCount = Math.min(count, Number(a['lead-series'] ?? 100));
t0 = performance.now();
const leadChosen = {};
for (const y of all.slice(0, leadCount)) {
  const f = auto.forecast(history(y), 1, 0.8);
  leadChosen[f.chosen] = (leadChosen[f.chosen] ?? 0) + 1;
}
const leadWall = (performance.now() - t0) / 1000;

const geo = (xs) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
const ratio = geo(autoMae.map((m, i) => m / mstlMae[i]));
const md = `# bench:forecast-speed — default pipeline vs augurs MSTL+ETS

Command: \`npm run bench:forecast-speed\` (bench/forecast-speed.mjs)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}

${count} synthetic series of ${N} five-minute points (two weeks; daily and weekly shape, trend, multiplicative
noise; seeded), horizon ${H} (one day). The default pipeline (\`forecast --model auto\`) weights its candidates
per series by a 6-origin rolling backtest (a day ahead: the convex weights in tenths with the lowest backtest
MAE), then calibrates the 80 % interval from that backtest. A day ahead its candidates are persistence, seasonal
naive (daily, weekly) and the fast seasonal model (plain, log); the smoothed level declines beyond a quarter of
a day, the lag regression and the analog beyond 12 points. MSTL is \`MSTL.ets([288, 2016])\` with its own
intervals. All runs use the same series in one process run.

${table(['run', 'wall time', 'per series', `speed-up over MSTL (one thread)`], [
  [`default pipeline, ${availableParallelism()} worker threads`, `${pooledWall.toFixed(1)} s`, `${((pooledWall * 1000) / count).toFixed(1)} ms`, `${(mstlWall / pooledWall).toFixed(1)}x`],
  ['default pipeline, one thread', `${autoWall.toFixed(1)} s`, `${((autoWall * 1000) / count).toFixed(1)} ms`, `${(mstlWall / autoWall).toFixed(1)}x`],
  ['augurs MSTL+ETS alone, one thread', `${mstlWall.toFixed(1)} s`, `${((mstlWall * 1000) / count).toFixed(1)} ms`, '1.0x'],
])}

Targets: 1000 series in <= 20 s wall on this machine, >= 10x faster than MSTL alone, at no loss of accuracy.

At the lead time (one point ahead) the pipeline backtests on 48 origins and every candidate takes part: on the
first ${leadCount} series, one thread, ${leadWall.toFixed(1)} s, ${((leadWall * 1000) / leadCount).toFixed(0)} ms per series (no target; chosen:
${Object.entries(leadChosen).map(([k, v]) => `${k} ${v}`).join(', ')}).

Accuracy on the ${H} held-out points of each series: geometric mean over series of (pipeline MAE / MSTL MAE) =
**${ratio.toFixed(3)}** (below 1: the pipeline is more accurate); mean MAE pipeline ${(autoMae.reduce((x, y) => x + y, 0) / count).toFixed(2)},
MSTL ${(mstlMae.reduce((x, y) => x + y, 0) / count).toFixed(2)}. The pooled run gives the same forecasts as the one-thread run
(mean MAE ${(pooledMae.reduce((x, y) => x + y, 0) / count).toFixed(2)}). Models chosen: ${Object.entries(chosen).map(([k, v]) => `${k} ${v}`).join(', ')}.
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(md);
