// Unit tests: the recording fake provider keeps the Provider contracts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeProvider } from '../../src/providers/fake.js';
import { isProviderError, ProviderError } from '../../src/providers/provider.js';
import { providerContract } from './contract.js';

describe('FakeProvider', () => {
  it('records calls, is idempotent by id, becomes ready after ticks, injects the next error once, and reports "already gone"', async () => {
    let now = 1000;
    const p = new FakeProvider({ instanceTypes: ['small', 'large'], readyAfterTicks: 2, now: () => now });
    const a = await p.create({ id: 'a', service: 'web', pool: 'live', instanceType: 'small' });
    assert.equal(a.state, 'starting');
    assert.equal((await p.create({ id: 'a', service: 'web', pool: 'live', instanceType: 'small' })).id, 'a');
    assert.equal((await p.list()).length, 1);
    p.tick();
    assert.equal((await p.get('a'))?.state, 'starting');
    now = 2000;
    p.tick();
    assert.deepEqual([(await p.get('a'))?.state, (await p.get('a'))?.readyAt], ['ready', 2000]);

    p.failNext('create', new ProviderError('capacity', 'no room'));
    await assert.rejects(p.create({ service: 'web', pool: 'shadow', instanceType: 'small' }), (e) => isProviderError(e, 'capacity'));
    const s = await p.create({ service: 'web', pool: 'shadow', instanceType: 'small' });
    assert.deepEqual((await p.list({ pool: 'shadow' })).map((i) => i.id), [s.id]);
    p.crash(s.id);
    assert.equal((await p.get(s.id))?.state, 'failed');

    const b = await p.resize('a', 'large');
    assert.equal(b.instanceType, 'large');
    assert.equal(await p.get('a'), undefined);
    await assert.rejects(p.delete('a'), (e) => isProviderError(e, 'not_found'));
    await assert.rejects(p.create({ service: 'web', pool: 'live', instanceType: 'huge' }), (e) => isProviderError(e, 'unknown_instance_type'));
    assert.deepEqual(p.calls.map((c) => c.method), ['create', 'create', 'list', 'get', 'get', 'get', 'create', 'create', 'list', 'get', 'resize', 'get', 'delete', 'create']);
  });

  it('keeps the Provider contract (the sequence every provider runs)', async () => {
    const p = new FakeProvider({ instanceTypes: ['small', 'large'], readyAfterTicks: 2 });
    await providerContract({ provider: p, service: 'web', types: ['small', 'large'], step: () => p.tick(), timeoutMs: 5000 });
  });
});
