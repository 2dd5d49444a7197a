// bench:queue-fidelity — how faithful the simulator's per-minute SLO judgement is. A pool of N warm
// instances serves a constant Poisson load at a share of the rate one instance serves within the p99
// objective; the share of violated minutes (more than 1 % of a minute's requests slower than the
// objective) is measured three ways:
//   - DES: a discrete-event simulation of the same system, request by request: N independent
//     instances of c FCFS slots with exponential service, each request routed to a random instance
//     (so each instance sees Poisson arrivals, as the simulator's M/M/c law assumes);
//   - the simulator as the benchmarks run it (per-second Poisson counts, the law at each second's count);
//   - the simulator without noise (the law at the mean rate).
// Single-threaded; seeded. Usage: npm run bench:queue-fidelity -- [--minutes M] [--seed S] [--json] [--out FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildStrategy, serviceModel, simSettings } from '../dist/src/config/derive.js';
import { loadConfig } from '../dist/src/config/load.js';
import { responseTimeTail } from '../dist/src/core/capacity.js';
import { createRng } from '../dist/src/core/random.js';
import { simulate } from '../dist/src/sim/simulator.js';
import { buildWorkload } from '../dist/src/sim/workload.js';
import { args, machine, table } from './lib.mjs';

const a = args();
const minutes = Number(a.minutes ?? 1500);
const seed = Number(a.seed ?? 1);
const out = a.out ?? 'bench/results/queue-fidelity.md';
for (const [name, v] of [['--minutes', minutes], ['--seed', seed]]) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`${name}: expected a positive integer, got ${JSON.stringify(a[name.slice(2)])}`);
    process.exit(2);
  }
}
const POOLS = [1, 2, 4, 8, 16];
const LOADS = [0.8, 0.825, 0.85, 0.875, 0.9, 0.925, 0.95, 0.975, 1];

const cfg = loadConfig({ sets: [] });
const service = cfg.services[0];
const m = serviceModel(cfg, service);
const slots = m.type.slots;
const serviceTime = m.type.serviceTimeMs / 1000;
const slo = service.slo.latencyP99Ms / 1000;
const perInstance = m.perInstanceRps;

/** A constant trace: `minutes` one-minute rows at `rate`. */
function constantTrace(rate) {
  const n = minutes + 1;
  const values = new Float64Array(n).fill(rate);
  const times = Float64Array.from({ length: n }, (_, i) => i * 60);
  return { file: 'constant', column: 'rps', timeColumn: 'time', timeFormat: 'relative-seconds', step: 60, times, values, gaps: [], duplicatesMerged: 0, stats: { rows: n, min: rate, max: rate, mean: rate } };
}

/** The simulator with the pool pinned at `pool` warm instances. */
function simulated(pool, rate, noise) {
  const c = loadConfig({ sets: [`services[0].pool.min=${pool}`, `services[0].pool.max=${pool}`] });
  const sm = serviceModel(c, c.services[0]);
  const w = buildWorkload(constantTrace(rate), { peakRps: rate, noise, seed });
  const r = simulate(w, buildStrategy('reactive', sm), simSettings(c, sm, pool));
  return { violated: r.sloViolationMinutes / r.minutes, minutes: r.minutes };
}

/** Request-by-request: `pool` instances of `slots` FCFS slots, random routing, exponential service. */
function des(pool, rate) {
  const rng = createRng(seed ^ 0xde5);
  const exp = (r) => -Math.log(1 - rng.next()) / r;
  const free = Array.from({ length: pool }, () => new Float64Array(slots));
  let t = 0;
  let violated = 0;
  let allSlow = 0;
  let all = 0;
  for (let minute = 0; minute < minutes; minute++) {
    const end = (minute + 1) * 60;
    let slow = 0;
    let n = 0;
    for (;;) {
      t += exp(rate);
      if (t >= end) {
        t = end; // memoryless: the next arrival is drawn afresh from the minute's start
        break;
      }
      const f = free[Math.floor(rng.next() * pool)];
      let k = 0;
      for (let j = 1; j < slots; j++) if (f[j] < f[k]) k = j;
      const done = Math.max(t, f[k]) + exp(1 / serviceTime);
      f[k] = done;
      n++;
      if (done - t > slo) slow++;
    }
    if (n > 0 && slow / n > 0.01) violated++;
    allSlow += slow;
    all += n;
  }
  return { violated: violated / minutes, slowShare: allSlow / all };
}

const t0 = performance.now();
const rows = [];
const total = POOLS.length * LOADS.length;
for (const pool of POOLS) {
  for (const load of LOADS) {
    const rate = pool * load * perInstance;
    const d = des(pool, rate);
    const sp = simulated(pool, rate, 'poisson');
    const sn = simulated(pool, rate, 'none');
    rows.push({ instances: pool, load, rate, tailAtMean: responseTimeTail(slots, serviceTime, rate / pool, slo), desSlowShare: d.slowShare, des: d.violated, simPoisson: sp.violated, simNone: sn.violated });
    process.stderr.write(`\r${rows.length}/${total}`);
  }
}
process.stderr.write('\n');
const wall = (performance.now() - t0) / 1000;

// The highest load (of those tried) up to which every load tried has at most 0.1 % of its minutes
// violated: what a 99.9 % target allows.
const allowed = (pool, key) => {
  let best;
  for (const r of rows) {
    if (r.instances !== pool) continue;
    if (r[key] > 0.001) break;
    best = r.load;
  }
  return best;
};
const summary = POOLS.map((pool) => ({ instances: pool, des: allowed(pool, 'des'), simPoisson: allowed(pool, 'simPoisson'), simNone: allowed(pool, 'simNone') }));

if (a.json) {
  console.log(JSON.stringify({ minutes, seed, slots, serviceTime, slo, perInstanceRps: perInstance, rows, allowedLoadAt999: summary, wallSeconds: wall }));
  process.exit(0);
}

const pct = (x) => `${(x * 100).toFixed(2)} %`;
const ld = (x) => (x === undefined ? `< ${LOADS[0]}` : String(x));
const md = `# bench:queue-fidelity — the simulator's per-minute SLO judgement against a discrete-event simulation

Command: \`npm run bench:queue-fidelity\` (bench/queue-fidelity.mjs, ${minutes} minutes per cell, seed ${seed})
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}; wall time ${wall.toFixed(0)} s, one thread.

The default instance type (${slots} slots, ${m.type.serviceTimeMs} ms mean service time) and SLO (p99 ${service.slo.latencyP99Ms} ms):
one instance serves ${perInstance.toFixed(1)} req/s within the objective (M/M/${slots}). A pool of N warm instances
serves a constant Poisson load at the given share of N x that rate for ${minutes} minutes; a minute violates when
more than 1 % of its requests are slower than the objective. "DES" simulates every request (N independent
instances of ${slots} FCFS slots, exponential service, each request to a random instance); "simulator" is
\`simulate\` with the pool pinned at N, as every benchmark runs it (per-second Poisson counts, the M/M/c law
at each second's count) and without noise (the law at the mean rate). "tail" is the M/M/${slots} share of slow
requests at the mean rate: the long-run truth, which a minute scatters around; the DES's overall share of slow
requests checks the DES against it.

${table(
  ['instances', 'load', 'req/s', 'tail at the mean', 'DES: slow share', 'DES: violated minutes', 'simulator: violated minutes', 'simulator without noise'],
  rows.map((r) => [r.instances, r.load, r.rate.toFixed(1), pct(r.tailAtMean), pct(r.desSlowShare), pct(r.des), pct(r.simPoisson), pct(r.simNone)]),
)}

Highest load tried up to which every load tried has at most 0.1 % of its minutes violated (what a 99.9 %
attainment allows):

${table(
  ['instances', 'DES', 'simulator', 'simulator without noise'],
  summary.map((s) => [s.instances, ld(s.des), ld(s.simPoisson), ld(s.simNone)]),
)}
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(md);
