// Ramp-in of a scale-out's new live instances (issue 13, docs/design/switchover.md), against a real
// runtime under continuous client load: the new instance joins at a fraction of a full weight and is
// promoted step by step when it matches the old ones; slowed by injected latency, it is rolled back and
// replaced. No client request fails either way.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import type { LoopEvent } from '../../src/control/loop.js';
import { Runtime } from '../../src/control/runtime.js';
import { clients, smallRunConfig, tempDir, until } from '../helpers.js';

const rampConfig = (dir: string): string => smallRunConfig(dir, { max: 4, extra: '' }).toString();

describe('ramp-in of new live instances', () => {
  it('a scale-out under load: the new instance ramps 25 → 50 → 75 → 100 % and is promoted; no request fails', async (t) => {
    const dir = tempDir(t);
    const cfg = loadConfig({ file: rampConfig(dir), sets: ['services[0].scaling.switchover.rampIn=true', 'services[0].scaling.switchover.intervalSeconds=1', 'services[0].scaling.switchover.stepWeight=25', 'control.delta.minSamples=20'] });
    const events: LoopEvent[] = [];
    const rt = await Runtime.start({ cfg, env: {}, onEvent: (e) => events.push(e) });
    t.after(() => rt.stop({ deleteInstances: true }));
    await until('one live instance routed', async () => (await rt.gateway.members()).length === 1, 20_000);
    const load = clients(t, `${rt.listen}/work`);
    await until('traffic flowing', () => load.ok > 50);
    // A scale-out: the pool's minimum raised to 2.
    rt.loop.overrideBounds({ min: 2, until: Date.now() + 600_000 }, 'test');
    const weights: number[] = [];
    await until('the new instance promoted', async () => {
      const ms = await rt.gateway.members();
      const fresh = ms.find((m) => m.id !== ms[0]?.id);
      if (fresh && weights[weights.length - 1] !== fresh.weight) weights.push(fresh.weight);
      return events.some((e) => e.kind === 'switchover' && e.detail.startsWith('ramp-in promoted'));
    }, 30_000);
    assert.deepEqual(weights, [0.25, 0.5, 0.75, 1], JSON.stringify(events.filter((e) => e.kind === 'switchover').map((e) => e.detail)));
    const d = rt.store.decisionsPage({ service: 'web', limit: 5, reasons: ['switchover_promoted'] }).decisions;
    assert.equal(d.length, 1);
    assert.equal(d[0]?.decision.numbers.instances, 1);
    assert.deepEqual(load.failed, []);
  });

  it('a new instance slower than the old ones (injected latency) is rolled back and replaced; no request fails', async (t) => {
    const dir = tempDir(t);
    const cfg = loadConfig({ file: rampConfig(dir), sets: ['services[0].scaling.switchover.rampIn=true', 'services[0].scaling.switchover.intervalSeconds=1', 'services[0].scaling.switchover.threshold=2', 'control.delta.minSamples=20'] });
    const events: LoopEvent[] = [];
    const rt = await Runtime.start({ cfg, env: {}, onEvent: (e) => events.push(e) });
    t.after(() => rt.stop({ deleteInstances: true }));
    await until('one live instance routed', async () => (await rt.gateway.members()).length === 1, 20_000);
    const first = (await rt.gateway.members())[0]?.id as string;
    const load = clients(t, `${rt.listen}/work`);
    await until('traffic flowing', () => load.ok > 50);
    rt.loop.overrideBounds({ min: 2, until: Date.now() + 600_000 }, 'test');
    // The first new member gets 40 ms of injected latency on every request (the gateway's fault injection).
    let slow: string | undefined;
    await until('a new member to slow down', async () => {
      slow = (await rt.gateway.members()).find((m) => m.id !== first)?.id;
      return slow !== undefined;
    }, 20_000);
    rt.localGateway?.setDelay(slow as string, 40);
    const started = Date.now();
    await until('the ramp rolled back', () => events.some((e) => e.kind === 'switchover' && e.detail.startsWith('ramp-in rolled back')), 20_000);
    const firstFailed = events.find((e) => e.kind === 'switchover' && e.detail.startsWith('ramp-in check degraded'));
    const rolled = events.find((e) => e.kind === 'switchover' && e.detail.startsWith('ramp-in rolled back')) as LoopEvent;
    assert.ok(firstFailed, `a failed check came first: ${JSON.stringify(events.filter((e) => e.kind === 'switchover').map((e) => e.detail))}`);
    // From the first failed check to the weights restored: within the interval plus a second, and an interval
    // more for each check between them that had too little traffic to judge (it does not count, as designed).
    const between = events.filter((e) => e.kind === 'switchover' && e.at > firstFailed.at && e.at < rolled.at && /^ramp-in check (?!degraded)/.test(e.detail)).length;
    assert.ok(rolled.at - firstFailed.at <= 2000 + 1000 * between, `${rolled.at - firstFailed.at} ms from the first failed check to the rollback (${between} unjudged check(s) between)`);
    assert.ok(Date.now() - started < 20_000);
    assert.match(rolled.detail, /2 failed check\(s\) in a row against the old instances/);
    const d = rt.store.decisionsPage({ service: 'web', limit: 5, reasons: ['switchover_rolled_back'] }).decisions;
    assert.equal(d.length, 1);
    // Replaced: a new instance (not the slowed one) ramps in and is promoted.
    await until('a replacement promoted', async () => events.some((e) => e.kind === 'switchover' && e.detail.startsWith('ramp-in promoted')) && (await rt.gateway.members()).every((m) => m.id !== slow), 30_000);
    assert.deepEqual(load.failed, [], JSON.stringify(events.map((e) => `${e.at} ${e.kind}: ${e.detail}`)));
  });

  it('warm before traffic: a new instance takes client requests only once its warm-up has passed since it was ready', async (t) => {
    const dir = tempDir(t);
    const cfg = loadConfig({ file: rampConfig(dir), sets: ['instanceTypes.small.warmupSeconds=2', 'services[0].scaling.switchover.warmBeforeTraffic=true'] });
    const events: LoopEvent[] = [];
    const rt = await Runtime.start({ cfg, env: {}, onEvent: (e) => events.push(e) });
    t.after(() => rt.stop({ deleteInstances: true }));
    await until('one live instance routed', async () => (await rt.gateway.members()).length === 1, 20_000);
    const load = clients(t, `${rt.listen}/work`);
    rt.loop.overrideBounds({ min: 2, until: Date.now() + 600_000 }, 'test');
    await until('a second live instance ready', async () => (await rt.provider.list({ pool: 'live' })).filter((i) => i.state === 'ready').length === 2, 20_000);
    const fresh = (await rt.provider.list({ pool: 'live' })).sort((a, b) => b.createdAt - a.createdAt)[0];
    await until('the new instance a member', async () => (await rt.gateway.members()).some((m) => m.id === fresh?.id), 20_000);
    const joined = Date.now();
    assert.ok(joined - (fresh?.readyAt ?? 0) >= 2000 - 300, `joined ${joined - (fresh?.readyAt ?? 0)} ms after it was ready`);
    assert.ok(events.some((e) => e.kind === 'switchover' && e.detail === `${fresh?.id} warming for 2 s before it takes client requests`));
    assert.deepEqual(load.failed, []);
  });
});

describe('warm pool', () => {
  it('a pre-started instance kept warm by mirrored reads serves at once on a scale-out; the pool refills; no request fails', async (t) => {
    const dir = tempDir(t);
    const cfg = loadConfig({ file: rampConfig(dir), sets: ['services[0].scaling.warmPool.size=1', 'services[0].shadow.sampling.rate=0.5', 'gateway.mirror.minRate=0.5'] });
    const events: LoopEvent[] = [];
    const rt = await Runtime.start({ cfg, env: {}, api: true, onEvent: (e) => events.push(e) });
    t.after(() => rt.stop({ deleteInstances: true }));
    await until('one live instance routed and the warm pool ready', async () => (await rt.gateway.members()).length === 1 && rt.loop.state().warmPool?.ready === 1, 20_000);
    const [pooled] = rt.loop.state().warmPool?.ids ?? [];
    assert.ok(!(await rt.gateway.members()).some((m) => m.id === pooled), 'out of the balancer');
    const load = clients(t, `${rt.listen}/work`);
    await until('the warm instance fed mirrored reads', async () => (await rt.gateway.stats()).mirror.warmSent > 20, 20_000);
    const createdBefore = (await rt.provider.list({ pool: 'live' })).map((i) => i.id);
    rt.loop.overrideBounds({ min: 2, until: Date.now() + 600_000 }, 'test');
    await until('the pooled instance serves', async () => (await rt.gateway.members()).some((m) => m.id === pooled && m.weight === 1), 10_000);
    await until('the pool refilled', () => rt.loop.state().warmPool?.ready === 1 && !rt.loop.state().warmPool?.ids.includes(pooled as string), 20_000);
    const fresh = (await rt.provider.list({ pool: 'live' })).filter((i) => !createdBefore.includes(i.id)).map((i) => i.id);
    assert.deepEqual(fresh, rt.loop.state().warmPool?.ids, 'the only new live-pool instance is the refill');
    assert.equal(rt.loop.state().warmPool?.claims, 1);
    assert.ok(events.some((e) => e.kind === 'switchover' && /^warm pool: 1 warm instance\(s\) serve now/.test(e.detail)));
    // The API shows the pool and what it costs; the live pool's counts leave it out.
    const view = (await (await fetch(`${rt.apiUrl as string}/api/v1/services/web`)).json()) as { live: { requested: number }; warmPool: { size: number; ready: number; claims: number; instanceSeconds: number; costPerHour: number } };
    assert.equal(view.live.requested, 2);
    assert.deepEqual({ size: view.warmPool.size, ready: view.warmPool.ready, claims: view.warmPool.claims }, { size: 1, ready: 1, claims: 1 });
    assert.ok(view.warmPool.instanceSeconds > 0 && view.warmPool.costPerHour > 0, JSON.stringify(view.warmPool));
    assert.deepEqual(load.failed, []);
  });
});
