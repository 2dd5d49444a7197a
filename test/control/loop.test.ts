// Integration tests: the control loop against the recording fake provider, a real in-process gateway
// and a real SQLite store, ticked by hand with an injected clock.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { buildStrategy, serviceModel } from '../../src/config/derive.js';
import { METRIC, ServiceLoop, type LoopDeps, type LoopEvent, type LoopSettings } from '../../src/control/loop.js';
import { buildForecaster } from '../../src/core/forecasters.js';
import { recoverRollouts } from '../../src/control/rollout.js';
import { DEFAULT_DELTA } from '../../src/core/delta.js';
import { localControl } from '../../src/gateway/control.js';
import { createGateway } from '../../src/gateway/gateway.js';
import { Store } from '../../src/metrics/store.js';
import { FakeProvider } from '../../src/providers/fake.js';
import { ProofGate, type GateType, type RunTrial } from '../../src/proof/gate.js';
import { ProviderError } from '../../src/providers/provider.js';
import { tempDir } from '../helpers.js';

/** A trial runner whose trials end when the test says, with the steps it gives: the loop's side of the gate without driving load. */
function scriptedTrials() {
  const pending: { plan: Parameters<RunTrial>[0]; finish: (steps: [number, 'pass' | 'fail'][]) => void }[] = [];
  const run: RunTrial = (plan, deps) =>
    new Promise((resolve) => {
      deps.log.startExperiment({ id: plan.id, service: plan.service, kind: 'trial', startedAt: (deps.now ?? Date.now)(), config: { ...plan, instanceId: `${plan.id}-i0` } });
      pending.push({
        plan,
        finish: (steps) => {
          const results = steps.map(([targetRps, verdict]) => ({ verdict, numbers: { targetRps, achievedRps: targetRps, requests: 1000, p99Ms: verdict === 'pass' ? 100 : 900, p99LowMs: 90, p99HighMs: 110, errorRate: 0, errorRateLow: 0, errorRateHigh: 0.001 } }));
          const r = { id: plan.id, instanceType: plan.instanceType, perInstanceRps: plan.perInstanceRps, verdict: results.every((x) => x.verdict === 'pass') ? ('pass' as const) : ('fail' as const), steps: results, capacityAtSloRps: {}, measurements: [] };
          deps.log.finishExperiment(plan.id, (deps.now ?? Date.now)(), r.verdict, { ...r, measurements: undefined });
          resolve(r);
        },
      });
    });
  return { run, pending };
}

const GATE_TYPES: Record<string, GateType> = {
  standard: { name: 'standard', slots: 4, serviceTimeSeconds: 0.05, prices: { onDemandPerHour: 0.1, spotPerHour: 0.035, reservedPerHour: 0.065 }, provisioningSeconds: 1, warmupSeconds: 0 },
  large: { name: 'large', slots: 16, serviceTimeSeconds: 0.025, prices: { onDemandPerHour: 0.05, spotPerHour: 0.02, reservedPerHour: 0.03 }, provisioningSeconds: 1, warmupSeconds: 0 },
};

function setup(t: { after: (fn: () => Promise<void> | void) => void }, o: { readyAfterTicks?: number; storePath?: string; strategy?: 'reactive' | 'hybrid'; proof?: { mode: 'required' | 'advisory'; types: string[]; run: RunTrial }; extra?: Partial<LoopSettings>; deps?: Partial<LoopDeps> } = {}) {
  const strategyName = o.strategy ?? 'reactive';
  const cfg = loadConfig({ sets: [`services[0].scaling.strategy=${strategyName}`, 'services[0].scaling.periodSeconds=1', 'services[0].scaling.staleMetricsSeconds=3', 'services[0].pool.min=1', 'services[0].pool.max=10'] });
  const model = serviceModel(cfg, cfg.services[0] as (typeof cfg.services)[number]);
  let clock = Date.UTC(2026, 0, 1);
  const now = (): number => clock;
  const provider = new FakeProvider({ instanceTypes: ['standard', 'large'], readyAfterTicks: o.readyAfterTicks ?? 0, now });
  const gateway = createGateway({ live: [] });
  t.after(() => gateway.close());
  const store = Store.open({ path: o.storePath ?? join(tempDir(t), 'store.db') });
  const events: LoopEvent[] = [];
  const settings: LoopSettings = {
    service: 'web',
    instanceType: 'standard',
    slots: model.type.slots,
    serviceTimeSeconds: model.type.serviceTimeMs / 1000,
    sloLatencySeconds: 0.2,
    shadow: { fraction: 0.25, instanceType: 'standard', slots: model.type.slots, sync: 'none' },
    bounds: model.bounds,
    initialInstances: 3,
    tickSeconds: 1,
    metricWindowSeconds: 3,
    staleMetricsSeconds: 3,
    leadTimeSeconds: 10,
    forecast: { level: 0.8, refitSeconds: 60, bucketSeconds: 1, timeScale: 1, historySeconds: 3600 },
    delta: { ...DEFAULT_DELTA, windowTicks: 10, confirmWindows: 3, action: 'horizontal' },
    types: { standard: { slots: model.type.slots, serviceTimeSeconds: model.type.serviceTimeMs / 1000 }, large: { slots: 16, serviceTimeSeconds: 0.025 } },
    ...o.extra,
  };
  const gate = o.proof
    ? new ProofGate(
        { service: 'web', mode: o.proof.mode, types: Object.fromEntries(o.proof.types.map((n) => [n, GATE_TYPES[n] as GateType])), sloLatencyMs: 200, sloErrorRate: 0.01, headroom: 0.1, minInstances: 1, maxInstances: 10, maxStepUp: 10, spotShare: 0, freshSeconds: 3600, samplesPerStep: 400, maxStepSeconds: 30, maxConcurrent: 1, budgetShare: 0.1, budgetWindowSeconds: 3600, minTypeSaving: 0.1, path: '/work', readyTimeoutMs: 5000 },
        { provider, log: store, now, runTrial: o.proof.run, onEvent: (kind, detail) => events.push({ at: now(), kind, detail }) },
      )
    : undefined;
  const make = (st: Store = store): ServiceLoop => new ServiceLoop(settings, { provider, gateway: localControl(gateway), store: st, strategy: buildStrategy(strategyName, model), ...(gate ? { gate } : {}), now, onEvent: (e) => events.push(e), ...o.deps });
  const advance = async (loop: ServiceLoop, seconds = 1) => {
    clock += seconds * 1000;
    provider.tick();
    const r = await loop.tick();
    await new Promise((r2) => setImmediate(r2)); // let the un-awaited actions settle
    return r;
  };
  return { provider, gateway, store, events, make, advance, settings, gate, now };
}

describe('ServiceLoop with the recording fake provider', () => {
  it('starts the pool and its shadow, puts ready instances in the gateway, records every decision before acting', async (t) => {
    const { provider, gateway, store, make, advance } = setup(t);
    t.after(() => store.close());
    const loop = make();
    await advance(loop);
    await advance(loop);
    const live = await provider.list({ pool: 'live' });
    const shadow = await provider.list({ pool: 'shadow' });
    assert.equal(live.length, 3, 'initial instances');
    assert.equal(shadow.length, 1, 'shadow: 25 % of 3 x 4 slots -> 1 instance');
    assert.deepEqual(gateway.members.map((m) => m.id).sort(), live.map((i) => i.id).sort(), 'members are the ready live instances, by instance id');
    const decisions = store.decisions({ service: 'web' });
    assert.ok(decisions.length >= 1);
    // No traffic through ready instances: utilization 0 -> the HPA wants the minimum, but the scale-down
    // stabilization (300 s) holds the pool.
    assert.equal(decisions.at(-1)?.decision.reason, 'scale_in_stabilization');
  });

  it('a known event declared at run time: recorded, the next refit forecasts it, capacity is up before it starts (known_event); removed, the forecast drops it', async (t) => {
    const h = setup(t, { strategy: 'hybrid', deps: { forecaster: buildForecaster({ model: 'fast-seasonal', seasonality: 'none', reuseFitPoints: 0 }) } });
    t.after(() => h.store.close());
    const start = h.now();
    // Half an hour at 100 req/s recorded, and on through the test (the loop's own samples see no traffic).
    const samples = [];
    for (let k = -1800; k < 120; k++) samples.push({ ts: start + k * 1000, service: 'web', pool: 'live', metric: METRIC.liveRps, value: 100 });
    h.store.addSamples(samples);
    const loop = h.make();
    await h.advance(loop);
    await h.advance(loop);
    // A x3 campaign from 30 s to 50 s from now.
    const from = h.now() + 30_000;
    const { id, seq } = loop.declareEvent({ name: 'campaign', start: from, end: from + 20_000, recurrence: 'none', multiplier: 3 }, 'tester', 'announced today');
    assert.equal(h.store.decisions({ service: 'web' }).find((d) => d.seq === seq)?.decision.reason, 'operator_event');
    assert.deepEqual(h.store.declaredEvents('web').map((e) => [e.id, e.multiplier, e.by, e.note]), [[id, 3, 'tester', 'announced today']]);
    assert.ok(loop.knownEvents().some((e) => e.name === 'campaign' && e.start === from / 1000));
    await h.advance(loop);
    const ratio = (): number => {
      const ahead = loop.forecastAhead(h.now() / 1000);
      const mean = (a: number, b: number): number => {
        const xs = ahead.filter((p) => p.at >= a / 1000 && p.at < b / 1000).map((p) => p.mean);
        return xs.reduce((x, y) => x + y, 0) / xs.length;
      };
      return mean(from, from + 20_000) / mean(from - 20_000, from);
    };
    assert.ok(Math.abs(ratio() - 3) < 0.3, `the forecast over the campaign against before it: ${ratio()}`);
    // Within the lead time (10 s) and period (1 s) of its start, capacity is asked for it.
    while (h.now() < from - 5_000) await h.advance(loop);
    const before = h.store.decisions({ service: 'web' }).filter((d) => d.decision.at * 1000 < from && d.decision.reason === 'known_event');
    assert.ok(before.length > 0, JSON.stringify(h.store.decisions({ service: 'web' }).slice(-3).map((d) => d.decision.reason)));
    assert.ok((before.at(-1)?.decision.numbers.eventLift as number) > 2.5);
    // Removed: recorded, gone from the store, and the next refit's forecast has it no more.
    const removed = loop.removeEvent(id, 'tester');
    assert.ok(removed !== undefined);
    assert.equal(loop.removeEvent(id, 'tester'), undefined, 'a second removal finds nothing');
    assert.deepEqual(h.store.declaredEvents('web'), []);
    await h.advance(loop);
    assert.ok(Math.abs(ratio() - 1) < 0.1, `after removal: ${ratio()}`);
    assert.deepEqual(h.store.decisions({ service: 'web' }).filter((d) => d.decision.reason.startsWith('operator_event')).map((d) => [d.decision.reason, d.decision.operator?.event?.id]), [['operator_event', id], ['operator_event_removed', id]]);
    // The record and the kept event are one transaction: when keeping it fails after the record was written
    // (as a kill between the two would stop it), neither stays.
    const keep = h.store.addDeclaredEvent.bind(h.store);
    h.store.addDeclaredEvent = () => {
      throw new Error('stopped between the record and the event');
    };
    assert.throws(() => loop.declareEvent({ name: 'lost', start: from, end: from + 20_000, recurrence: 'none', multiplier: 2 }, 'tester'), /stopped between/);
    h.store.addDeclaredEvent = keep;
    assert.deepEqual(h.store.declaredEvents('web'), []);
    assert.equal(h.store.decisions({ service: 'web' }).filter((d) => d.decision.reason === 'operator_event').length, 1);
  });

  it("a stateful service's writes rising before its reads scale it ahead (mutations_ahead, with the numbers); without the write signal it holds", async (t) => {
    const rows = [
      { note: 'write signal on', writes: true, reason: 'mutations_ahead' },
      { note: 'write signal off', writes: false, reason: 'scale_in_stabilization' },
    ];
    for (const r of rows) {
      const h = setup(t, r.writes ? { deps: { writeForecaster: buildForecaster({ model: 'fast-seasonal', seasonality: 'none', reuseFitPoints: 0 }) } } : {});
      t.after(() => h.store.close());
      const now = h.now();
      // Half an hour recorded: 100 req/s of which 10 writes/s; in the last two minutes the writes climb to 30/s
      // while the request rate has not moved yet (writes bind before reads).
      const samples = [];
      for (let k = 1800; k >= 1; k--) {
        const ts = now - k * 1000;
        samples.push({ ts, service: 'web', pool: 'live', metric: METRIC.liveRps, value: 100 });
        samples.push({ ts, service: 'web', pool: 'live', metric: METRIC.mutationRps, value: k > 120 ? 10 : 10 + ((120 - k) / 120) * 20 });
      }
      h.store.addSamples(samples);
      const loop = h.make();
      let last;
      for (let k = 0; k < 3; k++) last = await h.advance(loop);
      const d = h.store.decisions({ service: 'web' }).at(-1);
      assert.equal(d?.boundReason ?? d?.decision.reason, r.reason, `${r.note}: ${JSON.stringify(d)}`);
      if (r.writes) {
        const n = d?.decision.numbers ?? {};
        // About 9.8 requests per write over the history; the writes' upper bound above 27/s: above 260 req/s implied.
        assert.ok((n.requestsPerWrite as number) > 9 && (n.requestsPerWrite as number) < 10, `requests per write ${n.requestsPerWrite}`);
        assert.ok((n.writesUpperRps as number) > 27, `writes upper ${n.writesUpperRps}`);
        assert.ok((d?.target as number) > 3, `target ${d?.target}`);
        assert.ok((last?.mutations.forecastUpper as number) > 27);
      } else assert.equal(d?.target, 3);
    }
  });

  it('a trial instance (label trial) is neither a shadow nor a mirror target: the loop leaves it to its trial', async (t) => {
    const { provider, gateway, store, make, advance } = setup(t);
    t.after(() => store.close());
    await provider.create({ id: 'trial-x-i0', service: 'web', pool: 'shadow', instanceType: 'standard', labels: { trial: 'trial-x' } });
    const loop = make();
    for (let i = 0; i < 3; i++) await advance(loop);
    const shadow = await provider.list({ pool: 'shadow' });
    assert.equal(shadow.length, 2, 'the regular shadow and the trial instance');
    assert.ok(shadow.some((i) => i.id === 'trial-x-i0' && i.state === 'ready'), 'the trial instance is left alone');
    const trialUrl = shadow.find((i) => i.id === 'trial-x-i0')?.url;
    const targets = await localControl(gateway).shadowTargets();
    assert.equal(targets.length, 1, 'one mirror target: the regular shadow');
    assert.ok(!targets.includes(trialUrl as string), 'the trial instance is never a mirror target');
  });

  it('never scales in on stale metrics: with no ready instance for longer than staleMetricsSeconds, it holds and says so', async (t) => {
    const { store, make, advance } = setup(t, { readyAfterTicks: 1000 });
    t.after(() => store.close());
    const loop = make();
    for (let i = 0; i < 6; i++) await advance(loop);
    const last = store.decisions({ service: 'web' }).at(-1);
    assert.equal(last?.decision.reason, 'missing_metrics_hold');
    assert.equal(last?.target, 3);
  });

  it('a failed create is recorded and reported, and the next tick repairs the pool to the recorded target', async (t) => {
    const { provider, store, events, make, advance } = setup(t);
    t.after(() => store.close());
    provider.failNext('create', new ProviderError('capacity', 'no room'));
    const loop = make();
    await advance(loop);
    assert.ok(events.some((e) => e.kind === 'action_failed' && /no room/.test(e.detail)));
    await advance(loop);
    assert.equal((await provider.list({ pool: 'live' })).length, 3);
  });

  it('replaces a crashed instance (deleted, a new one created) and counts it', async (t) => {
    const { provider, store, make, advance } = setup(t);
    t.after(() => store.close());
    const loop = make();
    await advance(loop);
    const [victim] = await provider.list({ pool: 'live' });
    provider.crash(victim?.id as string);
    await advance(loop);
    await advance(loop);
    const live = await provider.list({ pool: 'live' });
    assert.equal(live.length, 3);
    assert.ok(!live.some((i) => i.id === victim?.id));
    assert.equal(loop.liveReplacements, 1);
    assert.ok(provider.calls.some((c) => c.method === 'delete' && c.args[0] === victim?.id));
  });

  it('a restarted loop resumes from the store: the last target and sequence, no action repeated', async (t) => {
    const dir = tempDir(t);
    const storePath = join(dir, 'store.db');
    const first = setup(t, { storePath });
    const loop = first.make();
    for (let i = 0; i < 3; i++) await first.advance(loop);
    const before = first.store.decisions({ service: 'web' });
    const creates = first.provider.calls.filter((c) => c.method === 'create').length;
    // The same provider (instances still there), a new loop on the same store.
    const again = first.make();
    assert.equal(again.currentTarget, before.at(-1)?.target);
    await first.advance(again);
    assert.equal(first.provider.calls.filter((c) => c.method === 'create').length, creates, 'nothing created twice');
    const after = first.store.decisions({ service: 'web' });
    assert.equal(after.at(-1)?.seq, (before.at(-1)?.seq as number) + 1);
    first.store.close();
  });

  it('a restarted loop resumes its SLO policy from the store: the recorded demand replayed, the last risk restored', async (t) => {
    // A hole of five minutes every hour (no demand recorded: the metrics were missing), longer than a
    // staleness of 60 s (the demand was recorded every 15 s): six blind episodes replayed.
    const hole = (k: number): boolean => k % 240 >= 200 && k % 240 < 220;
    const rows: { note: string; record: boolean; week?: boolean; holes?: boolean; want?: Record<string, number> }[] = [
      { note: 'a fresh store: nothing to resume', record: false },
      { note: 'six hours of recorded demand and a decision with its risk and how long it had adapted', record: true, want: { replayed: (6 * 3600) / 15, blindEpisodes: 0, dailyPoints: 0, risk: 0.002, adaptedMinutes: 5000 } },
      // A day of demand a week back (before the replay): its minutes seed the daily peaks.
      { note: 'and a day a week back: per-minute points for the daily peaks', record: true, week: true, want: { replayed: (6 * 3600) / 15, blindEpisodes: 0, dailyPoints: 1440, risk: 0.002, adaptedMinutes: 5000 } },
      { note: 'holes in the recorded demand replay as blind episodes', record: true, holes: true, want: { replayed: (6 * 3600) / 15 - 6 * 20, blindEpisodes: 6, dailyPoints: 0, risk: 0.002, adaptedMinutes: 5000 } },
    ];
    for (const r of rows) {
      const h = setup(t, { strategy: 'hybrid', extra: { staleMetricsSeconds: 60 } });
      const now = h.now();
      if (r.record) {
        // What an earlier run recorded: the live rate every 15 s for six hours, then a decision with its risk
        // (and a later one without, as when hybrid's reactive part wins: the risk is the latest that exists).
        h.store.addSamples(Array.from({ length: (6 * 3600) / 15 }, (_, k) => ({ ts: now - 6 * 3600_000 + k * 15_000, service: 'web', pool: 'live', metric: 'rps', value: r.holes && hole(k) ? Number.NaN : 40 + (k % 40 >= 28 ? 40 : 0) })));
        if (r.week) h.store.addSamples(Array.from({ length: 1440 }, (_, k) => ({ ts: now - 7 * 86_400_000 + k * 60_000, service: 'web', pool: 'live', metric: 'rps', value: 40 })));
        h.store.addDecision('web', { strategy: 'hybrid', at: (now - 30_000) / 1000, current: 3, desired: 3, reason: 'slo_forecast', numbers: { risk: 0.002, adaptedMinutes: 5000 } }, 3, null);
        h.store.addDecision('web', { strategy: 'hybrid', at: (now - 15_000) / 1000, current: 3, desired: 3, reason: 'within_tolerance', numbers: { utilization: 0.5 } }, 3, null);
      }
      const loop = h.make();
      const resumed = h.events.filter((e) => e.kind === 'strategy_resumed');
      assert.deepEqual(resumed.map((e) => e.numbers), r.want ? [r.want] : [], r.note);
      await h.advance(loop);
      h.store.close();
    }
    // The reactive rule learns nothing online: nothing to resume.
    const plain = setup(t);
    plain.store.addSamples([{ ts: plain.now() - 1000, service: 'web', pool: 'live', metric: 'rps', value: 40 }]);
    plain.make();
    assert.equal(plain.events.filter((e) => e.kind === 'strategy_resumed').length, 0);
    plain.store.close();
  });

  it('after a restart, the live pool keeps the instance type its instances run (a vertical move survives)', async (t) => {
    const { provider, store, make, advance } = setup(t);
    t.after(() => store.close());
    for (const k of [0, 1, 2]) await provider.create({ id: `web-live-big-${k}`, service: 'web', pool: 'live', instanceType: 'large' });
    const loop = make();
    await advance(loop);
    const [victim] = await provider.list({ pool: 'live' });
    provider.crash(victim?.id as string);
    await advance(loop);
    await advance(loop);
    const live = await provider.list({ pool: 'live' });
    assert.equal(live.length, 3);
    assert.deepEqual([...new Set(live.map((i) => i.instanceType))], ['large'], 'the replacement is of the pool\'s running type');
  });

  it('proof required: a scale-in waits for its proof (proof_pending, the trial started), then acts on it and names the trial', async (t) => {
    const trials = scriptedTrials();
    const { provider, store, events, make, advance } = setup(t, { proof: { mode: 'required', types: ['standard'], run: trials.run } });
    t.after(() => store.close());
    const loop = make();
    for (let i = 0; i < 3; i++) await advance(loop);
    assert.equal(trials.pending.length, 1, 'a calibration trial of the live type started at once');
    assert.equal(trials.pending[0]?.plan.instanceType, 'standard');
    // Idle past the HPA's scale-down stabilization: the strategy wants the minimum.
    await advance(loop, 301);
    await advance(loop);
    const waiting = store.decisions({ service: 'web' }).at(-1);
    assert.equal(waiting?.target, 3, 'held');
    assert.equal(waiting?.boundReason, 'proof_pending');
    assert.equal(waiting?.decision.proof?.status, 'pending');
    assert.equal(waiting?.decision.desired, 1, 'the strategy asked for the minimum');
    assert.equal((await provider.list({ pool: 'live' })).length, 3, 'nothing removed before the proof');
    const trial = trials.pending[0];
    trial?.finish([
      [20, 'pass'],
      [40, 'pass'],
    ]);
    await new Promise((r) => setImmediate(r));
    await advance(loop);
    const acted = store.decisions({ service: 'web' }).at(-1);
    assert.equal(acted?.target, 1, 'the proven scale-in acts');
    assert.equal(acted?.decision.proof?.status, 'proven');
    assert.equal(acted?.decision.proof?.trial, trial?.plan.id, 'the decision names the trial that proved it');
    assert.equal(acted?.decision.proof?.numbers.provenRps, 40);
    assert.ok(events.some((e) => e.kind === 'capacity_refit' && /40\.0 req\/s per instance proven at the SLO by trial/.test(e.detail)), 'the strategies plan with the measured capacity');
    await advance(loop);
    assert.equal((await provider.list({ pool: 'live' })).filter((i) => i.state !== 'draining').length, 1);
  });

  it('proof required: a calibration that failed its lowest step proves nothing: the scale-in keeps waiting', async (t) => {
    const trials = scriptedTrials();
    const { store, make, advance } = setup(t, { proof: { mode: 'required', types: ['standard'], run: trials.run } });
    t.after(() => store.close());
    const loop = make();
    for (let i = 0; i < 3; i++) await advance(loop);
    trials.pending[0]?.finish([[1, 'fail']]);
    await new Promise((r) => setImmediate(r));
    await advance(loop, 301);
    await advance(loop);
    const d = store.decisions({ service: 'web' }).at(-1);
    assert.equal(d?.target, 3);
    assert.equal(d?.boundReason, "proof_pending", JSON.stringify(store.decisions({ service: "web" }).map((x) => [x.decision.reason, x.boundReason, x.decision.current, x.decision.desired, x.target])));
    assert.equal(d?.decision.proof?.numbers.provenRps, 0);
    assert.equal(d?.decision.proof?.numbers.failedRps, 1);
  });

  it('proof advisory: the scale-in acts at once and the decision records that it was unproven', async (t) => {
    const trials = scriptedTrials();
    const { store, make, advance } = setup(t, { proof: { mode: 'advisory', types: ['standard'], run: trials.run } });
    t.after(() => store.close());
    const loop = make();
    for (let i = 0; i < 3; i++) await advance(loop);
    await advance(loop, 301);
    await advance(loop);
    const d = store.decisions({ service: 'web' }).find((x) => x.decision.current === 3 && x.target === 1);
    assert.ok(d, 'the scale-in acted without waiting');
    assert.equal(d?.boundReason, null);
    assert.equal(d?.decision.proof?.status, 'unproven');
    assert.equal(d?.decision.proof?.mode, 'advisory');
  });

  it('proof required: a cheaper type proven to carry the target moves the pool to it (proven_type_change, through resize)', async (t) => {
    const trials = scriptedTrials();
    const { provider, gateway, store, events, make, advance } = setup(t, { proof: { mode: 'required', types: ['standard', 'large'], run: trials.run } });
    t.after(() => store.close());
    const loop = make();
    await advance(loop);
    trials.pending[0]?.finish([[50, 'pass']]);
    await new Promise((r) => setImmediate(r));
    await advance(loop);
    assert.equal(trials.pending[1]?.plan.instanceType, 'large', 'the other type is calibrated next');
    trials.pending[1]?.finish([[200, 'pass']]);
    await new Promise((r) => setImmediate(r));
    await advance(loop, 301);
    for (let i = 0; i < 3; i++) await advance(loop);
    const moved = store.decisions({ service: 'web' }).find((d) => d.boundReason === 'proven_type_change');
    assert.ok(moved, `a type change: ${JSON.stringify(store.decisions({ service: 'web' }).map((d) => [d.boundReason ?? d.decision.reason, d.target]))}`);
    assert.equal(moved.decision.instanceType, 'large');
    assert.equal(moved.decision.proof?.candidate.instanceType, 'large');
    assert.ok(events.some((e) => e.kind === 'type_change'));
    // Through a switchover: the new type's instances beside the old, outside the balancer, then in steps.
    await advance(loop);
    const during = await provider.list({ pool: 'live' });
    const large = during.filter((i) => i.instanceType === 'large');
    assert.equal(large.length, moved.decision.desired);
    assert.ok(large.every((i) => i.labels.switchover !== undefined), 'the new group is labelled with its switchover');
    assert.ok(during.some((i) => i.instanceType === 'standard'), 'the old type serves meanwhile');
    const shares = new Set<number>();
    for (let i = 0; i < 90 && !store.decisions({ service: 'web' }).some((d) => d.decision.reason === 'type_change_completed'); i++) {
      await advance(loop);
      const w = gateway.members.filter((m) => large.some((x) => x.id === m.id)).reduce((a, m) => a + m.weight, 0);
      const all = gateway.members.reduce((a, m) => a + m.weight, 0);
      if (all > 0) shares.add(Math.round((100 * w) / all));
    }
    const done = store.decisions({ service: 'web' }).find((d) => d.decision.reason === 'type_change_completed');
    assert.ok(done, `completed: ${JSON.stringify(events.filter((e) => e.kind === 'rollout').map((e) => e.detail))}`);
    assert.equal(done.target, moved.decision.desired);
    assert.deepEqual([...shares].filter((x) => x > 0 && x < 100).sort((a, b) => a - b), [25, 50, 75], 'the new type took 25, 50, 75 % of the traffic before it was promoted');
    for (let i = 0; i < 3; i++) await advance(loop);
    const live = (await provider.list({ pool: 'live' })).filter((i) => i.state !== 'draining');
    assert.deepEqual([...new Set(live.map((i) => i.instanceType))], ['large']);
    assert.equal(live.length, moved.decision.desired);
    assert.equal(loop.state().instanceType, 'large');
  });

  it('a warm pool: kept out of the balancer and fed sampled reads, taken first by a scale-out, refilled, given scaled-in instances back, kept across a restart', async (t) => {
    const storePath = join(tempDir(t), 'store.db');
    const { provider, gateway, store, events, make, advance, now } = setup(t, { storePath, extra: { warmPool: { size: 2, reuseOnScaleIn: true } } });
    t.after(() => store.close());
    const loop = make();
    await advance(loop);
    await advance(loop);
    const pool = new Set(store.warmPool('web'));
    assert.equal(pool.size, 2, 'the pool is on record');
    const live = await provider.list({ pool: 'live' });
    assert.equal(live.length, 5, '3 live + 2 warm');
    assert.deepEqual(gateway.members.map((m) => m.id).sort(), live.filter((i) => !pool.has(i.id)).map((i) => i.id).sort(), 'warm instances take no client request');
    assert.deepEqual([...gateway.mirror.getWarmTargets()].sort(), live.filter((i) => pool.has(i.id)).map((i) => i.url).sort(), 'the mirror feeds them');
    assert.equal(loop.state().warmPool?.ready, 2);
    assert.equal(loop.state().target, 3, 'not counted in the live pool');
    // A scale-out of two (the operator raises the minimum): both come from the pool, nothing is created for it.
    const created = provider.calls.filter((c) => c.method === 'create').length;
    loop.overrideBounds({ min: 5, until: now() + 3600_000 }, 'test');
    await advance(loop);
    await advance(loop);
    const creates = provider.calls.filter((c) => c.method === 'create').slice(created).map((c) => c.args[0] as { id: string; pool: string }).filter((c) => c.pool === 'live').map((c) => c.id);
    assert.ok(creates.every((id) => id.includes('-warm-')), `only the pool is refilled: ${creates.join(', ')}`);
    assert.equal(creates.length, 2);
    for (const id of pool) assert.ok(gateway.members.some((m) => m.id === id && m.weight === 1), `${id} serves at a full weight`);
    assert.equal(loop.state().warmPool?.claims, 2);
    assert.ok(events.some((e) => e.kind === 'switchover' && /warm pool: 2 warm instance\(s\) serve now/.test(e.detail)));
    // A scale-in while one pooled instance just failed (its replacement only starting): a scaled-in warm
    // instance goes back to the pool instead, the starting replacement is trimmed.
    const [lost] = store.warmPool('web');
    provider.crash(lost as string);
    loop.clearBounds('test');
    await advance(loop, 301);
    assert.equal(loop.state().warmPool?.returns, 1, JSON.stringify(events.filter((e) => e.kind === 'switchover').map((e) => e.detail)));
    const returned = events.flatMap((e) => /^warm pool: (\S+) scaled in, back to the warm pool/.exec(e.detail)?.[1] ?? []);
    assert.equal(returned.length, 1);
    assert.ok(store.warmPool('web').includes(returned[0] as string), 'a scaled-in live instance is in the pool');
    for (let i = 0; i < 3; i++) await advance(loop);
    assert.equal(loop.state().warmPool?.ready, 2, 'back to its size');
    assert.ok(store.warmPool('web').includes(returned[0] as string), 'the warm one stayed');
    assert.ok(!gateway.members.some((m) => m.id === returned[0]), 'drained from the balancer');
    assert.ok((loop.state().warmPool?.instanceSeconds ?? 0) > 0, 'their cost is counted');
    // The restart keeps the pool: its instances stay out of the balancer.
    store.close();
    const again = Store.open({ path: storePath });
    t.after(() => again.close());
    const kept = again.warmPool('web');
    assert.equal(kept.length, 2);
    const second = make(again);
    await advance(second);
    assert.deepEqual(second.state().warmPool?.ids, [...kept].sort(), 'the same instances, nothing created for the pool');
    for (const id of kept) assert.ok(!gateway.members.some((m) => m.id === id && m.weight > 0), `${id} takes no client request after the restart`);
  });

  it('kill -9 mid ramp-in: the restart rolls the ramp back (recorded first), drains its instances and replaces them, which ramp in anew', async (t) => {
    const storePath = join(tempDir(t), 'store.db');
    const { provider, gateway, store, events, make, advance, now } = setup(t, { storePath, extra: { rampIn: { stepWeight: 25, maxWeight: 100, intervalSeconds: 5, threshold: 2, maxInconclusive: 3 } } });
    t.after(() => store.close());
    const loop = make();
    await advance(loop);
    await advance(loop);
    loop.overrideBounds({ min: 4, until: now() + 3600_000 }, 'test');
    for (let i = 0; i < 3 && !events.some((e) => /^ramp-in started/.test(e.detail)); i++) await advance(loop);
    const ramping = store.ids('ramp:web');
    assert.equal(ramping.length, 1, 'the ramp is on record');
    assert.equal(gateway.members.find((m) => m.id === ramping[0])?.weight, 0.25, 'it joined at the first step');
    // The process dies mid-ramp; a new one starts on the same store and provider.
    const again = make();
    await advance(again);
    const back = store.decisions({ service: 'web' }).filter((d) => d.decision.reason === 'switchover_rolled_back');
    assert.equal(back.length, 1);
    assert.equal(back[0]?.decision.numbers.restarted, 1);
    assert.deepEqual(store.ids('ramp:web'), [], 'off the record once rolled back');
    await advance(again);
    await advance(again);
    const live = (await provider.list({ pool: 'live' })).filter((i) => i.state !== 'draining');
    assert.ok(!live.some((i) => i.id === ramping[0]), 'the interrupted instance went');
    assert.equal(live.length, 4, 'replaced');
    const fresh = live.find((i) => !gateway.members.some((m) => m.id === i.id && m.weight === 1));
    assert.ok(fresh, 'the replacement ramps in rather than joining at a full weight');
    assert.deepEqual(store.ids('ramp:web'), [fresh.id], 'and its ramp is on record');
  });

  it('proof evidence is per version: after live moves to another version, the old version\'s trials prove nothing and new trials run the new one', async (t) => {
    const trials = scriptedTrials();
    const { store, make, advance, gate, now, provider } = setup(t, { proof: { mode: 'required', types: ['standard'], run: trials.run } });
    t.after(() => store.close());
    const loop = make();
    await advance(loop);
    assert.equal(trials.pending[0]?.plan.version, undefined, 'base runs base');
    trials.pending[0]?.finish([[50, 'pass']]);
    await new Promise((r) => setImmediate(r));
    assert.equal(gate?.evidence().get('standard')?.provenRps, 50);
    gate?.setVersion('v2');
    assert.equal(gate?.evidence().get('standard'), undefined, 'base\'s proof says nothing about v2');
    await advance(loop);
    await advance(loop);
    const next = trials.pending[1];
    assert.equal(next?.plan.version, 'v2', 'the next calibration trial runs v2');
    next?.finish([[30, 'pass']]);
    await new Promise((r) => setImmediate(r));
    assert.equal(gate?.evidence().get('standard')?.provenRps, 30);
    // A restart on v2 proves with v2's trials only; on base, with base's.
    const reload = (version: string) => new ProofGate({ ...(gate as ProofGate).s, version }, { provider, log: store, now, runTrial: trials.run });
    assert.equal(reload('v2').evidence().get('standard')?.provenRps, 30);
    assert.equal(reload('base').evidence().get('standard')?.provenRps, 50);
  });

  /** A pool of 3 standard instances whose proof moves it to large (as in the test above): the move under way. */
  async function moveUnderway(t: Parameters<typeof setup>[0], storePath?: string) {
    const trials = scriptedTrials();
    const h = setup(t, { proof: { mode: 'required', types: ['standard', 'large'], run: trials.run }, ...(storePath ? { storePath } : {}) });
    const loop = h.make();
    await h.advance(loop);
    trials.pending[0]?.finish([[50, 'pass']]);
    await new Promise((r) => setImmediate(r));
    await h.advance(loop);
    trials.pending[1]?.finish([[200, 'pass']]);
    await new Promise((r) => setImmediate(r));
    await h.advance(loop, 301);
    for (let i = 0; i < 5 && !h.events.some((e) => e.kind === 'rollout' && /shifting: large takes 25 %/.test(e.detail)); i++) await h.advance(loop);
    assert.ok(h.events.some((e) => e.kind === 'rollout' && /shifting: large takes 25 %/.test(e.detail)), 'the shift began');
    return { ...h, loop };
  }

  it('a type move whose new instance fails mid-shift rolls back: recorded first, weights to 0, the old type keeps serving at its count', async (t) => {
    const { provider, gateway, store, loop, advance } = await moveUnderway(t);
    t.after(() => store.close());
    const large = (await provider.list({ pool: 'live' })).filter((i) => i.instanceType === 'large');
    provider.crash(large[0]?.id as string);
    await advance(loop);
    const back = store.decisions({ service: 'web' }).find((d) => d.decision.reason === 'type_change_rolled_back');
    assert.ok(back, 'recorded');
    assert.equal(back.target, 3, 'the old count');
    assert.deepEqual(gateway.members.filter((m) => large.some((x) => x.id === m.id) && m.weight > 0), [], 'no weight left on the new type');
    assert.equal((await provider.list({ pool: 'live' })).filter((i) => i.instanceType === 'standard' && i.state === 'ready').length, 3, 'the old type at its count');
    // The same proof does not retry the move at once (typeRetrySeconds); the pool may scale in on its own type meanwhile.
    for (let i = 0; i < 3; i++) await advance(loop);
    const live = (await provider.list({ pool: 'live' })).filter((i) => i.state !== 'draining');
    assert.deepEqual([...new Set(live.map((i) => i.instanceType))], ['standard'], JSON.stringify(live.map((i) => [i.id, i.state, i.labels])));
    assert.equal(loop.state().instanceType, 'standard');
    assert.equal(loop.state().rollout?.outcome, 'rolled_back');
  });

  it('kill -9 mid-move: the restart records the rollback, keeps the old type at its count and removes the new instances', async (t) => {
    const storePath = join(tempDir(t), 'store.db');
    const first = await moveUnderway(t, storePath);
    // The process dies: the loop is gone, the provider (the instances) and the store (the open record) remain.
    const { provider } = first;
    assert.equal((await provider.list({ pool: 'live' })).filter((i) => i.instanceType === 'large').length, first.store.decisions({ service: 'web' }).find((d) => d.boundReason === 'proven_type_change')?.decision.desired);
    const recovered = recoverRollouts(first.store, 'web', 'reactive', first.now());
    assert.equal(recovered.length, 1);
    const back = first.store.decisions({ service: 'web' }).at(-1);
    assert.equal(back?.decision.reason, 'type_change_rolled_back');
    assert.equal(back?.target, 3, 'the pool before the move');
    const second = first.make();
    t.after(() => first.store.close());
    for (let i = 0; i < 4; i++) await first.advance(second);
    const live = (await provider.list({ pool: 'live' })).filter((i) => i.state !== 'draining');
    assert.deepEqual([...new Set(live.map((i) => i.instanceType))], ['standard'], 'the new type\'s instances went');
    assert.ok(live.length >= 1);
    assert.equal(second.state().instanceType, 'standard');
    assert.ok(first.store.experiments().every((e) => e.kind !== 'rollout' || e.finishedAt !== null), 'nothing left open');
  });
});
