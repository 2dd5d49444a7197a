// Unit tests: the strategies behind one interface (reactive, predictive, hybrid, oracle) and the action bounds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Forecast } from './forecast.js';
import { DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP } from './hpa.js';
import { boundDecision, NO_HISTORY, recordAction, type ActionBounds } from './policy.js';
import { REASONS } from './reasons.js';
import { HybridStrategy, OracleStrategy, oracleSchedule, PredictiveStrategy, ReactiveStrategy, type Observation } from './strategy.js';

const obs = (o: Partial<Observation>): Observation => ({ now: 0, current: 4, ready: 4, utilization: 0.6, demandRps: 100, metricsFresh: true, ...o });
const reactive = () => new ReactiveStrategy({ minInstances: 1, maxInstances: 50, targetUtilization: 0.6, tolerance: 0.1, periodSeconds: 15, scaleUp: DEFAULT_SCALE_UP, scaleDown: DEFAULT_SCALE_DOWN });
const predictive = (o: Partial<ConstructorParameters<typeof PredictiveStrategy>[0]> = {}) =>
  new PredictiveStrategy({ minInstances: 1, maxInstances: 50, perInstanceRps: 100, headroom: 0, leadTimeSeconds: 120, periodSeconds: 15, scaleInStabilizationSeconds: 300, ...o });
/** A forecast starting at t=0 with one point per minute. */
const forecastOf = (upper: number[], start = 0): Forecast => ({
  model: 'test',
  start,
  step: 60,
  level: 0.8,
  mean: Float64Array.from(upper, (u) => u * 0.8),
  lower: Float64Array.from(upper, (u) => u * 0.6),
  upper: Float64Array.from(upper),
});

describe('ReactiveStrategy (HPA)', () => {
  it('a fresh strategy (a restarted control plane) holds a scale-in for the stabilization window, as the HPA seeds its history with the current count', () => {
    const r = reactive();
    const first = r.decide(obs({ now: 1000, utilization: 0.05 }));
    assert.deepEqual([first.desired, first.reason], [4, 'scale_in_stabilization']);
    const later = r.decide(obs({ now: 1301, utilization: 0.05 }));
    assert.ok(later.desired < 4, `after 300 s the scale-in goes ahead: ${later.desired}`);
  });
  it('scales up by the ratio, within the default rate limit', () => {
    const d = reactive().decide(obs({ utilization: 0.9 }));
    assert.equal(d.desired, 6);
    assert.equal(d.reason, 'utilization_above_target');
  });
  it('caps a big jump at max(+4, x2) per minute', () => {
    const d = reactive().decide(obs({ current: 2, ready: 2, utilization: 1 }));
    // ceil(2 x 100/60) = 4: within the +4 limit.
    assert.equal(d.desired, 4);
    const s = reactive();
    assert.equal(s.decide(obs({ current: 2, ready: 2, utilization: 1, now: 0 })).desired, 4);
    // 15 s later still saturated: ceil(4 x 1.67) = 7, but the period began at 2: limit max(2+4, 2x2) = 6.
    const d2 = s.decide(obs({ current: 4, ready: 4, utilization: 1, now: 15 }));
    assert.equal(d2.desired, 6);
    assert.equal(d2.reason, 'scale_up_rate_limit');
  });
  it('holds a scale-down for the 300 s stabilization window', () => {
    const s = reactive();
    s.decide(obs({ now: 0, current: 8, ready: 8, utilization: 0.6 }));
    const d = s.decide(obs({ now: 15, current: 8, ready: 8, utilization: 0.2 }));
    assert.equal(d.desired, 8);
    assert.equal(d.reason, 'scale_in_stabilization');
    const later = s.decide(obs({ now: 330, current: 8, ready: 8, utilization: 0.2 }));
    assert.equal(later.desired, 3);
  });
  it('holds on missing or stale metrics', () => {
    for (const o of [obs({ utilization: Number.NaN }), obs({ metricsFresh: false, utilization: 0.1 }), obs({ ready: 0 })]) {
      const d = reactive().decide(o);
      assert.equal(d.desired, 4);
      assert.equal(d.reason, 'missing_metrics_hold');
    }
  });
  it('never goes below min', () => assert.equal(reactive().decide(obs({ current: 1, ready: 1, utilization: 0 })).desired, 1));
});

describe('PredictiveStrategy', () => {
  it('asks for capacity for the largest upper bound over [now, now + lead + period]', () => {
    // Window [0, 135): minutes 0, 1, 2 count; minute 3 (t=180) does not.
    const d = predictive().decide(obs({ now: 0 }), forecastOf([100, 200, 450, 5000]));
    assert.equal(d.desired, 5);
    assert.equal(d.reason, 'forecast_peak');
    assert.equal(d.numbers.forecastUpper, 450);
  });
  it('adds headroom', () => assert.equal(predictive({ headroom: 0.25 }).decide(obs({}), forecastOf([400, 400, 400])).desired, 5));
  it('holds with no forecast', () => {
    const d = predictive().decide(obs({}));
    assert.equal(d.reason, 'no_forecast_hold');
    assert.equal(d.desired, 4);
  });
  it('scales in only after the stabilization window', () => {
    const s = predictive();
    assert.equal(s.decide(obs({ now: 0, current: 4 }), forecastOf([800, 800, 800, 800])).desired, 8);
    const held = s.decide(obs({ now: 60, current: 8 }), forecastOf([100, 100, 100, 100], 60));
    assert.equal(held.desired, 8);
    assert.equal(held.reason, 'scale_in_stabilization');
    assert.equal(s.decide(obs({ now: 400, current: 8 }), forecastOf([100, 100, 100, 100], 400)).desired, 1);
  });
  it('never asks above the current request because of its window', () => {
    const s = predictive();
    s.decide(obs({ now: 0, current: 4 }), forecastOf([800, 800, 800]));
    // Someone else scaled the pool to 3 meanwhile: the window may hold 3, not push back to 8.
    assert.equal(s.decide(obs({ now: 30, current: 3 }), forecastOf([100, 100, 100], 30)).desired, 3);
  });
  it('respects max', () => assert.equal(predictive({ maxInstances: 6 }).decide(obs({}), forecastOf([5000, 5000, 5000])).reason, 'max_instances'));
});

describe('HybridStrategy', () => {
  it('takes the larger of predictive and reactive, and says which drove it', () => {
    const h = new HybridStrategy(predictive(), reactive());
    const up = h.decide(obs({ utilization: 0.6 }), forecastOf([900, 900, 900]));
    assert.equal(up.desired, 9);
    assert.equal(up.driver, 'predictive');
    const h2 = new HybridStrategy(predictive(), reactive());
    const r = h2.decide(obs({ utilization: 0.9 }), forecastOf([100, 100, 100]));
    assert.equal(r.desired, 6);
    assert.equal(r.driver, 'reactive');
    // A fresh predictive strategy holds the current count (4) within its scale-in stabilization window.
    assert.equal(r.numbers.predictiveDesired, 4);
  });
  it('falls back to reactive when there is no forecast', () => {
    const d = new HybridStrategy(predictive(), reactive()).decide(obs({ utilization: 0.3 }));
    assert.equal(d.driver, 'reactive');
  });
});

describe('oracleSchedule', () => {
  const rows: [need: number[], lead: number, min: number, want: number[], note: string][] = [
    [[1, 1, 3, 3, 1, 1, 1, 1, 1, 1], 2, 1, [3, 3, 3, 3, 1, 1, 1, 1, 1, 1], 'a peak is requested lead seconds before (clipped at the start)'],
    [[1, 1, 1, 1, 1, 2, 2, 1, 1, 1], 2, 1, [1, 1, 1, 2, 2, 2, 2, 1, 1, 1], 'a later peak starts exactly lead seconds early'],
    [[2, 1, 1, 2, 1, 1, 1, 1, 1, 1], 2, 1, [2, 2, 2, 2, 1, 1, 1, 1, 1, 1], 'a gap no longer than the lead time is bridged'],
    [[2, 1, 1, 1, 1, 2, 1, 1, 1, 1], 2, 1, [2, 1, 1, 2, 2, 2, 1, 1, 1, 1], 'a longer gap is released and restarted'],
    [[0, 0, 0, 0], 2, 2, [2, 2, 2, 2], 'min instances always run'],
  ];
  for (const [need, lead, min, want, note] of rows) it(note, () => assert.deepEqual(Array.from(oracleSchedule(need, lead, min)), want));
  it('keeps need[t] instances alive through [t - lead, t], so they are warm at t', () => {
    const need = Array.from({ length: 2000 }, (_, i) => 1 + Math.round(5 + 5 * Math.sin(i / 37) + ((i * 7919) % 5)));
    const lead = 30;
    const s = oracleSchedule(need, lead, 1);
    for (let t = 0; t < need.length; t++) {
      let alive = Number.POSITIVE_INFINITY;
      for (let k = Math.max(0, t - lead); k <= t; k++) alive = Math.min(alive, s[k] as number);
      assert.ok(alive >= (need[t] as number), `t=${t}: ${alive} < ${need[t]}`);
    }
  });
  it('OracleStrategy replays the schedule', () => {
    const o = new OracleStrategy(Int32Array.from([1, 2, 3]), 100);
    assert.equal(o.decide(obs({ now: 101 })).desired, 2);
    assert.equal(o.decide(obs({ now: 500 })).desired, 3);
  });
});

describe('boundDecision', () => {
  const b: ActionBounds = { minInstances: 2, maxInstances: 10, maxStepUp: 3, maxStepDown: 2, cooldownUpSeconds: 60, cooldownDownSeconds: 120 };
  const d = (desired: number) => ({ strategy: 'predictive' as const, at: 1000, current: 5, desired, reason: 'forecast_peak' as const, numbers: {} });
  const rows: [desired: number, o: Partial<Observation>, h: typeof NO_HISTORY, want: number, reason: string, note: string][] = [
    [6, {}, NO_HISTORY, 6, 'forecast_peak', 'inside every bound: unchanged'],
    [12, {}, NO_HISTORY, 8, 'max_step', 'step up capped at +3'],
    [1, {}, NO_HISTORY, 3, 'max_step', 'step down capped at -2'],
    [4, { metricsFresh: false }, NO_HISTORY, 5, 'missing_metrics_hold', 'no scale-in on stale metrics'],
    [7, { metricsFresh: false }, NO_HISTORY, 7, 'forecast_peak', 'stale metrics do not block a scale-up'],
    [7, {}, { lastUpAt: 970, lastChangeAt: 970 }, 5, 'cooldown', 'scale-up within 60 s of the last one'],
    [4, {}, { lastUpAt: -Infinity, lastChangeAt: 900 }, 5, 'cooldown', 'scale-down within 120 s of the last action'],
    [4, {}, { lastUpAt: -Infinity, lastChangeAt: 800 }, 4, 'forecast_peak', 'cool-down over'],
  ];
  for (const [desired, o, h, want, reason, note] of rows) {
    it(note, () => {
      const out = boundDecision(d(desired), obs({ now: 1000, current: 5, ...o }), b, h);
      assert.equal(out.desired, want);
      assert.equal(out.reason, reason);
    });
  }
  it('clamps to min and max', () => {
    assert.equal(boundDecision(d(1), obs({ now: 1000, current: 2 }), b, NO_HISTORY).reason, 'min_instances');
    assert.equal(boundDecision(d(11), obs({ now: 1000, current: 9 }), b, NO_HISTORY).reason, 'max_instances');
  });
  it('records actions', () => {
    const h = recordAction(NO_HISTORY, 50, 2, 4);
    assert.deepEqual(h, { lastUpAt: 50, lastChangeAt: 50 });
    assert.deepEqual(recordAction(h, 90, 4, 3), { lastUpAt: 50, lastChangeAt: 90 });
    assert.equal(recordAction(h, 90, 4, 4), h);
  });
  it('every reason has an explanation', () => {
    for (const [k, v] of Object.entries(REASONS)) assert.ok(v.length > 10, k);
  });
});
