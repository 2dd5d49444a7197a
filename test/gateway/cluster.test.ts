// Integration tests: the gateway on several worker processes (node:cluster) and `gateway --config`,
// against real upstream servers on port 0.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { createAdminServer } from '../../src/gateway/admin.js';
import { ClusterGateway } from '../../src/gateway/cluster.js';
import { runCli, serve, startCli, tempDir, until } from '../helpers.js';


/** Many short connections, so both workers get some (connections are spread round-robin). */
async function burst(url: string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  await Promise.all(
    Array.from({ length: n }, async () => {
      const agent = new Agent({ connections: 1 });
      const r = await request(url, { dispatcher: agent });
      await r.body.text();
      statuses.push(r.statusCode);
      await agent.close();
    }),
  );
  return statuses;
}

describe('gateway cluster', () => {
  it('spreads connections over the workers, merges their measurements, applies runtime changes to all, and restarts a killed worker with the current state', async (t) => {
    const hits = { a: 0, b: 0, shadow: 0 };
    const a = await serve(t, createServer((_q, res) => (hits.a++, res.end('a'))));
    const b = await serve(t, createServer((_q, res) => (hits.b++, res.end('b'))));
    const shadow = await serve(t, createServer((_q, res) => (hits.shadow++, res.end('s'))));
    const exits: unknown[] = [];
    const c = await ClusterGateway.start({ workers: 2, host: '127.0.0.1', port: 0, live: [a], options: { shadow: [shadow], mirror: { rate: 0.5 } }, onWorkerExit: (x) => exits.push(x) });
    t.after(() => c.close());
    const url = `http://127.0.0.1:${c.address.port}/x`;
    assert.equal(c.workerCount, 2);

    const statuses = await burst(url, 200);
    assert.deepEqual([...new Set(statuses)], [200]);
    const reports = await c.reports();
    assert.equal(reports.length, 2);
    const perWorker = reports.map((r) => r.traffic.pools.live.all.requests);
    assert.ok(perWorker.every((n) => n > 0), `both workers served: ${perWorker.join(', ')}`);
    const stats = await c.stats();
    assert.equal(stats.workers, 2);
    assert.equal(stats.traffic.pools.live.requests, 200, 'merged counts add up');
    assert.equal(stats.traffic.pools.live.routes['/x']?.requests, 200);
    assert.ok(stats.traffic.pools.live.latencyMs.p99 > 0, 'merged histogram');
    assert.equal(stats.mirror.sampled, reports.reduce((s, r) => s + r.mirror.sampled, 0));
    assert.ok(stats.mirror.sampled > 50 && stats.mirror.sampled < 150, `about half sampled: ${stats.mirror.sampled}`);
    assert.equal(stats.live[0]?.requests, 200);

    // Changes reach every worker: the admin API over the cluster.
    const admin = await serve(t, createAdminServer(c));
    const added = (await (await fetch(`${admin}/pools/live/members`, { method: 'POST', body: JSON.stringify({ url: b, weight: 1 }) })).json()) as { id: string };
    assert.equal(added.id, 'live-1');
    assert.equal((await fetch(`${admin}/pools/live/members/live-0`, { method: 'PATCH', body: JSON.stringify({ weight: 0 }) })).status, 200);
    assert.deepEqual(await (await fetch(`${admin}/mirror`, { method: 'PUT', body: JSON.stringify({ rate: 0.2 }) })).json(), { rate: 0.2 });
    for (const r of await c.reports()) {
      assert.deepEqual(r.live.map((m) => [m.id, m.weight]), [['live-0', 0], ['live-1', 1]]);
      assert.equal(r.mirror.rate, 0.2);
    }
    hits.b = 0;
    await burst(url, 40);
    assert.equal(hits.b, 40, 'weight 0 on live-0 in every worker');
    assert.match(await (await fetch(`${admin}/metrics`)).text(), /shadowscale_gateway_requests_total\{pool="live",route="\/x"\} 240/);
    const missing = await fetch(`${admin}/pools/live/members/live-9`, { method: 'PATCH', body: JSON.stringify({ weight: 1 }) });
    assert.equal(missing.status, 404);

    // A worker killed -9 comes back with the current members, weights and rate; traffic never stops.
    const [victim] = c.pids;
    process.kill(victim as number, 'SIGKILL');
    await until('the worker restart', () => c.restarts === 1 && c.workerCount === 2 && !c.pids.includes(victim as number));
    await until('the new worker listening', async () => (await c.reports()).length === 2);
    for (const r of await c.reports()) {
      assert.deepEqual(r.live.map((m) => [m.id, m.weight]), [['live-0', 0], ['live-1', 1]]);
      assert.equal(r.mirror.rate, 0.2);
    }
    assert.equal(exits.length, 1);
    assert.deepEqual([...new Set(await burst(url, 40))], [200]);

    // Drain on all workers.
    assert.equal((await fetch(`${admin}/pools/live/members/live-0`, { method: 'DELETE' })).status, 202);
    await until('live-0 drained everywhere', async () => (await c.reports()).every((r) => r.live.length === 1));
  });
});

describe('shadowscale gateway --config', () => {
  it('takes its addresses, upstreams, workers and sampling from the configuration file; flags win', async (t) => {
    const live = await serve(t, createServer((_q, res) => res.end('live')));
    const dir = tempDir(t);
    const file = join(dir, 'gw.yaml');
    writeFileSync(file, `gateway:\n  listen: 127.0.0.1:0\n  admin: 127.0.0.1:0\n  live: [${live}]\n  workers: 2\nservices:\n  - name: web\n    shadow:\n      sampling:\n        rate: 0.3\n        mode: metadata\n`);
    const { child, first: where } = await startCli<{ listen: string; admin: string; workers: number }>(['gateway', '--config', file, '--sample', '0.4', '--json']);
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    assert.equal(where.workers, 2);
    assert.equal(await (await fetch(where.listen)).text(), 'live');
    const stats = (await (await fetch(`${where.admin}/stats`)).json()) as { workers: number; mirror: { rate: number } };
    assert.deepEqual([stats.workers, stats.mirror.rate], [2, 0.4]);
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c: number | null) => resolve(c));
      child.kill('SIGTERM');
    });
    assert.equal(code, 0);
  });

  it('rejects bad gateway settings with the path and exit 2', async (t) => {
    const dir = tempDir(t);
    const cases: [string, string[], RegExp][] = [
      ['gateway:\n  listen: nowhere\n', [], /gateway\.listen: expected HOST:PORT/],
      ['gateway:\n  live: [ftp://x]\n', [], /gateway\.live\[0\]: expected an http:\/\/ or https:\/\/ URL/],
      ['gateway:\n  workers: 0\n', [], /gateway\.workers: expected a positive integer, got 0/],
      ['gateway:\n  service: api\n', [], /gateway\.service: unknown service "api"/],
      ['gateway:\n  mirror:\n    minRate: 0.5\n    maxRate: 0.2\n', [], /gateway\.mirror\.minRate: minRate \(0\.5\) is above maxRate \(0\.2\)/],
      ['{}\n', [], /--live: expected at least one live upstream URL/],
      ['{}\n', ['--live', 'http://127.0.0.1:1', '--workers', 'two'], /--workers.*expected a positive integer, got "two"/],
    ];
    for (const [i, [yaml, args, message]] of cases.entries()) {
      const file = join(dir, `bad-${i}.yaml`);
      writeFileSync(file, yaml);
      const r = await runCli(['gateway', '--config', file, ...args]);
      assert.equal(r.code, 2, `${yaml}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});
