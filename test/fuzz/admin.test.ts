// Fuzz tests (seeded): the gateway's admin API over HTTP (a real gateway and admin server on port 0)
// with random methods, paths, percent-encodings and bodies. Every answer is a 2xx or a 4xx with a
// stable error code, never a 5xx, and the gateway's state stays well-formed.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { Pool } from 'undici';
import { createAdminServer } from '../../src/gateway/admin.js';
import { localControl } from '../../src/gateway/control.js';
import { createGateway } from '../../src/gateway/gateway.js';
import { ERROR_CODES } from '../../src/core/errors.js';
import { serve } from '../helpers.js';
import { fuzz, int, mutateBytes, pick } from './harness.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'FOO'];
const PATHS = ['/metrics', '/stats', '/pools/live', '/pools/live/members', '/pools/live/members/live-0', '/pools/live/members/live-1', '/pools/live/members/%E0%A4%A', '/pools/live/members/%', '/pools/live/members/a%2Fb', '/pools/shadow', '/mirror', '/mirror/metadata', '/', '/nothing', '//stats', '/stats/', '/pools/live/members/live-0/x', '/mirror?rate=1', '/%zz'];
const VALUES: unknown[] = [1, 0, -1, 0.5, 2, 1e308, null, true, 'x', '', [], {}, 'http://127.0.0.1:1', 'http://127.0.0.1:0', 'ftp://x', 'http://', 'http://[::1]:9', 'http://a b', ['http://127.0.0.1:2'], ['http://127.0.0.1:2', 'http://127.0.0.1:2'], [1, 2], 'http://127.0.0.1:9/path?q'];
const KEYS = ['url', 'weight', 'rate', 'targets', 'x', '__proto__', 'constructor'];
const JSON_BYTES = [...'{}[]":,0123456789-.eE \\ntruefalsnul'].map((c) => c.charCodeAt(0)).concat([0, 0xff]);

describe('fuzz: admin API', () => {
  it('random methods, paths and bodies: 2xx or 4xx with a stable code, never a 5xx; state stays well-formed', async (t) => {
    const live = await serve(t, createServer((_q, res) => res.end('ok')));
    const g = createGateway({ live: [live] });
    t.after(() => g.close());
    const admin = await serve(t, createAdminServer(localControl(g)));
    const pool = new Pool(admin, { connections: 8 });
    t.after(() => pool.destroy());
    const allowed = new Set([200, 201, 202, 400, 404, 405, 409, 431]);
    await fuzz(
      { name: 'admin', cases: 20_000, budgetMs: 25_000, concurrency: 8 },
      (rng) => {
        const method = pick(rng, METHODS);
        const path = pick(rng, PATHS);
        let body: Buffer | undefined;
        if (method !== 'GET' && method !== 'HEAD' && rng.next() < 0.9) {
          const obj: Record<string, unknown> = {};
          for (let k = int(rng, 0, 3); k > 0; k--) obj[pick(rng, KEYS)] = pick(rng, VALUES);
          const text = Buffer.from(rng.next() < 0.2 ? JSON.stringify(pick(rng, VALUES)) : JSON.stringify(obj));
          body = rng.next() < 0.3 ? mutateBytes(rng, text, JSON_BYTES, 3) : text;
        }
        return { method, path, body: body?.toString('latin1') };
      },
      async (c) => {
        const r = await pool.request({ method: c.method, path: c.path, ...(c.body !== undefined ? { body: Buffer.from(c.body, 'latin1') } : {}) });
        const text = await r.body.text();
        assert.ok(allowed.has(r.statusCode), `status ${r.statusCode}: ${text}`);
        if (r.statusCode >= 400 && c.method !== 'HEAD') {
          const err = (JSON.parse(text) as { error: { code: string; message: string } }).error;
          assert.ok(err.code in ERROR_CODES && (ERROR_CODES[err.code as keyof typeof ERROR_CODES].httpStatus === r.statusCode || r.statusCode === 431), `code ${err.code} for ${r.statusCode}`);
          assert.ok(err.message.length > 0);
        }
        const urls = g.members.map((m) => m.url);
        assert.equal(new Set(urls).size, urls.length, `no duplicate member: ${urls.join(', ')}`);
        for (const m of g.members) assert.ok(Number.isFinite(m.weight) && m.weight >= 0, `weight ${m.weight}`);
        const rate = g.mirror.snapshot().rate;
        assert.ok(rate >= 0 && rate <= 1, `rate ${rate}`);
      },
      (c) => JSON.stringify(c),
    );
  });
});
