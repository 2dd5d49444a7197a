// Integration tests: trials on real sample-service instances under the local provider, with a real
// SQLite store: a comfortable candidate passes, an under-sized one fails, the capacity at the SLO is
// measured, an aborted trial and a crashed one (kill -9 of its owner, then recovery) leave no instance.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { maxRateAtSlo } from '../../src/core/capacity.js';
import type { VerdictSettings } from '../../src/core/verdict.js';
import { Store } from '../../src/metrics/store.js';
import { recoverTrials, runTrial, trialInstanceId, type TrialPlan } from '../../src/proof/trial.js';
import { LocalProvider, pidAlive } from '../../src/providers/local.js';
import { ROOT, tempDir } from '../helpers.js';

// Two slots of 10 ms (exponential service times, as the capacity model assumes); p99 within 100 ms.
const SLOTS = 2;
const SERVICE_S = 0.01;
const SLO_S = 0.1;
const CAPACITY = maxRateAtSlo(SLOTS, SERVICE_S, SLO_S);
const SETTINGS: VerdictSettings = { sloLatencyMs: SLO_S * 1000, sloErrorRate: 0.01, level: 0.95, minAchieved: 0.9 };

async function setup(t: { after: (fn: () => Promise<void> | void) => void }, dir = tempDir(t)) {
  const store = Store.open({ path: join(dir, 'store.db') });
  const provider = await LocalProvider.start({
    command: [process.execPath, join(ROOT, 'dist', 'examples', 'sample-service', 'server.js')],
    instanceTypes: { fast: { SLOTS: String(SLOTS), SERVICE_TIME_MS: String(SERVICE_S * 1000), SERVICE_TIME_DIST: 'exponential', QUEUE_LIMIT: '400' }, kv: { SLOTS: String(SLOTS), SERVICE_TIME_MS: String(SERVICE_S * 1000), SERVICE_TIME_DIST: 'exponential', QUEUE_LIMIT: '400', MODE: 'kv' } },
    registry: store,
    owner: `shadowscale:store:${store.id}`,
    logDir: join(dir, 'logs'),
    healthIntervalMs: 50,
    readyTimeoutMs: 10_000,
    graceMs: 1000,
  });
  t.after(async () => {
    for (const i of await provider.list()) await provider.delete(i.id).catch(() => undefined);
    await provider.close();
    store.close();
  });
  return { store, provider, dir };
}

const plan = (id: string, perInstanceRps: number, stepFractions: number[], extra: Partial<TrialPlan> = {}): TrialPlan => ({
  id,
  service: 'web',
  instanceType: 'fast',
  perInstanceRps,
  stepFractions,
  minSamplesPerStep: 500,
  minStepSeconds: 2,
  maxStepSeconds: 6,
  warmupSeconds: 0.2,
  path: '/work',
  seed: 7,
  ...extra,
});

describe('trials on the shadow', () => {
  it(`a comfortable candidate (half the ${CAPACITY.toFixed(0)} req/s capacity) passes, and its instance is gone afterwards`, async (t) => {
    const { store, provider } = await setup(t);
    // 800 answers: enough for the p99's upper bound to sit well below the maximum. Under the loaded suite on
    // 2 cores a stall can lift the p99 near the SLO and leave the verdict inconclusive (CI: p99 92 ms, its
    // interval 63-146 ms): one more trial then. A fail, or two inconclusive trials, fails the test.
    let id = '';
    const seen: string[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      id = `t-pass-${attempt}`;
      const r = await runTrial(plan(id, 0.5 * CAPACITY, [1], { minSamplesPerStep: 800, maxStepSeconds: 12 }), { provider, log: store, readyTimeoutMs: 10_000 }, SETTINGS);
      seen.push(`${r.verdict}: ${JSON.stringify(r.steps.map((s) => s.numbers))}`);
      assert.notEqual(r.verdict, 'fail', seen.join('; then '));
      assert.deepEqual(await provider.list(), []);
      if (r.verdict === 'pass') {
        assert.ok((r.steps[0]?.numbers.requests ?? 0) >= 700);
        break;
      }
      if (attempt === 1) assert.fail(seen.join('; then '));
      t.diagnostic(`first trial inconclusive on a loaded machine, measuring again: ${seen[0]}`);
    }
    const e = store.experiments().find((x) => x.id === id);
    assert.equal(e?.verdict, 'pass');
    assert.ok(e?.finishedAt !== null);
  });

  it('an under-sized candidate (160 % of capacity) fails its trial', async (t) => {
    const { store, provider } = await setup(t);
    const r = await runTrial(plan('t-fail', 1.6 * CAPACITY, [0.5, 1]), { provider, log: store, readyTimeoutMs: 10_000 }, SETTINGS);
    assert.equal(r.verdict, 'fail', JSON.stringify(r.steps.map((s) => s.numbers)));
    assert.equal(r.steps[1]?.verdict, 'fail');
    assert.deepEqual(await provider.list(), []);
  });

  it('the steps measure the capacity at the SLO within 25 % of the model (exponential service: the model is exact)', async (t) => {
    const { store, provider } = await setup(t);
    // A measurement on a shared 2-core machine can be disturbed (another test's processes stall this one's
    // instance for a few hundred ms, and a step fails far below capacity): one more trial then, and the
    // test fails only if that one misses too.
    const seen: string[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await runTrial(plan(`t-capacity-${attempt}`, CAPACITY, [0.6, 0.8, 1, 1.2, 1.4]), { provider, log: store, readyTimeoutMs: 10_000 }, SETTINGS);
      const c = r.capacityAtSloRps;
      const measured = c.estimate ?? c.atLeast ?? c.atMost ?? Number.NaN;
      seen.push(`measured ${JSON.stringify(c)} vs model ${CAPACITY.toFixed(1)}: ${JSON.stringify(r.steps.map((s) => [s.numbers.achievedRps.toFixed(0), s.numbers.p99Ms]))}`);
      if (Math.abs(measured / CAPACITY - 1) <= 0.25) break;
      if (attempt === 1) assert.fail(seen.join('; then '));
      t.diagnostic(`first trial disturbed, measuring again: ${seen[0]}`);
    }
  });

  it('an aborted trial deletes its instance and is closed as aborted', async (t) => {
    const { store, provider } = await setup(t);
    const ac = new AbortController();
    const p = runTrial(plan('t-abort', 0.5 * CAPACITY, [1], { minStepSeconds: 5 }), { provider, log: store, readyTimeoutMs: 10_000, signal: ac.signal, onStep: () => undefined }, SETTINGS);
    // Abort once the instance runs.
    for (let i = 0; i < 200 && !(await provider.get(trialInstanceId('t-abort'))); i++) await new Promise((r) => setTimeout(r, 20));
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    assert.deepEqual(await provider.list(), []);
    assert.equal(store.experiments().find((x) => x.id === 't-abort')?.verdict, 'aborted');
  });

  it('a trial its owner left open (kill -9): the next start deletes its instance and closes it as aborted', async (t) => {
    const dir = tempDir(t);
    const first = await setup(t, dir);
    // What a crash mid-trial leaves: the record, and the instance running.
    first.store.startExperiment({ id: 't-crash', service: 'web', kind: 'trial', startedAt: Date.now(), config: { instanceId: trialInstanceId('t-crash') } });
    const inst = await first.provider.create({ id: trialInstanceId('t-crash'), service: 'web', pool: 'shadow', instanceType: 'fast', labels: { trial: 't-crash' } });
    assert.ok(inst);
    const pid = first.store.loadInstances()[0]?.pid as number;
    assert.ok(pidAlive(pid));
    await first.provider.close();
    first.store.close();
    // The next owner adopts the instance from the store, then recovers the trial.
    const second = await setup(t, dir);
    assert.equal((await second.provider.list()).length, 1, 'adopted');
    assert.deepEqual(await recoverTrials(second.store, second.provider), ['t-crash']);
    assert.deepEqual(await second.provider.list(), []);
    assert.ok(!pidAlive(pid), 'the process is gone');
    const e = second.store.experiments().find((x) => x.id === 't-crash');
    assert.equal(e?.verdict, 'aborted');
    assert.deepEqual(await recoverTrials(second.store, second.provider), [], 'nothing left to recover');
  });

  it('chaos: three instances lose one mid-step; the two survivors carry 1.5 x each and hold the SLO after the recovery window (pass)', async (t) => {
    const { store, provider } = await setup(t);
    // 0.4 of capacity each; after the loss 0.6 each: p99 about 48 ms alone. Run beside the rest of the suite
    // on 2 cores, the survivors were starved of CPU (CI twice: p99 157 and 140 ms against 100 ms), so these
    // trials run in the serial phase (*.serial.test.ts). One more trial still if a stall hits it; two
    // misses fail the test, and the companion below must fail on the first.
    const seen: string[] = [];
    let id = '';
    for (let attempt = 0; attempt < 2; attempt++) {
      id = `t-chaos-${attempt}`;
      const r = await runTrial(plan(id, 0.4 * CAPACITY, [1], { instances: 3, chaos: { afterSeconds: 1, recoverySeconds: 2 }, minSamplesPerStep: 1000, maxStepSeconds: 10 }), { provider, log: store, readyTimeoutMs: 10_000 }, SETTINGS);
      seen.push(`${r.verdict}: ${JSON.stringify({ steps: r.steps.map((s) => s.numbers), chaos: r.chaos })}`);
      assert.equal(r.chaos?.killed, trialInstanceId(id, 2));
      assert.deepEqual(await provider.list(), [], 'every trial instance deleted, the killed one too');
      assert.equal(provider.crashes, attempt + 1, 'the kill is seen as a crash');
      if (r.verdict === 'pass') {
        t.diagnostic(`survivors' p99 ${r.steps[0]?.numbers.p99Ms} ms from the recovery window on (SLO ${SETTINGS.sloLatencyMs} ms)`);
        break;
      }
      if (attempt === 1) assert.fail(seen.join('; then '));
      t.diagnostic(`first chaos trial missed on a loaded machine, trying again: ${seen[0]}`);
    }
    const e = store.experiments().find((x) => x.id === id);
    assert.deepEqual((e?.config as { instanceIds: string[] }).instanceIds, [0, 1, 2].map((k) => trialInstanceId(id, k)));
  });

  it('chaos: two instances at 0.8 of capacity lose one; the survivor is over capacity and the trial fails', async (t) => {
    const { store, provider } = await setup(t);
    const r = await runTrial(plan('t-chaos-fail', 0.8 * CAPACITY, [1], { instances: 2, chaos: { afterSeconds: 1, recoverySeconds: 2 }, minSamplesPerStep: 600, maxStepSeconds: 8 }), { provider, log: store, readyTimeoutMs: 10_000 }, SETTINGS);
    assert.equal(r.verdict, 'fail', JSON.stringify({ steps: r.steps.map((s) => s.numbers), chaos: r.chaos }));
    assert.deepEqual(await provider.list(), []);
  });

  const latencyRows = [
    // Slowed by far less than the SLO: the others and the balancer absorb it.
    { note: 'chaos (latency): one of three slowed by 20 ms on every request; p99 stays within the SLO (pass)', delayMs: 20, want: 'pass' },
    // A gray failure: slowed past the SLO, not dead, so neither ejected nor killed; the balancer still sends it
    // a share (least outstanding of two), and those answers are over the SLO.
    { note: 'chaos (latency): one of three slowed by 150 ms, past the SLO; the answers it still gets break the p99 (fail)', delayMs: 150, want: 'fail' },
  ] as const;
  for (const row of latencyRows) {
    it(row.note, async (t) => {
      const { store, provider } = await setup(t);
      const id = `t-slow-${row.delayMs}`;
      const r = await runTrial(plan(id, 0.4 * CAPACITY, [1], { instances: 3, chaos: { kind: 'latency', delayMs: row.delayMs, afterSeconds: 1, recoverySeconds: 1 }, minSamplesPerStep: 1500, maxStepSeconds: 10 }), { provider, log: store, readyTimeoutMs: 10_000 }, SETTINGS);
      assert.equal(r.verdict, row.want, JSON.stringify({ steps: r.steps.map((s) => s.numbers), chaos: r.chaos }));
      t.diagnostic(`slowed by ${row.delayMs} ms: p99 ${r.steps[0]?.numbers.p99Ms} ms from the recovery window on (SLO ${SETTINGS.sloLatencyMs} ms)`);
      assert.deepEqual(r.chaos && { kind: r.chaos.kind, killed: r.chaos.killed, delayMs: r.chaos.delayMs }, { kind: 'latency', killed: trialInstanceId(id, 2), delayMs: row.delayMs });
      assert.equal(provider.crashes, 0, 'slowed, not killed');
      assert.deepEqual(await provider.list(), [], 'every trial instance deleted');
    });
  }

  it('a multi-instance trial left open by a crash: recovery deletes every one of its instances', async (t) => {
    const dir = tempDir(t);
    const first = await setup(t, dir);
    const ids = [0, 1].map((k) => trialInstanceId('t-crash2', k));
    first.store.startExperiment({ id: 't-crash2', service: 'web', kind: 'trial', startedAt: Date.now(), config: { instanceId: ids[0], instanceIds: ids } });
    for (const id of ids) await first.provider.create({ id, service: 'web', pool: 'shadow', instanceType: 'fast', labels: { trial: 't-crash2' } });
    const pids = first.store.loadInstances().map((x) => x.pid);
    await first.provider.close();
    first.store.close();
    const second = await setup(t, dir);
    assert.deepEqual(await recoverTrials(second.store, second.provider), ['t-crash2']);
    assert.deepEqual(await second.provider.list(), []);
    assert.ok(pids.every((p) => !pidAlive(p)));
    assert.deepEqual(second.store.experiments().find((x) => x.id === 't-crash2')?.details, { recovered: true, instances: ids });
  });

  it("stateful: the trial instance starts from live's state snapshot; the record names its size, never its content", async (t) => {
    const { store, provider } = await setup(t);
    const live = await provider.create({ id: 'kv-live', service: 'web', pool: 'live', instanceType: 'kv' });
    for (let i = 0; i < 200 && (await provider.get(live.id))?.state !== 'ready'; i++) await new Promise((r) => setTimeout(r, 50));
    await (await fetch(`${live.url}/kv/secret-key`, { method: 'PUT', body: 'hunter2' })).text();
    const snapshot = await (await fetch(`${live.url}/state/snapshot`)).text();
    // After the first step (the instance still has the second to run): what it holds under the key.
    let held: Promise<string> | undefined;
    const onStep = (k: number): void => {
      if (k === 0) held = provider.get(trialInstanceId('t-state')).then(async (i) => (await fetch(`${i?.url}/kv/secret-key`)).text());
    };
    const r = await runTrial(plan('t-state', 0.3 * CAPACITY, [0.5, 1], { instanceType: 'kv', path: '/kv/secret-key', state: snapshot, minSamplesPerStep: 400, maxStepSeconds: 4 }), { provider, log: store, readyTimeoutMs: 10_000, onStep }, SETTINGS);
    // Short steps: the verdict is not the point here (too few answers for a p99 bound), the state is.
    assert.equal(r.unhealthy, undefined);
    assert.equal(r.steps.length, 2);
    assert.match(await (held as Promise<string>), /"value":"hunter2"/, 'the trial instance has the live key');
    const e = store.experiments().find((x) => x.id === 't-state');
    assert.deepEqual((e?.config as { state: unknown }).state, { bytes: Buffer.byteLength(snapshot) });
    assert.doesNotMatch(JSON.stringify(e), /hunter2/, 'the live state is not in the store');
    assert.deepEqual((await provider.list()).map((i) => i.id), ['kv-live'], 'the trial instance is gone');
  });

  it('stateful: a snapshot the instance refuses makes the trial inconclusive (shadow_unhealthy), and its instance goes', async (t) => {
    const { store, provider } = await setup(t);
    const r = await runTrial(plan('t-badstate', 0.3 * CAPACITY, [1], { instanceType: 'kv', state: 'not a snapshot' }), { provider, log: store, readyTimeoutMs: 10_000 }, SETTINGS);
    assert.deepEqual([r.verdict, r.reason], ['inconclusive', 'shadow_unhealthy']);
    assert.match(r.unhealthy ?? '', /state copy into t-badstate-i0: PUT \/state\/snapshot answered 400/);
    assert.deepEqual(await provider.list(), []);
  });
});
