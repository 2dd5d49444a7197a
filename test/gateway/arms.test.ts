// Integration tests: the mirror's A/B arms (src/proof/ab.ts feeds on them), with real servers on port 0.
// Every arm gets the same requests, sampled apart from the shadow; scrubbed like the shadow's; mutations
// of a key in arrival order on every arm; nothing in metadata mode; live answers never wait for an arm.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { ClusterGateway } from '../../src/gateway/cluster.js';
import { createGateway } from '../../src/gateway/gateway.js';
import { serve, until } from '../helpers.js';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: string;
}

/** A server that records what it receives; answers after `delayMs`. */
function recorder(delayMs = 0): { seen: Seen[]; server: ReturnType<typeof createServer> } {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body: Buffer.concat(chunks).toString() });
      setTimeout(() => res.end('ok'), delayMs);
    });
  });
  return { seen, server };
}

const seeded = (seed: number): (() => number) => {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
};

describe('mirror A/B arms', () => {
  const rows = [
    { note: 'half the requests, the same ones to each arm, drawn apart from the shadow', armRate: 0.5, shadowRate: 0.1, n: 400, want: { armLo: 150, armHi: 250, shadowLo: 20, shadowHi: 65 } },
    { note: 'nearly every request at a share of 0.99, none to a shadow at rate 0', armRate: 0.99, shadowRate: 0, n: 200, want: { armLo: 190, armHi: 200, shadowLo: 0, shadowHi: 0 } },
  ];
  for (const r of rows) {
    it(r.note, async (t) => {
      const live = recorder();
      const shadow = recorder();
      const a = recorder();
      const b = recorder(30); // a slow arm: the other arm and live do not wait for it
      const [liveUrl, shadowUrl, aUrl, bUrl] = await Promise.all([serve(t, live.server), serve(t, shadow.server), serve(t, a.server), serve(t, b.server)]);
      const g = createGateway({ live: [liveUrl], shadow: shadowUrl ? [shadowUrl] : [], mirror: { rate: r.shadowRate, armRate: r.armRate, mode: 'scrubbed' }, random: seeded(7) });
      t.after(() => g.close());
      g.mirror.setArms([aUrl, bUrl]);
      const base = `http://127.0.0.1:${(await g.listen(0)).port}`;
      for (let i = 0; i < r.n; i++) {
        const res = await request(`${base}/item/${i}?token=secret${i}`, { headers: { authorization: 'Bearer live-only' } });
        assert.equal(res.statusCode, 200);
        await res.body.dump();
      }
      await until('the arms caught up', () => a.seen.length === b.seen.length && g.mirror.snapshot().armSent === 2 * g.mirror.snapshot().armSampled, 10_000);
      assert.equal(live.seen.length, r.n);
      assert.ok(a.seen.length >= r.want.armLo && a.seen.length <= r.want.armHi, `${a.seen.length} of ${r.n} to the arms`);
      assert.deepEqual(b.seen.map((x) => x.url).sort(), a.seen.map((x) => x.url).sort(), 'the same requests to each arm');
      // Scrubbed as the shadow's: no credential, no secret in the query.
      assert.ok(a.seen.every((x) => x.auth === undefined && !x.url.includes('secret')), JSON.stringify(a.seen[0]));
      // The shadow's sample is its own: its counters and ring hold only what it was sent.
      const stats = g.mirror.snapshot();
      assert.equal(stats.armSampled, a.seen.length);
      assert.equal(stats.sampled, shadow.seen.length);
      assert.equal(g.mirror.recent().requests.length, shadow.seen.length);
      // Each sample at its own rate.
      assert.ok(shadow.seen.length >= r.want.shadowLo && shadow.seen.length <= r.want.shadowHi, `${shadow.seen.length} of ${r.n} to the shadow`);
    });
  }

  it('mutations of a key reach every arm in arrival order', async (t) => {
    const live = recorder();
    const a = recorder();
    const b = recorder(5);
    const [liveUrl, aUrl, bUrl] = await Promise.all([serve(t, live.server), serve(t, a.server), serve(t, b.server)]);
    const g = createGateway({ live: [liveUrl], shadow: [], mirror: { rate: 0, armRate: 0.01, mode: 'full', key: 'x-user' }, random: seeded(3) });
    t.after(() => g.close());
    g.mirror.setArms([aUrl, bUrl]);
    const base = `http://127.0.0.1:${(await g.listen(0)).port}`;
    // Two keys in parallel; each key's writes one after the other (each waits for its answer).
    await Promise.all(
      ['u0', 'u1'].map(async (key) => {
        for (let i = 0; i < 15; i++) {
          const res = await request(`${base}/kv/${key}`, { method: 'PUT', body: String(i), headers: { 'x-user': key } });
          await res.body.dump();
        }
      }),
    );
    await until('every write on both arms', () => a.seen.length === 30 && b.seen.length === 30, 10_000);
    for (const key of ['u0', 'u1']) {
      const order = (s: Seen[]): string[] => s.filter((x) => x.url === `/kv/${key}`).map((x) => x.body);
      assert.deepEqual(order(b.seen), order(a.seen), `${key}: the same order on both arms`);
      assert.deepEqual(order(a.seen), order(live.seen), `${key}: live's order`);
    }
  });

  it('metadata mode sends nothing to the arms', async (t) => {
    const live = recorder();
    const a = recorder();
    const [liveUrl, aUrl] = await Promise.all([serve(t, live.server), serve(t, a.server)]);
    const g = createGateway({ live: [liveUrl], shadow: [], mirror: { rate: 1, armRate: 0.9, mode: 'metadata' } });
    t.after(() => g.close());
    g.mirror.setArms([aUrl]);
    const base = `http://127.0.0.1:${(await g.listen(0)).port}`;
    for (let i = 0; i < 20; i++) await (await request(`${base}/m/${i}`)).body.dump();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(a.seen.length, 0);
    assert.equal(g.mirror.snapshot().armSampled, 0);
  });

  it('a cluster of workers sends to the arms set at runtime, and stops when they are removed', async (t) => {
    const live = recorder();
    const a = recorder();
    const [liveUrl, aUrl] = await Promise.all([serve(t, live.server), serve(t, a.server)]);
    const c = await ClusterGateway.start({ workers: 2, host: '127.0.0.1', port: 0, live: [liveUrl], options: { shadow: [], mirror: { rate: 0, armRate: 0.99 } } });
    t.after(() => c.close());
    await c.setArmTargets([aUrl]);
    const base = `http://127.0.0.1:${c.address.port}`;
    for (let i = 0; i < 50; i++) await (await request(`${base}/c/${i}`)).body.dump();
    await until('the arm got most of them', () => a.seen.length >= 45, 10_000);
    assert.equal((await c.stats()).mirror.armSampled, a.seen.length);
    await c.setArmTargets([]);
    const before = a.seen.length;
    for (let i = 0; i < 20; i++) await (await request(`${base}/d/${i}`)).body.dump();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(a.seen.length, before);
  });
});
