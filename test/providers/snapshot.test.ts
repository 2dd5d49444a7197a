// The state API's client (src/providers/snapshot.ts) against a real HTTP server on port 0 that takes its
// time: a state request times out after `timeoutMs` (shadow.syncTimeoutSeconds), not after a fixed 5 s; a
// copy-in is given that long to apply once its body is sent, whatever the body's size.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { DEFAULT_SYNC_TIMEOUT_MS, readDigest, readSnapshot, writeSnapshot } from '../../src/providers/snapshot.js';
import { serve } from '../helpers.js';

/** A state API that answers after `delayMs` (a PUT: after reading its whole body), counting the bytes it took in. */
async function slowState(t: Parameters<typeof serve>[0], delayMs: number): Promise<{ url: string; received: () => number }> {
  let received = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received += Buffer.concat(chunks).length;
      setTimeout(() => {
        if (req.url?.startsWith('/state/digest')) res.end(JSON.stringify({ digest: 'd1', version: 3, keys: 2 }));
        else res.end(req.method === 'PUT' ? '' : JSON.stringify({ entries: { a: 1 } }));
      }, delayMs);
    });
  });
  return { url: await serve(t, server), received: () => received };
}

describe('state requests: the timeout', () => {
  it('defaults to 30 s (was a fixed 5 s: a state that took longer to apply replaced every shadow it was copied into)', () => {
    assert.equal(DEFAULT_SYNC_TIMEOUT_MS, 30_000);
  });

  // undici checks its timeouts on a coarse clock (about every half second), so a slow case takes well over it.
  const cases = [
    { name: 'GET snapshot slower than the timeout', delayMs: 3000, timeoutMs: 400, call: (url: string, ms: number) => readSnapshot({ url }, { timeoutMs: ms }), ok: false },
    { name: 'GET snapshot within the timeout', delayMs: 150, timeoutMs: 2000, call: (url: string, ms: number) => readSnapshot({ url }, { timeoutMs: ms }), ok: true },
    { name: 'PUT snapshot applied slower than the timeout', delayMs: 3000, timeoutMs: 400, call: (url: string, ms: number) => writeSnapshot({ url }, '{"entries":{}}', { timeoutMs: ms }), ok: false },
    { name: 'PUT snapshot applied within the timeout', delayMs: 150, timeoutMs: 2000, call: (url: string, ms: number) => writeSnapshot({ url }, '{"entries":{}}', { timeoutMs: ms }), ok: true },
    { name: 'GET digest slower than the timeout', delayMs: 3000, timeoutMs: 400, call: (url: string, ms: number) => readDigest({ url }, { timeoutMs: ms }), ok: false },
    { name: 'GET digest within the timeout', delayMs: 150, timeoutMs: 2000, call: (url: string, ms: number) => readDigest({ url }, { timeoutMs: ms }), ok: true },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.ok ? 'answered' : 'times out'}`, async (t) => {
      const s = await slowState(t, c.delayMs);
      if (c.ok) await c.call(s.url, c.timeoutMs);
      else await assert.rejects(c.call(s.url, c.timeoutMs), /timeout/i);
    });
  }

  it('a large copy-in: the timeout counts from the end of its body (the time to apply it), not from its start', async (t) => {
    const s = await slowState(t, 300);
    const body = JSON.stringify({ entries: { big: 'x'.repeat(32 << 20) } });
    await writeSnapshot({ url: s.url }, body, { timeoutMs: 1500 });
    assert.equal(s.received(), Buffer.byteLength(body));
  });

  it('an abort signal still stops a request at once', async (t) => {
    const s = await slowState(t, 2000);
    const ac = new AbortController();
    const p = readSnapshot({ url: s.url }, { signal: ac.signal, timeoutMs: 10_000 });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, /abort/i);
  });
});
