// Stateful shadows (issue 13, section 4; docs/design/live-loop.md): the versioned sync copies live's state
// into a new shadow under concurrent writes and ends equal to live; a shadow that diverges is found by the
// digest check and synced again.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client, Pool } from 'undici';
import { loadConfig } from '../../src/config/load.js';
import type { LoopEvent } from '../../src/control/loop.js';
import { Runtime } from '../../src/control/runtime.js';
import { tempDir, until } from '../helpers.js';

function kvConfig(dir: string, extra = '', workers = 1, pool = '{ min: 1, max: 1 }', mirror = 'queueLimit: 100000, timeoutMs: 30000'): string {
  const file = join(dir, 'kv.yaml');
  writeFileSync(
    file,
    `instanceTypes:\n  kv: { slots: 8, serviceTimeMs: 2, queueLimit: 500, provisioningSeconds: 0.1, warmupSeconds: 0, warmupCapacity: 1, env: { MODE: kv, SERVICE_TIME_DIST: constant } }\n` +
      `services:\n  - name: kv\n    instanceType: kv\n    pool: ${pool}\n    shadow: { fraction: 0.25, sync: snapshot, sampling: { rate: 0.05, mirrorMutations: true }${extra} }\n    scaling: { strategy: reactive, periodSeconds: 1, proof: off }\n` +
      `gateway: { listen: 127.0.0.1:0, workers: ${workers}, mirror: { ${mirror} } }\nstore: { path: ${join(dir, 'store.db')} }\ncontrol: { tickSeconds: 0.1, forecastBucketSeconds: 1 }\nprovider: { graceSeconds: 1 }\n`,
  );
  return file;
}

const snapshot = async (url: string): Promise<{ version: number; entries: Record<string, string> }> => (await fetch(`${url}/state/snapshot`)).json() as Promise<{ version: number; entries: Record<string, string> }>;

describe('stateful shadows: the versioned sync', () => {
  for (const workers of [1, 2]) {
  it(`10 000 concurrent writes while a new shadow is synced: live and shadow end equal (version and entries), with no re-sync (gateway workers: ${workers})`, async (t) => {
    const dir = tempDir(t);
    const events: LoopEvent[] = [];
    // With two workers each has its own stamp origin and mirror: the sync begins, buffers and releases in each (cluster ops).
    const rt = await Runtime.start({ cfg: loadConfig({ file: kvConfig(dir, '', workers) }), env: {}, onEvent: (e) => events.push(e) });
    t.after(() => rt.stop({ deleteInstances: true }));
    const ready = async (pool: 'live' | 'shadow') => (await rt.provider.list({ pool })).filter((i) => i.state === 'ready');
    await until('live routed, shadow synced', async () => (await ready('live')).length === 1 && (await ready('shadow')).length === 1 && events.some((e) => e.kind === 'shadow_synced') && (await fetch(`${rt.listen}/kv/none`)).status === 404, 20_000);
    const [oldShadow] = await ready('shadow');
    const pool = new Pool(rt.listen, { connections: 64 });
    t.after(() => pool.close());
    // 10 000 writes, 64 at a time, over 500 keys (PUT, and a DELETE every 10th), each a new value.
    let next = 0;
    let failed = 0;
    // One gateway orders every key's mutations; across workers the order is kept per connection (gateway.workers),
    // so there each writer owns its keys and its connection.
    const own = workers > 1 ? Array.from({ length: 64 }, () => new Client(rt.listen)) : [];
    t.after(() => Promise.all(own.map((c) => c.close())));
    const writer = async (w: number): Promise<void> => {
      while (next < 10_000) {
        const i = next++;
        const key = workers > 1 ? `k${w}_${i % 8}` : `k${i % 500}`;
        const del = i % 10 === 9;
        const r = await (own[w] ?? pool).request({ path: `/kv/${key}`, method: del ? 'DELETE' : 'PUT', ...(del ? {} : { body: `v${i}` }) });
        await r.body.dump();
        if (r.statusCode !== 200) failed++;
        // The old shadow goes once the writes are under way: its replacement is synced under them.
        if (i === 1500) void rt.provider.kill(oldShadow?.id as string);
      }
    };
    await Promise.all(Array.from({ length: 64 }, (_, w) => writer(w)));
    assert.equal(failed, 0);
    await until('a new shadow synced', async () => {
      const s = await ready('shadow');
      return s.length === 1 && s[0]?.id !== oldShadow?.id && events.some((e) => e.kind === 'shadow_synced' && e.detail.includes(`shadow ${s[0]?.id} `));
    }, 30_000);
    const synced = events.find((e) => e.kind === 'shadow_synced' && !e.detail.includes(`shadow ${oldShadow?.id} `));
    assert.ok(synced, 'the new shadow was synced');
    const [live] = await ready('live');
    const [shadow] = await ready('shadow');
    const liveSnap = await snapshot(live?.url as string);
    assert.equal(liveSnap.version, 10_000);
    let last: unknown;
    // Equal as states: the same version and entries (their order in the JSON is insertion order, which differs across workers).
    const canonical = (x: { version: number; entries: Record<string, string> }): string => JSON.stringify([x.version, Object.entries(x.entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
    await until('the shadow equal to live', async () => canonical((last = await snapshot(shadow?.url as string))) === canonical(liveSnap), 20_000).catch((err: Error) => {
      const sh = last as typeof liveSnap;
      return (async () => {
        const origin = rt.localGateway?.mirror.origin ?? '';
        const appliedOf = async (url: string): Promise<number[]> => ((await (await fetch(`${url}/state/snapshot?since=${origin}:0`)).json()) as { applied: Record<string, number[]> }).applied[origin] ?? [];
        // The kinds of every event after the writes began: a shadow replaced under the check shows here.
        const after = events.filter((e) => ['shadow_synced', 'shadow_sync_failed', 'shadow_behind', 'shadow_diverged', 'shadow_degraded', 'replaced'].includes(e.kind)).map((e) => `${e.kind}: ${e.detail}`).join(' | ');
        const shadowSeqs = await appliedOf(shadow?.url as string).catch((e: Error) => {
          throw new Error(`${err.message}: the shadow ${shadow?.id} no longer answers (${e.message}); events: ${after}`);
        });
        const first = Math.min(...shadowSeqs);
        const got = new Set(shadowSeqs);
        const missing = (await appliedOf(live?.url as string)).filter((n) => n >= first && !got.has(n));
        throw new Error(`${err.message}: live version ${liveSnap.version}, shadow ${sh.version}; ${Object.keys(liveSnap.entries).filter((k) => liveSnap.entries[k] !== sh.entries[k]).length} key(s) differ; ${synced.detail}; the shadow's first stamp ${first}, missing after it: ${missing.slice(0, 30).join(' ')}; mirror ${JSON.stringify((await rt.gateway.stats()).mirror)}; events: ${after}`);
      })();
    });
    // Equal by the sync itself, not repaired afterwards.
    assert.equal(events.filter((e) => (e.kind as string) === 'shadow_diverged').length, 0);
  });
  }

  it('a shadow that diverges (a write that reached it alone) is found by the digest check and synced again', async (t) => {
    const dir = tempDir(t);
    const events: LoopEvent[] = [];
    const rt = await Runtime.start({ cfg: loadConfig({ file: kvConfig(dir, ', digestSeconds: 0.5') }), env: {}, onEvent: (e) => events.push(e) });
    t.after(() => rt.stop({ deleteInstances: true }));
    const ready = async (pool: 'live' | 'shadow') => (await rt.provider.list({ pool })).filter((i) => i.state === 'ready');
    await until('live routed, shadow synced', async () => (await ready('live')).length === 1 && events.some((e) => e.kind === 'shadow_synced') && (await fetch(`${rt.listen}/kv/none`)).status === 404, 20_000);
    for (let i = 0; i < 20; i++) assert.equal((await fetch(`${rt.listen}/kv/k${i}`, { method: 'PUT', body: `v${i}` })).status, 200);
    const [live] = await ready('live');
    const [shadow] = await ready('shadow');
    await until('equal', async () => JSON.stringify(await snapshot(shadow?.url as string)) === JSON.stringify(await snapshot(live?.url as string)));
    // A mutation the shadow alone sees (as a dropped mirrored copy would leave it behind, the other way round).
    assert.equal((await fetch(`${shadow?.url}/kv/stray`, { method: 'PUT', body: 'x' })).status, 200);
    await until('divergence found and synced again', () => events.some((e) => (e.kind as string) === 'shadow_diverged') && events.filter((e) => e.kind === 'shadow_synced').length >= 2, 20_000);
    // Synced again by replacement: the fresh shadow equals live.
    const [fresh] = (await ready('shadow')).filter((i) => i.id !== shadow?.id);
    assert.ok(fresh, 'a fresh shadow replaced the diverged one');
    await until('equal again', async () => JSON.stringify(await snapshot(fresh.url)) === JSON.stringify(await snapshot(live?.url as string)), 10_000);
    const counters = rt.loop.state().counters;
    assert.equal(counters.shadowDivergences, 1);
    assert.ok(counters.digestChecks >= 2);
  });

  it('mutations lost on the way to the shadow (a mirror queue too short for the writes) widen the mutation delta, which syncs the shadow again', async (t) => {
    const dir = tempDir(t);
    const events: LoopEvent[] = [];
    // No digest checks: only the mutation delta can find the shadow behind. One mirror connection and a
    // queue of 4: under 32 concurrent writers most copies are dropped.
    const rt = await Runtime.start({ cfg: loadConfig({ file: kvConfig(dir, ', digestSeconds: 0', 1, '{ min: 1, max: 1 }', 'queueLimit: 4, concurrency: 1, timeoutMs: 30000') }), env: {}, onEvent: (e) => events.push(e) });
    t.after(() => rt.stop({ deleteInstances: true }));
    const ready = async (pool: 'live' | 'shadow') => (await rt.provider.list({ pool })).filter((i) => i.state === 'ready');
    await until('live routed, shadow synced', async () => (await ready('live')).length === 1 && events.some((e) => e.kind === 'shadow_synced') && (await fetch(`${rt.listen}/kv/none`)).status === 404, 20_000);
    const synced = events.filter((e) => e.kind === 'shadow_synced').length;
    const pool = new Pool(rt.listen, { connections: 32 });
    t.after(() => pool.close());
    let n = 0;
    const behind = (): boolean => events.some((e) => (e.kind as string) === 'shadow_behind');
    // Writes until the loop finds the shadow behind (at most 30 s), then none: the re-sync that follows copies all of them.
    const deadline = Date.now() + 30_000;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (!behind() && Date.now() < deadline) {
          const i = n++;
          const r = await pool.request({ path: `/kv/k${i % 200}`, method: 'PUT', body: `v${i}` });
          await r.body.dump();
        }
      }),
    );
    assert.ok(behind(), `no shadow_behind after ${n} writes; mirror ${JSON.stringify((await rt.gateway.stats()).mirror)}`);
    const e = events.find((x) => (x.kind as string) === 'shadow_behind') as LoopEvent;
    assert.match(e.detail, /mutation lag \d+ and growing for 3 windows .*syncing the shadow again \(a fresh shadow replaces it\)/);
    assert.ok((e.numbers?.lag ?? 0) > 0);
    assert.ok((await rt.gateway.stats()).mirror.dropped > 0, 'copies were dropped');
    await until('synced again', () => events.filter((x) => x.kind === 'shadow_synced').length > synced, 20_000);
    const [live] = await ready('live');
    const [shadow] = (await ready('shadow')).filter((i) => events.some((x) => x.kind === 'shadow_synced' && x.detail.includes(`shadow ${i.id} `)));
    await until('the shadow equal to live', async () => JSON.stringify(await snapshot(shadow?.url as string)) === JSON.stringify(await snapshot(live?.url as string)), 20_000);
    const c = rt.loop.state().counters;
    assert.ok(c.mutationResyncs >= 1 && (c.mutationDeltas.widening ?? 0) >= 1, JSON.stringify(c));
    assert.equal(events.filter((x) => (x.kind as string) === 'shadow_diverged').length, 0, 'found by the mutation delta, not a digest check');
  });

  it('a new live instance of a stateful service gets a serving instance\'s state before it takes client requests', async (t) => {
    const dir = tempDir(t);
    const events: LoopEvent[] = [];
    const rt = await Runtime.start({ cfg: loadConfig({ file: kvConfig(dir, '', 1, '{ min: 2, max: 2 }') }), env: {}, onEvent: (e) => events.push(e) });
    t.after(() => rt.stop({ deleteInstances: true }));
    const ready = async () => (await rt.provider.list({ pool: 'live' })).filter((i) => i.state === 'ready');
    const routed = (): string[] => (rt.localGateway?.members ?? []).map((m) => m.id).sort();
    await until('two live instances routed', async () => (await ready()).length === 2 && routed().length === 2, 20_000);
    // The first two start together: neither got a copy (there was nothing to copy from).
    assert.equal(rt.loop.state().counters.liveStateCopies, 0);
    for (let i = 0; i < 40; i++) assert.equal((await fetch(`${rt.listen}/kv/k${i}`, { method: 'PUT', body: `v${i}` })).status, 200);
    const [gone, kept] = await ready();
    const keptState = await snapshot(kept?.url as string);
    assert.ok(Object.keys(keptState.entries).length > 0 && Object.keys(keptState.entries).length < 40, 'writes spread over both');
    await rt.provider.kill(gone?.id as string);
    await until('the replacement serves', async () => {
      const r = await ready();
      return r.length === 2 && !r.some((i) => i.id === gone?.id) && routed().join() === r.map((i) => i.id).sort().join();
    }, 20_000);
    const fresh = (await ready()).find((i) => i.id !== kept?.id);
    // It started from the serving instance's state: every entry the kept one had when it was copied.
    const freshState = await snapshot(fresh?.url as string);
    assert.deepEqual(freshState.entries, keptState.entries);
    assert.equal(freshState.version, keptState.version);
    assert.ok(events.some((e) => e.kind === 'switchover' && e.detail.startsWith(`${fresh?.id}: state copied from ${kept?.id}`)), 'the copy is an event');
    assert.equal(rt.loop.state().counters.liveStateCopies, 1);
  });
  it('a shadow whose state copy-in fails is replaced, never written again (a write that timed out could land over a retry\'s): each failure names a new shadow, and the failed ones go', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'refuse.yaml');
    // The shadows' type refuses every copy-in (the sample service's STATE_WRITES=refuse); live's accepts.
    const kvType = (env: string): string => `{ slots: 8, serviceTimeMs: 2, queueLimit: 500, provisioningSeconds: 0.1, warmupSeconds: 0, warmupCapacity: 1, env: { MODE: kv, SERVICE_TIME_DIST: constant${env} } }`;
    writeFileSync(
      file,
      `instanceTypes:\n  kv: ${kvType('')}\n  refusing: ${kvType(', STATE_WRITES: refuse')}\n` +
        `services:\n  - name: kv\n    instanceType: kv\n    pool: { min: 1, max: 1 }\n    shadow: { fraction: 0.25, instanceType: refusing, sync: snapshot, sampling: { rate: 0.05, mirrorMutations: true } }\n    scaling: { strategy: reactive, periodSeconds: 1, proof: off }\n` +
        `gateway: { listen: 127.0.0.1:0 }\nstore: { path: ${join(dir, 'store.db')} }\ncontrol: { tickSeconds: 0.1, forecastBucketSeconds: 1 }\nprovider: { graceSeconds: 1 }\n`,
    );
    const events: LoopEvent[] = [];
    const rt = await Runtime.start({ cfg: loadConfig({ file }), env: {}, onEvent: (e) => events.push(e) });
    t.after(() => rt.stop({ deleteInstances: true }));
    const failures = (): LoopEvent[] => events.filter((e) => e.kind === 'shadow_sync_failed');
    await until('three copy-ins failed', () => failures().length >= 3, 30_000);
    // Live serves writes meanwhile.
    assert.equal((await fetch(`${rt.listen}/kv/k`, { method: 'PUT', body: 'v' })).status, 200);
    const ids = failures().map((e) => /^shadow (\S+): /.exec(e.detail)?.[1]);
    for (const e of failures()) {
      assert.match(e.detail, /PUT \/state\/snapshot answered 503; the shadow is replaced$/);
      assert.doesNotMatch(e.detail, /retrying/);
    }
    assert.equal(new Set(ids).size, ids.length, `one failure per shadow, none written twice: ${ids.join(', ')}`);
    // The failed shadows are deleted, not left behind.
    const failed = ids.slice(0, 2);
    await until('the failed shadows gone', async () => !(await rt.provider.list()).some((i) => failed.includes(i.id)), 10_000);
    assert.equal(events.filter((e) => e.kind === 'shadow_synced').length, 0);
  });
  it('a new live instance whose state copy-in fails is replaced before it takes a client request, never written again', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'refuse-live.yaml');
    writeFileSync(
      file,
      `instanceTypes:\n  refusing: { slots: 8, serviceTimeMs: 2, queueLimit: 500, provisioningSeconds: 0.1, warmupSeconds: 0, warmupCapacity: 1, env: { MODE: kv, SERVICE_TIME_DIST: constant, STATE_WRITES: refuse } }\n` +
        `  kv: { slots: 8, serviceTimeMs: 2, queueLimit: 500, provisioningSeconds: 0.1, warmupSeconds: 0, warmupCapacity: 1, env: { MODE: kv, SERVICE_TIME_DIST: constant } }\n` +
        `services:\n  - name: kv\n    instanceType: refusing\n    pool: { min: 2, max: 2 }\n    shadow: { fraction: 0.25, instanceType: kv, sync: snapshot, sampling: { rate: 0.05, mirrorMutations: true } }\n    scaling: { strategy: reactive, periodSeconds: 1, proof: off }\n` +
        `gateway: { listen: 127.0.0.1:0 }\nstore: { path: ${join(dir, 'store.db')} }\ncontrol: { tickSeconds: 0.1, forecastBucketSeconds: 1 }\nprovider: { graceSeconds: 1 }\n`,
    );
    const events: LoopEvent[] = [];
    const rt = await Runtime.start({ cfg: loadConfig({ file }), env: {}, onEvent: (e) => events.push(e) });
    t.after(() => rt.stop({ deleteInstances: true }));
    const routed = new Set<string>();
    const watch = setInterval(() => {
      for (const m of rt.localGateway?.members ?? []) routed.add(m.id);
    }, 20);
    t.after(() => clearInterval(watch));
    const ready = async () => (await rt.provider.list({ pool: 'live' })).filter((i) => i.state === 'ready');
    await until('two live instances routed', async () => (await ready()).length === 2 && (rt.localGateway?.members.length ?? 0) === 2, 20_000);
    const [gone] = await ready();
    await rt.provider.kill(gone?.id as string);
    const failures = (): LoopEvent[] => events.filter((e) => e.kind === 'action_failed' && e.detail.startsWith('state copy into '));
    await until('two copy-ins failed', () => failures().length >= 2, 30_000);
    const ids = failures().map((e) => /^state copy into (\S+): /.exec(e.detail)?.[1] as string);
    for (const e of failures()) assert.match(e.detail, /PUT \/state\/snapshot answered 503; the instance is replaced$/);
    assert.equal(new Set(ids).size, ids.length, `one failure per instance: ${ids.join(', ')}`);
    for (const id of ids) assert.ok(!routed.has(id), `${id} never took a client request`);
    await until('the failed instances gone', async () => !(await rt.provider.list()).some((i) => ids.slice(0, 1).includes(i.id)), 10_000);
  });
});
