// Integration tests: `shadowscale prove` as a user runs it (the real binary, sample-service instances
// under the local provider): the JSON contract, bad input, and Ctrl-C leaving no instance behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findLeftovers, processMark } from '../../src/control/leftovers.js';
import { ROOT, runCli, tempDir, until } from '../helpers.js';

const CONFIG =
  'instanceTypes:\n' +
  '  fast: { slots: 2, serviceTimeMs: 10, queueLimit: 400, provisioningSeconds: 0.2, warmupSeconds: 0, warmupCapacity: 1, prices: { onDemandPerHour: 0.2 }, env: { SERVICE_TIME_DIST: exponential } }\n' +
  'services:\n  - name: web\n    instanceType: fast\n    pool: { min: 1, max: 20 }\n    slo: { latencyP99Ms: 100, errorRate: 0.01 }\n    scaling: { headroom: 0.1 }\n';

describe('shadowscale prove', () => {
  it('--json: every candidate with its measured capacity, p99, cost and verdict, and the cheapest that passed', async (t) => {
    const dir = tempDir(t);
    const config = join(dir, 'c.yaml');
    writeFileSync(config, CONFIG);
    const r = await runCli(['prove', '--config', config, '--rate', '200', '--samples', '400', '--max-step-seconds', '4', '--json'], { TMPDIR: dir });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { rate: number; candidates: Record<string, unknown>[]; chosen: { instanceType: string; count: number; costPerHour: number } | null };
    assert.equal(out.rate, 200);
    assert.ok(out.candidates.length >= 2);
    for (const c of out.candidates) assert.deepEqual(Object.keys(c), ['instanceType', 'count', 'perInstanceRps', 'capacityAtSloRps', 'p99Ms', 'errorRate', 'costPerHour', 'verdict']);
    // 220 req/s (with headroom) on one instance is beyond its capacity; two carry it.
    assert.equal(out.candidates.find((c) => c.count === 1)?.verdict, 'fail');
    assert.deepEqual(out.chosen && [out.chosen.instanceType, out.chosen.count], ['fast', 2]);
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('shadowscale-demo-')), [], 'its throwaway store is gone');
  });

  it('--chaos: the chosen configuration loses one instance and is judged on its survivors (N+1 redundancy)', async (t) => {
    const dir = tempDir(t);
    const config = join(dir, 'c.yaml');
    writeFileSync(config, CONFIG);
    const r = await runCli(['prove', '--config', config, '--rate', '200', '--samples', '400', '--max-step-seconds', '4', '--chaos', '2', '--json'], { TMPDIR: dir });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { chosen: { count: number }; redundancy: { instanceType: string; count: number; survivors: number; perSurvivorRps: number; trialInstances: number; verdict: string } };
    assert.deepEqual(Object.keys(out), ['rate', 'candidates', 'chosen', 'redundancy']);
    // 2 x fast chosen for 220 req/s: losing one leaves 220 req/s on one instance, beyond its capacity.
    assert.deepEqual([out.redundancy.count, out.redundancy.survivors, out.redundancy.trialInstances], [out.chosen.count, out.chosen.count - 1, Math.min(3, out.chosen.count)]);
    assert.ok(Math.abs(out.redundancy.perSurvivorRps - 220 / (out.chosen.count - 1)) < 1e-6);
    if (out.chosen.count === 2) assert.equal(out.redundancy.verdict, 'fail', 'one instance cannot carry 220 req/s');
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('shadowscale-demo-')), [], 'its throwaway store is gone');
  });

  it('bad input is exit 2 with a precise message, and starts nothing', async (t) => {
    const dir = tempDir(t);
    const config = join(dir, 'c.yaml');
    writeFileSync(config, CONFIG);
    for (const [args, message] of [
      [['--rate', 'lots'], /--rate <rps>' argument 'lots' is invalid\. expected a positive number of requests\/s/],
      [['--rate', '10', '--types', 'fast,huge'], /--types: no instance type "huge" in the configuration \(have: fast\)/],
      [['--rate', '10', '--samples', '100'], /--samples: expected at least 368/],
      [['--rate', '10', '--chaos', '0'], /--chaos <seconds>' argument '0' is invalid/],
      [['--rate', '10', '--chaos', '601'], /--chaos: expected at most 600 seconds/],
      [['--rate', '10', '--chaos-latency', '100'], /--chaos-latency: expected together with --chaos SECONDS/],
      [['--rate', '10', '--chaos', '2', '--chaos-latency', '0'], /--chaos-latency <ms>' argument '0' is invalid/],
      [['--rate', '10', '--chaos', '2', '--chaos-latency', '60001'], /--chaos-latency: expected at most 60000 ms/],
      [['--rate', '10', '--traffic', join(dir, 'missing.jsonl')], /missing\.jsonl: cannot read the recording \(ENOENT\)/],
      // It printed an empty table with exit 0.
      [['--rate', '1e12'], /--rate 1000000000000: nothing to prove at 1\.\d+e\+12 requests\/s with headroom: fast needs \d+ instances \(\d+\.\d requests\/s each at the SLO\), above the pool's max of \d+\. Lower --rate/],
    ] as const) {
      const r = await runCli(['prove', '--config', config, ...args], { TMPDIR: dir });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    }
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('shadowscale-demo-')), []);
  });

  // SIGHUP: a closed terminal or a dropped SSH session, whose default action had left the instance running.
  for (const [sig, code] of [['SIGINT', 130], ['SIGHUP', 129]] as const) {
    it(`${sig} in the middle of a trial stops its instance and removes its store: exit ${code}`, async (t) => {
      const dir = tempDir(t);
      const config = join(dir, 'c.yaml');
      writeFileSync(config, CONFIG);
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'shadowscale'), 'prove', '--config', config, '--rate', '100', '--samples', '2000'], { env: { ...process.env, TMPDIR: dir }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const mark = await new Promise<string>((r) => setTimeout(() => r(processMark(child.pid as number)), 200));
      await until('the trial instance', () => findLeftovers({ mark, tmp: dir }).instances.length === 1, 20_000);
      const pid = findLeftovers({ mark, tmp: dir }).instances[0]?.pid as number;
      child.kill(sig);
      assert.equal(await exited, code, stderr);
      assert.deepEqual(findLeftovers({ mark, tmp: dir }).instances, []);
      assert.throws(() => process.kill(pid, 0), 'the trial instance is gone');
      assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('shadowscale-demo-')), []);
    });
  }

  it('regression: a rate whose candidates round to 0 req/s per instance finishes (the steps\' rates were NaN and the load never ended)', async (t) => {
    const dir = tempDir(t);
    const config = join(dir, 'c.yaml');
    writeFileSync(config, CONFIG);
    const args = ['prove', '--config', config, '--rate', '0.0000001', '--samples', '400', '--max-step-seconds', '2'];
    const r = await runCli([...args, '--json'], { TMPDIR: dir });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { candidates: { count: number; verdict: string; capacityAtSloRps: number | null }[]; chosen: unknown };
    assert.ok(out.candidates.length > 0);
    // Far too few answers at such a rate to bound a p99: no candidate is proven.
    for (const c of out.candidates) assert.equal(c.verdict, 'inconclusive');
    assert.equal(out.chosen, null);
    // The capacity is still measured on the rising steps: an estimate where the p99 crossed the SLO, or a
    // bound ("at most" when the first driven step already broke it, as on a loaded CI machine), a number
    // either way. JSON would print a NaN as null; the human line prints it.
    const h = await runCli(args, { TMPDIR: dir });
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /^fast: model capacity \d+\.\d req\/s per instance at the SLO, measured (at least |at most )?\d+\.\d$/m);
  });

  it('regression: SIGTERM in the middle of a long step stops its load at once, not at the end of the step (exit 143)', async (t) => {
    const dir = tempDir(t);
    const config = join(dir, 'c.yaml');
    writeFileSync(config, CONFIG);
    // 20,000 answers at 100 req/s would take 200 s: the step runs its full 60 s cap.
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'shadowscale'), 'prove', '--config', config, '--rate', '100', '--samples', '20000', '--max-step-seconds', '60'], { env: { ...process.env, TMPDIR: dir }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const mark = await new Promise<string>((r) => setTimeout(() => r(processMark(child.pid as number)), 200));
    await until('the trial instance', () => findLeftovers({ mark, tmp: dir }).instances.length === 1, 20_000);
    // The type has no warm-up: five seconds in, the first step is running.
    await new Promise((r) => setTimeout(r, 5000));
    const signalled = performance.now();
    child.kill('SIGTERM');
    assert.equal(await exited, 143, stderr);
    const took = performance.now() - signalled;
    assert.ok(took < 30_000, `stopped ${took.toFixed(0)} ms after the signal; the step had up to 55 s left`);
    assert.deepEqual(findLeftovers({ mark, tmp: dir }).instances, []);
  });
});
