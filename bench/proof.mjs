// bench:proof — `shadowscale prove` against the truth: for sample-service types with exponential service
// times, the M/M/c model is the exact capacity at the SLO, so the measured capacity of each type can be
// compared with the true one. Target (issue 11): within ±15 % for each type. Also the verdicts: a count
// the truth says carries the rate should pass, one it says cannot should fail.
// Usage: npm run bench:proof -- [--rate RPS] [--samples N] [--max-step-seconds S] [--out FILE]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { maxRateAtSlo } from '../dist/src/core/capacity.js';
import { args, machine, table } from './lib.mjs';

const a = args();
const rate = Number(a.rate ?? 200);
const samples = Number(a.samples ?? 1000);
const maxStep = Number(a['max-step-seconds'] ?? 20);
const out = a.out ?? 'bench/results/proof.md';
const SLO_MS = 200;
const TYPES = {
  one: { slots: 1, serviceTimeMs: 20, price: 0.05 },
  two: { slots: 2, serviceTimeMs: 10, price: 0.12 },
  four: { slots: 4, serviceTimeMs: 25, price: 0.15 },
};

const dir = mkdtempSync(join(tmpdir(), 'shadowscale-bench-proof-'));
const config = join(dir, 'prove.yaml');
writeFileSync(
  config,
  `instanceTypes:\n${Object.entries(TYPES)
    .map(([n, t]) => `  ${n}: { slots: ${t.slots}, serviceTimeMs: ${t.serviceTimeMs}, queueLimit: 1000, provisioningSeconds: 0.2, warmupSeconds: 0, warmupCapacity: 1, prices: { onDemandPerHour: ${t.price} }, env: { SERVICE_TIME_DIST: exponential } }`)
    .join('\n')}\nservices:\n  - name: web\n    instanceType: two\n    pool: { min: 1, max: 40 }\n    slo: { latencyP99Ms: ${SLO_MS}, errorRate: 0.01 }\n    scaling: { headroom: 0 }\n`,
);
const started = Date.now();
const cmd = ['bin/shadowscale', 'prove', '--config', config, '--rate', String(rate), '--samples', String(samples), '--max-step-seconds', String(maxStep), '--json'];
const result = JSON.parse(execFileSync(process.execPath, cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
const seconds = (Date.now() - started) / 1000;
rmSync(dir, { recursive: true, force: true });

const rows = [];
let within = 0;
let measuredTypes = 0;
for (const [name, t] of Object.entries(TYPES)) {
  const truth = maxRateAtSlo(t.slots, t.serviceTimeMs / 1000, SLO_MS / 1000);
  const mine = result.candidates.filter((c) => c.instanceType === name);
  const measured = mine[0]?.capacityAtSloRps ?? null;
  const err = measured === null ? null : measured / truth - 1;
  if (err !== null) {
    measuredTypes++;
    if (Math.abs(err) <= 0.15) within++;
  }
  for (const c of mine) {
    const truthSays = c.perInstanceRps <= truth ? 'carries' : 'cannot';
    rows.push([name, String(c.count), c.perInstanceRps.toFixed(1), truth.toFixed(1), measured === null ? '-' : measured.toFixed(1), err === null ? '-' : `${(err * 100).toFixed(1)} %`, c.p99Ms === null ? '-' : c.p99Ms.toFixed(1), truthSays, c.verdict]);
  }
}
const md = [
  '# bench:proof — measured capacity at the SLO against the truth',
  '',
  `Command: \`npm run bench:proof -- --rate ${rate} --samples ${samples} --max-step-seconds ${maxStep}\` (${seconds.toFixed(0)} s)`,
  `Machine: ${machine()}`,
  '',
  `Sample-service types with exponential service times, SLO p99 ≤ ${SLO_MS} ms: the M/M/c model is then the exact capacity. \`prove\` runs one trial per type (steps at each candidate's per-instance rate and 0.8, 1, 1.2, 1.4 × the modelled capacity, at least ${samples} answers or ${maxStep} s each) and interpolates where the measured p99 crosses the SLO.`,
  '',
  table(['type', 'count', 'req/s per instance', 'true capacity', 'measured', 'error', 'p99 ms at its rate', 'the truth says', 'verdict'], rows),
  '',
  `Target: measured capacity within ±15 % of the truth for each type: ${within} of ${measuredTypes} measured types. Chosen: ${result.chosen ? `${result.chosen.count} × ${result.chosen.instanceType} at ${result.chosen.costPerHour.toFixed(3)} per hour` : 'none'}.`,
  '',
];
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md.join('\n'));
console.log(md.join('\n'));
