// Unit tests (table): an A/B arm's bounds and forecast, scaled to its share of the traffic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ActionBounds } from '../core/policy.js';
import { abBounds, abService, scaleForecast } from './ab.js';

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
