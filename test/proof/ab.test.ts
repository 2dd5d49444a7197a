// Integration tests: A/B arms in the shadow, with real sample-service instances under the local
// provider, the real gateway and a real SQLite store. Two arms fed the same mirrored sample, each sized
// by its own strategy; every arm decision recorded before it acts; live untouched; the arms' instances
// deleted at stop, and after a kill -9 by the next start.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { Runtime } from '../../src/control/runtime.js';
import { startLoad } from '../../src/gateway/loadgen.js';
import { Store } from '../../src/metrics/store.js';
import { abService } from '../../src/proof/ab.js';
import { pidAlive } from '../../src/providers/local.js';
import { killOwnedAfter, startCli, tempDir, until } from '../helpers.js';

// Four slots of 20 ms, constant: 200 req/s fill an instance. The reactive arm at half of 300 req/s is
// 75 % busy against a 50 % target: it grows; the predictive arm (the forecast-upper policy) plans with the
// model's capacity (about 190 req/s within the generous SLO) and stays at one.
const QUICK = '  quick: { slots: 4, serviceTimeMs: 20, queueLimit: 200, provisioningSeconds: 0.1, warmupSeconds: 0, warmupCapacity: 1, env: { SERVICE_TIME_DIST: constant } }\n';

function config(dir: string): string {
  const file = join(dir, 'run.yaml');
  writeFileSync(
    file,
    `instanceTypes:\n${QUICK}services:\n  - name: web\n    instanceType: quick\n    pool: { min: 1, max: 4 }\n    slo: { latencyP99Ms: 1000, errorRate: 0.01 }\n` +
      `    shadow: { sampling: { rate: 0.05 }, ab: { strategies: [reactive, predictive], share: 0.5 } }\n` +
      `    scaling:\n      strategy: reactive\n      predictive: { policy: forecast-upper }\n      proof: off\n      periodSeconds: 0.5\n      staleMetricsSeconds: 2\n      reactive: { metricWindowSeconds: 1, targetUtilization: 0.5, scaleDown: { stabilizationWindowSeconds: 30 } }\n` +
      `gateway: { listen: 127.0.0.1:0 }\nstore: { path: ${join(dir, 'store.db')} }\nprovider: { graceSeconds: 1 }\ncontrol: { tickSeconds: 0.25, forecastBucketSeconds: 1, sampling: { adaptive: false }, capacityRefit: { enabled: false } }\n`,
  );
  return file;
}

describe('A/B arms in the shadow', () => {
  it('feeds both arms the same sample, sizes each by its strategy, records every decision before it acts, and deletes the arms at stop', async (t) => {
    const dir = tempDir(t);
    const rt = await Runtime.start({ cfg: loadConfig({ file: config(dir) }), initialInstances: 2 });
    let stopped = false;
    t.after(() => (stopped ? undefined : rt.stop({ deleteInstances: true })));
    const ab = rt.ab as NonNullable<Runtime['ab']>;
    assert.ok(ab, 'shadow.ab configured: the runtime has arms');
    await until('both arms up', () => Object.values(ab.summary()).every((a) => a.instances >= 1), 20_000);
    await until('live routed', async () => (await rt.gateway.members()).length === 2, 20_000);
    const load = startLoad({ url: rt.listen, rate: () => 300, durationSeconds: 8, seed: 5, timeoutMs: 5000 });
    const seconds = await load.done;
    await new Promise((r) => setTimeout(r, 600)); // the last tick's traffic
    const s = ab.summary();
    const sent = seconds.reduce((x, y) => x + y.requests, 0);
    // The same sample to each arm: about half of what live received, equal on both arms.
    assert.ok(Math.abs((s.reactive?.requests ?? 0) - (s.predictive?.requests ?? 0)) <= 5, JSON.stringify(s));
    assert.ok((s.reactive?.requests ?? 0) > sent * 0.4 && (s.reactive?.requests ?? 0) < sent * 0.6, `${s.reactive?.requests} of ${sent}`);
    // Each sized by its own strategy.
    assert.ok((s.reactive?.maxInstances ?? 0) >= 2, `reactive arm ${JSON.stringify(s.reactive)}`);
    assert.equal(s.predictive?.maxInstances, 1, `predictive arm ${JSON.stringify(s.predictive)}`);
    assert.ok((s.reactive?.actions ?? 0) >= 1);
    // Every arm instance created by a decision names a recorded decision of its arm.
    const decisions = rt.store.decisions({ service: abService('web', 'reactive'), limit: 10_000 });
    assert.ok(decisions.length > 3);
    assert.equal(rt.store.decisions({ service: 'web', limit: 10_000 }).filter((d) => d.decision.numbers?.share !== undefined).length, 0, "the arms' decisions are apart from live's");
    const arms = (await rt.provider.list()).filter((i) => i.labels.ab === 'reactive');
    for (const i of arms.filter((x) => /-d\d+-/.test(x.id))) {
      const seq = Number(/-d(\d+)-/.exec(i.id)?.[1]);
      const d = decisions.find((x) => x.seq === seq);
      assert.ok(d && d.target > d.decision.current, `${i.id}: its decision ${JSON.stringify(d)}`);
    }
    // Live untouched: its shadow pool is the regular one, arm instances are not counted in it.
    const shadow = (await rt.provider.list()).filter((i) => i.pool === 'shadow' && i.labels.ab === undefined && i.labels.trial === undefined);
    assert.ok(shadow.length >= 1 && shadow.length <= 2, `shadow pool ${shadow.map((i) => i.id)}`);
    stopped = true;
    const storePath = rt.store.path;
    const pids = (await rt.provider.list()).filter((i) => i.labels.ab !== undefined);
    assert.ok(pids.length >= 3);
    await rt.stop({ deleteInstances: false });
    // Stopped without deleting live: the arms go anyway (an experiment ends with its run).
    const st = Store.openReadOnly(storePath);
    const left = st.loadInstances();
    const exp = st.experiments().find((e) => e.kind === 'ab');
    st.close();
    assert.ok(left.every((i) => i.labels.ab === undefined), `arm instances left: ${left.filter((i) => i.labels.ab).map((i) => i.id)}`);
    assert.equal(exp?.verdict, 'done');
    assert.deepEqual(Object.keys((exp?.details as { arms: object }).arms), ['reactive', 'predictive']);
    // The live instances kept running for the next run: stop them.
    const again = await Runtime.start({ cfg: loadConfig({ file: config(dir) }), autoTick: false });
    await again.stop({ deleteInstances: true });
  });

  it('`run --json` stopped by SIGTERM prints the arms\' figures (ab_summary) and deletes the arm instances', async (t) => {
    const dir = tempDir(t);
    const storePath = join(dir, 'store.db');
    const run = await startCli(['run', '--config', config(dir), '--json', '--stop-instances']);
    t.after(() => void (run.child.exitCode === null && run.child.kill('SIGKILL')));
    let err = '';
    run.child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await until('two arm instances recorded', () => {
      const st = Store.openReadOnly(storePath);
      try {
        return st.loadInstances().filter((i) => i.labels.ab !== undefined).length === 2;
      } finally {
        st.close();
      }
    }, 20_000);
    run.child.kill('SIGTERM');
    const code = await new Promise((r) => run.child.once('exit', r));
    assert.equal(code, 0, err);
    // Listening from after the first stdout line: the first chunk may start mid-line.
    const events = err.split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as { kind: string; arms?: Record<string, { sloViolationSeconds: number; actions: number }> }];
      } catch {
        return [];
      }
    });
    const summary = events.find((e) => e.kind === 'ab_summary');
    assert.deepEqual(Object.keys(summary?.arms ?? {}), ['reactive', 'predictive'], err);
    const st = Store.openReadOnly(storePath);
    const left = st.loadInstances();
    st.close();
    assert.deepEqual(left, [], 'nothing left: arms and (with --stop-instances) live');
  });

  it('`run` killed -9 with arms up: the restart deletes the arm instances and closes the A/B as aborted', async (t) => {
    const dir = tempDir(t);
    const storePath = join(dir, 'store.db');
    const file = config(dir);
    const owned = killOwnedAfter(t, storePath);
    const first = await startCli(['run', '--config', file, '--json']);
    t.after(() => void (first.child.exitCode === null && first.child.kill('SIGKILL')));
    const armInstances = (): { id: string; pid: number }[] => {
      const s = Store.openReadOnly(storePath);
      try {
        return s.loadInstances().filter((i) => i.labels.ab !== undefined);
      } finally {
        s.close();
      }
    };
    await until('two arm instances recorded', () => armInstances().length === 2, 20_000);
    owned();
    const victims = armInstances();
    await until('the arm instances up', () => victims.every((v) => pidAlive(v.pid)), 10_000);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    assert.ok(victims.every((v) => pidAlive(v.pid)), 'the arm instances outlived their control plane');
    const second = await startCli(['run', '--config', file, '--json']);
    t.after(() => void (second.child.exitCode === null && second.child.kill('SIGKILL')));
    await until('the old arm instances gone', () => victims.every((v) => !pidAlive(v.pid)), 20_000);
    await until('the new run has arms of its own', () => armInstances().filter((i) => !victims.some((v) => v.id === i.id)).length === 2, 20_000);
    const s = Store.openReadOnly(storePath);
    const exps = s.experiments().filter((e) => e.kind === 'ab');
    s.close();
    assert.equal(exps.length, 2);
    assert.equal(exps[0]?.verdict, 'aborted');
    assert.deepEqual((exps[0]?.details as { instances: string[] }).instances.sort(), victims.map((v) => v.id).sort());
    assert.equal(exps[1]?.finishedAt, null, "the new run's A/B is open");
    second.child.kill('SIGKILL');
  });
});
