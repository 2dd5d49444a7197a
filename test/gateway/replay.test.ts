// Integration tests: recording traffic through the gateway (metadata mode) and replaying it open-loop against a real server.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createGateway } from '../../src/gateway/gateway.js';
import { loadRecording, replay } from '../../src/gateway/replay.js';
import { killOwnedAfter, runCli, serve, smallRunConfig, startCli, tempDir, until } from '../helpers.js';

describe('record and replay', () => {
  it('the gateway records sampled requests to JSON Lines that replay reads back', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'rec.jsonl');
    const live = await serve(t, createServer((_q, res) => res.end('ok')));
    const g = createGateway({ live: [live], mirror: { rate: 1, mode: 'metadata', recordFile: file } });
    const addr = await g.listen(0);
    for (let i = 0; i < 5; i++) await (await fetch(`http://127.0.0.1:${addr.port}/items/${i}?q=secret`, { method: i === 4 ? 'POST' : 'GET', body: i === 4 ? 'hello' : undefined })).text();
    await g.close();
    const rec = await loadRecording(file);
    assert.equal(rec.length, 5);
    assert.equal(rec[4]?.method, 'POST');
    assert.equal(rec[4]?.requestBytes, 5);
    assert.equal(rec[0]?.route, '/items/0', 'the query string is not recorded');
    assert.doesNotMatch(readFileSync(file, 'utf8'), /secret/);
  });

  for (const workers of [1, 2]) {
    it(`gateway --record (${workers} worker${workers > 1 ? 's' : ''}): SIGUSR1 reopens the file by its name, as logrotate needs; a path it cannot reopen is named and the records go on`, async (t) => {
      const dir = tempDir(t);
      mkdirSync(join(dir, 'logs'));
      const file = join(dir, 'logs', 'rec.jsonl');
      const live = await serve(t, createServer((_q, res) => res.end('ok')));
      const { child, first } = await startCli<{ listen: string }>(['gateway', '--listen', '127.0.0.1:0', '--live', live, '--mode', 'metadata', '--sample', '1', '--record', file, '--workers', String(workers), '--json']);
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      t.after(() => void child.kill('SIGKILL'));
      const lines = (f: string): string[] => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);
      const send = async (route: string, n: number): Promise<void> => {
        for (let i = 0; i < n; i++) await (await fetch(`${first.listen}/${route}/${i}`)).text();
      };
      const routes = (f: string): string[] => [...new Set(lines(f).map((l) => (JSON.parse(l) as { route: string }).route.split('/')[1] as string))].sort();
      await send('before', 20);
      await until('the first records written', () => lines(file).length === 20);
      // logrotate: move the file away, then signal; the records go on in a new file at the name.
      renameSync(file, `${file}.1`);
      child.kill('SIGUSR1');
      // Said once every worker has reopened it.
      await until('the reopen said', () => /--record .*rec\.jsonl: reopened\n/.test(stderr));
      await send('after', 20);
      await until('the new records in the new file', () => lines(file).length === 20);
      assert.deepEqual(routes(`${file}.1`), ['before']);
      assert.deepEqual(routes(file), ['after']);
      // A path that cannot be reopened (its directory moved away): named on stderr; the records go on to
      // the file already open (moved along with its directory), none lost.
      renameSync(join(dir, 'logs'), join(dir, 'logs.old'));
      child.kill('SIGUSR1');
      await until('the failed reopen named', () => /--record .*rec\.jsonl: cannot reopen it \(.*ENOENT.*\); the records go on to the file already open/.test(stderr));
      await send('later', 20);
      await until('the later records in the open file', () => lines(join(dir, 'logs.old', 'rec.jsonl')).length === 40);
      assert.deepEqual(routes(join(dir, 'logs.old', 'rec.jsonl')), ['after', 'later']);
      child.kill('SIGTERM');
      assert.equal(await new Promise((r) => child.once('exit', r)), 0);
    });
  }

  it('run with gateway.mirror.recordFile: SIGUSR1 reopens it by its name', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'rec.jsonl');
    const config = smallRunConfig(dir);
    const owned = killOwnedAfter(t, join(dir, 'store.db'));
    const sets = [`gateway.mirror.recordFile=${file}`, 'services[0].shadow.sampling.mode=metadata', 'services[0].shadow.sampling.rate=1'].flatMap((x) => ['--set', x]);
    const { child, first } = await startCli<{ listen: string }>(['run', '--config', config, ...sets, '--json', '--stop-instances']);
    t.after(() => void (child.exitCode === null && child.kill('SIGKILL')));
    // The store's owner is read now, while it exists: a failed test's cleanup removes its directory first,
    // and its instances had been left running.
    owned();
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = (f: string): string[] => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);
    const routes = (f: string): string[] => [...new Set(lines(f).map((l) => (JSON.parse(l) as { route: string }).route))].sort();
    // Traffic until records come (the mirror samples once the loop has set its rate: later on a loaded machine).
    await until('records written', async () => {
      await (await fetch(`${first.listen}/before`)).text();
      return lines(file).length > 0;
    }, 30_000);
    renameSync(file, `${file}.1`);
    child.kill('SIGUSR1');
    // With --json, as a JSON event on stderr.
    await until('the reopen said', () => stderr.split('\n').some((l) => l.startsWith('{') && (JSON.parse(l) as { kind: string }).kind === 'record_reopened'));
    await until('records in the new file', async () => {
      await (await fetch(`${first.listen}/after`)).text();
      return lines(file).length > 0;
    }, 30_000);
    assert.deepEqual(routes(file), ['/after']);
    // Each record names its service (a run's services share the file).
    assert.deepEqual([...new Set(lines(file).map((l) => (JSON.parse(l) as { service?: string }).service))], ['web']);
    assert.ok(!routes(`${file}.1`).includes('/after'), routes(`${file}.1`).join(', '));
    child.kill('SIGTERM');
    assert.equal(await new Promise((r) => child.once('exit', r)), 0);
  });

  it('replays open loop at N x speed, measuring latency from the scheduled time', async (t) => {
    let seen = 0;
    const target = await serve(t, createServer((_q, res) => (seen++, setTimeout(() => res.end('ok'), 40))));
    // 50 requests over 2 s of recorded time; at speed 4 they go out over 0.5 s, many in flight at once.
    const rec = Array.from({ length: 50 }, (_, i) => ({ at: 1_000_000 + i * 40, method: 'GET', route: `/r/${i}`, requestBytes: 0 }));
    const t0 = performance.now();
    const r = await replay(rec, { target, speed: 4 });
    const wall = performance.now() - t0;
    assert.equal(r.sent, 50);
    assert.equal(r.completed, 50);
    assert.equal(r.errors, 0);
    assert.equal(seen, 50);
    assert.ok(wall < 1500, `open loop: ${wall.toFixed(0)} ms (a closed loop would need 50 x 40 ms = 2 s)`);
    assert.ok(r.latencyMs.p50 >= 40, `latency includes the 40 ms service: ${r.latencyMs.p50}`);
  });

  it('--rate scales the timing; --duration loops the recording', async (t) => {
    const target = await serve(t, createServer((_q, res) => res.end('ok')));
    const rec = Array.from({ length: 10 }, (_, i) => ({ at: i * 1000, method: 'GET', route: '/', requestBytes: 0 }));
    const r = await replay(rec, { target, rate: 100, durationSeconds: 0.5 });
    assert.ok(r.sent >= 40 && r.sent <= 55, `about 50 requests in 0.5 s at 100/s: ${r.sent}`);
  });

  it('regression: a schedule faster than one process sends stops at its duration, every request sent answered', async (t) => {
    const target = await serve(t, createServer((_q, res) => res.end('ok')));
    const rec = [{ at: 0, method: 'GET', route: '/', requestBytes: 0 }];
    const r = await replay(rec, { target, rate: 900_000, durationSeconds: 0.5 });
    assert.ok(r.sent > 0);
    assert.equal(r.completed, r.sent);
    assert.ok(r.durationSeconds < 10, `stopped at the end, took the answers in: ${r.durationSeconds} s`);
  });

  const absurd: { args: string[]; message: RegExp }[] = [
    // --speed 1e308 never reached its end (the schedule advanced 1e-308 ms a request) and never yielded.
    { args: ['--speed', '1e308', '--duration', '1'], message: /--speed 1e\+308: the recording would be sent at more than 1e\+308 requests\/s; expected at most 1,000,000/ },
    { args: ['--rate', '1e12', '--duration', '2'], message: /--rate 1000000000000: the recording would be sent at 1\.00e\+12 requests\/s; expected at most 1,000,000/ },
  ];
  for (const { args, message } of absurd) {
    it(`regression: replay ${args.join(' ')} is exit 2 naming the rate it asks for`, async (t) => {
      const file = join(tempDir(t), 'one.jsonl');
      writeFileSync(file, '{"at":0,"method":"GET","route":"/"}\n');
      const r = await runCli(['replay', '--input', file, '--target', 'http://127.0.0.1:9', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    });
  }

  // A run's services share gateway.mirror.recordFile, each record naming its service.
  const line = (service: string | undefined, route: string, at: number): string => `${JSON.stringify({ ...(service === undefined ? {} : { service }), at, method: 'GET', route, requestBytes: 0 })}\n`;
  const mixed: { note: string; lines: string[]; service?: string; routes?: string[]; error?: RegExp }[] = [
    { note: 'one service, without --service: its records', lines: [line('shop', '/a', 1), line('shop', '/b', 2)], routes: ['/a', '/b'] },
    { note: 'records naming none (gateway --record): all', lines: [line(undefined, '/a', 1), line(undefined, '/b', 2)], routes: ['/a', '/b'] },
    { note: '--service keeps that service', lines: [line('shop', '/a', 1), line('cart', '/c', 2), line('shop', '/b', 3)], service: 'shop', routes: ['/a', '/b'] },
    { note: 'several services without --service: exit 2 naming them', lines: [line('shop', '/a', 1), line('cart', '/c', 2)], error: /the records of several services \("cart", "shop"\); name one with --service/ },
    { note: 'a service and records naming none: exit 2', lines: [line('shop', '/a', 1), line(undefined, '/c', 2)], error: /several services \("shop" and 1 naming none\)/ },
    { note: '--service naming none of them: exit 2 naming those there are', lines: [line('shop', '/a', 1)], service: 'cart', error: /--service: no records of "cart" in .*; it has "shop"/ },
    { note: '--service on records naming none', lines: [line(undefined, '/a', 1)], service: 'cart', error: /its records name no service \(gateway --record\)/ },
    { note: 'a service that is not a string: file:line', lines: [line('shop', '/a', 1), '{"service":7,"at":2,"method":"GET","route":"/"}\n'], error: /mixed\.jsonl:2: service: expected a service's name, got 7/ },
  ];
  for (const m of mixed) {
    it(`recordings of several services: ${m.note}`, async (t) => {
      const file = join(tempDir(t), 'mixed.jsonl');
      writeFileSync(file, m.lines.join(''));
      if (m.error) await assert.rejects(loadRecording(file, m.service), (e: Error) => (assert.match(e.message, m.error as RegExp), true));
      else assert.deepEqual((await loadRecording(file, m.service)).map((r) => r.route), m.routes);
    });
  }

  it('replay --service: exit 2 naming the services when the recording has several and none is named', async (t) => {
    const file = join(tempDir(t), 'two.jsonl');
    writeFileSync(file, line('shop', '/a', 1) + line('cart', '/c', 2));
    const r = await runCli(['replay', '--input', file, '--target', 'http://127.0.0.1:9']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /several services \("cart", "shop"\)/);
  });

  it('rejects a malformed recording with file:line and the field, and bad flags, exit 2', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, '{"at":1,"method":"GET","route":"/"}\n{"at":2,"method":"FETCH","route":"/"}\n');
    const r = await runCli(['replay', '--input', file, '--target', 'http://127.0.0.1:1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.jsonl:2: method: expected one of GET, HEAD, POST/);
    const both = await runCli(['replay', '--input', file, '--target', 'http://127.0.0.1:1', '--speed', '2', '--rate', '10']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--speed and --rate: give one of them/);
    const record = await runCli(['gateway', '--listen', '127.0.0.1:0', '--live', 'http://127.0.0.1:1', '--record', join(dir, 'x.jsonl')]);
    assert.equal(record.code, 2);
    assert.match(record.stderr, /--record: records are made in metadata mode/);
  });
});
