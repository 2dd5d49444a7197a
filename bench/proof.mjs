// bench:proof — the targets of proof before change (issue 11), in four parts:
// 1. `shadowscale prove` against the truth: for sample-service types with exponential service times, the
//    M/M/c model is the exact capacity at the SLO, so each type's measured capacity is compared with the
//    true one (target ±15 %), and each candidate's verdict with what the truth says of its rate.
// 2. Under-sized candidates: counts one below what the truth needs, each proven by a trial as the gate
//    runs it (steps 0.6 and 1 x the candidate's rate); target: ≥ 95 % fail.
// 3. Isolation: a live pool under steady load through the gateway, with and without a trial running on
//    the same machine, alternating; target: live p99 with trials within 10 % of without.
// 0. The replay ring (the recent mirrored requests trials replay): memory after the worst traffic for
//    it (16 KiB request targets, 64 KiB bodies, each its own buffer); target ≤ 64 MB.
// 4. The demo with proof required, for several seeds: passing proofs' realized p99 within the SLO
//    (target ≥ 95 %), trials' instance-seconds against live's (≤ 10 %), hybrid's lead and violations
//    against reactive's, and how long `npm start`'s demo takes (< 5 min).
// 5. A/B of strategies in the shadow: `demo --ab reactive,hybrid` per seed, live on hybrid; each arm's
//    violation seconds, p99, instance-seconds and actions side by side, against what the same strategies
//    did in production in part 4 (does the shadow rank them as production does?), and live's p99 with
//    the arms beside it against part 4's hybrid day without them (live untouched).
// Usage: npm run bench:proof -- [--rate RPS] [--samples N] [--max-step-seconds S] [--seeds 1,2,3]
//        [--parts replay,capacity,undersized,isolation,demo,ab] [--out FILE]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { dirname, join } from 'node:path';
import { maxRateAtSlo } from '../dist/src/core/capacity.js';
import { runDemo } from '../dist/src/control/demo.js';
import { createGateway } from '../dist/src/gateway/gateway.js';
import { percentile, startLoad, totals } from '../dist/src/gateway/loadgen.js';
import { Mirror, REPLAY_LIMITS } from '../dist/src/gateway/mirror.js';
import { Store } from '../dist/src/metrics/store.js';
import { DEFAULT_VERDICT } from '../dist/src/core/verdict.js';
import { DEFAULT_WANTED_STEPS } from '../dist/src/proof/gate.js';
import { runTrial } from '../dist/src/proof/trial.js';
import { LocalProvider } from '../dist/src/providers/local.js';
import { args, interruptibleDemo, machine, onInterrupt, table } from './lib.mjs';

const a = args();
const rate = Number(a.rate ?? 200);
const samples = Number(a.samples ?? 1000);
const maxStep = Number(a['max-step-seconds'] ?? 20);
const out = a.out ?? 'bench/results/proof.md';
const seeds = String(a.seeds ?? '1,2,3').split(',').map(Number);
const parts = new Set(String(a.parts ?? 'replay,capacity,undersized,isolation,demo,ab').split(','));
/** Part 4's days per seed (part 5 compares with them). */
const demoRuns = new Map();
const benchStarted = Date.now();
const SLO_MS = 200;
const TYPES = {
  one: { slots: 1, serviceTimeMs: 20, price: 0.05 },
  two: { slots: 2, serviceTimeMs: 10, price: 0.12 },
  four: { slots: 4, serviceTimeMs: 25, price: 0.15 },
};

function capacityPart() {
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
    '## 1. Measured capacity at the SLO against the truth',
    '',
    `${seconds.toFixed(0)} s.`,
    '',
    `Sample-service types with exponential service times, SLO p99 ≤ ${SLO_MS} ms: the M/M/c model is then the exact capacity. \`prove\` runs one trial per type (steps at each candidate's per-instance rate and 0.8, 1, 1.2, 1.4 × the modelled capacity, at least ${samples} answers or ${maxStep} s each) and interpolates where the measured p99 crosses the SLO.`,
    '',
    table(['type', 'count', 'req/s per instance', 'true capacity', 'measured', 'error', 'p99 ms at its rate', 'the truth says', 'verdict'], rows),
    '',
    `Target: measured capacity within ±15 % of the truth for each type: ${within} of ${measuredTypes} measured types. Chosen: ${result.chosen ? `${result.chosen.count} × ${result.chosen.instanceType} at ${result.chosen.costPerHour.toFixed(3)} per hour` : 'none'}.`,
    '',
  ].join('\n');
  return { md, target: { line: `prove's measured capacity within ±15 % of the truth, each type | ${within} of ${measuredTypes} measured types (of ${Object.keys(TYPES).length})`, met: measuredTypes === Object.keys(TYPES).length && within === measuredTypes } };
}

/** The throwaway providers in use: released on a signal too (their instances outlive this process). */
const active = new Set();
onInterrupt(() => Promise.allSettled([...active].map(release)));

/** Delete a throwaway provider's instances, close it and its store, remove its directory. */
async function release(p) {
  active.delete(p);
  for (const i of await p.provider.list()) await p.provider.delete(i.id).catch(() => undefined);
  await p.provider.close();
  p.store.close();
  rmSync(p.dir, { recursive: true, force: true });
}

/** A local provider of sample-service instances of the bench types, on a throwaway store. */
async function localProvider(dir) {
  const store = Store.open({ path: join(dir, 'store.db') });
  const instanceTypes = {};
  for (const [n, t] of Object.entries(TYPES)) instanceTypes[n] = { SLOTS: String(t.slots), SERVICE_TIME_MS: String(t.serviceTimeMs), SERVICE_TIME_DIST: 'exponential', QUEUE_LIMIT: '1000' };
  const provider = await LocalProvider.start({ command: [process.execPath, 'dist/examples/sample-service/server.js'], instanceTypes, registry: store, owner: `shadowscale:store:${store.id}`, logDir: join(dir, 'logs'), healthIntervalMs: 50, readyTimeoutMs: 10_000, graceMs: 1000 });
  const p = { store, provider, dir };
  active.add(p);
  return p;
}

async function undersized() {
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'shadowscale-bench-undersized-'));
  const local = await localProvider(dir);
  const { store, provider } = local;
  const settings = { ...DEFAULT_VERDICT, sloLatencyMs: SLO_MS, sloErrorRate: 0.01 };
  const rows = [];
  let failed = 0;
  let passed = 0;
  let n = 0;
  try {
    for (const [name, t] of Object.entries(TYPES)) {
      const truth = maxRateAtSlo(t.slots, t.serviceTimeMs / 1000, SLO_MS / 1000);
      for (const total of [100, 200, 300]) {
        const need = Math.ceil(total / truth - 1e-9);
        if (need < 2) continue;
        const count = need - 1;
        const perInstance = total / count;
        const r = await runTrial(
          { id: `under-${name}-${total}`, service: 'web', instanceType: name, perInstanceRps: perInstance, stepFractions: [...DEFAULT_WANTED_STEPS], minSamplesPerStep: samples, minStepSeconds: 2, maxStepSeconds: maxStep, warmupSeconds: 0.2, path: '/work', seed: total },
          { provider, log: store, readyTimeoutMs: 10_000 },
          settings,
        );
        n++;
        if (r.verdict === 'fail') failed++;
        if (r.verdict === 'pass') passed++;
        const at = r.steps.find((x) => Math.abs(x.numbers.targetRps - perInstance) < 1e-6 * perInstance) ?? r.steps.at(-1);
        rows.push([name, String(total), `${count} (truth: ${need})`, perInstance.toFixed(1), truth.toFixed(1), `${((perInstance / truth - 1) * 100).toFixed(0)} %`, at ? at.numbers.p99Ms.toFixed(0) : '-', r.verdict + (r.reason ? ` (${r.reason})` : '')]);
        console.error(`undersized ${name} ${total} req/s: ${count} instances -> ${r.verdict}`);
      }
    }
  } finally {
    if (active.has(local)) await release(local);
  }
  const clear = rows.filter((r) => Number.parseFloat(r[5]) >= 5);
  const clearFailed = clear.filter((r) => r[7].startsWith('fail')).length;
  return {
    met: failed / n >= 0.95,
    line: `under-sized candidates fail their trial ≥ 95 % | ${failed} of ${n} failed (${((100 * failed) / n).toFixed(0)} %), ${passed} passed; of those ≥ 5 % over the nominal capacity: ${clearFailed} of ${clear.length}`,
    md: [
      '## 2. Deliberately under-sized candidates',
      '',
      `One instance fewer than the truth needs for 100, 200 and 300 req/s, each tried as the gate tries a wanted candidate: steps at ${DEFAULT_WANTED_STEPS.join(', ')} × its rate, at least ${samples} answers or ${maxStep} s each (${((Date.now() - t0) / 1000).toFixed(0)} s).`,
      '',
      table(['type', 'req/s', 'count', 'req/s per instance', 'true capacity', 'over capacity', 'p99 ms at its rate', 'verdict'], rows),
      '',
    ].join('\n'),
  };
}

async function isolation() {
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'shadowscale-bench-isolation-'));
  const local = await localProvider(dir);
  const { store, provider } = local;
  const gateway = createGateway({ live: [] });
  const settings = { ...DEFAULT_VERDICT, sloLatencyMs: SLO_MS, sloErrorRate: 0.01 };
  const rounds = [];
  try {
    // Two live instances of "four" at 60 % of their capacity, through the gateway.
    const live = await Promise.all([0, 1].map((k) => provider.create({ id: `live-${k}`, service: 'web', pool: 'live', instanceType: 'four' })));
    for (let i = 0; i < 200 && (await provider.list()).some((x) => x.state !== 'ready'); i++) await sleep(50);
    for (const i of await provider.list()) await gateway.addLive(i.url, 1, i.id);
    const port = (await gateway.listen(0, '127.0.0.1')).port;
    const truth = maxRateAtSlo(TYPES.four.slots, TYPES.four.serviceTimeMs / 1000, SLO_MS / 1000);
    const liveRate = 0.6 * truth * live.length;
    const seconds = 30;
    for (let round = 0; round < 3; round++) {
      for (const withTrial of [false, true]) {
        const load = startLoad({ url: `http://127.0.0.1:${port}`, rate: () => liveRate, durationSeconds: seconds, seed: 100 + round, timeoutMs: 10_000 });
        let trial;
        if (withTrial) {
          // A calibration as the gate runs it, beside live, for the whole window.
          const cap = maxRateAtSlo(TYPES.two.slots, TYPES.two.serviceTimeMs / 1000, SLO_MS / 1000);
          trial = runTrial({ id: `iso-${round}`, service: 'web', instanceType: 'two', perInstanceRps: 0.7 * cap, stepFractions: [1, 1 / 0.7, 1.3 / 0.7], minSamplesPerStep: 100_000, minStepSeconds: 2, maxStepSeconds: seconds / 3, warmupSeconds: 0, path: '/work', seed: round }, { provider, log: store, readyTimeoutMs: 10_000 }, settings);
        }
        const t = totals(await load.done);
        if (trial) await trial;
        rounds.push({ round, withTrial, p99: percentile(t.latencies, 0.99), requests: t.requests, errors: t.errors });
        console.error(`isolation round ${round} ${withTrial ? 'with' : 'without'} a trial: p99 ${percentile(t.latencies, 0.99).toFixed(1)} ms`);
      }
    }
  } finally {
    await gateway.close();
    if (active.has(local)) await release(local);
  }
  const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const without = med(rounds.filter((r) => !r.withTrial).map((r) => r.p99));
  const withT = med(rounds.filter((r) => r.withTrial).map((r) => r.p99));
  const ratio = withT / without;
  return {
    met: ratio <= 1.1,
    line: `live p99 with trials within 10 % of without | ${withT.toFixed(1)} vs ${without.toFixed(1)} ms (median of 3 rounds): ${ratio.toFixed(3)}x`,
    md: [
      '## 3. Trials beside live traffic',
      '',
      `Two live instances of "four" behind the gateway at 60 % of their capacity at the SLO (open-loop Poisson, 30 s a window), alternately without and with a trial (a calibration of "two": steps at 0.7, 1 and 1.3 × its capacity, 10 s each) on the same machine (${((Date.now() - t0) / 1000).toFixed(0)} s).`,
      '',
      table(['round', 'trial', 'live requests', 'errors', 'live p99 ms'], rounds.map((r) => [String(r.round), r.withTrial ? 'yes' : 'no', String(r.requests), String(r.errors), r.p99.toFixed(1)])),
      '',
    ].join('\n'),
  };
}

async function demo() {
  const runs = [];
  for (const seed of seeds) {
    const t = Date.now();
    const r = await interruptibleDemo(runDemo, { durationSeconds: 120, strategies: ['reactive', 'hybrid'], peakRps: 300, seed, historyDays: 7, onLog: (l) => console.error(l) });
    runs.push({ seed, seconds: (Date.now() - t) / 1000, ...r });
    demoRuns.set(seed, r);
    console.error(`demo seed ${seed}: ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
  const rows = [];
  const proofRows = [];
  let passing = 0;
  let within = 0;
  const shares = [];
  const hybridOk = [];
  for (const r of runs) {
    for (const name of ['reactive', 'hybrid']) {
      const s = r.strategies[name];
      const d = r.details[name];
      const slo = d.sloLatencyMs;
      for (const p of d.proofs) {
        if (p.verdict === 'pass' && p.realizedP99Ms !== null) {
          passing++;
          if (p.realizedP99Ms <= slo) within++;
        }
        proofRows.push([String(r.seed), name, p.at.toFixed(1), p.reason, p.candidate, String(p.targetRps), p.verdict, p.predictedP99Ms === null ? '-' : p.predictedP99Ms.toFixed(1), p.realizedP99Ms === null ? '-' : p.realizedP99Ms.toFixed(1), p.realizedAllP99Ms === null ? '-' : p.realizedAllP99Ms.toFixed(1)]);
      }
      shares.push(d.trials.shareOfLiveInstanceSeconds);
      rows.push([String(r.seed), name, String(s.sloViolationSeconds), s.p99Ms.toFixed(1), String(s.instanceSeconds), String(s.maxInstances), s.scaleUpLeadSeconds === null ? '-' : s.scaleUpLeadSeconds.toFixed(1), String(d.proofs.length), String(d.held), String(d.typeChanges), `${d.trials.count} / ${d.trials.instanceSeconds}`, `${(100 * d.trials.shareOfLiveInstanceSeconds).toFixed(1)} %`]);
    }
    const h = r.strategies.hybrid;
    const re = r.strategies.reactive;
    hybridOk.push((h.scaleUpLeadSeconds ?? -1) >= r.details.hybrid.requiredLeadSeconds && h.sloViolationSeconds <= re.sloViolationSeconds);
  }
  const durations = runs.map((r) => r.seconds);
  // The demo's trials are made once (the second strategy's store starts with the first's): what the
  // second strategy's store holds is all of them, against both strategies' live instance-seconds.
  const demoShares = runs.map((r) => r.details.hybrid.trials.instanceSeconds / (r.strategies.reactive.instanceSeconds + r.strategies.hybrid.instanceSeconds));
  return {
    lines: [
      { met: passing > 0 && within / passing >= 0.95, line: `passing proofs' realized p99 within the SLO ≥ 95 % | ${within} of ${passing} (${passing ? ((100 * within) / passing).toFixed(0) : '-'} %)` },
      { met: Math.max(...demoShares) <= 0.1, line: `trials ≤ 10 % of live instance-seconds in the demo (both strategies) | ${demoShares.map((x) => `${(100 * x).toFixed(1)} %`).join(', ')}; charged in full to each strategy alone: ${shares.map((x) => `${(100 * x).toFixed(1)} %`).join(', ')}` },
      { met: hybridOk.every(Boolean), line: `hybrid with proof required: lead ≥ provisioning + warm-up and violations ≤ reactive's | ${runs.map((r) => `seed ${r.seed}: lead ${r.strategies.hybrid.scaleUpLeadSeconds ?? '-'} s, ${r.strategies.hybrid.sloViolationSeconds} vs ${r.strategies.reactive.sloViolationSeconds} s`).join('; ')}` },
      { met: Math.max(...durations) < 300, line: `the demo (both strategies, as npm start) < 5 min | ${durations.map((x) => `${x.toFixed(0)} s`).join(', ')}` },
    ],
    md: [
      '## 4. The demo with proof required',
      '',
      'The demo as `npm start` runs it (`examples/demo/demo.yaml`: types `small` and `fast`, `scaling.proof: required`), reactive then hybrid, per seed. Trials: count / instance-seconds (the calibrations before the first day carry over to the second strategy and are counted in both).',
      '',
      table(['seed', 'strategy', 'SLO violation s', 'p99 ms', 'live instance-s', 'max instances', 'lead s', 'changes on proofs', 'held for a proof', 'type changes', 'trials', 'trials / live'], rows),
      '',
      'Every change that acted on a proof. Predicted: the p99 its trial measured at the lowest step at or above the candidate\'s rate; realized: production\'s client-side p99 from when the change took effect until the next one did (at most 60 s), in the seconds whose load stayed within the target the proof was for; "all seconds" without that filter (a ramp beyond the target is the forecast\'s miss, scored by the SLO columns above).',
      '',
      table(['seed', 'strategy', 'at s', 'reason', 'candidate', 'target req/s', 'verdict', 'predicted p99 ms', 'realized p99 ms', 'all seconds p99 ms'], proofRows),
      '',
    ].join('\n'),
  };
}

async function abPart() {
  const rows = [];
  const liveRows = [];
  let agree = 0;
  let compared = 0;
  const started = Date.now();
  for (const seed of seeds) {
    const r = await interruptibleDemo(runDemo, { durationSeconds: 120, strategies: ['hybrid'], ab: ['reactive', 'hybrid'], peakRps: 300, seed, historyDays: 7, onLog: (l) => console.error(l) });
    const prod = demoRuns.get(seed);
    for (const name of ['reactive', 'hybrid']) {
      const x = r.ab[name];
      const p = prod?.strategies[name];
      rows.push([String(seed), name, String(x.sloViolationSeconds), x.p99Ms.toFixed(1), String(x.instanceSeconds), String(x.maxInstances), String(x.actions), String(x.requests), String(x.errors), p ? String(p.sloViolationSeconds) : '-', p ? String(p.instanceSeconds) : '-']);
    }
    if (prod) {
      compared++;
      // The same order on both measures: fewer violation seconds, and fewer instance-seconds.
      const armBetter = r.ab.hybrid.sloViolationSeconds <= r.ab.reactive.sloViolationSeconds;
      const prodBetter = prod.strategies.hybrid.sloViolationSeconds <= prod.strategies.reactive.sloViolationSeconds;
      if (armBetter === prodBetter && r.ab.hybrid.instanceSeconds < r.ab.reactive.instanceSeconds === prod.strategies.hybrid.instanceSeconds < prod.strategies.reactive.instanceSeconds) agree++;
      liveRows.push([String(seed), r.strategies.hybrid.p99Ms.toFixed(1), prod.strategies.hybrid.p99Ms.toFixed(1), String(r.strategies.hybrid.sloViolationSeconds), String(prod.strategies.hybrid.sloViolationSeconds)]);
    }
    console.error(`ab seed ${seed}: ${JSON.stringify(r.ab)}`);
  }
  return {
    line: `A/B arms in the shadow rank the strategies as production does (violation s, instance-s) | ${compared ? `${agree} of ${compared} seeds` : 'not compared (run with part demo)'}`,
    met: compared > 0 && agree === compared,
    md: [
      '## 5. A/B of strategies in the shadow',
      '',
      `\`demo --ab reactive,hybrid\` per seed (${((Date.now() - started) / 1000).toFixed(0)} s): live on hybrid; two shadow arms, each receiving the same 50 % of live's requests (the mirror's A/B sample, drawn apart from the shadow's), each sized by its own strategy for that share (bounds scaled to it). Arm figures from each arm's own balancer, per tick; production's from part 4 (the same seeds, each strategy live on its own day).`,
      '',
      table(['seed', 'arm', 'SLO violation s', 'p99 ms', 'instance-s', 'max instances', 'actions', 'requests', 'errors', 'production violation s', 'production live instance-s'], rows),
      '',
      'Live with the arms beside it (this part) and without them (part 4, hybrid), client-side over the whole day:',
      '',
      table(['seed', 'live p99 ms with arms', 'without', 'violation s with arms', 'without'], liveRows),
      '',
    ].join('\n'),
  };
}

async function replay() {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  // Heap plus what lives outside it (long strings, buffers: `external` includes the array buffers), after
  // a GC and a turn of the event loop (freed backing stores go asynchronously).
  const used = async () => {
    gc();
    await sleep(20);
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const before = await used();
  const mirror = new Mirror({ targets: [], mode: 'full', queueLimit: 1e9 });
  const n = 20_000;
  let maxUsed = 0;
  for (let i = 0; i < n; i++) {
    // A distinct flat string each (random hex), as parsed request targets are.
    const path = `/${randomBytes(8 * 1024 - 1).toString('hex')}`;
    mirror.submit({ method: 'POST', path, headers: { host: 'x' }, body: Buffer.alloc(REPLAY_LIMITS.maxBodyBytes, i & 0xff), orderKey: path });
    if (i % 2000 === 1999) maxUsed = Math.max(maxUsed, (await used()) - before);
  }
  const kept = mirror.recent();
  const after = (await used()) - before;
  await mirror.close();
  const mb = (x) => (x / 2 ** 20).toFixed(1);
  return {
    met: Math.max(maxUsed, after) <= 64 * 2 ** 20,
    line: `the replay buffer ≤ 64 MB whatever the traffic | ${mb(Math.max(maxUsed, after))} MiB at most over ${n} requests of 16 KiB targets and 64 KiB bodies`,
    md: [
      '## 0. The replay ring',
      '',
      `${n} mirrored requests, each with a 16 KiB request target (node's header limit) and its own 64 KiB body, through a mirror in full mode; memory (heap + external, which holds the long strings and the buffers, after a GC) measured every 2,000: at most ${mb(maxUsed)} MiB above the start, ${mb(after)} MiB at the end, holding ${kept.requests.length} requests with ${mb(kept.bodyBytes)} MiB of bodies (limits: ${REPLAY_LIMITS.requests} requests, ${mb(REPLAY_LIMITS.bodyBytes)} MiB of bodies, bodies over ${REPLAY_LIMITS.maxBodyBytes / 1024} KiB not kept).`,
      '',
    ].join('\n'),
  };
}

const sections = [];
const targets = [];
if (parts.has('replay')) {
  const r = await replay();
  sections.push(r.md);
  targets.push({ line: r.line, met: r.met });
}
if (parts.has('capacity')) {
  const r = capacityPart();
  sections.push(r.md);
  targets.push(r.target);
}
if (parts.has('undersized')) {
  const r = await undersized();
  sections.push(r.md);
  targets.push({ line: r.line, met: r.met });
}
if (parts.has('isolation')) {
  const r = await isolation();
  sections.push(r.md);
  targets.push({ line: r.line, met: r.met });
}
if (parts.has('demo')) {
  const r = await demo();
  sections.push(r.md);
  targets.push(...r.lines);
}
if (parts.has('ab')) {
  const r = await abPart();
  sections.push(r.md);
  targets.push({ line: r.line, met: r.met });
}
const argLine = [`--rate ${rate}`, `--samples ${samples}`, `--max-step-seconds ${maxStep}`, `--seeds ${seeds.join(',')}`, ...(a.parts ? [`--parts ${a.parts}`] : [])].join(' ');
const md = [
  '# bench:proof — proof before change',
  '',
  `Command: \`npm run bench:proof -- ${argLine}\` (${((Date.now() - benchStarted) / 1000).toFixed(0)} s)`,
  `Machine: ${machine()}`,
  '',
  '## Targets',
  '',
  table(['target', 'measured', 'met'], targets.map((t) => [...t.line.split(' | '), t.met ? 'yes' : 'no'])),
  '',
  ...sections,
];
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md.join('\n'));
console.log(md.join('\n'));
