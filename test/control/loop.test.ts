// Integration tests: the control loop against the recording fake provider, a real in-process gateway
// and a real SQLite store, ticked by hand with an injected clock.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { buildStrategy, serviceModel } from '../../src/config/derive.js';
import { ServiceLoop, type LoopEvent, type LoopSettings } from '../../src/control/loop.js';
import { DEFAULT_DELTA } from '../../src/core/delta.js';
import { localControl } from '../../src/gateway/control.js';
import { createGateway } from '../../src/gateway/gateway.js';
import { Store } from '../../src/metrics/store.js';
import { FakeProvider } from '../../src/providers/fake.js';
import { ProviderError } from '../../src/providers/provider.js';
import { tempDir } from '../helpers.js';

function setup(t: { after: (fn: () => Promise<void> | void) => void }, o: { readyAfterTicks?: number; storePath?: string } = {}) {
  const cfg = loadConfig({ sets: ['services[0].scaling.strategy=reactive', 'services[0].scaling.periodSeconds=1', 'services[0].scaling.staleMetricsSeconds=3', 'services[0].pool.min=1', 'services[0].pool.max=10'] });
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
  };
  const make = (): ServiceLoop => new ServiceLoop(settings, { provider, gateway: localControl(gateway), store, strategy: buildStrategy('reactive', model), now, onEvent: (e) => events.push(e) });
  const advance = async (loop: ServiceLoop, seconds = 1) => {
    clock += seconds * 1000;
    provider.tick();
    const r = await loop.tick();
    await new Promise((r2) => setImmediate(r2)); // let the un-awaited actions settle
    return r;
  };
  return { provider, gateway, store, events, make, advance, settings };
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
});
