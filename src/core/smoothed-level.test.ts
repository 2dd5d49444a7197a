// Unit tests: the smoothed-level forecaster (exponential smoothing or a running median, chosen per call).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from './random.js';
import { fitSmoothedLevel, LEVEL_ESTIMATORS, EVERY_ORIGIN_UP_TO, originStride, SmoothedLevelForecaster, type LevelEstimator } from './smoothed-level.js';

const series = (n: number, f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));

describe('fitSmoothedLevel: the constant it chooses', () => {
  const rng = createRng(7);
  const noise = series(3000, () => rng.normal());
  let walk = 0;
  const steps = series(3000, () => (walk += rng.normal()));
  // A level with a lone spike every 50 points: a median ignores it, a smoothed level carries it on.
  const spiky = series(3000, (i) => 100 + (noise[i] as number) + (i % 50 === 0 ? 200 : 0));
  const rows: [values: Float64Array, horizon: number, check: (e: LevelEstimator) => boolean, note: string][] = [
    [series(3000, (i) => 100 + 10 * (noise[i] as number)), 1, (e) => e.kind === 'smoothing' && e.alpha <= 0.1, 'noise around a fixed level: heavy smoothing'],
    [series(3000, (i) => 100 + 10 * (steps[i] as number)), 1, (e) => e.kind === 'smoothing' && e.alpha >= 0.9, 'a random walk: the last value'],
    [series(3000, (i) => 100 + 10 * (steps[i] as number)), 4, (e) => e.kind === 'smoothing' && e.alpha >= 0.8, 'a random walk, four steps ahead'],
    [series(3000, (i) => 100 + 10 * (steps[i] as number) + 10 * (noise[i] as number)), 1, (e) => e.kind === 'smoothing' && e.alpha > 0.1 && e.alpha < 0.9, 'a walk under noise: in between'],
    [spiky, 1, (e) => e.kind === 'median' && e.points >= 3, 'lone spikes on a level: a running median'],
    [series(3000, () => 5), 1, (e) => e.kind === 'smoothing' && e.alpha === 1, 'constant: every estimator ties, the tie goes to the last value'],
  ];
  for (const [values, horizon, check, note] of rows) {
    it(note, () => {
      const fit = fitSmoothedLevel(values, horizon);
      assert.ok(fit && check(fit.estimator), JSON.stringify(fit?.estimator));
    });
  }
});

/**
 * The reference: every estimator scored error by error over the origins `stride` apart (from the last
 * with a target) and every step ahead, the level and errors kept for the one chosen (what
 * fitSmoothedLevel computes, the slow and obvious way).
 */
function referenceFit(values: ArrayLike<number>, horizon: number, window: number, warmup: number, stride: number): { estimator: LevelEstimator; level: number; mae: number; errors: number[][] } | undefined {
  const n = values.length;
  const from = Math.max(0, n - window);
  let best: { estimator: LevelEstimator; level: number; mae: number; errors: number[][] } | undefined;
  for (const estimator of LEVEL_ESTIMATORS) {
    const levels: number[] = [];
    let level = Number.NaN;
    const recent: number[] = [];
    for (let i = from; i < n; i++) {
      const x = values[i] as number;
      if (Number.isFinite(x)) {
        if (estimator.kind === 'smoothing') level = Number.isNaN(level) ? x : level + estimator.alpha * (x - level);
        else {
          recent.push(x);
          const last = recent.slice(-estimator.points).sort((a, b) => a - b);
          const k = last.length;
          level = k % 2 ? (last[(k - 1) / 2] as number) : ((last[k / 2 - 1] as number) + (last[k / 2] as number)) / 2;
        }
      }
      levels.push(level);
    }
    if (Number.isNaN(level)) return undefined;
    const errors: number[][] = Array.from({ length: horizon }, () => []);
    let abs = 0;
    let scored = 0;
    let seen = 0;
    for (let i = from; i < n; i++) {
      const x = values[i] as number;
      if (!Number.isFinite(x)) continue;
      if (seen++ < warmup) continue;
      for (let h = 1; h <= horizon && i - h >= from; h++) {
        const l = levels[i - h - from] as number;
        if (Number.isNaN(l) || (n - 2 - (i - h)) % stride !== 0) continue;
        (errors[h - 1] as number[]).push(x - l);
        abs += Math.abs(x - l);
        scored++;
      }
    }
    const mae = scored ? abs / scored : Number.NaN;
    if (best === undefined || Number.isNaN(best.mae) || mae <= best.mae * (1 + 1e-9)) best = { estimator, level, mae, errors };
  }
  return best;
}

describe('fitSmoothedLevel: the same fit as scoring every error one by one', () => {
  it('scores every origin up to 12 points ahead, then every ceil(h / 12)-th', () => {
    const cases: [horizon: number, stride: number][] = [[1, 1], [EVERY_ORIGIN_UP_TO, 1], [EVERY_ORIGIN_UP_TO + 1, 2], [24, 2], [60, 5], [288, 24]];
    for (const [horizon, stride] of cases) assert.equal(originStride(horizon), stride, `horizon ${horizon}`);
  });
  const rng = createRng(13);
  let w = 0;
  const walk = series(700, (i) => (w += rng.normal()) + (i % 37 === 0 ? Number.NaN : 0));
  const noisy = series(700, (i) => 50 + 5 * rng.normal() + (i % 97 === 0 ? 80 : 0));
  const steps = series(700, (i) => Math.floor(i / 100) + (rng.next() < 0.05 ? Number.NaN : 0));
  const rows: { note: string; values: Float64Array; horizon: number; window?: number; warmup?: number }[] = [
    { note: 'a walk with gaps, one step ahead', values: walk, horizon: 1 },
    { note: `a walk with gaps, ${EVERY_ORIGIN_UP_TO} steps ahead (the last scored one by one)`, values: walk, horizon: EVERY_ORIGIN_UP_TO },
    { note: `a walk with gaps, ${EVERY_ORIGIN_UP_TO + 1} steps ahead (every other origin)`, values: walk, horizon: EVERY_ORIGIN_UP_TO + 1 },
    { note: 'a walk with gaps, a day of 5-minute points ahead', values: walk, horizon: 288 },
    { note: 'spikes on a level, 60 steps ahead', values: noisy, horizon: 60 },
    { note: 'steps with tied values and gaps, 40 ahead', values: steps, horizon: 40 },
    { note: 'a short window, no warm-up, 30 ahead', values: noisy, horizon: 30, window: 200, warmup: 0 },
    { note: 'a horizon longer than the window', values: walk.subarray(0, 50), horizon: 80 },
    { note: 'three points, 20 ahead', values: Float64Array.from([1, Number.NaN, 3]), horizon: 20, warmup: 0 },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const window = r.window ?? 2016;
      const warmup = r.warmup ?? 12;
      const got = fitSmoothedLevel(r.values, r.horizon, { window, warmup });
      const want = referenceFit(r.values, r.horizon, window, warmup, originStride(r.horizon));
      assert.ok(got && want);
      assert.deepEqual(got.estimator, want.estimator);
      assert.equal(got.level, want.level);
      assert.deepEqual(got.errors.map((e) => Array.from(e)), want.errors);
      if (r.horizon <= EVERY_ORIGIN_UP_TO) assert.equal(got.mae, want.mae);
      else assert.ok(Math.abs(got.mae - want.mae) <= 1e-9 * want.mae || (Number.isNaN(got.mae) && Number.isNaN(want.mae)), `${got.mae} vs ${want.mae}`);
    });
  }
});

describe('SmoothedLevelForecaster', () => {
  const f = new SmoothedLevelForecaster();
  it('beats the last value on noise around a level, and its 80 % interval covers about 80 %', () => {
    const rng = createRng(3);
    const values = series(4000, () => 100 + 10 * rng.normal());
    let absLevel = 0;
    let absLast = 0;
    let inside = 0;
    const origins = 200;
    for (let at = 3800; at < 3800 + origins; at++) {
      const fc = f.forecast({ start: 0, step: 60, values: values.subarray(0, at) }, 1, 0.8);
      const y = values[at] as number;
      absLevel += Math.abs(y - (fc.mean[0] as number));
      absLast += Math.abs(y - (values[at - 1] as number));
      if (y >= (fc.lower[0] as number) && y <= (fc.upper[0] as number)) inside++;
    }
    assert.ok(absLevel / absLast < 0.8, `MAE ratio ${absLevel / absLast}`);
    assert.ok(inside / origins > 0.7 && inside / origins < 0.9, `coverage ${inside / origins}`);
  });
  it('is flat, starts after the history, and skips missing points', () => {
    const values = Float64Array.from([10, Number.NaN, 10, 10, Number.NaN]);
    const fc = f.forecast({ start: 600, step: 60, values }, 3, 0.8);
    assert.equal(fc.model, 'smoothed-level');
    assert.equal(fc.start, 600 + 5 * 60);
    assert.deepEqual(Array.from(fc.mean), [10, 10, 10]);
  });
  it('follows a level shift (the constant is fitted, not fixed)', () => {
    const values = series(2000, (i) => (i < 1000 ? 100 : 200));
    const fc = f.forecast({ start: 0, step: 60, values }, 1, 0.8);
    assert.equal(fc.mean[0], 200);
  });
  it('widens its interval with the steps ahead on a random walk', () => {
    const rng = createRng(9);
    let w = 0;
    const values = series(3000, () => (w += rng.normal()));
    const fc = f.forecast({ start: 0, step: 60, values }, 6, 0.8);
    assert.ok((fc.upper[5] as number) - (fc.lower[5] as number) > (fc.upper[0] as number) - (fc.lower[0] as number));
  });
  it('declines more than a quarter of a day ahead, counted in seconds', () => {
    const rows: { step: number; horizon: number; declines: boolean }[] = [
      { step: 300, horizon: 72, declines: false },
      { step: 300, horizon: 73, declines: true },
      { step: 300, horizon: 288, declines: true },
      { step: 1800, horizon: 12, declines: false },
      { step: 1800, horizon: 13, declines: true },
      { step: 30, horizon: 720, declines: false },
      { step: 86_400, horizon: 1, declines: false },
    ];
    const values = series(500, (i) => 10 + (i % 7));
    for (const r of rows) {
      const run = () => f.forecast({ start: 0, step: r.step, values }, r.horizon, 0.8);
      if (r.declines) assert.throws(run, /smoothed level forecasts at most/, JSON.stringify(r));
      else assert.equal(run().mean.length, r.horizon, JSON.stringify(r));
    }
  });
  it('rejects a history with no finite value and a bad horizon or level', () => {
    assert.throws(() => f.forecast({ start: 0, step: 60, values: [Number.NaN] }, 1, 0.8), /finite/);
    assert.throws(() => f.forecast({ start: 0, step: 60, values: [1] }, 0, 0.8), /horizon/);
    assert.throws(() => f.forecast({ start: 0, step: 60, values: [1] }, 1, 1), /level/);
  });
});
