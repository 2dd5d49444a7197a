// The Kubernetes provider (issue 15) against a real kube-apiserver, etcd and kube-controller-manager, with a
// service-account token bound to exactly deploy/kubernetes/rbac.yaml (so the manifests are proven
// sufficient): the Provider contract every provider keeps; what the groups' Deployments look like; crash
// loops, Events, errors; a restart adopting what exists; a conflict storm of another writer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kubeConfig } from '../../src/providers/kubernetes/client.js';
import { KubernetesProvider, type KubernetesProviderOptions } from '../../src/providers/kubernetes/provider.js';
import { ANNOTATION, LABEL, releasePatch } from '../../src/providers/kubernetes/shapes.js';
import { isProviderError } from '../../src/providers/provider.js';
import { providerContract } from '../providers/contract.js';
import { until } from '../helpers.js';
import { applyRbac, saToken, startCluster, type Cluster } from './cluster.js';
import { startNodes } from './nodes.js';

interface Pod {
  metadata: { name: string; uid: string; resourceVersion: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string; ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[] };
  spec: { containers: { image: string; resources?: { requests?: Record<string, string> } }[]; nodeSelector?: Record<string, string>; tolerations?: unknown[] };
}

const webDeployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec: { replicas: 0, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web', tier: 'front' } }, spec: { containers: [{ name: 'app', image: 'sample-service:1', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '100m' } } }] } } },
};

/** A cluster with the simulated nodes, the user's Deployment `web` and the RBAC of deploy/kubernetes; the provider's settings with its token. */
async function setup(t: Parameters<typeof startCluster>[0]): Promise<{ c: Cluster; settings: (extra?: Partial<KubernetesProviderOptions>) => KubernetesProviderOptions } | undefined> {
  const c = await startCluster(t);
  if (!c) return undefined;
  const sim = await startNodes(c, { startDelayMs: 300, pollMs: 100 });
  t.after(() => sim.stop());
  await applyRbac(c, 'default');
  const token = await saToken(c, 'default', 'shadowscale');
  const r = await c.api('POST', '/apis/apps/v1/namespaces/default/deployments', webDeployment);
  assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 300));
  const settings = (extra: Partial<KubernetesProviderOptions> = {}): KubernetesProviderOptions => ({
    kubeConfig: kubeConfig({ server: c.server, token }),
    namespace: 'default',
    services: { web: { deployment: 'web', instanceType: 'small' } },
    instanceTypes: { small: { requests: { cpu: '250m', memory: '256Mi' } }, large: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '1Gi' }, nodeSelector: { type: 'simulated' }, tolerations: [{ key: 'capacity', operator: 'Equal', value: 'spot', effect: 'NoSchedule' }] } },
    versions: { v2: { image: 'sample-service:2' }, broken: { image: 'sample-service:crash' } },
    graceSeconds: 1,
    readyTimeoutMs: 30_000,
    identity: 'test-replica',
    ...extra,
  });
  return { c, settings };
}

const pods = async (c: Cluster, selector = ''): Promise<Pod[]> => ((await c.api('GET', `/api/v1/namespaces/default/pods${selector ? `?labelSelector=${encodeURIComponent(selector)}` : ''}`)).body as { items: Pod[] }).items;
const replicas = async (c: Cluster, name: string): Promise<number> => ((await c.api('GET', `/apis/apps/v1/namespaces/default/deployments/${name}`)).body as { spec: { replicas: number } }).spec.replicas;

describe('the Kubernetes provider against a real API server', () => {
  it('keeps the Provider contract with a token bound to exactly deploy/kubernetes/rbac.yaml', async (t) => {
    const s = await setup(t);
    if (!s) return;
    const p = await KubernetesProvider.start(s.settings());
    t.after(() => p.close());
    await providerContract({ provider: p, service: 'web', types: ['small', 'large'], step: () => undefined, timeoutMs: 30_000 });
    // Every change went through the scale subresource: the user's Deployment is back at 0, its pods gone.
    await until('web back to 0 pods', async () => (await pods(s.c, 'app=web')).length === 0, 30_000);
    assert.equal(await replicas(s.c, 'web'), 0);
  });

  it('makes shadow and other-type groups from the live template, reports crash loops, records Events, maps errors', async (t) => {
    const s = await setup(t);
    if (!s) return;
    const p = await KubernetesProvider.start(s.settings());
    t.after(() => p.close());
    const live = await p.create({ id: 'web-live-0', service: 'web', pool: 'live', instanceType: 'small' });
    const shadow = await p.create({ id: 'web-shadow-0', service: 'web', pool: 'shadow', instanceType: 'large', labels: { version: 'v2' } });
    await until('both ready', async () => (await p.list()).filter((i) => i.state === 'ready').length === 2, 30_000);
    // The live instance is a pod of the user's Deployment, scaled through its scale subresource.
    assert.equal(await replicas(s.c, 'web'), 1);
    const [livePod] = (await pods(s.c)).filter((x) => x.metadata.annotations?.[ANNOTATION.instance] === live.id);
    assert.ok(livePod?.metadata.ownerReferences?.some((r) => r.kind === 'ReplicaSet' && r.name.startsWith('web-')));
    // The shadow's Deployment: owned by web, its pods never selected by web's selector, the type's resources and scheduling, the version's image.
    const deps = ((await s.c.api('GET', `/apis/apps/v1/namespaces/default/deployments?labelSelector=${encodeURIComponent(`${LABEL.pool}=shadow`)}`)).body as { items: { metadata: { name: string; ownerReferences: { name: string; uid: string }[]; labels: Record<string, string> } }[] }).items;
    assert.equal(deps.length, 1);
    const webUid = ((await s.c.api('GET', '/apis/apps/v1/namespaces/default/deployments/web')).body as { metadata: { uid: string } }).metadata.uid;
    assert.deepEqual(deps[0]?.metadata.ownerReferences.map((r) => [r.name, r.uid]), [['web', webUid]]);
    assert.deepEqual([deps[0]?.metadata.labels[LABEL.service], deps[0]?.metadata.labels[LABEL.type]], ['web', 'large']);
    const [shadowPod] = (await pods(s.c)).filter((x) => x.metadata.annotations?.[ANNOTATION.instance] === shadow.id);
    assert.ok(shadowPod);
    assert.equal(shadowPod.metadata.labels?.app, undefined, 'not selected by the live Service (app=web)');
    assert.equal(shadowPod.metadata.labels?.tier, 'front', 'other template labels kept');
    assert.equal(shadowPod.spec.containers[0]?.image, 'sample-service:2');
    assert.deepEqual(shadowPod.spec.containers[0]?.resources?.requests, { cpu: '1', memory: '1Gi' });
    assert.deepEqual(shadowPod.spec.nodeSelector, { type: 'simulated' });
    assert.ok(shadowPod.spec.tolerations?.some((x) => JSON.stringify(x).includes('spot')), 'the type\'s toleration');
    assert.deepEqual((await pods(s.c, 'app=web')).map((x) => x.metadata.annotations?.[ANNOTATION.instance]), [live.id]);
    assert.deepEqual((await p.get(shadow.id))?.labels, { version: 'v2' });

    // A version whose container crash-loops: the instance fails with the reason.
    const broken = await p.create({ id: 'web-shadow-broken', service: 'web', pool: 'shadow', instanceType: 'small', labels: { version: 'broken' } });
    await until('the crash loop reported', async () => (await p.get(broken.id))?.state === 'failed', 30_000);
    assert.match((await p.get(broken.id))?.failure ?? '', /CrashLoopBackOff/);
    await p.delete(broken.id);
    await assert.rejects(p.create({ service: 'web', pool: 'shadow', instanceType: 'small', labels: { version: 'v9' } }), (e) => isProviderError(e, 'invalid') && /unknown version "v9"/.test(e.message));
    await assert.rejects(p.create({ service: 'api', pool: 'live', instanceType: 'small' }), (e) => isProviderError(e, 'invalid') && /unknown service "api"/.test(e.message));

    // A decision as an Event on the Deployment, as the HPA reports a rescale.
    await p.announce('web', { reason: 'ForecastAhead', message: 'scaled 1 -> 2: the forecast upper bound needs 2' });
    const events = ((await s.c.api('GET', '/api/v1/namespaces/default/events')).body as { items: { reason: string; message: string; involvedObject: { kind: string; name: string }; source: { component: string } }[] }).items;
    assert.ok(events.some((e) => e.reason === 'ForecastAhead' && e.involvedObject.kind === 'Deployment' && e.involvedObject.name === 'web' && e.source.component === 'shadowscale'));

    // Errors: a Deployment that does not exist; a token without the Role.
    await assert.rejects(KubernetesProvider.start(s.settings({ services: { web: { deployment: 'nope', instanceType: 'small' } } })), (e) => isProviderError(e, 'not_found') && /no Deployment "nope"/.test(e.message));
    assert.equal((await s.c.api('POST', '/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody' } })).status, 201);
    const nobody = await saToken(s.c, 'default', 'nobody');
    await assert.rejects(KubernetesProvider.start(s.settings({ kubeConfig: kubeConfig({ server: s.c.server, token: nobody }) })), (e) => isProviderError(e, 'forbidden'));
    await assert.rejects(KubernetesProvider.start(s.settings({ instanceTypes: { 'not a label': {} }, services: { web: { deployment: 'web', instanceType: 'not a label' } } })), (e) => isProviderError(e, 'invalid'));
  });

  it('a restart adopts what exists: the same ids, no second pod for a create repeated, a released pod a crash left deleted', async (t) => {
    const s = await setup(t);
    if (!s) return;
    const first = await KubernetesProvider.start(s.settings());
    const ids = ['web-live-1', 'web-live-2', 'web-live-3', 'web-live-4'];
    await Promise.all(ids.map((id) => first.create({ id, service: 'web', pool: 'live', instanceType: 'small' })));
    await first.create({ id: 'web-shadow-1', service: 'web', pool: 'shadow', instanceType: 'small' });
    await first.close(); // the watch stops; nothing is deleted (as a kill -9 would leave it)
    // A crash between the release and the delete of web-live-4: its pod is out of the Deployment, still there.
    // The patch carries the resourceVersion it was read at; the node simulator may update the pod's status in
    // between (409), as it may for the provider, which re-reads and retries: so does the test.
    const findPod4 = async () => (await pods(s.c)).filter((x) => x.metadata.annotations?.[ANNOTATION.instance] === 'web-live-4')[0];
    let pod4 = await findPod4();
    assert.ok(pod4);
    let status = 0;
    for (let attempt = 0; attempt < 5; attempt++) {
      pod4 = await findPod4();
      assert.ok(pod4);
      status = (await s.c.api('PATCH', `/api/v1/namespaces/default/pods/${pod4.metadata.name}`, releasePatch(pod4 as never, { app: 'web' }), undefined, 'application/merge-patch+json')).status;
      if (status !== 409) break;
    }
    assert.equal(status, 200);
    await until('the ReplicaSet replaced it', async () => (await pods(s.c, 'app=web')).length === 4, 30_000);

    const second = await KubernetesProvider.start(s.settings());
    t.after(() => second.close());
    await until('the released pod deleted at start', async () => !(await pods(s.c)).some((x) => x.metadata.name === pod4.metadata.name), 30_000);
    const listed = await second.list({ service: 'web' });
    for (const id of ['web-live-1', 'web-live-2', 'web-live-3', 'web-shadow-1']) assert.ok(listed.some((i) => i.id === id), `${id} adopted`);
    const before = (await pods(s.c)).length;
    assert.equal((await second.create({ id: 'web-live-1', service: 'web', pool: 'live', instanceType: 'small' })).id, 'web-live-1');
    assert.equal((await pods(s.c)).length, before, 'a repeated create makes no pod');
    // The replacement the ReplicaSet made is a pod no one holds: listed under its own name, it stays that
    // instance (a create makes another pod rather than change its id), and goes by that name.
    const unheld = listed.filter((i) => i.pool === 'live' && !ids.includes(i.id));
    assert.equal(unheld.length, 1);
    const replicasBefore = await replicas(s.c, 'web');
    assert.equal((await second.create({ id: 'web-live-5', service: 'web', pool: 'live', instanceType: 'small' })).id, 'web-live-5');
    assert.equal(await replicas(s.c, 'web'), replicasBefore + 1, 'a pod of its own');
    assert.equal((await second.get(unheld[0]!.id))?.id, unheld[0]!.id, 'the adopted pod keeps its id');
    await second.delete(unheld[0]!.id);
    assert.equal(await second.get(unheld[0]!.id), undefined);
    assert.equal(await replicas(s.c, 'web'), replicasBefore);
  });

  it('a conflict storm: another writer keeps changing the replicas while creates and deletes run; every call succeeds, no pod is claimed twice, and the pool converges', async (t) => {
    const s = await setup(t);
    if (!s) return;
    const p = await KubernetesProvider.start(s.settings());
    t.after(() => p.close());
    await Promise.all([0, 1].map((k) => p.create({ id: `web-old-${k}`, service: 'web', pool: 'live', instanceType: 'small' })));
    let storming = true;
    let writes = 0;
    const storm = (async () => {
      let k = 0;
      while (storming) {
        const r = await s.c.api('PATCH', '/apis/apps/v1/namespaces/default/deployments/web/scale', { spec: { replicas: 1 + (k++ % 5) } }, undefined, 'application/merge-patch+json');
        if (r.status === 200) writes++;
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    const created = Promise.all(Array.from({ length: 6 }, (_, k) => p.create({ id: `web-new-${k}`, service: 'web', pool: 'live', instanceType: 'small' })));
    const deleted = Promise.all([0, 1].map((k) => p.delete(`web-old-${k}`)));
    await Promise.all([created, deleted]);
    await new Promise((res) => setTimeout(res, 1000));
    storming = false;
    await storm;
    t.diagnostic(`${writes} writes of the other writer`);
    assert.ok(writes >= 20, `the storm wrote ${writes} times`);
    // No pod claimed twice.
    const claims = (await pods(s.c, 'app=web')).map((x) => x.metadata.annotations?.[ANNOTATION.instance]).filter((x) => x !== undefined);
    assert.equal(new Set(claims).size, claims.length);
    // What a control loop does next: failed (taken away by the other writer) are deleted and created again, extras no one holds deleted.
    const want = Array.from({ length: 6 }, (_, k) => `web-new-${k}`);
    await until(
      'the pool converged to the 6 instances held',
      async () => {
        const all = await p.list({ service: 'web' });
        for (const i of all) if (i.state === 'failed' || !want.includes(i.id)) await p.delete(i.id).catch((e: unknown) => assert.ok(isProviderError(e, 'not_found'), String(e)));
        for (const id of want) if (!(await p.get(id))) await p.create({ id, service: 'web', pool: 'live', instanceType: 'small' });
        const now = await p.list({ service: 'web' });
        return now.length === 6 && now.every((i) => i.state === 'ready' && want.includes(i.id)) && (await pods(s.c, 'app=web')).length === 6 && (await replicas(s.c, 'web')) === 6;
      },
      60_000,
    );
  });
});
