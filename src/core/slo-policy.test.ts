// Unit tests: the SLO policy (src/core/slo-policy.ts): its sliding histogram, the budget-driven risk,
// calibration on resolved errors, the choice of predictor and the restart-cost hold on scale-in.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Forecast } from './forecast.js';
import { DailyPeaks, ErrorsByHour, SloCalibrator, SloPolicyStrategy, SlidingHistogram, type SloPolicySettings } from './slo-policy.js';
import type { Observation } from './strategy.js';

const settings = (o: Partial<SloPolicySettings> = {}): SloPolicySettings => ({
  minInstances: 1,
  maxInstances: 100,
  perInstanceRps: 100,
  leadTimeSeconds: 120,
  periodSeconds: 15,
  attainment: 0.999,
  calibrationSeconds: 86_400,
  adaptRate: 0.0005,
  adaptDecaySeconds: 0,
  riskLevelExponent: 0,
  coldMargin: 0.3,
  scaleInHoldLeads: 1,
  ...o,
});
const obs = (o: Partial<Observation>): Observation => ({ now: 0, current: 4, ready: 4, utilization: 0.5, demandRps: 300, metricsFresh: true, ...o });

describe('SlidingHistogram', () => {
  const cases: { name: string; values: number[]; tail: number; want: number }[] = [
    { name: 'the largest value at tail 0', values: [0, 0.5, 1], tail: 0, want: 1 },
    { name: 'one of ten above at tail 0.1', values: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], tail: 0.1, want: 0.8 },
    { name: 'tail 0.15 still allows one above', values: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], tail: 0.15, want: 0.8 },
    { name: 'negative errors (over-prediction)', values: [-1, -0.5, -0.25], tail: 0, want: -0.25 },
    { name: 'values past the range are clamped to its ends', values: [500], tail: 0, want: -6 + 2047 * 0.006 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const h = new SlidingHistogram(100);
      c.values.forEach((v, i) => h.add(i, v));
      // Values are kept to the nearest bin (0.006 wide).
      assert.ok(Math.abs(h.upperQuantile(c.tail) - c.want) <= 0.003 + 1e-9, `${h.upperQuantile(c.tail)} vs ${c.want}`);
    });
  }
  it('forgets values older than the window and past its capacity', () => {
    const h = new SlidingHistogram(3);
    [5, 1, 2, 3].forEach((v, i) => h.add(i, v));
    assert.equal(h.count, 3);
    assert.ok(Math.abs(h.upperQuantile(0) - 3) <= 0.003, 'the 5 fell out of the ring');
    h.expire(3);
    assert.equal(h.count, 1);
    assert.ok(Math.abs(h.upperQuantile(0) - 3) <= 0.003);
  });
  it('is empty: NaN', () => assert.ok(Number.isNaN(new SlidingHistogram(4).upperQuantile(0.1))));
});

describe('SlidingHistogram with two series (an error\'s log-ratio and difference sharing one ring of times)', () => {
  const ABS = { min: -20, width: 0.1 };
  const rows: { name: string; pairs: [number, number][]; capacity: number; expireAt: number; tail: number }[] = [
    { name: 'both series, nothing dropped', pairs: [[0.1, 5], [0.2, -3], [0.3, 1], [0.4, 2]], capacity: 10, expireAt: 0, tail: 0.25 },
    { name: 'the oldest pair falls out of the ring from both', pairs: [[5, 100], [0.1, 1], [0.2, 2], [0.3, 3]], capacity: 3, expireAt: 0, tail: 0 },
    { name: 'expiry drops a pair from both', pairs: [[4, 90], [3, 80], [0.1, 1], [0.2, 2]], capacity: 10, expireAt: 2, tail: 0 },
  ];
  for (const r of rows) {
    it(`${r.name}: each series as a histogram of its own`, () => {
      const pair = new SlidingHistogram(r.capacity, undefined, ABS);
      const xs = new SlidingHistogram(r.capacity);
      const ys = new SlidingHistogram(r.capacity, ABS);
      r.pairs.forEach(([x, y], i) => {
        pair.add(i, x, y);
        xs.add(i, x);
        ys.add(i, y);
      });
      for (const h of [pair, xs, ys]) h.expire(r.expireAt);
      assert.equal(pair.count, xs.count);
      assert.equal(pair.upperQuantile(r.tail), xs.upperQuantile(r.tail));
      assert.equal(pair.upperQuantile(r.tail, true), ys.upperQuantile(r.tail));
      assert.equal(SlidingHistogram.upperQuantileOf([pair, pair], r.tail, true), SlidingHistogram.upperQuantileOf([ys, ys], r.tail));
    });
  }
  it('reading a second series from a histogram of one is a plain error', () => {
    const one = new SlidingHistogram(4);
    one.add(0, 1);
    assert.throws(() => one.upperQuantile(0, true), /second series was read from a histogram of one series/);
    assert.throws(() => SlidingHistogram.upperQuantileOf([one], 0, true), /second series/);
  });
  it('counts beyond 16 bits when its capacity does', () => {
    const h = new SlidingHistogram(70_000, undefined, ABS);
    for (let i = 0; i < 66_000; i++) h.add(i, 0, 0);
    h.add(66_000, 1, 1);
    assert.equal(h.count, 66_001);
    // 66,000 values at 0 and one at 1: the quantile at tail 0 is the 1, one just below it is the 0s.
    assert.ok(Math.abs(h.upperQuantile(0) - 1) <= 0.003);
    assert.ok(Math.abs(h.upperQuantile(2 / 66_001)) <= 0.003);
    assert.ok(Math.abs(h.upperQuantile(2 / 66_001, true)) <= 0.05);
  });
});

describe('SlidingHistogram.upperQuantileOf: the quantile of several histograms together', () => {
  const rows: { name: string; parts: number[][]; tail: number }[] = [
    { name: 'two halves of ten values, tail 0.1', parts: [[0, 0.2, 0.4, 0.6, 0.8], [0.1, 0.3, 0.5, 0.7, 0.9]], tail: 0.1 },
    { name: 'one empty part, tail 0', parts: [[], [1, 2, 3]], tail: 0 },
    { name: 'three uneven parts, tail 0.25', parts: [[-1], [0.5, 0.25], [3, 2, 1, 0]], tail: 0.25 },
  ];
  for (const r of rows) {
    it(`${r.name}: as one histogram of all the values`, () => {
      const all = new SlidingHistogram(100);
      const parts = r.parts.map((values) => {
        const h = new SlidingHistogram(100);
        values.forEach((v, i) => {
          h.add(i, v);
          all.add(i, v);
        });
        return h;
      });
      assert.equal(SlidingHistogram.upperQuantileOf(parts, r.tail), all.upperQuantile(r.tail));
    });
  }
  it('all empty: NaN', () => assert.ok(Number.isNaN(SlidingHistogram.upperQuantileOf([new SlidingHistogram(4), new SlidingHistogram(4)], 0))));
});

describe('ErrorsByHour (step 3): errors by the hour of the day, read over the hour and the hours either side', () => {
  const DAY = 86_400;
  const H = 3600;
  // One value per 15 s for `days` days: 1 in the hour from 03:00, 0 elsewhere; read at `at` with tail 0.
  const rows: { name: string; days: number; value?: (t: number) => number; at: number; want: number; count?: number }[] = [
    { name: 'at 03:30 after four days: the hour of the bursts', days: 4, at: 4 * DAY + 3.5 * H, want: 1 },
    { name: 'at 04:59: its hour reads 03:00-05:59, so the bursts are seen', days: 4, at: 4 * DAY + 4.99 * H, want: 1 },
    { name: 'at 05:00: 04:00-06:59, no burst', days: 4, at: 4 * DAY + 5 * H, want: 0 },
    { name: 'at noon: no burst', days: 4, at: 4 * DAY + 12 * H, want: 0 },
    { name: 'across midnight: a burst at 23:00 is seen from 00:30', days: 4, value: (t) => (Math.floor((t % DAY) / H) === 23 ? 1 : 0), at: 4 * DAY + 0.5 * H, want: 1 },
    { name: 'fewer than three days of errors: none (the pooled ones are used)', days: 2.9, at: 2.9 * DAY, want: Number.NaN, count: 0 },
    { name: 'a week kept: bursts that stopped eight days ago are gone', days: 12, value: (t) => (t < 4 * DAY && Math.floor((t % DAY) / H) === 3 ? 1 : 0), at: 12 * DAY + 3.5 * H, want: 0 },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const h = new ErrorsByHour(15);
      const value = r.value ?? ((t: number) => (Math.floor((t % DAY) / H) === 3 ? 1 : 0));
      // The same value as a log-ratio and as a difference (in instances: 0.1 wide bins).
      for (let t = 0; t < r.days * DAY; t += 15) h.add(t, value(t), 10 * value(t));
      h.quantilesAt(r.at, 0);
      if (Number.isNaN(r.want)) assert.ok(Number.isNaN(h.ratio) && Number.isNaN(h.difference), `${h.ratio} ${h.difference}`);
      else {
        assert.ok(Math.abs(h.ratio - r.want) <= 0.003, `${h.ratio} vs ${r.want}`);
        assert.ok(Math.abs(h.difference - 10 * r.want) <= 0.05, `${h.difference} vs ${10 * r.want}`);
      }
      if (r.count !== undefined) assert.equal(h.countAt(r.at), r.count);
    });
  }
  it('holds a week of each hour: 7 x 240 values at a 15 s period, three hours read', () => {
    const h = new ErrorsByHour(15);
    for (let t = 0; t < 10 * DAY; t += 15) h.add(t, 0, 0);
    assert.equal(h.countAt(10 * DAY), 3 * 7 * 240);
  });
});

describe('DailyPeaks (step 2): the typical peak of a window at its time of day over the last week', () => {
  const DAY = 86_400;
  // Observations every 5 minutes for `days` days at rate(t); then peak(from, to, tolerance).
  const job = (offset: (day: number) => number, on: (day: number) => boolean = () => true) => (t: number): number => {
    const day = Math.floor(t / DAY);
    const at = day * DAY + 3 * 3600 + offset(day);
    return on(day) && t >= at && t < at + 300 ? 1000 : 100;
  };
  const rows: { name: string; days: number; rate: (t: number) => number; skip?: (day: number) => boolean; from: number; tolerance: number; want: number }[] = [
    { name: 'a job at 03:00 every day: its rate at 03:00 on the next day', days: 5, rate: job(() => 0), from: 5 * DAY + 3 * 3600, tolerance: 900, want: 1000 },
    { name: 'the same job seen from noon: the floor', days: 5, rate: job(() => 0), from: 5 * DAY + 12 * 3600, tolerance: 900, want: 100 },
    { name: 'a job that drifts by 40 minutes a day: outside 15 minutes either side on most days', days: 5, rate: job((d) => (d % 2 ? 2400 : -2400)), from: 5 * DAY + 3 * 3600, tolerance: 900, want: 100 },
    { name: 'the same drift inside two hours either side: seen', days: 5, rate: job((d) => (d % 2 ? 2400 : -2400)), from: 5 * DAY + 3 * 3600, tolerance: 7200, want: 1000 },
    { name: 'a job that ran on one day of five: the upper median is the floor', days: 5, rate: job(() => 0, (d) => d === 2), from: 5 * DAY + 3 * 3600, tolerance: 900, want: 100 },
    { name: 'on three days of five: the upper median is the job', days: 5, rate: job(() => 0, (d) => d % 2 === 0), from: 5 * DAY + 3 * 3600, tolerance: 900, want: 1000 },
    { name: 'fewer than three days observed: none', days: 2, rate: job(() => 0), from: 2 * DAY + 3 * 3600, tolerance: 900, want: Number.NaN },
    { name: 'days missing from the data are skipped, not read as zero', days: 6, rate: job(() => 0), skip: (d) => d === 1 || d === 3, from: 6 * DAY + 3 * 3600, tolerance: 900, want: 1000 },
    { name: 'only the last seven days count: a job that stopped eight days ago is gone', days: 12, rate: job(() => 0, (d) => d < 4), from: 12 * DAY + 3 * 3600, tolerance: 900, want: 100 },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const p = new DailyPeaks();
      for (let t = 0; t < r.days * DAY; t += 300) if (!r.skip?.(Math.floor(t / DAY))) p.observe(t, r.rate(t));
      const got = p.peak(r.from, r.from + 135, r.tolerance);
      if (Number.isNaN(r.want)) assert.ok(Number.isNaN(got), String(got));
      else assert.equal(got, r.want);
    });
  }
});

describe('SloCalibrator: the risk follows the error budget', () => {
  const rows: { name: string; judged: number; violated: number; want: number }[] = [
    // Start 0.01; budget 0.001 per judged minute; rate 0.0005 (log space).
    { name: '1000 good minutes: x e^(0.0005 x 1000)', judged: 1000, violated: 0, want: 0.01 * Math.exp(0.5) },
    { name: 'one violation in 1 minute: x e^(0.0005 x (1 - 1000))', judged: 1, violated: 1, want: 0.01 * Math.exp(0.0005 * (1 - 1000)) },
    { name: 'exactly on budget: unchanged', judged: 1000, violated: 1, want: 0.01 },
    { name: 'many violations: floored at 0.0005 (never the extreme tail)', judged: 10, violated: 10, want: 0.0005 },
    { name: 'a long quiet stretch: capped at 0.3', judged: 100_000, violated: 0, want: 0.3 },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const c = new SloCalibrator(settings({ adaptRate: 0.0005 }), 0.01);
      c.observeSlo(0, 0);
      c.observeSlo(r.judged, r.violated);
      assert.ok(Math.abs(c.risk - r.want) < 1e-12, `${c.risk} vs ${r.want}`);
    });
  }
  const decay: { name: string; decaySeconds: number; minutes: number; restored?: number; want: number }[] = [
    // adaptRate 0.0005; the full rate over the first 10 judged minutes, then sqrt(10 / minutes), never below a fifth.
    { name: 'no decay (0): always adaptRate', decaySeconds: 0, minutes: 100_000, want: 0.0005 },
    { name: 'within the decay time: adaptRate', decaySeconds: 600, minutes: 10, want: 0.0005 },
    { name: 'four times the decay time: half', decaySeconds: 600, minutes: 40, want: 0.00025 },
    { name: 'a hundred times: floored at a fifth', decaySeconds: 600, minutes: 1000, want: 0.0001 },
    { name: 'a restart restores how long it had adapted', decaySeconds: 600, minutes: 0, restored: 90, want: 0.0005 * Math.sqrt(10 / 90) },
  ];
  for (const r of decay) {
    it(`the rate decays: ${r.name}`, () => {
      const c = new SloCalibrator(settings({ adaptRate: 0.0005, adaptDecaySeconds: r.decaySeconds }), 0.01);
      if (r.restored !== undefined) c.restoreRisk(0.01, r.restored);
      c.observeSlo(0, 0);
      for (let m = 1; m <= r.minutes; m++) c.observeSlo(m, 0);
      assert.equal(c.adaptedMinutes, r.minutes + (r.restored ?? 0));
      assert.ok(Math.abs(c.adaptRateNow() - r.want) < 1e-15, `${c.adaptRateNow()} vs ${r.want}`);
    });
  }
  it('a decayed rate moves the risk less: one violated minute after 1000 minutes divides it by e^(0.0001 x 999), not e^(0.0005 x 999)', () => {
    const c = new SloCalibrator(settings({ adaptRate: 0.0005, adaptDecaySeconds: 600 }), 0.01);
    c.observeSlo(0, 0);
    for (let m = 1; m <= 999; m++) c.observeSlo(m, 0);
    const before = c.risk;
    c.observeSlo(1000, 1);
    assert.ok(Math.abs(c.risk - before * Math.exp(0.0001 * (1 - 1000))) < 1e-12, `${c.risk}`);
  });
  it('absent counters (nothing judges the SLO) leave the risk alone; a counter reset is not a violation', () => {
    const c = new SloCalibrator(settings(), 0.01);
    c.observeSlo(undefined, undefined);
    c.observeSlo(100, 5);
    c.observeSlo(0, 0);
    assert.equal(c.risk, 0.01);
  });
});

describe('SloPolicyStrategy', () => {
  describe('the risk taken follows the level (riskLevelExponent)', () => {
    // A day at 100 req/s sets the mean; the budget's risk starts at 0.01.
    const rows: { name: string; exponent: number; predicted: number; want: number }[] = [
      { name: 'exponent 0: the budget\'s risk at every level', exponent: 0, predicted: 400, want: 0.01 },
      { name: 'at the mean: the budget\'s risk', exponent: -0.5, predicted: 100, want: 0.01 },
      { name: 'four times the mean, exponent -0.5: half the risk', exponent: -0.5, predicted: 400, want: 0.005 },
      { name: 'a quarter of the mean, exponent -0.5: twice the risk', exponent: -0.5, predicted: 25, want: 0.02 },
      { name: 'exponent +1, twice the mean: twice the risk', exponent: 1, predicted: 200, want: 0.02 },
      { name: 'far above the mean: floored at 0.0005', exponent: -1, predicted: 1e6, want: 0.0005 },
      { name: 'far below: the level counts from the floor rate (a twentieth of an instance, 5 req/s)', exponent: -1, predicted: 1, want: 0.2 },
      { name: 'capped at 0.3', exponent: -2, predicted: 10, want: 0.3 },
    ];
    for (const r of rows) {
      it(r.name, () => {
        const st = new SloPolicyStrategy(settings({ riskLevelExponent: r.exponent }), 0.01);
        for (let t = 0; t <= 86_400; t += 15) st.decide(obs({ now: t, demandRps: 100 }));
        assert.ok(Math.abs(st.riskFor(r.predicted) - r.want) < 1e-9, `${st.riskFor(r.predicted)} vs ${r.want}`);
      });
    }
    it('the mean follows the demand over about a day: a step from 100 to 300 req/s is 1 - 1/e of the way after a day', () => {
      const st = new SloPolicyStrategy(settings({ riskLevelExponent: -1 }), 0.01);
      for (let t = 0; t <= 86_400; t += 15) st.decide(obs({ now: t, demandRps: 100 }));
      let d = st.decide(obs({ now: 86_415, demandRps: 300 }));
      for (let t = 86_430; t <= 2 * 86_400; t += 15) d = st.decide(obs({ now: t, demandRps: 300 }));
      const mean = d.numbers.meanRps as number;
      assert.ok(Math.abs(mean - (300 - 200 * Math.exp(-1))) < 1, String(mean));
      assert.ok(d.numbers.riskTaken !== undefined && Math.abs((d.numbers.riskTaken as number) - st.calibrator.risk * (mean / (d.numbers.predictedRps as number))) < 1e-9, JSON.stringify(d.numbers));
    });
  });
  it('asks for the observed rate plus the cold margin until errors are known (slo_calibrating)', () => {
    const d = new SloPolicyStrategy(settings()).decide(obs({ demandRps: 300 }));
    assert.equal(d.reason, 'slo_calibrating');
    assert.equal(d.desired, Math.ceil((300 * 1.3) / 100));
  });
  describe('blind (step 7: metrics missing or stale)', () => {
    // Two days of a sawtooth decided every 15 s (200 req/s, 400 for the last 3 of every 10 minutes), the
    // forecast (when given) knowing it; then the metrics stop 15 s into a trough.
    const saw = (t: number): number => (t % 600 >= 420 ? 400 : 200);
    // An hourly ramp from 100 to 1000 req/s over 10 minutes from minute 30.
    const ramp = (t: number): number => 100 + 900 * Math.min(1, Math.max(0, ((t % 3600) - 1800) / 600));
    const fcOf = (rate: (t: number) => number): Forecast => ({ model: 'test', start: 0, step: 60, level: 0.8, mean: Float64Array.from({ length: 3 * 1440 }, (_, i) => rate(i * 60 + 30)), lower: new Float64Array(3 * 1440), upper: new Float64Array(3 * 1440) });
    const cases: { name: string; rate?: (t: number) => number; forecast?: boolean; last: number; at: number; current: number; reason: string; min: number; max: number }[] = [
      { name: 'nothing observed yet: hold', last: 0, at: 0, current: 7, reason: 'missing_metrics_hold', min: 7, max: 7 },
      { name: 'a pool sized for the trough (2) scales out for the recent peak (400 req/s and its error)', rate: saw, last: 2 * 86_400 + 15, at: 2 * 86_400 + 30, current: 2, reason: 'missing_metrics_forecast', min: 4, max: 8 },
      { name: 'a pool above what the recent peak needs: hold, never a scale-in', rate: saw, last: 2 * 86_400 + 15, at: 2 * 86_400 + 30, current: 20, reason: 'missing_metrics_hold', min: 20, max: 20 },
      { name: 'blind at the foot of a ramp the forecast knows: scales out for the forecast along the level (the recent peak is 100 req/s)', rate: ramp, forecast: true, last: 2 * 86_400 + 1785, at: 2 * 86_400 + 1800, current: 1, reason: 'missing_metrics_forecast', min: Math.ceil(ramp(1800 + 120) / 100), max: 10 },
      { name: 'the same, later into the outage: the forecast carries the pool up the ramp', rate: ramp, forecast: true, last: 2 * 86_400 + 1785, at: 2 * 86_400 + 2100, current: 3, reason: 'missing_metrics_forecast', min: Math.ceil(ramp(2100 + 120) / 100), max: 15 },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const st = new SloPolicyStrategy(settings());
        const fc = c.rate && c.forecast ? fcOf(c.rate) : undefined;
        let d: ReturnType<SloPolicyStrategy['decide']> | undefined;
        for (let t = 0; c.rate && t <= c.last; t += 15) d = st.decide(obs({ now: t, demandRps: c.rate(t), current: d?.desired ?? 1 }), fc);
        const blind = st.decide(obs({ now: c.at, metricsFresh: false, demandRps: Number.NaN, current: c.current }), fc);
        assert.equal(blind.reason, c.reason, JSON.stringify(blind.numbers));
        assert.ok(blind.desired >= c.min && blind.desired <= c.max, `${blind.desired} not in [${c.min}, ${c.max}]: ${JSON.stringify(blind.numbers)}`);
        if (c.reason === 'missing_metrics_forecast') assert.ok(Number.isFinite(blind.numbers.boundRps) && Number.isFinite(blind.numbers.recentPeakRps), JSON.stringify(blind.numbers));
      });
    }
  });
  describe('blind episodes scored (step 7): a gap after which demand returns higher is learnt', () => {
    // Cycles of 20 minutes decided every 15 s: 200 req/s for 10 minutes, 5 minutes of no metrics, then
    // 400 req/s for a minute and 200 again. The recent long peak when the data stops (the last 9 minutes)
    // is 200, and no regular prediction's window reaches across the gap: only the blind episodes' scores
    // (the peak of the first window after the data returned, against the peak held through the gap) say
    // that demand comes back at twice the level.
    const rate = (t: number): number => (t % 1200 >= 900 && t % 1200 < 960 ? 400 : 200);
    const gap = (t: number): boolean => t % 1200 >= 600 && t % 1200 < 900;
    const cases: { name: string; cycles: number; learnt: boolean; min: number; max: number }[] = [
      { name: 'too few episodes scored (5 < 12): the recent peak and its errors only', cycles: 6, learnt: false, min: 2, max: 3 },
      { name: '19 episodes scored: the pool is sized for the return at twice the level', cycles: 20, learnt: true, min: 4, max: 5 },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const st = new SloPolicyStrategy(settings());
        let current = 2;
        let last: ReturnType<SloPolicyStrategy['decide']> | undefined;
        for (let t = 0; t < (c.cycles - 1) * 1200 + 615; t += 15) {
          const blind = gap(t);
          last = st.decide(obs({ now: t, metricsFresh: !blind, demandRps: blind ? Number.NaN : rate(t), current }));
          // The pool is back at 2 before every gap, as a pool sized for 200 req/s would be.
          current = t % 1200 === 585 ? 2 : last.desired;
        }
        assert.ok(last);
        assert.equal(last.numbers.blindSamples, c.cycles - 1, JSON.stringify(last.numbers));
        assert.equal(Number.isFinite(last.numbers.blindBoundRps), c.learnt, JSON.stringify(last.numbers));
        assert.ok(last.desired >= c.min && last.desired <= c.max, `${last.desired} not in [${c.min}, ${c.max}]: ${JSON.stringify(last.numbers)}`);
        if (c.learnt) assert.ok(Math.abs((last.numbers.blindBoundRps as number) - 400) < 10, JSON.stringify(last.numbers));
      });
    }
    // A restart (step 8): the recorded demand has holes where the metrics were missing (the loop records
    // nothing then). Replayed with the loop's staleness, each hole longer than it is an episode again.
    const restarts: { name: string; staleSeconds?: number; samples: number; learnt: boolean }[] = [
      { name: 'a restart replays the holes as blind episodes: the 19 are known again', staleSeconds: 60, samples: 19, learnt: true },
      { name: 'holes shorter than the staleness are not episodes', staleSeconds: 600, samples: 0, learnt: false },
      { name: 'without the staleness the holes are skipped (as before)', samples: 0, learnt: false },
    ];
    for (const r of restarts) {
      it(r.name, () => {
        const history: { at: number; rps: number }[] = [];
        for (let t = 0; t < 19 * 1200 + 600; t += 15) if (!gap(t)) history.push({ at: t, rps: rate(t) });
        const st = new SloPolicyStrategy(settings());
        assert.deepEqual(st.warmStart(history, r.staleSeconds !== undefined ? { staleSeconds: r.staleSeconds } : {}), { replayed: history.length, blind: r.samples });
        const d = st.decide(obs({ now: 19 * 1200 + 615, metricsFresh: false, demandRps: Number.NaN, current: 2 }));
        assert.equal(d.numbers.blindSamples, r.samples, JSON.stringify(d.numbers));
        assert.equal(Number.isFinite(d.numbers.blindBoundRps), r.learnt, JSON.stringify(d.numbers));
        if (r.learnt) assert.ok(d.desired >= 4, JSON.stringify(d.numbers));
      });
    }
  });
  it('the count kept blind is held one lead time after the data returns (step 6), then released', () => {
    const st = new SloPolicyStrategy(settings());
    const saw = (t: number): number => (t % 600 >= 420 ? 350 : 175);
    let d = st.decide(obs({ now: 0, demandRps: saw(0), current: 1 }));
    for (let t = 15; t <= 2 * 86_400; t += 15) d = st.decide(obs({ now: t, demandRps: saw(t), current: d.desired }));
    // Blind 15 s into a trough with 8 instances, more than the recent peak needs: it holds 8.
    const gapAt = 2 * 86_400 + 30;
    const blind = st.decide(obs({ now: gapAt, metricsFresh: false, demandRps: Number.NaN, current: 8 }));
    assert.deepEqual([blind.desired, blind.reason], [8, 'missing_metrics_hold']);
    // Back at 175 req/s, where 4 are asked for (the recent peak of 350, with its noise margin): the 8 held
    // blind are kept for one lead time (120 s) after that blind decision, then released. Before, the counts
    // asked while seeing were the only ones held, and the pool fell to 4 at once.
    const rows: { after: number; desired: number; reason: string }[] = [
      { after: 15, desired: 8, reason: 'scale_in_stabilization' },
      { after: 120, desired: 8, reason: 'scale_in_stabilization' },
      { after: 150, desired: 4, reason: 'slo_forecast' },
    ];
    let current = 8;
    for (const r of rows) {
      const back = st.decide(obs({ now: gapAt + r.after, demandRps: 175, current }));
      assert.deepEqual([back.desired, back.reason], [r.desired, r.reason], `at +${r.after} s: ${JSON.stringify(back.numbers)}`);
      current = back.desired;
    }
  });
  it('regression: a spike over an idle floor does not multiply a high level (the absolute bound caps the relative one)', () => {
    const st = new SloPolicyStrategy(settings({ maxInstances: 1000 }));
    let d = st.decide(obs({ now: 0, demandRps: 1 }));
    // Idle at 1 req/s with a 600 req/s spike of two decisions every 10 minutes (more often than the risk), for two days.
    const rate = (t: number): number => (t % 600 === 300 || t % 600 === 315 ? 600 : 1);
    for (let t = 15; t <= 2 * 86_400; t += 15) d = st.decide(obs({ now: t, demandRps: rate(t), current: d.desired }));
    // During a spike the ratios learnt at 1 req/s (x600) would ask for 3600 instances; the differences
    // learnt (+600 req/s) ask for about 12.
    st.decide(obs({ now: 2 * 86_400 + 300, demandRps: 600, current: d.desired }));
    const spike = st.decide(obs({ now: 2 * 86_400 + 315, demandRps: 600, current: d.desired }));
    assert.ok(spike.desired <= 20, JSON.stringify(spike.numbers));
  });
  describe('warm start (a restarted control plane resumes)', () => {
    // Six hours of a sawtooth recorded every 15 s: 200 req/s, 400 for the last 3 of every 10 minutes.
    const rate = (t: number): number => (t % 600 >= 420 ? 400 : 200);
    const history = Array.from({ length: (6 * 3600) / 15 }, (_, k) => ({ at: k * 15, rps: rate(k * 15) }));
    const rows: { name: string; history: { at: number; rps: number }[]; risk?: number; replayed: number; reason: string; risk2?: number }[] = [
      { name: 'nothing recorded: calibrates from nothing', history: [], replayed: 0, reason: 'slo_calibrating' },
      { name: 'six hours replayed: calibrated at once', history, replayed: history.length, reason: 'slo_forecast' },
      { name: 'the risk the last run reached is restored', history, risk: 0.002, replayed: history.length, reason: 'slo_forecast', risk2: 0.002 },
      { name: 'a risk out of range is clamped like any other', history, risk: 5, replayed: history.length, reason: 'slo_forecast', risk2: 0.3 },
      { name: 'points closer than half a period and non-finite ones are skipped', history: history.flatMap((h) => [h, { at: h.at + 1, rps: h.rps }, { at: h.at + 2, rps: Number.NaN }]), replayed: history.length, reason: 'slo_forecast' },
    ];
    for (const r of rows) {
      it(r.name, () => {
        const st = new SloPolicyStrategy(settings());
        assert.equal(st.warmStart(r.history, r.risk !== undefined ? { risk: r.risk } : {}).replayed, r.replayed);
        const d = st.decide(obs({ now: 6 * 3600 + 15, demandRps: 200, current: 2 }));
        assert.equal(d.reason, r.reason, JSON.stringify(d.numbers));
        if (r.risk2 !== undefined) assert.ok(Math.abs(st.calibrator.risk - r.risk2) < 1e-12, String(st.calibrator.risk));
      });
    }
    it('after a replay the bound covers the peaks the history had (the restart does not under-provision)', () => {
      const st = new SloPolicyStrategy(settings());
      st.warmStart(history);
      // At 200 req/s just before the 400 req/s part of the cycle, the window ahead holds the jump.
      const d = st.decide(obs({ now: 6 * 3600 + 405, demandRps: 200, current: 3 }));
      assert.ok(d.desired >= 4, JSON.stringify(d.numbers));
    });
  });
  it('on a steady rate, calibrates to almost no margin: the count the rate needs', () => {
    const st = new SloPolicyStrategy(settings());
    let d = st.decide(obs({ now: 0 }));
    for (let t = 15; t <= 6 * 3600; t += 15) d = st.decide(obs({ now: t, demandRps: 310, current: d.desired }));
    assert.equal(d.reason, 'slo_forecast');
    assert.equal(d.desired, 4, JSON.stringify(d.numbers));
  });
  it('a rate that doubles every few minutes is covered: the bound carries the errors it saw', () => {
    const st = new SloPolicyStrategy(settings());
    let d = st.decide(obs({ now: 0 }));
    // A sawtooth: 200 req/s, then 400 for the last 3 of every 10 minutes.
    const rate = (t: number): number => (t % 600 >= 420 ? 400 : 200);
    for (let t = 15; t <= 12 * 3600 + 60; t += 15) d = st.decide(obs({ now: t, demandRps: rate(t), current: d.desired }));
    // At minute 1 of a cycle, with the jump 6 minutes away (beyond the lead time), 4 instances carry it.
    assert.ok(d.desired >= 2);
    const early = st.decide(obs({ now: 12 * 3600 + 300, demandRps: 200, current: d.desired }));
    // 5 minutes in: the window [now, now + 135 s] reaches the jump at 7 minutes: 400 req/s must be covered.
    assert.ok(early.desired >= 4, JSON.stringify(early.numbers));
  });
  it('a scale-in goes no lower than the counts of the hold window (one lead time by default)', () => {
    const st = new SloPolicyStrategy(settings(), 0.3);
    assert.equal(st.holdSeconds(), 120);
    st.decide(obs({ now: 0, demandRps: 900, current: 12 }));
    const d = st.decide(obs({ now: 15, demandRps: 100, current: 12 }));
    assert.deepEqual([d.desired, d.reason], [12, 'scale_in_stabilization']);
    const after = st.decide(obs({ now: 200, demandRps: 100, current: 12 }));
    assert.ok(after.desired < 12, `after the lead time the drop acts: ${after.desired}`);
  });
  describe('a scale-in keeps the second-by-second noise of the bound (step 6): sqrt(rate) at the risk taken', () => {
    // 100 req/s per instance, a steady rate (the bound calibrates to the rate itself), 2 instances running.
    // z(0.0005) = 3.29, z(0.3) = 0.52: 90 + 3.29 x sqrt(90) = 121 needs 2, 90 + 0.52 x sqrt(90) = 95 needs 1.
    const rows: { name: string; risk: number; rps: number; desired: number; reason: string }[] = [
      { name: 'little budget left, near one instance: both kept', risk: 0.0005, rps: 90, desired: 2, reason: 'scale_in_stabilization' },
      { name: 'budget to spend, the same rate: one released', risk: 0.3, rps: 90, desired: 1, reason: 'slo_forecast' },
      { name: 'little budget left, far below one instance: one released', risk: 0.0005, rps: 50, desired: 1, reason: 'slo_forecast' },
    ];
    for (const r of rows) {
      it(r.name, () => {
        const st = new SloPolicyStrategy(settings(), r.risk);
        for (let t = 0; t <= 6 * 3600; t += 15) st.decide(obs({ now: t, demandRps: r.rps, current: 2 }));
        const d = st.decide(obs({ now: 6 * 3600 + 15, demandRps: r.rps, current: 2 }));
        assert.deepEqual([d.desired, d.reason], [r.desired, r.reason], JSON.stringify(d.numbers));
        assert.ok(Math.abs((d.numbers?.noiseMarginRps ?? 0) - Math.sqrt(r.rps) * (r.risk === 0.3 ? 0.5244 : 3.2905)) < 0.01, JSON.stringify(d.numbers));
      });
    }
    it('regression: the margin never holds more than the pool maximum (a maximum lowered below the pool)', () => {
      const st = new SloPolicyStrategy(settings({ maxInstances: 3 }), 0.0005);
      for (let t = 0; t <= 6 * 3600; t += 15) st.decide(obs({ now: t, demandRps: 420, current: 5 }));
      const d = st.decide(obs({ now: 6 * 3600 + 15, demandRps: 420, current: 5 }));
      assert.deepEqual([d.desired, d.reason], [3, 'max_instances'], JSON.stringify(d.numbers));
    });
  });
  it('the hold is scaleInHoldLeads lead times, whatever the risk', () => {
    const rows: [leads: number, risk: number, hold: number, heldAt60: boolean][] = [
      [0, 0.01, 0, false],
      [0.25, 0.01, 30, false],
      [1, 0.3, 120, true],
      [1, 0.0005, 120, true],
      [3, 0.01, 360, true],
    ];
    for (const [leads, risk, hold, heldAt60] of rows) {
      const st = new SloPolicyStrategy(settings({ scaleInHoldLeads: leads }), risk);
      assert.equal(st.holdSeconds(), hold, `leads ${leads}`);
      st.decide(obs({ now: 0, demandRps: 900, current: 12 }));
      const d = st.decide(obs({ now: 60, demandRps: 100, current: 12 }));
      assert.equal(d.desired === 12 && d.reason === 'scale_in_stabilization', heldAt60, `leads ${leads}: ${d.desired} ${d.reason}`);
    }
  });
  it('a daily job (5 minutes at ten times the floor, within 10 minutes of 03:00): the count is up before it and down at noon', () => {
    const DAY = 86_400;
    const start = (day: number): number => day * DAY + 3 * 3600 + ((day * 7) % 5) * 120 - 240;
    const rate = (t: number): number => {
      const s0 = start(Math.floor(t / DAY));
      return t >= s0 && t < s0 + 300 ? 1000 : 100;
    };
    const st = new SloPolicyStrategy(settings(), 0.001);
    let d = st.decide(obs({ now: 0, demandRps: 100 }));
    const day = 9;
    for (let t = 15; t < day * DAY + 2.5 * 3600; t += 15) d = st.decide(obs({ now: t, demandRps: rate(t), current: d.desired }));
    // Two minutes before the earliest start of the job on day 9, at the floor: the daily peak leads.
    const before = st.decide(obs({ now: day * DAY + 3 * 3600 - 360, demandRps: 100, current: d.desired }));
    assert.equal(before.numbers.predictor, 7, JSON.stringify(before.numbers));
    assert.ok(before.desired >= 10, JSON.stringify(before.numbers));
    const st2 = new SloPolicyStrategy(settings(), 0.001);
    d = st2.decide(obs({ now: 0, demandRps: 100 }));
    for (let t = 15; t < day * DAY + 12 * 3600; t += 15) d = st2.decide(obs({ now: t, demandRps: rate(t), current: d.desired }));
    assert.ok(d.desired <= 2, `at noon the floor's count: ${JSON.stringify(d.numbers)}`);
  });
  it('a burst that drifts over two hours each night (beyond the daily peak\'s 15 minutes) widens the bound at night only, once errors by hour are known', () => {
    const DAY = 86_400;
    // Five minutes at 20x the floor, starting between 02:30 and 04:00 (a different time each night).
    const start = (day: number): number => day * DAY + 2.5 * 3600 + ((day * 37) % 7) * 900;
    const rate = (t: number): number => {
      const s0 = start(Math.floor(t / DAY));
      return t >= s0 && t < s0 + 300 ? 2000 : 100;
    };
    const noonOf = (days: number) => {
      const st = new SloPolicyStrategy(settings({ calibrationSeconds: 2 * DAY }), 0.0005);
      let d = st.decide(obs({ now: 0, demandRps: 100 }));
      for (let t = 15; t < days * DAY + 12 * 3600; t += 15) d = st.decide(obs({ now: t, demandRps: rate(t), current: d.desired }));
      const night = st.decide(obs({ now: days * DAY + DAY + 2.4 * 3600, demandRps: 100, current: 1 }));
      return { noon: d, night };
    };
    // Day 2: the pooled errors of the last two days hold the bursts at noon too.
    const early = noonOf(2);
    assert.equal(early.noon.numbers.hourSamples, 0, JSON.stringify(early.noon.numbers));
    assert.ok(early.noon.desired >= 5, `pooled: ${JSON.stringify(early.noon.numbers)}`);
    // Day 6: noon's hours never saw a burst; the night's did.
    const late = noonOf(6);
    assert.ok((late.noon.numbers.hourSamples as number) > 0, JSON.stringify(late.noon.numbers));
    assert.ok(late.noon.desired <= 2, `by hour, noon: ${JSON.stringify(late.noon.numbers)}`);
    assert.ok(late.night.desired >= 5, `by hour, 02:24: ${JSON.stringify(late.night.numbers)}`);
  });
  it('errors at every other hour but 10:00-14:00 still bound noon: the bound by hour never falls below the pooled errors at four times the risk', () => {
    const DAY = 86_400;
    // Two minutes at 20x the floor in every even hour except 10, 12 and 14 o'clock, at a minute that
    // changes from day to day (no daily job the daily peak would see).
    const rate = (t: number): number => {
      const hour = Math.floor((t % DAY) / 3600);
      const start = 60 * ((Math.floor(t / DAY) * 23 + hour * 7) % 57);
      const inHour = t % 3600;
      return hour % 2 === 0 && (hour < 10 || hour > 14) && inHour >= start && inHour < start + 120 ? 2000 : 100;
    };
    const st = new SloPolicyStrategy(settings({ calibrationSeconds: 2 * DAY }), 0.0005);
    let d = st.decide(obs({ now: 0, demandRps: 100 }));
    for (let t = 15; t < 6 * DAY + 12 * 3600; t += 15) d = st.decide(obs({ now: t, demandRps: rate(t), current: d.desired }));
    // Hours 11-13 never saw a burst; the pooled errors of two days hold 18 of them.
    assert.ok((d.numbers.hourSamples as number) > 0, JSON.stringify(d.numbers));
    assert.ok(d.desired >= 5, `noon: ${JSON.stringify(d.numbers)}`);
  });
  describe('the trend predictors (step 2): the rise over the last window or period, carried to the window end', () => {
    // Decisions every 15 s from t = 0 to `until` at rate(t); then trend(now = until, rate(until), span, 135).
    const rows: { name: string; rate: (t: number) => number; until: number; span: number; want: number }[] = [
      { name: 'a ramp of 2 req/s per second over the window (135 s): 400 + 2 x 135', rate: (t) => 100 + 2 * t, until: 150, span: 135, want: 670 },
      { name: 'the same ramp over one period (15 s)', rate: (t) => 100 + 2 * t, until: 150, span: 15, want: 670 },
      { name: 'the base is the last decision at least a span back: (400 - 100) / 150 s', rate: (t) => 100 + 2 * t, until: 150, span: 140, want: 400 + 2 * 135 },
      { name: 'a rise in the last period only: over the window it is diluted', rate: (t) => (t < 150 ? 300 : 390), until: 150, span: 135, want: 390 + (90 / 135) * 135 },
      { name: 'a rise in the last period only: over one period it is steep', rate: (t) => (t < 150 ? 300 : 390), until: 150, span: 15, want: 390 + 6 * 135 },
      { name: 'a fall predicts the current rate (a trend never lowers the bound below now)', rate: (t) => 1000 - 2 * t, until: 150, span: 135, want: 700 },
      { name: 'less history than the span: none', rate: () => 300, until: 60, span: 135, want: Number.NaN },
    ];
    for (const r of rows) {
      it(r.name, () => {
        const st = new SloPolicyStrategy(settings());
        for (let t = 0; t <= r.until; t += 15) st.decide(obs({ now: t, demandRps: r.rate(t) }));
        const got = st.trend(r.until, r.rate(r.until), r.span, 135);
        if (Number.isNaN(r.want)) assert.ok(Number.isNaN(got), String(got));
        else assert.ok(Math.abs(got - r.want) < 1e-9, `${got} vs ${r.want}`);
      });
    }
    it('on a load that grows for minutes (no forecast), a trend predictor leads and the count covers the window end', () => {
      const st = new SloPolicyStrategy(settings());
      // Every 30 minutes: from 100 req/s, growth by e every 10 minutes, then back to 100. Persistence's
      // relative error is the same at every level; the trend's is a fraction of it. 20 minutes in, mid-growth:
      const rate = (t: number): number => 100 * Math.exp((t % 1800) / 600);
      let d = st.decide(obs({ now: 0, demandRps: rate(0) }));
      const now = 86_400 + 1200;
      for (let t = 15; t < now; t += 15) d = st.decide(obs({ now: t, demandRps: rate(t), current: d.desired }));
      const mid = st.decide(obs({ now, demandRps: rate(now), current: d.desired }));
      assert.ok(mid.numbers.predictor === 5 || mid.numbers.predictor === 6, JSON.stringify(mid.numbers));
      assert.ok(mid.desired >= Math.ceil(rate(now + 135) / 100), JSON.stringify(mid.numbers));
    });
  });
  describe('a known event of declared size ahead (the forecast carries its factors): the bound is at least the forecast\'s', () => {
    // About 300 req/s for six hours with a flat forecast; then a campaign at x4 from 6:05, declared.
    const flat = (factors?: number[]): Forecast => {
      const n = 8 * 60;
      // 2 % up and down minute by minute, so decisions see rising and falling forecasts and calibrate both.
      const f = Float64Array.from({ length: n }, (_, i) => 300 * (i % 2 ? 1.02 : 0.98) * (factors?.[i] ?? 1));
      return { model: 'test', start: 0, step: 60, level: 0.8, mean: f, lower: f.slice(), upper: f.slice(), ...(factors ? { eventFactors: Float64Array.from({ length: n }, (_, i) => factors[i] ?? 1) } : {}) };
    };
    const campaign = Array.from({ length: 8 * 60 }, (_, i) => (i >= 365 && i < 425 ? 4 : 1));
    const run = (f: Forecast, at: number) => {
      const st = new SloPolicyStrategy(settings());
      let d = st.decide(obs({ now: 0 }), f);
      // 290 and 310 in turn, so both directions' errors are calibrated.
      for (let t = 15; t < at; t += 15) d = st.decide(obs({ now: t, demandRps: (t / 15) % 2 ? 290 : 310, current: d.desired }), f);
      return st.decide(obs({ now: at, demandRps: 300, current: d.desired }), f);
    };
    // The first decision whose window (lead time + period, 135 s) reaches 6:05 is at 6:02:45.
    const rows: { note: string; factors?: number[]; at: number; reason: string; desired: [number, number] }[] = [
      { note: 'no event: the steady count', at: 6 * 3600 + 165, reason: 'slo_forecast', desired: [3, 4] },
      // 4 x 300 req/s at 100 each: 12, plus the forecast's error bound (or, before it is calibrated rising, the cold margin: 16).
      { note: 'the campaign starts within the window: capacity for 4 x 300 req/s before it', factors: campaign, at: 6 * 3600 + 165, reason: 'known_event', desired: [12, 16] },
      { note: 'the campaign still beyond the window: nothing yet', factors: campaign, at: 6 * 3600 + 150, reason: 'slo_forecast', desired: [3, 4] },
    ];
    for (const r of rows) {
      it(r.note, () => {
        const d = run(flat(r.factors), r.at);
        assert.equal(d.reason, r.reason, JSON.stringify(d.numbers));
        assert.ok(d.desired >= r.desired[0] && d.desired <= r.desired[1], `${d.desired}: ${JSON.stringify(d.numbers)}`);
        if (r.reason === 'known_event') assert.equal(d.numbers.eventLift, 4);
      });
    }
  });

  it('uses a forecast that predicts a ramp: the seasonal predictors win over persistence', () => {
    const st = new SloPolicyStrategy(settings());
    // Demand ramps every hour from 100 to 1000 over 10 minutes; the forecast knows the shape.
    const rate = (t: number): number => 100 + 900 * Math.min(1, Math.max(0, ((t % 3600) - 1800) / 600));
    const points = 3 * 24 * 60;
    const fc: Forecast = {
      model: 'test',
      start: 0,
      step: 60,
      level: 0.8,
      mean: Float64Array.from({ length: points }, (_, i) => rate(i * 60 + 30)),
      lower: new Float64Array(points),
      upper: new Float64Array(points),
    };
    let d = st.decide(obs({ now: 0 }), fc);
    for (let t = 15; t <= 2 * 86_400; t += 15) d = st.decide(obs({ now: t, demandRps: rate(t), current: d.desired }), fc);
    const before = st.decide(obs({ now: 2 * 86_400 + 1800 - 60, demandRps: rate(1740), current: d.desired }), fc);
    assert.notEqual(before.numbers.predictor, 0, `a forecast-based predictor leads: ${JSON.stringify(before.numbers)}`);
    // A minute before the ramp, the count covers what the ramp reaches within the lead time + period.
    assert.ok(before.desired >= Math.ceil(rate(1800 + 75) / 100), JSON.stringify(before.numbers));
  });
});
