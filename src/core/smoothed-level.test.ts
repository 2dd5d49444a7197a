// Unit tests: the smoothed-level forecaster (exponential smoothing or a running median, chosen per call).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from './random.js';
import { fitSmoothedLevel, SmoothedLevelForecaster, type LevelEstimator } from './smoothed-level.js';

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
  it('rejects a history with no finite value and a bad horizon or level', () => {
    assert.throws(() => f.forecast({ start: 0, step: 60, values: [Number.NaN] }, 1, 0.8), /finite/);
    assert.throws(() => f.forecast({ start: 0, step: 60, values: [1] }, 0, 0.8), /horizon/);
    assert.throws(() => f.forecast({ start: 0, step: 60, values: [1] }, 1, 1), /level/);
  });
});
