// Fault tests: `shadowscale run` (real sample-service instances, gateway and SQLite store) hit by
// SIGKILL and SIGTERM at seeded random moments of its start, its ticks, its decisions and its instance
// starts; by a damaged page anywhere in its store; by a full disk under the store; by a port in use.
// After each: no orphan (every instance process is recorded, and adopted by the next run), no duplicate
// (the pool is what the configuration asks, never more), no lost decision, and a clear message.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { createRng } from '../../src/core/random.js';
import { Store } from '../../src/metrics/store.js';
import { markedProcesses, pidAlive } from '../../src/providers/local.js';
import { ROOT, runCli, tempDir, until } from '../helpers.js';
import { fuzzSeed } from '../fuzz/harness.js';

const SMALL = '  small: { slots: 4, serviceTimeMs: 20, queueLimit: 50, provisioningSeconds: 0.3, warmupSeconds: 0, warmupCapacity: 1 }\n';

function writeConfig(dir: string, storePath: string, extra = ''): string {
  const file = join(dir, 'run.yaml');
  writeFileSync(
    file,
    `instanceTypes:\n${SMALL}services:\n  - name: web\n    instanceType: small\n    pool: { min: 3, max: 3 }\n    shadow: { fraction: 0.25 }\n    scaling: { strategy: reactive, periodSeconds: 0.2 }\n` +
      `gateway: { listen: 127.0.0.1:0, admin: 127.0.0.1:0 }\nstore: { path: ${storePath}${extra} }\ncontrol: { tickSeconds: 0.2, forecastBucketSeconds: 1 }\nprovider: { graceSeconds: 1 }\n`,
  );
  return file;
}

/**
 * Instance processes carrying this store's mark (its id once it has one); `pool` leaves out the proof
 * gate's trial instances (ids `<service>-trial-…`), which come and go beside the pool.
 */
const ids = new Map<string, string>();
function instancesOf(storePath: string, which: 'all' | 'pool' = 'all'): number[] {
  let id = ids.get(storePath);
  if (id === undefined) {
    id = Store.idAt(storePath);
    if (id === undefined) return [];
    ids.set(storePath, id);
  }
  return markedProcesses()
    .filter((p) => p.owner === `shadowscale:store:${id}` && (which === 'all' || !p.instance.includes('-trial-')))
    .map((p) => p.pid);
}

function read<T>(storePath: string, fn: (s: Store) => T): T {
  const s = Store.openReadOnly(storePath);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

/** Every `run` started here, killed when the file's tests end (a failed test must not leave one running). */
const runs: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of runs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function start(config: string, extra: string[] = []): { child: ChildProcess; stderr: () => string; exited: Promise<number | null>; ready: Promise<void> } {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'shadowscale'), 'run', '--config', config, '--json', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  runs.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  // Its first stdout line (the addresses): started, signal handlers in place.
  const ready = new Promise<void>((r) => child.stdout?.once('data', () => r()));
  return { child, stderr: () => stderr, exited, ready };
}

/** The exit code, or "still running" after `ms` (the timer does not hold the test process). */
function within(exited: Promise<number | null>, ms: number): Promise<number | null | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still running'>((res) => (timer = setTimeout(() => res('still running'), ms)));
  return Promise.race([exited, late]).finally(() => clearTimeout(timer));
}

/**
 * The pool the configuration asks for (3 live and 1 shadow) is running, recorded, and no more; beside it
 * at most one trial instance of the proof gate (trials.maxConcurrent), recorded too.
 */
async function settled(storePath: string): Promise<void> {
  await until(
    '3 live instances and 1 shadow, all recorded',
    () => {
      if (!statSync(storePath, { throwIfNoEntry: false })) return false;
      const recs = read(storePath, (s) => s.loadInstances());
      const pool = recs.filter((r) => r.labels.trial === undefined);
      const pids = instancesOf(storePath);
      return pool.filter((r) => r.pool === 'live').length === 3 && pool.filter((r) => r.pool === 'shadow').length === 1 && recs.length - pool.length <= 1 && pids.length === recs.length && recs.every((r) => pids.includes(r.pid));
    },
    30_000,
  );
}

describe('faults: shadowscale run', () => {
  after(() => {
    for (const c of runs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  it('SIGKILL and SIGTERM at seeded random moments: no orphan, no duplicate, no lost decision', async (t) => {
    const dir = tempDir(t);
    const storePath = join(dir, 'store.db');
    const config = writeConfig(dir, storePath);
    t.after(() => {
      for (const pid of instancesOf(storePath)) process.kill(-pid, 'SIGKILL');
    });
    const seed = fuzzSeed('faults-run');
    const rng = createRng(seed);
    console.log(`faults run: seed ${seed}`);
    let decisionsBefore: number[] = [];
    for (let round = 0; round < 6; round++) {
      const signal = round % 2 === 0 ? 'SIGKILL' : 'SIGTERM';
      // Early rounds hit start-up and the first instance starts; later ones the steady ticks.
      const delay = Math.round(rng.next() * (round < 3 ? 1500 : 3000));
      const r = start(config);
      await new Promise((res) => setTimeout(res, delay));
      r.child.kill(signal);
      const code = await r.exited;
      const where = `round ${round}: ${signal} after ${delay} ms (seed ${seed})`;
      if (signal === 'SIGTERM') assert.ok(code === 0 || code === null, `${where}: exit ${code}\n${r.stderr()}`);
      assert.doesNotMatch(r.stderr(), /internal error|\n\s+at /, where);
      // Killed before the store was made, or before its schema was (one transaction: all or nothing).
      if (!statSync(storePath, { throwIfNoEntry: false }) || Store.idAt(storePath) === undefined) continue;
      // Every instance process is recorded (or carries the mark, for the /proc sweep to adopt).
      const recs = read(storePath, (s) => s.loadInstances());
      const decisions = read(storePath, (s) => s.decisions({ limit: 100_000 }).map((d) => d.seq));
      for (const seq of decisionsBefore) assert.ok(decisions.includes(seq), `${where}: decision ${seq} lost`);
      decisionsBefore = decisions;
      assert.ok(recs.filter((x) => x.pool === 'live').length <= 3, `${where}: no more live records than the pool's max`);
    }
    // The next run adopts whatever the faults left: the pool as configured, no more, every record running.
    const last = start(config);
    await last.ready;
    await settled(storePath);
    await new Promise((res) => setTimeout(res, 1000)); // a few more ticks: nothing more is started
    const recs = read(storePath, (s) => s.loadInstances());
    const pids = instancesOf(storePath);
    assert.equal(instancesOf(storePath, 'pool').length, 4, 'no duplicate and no orphan process');
    assert.ok(pids.length <= 5, 'at most one trial instance beside the pool');
    assert.deepEqual(recs.map((x) => x.pid).sort(), [...pids].sort(), 'every process is recorded');
    const decisions = read(storePath, (s) => s.decisions({ limit: 100_000 }).map((d) => d.seq));
    for (const seq of decisionsBefore) assert.ok(decisions.includes(seq), `decision ${seq} lost`);
    assert.doesNotMatch(last.stderr(), /internal error/);
    // --stop-instances on SIGTERM leaves nothing behind.
    last.child.kill('SIGKILL');
    await last.exited;
    const final = start(config, ['--stop-instances']);
    await final.ready;
    await settled(storePath);
    final.child.kill('SIGTERM');
    assert.equal(await final.exited, 0, final.stderr());
    assert.deepEqual(instancesOf(storePath).filter(pidAlive), [], 'no orphan after --stop-instances');
  });

  it('a damaged page anywhere in the store (seeded pages): run exits 2 naming the file, or starts; never an internal failure', async (t) => {
    const dir = tempDir(t);
    const storePath = join(dir, 'store.db');
    const config = writeConfig(dir, storePath);
    t.after(() => {
      for (const pid of instancesOf(storePath)) process.kill(-pid, 'SIGKILL');
    });
    const first = start(config);
    await first.ready;
    await settled(storePath);
    first.child.kill('SIGKILL');
    await first.exited;
    // Some samples and decisions so that the file has pages of every table.
    const s = Store.open({ path: storePath });
    s.addSamples(Array.from({ length: 5000 }, (_, i) => ({ ts: Date.now() - i * 1000, service: 'web', pool: 'live', metric: 'rps', value: i })));
    s.close();
    const pristine = join(dir, 'pristine.db');
    execFileSync('cp', [storePath, pristine]);
    const pageSize = 4096;
    const pages = Math.floor(statSync(pristine).size / pageSize);
    const seed = fuzzSeed('faults-store');
    const rng = createRng(seed);
    console.log(`faults store: seed ${seed}, ${pages} pages`);
    let refused = 0;
    for (let round = 0; round < 5; round++) {
      execFileSync('cp', [pristine, storePath]);
      rmSync(`${storePath}-wal`, { force: true });
      rmSync(`${storePath}-shm`, { force: true });
      const page = 1 + Math.floor(rng.next() * (pages - 1)); // page 0 is the header: any damage there is "not a database"
      const fd = openSync(storePath, 'r+');
      writeSync(fd, Buffer.alloc(64, 0x5a), 0, 64, page * pageSize + (rng.next() < 0.5 ? 0 : 512));
      closeSync(fd);
      const r = start(config);
      const code = await within(r.exited, 8000);
      const where = `page ${page} (seed ${seed})`;
      assert.doesNotMatch(r.stderr(), /internal error|\n\s+at /, where);
      if (code === 'still running') {
        await r.ready;
        // Damage that SQLite's check cannot see (a free page, unused bytes): the run works; stopped cleanly.
        r.child.kill('SIGTERM');
        assert.equal(await r.exited, 0, `${where}: ${r.stderr()}`);
        continue;
      }
      assert.equal(code, 2, `${where}: ${r.stderr()}`);
      assert.match(r.stderr(), /the store is damaged|not a readable SQLite database/, where);
      assert.match(r.stderr(), /\[SHADOWSCALE_E_STORE_CORRUPT\]\n$/, where);
      refused++;
    }
    console.log(`faults store: ${refused} of 5 damaged stores refused, the others ran`);
    assert.ok(refused >= 1, 'damage to the tables is found at open');
    // The instances it had are still there: doctor names them, and a healthy copy adopts them.
    execFileSync('cp', [pristine, storePath]);
    const again = start(config, ['--stop-instances']);
    await again.ready;
    await settled(storePath);
    again.child.kill('SIGTERM');
    assert.equal(await again.exited, 0);
  });

  it('the disk fills up under the store (tmpfs, or store.maxSizeBytes): run stops acting and exits 1 clearly; with space again the next run adopts its instances', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'shadowscale-disk-'));
    const mnt = join(dir, 'small-disk');
    mkdirSync(mnt);
    let tmpfs = false;
    // One hook, in this order: the instances (registered below) go first, then the disk, then the directory.
    t.after(() => {
      if (tmpfs) {
        try {
          execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
        } catch {
          // already unmounted
        }
      }
      rmSync(dir, { recursive: true, force: true });
    });
    try {
      // FAULTS_NO_TMPFS=1 runs the fallback where mounting works too.
      if (process.env.FAULTS_NO_TMPFS === '1') throw new Error('tmpfs not wanted');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'ignore' });
      tmpfs = true;
    } catch {
      // Not allowed here: SQLite's own size limit gives the same SQLITE_FULL.
    }
    console.log(`faults disk: ${tmpfs ? 'a 4 MiB tmpfs' : 'store.maxSizeBytes (tmpfs not available)'}`);
    const storePath = join(mnt, 'store.db');
    const config = writeConfig(dir, storePath, tmpfs ? '' : ', maxSizeBytes: 1048576');
    t.after(() => {
      for (const pid of instancesOf(storePath)) process.kill(-pid, 'SIGKILL');
    });
    const r = start(config);
    await r.ready;
    await settled(storePath);
    const before = read(storePath, (s) => s.decisions({ limit: 100_000 }).map((d) => d.seq));
    // Fill what is left: the disk, or the store up to its limit.
    const filler = join(mnt, 'filler');
    if (tmpfs) {
      const fd = openSync(filler, 'w');
      try {
        for (;;) writeSync(fd, Buffer.alloc(64 * 1024));
      } catch {
        // ENOSPC: full
      } finally {
        closeSync(fd);
      }
    } else {
      // The same limit on this connection (max_page_count is per connection): it fills up to it, no further.
      const big = new (await import('better-sqlite3')).default(storePath, { timeout: 5000 });
      big.pragma(`max_page_count = ${(1 << 20) / (big.pragma('page_size', { simple: true }) as number)}`);
      try {
        const ins = big.prepare("INSERT INTO samples (ts, service, pool, metric, value) VALUES (?, 'fill', 'live', 'rps', 1)");
        for (let i = 0; i < 10_000_000; i++) ins.run(i);
      } catch {
        // SQLITE_FULL at the limit
      } finally {
        big.close();
      }
    }
    const code = await within(r.exited, 30_000);
    assert.equal(code, 1, r.stderr());
    assert.match(r.stderr(), /the loop stopped acting and run exits; \d+ instance\(s\) left running/);
    assert.match(r.stderr(), /(the store is full|an I\/O error in the store).*\[SHADOWSCALE_E_STORE_FAILED\]\n$/);
    assert.doesNotMatch(r.stderr(), /internal error|\n\s+at /);
    assert.equal(instancesOf(storePath, 'pool').length, 4, 'the instances keep running');
    rmSync(filler, { force: true });
    if (!tmpfs) {
      const big = new (await import('better-sqlite3')).default(storePath);
      big.prepare("DELETE FROM samples WHERE service = 'fill'").run();
      big.pragma('wal_checkpoint(TRUNCATE)');
      big.exec('VACUUM');
      big.close();
    }
    const next = start(config, ['--stop-instances']);
    await next.ready;
    await settled(storePath);
    await new Promise((res) => setTimeout(res, 500));
    assert.equal(instancesOf(storePath, 'pool').length, 4, 'adopted: no duplicate');
    const after = read(storePath, (s) => s.decisions({ limit: 100_000 }).map((d) => d.seq));
    for (const seq of before) assert.ok(after.includes(seq), `decision ${seq} lost`);
    next.child.kill('SIGTERM');
    assert.equal(await next.exited, 0, next.stderr());
    assert.deepEqual(instancesOf(storePath).filter(pidAlive), []);
  });

  it('the admin port in use: run exits 2 naming it, and starts no instance', async (t) => {
    const dir = tempDir(t);
    const storePath = join(dir, 'store.db');
    const config = writeConfig(dir, storePath);
    const taken = createServer();
    await new Promise<void>((res) => taken.listen(0, '127.0.0.1', res));
    t.after(() => new Promise<void>((res) => taken.close(() => res())));
    const port = (taken.address() as AddressInfo).port;
    const r = await runCli(['run', '--config', config, '--set', `gateway.admin=127.0.0.1:${port}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`gateway\\.admin 127\\.0\\.0\\.1:${port}: cannot listen there: the port is in use`));
    assert.deepEqual(instancesOf(storePath), []);
  });
});
