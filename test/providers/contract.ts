// The Provider contract (src/providers/provider.ts), one sequence run against every provider: the fake, the
// local one with real processes, and the Kubernetes one against a real API server. What callers rely on:
// create idempotent by id and reported by list/get with its labels; readiness observed; filters; unknown
// types refused; concurrent creates give distinct instances; a killed instance reported failed until
// deleted; delete makes it gone and a second delete says `not_found`; resize replaces by another type.
import assert from 'node:assert/strict';
import { isProviderError, type Instance, type Provider } from '../../src/providers/provider.js';

export interface ContractHarness {
  readonly provider: Provider;
  readonly service: string;
  /** Two instance types the provider knows. */
  readonly types: readonly [string, string];
  /** Let the provider's time pass (the fake's tick); a no-op for real providers. */
  step(): void;
  /** How long an instance may take to become ready or go. */
  readonly timeoutMs: number;
}

async function eventually(what: string, h: ContractHarness, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + h.timeoutMs;
  for (;;) {
    h.step();
    if (await ok()) return;
    if (Date.now() > deadline) {
      // What the provider reports then: a state stuck (starting) and an instance lost (failed) read differently.
      const seen = await h.provider.list().then(
        (xs) => xs.map((i) => `${i.id} ${i.state}${i.failure ? ` (${i.failure})` : ''}`).join(', '),
        (e: Error) => `list failed: ${e.message}`,
      );
      assert.fail(`not within ${h.timeoutMs} ms: ${what}; the provider lists: ${seen}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function providerContract(h: ContractHarness): Promise<void> {
  const p = h.provider;
  const [small, large] = h.types;
  const service = h.service;
  const state = async (id: string): Promise<Instance['state'] | undefined> => (await p.get(id))?.state;

  // create: idempotent by id, listed, its labels kept.
  const a = await p.create({ id: `${service}-live-a`, service, pool: 'live', instanceType: small });
  assert.equal(a.id, `${service}-live-a`);
  assert.ok(['starting', 'ready'].includes(a.state), a.state);
  assert.equal((await p.create({ id: a.id, service, pool: 'live', instanceType: small })).id, a.id);
  assert.deepEqual((await p.list({ service })).map((i) => i.id), [a.id], 'one instance for one id');
  const s = await p.create({ service, pool: 'shadow', instanceType: small, labels: { trial: 't1' } });
  assert.notEqual(s.id, a.id);
  assert.deepEqual((await p.list({ pool: 'shadow' })).map((i) => i.id), [s.id]);
  assert.deepEqual((await p.list({ service, pool: 'live' })).map((i) => i.id), [a.id]);
  assert.deepEqual((await p.get(s.id))?.labels, { trial: 't1' });
  assert.deepEqual([(await p.get(s.id))?.pool, (await p.get(s.id))?.instanceType, (await p.get(s.id))?.service], ['shadow', small, service]);
  assert.equal(await p.get('no-such-instance'), undefined);

  // Readiness is observed.
  await eventually('both ready', h, async () => (await state(a.id)) === 'ready' && (await state(s.id)) === 'ready');
  const ready = await p.get(a.id);
  assert.ok(ready?.url, 'a ready instance has its address');
  assert.ok((ready?.readyAt ?? 0) >= ready!.createdAt - 1000, 'ready after it was created');

  // Unknown types are refused, naming what exists.
  await assert.rejects(p.create({ service, pool: 'live', instanceType: 'no-such-type' }), (e) => isProviderError(e, 'unknown_instance_type') && e.message.includes(small));

  // Concurrent creates: distinct instances, each once.
  const more = await Promise.all([1, 2, 3].map((k) => p.create({ id: `${service}-live-b${k}`, service, pool: 'live', instanceType: small })));
  assert.deepEqual(more.map((i) => i.id).sort(), [`${service}-live-b1`, `${service}-live-b2`, `${service}-live-b3`]);
  assert.equal((await p.list({ service, pool: 'live' })).length, 4);

  // A killed instance is failed until deleted.
  await p.kill(s.id);
  await eventually('the killed instance reported failed', h, async () => (await state(s.id)) === 'failed');
  await p.delete(s.id);
  assert.equal(await p.get(s.id), undefined);
  await assert.rejects(p.kill('no-such-instance'), (e) => isProviderError(e, 'not_found'));

  // delete: gone; again: not_found ("already gone").
  await p.delete(`${service}-live-b3`);
  await eventually('b3 gone', h, async () => (await p.get(`${service}-live-b3`)) === undefined);
  await assert.rejects(p.delete(`${service}-live-b3`), (e) => isProviderError(e, 'not_found'));
  await assert.rejects(p.delete('no-such-instance'), (e) => isProviderError(e, 'not_found'));

  // resize: a ready instance of the other type in its place.
  await eventually('b1 and b2 ready', h, async () => (await state(`${service}-live-b1`)) === 'ready' && (await state(`${service}-live-b2`)) === 'ready');
  const resizing = p.resize(a.id, large);
  const b = await (async () => {
    for (;;) {
      h.step();
      const r = await Promise.race([resizing, new Promise<undefined>((res) => setTimeout(() => res(undefined), 25))]);
      if (r) return r;
    }
  })();
  assert.deepEqual([b.instanceType, b.state, b.pool, b.service], [large, 'ready', 'live', service]);
  assert.equal(await p.get(a.id), undefined);
  await assert.rejects(p.resize(a.id, large), (e) => isProviderError(e, 'not_found'));
  const after = await p.list({ service, pool: 'live' });
  assert.deepEqual(after.map((i) => i.instanceType).sort(), [large, small, small], JSON.stringify(after.map((i) => [i.id, i.instanceType, i.state])));

  for (const i of await p.list({ service })) await p.delete(i.id);
  await eventually('all gone', h, async () => (await p.list({ service })).length === 0);
}
