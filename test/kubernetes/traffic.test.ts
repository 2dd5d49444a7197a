// traffic: gateway-api (issue 15, section 2) against a real API server with the Gateway API's standard
// CRDs, as the ServiceAccount of deploy/kubernetes/rbac.yaml: the writer keeps a service's HTTPRoute
// saying what the loop wants (weighted backends, the mirror at the sampling rate, a fraction below 1 %),
// accepted by the real CRD validation; nothing is written when nothing changes; another writer's change
// is read again, not overwritten blindly; a route the CRD refuses is `invalid`.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { kubeConfig } from '../../src/providers/kubernetes/client.js';
import { LABEL } from '../../src/providers/kubernetes/shapes.js';
import { GatewayApiTraffic, IstioTraffic } from '../../src/providers/kubernetes/traffic.js';
import { isProviderError } from '../../src/providers/provider.js';
import { loadConfig } from '../../src/config/load.js';
import type { LoopEvent } from '../../src/control/loop.js';
import { Runtime } from '../../src/control/runtime.js';
import { component, startPrometheus, tempDir, until } from '../helpers.js';
import { startNodes } from './nodes.js';
import { applyRbac, installGatewayApi, installIstioVirtualService, saToken, startCluster, type Cluster } from './cluster.js';

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

interface VirtualServiceObject {
  metadata: { resourceVersion: string; ownerReferences?: { name: string }[] };
  spec: { hosts: string[]; gateways?: string[]; http: { match: { uri: { prefix: string } }[]; route: { destination: { host: string; port: { number: number } }; weight: number }[]; mirror?: { host: string; port: { number: number } }; mirrorPercentage?: { value: number } }[] };
}

describe('traffic through Istio', () => {
  it("writes the VirtualService of a service: weights as percentages, mirror and mirrorPercentage, only when it changes, conditionally; Istio's real CRD validation", async (t) => {
    const c = await startCluster(t);
    if (!c) return;
    await installIstioVirtualService(c);
    await applyRbac(c, 'default');
    const token = await saToken(c, 'default', 'shadowscale');
    const dep = await c.api('POST', '/apis/apps/v1/namespaces/default/deployments', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 0, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'web:1' }] } } } });
    assert.equal(dep.status, 201);
    const uid = (dep.body as { metadata: { uid: string } }).metadata.uid;
    const kc = kubeConfig({ server: c.server, token });
    const traffic = new IstioTraffic(kc, 'default', { web: { parentRefs: [{ namespace: 'istio-system', name: 'public' }], hostnames: ['shop.example'], pathPrefix: '/api', liveService: 'web', port: 80, targetPort: 8080, owner: { name: 'web', uid } }, mesh: { parentRefs: [], liveService: 'mesh-live', port: 8080 } });
    await traffic.start();
    t.after(() => traffic.close());
    const vs = async (name = 'web'): Promise<VirtualServiceObject> => (await c.api('GET', `/apis/networking.istio.io/v1/namespaces/default/virtualservices/${name}`)).body as VirtualServiceObject;

    assert.equal(await traffic.apply('web', { mirrorRate: 0.1 }), true);
    let v = await vs();
    assert.deepEqual(v.spec.hosts, ['shop.example']);
    assert.deepEqual(v.spec.gateways, ['istio-system/public']);
    assert.deepEqual(v.spec.http[0]?.match, [{ uri: { prefix: '/api' } }]);
    assert.deepEqual(v.spec.http[0]?.route.map((r) => [r.destination.host, r.destination.port.number, r.weight]), [['web', 80, 100]]);
    assert.deepEqual([v.spec.http[0]?.mirror?.host, v.spec.http[0]?.mirror?.port.number, v.spec.http[0]?.mirrorPercentage?.value], ['web-ss-shadow', 80, 10]);
    assert.deepEqual(v.metadata.ownerReferences?.map((o) => o.name), ['web']);
    const svc = (await c.api('GET', '/api/v1/namespaces/default/services/web-ss-shadow')).body as { spec: { selector: Record<string, string>; ports: { targetPort: number }[] } };
    assert.deepEqual(svc.spec.selector, { [LABEL.service]: 'web', [LABEL.role]: 'shadow' });
    assert.equal(svc.spec.ports[0]?.targetPort, 8080);

    // Nothing changes: nothing written.
    const rv = v.metadata.resourceVersion;
    assert.equal(await traffic.apply('web', { mirrorRate: 0.1 }), false);
    assert.equal((await vs()).metadata.resourceVersion, rv);
    // A switchover's share (3:1, as percentages summing to 100) and a rate below 1 %.
    assert.equal(await traffic.apply('web', { liveWeight: 3, extra: [{ service: 'web-v2', port: 80, weight: 1 }], mirrorRate: 0.005 }), true);
    v = await vs();
    assert.deepEqual(v.spec.http[0]?.route.map((r) => [r.destination.host, r.weight]), [['web', 75], ['web-v2', 25]]);
    assert.equal(v.spec.http[0]?.mirrorPercentage?.value, 0.5);

    // Another writer changes it: put back by the next apply once the cache has seen the change.
    assert.equal((await c.api('PATCH', '/apis/networking.istio.io/v1/namespaces/default/virtualservices/web', { spec: { hosts: ['other.example'] } }, undefined, 'application/merge-patch+json')).status, 200);
    await until('the VirtualService says what the loop wants again', async () => {
      await traffic.apply('web', { liveWeight: 3, extra: [{ service: 'web-v2', port: 80, weight: 1 }], mirrorRate: 0.005 });
      return JSON.stringify((await vs()).spec.hosts) === '["shop.example"]';
    }, 10_000);
    // Mirror off: no mirror.
    await traffic.apply('web', { mirrorRate: 0 });
    v = await vs();
    assert.equal(v.spec.http[0]?.mirror, undefined);
    assert.equal(v.spec.http[0]?.mirrorPercentage, undefined);

    // Inside the mesh (no gateways): the host is the live Service, no gateways field (the sidecars).
    await traffic.apply('mesh', { mirrorRate: 0.25 });
    const m = await vs('mesh');
    assert.deepEqual([m.spec.hosts, m.spec.gateways], [['mesh-live'], undefined]);
    assert.equal(m.spec.http[0]?.mirrorPercentage?.value, 25);

    // What Istio's CRD refuses (a port beyond its uint32) is invalid, and nothing is written.
    const bad = new IstioTraffic(kc, 'default', { web: { parentRefs: [], liveService: 'web', port: 5_000_000_000 } });
    const before = (await vs()).metadata.resourceVersion;
    await assert.rejects(bad.apply('web', { mirrorRate: 0 }), (e) => isProviderError(e, 'invalid') && /VirtualService "web"/.test(e.message));
    assert.equal((await vs()).metadata.resourceVersion, before);
  });
});

/**
 * What a `run` routed by the cluster needs: a real Prometheus, a cluster with `install`'s CRDs and simulated
 * nodes, the user's Deployment `web`, and the configuration's common part (the RBAC's token in a kubeconfig).
 */
async function routedRun(t: TestContext, install: (c: Cluster) => Promise<void>): Promise<{ c: Cluster; dir: string; prom: { url: string }; base: string } | undefined> {
  const prometheus = component(t, '/usr/bin/prometheus', 'prometheus');
  if (!prometheus) return undefined;
  const c = await startCluster(t);
  if (!c) return undefined;
  await install(c);
  const sim = await startNodes(c, { startDelayMs: 100, pollMs: 100 });
  t.after(() => sim.stop());
  await applyRbac(c, 'default');
  const kubeconfig = c.kubeconfig(await saToken(c, 'default', 'shadowscale'));
  assert.equal((await c.api('POST', '/apis/apps/v1/namespaces/default/deployments', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 0, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'web:1', ports: [{ containerPort: 8080 }] }] } } } })).status, 201);
  const dir = tempDir(t);
  const prom = await startPrometheus(t, prometheus, dir);
  const base =
    `instanceTypes:\n  small: { slots: 4, serviceTimeMs: 5, provisioningSeconds: 0.1, warmupSeconds: 0 }\n` +
    `services:\n  - name: web\n    instanceType: small\n    routes: [{ host: shop.example }]\n    pool: { min: 1, max: 3 }\n    shadow: { fraction: 0.25, sampling: { rate: 0.2 } }\n    scaling: { strategy: reactive, periodSeconds: 1, proof: off }\n` +
    `gateway: { listen: 127.0.0.1:0 }\nstore: { path: ${join(dir, 's.db')} }\ncontrol: { tickSeconds: 0.5, forecastBucketSeconds: 1 }\n` +
    `provider: { kind: kubernetes, graceSeconds: 1, kubernetes: { kubeconfig: ${kubeconfig}, leaderElection: { enabled: false } } }\n`;
  return { c, dir, prom, base };
}

describe('shadowscale run with traffic.kind gateway-api', () => {
  it("writes each service's HTTPRoute at start, selects the shadow's pods by its Service, and the mirror follows the loop's rate", async (t) => {
    const setup = await routedRun(t, installGatewayApi);
    if (!setup) return;
    const { c, dir, prom, base } = setup;
    const file = join(dir, 'run.yaml');
    // Without Prometheus the configuration is refused, naming why.
    writeFileSync(file, `${base}traffic: { kind: gateway-api, gatewayApi: { parentRefs: [{ name: public }] } }\n`);
    assert.throws(() => loadConfig({ file }), /metrics\.source: traffic through the Gateway API is measured by Prometheus/);
    writeFileSync(file, `${base}traffic: { kind: gateway-api, gatewayApi: { parentRefs: [{ name: public }], services: { web: { targetPort: 8080 } } } }\nmetrics: { source: prometheus, prometheus: { url: "${prom.url}", rangeSeconds: 3, stalenessSeconds: 4 } }\n`);
    const events: LoopEvent[] = [];
    const rt = await Runtime.start({ cfg: loadConfig({ file }), env: {}, onEvent: (e) => events.push(e) });
    t.after(() => rt.stop({ deleteInstances: true }));
    const route = (await c.api('GET', '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/web')).body as Route & { spec: { hostnames: string[] } };
    assert.deepEqual(route.spec.parentRefs.map((p) => p.name), ['public']);
    assert.deepEqual(route.spec.hostnames, ['shop.example']);
    assert.deepEqual(route.spec.rules[0]?.backendRefs.map((b) => [b.name, b.weight]), [['web', 1]]);
    assert.deepEqual([route.spec.rules[0]?.filters?.[0]?.requestMirror.backendRef.name, route.spec.rules[0]?.filters?.[0]?.requestMirror.percent], ['web-ss-shadow', 20]);
    // The loop brings up live and shadow pods; the shadow's Service selects the shadow pod and nothing else.
    await until('a live and a shadow pod ready', async () => (await rt.provider.list({ service: 'web' })).filter((i) => i.state === 'ready').length === 2, 60_000);
    const selected = ((await c.api('GET', `/api/v1/namespaces/default/pods?labelSelector=${encodeURIComponent(`${LABEL.service}=web,${LABEL.role}=shadow`)}`)).body as { items: { metadata: { annotations?: Record<string, string> } }[] }).items;
    const shadowIds = (await rt.provider.list({ service: 'web', pool: 'shadow' })).map((i) => i.id);
    assert.deepEqual(selected.map((p) => p.metadata.annotations?.['shadowscale.dev/instance']), shadowIds);
    // No data plane measures anything here: the loop says the metrics are missing and holds.
    await until('metrics missing reported', () => events.some((e) => e.kind === 'metrics_missing'), 10_000);
    // The loop's sampling controller sets the rate through this control: the route follows.
    const control = rt.primary.gateway;
    assert.equal(await control.setRate(0.05), 0.05);
    const after = (await c.api('GET', '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/web')).body as Route;
    assert.equal(after.spec.rules[0]?.filters?.[0]?.requestMirror.percent, 5);
    await assert.rejects(control.setArmTargets(['http://x']), /needs the embedded gateway/);
  });
});

describe('shadowscale run with traffic.kind istio', () => {
  it("writes each service's VirtualService at start, bound to its Istio gateways, and the mirror follows the loop's rate", async (t) => {
    const setup = await routedRun(t, installIstioVirtualService);
    if (!setup) return;
    const { c, dir, prom, base } = setup;
    const file = join(dir, 'run.yaml');
    writeFileSync(file, `${base}traffic: { kind: istio, istio: { gateways: [istio-system/public] } }\n`);
    assert.throws(() => loadConfig({ file }), /metrics\.source: traffic through Istio is measured by Prometheus/);
    writeFileSync(file, `${base}traffic: { kind: istio, istio: { gateways: [istio-system/public], services: { web: { targetPort: 8080 } } } }\nmetrics: { source: prometheus, prometheus: { url: "${prom.url}", preset: istio, rangeSeconds: 3, stalenessSeconds: 4 } }\n`);
    const rt = await Runtime.start({ cfg: loadConfig({ file }), env: {} });
    t.after(() => rt.stop({ deleteInstances: true }));
    const vs = async (): Promise<VirtualServiceObject> => (await c.api('GET', '/apis/networking.istio.io/v1/namespaces/default/virtualservices/web')).body as VirtualServiceObject;
    const v = await vs();
    assert.deepEqual([v.spec.hosts, v.spec.gateways], [['shop.example'], ['istio-system/public']]);
    assert.deepEqual(v.spec.http[0]?.route.map((r) => [r.destination.host, r.weight]), [['web', 100]]);
    assert.deepEqual([v.spec.http[0]?.mirror?.host, v.spec.http[0]?.mirrorPercentage?.value], ['web-ss-shadow', 20]);
    const control = rt.primary.gateway;
    assert.equal(await control.setRate(0.05), 0.05);
    assert.equal((await vs()).spec.http[0]?.mirrorPercentage?.value, 5);
    await assert.rejects(control.setWarmTargets(['http://x']), /needs the embedded gateway/);
  });
});
