// Integration tests: the local provider with real sample-service processes, its registry in a real
// SQLite store.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Store } from '../../src/metrics/store.js';
import { LocalProvider, pidAlive as alive, type InstanceEvent } from '../../src/providers/local.js';
import { isProviderError, type Instance } from '../../src/providers/provider.js';
import { ROOT, tempDir, until } from '../helpers.js';
import { providerContract } from './contract.js';



function options(dir: string, store: Store, events: InstanceEvent[], extra: Partial<Parameters<typeof LocalProvider.start>[0]> = {}) {
  return {
    command: [process.execPath, join(ROOT, 'dist', 'examples', 'sample-service', 'server.js')],
    instanceTypes: { small: { SLOTS: '2', SERVICE_TIME_MS: '5' }, large: { SLOTS: '8', SERVICE_TIME_MS: '5' } },
    registry: store,
    owner: `test:${dir}`,
    logDir: join(dir, 'logs'),
    healthIntervalMs: 50,
    graceMs: 2000,
    onEvent: (e: InstanceEvent) => events.push(e),
    ...extra,
  };
}

describe('LocalProvider', () => {
  it('starts instances that become ready, is idempotent, drains on delete, detects crashes, resizes by replacement', async (t) => {
    const dir = tempDir(t);
    const store = Store.open({ path: join(dir, 's.db') });
    const events: InstanceEvent[] = [];
    const drained: string[] = [];
    const p = await LocalProvider.start(options(dir, store, events, { beforeStop: async (i) => void drained.push(i.id) }));
    const pids = (): number[] => store.loadInstances().map((r) => r.pid);
    t.after(async () => {
      for (const i of await p.list()) await p.delete(i.id).catch(() => undefined);
      await p.close();
      store.close();
    });

    const a = await p.create({ id: 'web-live-a', service: 'web', pool: 'live', instanceType: 'small', labels: { team: 'x' } });
    const again = await p.create({ id: 'web-live-a', service: 'web', pool: 'live', instanceType: 'small' });
    assert.equal(again.id, a.id);
    assert.equal(store.loadInstances().length, 1, 'idempotent: one process for one id');
    const s = await p.create({ service: 'web', pool: 'shadow', instanceType: 'small' });
    await until('both ready', async () => (await p.list()).every((i) => i.state === 'ready'));
    const stats = (await (await fetch(`${a.url}/stats`)).json()) as { slots: number; instance: string };
    assert.deepEqual([stats.slots, stats.instance], [2, 'web-live-a'], 'the instance type and identity reach the process');
    assert.deepEqual((await p.list({ pool: 'shadow' })).map((i) => i.id), [s.id]);
    assert.deepEqual((await p.get(a.id))?.labels, { team: 'x' });

    await assert.rejects(p.create({ service: 'web', pool: 'live', instanceType: 'huge' }), (e) => isProviderError(e, 'unknown_instance_type') && /unknown instance type "huge" \(have: small, large\)/.test(e.message));

    // A crash (kill -9) is detected, counted and reported; the instance stays listed as failed.
    const [pidS] = store.loadInstances().filter((r) => r.id === s.id).map((r) => r.pid);
    process.kill(pidS as number, 'SIGKILL');
    await until('the crash seen', async () => (await p.get(s.id))?.state === 'failed');
    assert.equal(p.crashes, 1);
    assert.ok(events.some((e) => e.kind === 'crashed' && e.instance === s.id));
    await p.delete(s.id);
    assert.equal(await p.get(s.id), undefined);

    // Resize: a ready instance of the new type replaces the old one, which is drained.
    const oldPid = pids()[0] as number;
    const b = await p.resize(a.id, 'large');
    assert.equal(b.state, 'ready');
    assert.equal(b.instanceType, 'large');
    assert.equal(await p.get(a.id), undefined);
    assert.ok(drained.includes(a.id), 'drained through beforeStop');
    await until('the old process gone', () => !alive(oldPid));

    // Delete: drained, stopped, forgotten; "already gone" is a typed error.
    await p.delete(b.id);
    assert.deepEqual(await p.list(), []);
    assert.deepEqual(store.loadInstances(), []);
    await assert.rejects(p.delete(b.id), (e) => isProviderError(e, 'not_found'));
    assert.deepEqual(events.filter((e) => e.instance === b.id).map((e) => e.kind), ['created', 'ready', 'draining', 'deleted']);
  });

  it('after a control-plane restart adopts running instances from the store and the orphan sweep: no orphans, no duplicates', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 's.db');
    let store = Store.open({ path });
    const events: InstanceEvent[] = [];
    const first = await LocalProvider.start(options(dir, store, events));
    const x = await first.create({ service: 'web', pool: 'live', instanceType: 'small' });
    const y = await first.create({ service: 'web', pool: 'shadow', instanceType: 'small' });
    const z = await first.create({ service: 'web', pool: 'live', instanceType: 'small' });
    await until('ready', async () => (await first.list()).every((i) => i.state === 'ready'));
    const recorded = store.loadInstances();
    const pidOf = (id: string): number => recorded.find((r) => r.id === id)?.pid as number;
    // The control plane "dies": z's record is lost (as if it crashed between spawn and save) and y's process dies meanwhile.
    await first.close();
    store.removeInstance(z.id);
    store.close();
    process.kill(pidOf(y.id), 'SIGKILL');
    await until('y gone', () => !alive(pidOf(y.id)));

    store = Store.open({ path });
    const second = await LocalProvider.start(options(dir, store, events));
    t.after(async () => {
      for (const i of await second.list()) await second.delete(i.id).catch(() => undefined);
      await second.close();
      store.close();
    });
    const adopted = (await second.list()).map((i: Instance) => i.id).sort();
    assert.deepEqual(adopted, [x.id, z.id].sort());
    await until('adopted instances ready', async () => (await second.list()).every((i) => i.state === 'ready'));
    assert.deepEqual(store.loadInstances().map((r) => r.id).sort(), [x.id, z.id].sort(), 'the orphan got its record back');
    assert.ok(events.some((e) => e.kind === 'lost' && e.instance === y.id));
    assert.ok(events.some((e) => e.kind === 'adopted' && e.instance === z.id && /without a record/.test(e.detail ?? '')));
    // Idempotent create by id after adoption: no second process.
    await second.create({ id: x.id, service: 'web', pool: 'live', instanceType: 'small' });
    assert.equal((await second.list()).length, 2);
    // An adopted instance is stopped by delete like an own child.
    await second.delete(x.id);
    await until('x gone', () => !alive(pidOf(x.id)));
  });

  it('keeps the Provider contract (the sequence every provider runs)', async (t) => {
    const dir = tempDir(t);
    const store = Store.open({ path: join(dir, 's.db') });
    const p = await LocalProvider.start(options(dir, store, []));
    t.after(async () => {
      for (const i of await p.list()) await p.delete(i.id).catch(() => undefined);
      await p.close();
      store.close();
    });
    await providerContract({ provider: p, service: 'web', types: ['small', 'large'], step: () => undefined, timeoutMs: 20_000 });
  });
});
