// Unit tests (table): the mirror's replay ring, the recent requests the proof gate's trials replay.
// Bounded in count and body bytes whatever the traffic, scrubbed as the shadow gets them, oldest first.
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { Mirror, REPLAY_LIMITS, type MirroredRequest } from './mirror.js';

const req = (i: number, o: Partial<MirroredRequest> = {}): MirroredRequest => ({ method: 'GET', path: `/r/${i}`, headers: { host: 'x' }, body: undefined, orderKey: `/r/${i}`, ...o });

describe('Mirror replay ring', () => {
  const rows: { note: string; send: (m: Mirror) => void; want: { count: number; first?: string; last?: string; bodies?: number; maxBytes?: number } }[] = [
    { note: 'keeps what it sent, oldest first', send: (m) => [1, 2, 3].forEach((i) => m.submit(req(i))), want: { count: 3, first: '/r/1', last: '/r/3', bodies: 0 } },
    {
      note: 'at most REPLAY_LIMITS.requests: the newest',
      send: (m) => {
        for (let i = 0; i < REPLAY_LIMITS.requests + 50; i++) m.submit(req(i));
      },
      want: { count: REPLAY_LIMITS.requests, first: '/r/50', last: `/r/${REPLAY_LIMITS.requests + 49}` },
    },
    {
      note: 'bodies beyond the byte budget: the oldest lose theirs, the requests stay',
      send: (m) => {
        const body = Buffer.alloc(REPLAY_LIMITS.maxBodyBytes, 0x61);
        for (let i = 0; i < 400; i++) m.submit(req(i, { method: 'POST', body, headers: { host: 'x', 'content-type': 'application/octet-stream' } }));
      },
      want: { count: 400, first: '/r/0', last: '/r/399', bodies: REPLAY_LIMITS.bodyBytes / REPLAY_LIMITS.maxBodyBytes, maxBytes: REPLAY_LIMITS.bodyBytes },
    },
    {
      note: 'a body over maxBodyBytes is not kept (the request is, bodiless)',
      send: (m) => m.submit(req(1, { method: 'POST', body: Buffer.alloc(REPLAY_LIMITS.maxBodyBytes + 1, 0x61), headers: { host: 'x', 'content-type': 'application/octet-stream' } })),
      want: { count: 1, bodies: 0 },
    },
  ];
  for (const r of rows) {
    it(r.note, async () => {
      const m = new Mirror({ targets: [], mode: 'full', queueLimit: 1e9 });
      r.send(m);
      const { requests, bodyBytes } = m.recent();
      assert.equal(requests.length, r.want.count);
      if (r.want.first) assert.equal(requests[0]?.path, r.want.first);
      if (r.want.last) assert.equal(requests.at(-1)?.path, r.want.last);
      if (r.want.bodies !== undefined) assert.equal(requests.filter((x) => x.body).length, r.want.bodies);
      if (r.want.maxBytes !== undefined) assert.ok(bodyBytes <= r.want.maxBytes);
      // The newest keep their bodies: stripping goes oldest first.
      if (r.want.bodies) assert.ok(requests.at(-1)?.body);
      await m.close();
    });
  }

  it('scrubbed mode keeps the scrubbed request, never the original', async () => {
    const m = new Mirror({ targets: [], mode: 'scrubbed' });
    m.submit(req(1, { path: '/login?password=hunter2&x=1', method: 'POST', headers: { host: 'x', authorization: 'Bearer s3cret', 'content-type': 'application/json' }, body: Buffer.from('{"password":"hunter2","q":1}') }));
    const [kept] = m.recent().requests;
    assert.ok(kept);
    assert.doesNotMatch(kept.path, /hunter2/);
    assert.doesNotMatch(kept.body?.toString() ?? '', /hunter2/);
    await m.close();
  });

  it('metadata mode keeps nothing to replay (the gate uses the metadata records)', async () => {
    const m = new Mirror({ targets: [], mode: 'metadata' });
    m.submit(req(1));
    assert.equal(m.recent().requests.length, 0);
    await m.close();
  });
});

describe('Mirror to a shadow that refuses connections', () => {
  it('counts every queued request as failed and goes on, with nothing thrown', async () => {
    const { createServer } = await import('node:net');
    // A port that was free a moment ago: connections to it are refused.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const uncaught: Error[] = [];
    const onUncaught = (e: Error): void => void uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const m = new Mirror({ targets: [`http://127.0.0.1:${port}`], mode: 'full', concurrency: 8, queueLimit: 1000 });
      for (let i = 0; i < 500; i++) m.submit(req(i));
      for (let k = 0; k < 200 && m.snapshot().failed < 500; k++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(m.snapshot().failed, 500);
      assert.deepEqual(uncaught.map((e) => e.message), []);
      await m.close();
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});

describe('Mirror: the versioned sync of a stateful shadow', () => {
  /** A shadow that records the stamps of the mutations it receives, in order. */
  async function shadow(): Promise<{ url: string; seen: string[]; close: () => Promise<void> }> {
    const { createServer } = await import('node:http');
    const seen: string[] = [];
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${String(req.headers['x-shadowscale-seq'] ?? '-')}`);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen, close: () => new Promise((r) => server.close(() => r())) };
  }
  /** A stamped PUT as the gateway hands it over: live's side settled (answered) or not. */
  const put = (m: Mirror, path: string, liveAnswered: boolean): number => {
    const { header, seq } = m.stamp();
    m.reserve(path, seq)({ method: 'PUT', path, headers: { host: 'x', 'x-shadowscale-seq': header }, body: Buffer.from('v'), orderKey: path });
    if (liveAnswered) m.settleStamp(seq, 'live');
    return seq;
  };
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 100));

  const rows: { note: string; run: (m: Mirror, url: string) => Promise<{ applied: number[]; expectSent: string[]; expectRelease: { released: number; skipped: number } }> }[] = [
    {
      note: 'mutations during the sync wait, then go in order except those the snapshot has',
      run: async (m, url) => {
        const since = m.beginSync(url)[m.origin];
        assert.equal(since, 1);
        m.setTargets([url]);
        const a = put(m, '/kv/a', true);
        put(m, '/kv/b', true);
        put(m, '/kv/a', true);
        await settle();
        return { applied: [a], expectSent: [`PUT /kv/b ${m.origin}.2`, `PUT /kv/a ${m.origin}.3`], expectRelease: { released: 2, skipped: 1 } };
      },
    },
    {
      note: 'a mutation sent before the sync began that live has not answered is held for the new shadow',
      run: async (m, url) => {
        put(m, '/kv/x', false); // live still working on it; no shadow yet
        put(m, '/kv/y', true); // answered: the snapshot has it
        await settle();
        const since = m.beginSync(url)[m.origin];
        assert.equal(since, 1, 'the oldest unanswered stamp');
        m.setTargets([url]);
        await settle();
        return { applied: [], expectSent: [`PUT /kv/x ${m.origin}.1`], expectRelease: { released: 1, skipped: 0 } };
      },
    },
  ];
  for (const r of rows) {
    it(r.note, async () => {
      const s = await shadow();
      const m = new Mirror({ targets: [], mode: 'full', stateful: true, queueLimit: 1000 });
      try {
        const { applied, expectSent, expectRelease } = await r.run(m, s.url);
        assert.deepEqual(s.seen, [], 'nothing reaches a syncing shadow');
        const rel = m.finishSync(s.url, { [m.origin]: applied });
        assert.deepEqual({ released: rel.released, skipped: rel.skipped }, expectRelease);
        for (let k = 0; k < 50 && s.seen.length < expectSent.length; k++) await settle();
        assert.deepEqual(s.seen, expectSent);
      } finally {
        await m.close();
        await s.close();
      }
    });
  }

  it('stamps are ORIGIN.N, numbered from 1 in the order mutations arrive', () => {
    const m = new Mirror({ targets: [], mode: 'full', stateful: true });
    const a = m.stamp();
    const b = m.stamp();
    assert.equal(a.header, `${m.origin}.1`);
    assert.equal(b.seq, 2);
  });
});

describe('Mirror: warming targets', () => {
  const createServer = http.createServer;
  const target = async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push(`${req.method} ${req.url}`);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
  };
  const wait = async (ok: () => boolean): Promise<void> => {
    for (let k = 0; k < 100 && !ok(); k++) await new Promise((r) => setTimeout(r, 20));
  };

  it('sampled reads reach the warming targets in turn, answers discarded and not measured as the shadow; never mutations', async () => {
    const shadowT = await target();
    const a = await target();
    const b = await target();
    const results: string[] = [];
    const m = new Mirror({ targets: [shadowT.url], mode: 'full', rate: 1, queueLimit: 1000 }, () => 0, (r) => results.push(r.path ?? ''));
    try {
      m.setWarmTargets([a.url, b.url]);
      assert.deepEqual(m.getWarmTargets(), [a.url, b.url]);
      for (let k = 0; k < 6; k++) m.submit({ method: 'GET', path: `/r${k}`, headers: { host: 'x' }, body: undefined, orderKey: `/r${k}` });
      m.submit({ method: 'POST', path: '/write', headers: { host: 'x' }, body: Buffer.from('v'), orderKey: '/write' });
      // A target sees a request before its answer reaches the mirror: wait for the answers too (CI saw 6 of 7).
      await wait(() => a.seen.length + b.seen.length >= 6 && shadowT.seen.length >= 7 && results.length >= 7 && m.snapshot().warmSent >= 6);
      assert.equal(shadowT.seen.length, 7, 'the shadow gets everything sampled');
      assert.deepEqual([a.seen.length, b.seen.length], [3, 3], 'one warming target per read, in turn');
      assert.ok(![...a.seen, ...b.seen].some((x) => x.startsWith('POST')), 'no mutation reaches a warming target');
      assert.equal(results.length, 7, 'only the shadow answers are measured');
      assert.deepEqual({ sent: m.snapshot().warmSent, failed: m.snapshot().warmFailed }, { sent: 6, failed: 0 });
      // With warming targets only, reads are still sampled for them.
      m.setTargets([]);
      m.setWarmTargets([a.url]);
      assert.equal(m.sample('GET', undefined), true);
      m.setWarmTargets([]);
      assert.equal(m.sample('GET', undefined), false);
    } finally {
      await m.close();
      await Promise.all([shadowT.close(), a.close(), b.close()]);
    }
  });
});
