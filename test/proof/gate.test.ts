// Integration tests: the proof gate in the live loop, with real sample-service instances under the local
// provider, the real gateway, real trials and a real SQLite store: a scale-in held until its trial
// passes; an emergency scale-up that does not wait; `run` killed -9 in the middle of a trial, then
// restarted: the trial is found in the store, its instance deleted, no change made without a verdict.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import type { LoopEvent } from '../../src/control/loop.js';
import { Runtime } from '../../src/control/runtime.js';
import { startLoad } from '../../src/gateway/loadgen.js';
import { Store } from '../../src/metrics/store.js';
import { pidAlive } from '../../src/providers/local.js';
import { killOwnedAfter, startCli, tempDir, until } from '../helpers.js';

// Four slots of 20 ms, constant: the model says about 190 req/s per instance within a p99 of 1 s (the
// generous SLO keeps the verdicts clear of the stalls of a machine shared with other tests). Trials of
// 1000 answers per step (5 to 8 s a step): the upper bound on a p99 is then the 995th answer.
const QUICK = '  quick: { slots: 4, serviceTimeMs: 20, queueLimit: 200, provisioningSeconds: 0.1, warmupSeconds: 0, warmupCapacity: 1, env: { SERVICE_TIME_DIST: constant } }\n';

function config(dir: string, scaling: string, pool = '{ min: 1, max: 4 }'): string {
  const file = join(dir, 'run.yaml');
  writeFileSync(
    file,
    `instanceTypes:\n${QUICK}services:\n  - name: web\n    instanceType: quick\n    pool: ${pool}\n    slo: { latencyP99Ms: 1000, errorRate: 0.01 }\n` +
      `    scaling:\n      strategy: reactive\n      periodSeconds: 0.5\n      staleMetricsSeconds: 2\n      reactive: { metricWindowSeconds: 1, targetUtilization: 0.5, scaleDown: { stabilizationWindowSeconds: 0 } }\n${scaling}` +
      `gateway: { listen: 127.0.0.1:0 }\nstore: { path: ${join(dir, 'store.db')} }\nprovider: { graceSeconds: 1 }\ncontrol: { tickSeconds: 0.25, forecastBucketSeconds: 1, sampling: { adaptive: false }, capacityRefit: { enabled: false } }\n`,
  );
  return file;
}

describe('the proof gate in the live loop', () => {
  it('holds a scale-in until its trial passes, then acts on it and names the trial', async (t) => {
    const dir = tempDir(t);
    const events: LoopEvent[] = [];
    const rt = await Runtime.start({ cfg: loadConfig({ file: config(dir, '      proof: required\n      trials: { samplesPerStep: 1000, maxStepSeconds: 10 }\n') }), initialInstances: 3, onEvent: (e) => events.push(e) });
    t.after(() => rt.stop({ deleteInstances: true }));
    // Idle: the HPA rule wants the minimum at once (no stabilization); the gate holds it for the proof.
    await until('a held scale-in', () => rt.store.decisions({ service: 'web' }).some((d) => d.boundReason === 'proof_pending' && d.decision.desired < 3), 20_000);
    await until('the calibration trial finished', () => rt.store.experiments().some((e) => e.kind === 'trial' && e.finishedAt !== null), 40_000);
    await until('the scale-in acted', () => rt.store.decisions({ service: 'web' }).some((d) => d.target < 3), 10_000).catch((err: Error) => {
      const last = rt.store.decisions({ service: 'web' }).at(-1);
      throw new Error(`${err.message}: trials ${JSON.stringify(rt.store.experiments().map((e) => [e.verdict, (e.details as { steps?: { verdict: string; numbers: Record<string, number> }[] }).steps?.map((x) => [x.verdict, (x as { reason?: string }).reason, x.numbers])]))}; last ${JSON.stringify([last?.boundReason, last?.decision.desired, last?.target, last?.decision.proof?.numbers])}`);
    });
    const trial = rt.store.experiments().find((e) => e.kind === 'trial') as NonNullable<ReturnType<Store['experiments']>[number]>;
    assert.equal(trial.verdict, 'pass', JSON.stringify(trial.details));
    const decisions = rt.store.decisions({ service: 'web' });
    const first = decisions.find((d) => d.target < 3);
    assert.ok((first?.decision.at as number) * 1000 >= (trial.finishedAt as number), 'no scale-in before the verdict');
    assert.ok(decisions.filter((d) => d.decision.at * 1000 < (trial.finishedAt as number)).every((d) => d.target === 3), 'every decision before it held the pool');
    assert.equal(first?.decision.proof?.status, 'proven');
    assert.equal(first?.decision.proof?.trial, trial.id);
    assert.ok((first?.decision.proof?.numbers.provenRps as number) > 100, `proven ${first?.decision.proof?.numbers.provenRps} req/s per instance`);
    await until('the trial instance deleted', async () => (await rt.provider.list()).every((i) => i.labels.trial === undefined));
    assert.ok(events.some((e) => e.kind === 'trial_started') && events.some((e) => e.kind === 'trial_finished'));
  });

  it('an emergency scale-up does not wait for a proof (unproven_emergency), while a scale-in keeps waiting', async (t) => {
    const dir = tempDir(t);
    // No budget for trials: nothing is ever proven.
    const rt = await Runtime.start({ cfg: loadConfig({ file: config(dir, '      proof: required\n      trials: { budgetShare: 0 }\n') }), initialInstances: 1 });
    t.after(() => rt.stop({ deleteInstances: true }));
    await until('the live instance routed', async () => (await rt.gateway.members()).length === 1, 20_000);
    // 4 slots of 20 ms at 150 req/s: 75 % busy against a 50 % target.
    const load = startLoad({ url: rt.listen, rate: () => 150, durationSeconds: 6, seed: 3, timeoutMs: 5000 });
    await until('an unproven emergency scale-up', () => rt.store.decisions({ service: 'web' }).some((d) => d.boundReason === 'unproven_emergency' && d.target > 1), 10_000);
    await load.done;
    const up = rt.store.decisions({ service: 'web' }).find((d) => d.boundReason === 'unproven_emergency') as NonNullable<ReturnType<Store['decisions']>[number]>;
    assert.equal(up.decision.proof?.status, 'unproven_emergency');
    assert.equal(up.decision.proof?.verdict, 'unproven');
    assert.equal(rt.store.experiments().length, 0, 'no trial within a zero budget');
    // Idle again: the scale-in waits (forever, without a proof).
    const since = Date.now();
    await until('a held scale-in', () => rt.store.decisions({ service: 'web', since }).some((d) => d.boundReason === 'proof_pending' && d.decision.desired < d.decision.current), 10_000);
    assert.ok(rt.store.decisions({ service: 'web', since }).every((d) => d.target >= up.target), 'nothing removed');
  });

  it('N+1 redundancy: an idle pool of 3 scales in to 2, not 1, once a chaos trial showed 2 survive losing one', async (t) => {
    const dir = tempDir(t);
    const rt = await Runtime.start({ cfg: loadConfig({ file: config(dir, '      proof: required\n      trials: { samplesPerStep: 600, maxStepSeconds: 6, maxConcurrent: 2, redundancy: { recoverySeconds: 1 } }\n') }), initialInstances: 3 });
    t.after(() => rt.stop({ deleteInstances: true }));
    // Idle: the HPA rule wants the minimum (1); one instance is never redundant, 2 wait for their chaos trial.
    await until('the scale-in to 2 acted', () => rt.store.decisions({ service: 'web' }).some((d) => d.target === 2), 60_000).catch((err: Error) => {
      throw new Error(`${err.message}: trials ${JSON.stringify(rt.store.experiments().map((e) => [e.id, e.verdict, (e.config as { chaos?: unknown }).chaos]))}`);
    });
    const decisions = rt.store.decisions({ service: 'web' });
    assert.ok(decisions.every((d) => d.target >= 2), 'never below 2');
    const chaos = rt.store.experiments().find((e) => e.kind === 'trial' && (e.config as { chaos?: unknown }).chaos !== undefined);
    assert.equal(chaos?.verdict, 'pass', JSON.stringify(chaos?.details));
    assert.deepEqual((chaos?.config as { instances: number }).instances, 2);
    const first = decisions.find((d) => d.target === 2);
    assert.ok((first?.decision.at as number) * 1000 >= (chaos?.finishedAt as number), 'no scale-in before the chaos verdict');
    assert.equal(first?.decision.proof?.trial, chaos?.id, 'the chaos trial decided');
    assert.ok((first?.decision.proof?.numbers.redundantRps as number) > 0);
    // Held meanwhile, and 1 was failed, not pending: losing the only instance is never survivable.
    assert.ok(decisions.some((d) => d.boundReason === 'proof_pending'));
    await until('the trial instances deleted', async () => (await rt.provider.list()).every((i) => i.labels.trial === undefined));
  });

  it('`run` killed -9 in the middle of a trial: the restart deletes the trial instance, closes it as aborted, and changes nothing without a verdict', async (t) => {
    const dir = tempDir(t);
    const storePath = join(dir, 'store.db');
    // Long steps: the trial is still running when the control plane dies.
    const file = config(dir, '      proof: required\n      trials: { samplesPerStep: 20000, maxStepSeconds: 30 }\n', '{ min: 1, max: 2 }');
    const owned = killOwnedAfter(t, storePath);
    const first = await startCli(['run', '--config', file, '--json']);
    t.after(() => void (first.child.exitCode === null && first.child.kill('SIGKILL')));
    const trialInstance = async (): Promise<{ id: string; pid: number } | undefined> => {
      const s = Store.openReadOnly(storePath);
      try {
        return s.loadInstances().find((i) => i.labels.trial !== undefined);
      } finally {
        s.close();
      }
    };
    await until('a trial instance recorded', async () => (await trialInstance()) !== undefined, 20_000);
    owned();
    const victim = (await trialInstance()) as { id: string; pid: number };
    await until('the trial instance up', () => pidAlive(victim.pid), 10_000);
    await new Promise((r) => setTimeout(r, 1000)); // in its steps
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    assert.ok(pidAlive(victim.pid), 'the trial instance outlived its control plane');
    const second = await startCli(['run', '--config', file, '--json']);
    t.after(() => void (second.child.exitCode === null && second.child.kill('SIGKILL')));
    await until('the trial instance gone', () => !pidAlive(victim.pid), 20_000);
    const s = Store.openReadOnly(storePath);
    const exps = s.experiments();
    const decisions = s.decisions({ service: 'web' });
    s.close();
    const crashed = exps.find((e) => (e.config as { instanceId?: string }).instanceId === victim.id);
    assert.equal(crashed?.verdict, 'aborted');
    assert.deepEqual(crashed?.details, { recovered: true, instance: victim.id });
    // No verdict, no proof: nothing was removed (the idle pool wanted its minimum, which it already has; nothing scaled).
    assert.ok(decisions.every((d) => !d.act || d.decision.proof?.status === 'proven' || d.decision.proof?.status === 'unproven_emergency'), 'every change acted on a verdict');
    second.child.kill('SIGKILL');
  });
});
