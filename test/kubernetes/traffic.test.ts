// traffic: gateway-api (issue 15, section 2) against a real API server with the Gateway API's standard
// CRDs, as the ServiceAccount of deploy/kubernetes/rbac.yaml: the writer keeps a service's HTTPRoute
// saying what the loop wants (weighted backends, the mirror at the sampling rate, a fraction below 1 %),
// accepted by the real CRD validation; nothing is written when nothing changes; another writer's change
// is read again, not overwritten blindly; a route the CRD refuses is `invalid`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kubeConfig } from '../../src/providers/kubernetes/client.js';
import { LABEL } from '../../src/providers/kubernetes/shapes.js';
import { GatewayApiTraffic } from '../../src/providers/kubernetes/traffic.js';
import { isProviderError } from '../../src/providers/provider.js';
import { until } from '../helpers.js';
import { applyRbac, installGatewayApi, saToken, startCluster } from './cluster.js';

interface Route {
  metadata: { resourceVersion: string; ownerReferences?: { name: string }[] };
  spec: { parentRefs: { name: string }[]; rules: { filters?: { type: string; requestMirror: { backendRef: { name: string }; percent?: number; fraction?: { numerator: number; denominator: number } } }[]; backendRefs: { name: string; weight: number }[] }[] };
}

describe('traffic through the Gateway API', () => {
  it('writes the HTTPRoute of a service: weights, the mirror at the sampling rate, only when it changes, conditionally', async (t) => {
    const c = await startCluster(t);
    if (!c) return;
    await installGatewayApi(c);
    await applyRbac(c, 'default');
    const token = await saToken(c, 'default', 'shadowscale');
    // The live Deployment that owns what the writer makes (an owner that does not exist would have them collected).
    const dep = await c.api('POST', '/apis/apps/v1/namespaces/default/deployments', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 0, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'web:1' }] } } } });
    assert.equal(dep.status, 201);
    const uid = (dep.body as { metadata: { uid: string } }).metadata.uid;
    const traffic = new GatewayApiTraffic(kubeConfig({ server: c.server, token }), 'default', { web: { parentRefs: [{ name: 'public' }], hostnames: ['shop.example'], liveService: 'web', port: 80, targetPort: 8080, owner: { name: 'web', uid } } });
    await traffic.start();
    t.after(() => traffic.close());
    const route = async (): Promise<Route> => (await c.api('GET', '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/web')).body as Route;

    assert.equal(await traffic.apply('web', { mirrorRate: 0.1 }), true);
    let r = await route();
    assert.deepEqual(r.spec.rules[0]?.backendRefs.map((b) => [b.name, b.weight]), [['web', 1]]);
    assert.deepEqual([r.spec.rules[0]?.filters?.[0]?.requestMirror.backendRef.name, r.spec.rules[0]?.filters?.[0]?.requestMirror.percent], ['web-ss-shadow', 10]);
    assert.deepEqual(r.metadata.ownerReferences?.map((o) => o.name), ['web']);
    // The shadow's Service selects the shadow-role pods only.
    const svc = (await c.api('GET', '/api/v1/namespaces/default/services/web-ss-shadow')).body as { spec: { selector: Record<string, string> } };
    assert.deepEqual(svc.spec.selector, { [LABEL.service]: 'web', [LABEL.role]: 'shadow' });

    // Nothing changes: nothing written.
    const rv = r.metadata.resourceVersion;
    assert.equal(await traffic.apply('web', { mirrorRate: 0.1 }), false);
    assert.equal((await route()).metadata.resourceVersion, rv);
    // A switchover's share and a rate below 1 % (a fraction).
    assert.equal(await traffic.apply('web', { liveWeight: 80, extra: [{ service: 'web-v2', port: 80, weight: 20 }], mirrorRate: 0.005 }), true);
    r = await route();
    assert.deepEqual(r.spec.rules[0]?.backendRefs.map((b) => [b.name, b.weight]), [['web', 80], ['web-v2', 20]]);
    assert.deepEqual(r.spec.rules[0]?.filters?.[0]?.requestMirror.fraction, { numerator: 50, denominator: 10_000 });

    // Another writer changes the route: the next apply reads it again and puts back what the loop wants.
    const other = await c.api('PATCH', '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/web', { spec: { hostnames: ['other.example'] } }, undefined, 'application/merge-patch+json');
    assert.equal(other.status, 200);
    // (The writer reads its watch cache: the change is put back at the first apply after the cache has seen it, as the next tick would.)
    await until('the route says what the loop wants again', async () => {
      await traffic.apply('web', { liveWeight: 80, extra: [{ service: 'web-v2', port: 80, weight: 20 }], mirrorRate: 0.005 });
      return JSON.stringify(((await route()) as unknown as { spec: { hostnames: string[] } }).spec.hostnames) === '["shop.example"]';
    }, 10_000);
    // Mirror off: no filter.
    await traffic.apply('web', { mirrorRate: 0 });
    assert.equal((await route()).spec.rules[0]?.filters, undefined);

    // What the CRD refuses (a weight above 1,000,000) is invalid, and the route stays as it was.
    const before = (await route()).metadata.resourceVersion;
    await assert.rejects(traffic.apply('web', { liveWeight: 2_000_000, mirrorRate: 0 }), (e) => isProviderError(e, 'invalid') && /HTTPRoute "web"/.test(e.message));
    assert.equal((await route()).metadata.resourceVersion, before);
    await assert.rejects(traffic.apply('api', { mirrorRate: 0 }), (e) => isProviderError(e, 'invalid') && /unknown service "api"/.test(e.message));
  });
});
