// `shadowscale run` on Kubernetes (issue 15): provider.kind kubernetes against a real kube-apiserver, with
// the node simulator running each pod as a real sample-service process on its own loopback address, the
// embedded gateway routing clients to the pods, and two replicas electing a leader on a Lease (each with a
// token bound to deploy/kubernetes/rbac.yaml). The leader scales the user's Deployment through its scale
// subresource on the traffic it measures; the follower acts on nothing and is not ready (/readyz 503);
// the leader dies and the follower takes over within 15 s, adopting what the cluster has: it creates
// nothing again.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import type { LoopEvent } from '../../src/control/loop.js';
import { Runtime, SAMPLE_SERVICE } from '../../src/control/runtime.js';
import type { InstanceEvent } from '../../src/providers/local.js';
import { clients, startCli, tempDir, until } from '../helpers.js';
import { Store } from '../../src/metrics/store.js';
import { applyRbac, saToken, startCluster, type Cluster } from './cluster.js';
import { startNodes } from './nodes.js';

const config = (dir: string, name: string, kubeconfig: string): string => {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `instanceTypes:\n  small: { slots: 1, serviceTimeMs: 40, queueLimit: 50, provisioningSeconds: 0.1, warmupSeconds: 0, warmupCapacity: 1 }\n` +
      `services:\n  - name: web\n    instanceType: small\n    pool: { min: 1, max: 3 }\n    shadow: { fraction: 0.25 }\n    scaling: { strategy: reactive, periodSeconds: 1, proof: off }\n` +
      `gateway: { listen: 127.0.0.1:0 }\nstore: { path: ${join(dir, `${name}.db`)} }\ncontrol: { tickSeconds: 0.5, forecastBucketSeconds: 1 }\n` +
      `provider:\n  kind: kubernetes\n  graceSeconds: 1\n  readyTimeoutSeconds: 30\n  kubernetes:\n    kubeconfig: ${kubeconfig}\n    types: { small: { requests: { cpu: 100m, memory: 64Mi } } }\n` +
      `    leaderElection: { identity: ${name}, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retrySeconds: 0.5 }\n`,
  );
  return file;
};

/**
 * A cluster whose simulated nodes run pods as sample-service processes, the ServiceAccount of
 * deploy/kubernetes/rbac.yaml (its kubeconfig), and the user's Deployment `web` at 0 replicas with `env`.
 */
async function webOnCluster(t: Parameters<typeof startCluster>[0], env: Readonly<Record<string, string>>): Promise<{ c: Cluster; kubeconfig: string } | undefined> {
  const c = await startCluster(t);
  if (!c) return undefined;
  const sim = await startNodes(c, { startDelayMs: 100, pollMs: 100, exec: { command: [process.execPath, SAMPLE_SERVICE] } });
  t.after(() => sim.stop());
  await applyRbac(c, 'default');
  const kubeconfig = c.kubeconfig(await saToken(c, 'default', 'shadowscale'));
  const dep = await c.api('POST', '/apis/apps/v1/namespaces/default/deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { replicas: 0, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'sample-service:1', ports: [{ containerPort: 8080 }], env: Object.entries(env).map(([name, value]) => ({ name, value })) }] } } },
  });
  assert.equal(dep.status, 201);
  return { c, kubeconfig };
}

describe('shadowscale run on Kubernetes', () => {
  it('the leader scales the Deployment on measured traffic; the follower waits; after the leader dies the follower leads within 15 s and repeats nothing', async (t) => {
    const setup = await webOnCluster(t, { SLOTS: '1', SERVICE_TIME_MS: '40', QUEUE_LIMIT: '50' });
    if (!setup) return;
    const { c, kubeconfig } = setup;
    const replicas = async (): Promise<number> => ((await c.api('GET', '/apis/apps/v1/namespaces/default/deployments/web')).body as { spec: { replicas: number } }).spec.replicas;
    const dir = tempDir(t);

    const eventsA: LoopEvent[] = [];
    const a = await Runtime.start({ cfg: loadConfig({ file: config(dir, 'replica-a', kubeconfig) }), env: {}, onEvent: (e) => eventsA.push(e) });
    t.after(() => a.stop());
    await until('replica-a leads', () => a.elector?.leading === true, 20_000);
    const eventsB: LoopEvent[] = [];
    const createdByB: InstanceEvent[] = [];
    const b = await Runtime.start({ cfg: loadConfig({ file: config(dir, 'replica-b', kubeconfig) }), env: {}, onEvent: (e) => eventsB.push(e), onInstanceEvent: (e) => e.kind === 'created' && createdByB.push(e) });
    t.after(() => b.stop({ deleteInstances: true }));

    // The leader brings up its live and shadow pods and routes clients to them; the load needs 3.
    await until('a live pod ready in the gateway', async () => (await a.provider.list({ service: 'web', pool: 'live' })).some((i) => i.state === 'ready'), 60_000);
    const load = clients(t, `${a.listen}/work`, 4);
    await until('the leader scaled the Deployment to 3', async () => a.loop.state().target === 3 && (await replicas()) === 3 && (await a.provider.list({ service: 'web', pool: 'live' })).filter((i) => i.state === 'ready').length === 3, 90_000);
    assert.ok(load.ok > 50, `answers through the gateway from the pods' processes: ${load.ok}`);
    const shadowDeps = ((await c.api('GET', '/apis/apps/v1/namespaces/default/deployments?labelSelector=shadowscale.dev%2Frole%3Dshadow')).body as { items: { spec: { replicas: number } }[] }).items;
    assert.deepEqual(shadowDeps.map((d) => d.spec.replicas), [1], "the shadow: a Deployment of the live template's pods");
    // Each rescale an Event on the Deployment, as the HPA reports its own.
    await until('the rescales as Events on the Deployment', async () => {
      const events = ((await c.api('GET', '/api/v1/namespaces/default/events')).body as { items: { reason: string; message: string; source: { component: string }; involvedObject: { kind: string; name: string } }[] }).items;
      return events.some((e) => e.source.component === 'shadowscale' && e.involvedObject.kind === 'Deployment' && e.involvedObject.name === 'web' && /New size: [23] \(from [12]\); reason: \w+/.test(e.message));
    }, 10_000);

    // The follower acts on nothing and takes no traffic.
    assert.equal(b.elector?.leading, false);
    assert.equal(b.store.decisions({ service: 'web' }).length, 0, 'a follower decides nothing');
    assert.equal((await fetch(`${b.apiUrl}/readyz`)).status, 503);
    assert.equal((await fetch(`${a.apiUrl}/readyz`)).status, 200);
    assert.equal(createdByB.length, 0);

    // The leader dies: it stops renewing and acting, without handing the lease back.
    const before = (await a.provider.list({ service: 'web' })).filter((i) => i.state !== 'failed').map((i) => i.id).sort();
    await a.pauseTicking();
    const died = Date.now();
    await a.elector?.stop();
    await until('replica-b leads', () => b.elector?.leading === true, 20_000);
    const failover = (Date.now() - died) / 1000;
    t.diagnostic(`failover ${failover.toFixed(1)} s (lease 4 s)`);
    assert.ok(failover <= 15, `failover ${failover} s`);
    assert.ok(eventsB.some((e) => e.kind === 'leadership' && /replica-b leads/.test(e.detail)));
    // The new leader's clients; its first decisions start from the 3 instances the cluster has.
    clients(t, `${b.listen}/work`, 4);
    await until('replica-b decided', () => b.store.decisions({ service: 'web' }).length >= 3, 20_000);
    const first = b.store.decisions({ service: 'web' })[0];
    assert.equal(first?.decision.current, 3, `the new leader adopted the 3 live instances: ${JSON.stringify(first?.decision)}`);
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(createdByB.length, 0, `the new leader created nothing again: ${createdByB.map((e) => e.instance).join(', ')}`);
    assert.ok((await replicas()) <= 3);
    const after = (await b.provider.list({ service: 'web' })).filter((i) => i.state !== 'failed').map((i) => i.id).sort();
    assert.deepEqual(after.filter((id) => !before.includes(id)), [], 'no instance the old leader did not have');
    // Ready once it leads and its gateway routes to the adopted pods.
    await until('replica-b ready', async () => (await fetch(`${b.apiUrl}/readyz`)).status === 200, 10_000);
  });

  it('kill -9 of the leader mid scale-out: the restarted run adopts every pod, leaves no orphan or released pod, and keeps the decisions', async (t) => {
    const setup = await webOnCluster(t, { SLOTS: '1', SERVICE_TIME_MS: '40' });
    if (!setup) return;
    const { c, kubeconfig } = setup;
    const replicas = async (): Promise<number> => ((await c.api('GET', '/apis/apps/v1/namespaces/default/deployments/web')).body as { spec: { replicas: number } }).spec.replicas;
    interface Pod { metadata: { name: string; deletionTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string> } }
    const pods = async (): Promise<Pod[]> => ((await c.api('GET', '/api/v1/namespaces/default/pods')).body as { items: Pod[] }).items.filter((p) => !p.metadata.deletionTimestamp);
    const dir = tempDir(t);
    const file = config(dir, 'replica-a', kubeconfig);

    const first = await startCli<{ listen: string }>(['run', '--config', file, '--json']);
    t.after(() => void (first.child.exitCode === null && first.child.kill('SIGKILL')));
    clients(t, `${first.first.listen}/work`, 4);
    await until('the scale-out under way (replicas 2)', async () => (await replicas()) >= 2, 90_000);
    // kill -9 in the middle of it.
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const read = Store.openReadOnly(join(dir, 'replica-a.db'));
    const decisionsBefore = read.decisions({ service: 'web' }).map((d) => d.seq);
    read.close();
    assert.ok(decisionsBefore.length > 0);

    const created: InstanceEvent[] = [];
    const second = await Runtime.start({ cfg: loadConfig({ file }), env: {}, onInstanceEvent: (e) => e.kind === 'created' && created.push(e) });
    t.after(() => second.stop({ deleteInstances: true }));
    await until('the restarted run leads (the dead one held the lease)', () => second.elector?.leading === true, 20_000);
    clients(t, `${second.listen}/work`, 4);
    // Every pod of web and of its shadow is an instance the new run holds; nothing released is left; at most the 3 the pool allows.
    let most = 0;
    await until(
      'every pod adopted or removed',
      async () => {
        const listed = new Map((await second.provider.list({ service: 'web' })).map((i) => [i.id, i]));
        const ps = await pods();
        most = Math.max(most, ps.filter((p) => p.metadata.labels?.app === 'web').length);
        const ours = ps.filter((p) => p.metadata.labels?.app === 'web' || p.metadata.labels?.['shadowscale.dev/service'] === 'web');
        // A pod no instance claimed is an instance under its own name (adopted as it is).
        const held = ours.every((p) => listed.get(p.metadata.annotations?.['shadowscale.dev/instance'] ?? p.metadata.name)?.state === 'ready');
        return held && !ps.some((p) => p.metadata.labels?.['shadowscale.dev/released'] !== undefined) && second.loop.state().target === 3 && (await replicas()) === 3;
      },
      90_000,
    );
    assert.ok(most <= 3, `never more live pods than the pool's max: ${most}`);
    const after = second.store.decisions({ service: 'web' }).map((d) => d.seq);
    for (const q of decisionsBefore) assert.ok(after.includes(q), `decision ${q} kept`);
    assert.ok(Math.min(...after.filter((q) => !decisionsBefore.includes(q))) > Math.max(...decisionsBefore), 'the sequence continues');
    t.diagnostic(`after the restart: ${created.length} instances created (the scale-out's rest, none again)`);
    assert.ok(created.filter((e) => e.pool === 'live').length <= 1, `the restart completed the scale-out, it did not repeat it: ${created.map((e) => e.instance).join(', ')}`);
  });
});
