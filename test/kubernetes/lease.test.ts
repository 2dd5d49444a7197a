// Leader election of two shadowscale replicas on a Lease (issue 15), against the real API server, each
// replica with a service-account token bound to exactly deploy/kubernetes/rbac.yaml: one leads at a time,
// a follower takes over after the leader dies (target: within 15 s), a released lease is taken at once,
// and without the Role nothing can lead.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { kubeConfig } from '../../src/providers/kubernetes/client.js';
import { LeaderElector, type ElectorOptions } from '../../src/providers/kubernetes/lease.js';
import { until } from '../helpers.js';
import { applyRbac, saToken, startCluster } from './cluster.js';

const settings = (identity: string): Omit<ElectorOptions, 'onChange'> => ({ namespace: 'default', name: 'shadowscale-leader', identity, leaseDurationSeconds: 4, renewDeadlineSeconds: 3, renewEverySeconds: 1, retryEverySeconds: 0.5 });

describe('leader election on a Lease', () => {
  it('one replica leads at a time; a follower takes over within 15 s of the leader dying, and at once from one that releases', async (t) => {
    const c = await startCluster(t);
    if (!c) return;
    await applyRbac(c, 'default');
    const token = await saToken(c, 'default', 'shadowscale');
    const api = () => kubeConfig({ server: c.server, token }).makeApiClient(CoordinationV1Api);
    const changes: { at: number; who: string; leading: boolean }[] = [];
    const make = (who: string): LeaderElector => new LeaderElector(api(), { ...settings(who), onChange: (leading) => changes.push({ at: Date.now(), who, leading }) });
    const a = make('replica-a');
    const b = make('replica-b');
    t.after(() => Promise.all([a.stop(), b.stop()]).then(() => undefined));
    // Never two leaders: sampled every 50 ms over the whole test.
    let most = 0;
    let sampling = true;
    const electors = [a, b];
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, electors.filter((e) => e.leading).length);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    a.start();
    await until('a leads', () => a.leading, 10_000);
    b.start();
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(b.leading, false, 'b follows while a renews');
    // a dies (no release): b takes over once the lease has run out by b's own clock.
    const died = Date.now();
    await a.stop();
    await until('b leads', () => b.leading, 20_000);
    const failover = (Date.now() - died) / 1000;
    t.diagnostic(`failover: ${failover.toFixed(1)} s after the leader died (lease 4 s, retry 0.5 s)`);
    assert.ok(failover <= 15, `failover took ${failover.toFixed(1)} s`);
    assert.ok(failover >= 3, `failover after ${failover.toFixed(1)} s: before the lease could have run out`);
    const lease = (await c.api('GET', '/apis/coordination.k8s.io/v1/namespaces/default/leases/shadowscale-leader')).body as { spec: { holderIdentity: string; leaseTransitions: number } };
    assert.equal(lease.spec.holderIdentity, 'replica-b');
    assert.equal(lease.spec.leaseTransitions, 1);
    // b releases: a new replica takes the lease at its first attempt, not after the lease's 4 s.
    const c2 = make('replica-c');
    electors.push(c2);
    t.after(() => c2.stop());
    await b.stop({ release: true });
    const released = Date.now();
    c2.start();
    await until('c leads', () => c2.leading, 10_000);
    assert.ok((Date.now() - released) / 1000 < 2, `c took a released lease after ${((Date.now() - released) / 1000).toFixed(1)} s`);
    sampling = false;
    await sampler;
    assert.equal(most, 1, 'never two leaders at once');
    assert.deepEqual(changes.filter((x) => x.leading).map((x) => x.who), ['replica-a', 'replica-b', 'replica-c']);
  });

  it('without the Role (another service account) the lease cannot be read or written: nothing leads', async (t) => {
    const c = await startCluster(t);
    if (!c) return;
    assert.equal((await c.api('POST', '/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody' } })).status, 201);
    const token = await saToken(c, 'default', 'nobody');
    const e = new LeaderElector(kubeConfig({ server: c.server, token }).makeApiClient(CoordinationV1Api), settings('replica-x'));
    assert.equal(await e.step(), false);
    assert.equal(await e.step(), false);
    assert.equal(e.failures, 2, 'forbidden reads');
    assert.equal((await c.api('GET', '/apis/coordination.k8s.io/v1/namespaces/default/leases/shadowscale-leader')).status, 404);
  });
});
