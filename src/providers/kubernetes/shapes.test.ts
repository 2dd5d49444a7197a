// Unit tests (tables): the Kubernetes provider's shapes, pure: pod states, group names and Deployments,
// which pods are the live Deployment's, the release patch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { ANNOTATION, groupDeployment, groupDeploymentName, groupKey, deploymentOfPod, isLiveBase, LABEL, labelValueOk, podState, podUrl, releasePatch, type Group } from './shapes.js';

const T0 = Date.parse('2026-12-03T10:00:00Z');
const O = { now: T0 + 10_000, readyTimeoutMs: 60_000, crashRestarts: 3 };
const pod = (o: { ready?: boolean; phase?: string; waiting?: string; restarts?: number; deleting?: boolean; released?: boolean; createdMsAgo?: number } = {}): V1Pod => ({
  metadata: { name: 'p', creationTimestamp: new Date(O.now - (o.createdMsAgo ?? 5000)) as unknown as Date, ...(o.deleting ? { deletionTimestamp: new Date(O.now) } : {}), labels: o.released ? { [LABEL.released]: 'true' } : {} },
  spec: { containers: [{ name: 'app' }] },
  status: {
    ...(o.phase ? { phase: o.phase } : {}),
    conditions: o.ready === undefined ? [] : [{ type: 'Ready', status: o.ready ? 'True' : 'False', lastTransitionTime: new Date(T0) as unknown as Date }],
    containerStatuses: [{ name: 'app', image: 'x', imageID: 'x', ready: !!o.ready, restartCount: o.restarts ?? 0, ...(o.waiting ? { state: { waiting: { reason: o.waiting } } } : {}) }],
  },
});

describe('podState', () => {
  const rows: { note: string; pod: V1Pod; want: string; failure?: RegExp; readyAt?: number }[] = [
    { note: 'no condition yet: starting', pod: pod(), want: 'starting' },
    { note: 'Ready True: ready, since the condition changed', pod: pod({ ready: true, phase: 'Running' }), want: 'ready', readyAt: T0 },
    { note: 'Ready False within the timeout: starting', pod: pod({ ready: false, phase: 'Running' }), want: 'starting' },
    { note: 'not ready past the timeout: failed to start', pod: pod({ ready: false, createdMsAgo: 61_000 }), want: 'failed', failure: /not ready 61 s after it was created \(limit 60 s\)/ },
    { note: 'CrashLoopBackOff: failed with the reason', pod: pod({ waiting: 'CrashLoopBackOff', restarts: 1 }), want: 'failed', failure: /container app: CrashLoopBackOff \(1 restarts\)/ },
    { note: 'ImagePullBackOff: failed', pod: pod({ waiting: 'ImagePullBackOff' }), want: 'failed', failure: /ImagePullBackOff/ },
    { note: 'ContainerCreating is no failure', pod: pod({ waiting: 'ContainerCreating' }), want: 'starting' },
    { note: 'restarted 3 times though ready now: failed', pod: pod({ ready: true, restarts: 3 }), want: 'failed', failure: /restarted 3 times/ },
    { note: 'phase Failed', pod: pod({ phase: 'Failed' }), want: 'failed', failure: /pod failed/ },
    { note: 'phase Succeeded: a server that exited', pod: pod({ phase: 'Succeeded' }), want: 'failed', failure: /pod exited/ },
    { note: 'being deleted: draining', pod: pod({ ready: true, deleting: true }), want: 'draining' },
    { note: 'released from its Deployment: draining', pod: pod({ ready: true, released: true }), want: 'draining' },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const got = podState(r.pod, O);
      assert.equal(got.state, r.want);
      if (r.failure) assert.match(got.failure ?? '', r.failure);
      if (r.readyAt !== undefined) assert.equal(got.readyAt, r.readyAt);
    });
  }
});

const live: V1Deployment = {
  metadata: { name: 'web', namespace: 'shop', uid: 'uid-web' },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web', tier: 'front' }, annotations: { 'prometheus.io/scrape': 'true' } },
      spec: { nodeSelector: { zone: 'a' }, containers: [{ name: 'app', image: 'web:1', env: [{ name: 'MODE', value: 'x' }], resources: { requests: { cpu: '100m' } } }, { name: 'sidecar', image: 'proxy:1' }] },
    },
  },
};

describe('groups', () => {
  const g = (o: Partial<Group> = {}): Group => ({ service: 'web', pool: 'shadow', instanceType: 'small', labels: {}, ...o });
  it('keys and names are stable, the labels order does not matter, and names fit a label value', () => {
    assert.equal(groupKey(g({ labels: { a: '1', b: '2' } })), groupKey(g({ labels: { b: '2', a: '1' } })));
    assert.notEqual(groupKey(g()), groupKey(g({ pool: 'live' })));
    const name = groupDeploymentName('a-very-long-deployment-name-that-goes-on-and-on', g({ labels: { trial: 't-123' } }));
    assert.ok(labelValueOk(name), name);
    assert.equal(name, groupDeploymentName('a-very-long-deployment-name-that-goes-on-and-on', g({ labels: { trial: 't-123' } })));
  });
  const rows: { note: string; g: Group; liveType: string; want: boolean }[] = [
    { note: 'live, live type, no labels: the user Deployment', g: g({ pool: 'live' }), liveType: 'small', want: true },
    { note: 'live of another type: a group of its own', g: g({ pool: 'live', instanceType: 'large' }), liveType: 'small', want: false },
    { note: 'live on a version: its own', g: g({ pool: 'live', labels: { version: 'v2' } }), liveType: 'small', want: false },
    { note: 'shadow: its own', g: g(), liveType: 'small', want: false },
  ];
  for (const r of rows) it(`isLiveBase: ${r.note}`, () => assert.equal(isLiveBase(r.g, r.liveType), r.want));

  it("a shadow group's Deployment: from the live template, outside the live selector, the type's resources and scheduling, the version's image, owned by live", () => {
    const d = groupDeployment(live, g({ labels: { version: 'v2', trial: 't1' } }), { name: 'web-ss-shadow-x', shape: { requests: { cpu: '1' }, limits: { memory: '1Gi' }, nodeSelector: { capacity: 'spot' }, tolerations: [{ key: 'spot', operator: 'Exists' }] }, version: { image: 'web:2', env: { MODE: 'y' } } });
    assert.deepEqual(d.metadata?.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: false, blockOwnerDeletion: false }]);
    assert.equal(d.spec?.replicas, 0);
    const hash = d.spec?.selector.matchLabels?.[LABEL.group];
    assert.ok(hash);
    const labels = d.spec?.template.metadata?.labels ?? {};
    assert.equal(labels.app, undefined, 'never selected by the live Service');
    assert.deepEqual([labels.tier, labels[LABEL.group], labels[LABEL.pool], labels[LABEL.service], labels[LABEL.type], labels[LABEL.role]], ['front', hash, 'shadow', 'web', 'small', 'trial']);
    assert.equal(d.spec?.template.metadata?.annotations?.['prometheus.io/scrape'], 'true');
    assert.deepEqual(JSON.parse(d.spec?.template.metadata?.annotations?.[ANNOTATION.labels] ?? ''), { version: 'v2', trial: 't1' });
    const [app, sidecar] = d.spec?.template.spec?.containers ?? [];
    assert.deepEqual([app?.image, app?.resources, app?.env], ['web:2', { requests: { cpu: '1' }, limits: { memory: '1Gi' } }, [{ name: 'MODE', value: 'y' }]]);
    assert.deepEqual(sidecar, { name: 'sidecar', image: 'proxy:1' }, 'other containers as they are');
    assert.deepEqual(d.spec?.template.spec?.nodeSelector, { zone: 'a', capacity: 'spot' });
    assert.deepEqual(d.spec?.template.spec?.tolerations, [{ key: 'spot', operator: 'Exists' }]);
  });
  it("a live group of another type keeps the live selector's labels (its pods serve live traffic) and is selected by its group only", () => {
    const d = groupDeployment(live, g({ pool: 'live', instanceType: 'large' }), { name: 'web-ss-live-x', shape: {} });
    assert.equal(d.spec?.template.metadata?.labels?.app, 'web');
    assert.deepEqual(Object.keys(d.spec?.selector.matchLabels ?? {}), [LABEL.group]);
  });
});

describe('deploymentOfPod and releasePatch', () => {
  const p = (labels: Record<string, string>, rs?: string): V1Pod => ({ metadata: { name: 'p', resourceVersion: '42', labels, ...(rs ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: 'u', controller: true }] } : {}) } });
  const rows: { note: string; pod: V1Pod; want: string | undefined }[] = [
    { note: "a pod of web's ReplicaSet", pod: p({ app: 'web', 'pod-template-hash': 'abc' }, 'web-abc'), want: 'web' },
    { note: "another Deployment's ReplicaSet with the same labels", pod: p({ app: 'web', 'pod-template-hash': 'abc' }, 'web-canary-abc'), want: 'web-canary' },
    { note: 'one of our groups', pod: p({ app: 'web', 'pod-template-hash': 'abc', [LABEL.group]: 'h' }, 'web-abc'), want: undefined },
    { note: 'released', pod: p({ [LABEL.released]: 'true', 'pod-template-hash': 'abc' }, 'web-abc'), want: undefined },
    { note: 'no ReplicaSet', pod: p({ app: 'web', 'pod-template-hash': 'abc' }), want: undefined },
    { note: 'a ReplicaSet of another template hash', pod: p({ app: 'web', 'pod-template-hash': 'abc' }, 'web-def'), want: undefined },
  ];
  for (const r of rows) it(`deploymentOfPod: ${r.note}`, () => assert.equal(deploymentOfPod(r.pod), r.want));
  it('the release removes the selector, group and template-hash labels, marks it, and is conditional on its resourceVersion', () => {
    assert.deepEqual(releasePatch(p({ app: 'web', tier: 'front', 'pod-template-hash': 'abc', [LABEL.group]: 'h' }), { app: 'web' }), { metadata: { resourceVersion: '42', labels: { app: null, [LABEL.group]: null, 'pod-template-hash': null, [LABEL.released]: 'true' } } });
  });
});

describe('podUrl', () => {
  it('the pod IP and port; brackets for IPv6 (dual-stack and IPv6 clusters); empty before an IP', () => {
    const cases: [string | undefined, number, string][] = [
      ['10.1.2.3', 8080, 'http://10.1.2.3:8080'],
      ['fd00:10:244::5', 8080, 'http://[fd00:10:244::5]:8080'],
      ['::1', 9000, 'http://[::1]:9000'],
      [undefined, 8080, ''],
      ['', 8080, ''],
    ];
    for (const [ip, port, want] of cases) {
      assert.equal(podUrl({ status: ip === undefined ? {} : { podIP: ip } }, port), want, String(ip));
      if (want) assert.equal(new URL(want).port, String(port));
    }
  });
});
