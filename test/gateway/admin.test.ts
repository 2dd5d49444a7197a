// Integration tests: the gateway's admin API, active health checks, and the `shadowscale gateway` command (real servers on port 0).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { describe, it } from 'node:test';
import { createAdminServer } from '../../src/gateway/admin.js';
import { localControl } from '../../src/gateway/control.js';
import { createGateway } from '../../src/gateway/gateway.js';
import { runCli, serve, startCli, until } from '../helpers.js';

const json = async (r: Response): Promise<Record<string, unknown>> => (await r.json()) as Record<string, unknown>;

describe('admin API', () => {
  it('reports stats and metrics, changes members and weights and the mirror rate at runtime, and rejects bad input precisely', async (t) => {
    let healthy = true;
    const hits = { a: 0, b: 0 };
    const a = await serve(t, createServer((q, res) => (q.url === '/healthz' ? (res.statusCode = healthy ? 200 : 503) : hits.a++, res.end('a'))));
    const b = await serve(t, createServer((q, res) => (q.url === '/healthz' ? undefined : hits.b++, res.end('b'))));
    const g = createGateway({ live: [a], healthCheck: { path: '/healthz', intervalMs: 30 } });
    const addr = await g.listen(0);
    t.after(() => g.close());
    const url = `http://127.0.0.1:${addr.port}`;
    const admin = await serve(t, createAdminServer(localControl(g)));

    await (await fetch(url)).text();
    const stats = await json(await fetch(`${admin}/stats`));
    assert.equal((stats.traffic as { pools: { live: { requests: number } } }).pools.live.requests, 1);
    assert.match(await (await fetch(`${admin}/metrics`)).text(), /shadowscale_gateway_requests_total/);

    // Add a member, take the first one's weight to zero: traffic moves.
    const added = await fetch(`${admin}/pools/live/members`, { method: 'POST', body: JSON.stringify({ url: b, weight: 2 }) });
    assert.equal(added.status, 201);
    const newId = (await json(added)).id as string;
    assert.equal((await fetch(`${admin}/pools/live/members/live-0`, { method: 'PATCH', body: JSON.stringify({ weight: 0 }) })).status, 200);
    hits.b = 0;
    for (let i = 0; i < 10; i++) await (await fetch(url)).text();
    assert.equal(hits.b, 10);

    // Bad input: a precise 400/404, and nothing changes.
    const bad: [string, RequestInit, number, RegExp][] = [
      ['/pools/live/members/live-0', { method: 'PATCH', body: JSON.stringify({ weight: -1 }) }, 400, /body\.weight: expected a number >= 0, got -1/],
      ['/pools/live/members/live-0', { method: 'PATCH', body: JSON.stringify({ wieght: 1 }) }, 400, /body\.wieght: unknown field \(allowed: weight\)/],
      ['/pools/live/members/live-0', { method: 'PATCH', body: '{not json' }, 400, /body: expected a JSON object/],
      ['/pools/live/members', { method: 'POST', body: JSON.stringify({ url: 'ftp://x' }) }, 400, /body\.url: expected an http/],
      ['/pools/live/members/nope', { method: 'PATCH', body: '{}' }, 404, /no live member "nope"/],
      ['/mirror', { method: 'PUT', body: JSON.stringify({ rate: 2 }) }, 400, /body\.rate: expected a number between 0 and 1, got 2/],
      ['/pools/shadow', { method: 'PUT', body: JSON.stringify({ targets: ['ftp://x'] }) }, 400, /body\.targets\[0\]: expected an http:\/\/ or https:\/\/ URL with a host and a port other than 0, got "ftp:\/\/x"/],
      ['/pools/shadow', { method: 'PUT', body: JSON.stringify({ targets: 'http://x' }) }, 400, /body\.targets: expected a list of http/],
      ['/nothing', {}, 404, /no such admin route/],
      // Issue 10, item 9: a malformed percent-encoding was a 500, a wrong method a 404, the same URL
      // could be added again and again, and port 0 was taken for a member.
      ['/pools/live/members/%E0%A4%A', { method: 'DELETE' }, 400, /path segment 1 of "\/pools\/live\/members\/%E0%A4%A": expected valid percent-encoding/],
      ['/stats', { method: 'DELETE' }, 405, /DELETE \/stats: not allowed \(allowed: GET\)/],
      ['/pools/live/members', { method: 'GET' }, 405, /not allowed \(allowed: POST\)/],
      ['/pools/live/members', { method: 'POST', body: JSON.stringify({ url: b }) }, 409, /is already the live member "live-1"; PATCH \/pools\/live\/members\/live-1/],
      ['/pools/live/members', { method: 'POST', body: JSON.stringify({ url: 'http://127.0.0.1:0' }) }, 400, /body\.url: expected an http:\/\/ or https:\/\/ URL with a host and a port other than 0, got "http:\/\/127\.0\.0\.1:0"/],
      ['/pools/shadow', { method: 'PUT', body: JSON.stringify({ targets: [b, b] }) }, 400, /body\.targets\[1\]: .* is listed twice/],
    ];
    for (const [path, init, status, message] of bad) {
      const r = await fetch(`${admin}${path}`, init);
      assert.equal(r.status, status, path);
      assert.match(((await json(r)).error as { message: string }).message, message);
      if (status === 405) assert.match(r.headers.get('allow') ?? '', /^[A-Z, ]+$/);
    }
    assert.equal(g.members.length, 2, 'no duplicate member added');
    assert.equal(g.members.find((m) => m.id === 'live-0')?.weight, 0, 'unchanged by the rejected requests');
    assert.deepEqual(await json(await fetch(`${admin}/mirror`, { method: 'PUT', body: JSON.stringify({ rate: 0.25 }) })), { rate: 0.25 });
    assert.deepEqual(await json(await fetch(`${admin}/pools/shadow`)), { targets: [] }, 'unchanged by the rejected requests');
    assert.deepEqual(await json(await fetch(`${admin}/pools/shadow`, { method: 'PUT', body: JSON.stringify({ targets: [b] }) })), { targets: [b] });
    assert.deepEqual(await json(await fetch(`${admin}/pools/shadow`)), { targets: [b] });

    // Drain the added member: it leaves the pool.
    assert.equal((await fetch(`${admin}/pools/live/members/${newId}`, { method: 'DELETE' })).status, 202);
    const until = Date.now() + 2000;
    while (g.members.some((m) => m.id === newId) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.ok(!g.members.some((m) => m.id === newId));

    // Active health checks take a failing member out and put it back.
    const first = g.members[0] as { checkOk: boolean; weight: number };
    first.weight = 1;
    healthy = false;
    const wait = async (want: boolean) => {
      const end = Date.now() + 2000;
      while (first.checkOk !== want && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      assert.equal(first.checkOk, want);
    };
    await wait(false);
    assert.equal((await fetch(url)).status, 503);
    healthy = true;
    await wait(true);
    assert.equal((await fetch(url)).status, 200);
  });
});

describe('runtime changes under load', () => {
  it('shifting weights and draining a member during concurrent traffic drops no request', async (t) => {
    const hits = { a: 0, b: 0 };
    const a = await serve(t, createServer((_q, res) => (hits.a++, setTimeout(() => res.end('a'), 2))));
    const b = await serve(t, createServer((_q, res) => (hits.b++, setTimeout(() => res.end('b'), 2))));
    const g = createGateway({ live: [a, b] });
    const addr = await g.listen(0);
    t.after(() => g.close());
    const url = `http://127.0.0.1:${addr.port}`;
    const admin = await serve(t, createAdminServer(localControl(g)));
    let stop = false;
    const statuses: number[] = [];
    const client = async (): Promise<void> => {
      while (!stop) {
        const r = await fetch(url);
        await r.text();
        statuses.push(r.status);
      }
    };
    const clients = Array.from({ length: 16 }, client);
    // Phases are counted in completed requests, not milliseconds: a loaded machine only slows them.
    const completed = async (n: number): Promise<void> => {
      const target = statuses.length + n;
      await until(`${n} more requests`, () => statuses.length >= target);
    };
    await completed(50);
    await fetch(`${admin}/pools/live/members/live-0`, { method: 'PATCH', body: JSON.stringify({ weight: 0 }) });
    await completed(16); // requests in flight at the switch may still reach a
    const aAfterShift = hits.a;
    await completed(100);
    assert.ok(hits.a - aAfterShift <= 16, `weight 0 stops new traffic to a (in flight at the switch may finish): ${hits.a - aAfterShift}`);
    await fetch(`${admin}/pools/live/members/live-0`, { method: 'DELETE' });
    await fetch(`${admin}/pools/live/members/live-1`, { method: 'PATCH', body: JSON.stringify({ weight: 3 }) });
    await completed(100);
    stop = true;
    await Promise.all(clients);
    assert.ok(statuses.length >= 266, String(statuses.length));
    assert.deepEqual([...new Set(statuses)], [200], 'every request succeeded');
    assert.deepEqual(g.members.map((m) => m.id), ['live-1']);
  });
});

describe('shadowscale gateway', () => {
  it('regression: stops cleanly on SIGHUP (a closed terminal), exit 0; its default action had killed it', async (t) => {
    const live = await serve(t, createServer((_q, res) => res.end('live')));
    const { child, first: where } = await startCli<{ listen: string }>(['gateway', '--listen', '127.0.0.1:0', '--live', live, '--json']);
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    assert.equal(await (await fetch(where.listen)).text(), 'live');
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c: number | null) => resolve(c));
      child.kill('SIGHUP');
    });
    assert.equal(code, 0);
  });

  it('serves traffic and the admin API on the given addresses, and stops on SIGTERM', async (t) => {
    const live = await serve(t, createServer((_q, res) => res.end('live')));
    const { child, first: where } = await startCli<{ listen: string; admin: string }>(['gateway', '--listen', '127.0.0.1:0', '--live', live, '--admin', '127.0.0.1:0', '--sample', '0.5', '--json']);
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    assert.equal(await (await fetch(where.listen)).text(), 'live');
    const stats = (await (await fetch(`${where.admin}/stats`)).json()) as { mirror: { rate: number } };
    assert.equal(stats.mirror.rate, 0.5);
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c: number | null) => resolve(c));
      child.kill('SIGTERM');
    });
    assert.equal(code, 0);
  });
  it('regression: on IPv6 addresses it prints URLs with the host in brackets (http://::1:PORT is no URL)', async (t) => {
    const live = await serve(t, createServer((_q, res) => res.end('live')));
    // Where this host has no IPv6 loopback, the gateway must say so precisely instead.
    const v6 = await new Promise<boolean>((resolve) => {
      const probe = createNetServer().once('error', () => resolve(false));
      probe.listen(0, '::1', () => probe.close(() => resolve(true)));
    });
    if (!v6) {
      const r = await runCli(['gateway', '--listen', '[::1]:0', '--live', live]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--listen \[::1\]:0: cannot listen there: .* \((EADDRNOTAVAIL|EAFNOSUPPORT)\) \[SHADOWSCALE_E_USAGE\]/);
      return;
    }
    const { child, first: where } = await startCli<{ listen: string; admin: string }>(['gateway', '--listen', '[::1]:0', '--admin', '[::1]:0', '--live', live, '--json']);
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    assert.match(where.listen, /^http:\/\/\[::1\]:\d+$/);
    assert.match(where.admin, /^http:\/\/\[::1\]:\d+$/);
    assert.equal(await (await fetch(where.listen)).text(), 'live');
    assert.equal((await fetch(`${where.admin}/stats`)).status, 200);
  });

  const bad: [string[], RegExp][] = [
    [['--listen', 'nowhere', '--live', 'http://127.0.0.1:1'], /--listen: expected HOST:PORT/],
    [['--listen', '127.0.0.1:0', '--live', 'not a url'], /--live: expected http:\/\/ or https:\/\/ URLs/],
    [['--listen', '127.0.0.1:0', '--live', 'http://127.0.0.1:1', '--sample', '2'], /expected a number between 0 and 1, got "2"/],
    [['--listen', '127.0.0.1:0', '--live', 'http://127.0.0.1:1', '--mode', 'everything'], /Allowed choices are full, scrubbed, metadata/],
    [['--listen', '127.0.0.1:0'], /--live: expected at least one live upstream URL/],
  ];
  for (const [args, message] of bad) {
    it(`exits 2 on bad flags: ${args.join(' ')}`, async () => {
      const r = await runCli(['gateway', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    });
  }
});
