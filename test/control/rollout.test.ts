// Version rollouts through the shadow (issue 13, docs/design/switchover.md), against a real runtime with
// the sample service playing the versions, under continuous client load: a good version goes live, a slow
// one is stopped in the shadow with live untouched, one that slows down only after a while passes the
// shadow and is rolled back during the shift. No client request fails in any of them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import type { LoopEvent } from '../../src/control/loop.js';
import { Runtime } from '../../src/control/runtime.js';
import { versionOf } from '../../src/providers/provider.js';
import { clients, killOwnedAfter, runCli, startCli, tempDir, until } from '../helpers.js';
import { Store } from '../../src/metrics/store.js';
import { findLeftovers } from '../../src/control/leftovers.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Two live instances of v1; versions v2 (good), slow (3x slower), late (4x slower after 8 s of uptime). */
function rolloutConfig(dir: string, extra = ''): string {
  const file = join(dir, 'run.yaml');
  writeFileSync(
    file,
    `instanceTypes:
  small:
    slots: 4
    serviceTimeMs: 10
    queueLimit: 100
    provisioningSeconds: 0.1
    warmupSeconds: 0.5
    warmupCapacity: 1
    env: { VERSION: v1 }
    versions:
      v2: { env: { VERSION: v2 } }
      slow: { env: { VERSION: slow, SLOWDOWN: "3" } }
      late: { env: { VERSION: late, SLOWDOWN: "4", DEGRADE_AFTER_SECONDS: "8" } }
services:
  - name: web
    instanceType: small
    version: base
    pool: { min: 2, max: 6 }
    shadow: { fraction: 0.5, sampling: { rate: 1 } }
    slo: { latencyP99Ms: 200, errorRate: 0.01 }
    scaling:
      strategy: reactive
      periodSeconds: 0.5
      proof: off
      reactive: { scaleDown: { stabilizationWindowSeconds: 600 } }
      switchover: { stepWeight: 20, intervalSeconds: 3, threshold: 2 }
      rollout: { shadowWindows: 3, capacityTrial: false }
      trials: { samplesPerStep: 400, maxStepSeconds: 5 }
gateway: { listen: 127.0.0.1:0, mirror: { maxRate: 1 } }
store: { path: ${join(dir, 'store.db')} }
control: { tickSeconds: 0.25, forecastBucketSeconds: 1, delta: { windowTicks: 4, minSamples: 30 }, sampling: { adaptive: false } }
provider: { graceSeconds: 1 }
${extra}`,
  );
  return file;
}

const rolloutEvents = (events: LoopEvent[]): string => JSON.stringify(events.filter((e) => e.kind === 'rollout' || e.kind === 'action_failed').map((e) => `${e.at} ${e.detail}`), null, 1);

async function start(t: import("node:test").TestContext, sets: string[] = []): Promise<{ rt: Runtime; events: LoopEvent[]; load: ReturnType<typeof clients> }> {
  const dir = tempDir(t);
  const cfg = loadConfig({ file: rolloutConfig(dir), sets });
  const events: LoopEvent[] = [];
  const rt = await Runtime.start({ cfg, env: {}, onEvent: (e) => events.push(e) });
  t.after(() => rt.stop({ deleteInstances: true }));
  await until('two live instances routed', async () => (await rt.gateway.members()).length === 2, 20_000);
  await until('a shadow ready', async () => (await rt.provider.list({ pool: 'shadow' })).some((i) => i.state === 'ready'), 20_000);
  const load = clients(t, `${rt.listen}/work`);
  await until('traffic flowing', () => load.ok > 100);
  return { rt, events, load };
}

describe('version rollouts', () => {
  it('a good version: judged on the shadow, then shifted in steps and completed; the live pool runs it; no request fails', async (t) => {
    const { rt, events, load } = await start(t);
    const v = rt.loop.startRollout('v2', 'test');
    assert.equal(v.phase, 'shadow');
    assert.equal(v.from, 'base');
    await until('the rollout completed', () => rt.loop.rolloutView()?.outcome !== undefined, 90_000);
    const r = rt.loop.rolloutView();
    assert.equal(r?.outcome, 'completed', rolloutEvents(events));
    assert.ok((r?.shadow.passed ?? 0) >= 3);
    // Steps of 20 % up to 80 %, then promoted.
    const steps = events.filter((e) => e.kind === 'rollout' && /step passed/.test(e.detail)).map((e) => e.numbers?.weight);
    assert.deepEqual(steps, [40, 60, 80], rolloutEvents(events));
    await until('only v2 serves', async () => {
      const live = (await rt.provider.list({ pool: 'live' })).filter((i) => i.state === 'ready');
      return live.length === 2 && live.every((i) => versionOf(i) === 'v2') && (await rt.gateway.members()).length === 2;
    }, 30_000);
    assert.equal(rt.loop.state().version, 'v2');
    assert.ok((load.versions.get('v2') ?? 0) > 0 && (load.versions.get('v1') ?? 0) > 0);
    const reasons = rt.store.decisionsPage({ service: 'web', limit: 20, reasons: ['rollout_started', 'rollout_shift_started', 'rollout_completed'] }).decisions.map((d) => d.decision.reason);
    assert.deepEqual(reasons.sort(), ['rollout_completed', 'rollout_shift_started', 'rollout_started']);
    assert.deepEqual(load.failed, []);
  });

  it('a slow version is stopped in the shadow: live never serves it; no request fails', async (t) => {
    const { rt, events, load } = await start(t);
    rt.loop.startRollout('slow', 'test');
    await until('the rollout finished', () => rt.loop.rolloutView()?.outcome !== undefined, 60_000);
    const r = rt.loop.rolloutView();
    assert.equal(r?.outcome, 'stopped_in_shadow', rolloutEvents(events));
    assert.equal(r?.stop, 'latency');
    assert.equal(load.versions.get('slow'), undefined);
    assert.ok((await rt.provider.list({ pool: 'live' })).every((i) => versionOf(i) === 'base'));
    // The shadow goes back to the live version.
    await until('the shadow back on base', async () => {
      const sh = (await rt.provider.list({ pool: 'shadow' })).filter((i) => i.state === 'ready');
      return sh.length > 0 && sh.every((i) => versionOf(i) === 'base');
    }, 20_000);
    assert.equal(rt.store.decisionsPage({ service: 'web', limit: 5, reasons: ['rollout_stopped'] }).decisions.length, 1);
    assert.deepEqual(load.failed, []);
  });

  it('a version that slows down after a while passes the shadow and is rolled back during the shift within interval + 1 s; no request fails', async (t) => {
    const { rt, events, load } = await start(t);
    rt.loop.startRollout('late', 'test');
    await until('the rollout finished', () => rt.loop.rolloutView()?.outcome !== undefined, 90_000);
    const r = rt.loop.rolloutView();
    assert.equal(r?.outcome, 'rolled_back', rolloutEvents(events));
    assert.ok((load.versions.get('late') ?? 0) > 0, 'the new version served some requests before the rollback');
    assert.ok(r?.rollbackSeconds !== undefined && r.rollbackSeconds <= 3 + 1, `rollback took ${r?.rollbackSeconds} s`);
    await until('only base serves', async () => (await rt.gateway.members()).length === 2 && (await rt.provider.list({ pool: 'live' })).every((i) => versionOf(i) === 'base'), 30_000);
    assert.equal(rt.loop.state().version, 'base');
    assert.deepEqual(load.failed, []);
  });
});

describe('version rollouts: kill -9 mid-shift', () => {
  it('the CLI starts a rollout on a running `run`; killed mid-shift and restarted, run rolls it back from the store: one version, the target count, no orphan', async (t) => {
    const dir = tempDir(t);
    // Long steps: the kill comes while the new version takes 20 % of the traffic.
    const config = rolloutConfig(dir);
    writeFileSync(config, `${(await import('node:fs')).readFileSync(config, 'utf8').replace('intervalSeconds: 3', 'intervalSeconds: 60')}`);
    const storePath = join(dir, 'store.db');
    const owned = killOwnedAfter(t, storePath);
    const first = await startCli<{ listen: string; api: string }>(['run', '--config', config, '--json']);
    t.after(() => void (first.child.exitCode === null && first.child.kill('SIGKILL')));
    const api = first.first.api;
    await until('two live instances ready', async () => ((await (await fetch(`${api}/api/v1/services/web`)).json()) as { live: { ready: number } }).live.ready === 2, 30_000);
    // Traffic for the shadow windows.
    let stop = false;
    const traffic = (async () => {
      while (!stop) await fetch(`${first.first.listen}/work`).then((r) => r.text()).catch(() => undefined);
    })();
    const started = await runCli(['rollout', '--api', api, '--to', 'v2', '--no-wait', '--json']);
    assert.equal(started.code, 0, started.stderr);
    const r = JSON.parse(started.stdout) as { id: string; phase: string; to: string };
    assert.equal(r.to, 'v2');
    await until('the shift under way', async () => {
      const x = (await (await fetch(`${api}/api/v1/services/web/rollouts/${r.id}`)).json()) as { shift?: { weight: number } };
      return (x.shift?.weight ?? 0) > 0;
    }, 60_000);
    stop = true;
    await traffic;
    first.child.kill('SIGKILL');
    await new Promise((res) => first.child.once('exit', res));
    const before = owned().length;
    assert.equal(before, 2 + 2 + 1, 'two of base, two of v2 and a shadow (of v2) outlive the control plane');

    const second = await startCli<{ listen: string; api: string }>(['run', '--config', config, '--json']);
    t.after(() => void (second.child.exitCode === null && second.child.kill('SIGKILL')));
    const api2 = second.first.api;
    await until('one version again: two base instances serving, nothing of v2 left', async () => {
      const inst = (await (await fetch(`${api2}/api/v1/services/web/instances`)).json()) as { instances: { id: string; pool: string; state: string; labels?: Record<string, string> }[] };
      const live = inst.instances.filter((i) => i.pool === 'live');
      return live.length === 2 && live.every((i) => i.state === 'ready' && !i.id.includes('rollout')) && owned().length === 3;
    }, 60_000);
    const view = (await (await fetch(`${api2}/api/v1/services/web/rollouts/${r.id}`)).json()) as { outcome: string; stop: string };
    assert.equal(view.outcome, 'rolled_back');
    assert.equal(view.stop, 'restarted');
    const svc = (await (await fetch(`${api2}/api/v1/services/web`)).json()) as { version: string; shadowVersion: string; target: number };
    assert.equal(svc.version, 'base');
    assert.equal(svc.target, 2);
    assert.equal((await fetch(`${second.first.listen}/work`)).headers.get('x-version'), 'v1');
    second.child.kill('SIGTERM');
    await new Promise((res) => second.child.once('exit', res));
    const s = Store.openReadOnly(storePath);
    try {
      assert.ok(s.decisions({ service: 'web', limit: 100 }).some((d) => d.decision.reason === 'rollout_rolled_back' && d.decision.numbers.restarted === 1));
    } finally {
      s.close();
    }
  });
});

describe('demo --scenario', () => {
  it('rollout-slow --json: the contract of issue 13, stopped in the shadow, no client error, nothing left running', async () => {
    const r = await runCli(['demo', '--scenario', 'rollout-slow', '--rate', '80', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out).sort(), ['clientErrors', 'clientRequests', 'newInstanceP99Ms', 'outcome', 'rollbackSeconds', 'scenario', 'warmInstanceP99Ms']);
    assert.equal(out.scenario, 'rollout-slow');
    assert.equal(out.outcome, 'stopped_in_shadow');
    assert.equal(out.clientErrors, 0);
    assert.equal(out.newInstanceP99Ms, null);
    assert.equal(out.rollbackSeconds, null);
    assert.ok((out.clientRequests as number) > 100);
    assert.ok(typeof out.warmInstanceP99Ms === 'number');
    // Its instances went with it: none carries a mark whose demo process is gone.
    assert.deepEqual(findLeftovers().instances, []);
  });

  it('an unknown scenario is a usage error naming the choices', async () => {
    const r = await runCli(['demo', '--scenario', 'rollout-fast']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /scale-out, rollout-good, rollout-slow, rollout-flaky/);
  });
});
