// Integration tests: the open-loop load generator against a real server on port 0: the rate it keeps,
// and a request mix sent as drawn (methods, paths and bodies), seeded.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { startLoad, totals } from '../../src/gateway/loadgen.js';
import { serve } from '../helpers.js';

describe('load generator', () => {
  it('sends a mix as drawn: every method, path and body size of the mix, in about its proportions', async (t) => {
    const seen: string[] = [];
    const url = await serve(
      t,
      createServer((req, res) => {
        let n = 0;
        req.on('data', (c: Buffer) => (n += c.length));
        req.on('end', () => {
          seen.push(`${req.method} ${req.url} ${n}`);
          res.end('ok');
        });
      }),
    );
    const mix = [
      { method: 'GET', path: '/a' },
      { method: 'POST', path: '/b', body: Buffer.alloc(300, 1) },
      { method: 'PUT', path: '/c?x=1', body: Buffer.alloc(5, 2) },
    ];
    const r = totals(await startLoad({ url, mix, rate: () => 300, durationSeconds: 2, seed: 3 }).done);
    assert.equal(r.errors, 0);
    assert.equal(seen.length, r.requests);
    assert.ok(r.requests > 450 && r.requests < 750, `${r.requests} requests at 300/s for 2 s`);
    const count = (k: string) => seen.filter((x) => x === k).length;
    for (const k of ['GET /a 0', 'POST /b 300', 'PUT /c?x=1 5']) assert.ok(count(k) > r.requests / 5, `${k}: ${count(k)} of ${r.requests}`);
    assert.equal(count('GET /a 0') + count('POST /b 300') + count('PUT /c?x=1 5'), seen.length, 'nothing else sent');
  });

  it('regression: a signal stops the sending at once; what was sent is answered and reported', async (t) => {
    const url = await serve(t, createServer((_q, res) => res.end('ok')));
    const ac = new AbortController();
    const run = startLoad({ url, rate: () => 200, durationSeconds: 60, seed: 1, signal: ac.signal });
    setTimeout(() => ac.abort(), 300);
    const t0 = performance.now();
    const r = totals(await run.done);
    assert.ok(performance.now() - t0 < 10_000, 'well before the 60 s');
    assert.ok(r.requests > 0 && r.requests < 1000, `${r.requests} sent before the signal`);
    assert.equal(r.errors, 0);
  });

  it('regression: a target that never answers holds at most maxPending requests; the rest count as errors', async (t) => {
    const held: import('node:http').ServerResponse[] = [];
    const url = await serve(t, createServer((_q, res) => void held.push(res)));
    const r = totals(await startLoad({ url, rate: () => 2000, durationSeconds: 1, seed: 1, timeoutMs: 2000, maxPending: 100 }).done);
    assert.ok(r.requests > 1000, `${r.requests} arrivals`);
    // The 100 sent first wait out their 2 s timeout, after the 1 s run: every other arrival is an error, never sent.
    assert.ok(held.length <= 100, `${held.length} requests reached the target`);
    assert.equal(r.errors, r.requests);
  });

  const badRates: [string, number][] = [
    ['NaN (a rate fraction over a zero base)', Number.NaN],
    ['negative', -1],
  ];
  for (const [note, rate] of badRates) {
    it(`regression: a rate that is ${note} is an error, not a pump that never ends`, async (t) => {
      const url = await serve(t, createServer((_q, res) => res.end('ok')));
      assert.throws(() => startLoad({ url, rate: () => rate, durationSeconds: 1, seed: 1 }), /load profile: expected a rate >= 0 requests\/s at 0 s/);
      // The profile turns bad later: `done` rejects.
      await assert.rejects(startLoad({ url, rate: (at) => (at < 0.2 ? 100 : rate), durationSeconds: 5, seed: 1 }).done, /expected a rate >= 0 requests\/s at 0\.\d+ s/);
    });
  }
});
