// Unit tests (tables): the HTTPRoute, the VirtualService and the shadow's Service the route writers keep.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { httpRoute, mirrorFilter, percentWeights, routeSays, shadowService, virtualService, virtualServiceSays } from './route.js';
import { groupRole, LABEL } from './shapes.js';

describe('mirrorFilter', () => {
  const rows: { rate: number; want: Record<string, unknown> }[] = [
    { rate: 0.1, want: { percent: 10 } },
    { rate: 1, want: { percent: 100 } },
    { rate: 0.005, want: { fraction: { numerator: 50, denominator: 10_000 } } },
    { rate: 0.12345, want: { fraction: { numerator: 1235, denominator: 10_000 } } },
    { rate: 1.5, want: { percent: 100 } },
    { rate: -1, want: { percent: 0 } },
  ];
  for (const r of rows) it(`rate ${r.rate}`, () => assert.deepEqual(mirrorFilter('web-ss-shadow', 8080, r.rate), { type: 'RequestMirror', requestMirror: { backendRef: { name: 'web-ss-shadow', port: 8080 }, ...r.want } }));
});

describe('httpRoute', () => {
  const spec = { name: 'web', namespace: 'shop', parentRefs: [{ name: 'public', namespace: 'infra' }], hostnames: ['shop.example'], pathPrefix: '/api', backends: [{ service: 'web', port: 80, weight: 90 }, { service: 'web-v2', port: 80, weight: 10 }], mirror: { service: 'web-ss-shadow', port: 80, rate: 0.05 }, owner: { name: 'web', uid: 'u1' } };
  it('weighted backends, the mirror filter, the parents and the owner', () => {
    const r = httpRoute(spec);
    assert.deepEqual(r.spec.parentRefs, [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'infra' }]);
    assert.deepEqual(r.spec.hostnames, ['shop.example']);
    const [rule] = r.spec.rules as { matches: unknown; filters: unknown[]; backendRefs: { name: string; weight: number }[] }[];
    assert.deepEqual(rule?.matches, [{ path: { type: 'PathPrefix', value: '/api' } }]);
    assert.deepEqual(rule?.backendRefs.map((b) => [b.name, b.weight]), [['web', 90], ['web-v2', 10]]);
    assert.equal(rule?.filters.length, 1);
    assert.deepEqual((r.metadata as { ownerReferences: { uid: string }[] }).ownerReferences.map((o) => o.uid), ['u1']);
  });
  it('no mirror filter at rate 0', () => {
    const [rule] = httpRoute({ ...spec, mirror: { ...spec.mirror, rate: 0 } }).spec.rules as { filters?: unknown }[];
    assert.equal(rule?.filters, undefined);
  });
  it('routeSays: the same route after the server defaults it; a changed weight or rate is a change', () => {
    const want = httpRoute(spec);
    const served = JSON.parse(JSON.stringify(want)) as { spec: { rules: { backendRefs: Record<string, unknown>[] }[] } };
    for (const b of served.spec.rules[0]?.backendRefs ?? []) b.extra = 'defaulted';
    assert.equal(routeSays(served, want), true);
    assert.equal(routeSays(served, httpRoute({ ...spec, backends: [{ service: 'web', port: 80, weight: 100 }] })), false);
    assert.equal(routeSays(served, httpRoute({ ...spec, mirror: { ...spec.mirror, rate: 0.06 } })), false);
    assert.equal(routeSays(undefined, want), false);
  });
});

describe('shadowService and groupRole', () => {
  it("selects the service's shadow-role pods only", () => {
    const s = shadowService({ name: 'web-ss-shadow', namespace: 'shop', service: 'web', port: 80, targetPort: 8080 });
    assert.deepEqual(s.spec?.selector, { [LABEL.service]: 'web', [LABEL.role]: 'shadow' });
    assert.deepEqual(s.spec?.ports?.map((p) => [p.port, p.targetPort]), [[80, 8080]]);
  });
  const rows: { labels: Record<string, string>; pool: 'live' | 'shadow'; want: string }[] = [
    { labels: {}, pool: 'shadow', want: 'shadow' },
    { labels: { trial: 't1' }, pool: 'shadow', want: 'trial' },
    { labels: { ab: 'hybrid' }, pool: 'shadow', want: 'arm' },
    { labels: { version: 'v2' }, pool: 'live', want: 'live' },
  ];
  for (const r of rows) it(`groupRole ${JSON.stringify(r.labels)} ${r.pool}: ${r.want}`, () => assert.equal(groupRole({ service: 'web', pool: r.pool, instanceType: 'small', labels: r.labels }), r.want));
});

describe('percentWeights', () => {
  const rows: { weights: number[]; want: number[] }[] = [
    { weights: [1], want: [100] },
    { weights: [3, 1], want: [75, 25] },
    { weights: [1, 1, 1], want: [34, 33, 33] },
    { weights: [2, 1, 0], want: [67, 33, 0] },
    { weights: [0, 0], want: [100, 0] },
    { weights: [Number.NaN, 1], want: [0, 100] },
    { weights: [], want: [] },
  ];
  for (const r of rows) it(`${JSON.stringify(r.weights)} -> ${JSON.stringify(r.want)}`, () => assert.deepEqual(percentWeights(r.weights), r.want));
});

describe('virtualService', () => {
  const base = { name: 'web', namespace: 'shop', parentRefs: [{ name: 'public', namespace: 'istio-system' }], backends: [{ service: 'web', port: 80, weight: 1 }] };
  const rows: { note: string; spec: Parameters<typeof virtualService>[0]; want: Record<string, unknown> }[] = [
    {
      note: 'hosts, gateways as NAMESPACE/NAME, the prefix, one destination at 100, the mirror with its percentage',
      spec: { ...base, hostnames: ['shop.example'], pathPrefix: '/api', mirror: { service: 'web-ss-shadow', port: 80, rate: 0.2 } },
      want: { hosts: ['shop.example'], gateways: ['istio-system/public'], http: [{ match: [{ uri: { prefix: '/api' } }], route: [{ destination: { host: 'web', port: { number: 80 } }, weight: 100 }], mirror: { host: 'web-ss-shadow', port: { number: 80 } }, mirrorPercentage: { value: 20 } }] },
    },
    {
      note: 'inside the mesh: the live Service as host, no gateways; a rate below 1 % to 0.01 %; no mirror at 0',
      spec: { ...base, parentRefs: [], backends: [{ service: 'web', port: 80, weight: 9 }, { service: 'web-v2', port: 80, weight: 1 }], mirror: { service: 'web-ss-shadow', port: 80, rate: 0.00123 } },
      want: { hosts: ['web'], http: [{ match: [{ uri: { prefix: '/' } }], route: [{ destination: { host: 'web', port: { number: 80 } }, weight: 90 }, { destination: { host: 'web-v2', port: { number: 80 } }, weight: 10 }], mirror: { host: 'web-ss-shadow', port: { number: 80 } }, mirrorPercentage: { value: 0.12 } }] },
    },
    { note: 'no mirror at rate 0', spec: { ...base, mirror: { service: 'web-ss-shadow', port: 80, rate: 0 } }, want: { hosts: ['web'], gateways: ['istio-system/public'], http: [{ match: [{ uri: { prefix: '/' } }], route: [{ destination: { host: 'web', port: { number: 80 } }, weight: 100 }] }] } },
  ];
  for (const r of rows) it(r.note, () => assert.deepEqual(virtualService(r.spec).spec, r.want));
  it('virtualServiceSays: the same after the server keeps it; a changed weight, rate, host or gateway is a change', () => {
    const want = virtualService({ ...base, mirror: { service: 'web-ss-shadow', port: 80, rate: 0.1 } });
    assert.equal(virtualServiceSays(JSON.parse(JSON.stringify(want)) as typeof want, want), true);
    assert.equal(virtualServiceSays(undefined, want), false);
    for (const other of [
      virtualService({ ...base, mirror: { service: 'web-ss-shadow', port: 80, rate: 0.2 } }),
      virtualService({ ...base, backends: [...base.backends, { service: 'web-v2', port: 80, weight: 1 }], mirror: { service: 'web-ss-shadow', port: 80, rate: 0.1 } }),
      virtualService({ ...base, hostnames: ['x.example'], mirror: { service: 'web-ss-shadow', port: 80, rate: 0.1 } }),
      virtualService({ ...base, parentRefs: [], mirror: { service: 'web-ss-shadow', port: 80, rate: 0.1 } }),
    ])
      assert.equal(virtualServiceSays(other, want), false);
  });
});
