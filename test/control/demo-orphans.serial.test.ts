// A demo killed -9 leaves its instances running, and `shadowscale demo --clean` stops them. Every demo
// starts by sweeping the leftovers of every demo that is gone (their instances are found by their mark, on
// the whole machine), so a demo that another test file starts meanwhile would stop these orphans first:
// seen in CI ("stopped 0 of the 2 running before", the demo of test/control/rollout.test.ts or
// demo-ab.test.ts had swept them). Hence `.serial.test.ts`: scripts/run-tests.mjs runs this file alone,
// after the others, with no other demo running.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { findLeftovers } from '../../src/control/leftovers.js';
import { pidAlive as alive } from '../../src/providers/local.js';
import { component, processesIn, runCli, startDemo, tempDir, until } from '../helpers.js';

describe('shadowscale demo --clean', () => {
  it('regression: after a demo is killed -9, `demo --clean` stops its orphans and removes its directory', async (t) => {
    const tmp = tempDir(t);
    const d = await startDemo(tmp);
    d.child.kill('SIGKILL');
    await d.exited;
    const orphans = findLeftovers({ tmp });
    assert.ok(orphans.instances.filter((i) => i.mark === d.mark).length >= 2, 'the killed demo left its instances running');
    assert.equal(orphans.directories.length, 1);
    const doc = await runCli(['doctor', '--json'], { TMPDIR: tmp });
    assert.equal(doc.code, 3, doc.stderr);
    const report = JSON.parse(doc.stdout) as { ok: boolean; problems: string[]; processes: { pid: number; verdict: string }[] };
    assert.equal(report.ok, false);
    assert.match(report.problems.join('\n'), /interrupted demos left \d+ instance\(s\) running .* and 1 temporary directory: `shadowscale demo --clean` removes them/);
    // Every orphan is listed as a demo's leftover, unless it had exited by then on its own: one the demo
    // was stopping when it was killed (SIGTERM: it finishes what it accepted, then exits) is an orphan for
    // a moment only. (Seen in CI when this test ran beside the others: listed by findLeftovers, gone by the
    // time doctor looked; another file's demo sweeping them is the likelier cause, see the header.)
    for (const i of orphans.instances.filter((x) => x.mark === d.mark)) {
      const listed = report.processes.find((p) => p.pid === i.pid);
      if (listed) assert.equal(listed.verdict, 'demo_leftover');
      else assert.ok(!alive(i.pid), `orphan ${i.pid} is alive but doctor does not list it`);
    }
    const running = orphans.instances.filter((i) => alive(i.pid)).length;
    assert.ok(running >= 1, 'orphans are still running');
    const r = await runCli(['demo', '--clean', '--json'], { TMPDIR: tmp });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { stopped: number; removed: number };
    assert.ok(out.stopped >= 1, `stopped ${out.stopped} of the ${running} running before`);
    assert.equal(out.removed, 1);
    assert.deepEqual(orphans.instances.map((i) => i.pid).filter(alive), []);
    assert.deepEqual(findLeftovers({ mark: d.mark, tmp }).instances, []);
    assert.deepEqual(readdirSync(tmp), []);
  });

  it('regression: a Prometheus demo killed -9: `demo --clean` stops its Prometheus with its instances', async (t) => {
    const prometheus = component(t, '/usr/bin/prometheus', 'prometheus');
    if (!prometheus) return;
    const tmp = tempDir(t);
    const d = await startDemo(tmp, ['--prometheus', prometheus]);
    await until('its Prometheus', () => processesIn(tmp).length > 0, 30_000);
    d.child.kill('SIGKILL');
    await d.exited;
    assert.ok(findLeftovers({ tmp }).instances.some((i) => i.instance?.startsWith('prometheus-')), 'the Prometheus is found as a leftover');
    const r = await runCli(['demo', '--clean', '--json'], { TMPDIR: tmp });
    assert.equal(r.code, 0, r.stderr);
    await until('nothing of the demo runs', () => processesIn(tmp).length === 0, 10_000);
    assert.deepEqual(readdirSync(tmp), []);
  });
});
