// Integration tests: the sample service (examples/sample-service) as a real process on port 0.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers.js';

const SERVER = join(ROOT, 'dist', 'examples', 'sample-service', 'server.js');

async function start(t: { after: (fn: () => void) => void }, env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [SERVER], { env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve((JSON.parse(d.toString().split('\n')[0] as string) as { listening: number }).listening));
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

const timed = async (url: string, init?: RequestInit): Promise<{ status: number; ms: number; body: Record<string, unknown> | string }> => {
  const t0 = performance.now();
  const r = await fetch(url, init);
  const text = await r.text();
  let body: Record<string, unknown> | string = text;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // plain text
  }
  return { status: r.status, ms: performance.now() - t0, body };
};

describe('sample service', () => {
  it('serves SLOTS requests at a time, queues up to QUEUE_LIMIT and rejects the rest with 503', async (t) => {
    const { url } = await start(t, { SLOTS: '2', QUEUE_LIMIT: '2', SERVICE_TIME_MS: '150', SERVICE_TIME_DIST: 'constant' });
    const results = await Promise.all(Array.from({ length: 6 }, () => timed(`${url}/work`)));
    const ok = results.filter((r) => r.status === 200);
    const rejected = results.filter((r) => r.status === 503);
    assert.equal(ok.length, 4);
    assert.equal(rejected.length, 2);
    assert.ok(rejected.every((r) => r.body === 'queue_full\n'));
    const waited = ok.map((r) => (r.body as { waitedMs: number }).waitedMs).sort((a, b) => a - b);
    assert.ok(waited[0] as number < 50 && (waited[3] as number) > 120, `two served at once, two waited a service time: ${waited.join(', ')}`);
    const stats = (await timed(`${url}/stats`)).body as { served: number; rejected: number; slots: number };
    assert.deepEqual([stats.served, stats.rejected, stats.slots], [4, 2, 2]);
    // /metrics (Prometheus' text format): the same counts, and the process' CPU seconds.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^sample_service_served_total 4$/m);
    assert.match(metrics, /^sample_service_rejected_total 2$/m);
    assert.match(metrics, /^process_cpu_seconds_total \d/m);
  });

  it('is slower during its cold start, then at full speed', async (t) => {
    const { url } = await start(t, { SERVICE_TIME_MS: '40', SERVICE_TIME_DIST: 'constant', COLD_START_SECONDS: '1', COLD_START_FACTOR: '4' });
    const cold = (await timed(`${url}/work`)).body as { servedMs: number };
    assert.ok(cold.servedMs > 100, `cold: ${cold.servedMs} ms`);
    await new Promise((r) => setTimeout(r, 1100));
    const warm = (await timed(`${url}/work`)).body as { servedMs: number };
    assert.equal(warm.servedMs, 40);
  });

  it('draws service times from the configured distribution (mean within 10 % over 400 requests)', async (t) => {
    const { url } = await start(t, { SLOTS: '400', SERVICE_TIME_MS: '20', SERVICE_TIME_DIST: 'lognormal', SERVICE_TIME_CV: '0.5', SEED: '3' });
    const served = await Promise.all(Array.from({ length: 400 }, async () => ((await timed(`${url}/work`)).body as { servedMs: number }).servedMs));
    const mean = served.reduce((s, x) => s + x, 0) / served.length;
    assert.ok(Math.abs(mean - 20) < 2, `mean ${mean}`);
  });

  it('kv mode: writes are versioned mutations, and a snapshot copied into another instance makes them equal', async (t) => {
    const a = await start(t, { MODE: 'kv', SERVICE_TIME_MS: '1' });
    const b = await start(t, { MODE: 'kv', SERVICE_TIME_MS: '1' });
    assert.equal((await timed(`${a.url}/kv/x`, { method: 'PUT', body: 'one' })).status, 200);
    assert.equal((await timed(`${a.url}/kv/y`, { method: 'POST', body: 'two' })).status, 200);
    assert.equal((await timed(`${a.url}/kv/y`, { method: 'DELETE' })).status, 200);
    assert.deepEqual((await timed(`${a.url}/kv/x`)).body, { key: 'x', value: 'one', version: 3 });
    assert.equal((await timed(`${a.url}/kv/y`)).status, 404);
    const snap = (await timed(`${a.url}/state/snapshot`)).body;
    assert.deepEqual(snap, { version: 3, entries: { x: 'one' } });
    assert.equal((await timed(`${b.url}/state/snapshot`, { method: 'PUT', body: JSON.stringify(snap) })).status, 200);
    assert.deepEqual((await timed(`${b.url}/state/snapshot`)).body, snap);
    const bad = await timed(`${b.url}/state/snapshot`, { method: 'PUT', body: '{"entries": []}' });
    assert.equal(bad.status, 400);
    assert.deepEqual((await timed(`${b.url}/state/snapshot`)).body, snap, 'a rejected snapshot changes nothing');
  });

  it('versions: VERSION is echoed, SLOWDOWN multiplies service times, ERROR_RATE fails that share, both only after DEGRADE_AFTER_SECONDS', async (t) => {
    const base = { SERVICE_TIME_DIST: 'constant', SERVICE_TIME_MS: '20', SLOTS: '8' };
    const good = await start(t, { ...base, VERSION: 'v1' });
    const slow = await start(t, { ...base, VERSION: 'v2-slow', SLOWDOWN: '4' });
    const flaky = await start(t, { ...base, VERSION: 'v2-flaky', ERROR_RATE: '1', DEGRADE_AFTER_SECONDS: '1' });
    const g = await timed(`${good.url}/work`);
    const sl = await timed(`${slow.url}/work`);
    assert.equal((await fetch(`${slow.url}/work`)).headers.get('x-version'), 'v2-slow');
    assert.equal(((await timed(`${good.url}/healthz`)).body as { version: string }).version, 'v1');
    assert.ok(sl.ms >= 75 && g.ms < 60, `slow ${sl.ms} ms, good ${g.ms} ms`);
    // Flaky: fine at first, then every request fails.
    assert.equal((await timed(`${flaky.url}/work`)).status, 200);
    await new Promise((r) => setTimeout(r, 1100));
    const failed = await timed(`${flaky.url}/work`);
    assert.equal(failed.status, 500);
    assert.deepEqual(failed.body, { error: 'injected_failure', version: 'v2-flaky' });
  });

  it('finishes accepted requests on SIGTERM, then exits 0', async (t) => {
    const { url, child } = await start(t, { SERVICE_TIME_MS: '300', SERVICE_TIME_DIST: 'constant' });
    const inFlight = timed(`${url}/work`);
    await new Promise((r) => setTimeout(r, 50));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal((await inFlight).status, 200);
    assert.equal(await exited, 0);
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ PORT: '' }, /PORT: expected a port number \(0-65535\), but it is not set/],
    [{ SLOTS: 'many' }, /SLOTS: expected a positive integer, got "many"/],
    [{ SERVICE_TIME_DIST: 'normal' }, /SERVICE_TIME_DIST: expected one of exponential, constant, lognormal, got "normal"/],
    [{ COLD_START_FACTOR: '0.5' }, /COLD_START_FACTOR: expected a number >= 1, got "0.5"/],
    [{ SLOWDOWN: '0.5' }, /SLOWDOWN: expected a number >= 1, got "0.5"/],
    [{ ERROR_RATE: '2' }, /ERROR_RATE: expected a number between 0 and 1, got "2"/],
    [{ DEGRADE_AFTER_SECONDS: '-1' }, /DEGRADE_AFTER_SECONDS: expected a number of seconds >= 0, got "-1"/],
  ];
  for (const [env, message] of bad) {
    it(`exits 2 on bad settings: ${JSON.stringify(env)}`, async () => {
      const child = spawn(process.execPath, [SERVER], { env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 2);
      assert.match(err, message);
    });
  }
});
