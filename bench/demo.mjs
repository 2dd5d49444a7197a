// bench:demo — the live loop's targets, measured on the demo: sample-service instances, the gateway,
// the shadow pool and the control loop under a compressed day with a steep ramp, reactive then hybrid,
// for several seeds. Targets: hybrid's scale-up lead >= provisioning + warm-up; hybrid's SLO violation
// time <= 10 % of reactive's; a control-loop tick <= 50 ms. Writes bench/results/demo.md.
// Usage: npm run bench:demo -- [--duration S] [--seeds 1,2,3] [--peak-rps R] [--out FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { runDemo } from '../dist/src/control/demo.js';
import { args, interruptibleDemo, machine, table } from './lib.mjs';

const a = args();
const duration = Number(a.duration ?? 120);
const seeds = String(a.seeds ?? '1,2,3').split(',').map(Number);
const peakRps = Number(a['peak-rps'] ?? 300);
const out = a.out ?? 'bench/results/demo.md';

const runs = [];
for (const seed of seeds) {
  const t = Date.now();
  const r = await interruptibleDemo(runDemo, { durationSeconds: duration, strategies: ['reactive', 'hybrid'], peakRps, seed, historyDays: 7, onLog: (l) => console.error(l) });
  runs.push({ seed, ...r });
  console.error(`seed ${seed}: ${JSON.stringify(r.strategies)} (${((Date.now() - t) / 1000).toFixed(0)} s)`);
}

const f1 = (x) => (x === null || x === undefined || Number.isNaN(x) ? '-' : Number(x).toFixed(1));
const rows = runs.flatMap((r) =>
  ['reactive', 'hybrid'].map((name) => {
    const s = r.strategies[name];
    const d = r.details[name];
    return [String(r.seed), name, String(s.sloViolationSeconds), f1(s.p99Ms), String(s.instanceSeconds), String(d.shadowInstanceSeconds), String(s.maxInstances), f1(s.scaleUpLeadSeconds), String(s.shadow.mirrored), String(s.shadow.dropped), f1(d.tickMs.p50), f1(d.tickMs.p99), f1(d.tickMs.max)];
  }),
);
const sum = (name, key) => runs.reduce((x, r) => x + r.strategies[name][key], 0);
const required = runs[0].details.hybrid.requiredLeadSeconds;
const leads = runs.map((r) => r.strategies.hybrid.scaleUpLeadSeconds);
const ticks = runs.flatMap((r) => ['reactive', 'hybrid'].map((n) => r.details[n].tickMs));
const ratio = sum('reactive', 'sloViolationSeconds') > 0 ? sum('hybrid', 'sloViolationSeconds') / sum('reactive', 'sloViolationSeconds') : Number.NaN;
const md = `# bench:demo — the live loop on the demo

Command: \`npm run bench:demo -- --duration ${duration} --seeds ${seeds.join(',')}\` (bench/demo.mjs; the same code as \`shadowscale demo\`)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}

A compressed day of ${duration} s at up to ${peakRps} req/s (a steep ramp from 20 % to 100 % of the peak at ${(0.4 * duration).toFixed(0)} s),
open-loop Poisson arrivals against the gateway; sample-service instances (4 slots, lognormal service times of mean 40 ms and CV 0.5,
2 s start-up, 4 s cold start at half speed) under the local provider; a 25 % shadow pool fed with adaptive sampling;
SLO p99 <= 250 ms and errors <= 1 % per second, scored from the client's side. The forecaster learns from 7 earlier
days written to the store; it is never told the future. Every web request calls the second service, store (a key-value
service, 4 slots of 20 ms, 6 s start-up and 4 s cold start, reactive, scaled ahead for web's forecast: docs/design/services.md),
so web's latency includes store's. Everything, the load generator included, shares this machine.

${table(['seed', 'strategy', 'store SLO violation s', 'store p99 ms', 'store instance-s', 'store lead s (needs 10)', 'store dependency_ahead decisions'], runs.flatMap((r) => ['reactive', 'hybrid'].map((name) => { const x = r.details[name].services.store; return [String(r.seed), name, String(x.sloViolationSeconds), f1(x.p99Ms), String(x.instanceSeconds), f1(x.scaleUpLeadSeconds), String(x.dependencyAhead)]; })))}

The web table:

${table(['seed', 'strategy', 'SLO violation s', 'p99 ms', 'live instance-s', 'shadow instance-s', 'max instances', 'scale-up lead s', 'mirrored', 'dropped', 'tick p50 ms', 'tick p99 ms', 'tick max ms'], rows)}

## Targets

| target | measured | met |
| --- | --- | --- |
| hybrid's scale-up lead >= provisioning + warm-up (${required} s) | ${leads.map(f1).join(', ')} s | ${leads.every((l) => l !== null && l >= required) ? 'yes' : 'no'} |
| hybrid's SLO violation time <= 10 % of reactive's | ${sum('hybrid', 'sloViolationSeconds')} s vs ${sum('reactive', 'sloViolationSeconds')} s (${Number.isNaN(ratio) ? '-' : `${(100 * ratio).toFixed(1)} %`}) | ${ratio <= 0.1 ? 'yes' : 'no'} |
| a control-loop tick for one service <= 50 ms | p99 ${ticks.map((t) => f1(t.p99)).join(', ')} ms; max ${f1(Math.max(...ticks.map((t) => t.max)))} ms | ${ticks.every((t) => t.p99 <= 50) ? 'yes (p99)' : 'no'} |
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.log(md);
