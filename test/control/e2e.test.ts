// End-to-end tests: the live loop with real sample-service processes, the real gateway and a real
// SQLite store: `shadowscale run` killed -9 and restarted; a shadow killed and re-synced. (The demo's
// own: test/control/demo.test.ts.)
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import type { LoopEvent } from '../../src/control/loop.js';
import { Runtime } from '../../src/control/runtime.js';
import { Store } from '../../src/metrics/store.js';
import { processesWith, runCli, startCli, tempDir, until } from '../helpers.js';
import { pidAlive as alive } from '../../src/providers/local.js';
import { spawn } from 'node:child_process';
import { corruptTable, ROOT } from '../helpers.js';
import Database from 'better-sqlite3';



/** Processes carrying this store's owner mark (the local provider's instances). */
const storeIds = new Map<string, string>();
function ownedPids(storePath: string): number[] {
  // Known once read: cleanup runs after the test's directory may be gone.
  let id = storeIds.get(storePath);
  if (id === undefined) {
    try {
      const s = Store.openReadOnly(storePath);
      id = s.id;
      s.close();
      storeIds.set(storePath, id);
    } catch {
      return []; // no store, no instance
    }
  }
  return processesWith('environ', `SHADOWSCALE_OWNER=shadowscale:store:${id}\0`);
}

const startRun = async (config: string, extra: string[] = []) => {
  const r = await startCli<{ listen: string; admin: string; store: string; pid: number }>(['run', '--config', config, '--json', ...extra]);
  return { child: r.child, where: r.first };
};

const SMALL = '  small: { slots: 4, serviceTimeMs: 20, queueLimit: 50, provisioningSeconds: 0.2, warmupSeconds: 0, warmupCapacity: 1 }\n';

describe('shadowscale run: kill -9 and restart', () => {
  it('adopts the running instances, starts no duplicates and loses no decision record', async (t) => {
    const dir = tempDir(t);
    const storePath = join(dir, 'store.db');
    const config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      `instanceTypes:\n${SMALL}services:\n  - name: web\n    instanceType: small\n    pool: { min: 2, max: 4 }\n    scaling:\n      strategy: reactive\n      periodSeconds: 1\n      proof: off\n      reactive: { metricWindowSeconds: 2 }\n` +
        `gateway: { listen: 127.0.0.1:0, admin: 127.0.0.1:0 }\nstore: { path: ${storePath} }\ncontrol: { tickSeconds: 0.5, forecastBucketSeconds: 1 }\nprovider: { graceSeconds: 2 }\n`,
    );
    t.after(() => {
      for (const pid of ownedPids(storePath)) process.kill(pid, 'SIGKILL');
    });
    const first = await startRun(config);
    t.after(() => void (first.child.exitCode === null && first.child.kill('SIGKILL')));
    ownedPids(storePath); // the store's id, read while it exists (the cleanup runs after the directory is gone)
    const liveMembers = async (admin: string): Promise<string[]> => ((await (await fetch(`${admin}/pools/live`)).json()) as { members: { id: string }[] }).members.map((m) => m.id).sort();
    await until('two live members in the gateway', async () => (await liveMembers(first.where.admin)).length === 2);
    const read = (): Store => Store.openReadOnly(storePath);
    await until('3 instances and 3 decisions recorded', () => {
      const s = read();
      try {
        return s.loadInstances().length === 3 && s.decisions().length >= 3;
      } finally {
        s.close();
      }
    });
    assert.equal((await fetch(first.where.listen + '/work')).status, 200, 'traffic flows');

    // kill -9 of the control plane: instances keep running.
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    let s = read();
    const before = { instances: s.loadInstances(), decisions: s.decisions().map((d) => d.seq) };
    s.close();
    assert.ok(before.instances.every((i) => alive(i.pid)), 'instances outlive the control plane');

    const second = await startRun(config, ['--stop-instances']);
    t.after(() => void (second.child.exitCode === null && second.child.kill('SIGKILL')));
    const liveIds = before.instances.filter((i) => i.pool === 'live').map((i) => i.id).sort();
    await until('the same live members in the new gateway', async () => JSON.stringify(await liveMembers(second.where.admin)) === JSON.stringify(liveIds));
    await new Promise((r) => setTimeout(r, 2000)); // a few more ticks and decisions
    assert.equal((await fetch(second.where.listen + '/work')).status, 200);
    s = read();
    const after = { instances: s.loadInstances(), decisions: s.decisions().map((d) => d.seq), events: s.events() };
    s.close();
    assert.deepEqual(
      after.instances.map((i) => [i.id, i.pid]).sort(),
      before.instances.map((i) => [i.id, i.pid]).sort(),
      'adopted: the same instances and processes, none added',
    );
    assert.equal(ownedPids(storePath).length, 3, 'no orphan or duplicate process');
    for (const seq of before.decisions) assert.ok(after.decisions.includes(seq), `decision ${seq} kept`);
    assert.ok(after.decisions.length > before.decisions.length, 'the new run keeps deciding');
    assert.ok(Math.min(...after.decisions.filter((q) => !before.decisions.includes(q))) > Math.max(...before.decisions), 'sequence continues');
    assert.equal(after.events.filter((e) => e.kind === 'adopted').length, 3);

    // --stop-instances: a stop signal drains and stops them. SIGHUP here (a closed terminal): its default
    // action had ended the run where it stood (SIGTERM at random moments: test/faults/run.test.ts).
    const code = await new Promise<number | null>((resolve) => {
      second.child.once('exit', resolve);
      second.child.kill('SIGHUP');
    });
    assert.equal(code, 0);
    assert.deepEqual(ownedPids(storePath), []);
  });
});

describe('shadowscale run: the store is the file, not its path', () => {
  // Issue 10, item 6: the owner mark was the store's path string, so the same file reached through a
  // symlinked directory took its own live instances for lost, started new ones and orphaned the old.
  it('regression: restarted through a symlinked directory, run adopts the same instances and starts none', async (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real'), join(dir, 'link'));
    const realPath = join(dir, 'real', 'store.db');
    const config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      `instanceTypes:\n${SMALL}services:\n  - name: web\n    instanceType: small\n    pool: { min: 2, max: 2 }\n    scaling: { strategy: reactive, periodSeconds: 1, proof: off }\n` +
        `gateway: { listen: 127.0.0.1:0, admin: 127.0.0.1:0 }\nstore: { path: ${realPath} }\ncontrol: { tickSeconds: 0.3, forecastBucketSeconds: 1 }\nprovider: { graceSeconds: 1 }\n`,
    );
    t.after(() => {
      for (const pid of ownedPids(realPath)) process.kill(-pid, 'SIGKILL');
    });
    const first = await startRun(config);
    t.after(() => void (first.child.exitCode === null && first.child.kill('SIGKILL')));
    const instances = (): { id: string; pid: number }[] => {
      const s = Store.openReadOnly(realPath);
      try {
        return s.loadInstances().map((i) => ({ id: i.id, pid: i.pid })).sort((a, b) => a.id.localeCompare(b.id));
      } finally {
        s.close();
      }
    };
    await until('2 live instances and the shadow recorded', () => instances().length === 3, 20_000);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const before = instances();
    const second = await startRun(config, ['--set', `store.path=${join(dir, 'link', 'store.db')}`]);
    t.after(() => void (second.child.exitCode === null && second.child.kill('SIGKILL')));
    assert.equal(second.where.store, join(dir, 'link', 'store.db'));
    await new Promise((r) => setTimeout(r, 2000)); // several ticks
    assert.deepEqual(instances(), before, 'the same instances and processes');
    assert.equal(ownedPids(realPath).length, 3, 'no new process, no orphan');
    const s = Store.openReadOnly(realPath);
    const events = s.events();
    s.close();
    assert.equal(events.filter((e) => e.kind === 'lost').length, 0);
    assert.equal(events.filter((e) => e.kind === 'adopted').length, 3);
    second.child.kill('SIGKILL');
  });
});

describe('shadowscale doctor', () => {
  it('after a kill -9: the store checks out and its instances are "recorded"; damaged, it says so with the pids; deleted, they are orphans', async (t) => {
    const dir = tempDir(t);
    const storePath = join(dir, 'store.db');
    const config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      `instanceTypes:\n${SMALL}services:\n  - name: web\n    instanceType: small\n    pool: { min: 1, max: 1 }\n    scaling: { strategy: reactive, periodSeconds: 1, proof: off }\n` +
        `gateway: { listen: 127.0.0.1:0 }\nstore: { path: ${storePath} }\ncontrol: { tickSeconds: 0.3, forecastBucketSeconds: 1 }\n`,
    );
    const run = await startRun(config);
    t.after(() => void (run.child.exitCode === null && run.child.kill('SIGKILL')));
    await until('the live instance and the shadow recorded', () => {
      const st = Store.openReadOnly(storePath);
      try {
        return st.loadInstances().length === 2;
      } finally {
        st.close();
      }
    });
    const pids = ownedPids(storePath);
    t.after(() => {
      for (const pid of pids) if (alive(pid)) process.kill(-pid, 'SIGKILL');
    });
    run.child.kill('SIGKILL');
    await new Promise((r) => run.child.once('exit', r));
    type Report = { ok: boolean; problems: string[]; notes: string[]; processes: { pid: number; verdict: string }[] };
    const doctorJson = async (args: string[]): Promise<Report> => {
      const r = await runCli(['doctor', ...args, '--json']);
      const rep = JSON.parse(r.stdout) as Report;
      // 0 when it found nothing, 3 (SHADOWSCALE_E_DOCTOR_PROBLEMS) when it found problems.
      assert.equal(r.code, rep.ok ? 0 : 3, r.stderr);
      if (!rep.ok) assert.match(r.stderr, new RegExp(`${rep.problems.length} problem\\(s\\) found .*\\[SHADOWSCALE_E_DOCTOR_PROBLEMS\\]`));
      return rep;
    };
    const ours = (rep: Report) => rep.processes.filter((p) => pids.includes(p.pid)).map((p) => p.verdict);

    // Problems about this test's store or instances (other tests' instances run on the host meanwhile: one
    // whose directory its cleanup has just removed is an orphan to doctor, and not this test's concern).
    const ourProblems = (rep: Report): string[] => rep.problems.filter((p) => p.includes(storePath) || pids.some((pid) => new RegExp(`\\b${pid}\\b`).test(p)));
    let rep = await doctorJson(['--store', storePath]);
    assert.deepEqual(ourProblems(rep), [], rep.problems.join('\n'));
    assert.ok(!rep.problems.some((p) => /store is damaged|integrity/.test(p)), rep.problems.join('\n'));
    assert.ok(rep.notes.some((n) => /integrity ok/.test(n)));
    assert.ok(rep.notes.some((n) => /last owner, pid \d+, is gone/.test(n)));
    assert.deepEqual(ours(rep), ['recorded', 'recorded']);

    await corruptTable(storePath, 'instances');
    rep = await doctorJson(['--store', storePath]);
    assert.equal(rep.ok, false);
    assert.match(rep.problems.join('\n'), /the store is damaged .*move it aside/);

    rmSync(storePath, { force: true });
    rep = await doctorJson([]);
    assert.equal(rep.ok, false);
    assert.deepEqual(ours(rep), ['orphan', 'orphan']);
    const gone = rep.problems.find((p) => /instance\(s\) whose store is gone .*kill -TERM -PID/.test(p)) ?? '';
    for (const pid of pids) assert.match(gone, new RegExp(`\\b${pid}\\b`), rep.problems.join('\n'));
    const human = await runCli(['doctor']);
    assert.equal(human.code, 3, human.stderr);
    assert.match(human.stdout, /problem\(s\):\n {2}✗ /);
    assert.match(human.stdout, new RegExp(`pid ${pids[0]} +orphan`));
  });
});

describe('shadowscale run: a damaged or full store', () => {
  const runConfig = (dir: string, storePath: string, extra = ''): string => {
    const config = join(dir, 'run.yaml');
    writeFileSync(
      config,
      `instanceTypes:\n${SMALL}services:\n  - name: web\n    instanceType: small\n    pool: { min: 1, max: 2 }\n    scaling: { strategy: reactive, periodSeconds: 1, proof: off }\n` +
        `gateway: { listen: 127.0.0.1:0, admin: 127.0.0.1:0 }\nstore: { path: ${storePath}${extra} }\ncontrol: { tickSeconds: 0.2, forecastBucketSeconds: 1 }\nprovider: { graceSeconds: 1 }\n`,
    );
    return config;
  };

  // Severe defect of issue 10: a damaged page in the instances table gave `internal error: SqliteError`
  // with a stack while `run` kept running with its admin port held; in the samples table every tick
  // failed forever.
  for (const table of ['instances', 'samples']) {
    it(`regression: a damaged page in the ${table} table: run exits 2 with SHADOWSCALE_E_STORE_CORRUPT naming the file, no stack`, async (t) => {
      const dir = tempDir(t);
      const storePath = join(dir, 'damaged.db');
      const s = Store.open({ path: storePath });
      s.addSamples(Array.from({ length: 3000 }, (_, i) => ({ ts: Date.now() - i * 1000, service: 'web', pool: 'live', metric: 'rps', value: i })));
      for (let i = 0; i < 40; i++) s.saveInstance({ id: `web-live-${i}`, service: 'web', pool: 'live', instanceType: 'small', labels: { note: 'x'.repeat(60) }, pid: 4_000_000 + i, port: 1, createdAt: i });
      s.close();
      await corruptTable(storePath, table);
      const r = await runCli(['run', '--config', runConfig(dir, storePath)]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^shadowscale: ${storePath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the store is damaged .*\\[SHADOWSCALE_E_STORE_CORRUPT\\]\\n$`));
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    });
  }

  it('regression: a store that fills up while running stops the loop acting: run exits 1 with SHADOWSCALE_E_STORE_FAILED, instances left for the next run', async (t) => {
    const dir = tempDir(t);
    const storePath = join(dir, 'small.db');
    t.after(() => {
      for (const pid of ownedPids(storePath)) process.kill(-pid, 'SIGKILL');
    });
    Store.open({ path: storePath }).close();
    // Filled to a few pages short of the 1 MiB limit, so that the loop's own writes reach it.
    const db = new Database(storePath);
    const insert = db.prepare("INSERT INTO samples (ts, service, pool, metric, value) VALUES (?, 'old', 'live', 'rps', ?)");
    const limitPages = (1 << 20) / (db.pragma('page_size', { simple: true }) as number);
    for (let i = 0; (db.pragma('page_count', { simple: true }) as number) < limitPages - 4; i++) db.transaction(() => {
      for (let k = 0; k < 50; k++) insert.run(Date.now() + i * 50 + k, k);
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'shadowscale'), 'run', '--config', runConfig(dir, storePath, ', maxSizeBytes: 1048576')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 1, stderr);
    assert.match(stderr, /stopped: the loop stopped acting: .*small\.db: the store is full/);
    assert.match(stderr, /shadowscale: .*small\.db: the store is full \(the disk, or store\.maxSizeBytes\).*\[SHADOWSCALE_E_STORE_FAILED\]\n$/);
    assert.doesNotMatch(stderr, /internal error|\n\s+at /);
    assert.equal((stderr.match(/stopped: the loop stopped acting/g) ?? []).length, 1);
    assert.match(stderr, /the loop stopped acting and run exits; [1-9]\d* instance\(s\) left running for the next run to adopt/);
    assert.ok(ownedPids(storePath).length >= 1, 'the instances keep running');
  });
});

describe('shadow pool', () => {
  it('a shadow killed mid-run is recreated and its state re-synced: shadow and live snapshots are equal', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'kv.yaml');
    writeFileSync(
      file,
      `instanceTypes:\n  kv: { slots: 4, serviceTimeMs: 5, queueLimit: 50, provisioningSeconds: 0.1, warmupSeconds: 0, warmupCapacity: 1, env: { MODE: kv, SERVICE_TIME_DIST: constant } }\n` +
        `services:\n  - name: kv\n    instanceType: kv\n    pool: { min: 1, max: 1 }\n    shadow: { fraction: 0.25, sync: snapshot, sampling: { rate: 0.1, mirrorMutations: true } }\n    scaling: { strategy: reactive, periodSeconds: 1, proof: off }\n` +
        `gateway: { listen: 127.0.0.1:0 }\nstore: { path: ${join(dir, 'store.db')} }\ncontrol: { tickSeconds: 0.2, forecastBucketSeconds: 1 }\nprovider: { graceSeconds: 1 }\n`,
    );
    const events: LoopEvent[] = [];
    const rt = await Runtime.start({ cfg: loadConfig({ file }), onEvent: (e) => events.push(e) });
    t.after(() => rt.stop({ deleteInstances: true }));
    const ready = async (pool: 'live' | 'shadow') => (await rt.provider.list({ pool })).filter((i) => i.state === 'ready');
    await until('live and shadow ready, live routed', async () => (await ready('live')).length === 1 && (await ready('shadow')).length === 1 && (await fetch(`${rt.listen}/kv/none`)).status === 404);
    const put = async (k: string, v: string): Promise<void> => assert.equal((await fetch(`${rt.listen}/kv/${k}`, { method: 'PUT', body: v })).status, 200);
    const snapshot = async (url: string): Promise<unknown> => (await fetch(`${url}/state/snapshot`)).json();
    for (const k of ['a', 'b', 'c', 'd', 'e']) await put(k, `v-${k}`);
    const [live] = await ready('live');
    const [oldShadow] = await ready('shadow');
    await until('mutations mirrored to the shadow', async () => JSON.stringify(await snapshot(oldShadow?.url as string)) === JSON.stringify(await snapshot(live?.url as string)));

    const pid = rt.store.loadInstances().find((i) => i.id === oldShadow?.id)?.pid as number;
    process.kill(pid, 'SIGKILL');
    // The new shadow's own sync: the old one's event is in the list too. Writing before it risks the sync
    // window (a write forwarded before the shadow is a mirror target, applied after the snapshot is read).
    await until('a new shadow, synced', async () => {
      const s = await ready('shadow');
      const id = s[0]?.id;
      return s.length === 1 && id !== oldShadow?.id && events.some((e) => e.kind === 'shadow_synced' && e.detail.includes(`shadow ${id} `));
    });
    assert.equal(rt.loop.shadowReplacements, 1);
    await put('f', 'v-f');
    await put('a', 'changed');
    const [newShadow] = await ready('shadow');
    await until('shadow equal to live', async () => JSON.stringify(await snapshot(newShadow?.url as string)) === JSON.stringify(await snapshot(live?.url as string)), 10_000);
    assert.deepEqual(await snapshot(newShadow?.url as string), { version: 7, entries: { a: 'changed', b: 'v-b', c: 'v-c', d: 'v-d', e: 'v-e', f: 'v-f' } });
  });
});

describe('delta analysis', () => {
  it('live slower than the shadow at comparable load is confirmed and moves the live pool to the vertical type', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'delta.yaml');
    // "small" claims 20 ms but its instances take 80 ms (a bad live configuration); the shadow's take 20 ms.
    writeFileSync(
      file,
      `instanceTypes:\n` +
        `  small: { slots: 4, serviceTimeMs: 20, provisioningSeconds: 0.1, warmupSeconds: 0, warmupCapacity: 1, env: { SERVICE_TIME_MS: "80", SERVICE_TIME_DIST: constant } }\n` +
        `  probe: { slots: 2, serviceTimeMs: 20, provisioningSeconds: 0.1, warmupSeconds: 0, warmupCapacity: 1, env: { SERVICE_TIME_DIST: constant } }\n` +
        `  large: { slots: 8, serviceTimeMs: 20, provisioningSeconds: 0.1, warmupSeconds: 0, warmupCapacity: 1, env: { SERVICE_TIME_DIST: constant } }\n` +
        `services:\n  - name: web\n    instanceType: small\n    pool: { min: 2, max: 2 }\n    shadow: { fraction: 0.25, instanceType: probe, sampling: { rate: 0.5 } }\n    scaling: { strategy: reactive, periodSeconds: 1, proof: off }\n` +
        `gateway: { listen: 127.0.0.1:0 }\nstore: { path: ${join(dir, 'store.db')} }\nprovider: { graceSeconds: 1 }\n` +
        `control: { tickSeconds: 0.2, forecastBucketSeconds: 1, sampling: { adaptive: false }, capacityRefit: { enabled: false }, delta: { windowTicks: 10, confirmWindows: 2, minSamples: 20, action: vertical, verticalType: large } }\n`,
    );
    const events: LoopEvent[] = [];
    const deltas: unknown[] = [];
    const rt = await Runtime.start({ cfg: loadConfig({ file }), onEvent: (e) => events.push(e), onTick: (r) => r.delta && deltas.push(r.delta) });
    t.after(() => rt.stop({ deleteInstances: true }));
    await until('live and shadow ready and routed', async () => (await rt.provider.list()).filter((i) => i.state === 'ready').length === 3 && (await fetch(`${rt.listen}/work`)).status === 200);
    let stop = false;
    const client = async (): Promise<void> => {
      while (!stop) {
        await (await fetch(`${rt.listen}/work`)).text();
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const clients = Array.from({ length: 6 }, client);
    t.after(async () => {
      stop = true;
      await Promise.all(clients);
    });
    await until('the degradation confirmed and the vertical action taken', () => events.some((e) => e.kind === 'vertical'), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}; last verdicts: ${JSON.stringify(deltas.slice(-3))}`);
    });
    const degraded = events.find((e) => e.kind === 'live_degraded');
    assert.match(degraded?.detail ?? '', /live latency worse than the shadow for 2 windows; action: vertical/);
    // Issue 11, fix on the way: the numbers describe the pool they are named after (live is the slow one).
    assert.ok((degraded?.numbers?.liveMedianMs ?? 0) > (degraded?.numbers?.shadowMedianMs ?? 0), JSON.stringify(degraded?.numbers));
    await until('the live pool on the large type', async () => {
      const live = await rt.provider.list({ pool: 'live' });
      return live.length === 2 && live.every((i) => i.instanceType === 'large' && i.state === 'ready');
    }, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; the move: ${JSON.stringify(events.filter((e) => e.kind === 'rollout' || e.kind === 'vertical').map((e) => e.detail))}`);
    });
    // Through the switchover: in steps, each judged against the old type, then promoted.
    const moves = events.filter((e) => e.kind === 'rollout').map((e) => e.detail);
    assert.ok(moves.some((d) => /^type move .*: shifting: large takes 25 %/.test(d)), moves.join('\n'));
    assert.ok(moves.some((d) => /^type move .* completed: 2 instance\(s\) of large take all traffic/.test(d)), moves.join('\n'));
    stop = true;
    await Promise.all(clients);
  });
});
