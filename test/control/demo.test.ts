// End-to-end tests of `shadowscale demo`: stopped by a signal (nothing left behind), its input errors,
// and its Prometheus variant against a real Prometheus.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { component, processesIn, runCli, startDemo, tempDir } from '../helpers.js';
import { pidAlive as alive } from '../../src/providers/local.js';
import { findLeftovers } from '../../src/control/leftovers.js';

describe('shadowscale demo', () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`regression: a demo stopped by ${sig} stops its instances and removes its temporary directory`, async (t) => {
      const tmp = tempDir(t);
      const d = await startDemo(tmp);
      const pids = findLeftovers({ mark: d.mark, tmp }).instances.map((i) => i.pid);
      assert.equal(readdirSync(tmp).filter((n) => n.startsWith('shadowscale-demo-')).length, 1);
      d.child.kill(sig);
      const code = await d.exited;
      assert.equal(code, sig === 'SIGINT' ? 130 : 143, d.stderr());
      assert.match(d.stderr(), /interrupted: \d+ instance\(s\) stopped/);
      assert.deepEqual(pids.filter(alive), [], 'no instance outlives the demo');
      assert.deepEqual(findLeftovers({ mark: d.mark, tmp }).instances, []);
      assert.deepEqual(readdirSync(tmp), [], 'the temporary directory is gone');
    });
  }

  it('rejects a bad duration with exit 2', async () => {
    const r = await runCli(['demo', '--duration', '5']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--duration: expected at least 20 seconds/);
    const p = await runCli(['demo', '--prometheus', '/nonexistent/prometheus']);
    assert.equal(p.code, 2);
    assert.match(p.stderr, /--prometheus: expected the path of a prometheus binary, \/nonexistent\/prometheus is not an executable file/);
  });

  it('the Prometheus variant: a real Prometheus scrapes the run and its instances, the loop reads its traffic only from it; nothing is left after the demo', async (t) => {
    const prometheus = component(t, '/usr/bin/prometheus', 'prometheus');
    if (!prometheus) return;
    const tmp = tempDir(t);
    const r = await runCli(['demo', '--duration', '30', '--strategy', 'reactive', '--prometheus', prometheus, '--json'], { TMPDIR: tmp });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Prometheus http:\/\/127\.0\.0\.1:\d+ scrapes the run and its instances every second/);
    const out = JSON.parse(r.stdout) as { strategies: { reactive: { shadow: { mirrored: number }; maxInstances: number } }; metrics: { reactive: { source: string; outages: number; cpuMsPerRequest: number | null } } };
    assert.equal(out.metrics.reactive.source, 'prometheus');
    // The instances' own CPU, as Prometheus scraped it from their /metrics: a request costs some, not seconds.
    assert.ok(out.metrics.reactive.cpuMsPerRequest !== null && out.metrics.reactive.cpuMsPerRequest > 0 && out.metrics.reactive.cpuMsPerRequest < 100, JSON.stringify(out.metrics));
    // Decided on what Prometheus reported: the ramp scaled the pool out.
    assert.ok(out.strategies.reactive.maxInstances > 1, JSON.stringify(out.strategies.reactive));
    assert.deepEqual(processesIn(tmp), [], 'no Prometheus (or anything else of the demo) outlives it');
    assert.deepEqual(readdirSync(tmp), []);
  });
});
