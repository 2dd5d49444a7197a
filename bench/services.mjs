// bench:services — many services in one run (issue 16). Writes bench/results/services.md.
// 1. One process supervises N services (default 50): local provider, sample-service instances (a live one
//    and a shadow each), one gateway routing each by its Host, light Poisson traffic to every service.
//    Measured: each loop's tick duration (p50, p99, max per service), requests routed per service, errors.
// 2. The two-service demo (web calls store, store starts in 10 s), hybrid, with dependency propagation on
//    and off: when store began to scale for the ramp, against the ramp's start and its own lead time.
// 3. The shared shadow pool (the demo's default, shadowPool.mode: shared) against dedicated shadows on the
//    same demo: shadow instance-seconds, and each service's delta analyses.
// Usage: npm run bench:services -- [--services N] [--seconds S] [--rps R] [--duration D] [--seed N] [--out FILE]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { loadConfig } from '../dist/src/config/load.js';
import { runDemo } from '../dist/src/control/demo.js';
import { Runtime } from '../dist/src/control/runtime.js';
import { percentile } from '../dist/src/gateway/loadgen.js';
import { args, interruptibleDemo, machine, onInterrupt } from './lib.mjs';

const a = args();
const n = Number(a.services ?? 50);
const seconds = Number(a.seconds ?? 60);
const rpsEach = Number(a.rps ?? 2);
const duration = Number(a.duration ?? 120);
const seed = Number(a.seed ?? 1);
const out = a.out ?? 'bench/results/services.md';
const verdicts = (v) => Object.entries(v ?? {}).map(([k, c]) => `${k} ${c}`).join(', ') || '-';
const decisive = (v) => Object.entries(v ?? {}).filter(([k]) => k !== 'insufficient_data').reduce((a, [, c]) => a + c, 0);
const f1 = (x) => (x === null || x === undefined || Number.isNaN(x) ? '-' : Number(x).toFixed(1));

// 1. N services in one process.
const dir = mkdtempSync(join(tmpdir(), 'shadowscale-bench-services-'));
const file = join(dir, 'services.yaml');
const svc = (i) =>
  `  - name: s${i}\n    instanceType: light\n    routes: [{ host: s${i}.bench }]\n    pool: { min: 1, max: 2 }\n    shadow: { fraction: 0.25, sampling: { rate: 0.2 } }\n    scaling: { strategy: reactive, periodSeconds: 1, proof: off }\n`;
writeFileSync(
  file,
  `instanceTypes:\n  light: { slots: 4, serviceTimeMs: 5, queueLimit: 100, provisioningSeconds: 0.1, warmupSeconds: 0, warmupCapacity: 1 }\n` +
    `services:\n${Array.from({ length: n }, (_, i) => svc(i)).join('')}` +
    `gateway: { listen: 127.0.0.1:0 }\nstore: { path: ${join(dir, 'store.db')} }\ncontrol: { tickSeconds: 1, forecastBucketSeconds: 1 }\nprovider: { graceSeconds: 2, readyTimeoutSeconds: 120 }\n`,
);
const ticks = new Map();
const startedAt = Date.now();
const rt = await Runtime.start({ cfg: loadConfig({ file }), env: {}, onTick: (r) => (ticks.get(r.service) ?? ticks.set(r.service, []).get(r.service)).push(r.tickMs) });
let readyAfter;
let part1;
const forget = onInterrupt(async () => {
  await rt.stop({ deleteInstances: true });
  rmSync(dir, { recursive: true, force: true });
});
try {
  for (;;) {
    const all = await rt.provider.list();
    const ready = all.filter((i) => i.state === 'ready');
    if (ready.filter((i) => i.pool === 'live').length >= n && ready.filter((i) => i.pool === 'shadow').length >= n) break;
    if (Date.now() - startedAt > 300_000) throw new Error(`only ${ready.length} of ${2 * n} instances ready after 300 s`);
    await sleep(500);
  }
  // Ready, then routed: each loop adds its ready instance to its gateway at its next tick.
  while (!rt.services.every((x) => (x.localGateway?.members.length ?? 0) >= 1)) {
    if (Date.now() - startedAt > 300_000) throw new Error('not every service routed after 300 s');
    await sleep(100);
  }
  readyAfter = (Date.now() - startedAt) / 1000;
  console.error(`${n} services: ${2 * n} instances ready after ${readyAfter.toFixed(1)} s; ${seconds} s of traffic at ${rpsEach} req/s each`);
  ticks.clear();
  // Light open-loop traffic: Poisson arrivals at rpsEach per service, each to its Host.
  const sent = new Map();
  const okBy = new Map();
  let errors = 0;
  const reasons = new Map();
  let x = seed * 2654435761 % 4294967296;
  const rand = () => ((x = (x * 1664525 + 1013904223) % 4294967296) + 0.5) / 4294967296;
  const end = Date.now() + seconds * 1000;
  const inflight = new Set();
  let next = Date.now();
  while (Date.now() < end) {
    next += (-Math.log(rand()) / (rpsEach * n)) * 1000;
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
    const i = Math.floor(rand() * n);
    sent.set(i, (sent.get(i) ?? 0) + 1);
    const p = request(`${rt.listen}/work`, { headers: { host: `s${i}.bench` } })
      .then(async (r) => {
        await r.body.dump();
        const from = r.headers['x-instance-id'];
        if (r.statusCode === 200 && typeof from === 'string' && from.startsWith(`s${i}-live-`)) okBy.set(i, (okBy.get(i) ?? 0) + 1);
        else {
          errors++;
          const why = `${r.statusCode} ${r.headers['x-shadowscale-reason'] ?? (r.statusCode === 200 ? `served by ${from}` : '')}`;
          reasons.set(why, (reasons.get(why) ?? 0) + 1);
        }
      })
      .catch((err) => {
        errors++;
        reasons.set(err.code ?? err.message, (reasons.get(err.code ?? err.message) ?? 0) + 1);
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  part1 = {
    readyAfter,
    sent: [...sent.values()].reduce((s, v) => s + v, 0),
    ok: [...okBy.values()].reduce((s, v) => s + v, 0),
    errors,
    reasons: [...reasons.entries()].map(([k, v]) => `${v} × ${k}`).join(', ') || 'none',
    servedAll: Array.from({ length: n }, (_, i) => i).every((i) => (okBy.get(i) ?? 0) > 0),
    perService: [...ticks.entries()].map(([name, ms]) => ({ name, ticks: ms.length, p50: percentile(ms, 0.5), p99: percentile(ms, 0.99), max: Math.max(...ms) })),
  };
} finally {
  forget();
  await rt.stop({ deleteInstances: true });
  rmSync(dir, { recursive: true, force: true });
}
const worst = [...part1.perService].sort((p, q) => q.p99 - p.p99);
console.error(`ticks: worst p99 ${f1(worst[0]?.p99)} ms (${worst[0]?.name}); ${part1.ok} of ${part1.sent} requests answered by their own service, ${part1.errors} errors`);

// 2. Propagation on and off, on the demo (hybrid).
const demo = {};
for (const [label, sets] of [['on', []], ['off', ['control.propagateDependencies=false']], ['dedicated', ['shadowPool.mode=dedicated']]]) {
  const t = Date.now();
  const r = await interruptibleDemo(runDemo, { durationSeconds: duration, strategies: ['hybrid'], peakRps: 300, seed, historyDays: 7, sets, onLog: (l) => console.error(`[propagation ${label}] ${l}`) });
  demo[label] = r;
  console.error(`propagation ${label}: ${JSON.stringify(r.services)} (${((Date.now() - t) / 1000).toFixed(0)} s)`);
}

const p99s = part1.perService.map((p) => p.p99);
const storeOn = demo.on.services.store;
const storeOff = demo.off.services.store;
const need = storeOn.requiredLeadSeconds;
const md = `# bench:services — many services in one run

Command: \`npm run bench:services -- --services ${n} --seconds ${seconds} --rps ${rpsEach} --duration ${duration} --seed ${seed}\` (bench/services.mjs)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}

## ${n} services in one process

One \`Runtime\` (what \`shadowscale run\` starts) supervising ${n} services of the sample service (4 slots, 5 ms), each with a
live instance and a shadow instance under the local provider (${2 * n} processes), routed by Host (\`sN.bench\`) on one
gateway listener; every loop ticks each second on its own timer. ${seconds} s of open-loop Poisson traffic at ${rpsEach} req/s per
service (${rpsEach * n} req/s in all) from this process, once every service's instance was ready and in its gateway
(${f1(part1.readyAfter)} s after the start).

| figure | value |
| --- | --- |
| requests sent | ${part1.sent} |
| answered 200 by an instance of the service their Host names | ${part1.ok} |
| errors or answers from another service | ${part1.errors} (${part1.reasons}) |
| services that served traffic | ${part1.servedAll ? `all ${n}` : 'not all'} |
| tick p50 over services (median of their p50s) | ${f1(percentile(part1.perService.map((p) => p.p50), 0.5))} ms |
| tick p99, worst service | ${f1(worst[0]?.p99)} ms (${worst[0]?.name}) |
| tick p99, median service | ${f1(percentile(p99s, 0.5))} ms |
| tick max, any service | ${f1(Math.max(...part1.perService.map((p) => p.max)))} ms |

## Dependencies: the store scaled ahead of its own load

\`shadowscale demo --strategy hybrid\` (examples/demo/demo.yaml, seed ${seed}, a day of ${duration} s): web takes the clients' requests and
calls store once per request; store (a key-value service) takes ${need} s to start and warm up and scales reactively on its own
load; with propagation on, web's forecast also scales it (reason \`dependency_ahead\`). "lead" is how long before the ramp
started (the store's load rises with web's, at the same moment) the store began to scale towards what the ramp's top needs of it.

| propagation | store lead s (needs ${need}) | store dependency_ahead decisions | store SLO violation s | store p99 ms | store instance-s | web SLO violation s | web p99 ms |
| --- | --- | --- | --- | --- | --- | --- | --- |
${['on', 'off'].map((l) => { const s = demo[l].services.store; const w = demo[l].services.web; return `| ${l} | ${f1(s.scaleUpLeadSeconds)} | ${s.dependencyAhead} | ${s.sloViolationSeconds} | ${f1(s.p99Ms)} | ${s.instanceSeconds} | ${w.sloViolationSeconds} | ${f1(w.p99Ms)} |`; }).join('\n')}

## Shadow pool

The same demo (hybrid, propagation on) with the demo's one shadow pool for both services (\`shadowPool: { mode: shared, size: 8,
instanceType: small }\`: each service keeps one shadow instance for delta analysis; trials and the store shadows web's trials
call take the rest while they fit) and with dedicated shadows (\`--set shadowPool.mode=dedicated\`: each service's shadow is
\`shadow.fraction\` 0.25 of its live pool, plus what trials borrow). "Estimate" is what dedicated shadows would have had at the
same ticks (TickReport.shadow.dedicated). Delta analyses: live against its shadow, per window of 10 ticks, by verdict.

| shadows | shadow instance-s | dedicated estimate | web SLO violation s | store SLO violation s | web delta verdicts | store delta verdicts |
| --- | --- | --- | --- | --- | --- | --- |
${[['shared', demo.on], ['dedicated', demo.dedicated]].map(([l, r]) => `| ${l} | ${r.shadow.instanceSeconds} | ${r.shadow.dedicatedEstimateInstanceSeconds} | ${r.services.web.sloViolationSeconds} | ${r.services.store.sloViolationSeconds} | ${verdicts(r.services.web.deltaVerdicts)} | ${verdicts(r.services.store.deltaVerdicts)} |`).join('\n')}

Saving: the shared pool used ${demo.on.shadow.instanceSeconds} shadow instance-s against ${demo.dedicated.shadow.instanceSeconds} for dedicated shadows
(${f1((100 * (1 - demo.on.shadow.instanceSeconds / demo.dedicated.shadow.instanceSeconds)))} % less). A shadow instance runs one service's
program, so each service keeps at least one: two services never share fewer than two shadow instances; the saving is that
the shadows no longer grow with each live pool, and that the trials of both services draw on one reserve.

## Targets

| target | measured | met |
| --- | --- | --- |
| one process supervises ${n} services with every loop's tick p99 <= 50 ms | worst p99 ${f1(worst[0]?.p99)} ms | ${part1.perService.length === n && worst[0]?.p99 <= 50 ? 'yes' : 'no'} |
| the gateway routes all of them | ${part1.ok} of ${part1.sent} answered by their own service, ${part1.errors} errors | ${part1.servedAll && part1.errors === 0 ? 'yes' : 'no'} |
| propagation on: the back service scaled before its load rose, lead >= its provisioning + warm-up (${need} s) | ${f1(storeOn.scaleUpLeadSeconds)} s | ${storeOn.scaleUpLeadSeconds !== null && storeOn.scaleUpLeadSeconds >= need ? 'yes' : 'no'} |
| propagation off: it is not | ${f1(storeOff.scaleUpLeadSeconds)} s | ${storeOff.scaleUpLeadSeconds === null || storeOff.scaleUpLeadSeconds < need ? 'yes' : 'no'} |
| a shared shadow pool uses fewer shadow instance-seconds than dedicated shadows, delta analysis running for each service | ${demo.on.shadow.instanceSeconds} vs ${demo.dedicated.shadow.instanceSeconds} instance-s; delta verdicts other than insufficient data: web ${decisive(demo.on.services.web.deltaVerdicts)}, store ${decisive(demo.on.services.store.deltaVerdicts)} | ${demo.on.shadow.instanceSeconds < demo.dedicated.shadow.instanceSeconds && decisive(demo.on.services.web.deltaVerdicts) > 0 && decisive(demo.on.services.store.deltaVerdicts) > 0 ? 'yes' : 'no'} |
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.error(`wrote ${out}`);
