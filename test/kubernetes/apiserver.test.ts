// The tests' Kubernetes control plane itself (issue 15, section 4): a real kube-apiserver, etcd and
// kube-controller-manager built from their Go modules, with the node simulator standing in for kubelets.
// A Deployment's ReplicaSet creates pods, the simulator runs them, the scale subresource scales them (as
// the HPA does), and the Gateway API's standard CRDs validate HTTPRoutes for real.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { until } from '../helpers.js';
import { installGatewayApi, startCluster } from './cluster.js';
import { startNodes } from './nodes.js';

const deployment = (name: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'sample-service', ports: [{ containerPort: 8080 }] }] } } },
});

describe('the Kubernetes control plane of the tests', () => {
  it('a Deployment scales through its scale subresource; the simulated nodes run its pods; deleted pods go', async (t) => {
    const c = await startCluster(t);
    if (!c) return;
    const sim = await startNodes(c, { startDelayMs: 300 });
    t.after(() => sim.stop());
    assert.equal((await c.api('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('web', 2))).status, 201);
    const status = async () => ((await c.api('GET', '/apis/apps/v1/namespaces/default/deployments/web')).body as { status: { readyReplicas?: number; replicas?: number } }).status;
    await until('2 ready replicas', async () => (await status()).readyReplicas === 2, 60_000);
    // The HPA's way: the scale subresource.
    const scale = await c.api('PATCH', '/apis/apps/v1/namespaces/default/deployments/web/scale', { spec: { replicas: 3 } }, undefined, 'application/merge-patch+json');
    assert.equal(scale.status, 200, JSON.stringify(scale.body));
    await until('3 ready replicas', async () => (await status()).readyReplicas === 3, 60_000);
    const pods = ((await c.api('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).body as { items: { status: { phase: string; podIP: string }; spec: { nodeName: string } }[] }).items;
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.equal(p.status.phase, 'Running');
      assert.match(p.spec.nodeName, /^sim-\d$/);
    }
    // Scaled in: the ReplicaSet deletes one; the simulator finishes the graceful delete.
    assert.equal((await c.api('PATCH', '/apis/apps/v1/namespaces/default/deployments/web/scale', { spec: { replicas: 1 } }, undefined, 'application/merge-patch+json')).status, 200);
    await until('one pod left', async () => ((await c.api('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).body as { items: unknown[] }).items.length === 1, 60_000);
  });

  it("the Gateway API's standard CRDs are installed: an HTTPRoute with weighted backends and a RequestMirror percent is accepted, an invalid one refused", async (t) => {
    const c = await startCluster(t);
    if (!c) return;
    await installGatewayApi(c);
    const route = (percent: number) => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: `web-${percent}`, namespace: 'default' },
      spec: {
        parentRefs: [{ name: 'gateway' }],
        rules: [{ backendRefs: [{ name: 'web', port: 80, weight: 90 }, { name: 'web-next', port: 80, weight: 10 }], filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'web-shadow', port: 80 }, percent } }] }],
      },
    });
    const ok = await c.api('POST', '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes', route(10));
    assert.equal(ok.status, 201, JSON.stringify(ok.body).slice(0, 500));
    const bad = await c.api('POST', '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes', route(150));
    assert.equal(bad.status, 422, JSON.stringify(bad.body).slice(0, 500));
    assert.match(JSON.stringify(bad.body), /percent/);
  });
});
