// bench:switchover — the cold-start penalty of a scale-out, measured first as things were (a new instance
// takes client requests at full weight as soon as it is ready), then with warm before traffic, then with
// warm before traffic and ramp-in, then with a warm pool of one (issue 13). For each: `shadowscale run` (another process) with two warm
// instances under open-loop Poisson load from this process; the pool's minimum is raised to 3 through the
// API; every answer records its latency (from its scheduled send time) and the instance that served it
// (`x-instance-id`). Reported: p99 of the requests the new instance served in its first 20 s of client
// traffic against the p99 of the old instances' requests in the same window, and failed requests.
// Then the four scenarios of `shadowscale demo --scenario` (a scale-out, a good, a slow and a flaky
// rollout), each in its own process, with their JSON results.
// Targets (issue 13): no failed client request; the new instances' p99 within 10 % of the warm ones';
// a rollback within interval + 1 s of the first failed check.
// Writes bench/results/switchover.md. Usage: npm run bench:switchover -- [--rate R] [--out FILE]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fetch } from 'undici';
import { startProbe } from '../dist/src/gateway/loadgen.js';
import { args, freePort, machine, table } from './lib.mjs';

const a = args();
const rate = Number(a.rate ?? 120);
const out = a.out ?? 'bench/results/switchover.md';
const bin = join(dirname(new URL(import.meta.url).pathname), '..', 'bin', 'shadowscale');
const WINDOW_MS = 20_000;
const type = { slots: 4, serviceTimeMs: 20, provisioningSeconds: 1, warmupSeconds: 6, warmupCapacity: 0.34 };

const modes = [
  { name: 'at once (before issue 13)', switchover: '{ warmBeforeTraffic: false, rampIn: false }' },
  { name: 'warm before traffic', switchover: '{ warmBeforeTraffic: true, rampIn: false }' },
  { name: 'warm, then ramp-in', switchover: '{ warmBeforeTraffic: true, rampIn: true, intervalSeconds: 2, stepWeight: 25 }' },
  // One pre-started instance kept out of the balancer (fed mirrored reads): the scale-out takes it.
  { name: 'warm pool of 1', switchover: '{ warmBeforeTraffic: false, rampIn: false }', scaling: ', warmPool: { size: 1 }' },
];

function quantile(xs, q) {
  const s = [...xs].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : null;
}

async function once(mode) {
  const dir = mkdtempSync(join(tmpdir(), 'shadowscale-bench-switchover-'));
  const cfg = join(dir, 'bench.yaml');
  const port = await freePort();
  writeFileSync(
    cfg,
    `instanceTypes:\n  cold: { slots: ${type.slots}, serviceTimeMs: ${type.serviceTimeMs}, provisioningSeconds: ${type.provisioningSeconds}, warmupSeconds: ${type.warmupSeconds}, warmupCapacity: ${type.warmupCapacity}, env: { SERVICE_TIME_DIST: lognormal, SERVICE_TIME_CV: '0.3' } }\n` +
      `services:\n  - name: web\n    instanceType: cold\n    pool: { min: 2, max: 3 }\n    slo: { latencyP99Ms: 200 }\n    shadow: { fraction: 0.25 }\n    scaling: { strategy: reactive, periodSeconds: 1, proof: off, switchover: ${mode.switchover}${mode.scaling ?? ''}, reactive: { scaleDown: { stabilizationWindowSeconds: 600 } } }\n` +
      `gateway: { listen: 127.0.0.1:0 }\nstore: { path: ${join(dir, 'store.db')} }\ncontrol: { tickSeconds: 0.5 }\nprovider: { graceSeconds: 2 }\n`,
  );
  const run = spawn(process.execPath, [bin, 'run', '--config', cfg, '--api', `127.0.0.1:${port}`, '--stop-instances', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  run.stderr.on('data', (d) => (err += d.toString()));
  const first = await new Promise((resolve, reject) => {
    let buf = '';
    run.stdout.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(JSON.parse(buf.split('\n')[0]));
    });
    run.once('exit', (code) => reject(new Error(`run exited ${code}: ${err}`)));
  });
  const api = first.api;
  try {
    // Two warm instances serving.
    const end = Date.now() + 60_000;
    for (;;) {
      const s = await (await fetch(`${api}/api/v1/services/web`)).json();
      if (s.live.ready === 2 && s.live.warming === 0 && (s.warmPool === null || s.warmPool.ready === s.warmPool.size)) break;
      if (Date.now() > end) throw new Error(`the pool did not start: ${JSON.stringify(s)}`);
      await sleep(500);
    }
    await sleep(type.warmupSeconds * 1000);
    const probe = startProbe({ url: first.listen, rate, seed: 7 });
    let scaledAt = null;
    await sleep(8000);
    // The scale-out: the pool's minimum raised to 3 (recorded as an operator's decision).
    scaledAt = Date.now();
    await fetch(`${api}/api/v1/services/web/bounds`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ min: 3, seconds: 600 }) });
    await sleep(type.provisioningSeconds * 1000 + type.warmupSeconds * 1000 + WINDOW_MS + 12_000);
    await probe.stop();
    const results = probe.answers.map((x) => ({ ...x, id: x.instance }));
    const oldIds = new Set(results.filter((r) => r.at < scaledAt && r.id).map((r) => r.id));
    const fresh = results.filter((r) => r.id && !oldIds.has(r.id));
    const firstServed = fresh.length ? Math.min(...fresh.map((r) => r.at)) : null;
    const inWindow = (r) => firstServed !== null && r.at >= firstServed && r.at < firstServed + WINDOW_MS;
    const newLat = fresh.filter(inWindow).map((r) => r.ms);
    const oldLat = results.filter((r) => r.id && oldIds.has(r.id) && inWindow(r)).map((r) => r.ms);
    const failed = results.filter((r) => r.status !== 200);
    const decisions = await (await fetch(`${api}/api/v1/services/web/decisions?reason=switchover_promoted,switchover_rolled_back&limit=10`)).json();
    const view = await (await fetch(`${api}/api/v1/services/web`)).json();
    return {
      mode: mode.name,
      requests: results.length,
      failed: failed.length,
      failures: [...new Set(failed.map((r) => r.error ?? `HTTP ${r.status}`))].slice(0, 3),
      joinedAfterMs: firstServed === null ? null : firstServed - scaledAt,
      newRequests: newLat.length,
      newP50: quantile(newLat, 0.5),
      newP99: quantile(newLat, 0.99),
      oldP99: quantile(oldLat, 0.99),
      outcomes: decisions.decisions.map((d) => d.reason),
      warmPool: view.warmPool,
    };
  } finally {
    run.kill('SIGTERM');
    await new Promise((r) => run.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
const runs = [];
for (const mode of modes) {
  const r = await once(mode);
  runs.push(r);
  console.error(JSON.stringify(r));
  const ratio = r.newP99 !== null && r.oldP99 ? r.newP99 / r.oldP99 : null;
  rows.push([r.mode, String(r.requests), String(r.failed), r.joinedAfterMs === null ? '-' : (r.joinedAfterMs / 1000).toFixed(1), String(r.newRequests), r.newP50 === null ? '-' : r.newP50.toFixed(1), r.newP99 === null ? '-' : r.newP99.toFixed(1), r.oldP99 === null ? '-' : r.oldP99.toFixed(1), ratio === null ? '-' : ratio.toFixed(2), r.outcomes.join(', ') || '-', r.warmPool ? `${r.warmPool.claims} claimed, ${r.warmPool.instanceSeconds.toFixed(0)} instance-s ($${r.warmPool.costPerHour.toFixed(3)}/h)` : '-']);
}
// The scenarios of issue 13 (shadowscale demo --scenario NAME --json), one process each, in turn.
const scenarios = [];
for (const name of ['scale-out', 'rollout-good', 'rollout-slow', 'rollout-flaky']) {
  const r = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'demo', '--scenario', name, '--rate', String(rate), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let outText = '';
    let errText = '';
    child.stdout.on('data', (d) => (outText += d.toString()));
    child.stderr.on('data', (d) => (errText += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(outText)) : reject(new Error(`demo --scenario ${name} exited ${code}: ${errText.slice(-2000)}`))));
  });
  console.error(JSON.stringify(r));
  scenarios.push(r);
}
const ms = (x) => (x === null ? '-' : x.toFixed(1));
const scenarioRows = scenarios.map((r) => [r.scenario, r.outcome, String(r.clientRequests), String(r.clientErrors), ms(r.newInstanceP99Ms), ms(r.warmInstanceP99Ms), r.rollbackSeconds === null ? '-' : r.rollbackSeconds.toFixed(2)]);
const expected = { 'scale-out': 'completed', 'rollout-good': 'completed', 'rollout-slow': 'stopped_in_shadow', 'rollout-flaky': 'rolled_back' };
const flaky = scenarios.find((r) => r.scenario === 'rollout-flaky');
const ratio = (r) => (r.newP99 !== null && r.oldP99 ? r.newP99 / r.oldP99 : Number.POSITIVE_INFINITY);
const md = `# bench:switchover — the cold-start penalty of a scale-out

Command: \`npm run bench:switchover -- --rate ${rate}\` (bench/switchover.mjs)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}

\`shadowscale run\` (another process) with two warm sample-service instances (${type.slots} slots, lognormal service times of mean
${type.serviceTimeMs} ms, ${type.provisioningSeconds} s to start, then ${type.warmupSeconds} s of cold start beginning ${(1 / type.warmupCapacity).toFixed(1)}x slower), open-loop Poisson load of
${rate} req/s from this process; 8 s in, the pool's minimum is raised to 3 through the API. Latency counts from each request's
scheduled send time; \`x-instance-id\` says which instance served it. "new p99" is over the requests the new instance served
in its first ${WINDOW_MS / 1000} s of client traffic, "old p99" over the old instances' requests in the same window. With the warm
pool, the pooled instance (started with the others and fed mirrored reads, past its cold start) is the one the scale-out takes;
"warm pool" is what the pool did and cost over the run (instance-seconds of pooled instances, the refill included). The sample
service's cold start is by time, so here the pool's instance is warm by waiting; a service that warms by serving needs the reads.

${table(['mode', 'requests', 'failed', 'new joined after s', 'new requests', 'new p50 ms', 'new p99 ms', 'old p99 ms', 'new / old p99', 'switchover decisions', 'warm pool'], rows)}

## Scenarios

\`shadowscale demo --scenario NAME --rate ${rate} --json\` for each (examples/demo/scenarios.yaml: 4-slot instances of mean 20 ms, 1 s to
start, then 3 s of cold start 2x slower; warm before traffic and ramp-in on; steps of 20 % every 5 s, rollback after 2 failed
checks). scale-out raises the pool's minimum from 2 to 4; rollout-good rolls out v2; rollout-slow v2-slow (3x slower);
rollout-flaky v2-flaky (4x slower after 20 s of uptime: it passes the shadow and its capacity trial, then slows down during
the shift). "new p99" is over the client requests the new instances (the new version) served, "warm p99" over the old ones'
in the same window.

${table(['scenario', 'outcome', 'client requests', 'client errors', 'new p99 ms', 'warm p99 ms', 'rollback s'], scenarioRows)}

## Targets

| target | measured | met |
| --- | --- | --- |
| no failed client request across every switchover, rollback and rollout | ${runs.map((r) => `${r.failed} (${r.mode})`).join(', ')}; ${scenarios.map((r) => `${r.clientErrors} (${r.scenario})`).join(', ')} | ${runs.every((r) => r.failed === 0) && scenarios.every((r) => r.clientErrors === 0) ? 'yes' : 'no'} |
| each scenario's expected outcome | ${scenarios.map((r) => `${r.scenario}: ${r.outcome}`).join(', ')} | ${scenarios.every((r) => r.outcome === expected[r.scenario]) ? 'yes' : 'no'} |
| rollback: first failed check to weights restored <= interval + 1 s (5 + 1 s) | ${flaky?.rollbackSeconds ?? '-'} s | ${flaky?.rollbackSeconds !== null && flaky?.rollbackSeconds !== undefined && flaky.rollbackSeconds <= 6 ? 'yes' : 'no'} |
| new instances' p99 within 10 % of warm instances' | before: ${ratio(runs[0]).toFixed(2)}x; ${runs.slice(1).map((r) => `${r.mode}: ${ratio(r).toFixed(2)}x`).join('; ')} | ${runs.slice(1).some((r) => ratio(r) <= 1.1) ? 'yes' : 'no'} |

Warm before traffic, ramp-in and the warm pool are off by default (\`scaling.switchover\`, \`scaling.warmPool\`): on the 48 shared
series, warm before traffic costs hybrid 1.301x the oracle instead of 1.273x and 0.04 points of median attainment
(bench/results/backtest-warm-before-traffic.md; docs/design/switchover.md).
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.error(`wrote ${out}`);
