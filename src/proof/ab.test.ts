// Unit tests (table): an A/B arm's bounds and forecast, scaled to its share of the traffic; the
// observation an arm's strategy gets (fake provider, real gateway and store).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionBounds } from '../core/policy.js';
import type { Observation, Strategy } from '../core/strategy.js';
import { localControl } from '../gateway/control.js';
import { createGateway } from '../gateway/gateway.js';
import { Store } from '../metrics/store.js';
import { FakeProvider } from '../providers/fake.js';
import { AbArms, abBounds, abService, scaleForecast } from './ab.js';

const B: ActionBounds = { minInstances: 2, maxInstances: 12, maxStepUp: 4, maxStepDown: 3, cooldownUpSeconds: 5, cooldownDownSeconds: 30 };

describe('abBounds', () => {
  const rows: { note: string; b: ActionBounds; share: number; want: Pick<ActionBounds, 'minInstances' | 'maxInstances' | 'maxStepUp' | 'maxStepDown'> }[] = [
    { note: 'half: every bound halved, rounded up', b: B, share: 0.5, want: { minInstances: 1, maxInstances: 6, maxStepUp: 2, maxStepDown: 2 } },
    { note: 'a small share keeps one instance and steps of one', b: B, share: 0.01, want: { minInstances: 1, maxInstances: 1, maxStepUp: 1, maxStepDown: 1 } },
    { note: 'min 0 becomes 1: an arm always has an instance to measure', b: { ...B, minInstances: 0 }, share: 0.5, want: { minInstances: 1, maxInstances: 6, maxStepUp: 2, maxStepDown: 2 } },
    { note: 'exact products are not rounded up by float error', b: { ...B, maxInstances: 10 }, share: 0.3, want: { minInstances: 1, maxInstances: 3, maxStepUp: 2, maxStepDown: 1 } },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const got = abBounds(r.b, r.share);
      assert.deepEqual({ minInstances: got.minInstances, maxInstances: got.maxInstances, maxStepUp: got.maxStepUp, maxStepDown: got.maxStepDown }, r.want);
      assert.equal(got.cooldownUpSeconds, r.b.cooldownUpSeconds);
    });
  }
});

describe('scaleForecast and abService', () => {
  it('every point times the share; the timing kept', () => {
    const f = { model: 'm', start: 10, step: 1, level: 0.9, mean: Float64Array.from([100, 200]), lower: Float64Array.from([80, 150]), upper: Float64Array.from([120, 260]) };
    const g = scaleForecast(f, 0.25);
    assert.deepEqual([...g.mean], [25, 50]);
    assert.deepEqual([...g.lower], [20, 37.5]);
    assert.deepEqual([...g.upper], [30, 65]);
    assert.equal(g.start, 10);
    assert.deepEqual([...f.mean], [100, 200], 'the live forecast untouched');
  });
  it('arm decisions are recorded apart from the service (service names cannot contain "/")', () => {
    assert.equal(abService('web', 'hybrid'), 'web/ab/hybrid');
  });
});

describe('AbArms: the observation an arm strategy gets', () => {
  it('carries the arm’s cumulative SLO counts (the SLO policy’s risk follows the arm’s own budget)', async (t) => {
    const seen: Observation[] = [];
    const spy = (name: 'reactive' | 'hybrid'): Strategy => ({
      name,
      periodSeconds: 1,
      decide: (obs) => {
        seen.push(obs);
        return { strategy: name, at: obs.now, current: obs.current, desired: obs.current, reason: 'within_tolerance', numbers: {} };
      },
    });
    let clock = Date.UTC(2026, 0, 1);
    const now = (): number => clock;
    const live = createGateway({ live: [] });
    const dir = mkdtempSync(join(tmpdir(), 'shadowscale-ab-'));
    const store = Store.open({ path: join(dir, 'store.db') });
    const ab = new AbArms(
      { service: 'web', arms: [{ name: 'reactive', strategy: spy('reactive') }, { name: 'hybrid', strategy: spy('hybrid') }], share: 0.5, instanceType: 'standard', slots: 4, slo: { latencyP99Ms: 200, errorRate: 0.01 }, bounds: B, initialInstances: 1, metricWindowSeconds: 3, staleMetricsSeconds: 3, tickSeconds: 1, requestTimeoutMs: 1000 },
      { provider: new FakeProvider({ instanceTypes: ['standard'], now }), gateway: localControl(live), store, now },
    );
    t.after(async () => {
      await ab.close();
      await live.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    await ab.start();
    for (let k = 0; k < 3; k++) {
      clock += 1000;
      await ab.tick(0);
    }
    assert.ok(seen.length >= 4, `${seen.length} decisions`);
    for (const o of seen) assert.deepEqual([o.sloJudged, o.sloViolated], [0, 0], 'no traffic: nothing judged yet, but the counts are there');
  });
});
