// Fuzz tests (seeded): the REST API of a running loop (a real runtime with its API on port 0) with
// random methods, endpoints, parameters, percent-encodings, content types and malformed bodies. Every
// answer is a 2xx (a valid read) or a 4xx with a stable error code of the registry, never a 5xx; no
// change is ever made (write bodies are always malformed); the loop keeps ticking.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pool } from 'undici';
import { loadConfig } from '../../src/config/load.js';
import { Runtime } from '../../src/control/runtime.js';
import { ERROR_CODES } from '../../src/core/errors.js';
import { smallRunConfig, tempDir, until } from '../helpers.js';
import { fuzz, int, mutateBytes, pick } from './harness.js';

const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'FOO'];
const SERVICES = ['web', 'nope', '', '%E0%A4%A', '%', 'a%2Fb', 'web%00', 'x'.repeat(300), '..', 'web/x'];
const ENDPOINTS = ['', '/decisions', '/timeline', '/cost', '/instances', '/experiments', '/delta', '/pause', '/resume', '/mode', '/bounds', '/nothing'];
const QUERY_KEYS = ['since', 'until', 'reason', 'before', 'limit', 'resolution', 'colour', 'since', '__proto__'];
const QUERY_VALUES = ['0', '1', '-1', '100', '1000', '1001', '1e3', '', 'x', '2026-12-02T00:00:00Z', '2026-13-45T99:99:99Z', '99999999999999999999', 'slo_forecast', 'slo_forecast,nope', 'auto', '60', '7', '%', '%E0%A4%A', '%00', '[]', '{}', '1.5'];
const BODY_VALUES: unknown[] = [1, 0, -1, 0.5, 1e308, 1e9, null, true, 'x', '', [], {}, 'act', 'forecast-only', 'nope', 'x'.repeat(300), [1, 2]];
const BODY_KEYS = ['mode', 'min', 'max', 'seconds', 'note', 'x', '__proto__', 'constructor'];
const TYPES = ['application/json', 'application/json', 'text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data', undefined];
const JSON_BYTES = [...'{}[]":,0123456789-.eE \\ntruefalsnul'].map((c) => c.charCodeAt(0)).concat([0, 0xff]);
const GLOBAL = ['/', '/openapi.json', '/metrics', '/healthz', '/api/v1/services', '/api/v1', '/api', '/assets/uplot.js', '/assets/../package.json', '/%zz', '//api/v1/services'];

describe('fuzz: REST API', () => {
  it('random requests: 2xx reads or 4xx with a stable code, never a 5xx, nothing changed, the loop undisturbed', async (t) => {
    const dir = tempDir(t);
    const file = smallRunConfig(dir, { max: 2, extra: 'api: { maxBodyBytes: 2048 }\n' });
    const rt = await Runtime.start({ cfg: loadConfig({ file }), env: {} });
    t.after(() => rt.stop({ deleteInstances: true }));
    await until('a tick', () => rt.loop.state().lastTick !== undefined);
    const pool = new Pool(rt.apiUrl as string, { connections: 8 });
    t.after(() => pool.destroy());
    const ticksBefore = rt.loop.state().counters.ticks;
    const result = await fuzz(
      { name: 'api', cases: 6000, budgetMs: 30_000, concurrency: 8 },
      (rng) => {
        const method = pick(rng, METHODS);
        let path = rng.next() < 0.1 ? pick(rng, GLOBAL) : `/api/v1/services/${pick(rng, SERVICES)}${pick(rng, ENDPOINTS)}`;
        if (rng.next() < 0.6) {
          const q: string[] = [];
          for (let k = int(rng, 1, 4); k > 0; k--) q.push(`${pick(rng, QUERY_KEYS)}=${pick(rng, QUERY_VALUES)}`);
          path += `?${q.join('&')}`;
        }
        let body: string | undefined;
        let type: string | undefined;
        if (method !== 'GET' && method !== 'HEAD') {
          // Always a body, always malformed: an unknown field, a wrong type, broken JSON, or too large.
          const obj: Record<string, unknown> = {};
          for (let k = int(rng, 0, 3); k > 0; k--) obj[pick(rng, BODY_KEYS)] = pick(rng, BODY_VALUES);
          obj[pick(rng, ['x', 'force', 'constructor', 'extra'])] = pick(rng, BODY_VALUES);
          let text: Buffer = Buffer.from(JSON.stringify(obj));
          const r = rng.next();
          if (r < 0.3) text = mutateBytes(rng, text, JSON_BYTES, 3);
          else if (r < 0.35) text = Buffer.from(`{"note":"${'x'.repeat(4000)}"}`);
          body = text.toString('latin1');
          type = pick(rng, TYPES);
        }
        return { method, path, body, type };
      },
      async (c) => {
        const r = await pool.request({ method: c.method as 'GET', path: c.path, headers: c.type ? { 'content-type': c.type } : {}, ...(c.body !== undefined ? { body: Buffer.from(c.body, 'latin1') } : {}) });
        const text = await r.body.text();
        assert.ok(r.statusCode < 500, `status ${r.statusCode}: ${text}`);
        if (r.statusCode >= 400 && c.method !== 'HEAD') {
          const err = (JSON.parse(text) as { error: { code: string; message: string } }).error;
          assert.ok(err.code in ERROR_CODES, `code ${err.code}`);
          assert.equal(ERROR_CODES[err.code as keyof typeof ERROR_CODES].httpStatus, r.statusCode, `${err.code} for ${r.statusCode}`);
          assert.ok(err.message.length > 0 && err.message.length < 2000, err.message);
        }
        if (r.statusCode < 300 && c.method !== 'GET' && c.method !== 'HEAD') assert.fail(`a malformed write succeeded: ${r.statusCode} ${text}`);
      },
      (c) => JSON.stringify(c),
    );
    // Nothing changed, and the loop kept ticking through it all.
    const st = rt.loop.state();
    assert.equal(st.mode, 'act');
    assert.equal(st.paused, false);
    assert.equal(st.boundsOverride, null);
    assert.equal(rt.store.decisionsPage({ service: 'web', limit: 1, reasons: ['operator_paused', 'operator_resumed', 'operator_mode', 'operator_bounds', 'operator_bounds_cleared'] }).decisions.length, 0);
    await until('the loop still ticking', () => rt.loop.state().counters.ticks > ticksBefore + 2);
    t.diagnostic(`${result.cases} cases, seed ${result.seed}`);
  });
});
