// Unit tests: the lag-regression forecaster (the next change regressed on recent changes, levels and seasons).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitLagRegression, LagRegressionForecaster, normalEquations, seasonStart, type FeatureSet } from './lag-regression.js';
import { scoreAgainstLast } from './forecast-scoring.js';
import { createRng } from './random.js';

const series = (n: number, f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));

const score = (values: Float64Array, step: number, horizon: number, origins: number) => scoreAgainstLast(new LagRegressionForecaster(), values, step, horizon, origins);

describe('fitLagRegression: the feature set it chooses', () => {
  const rng = createRng(11);
  const noise = series(3000, () => rng.normal());
  let walk = 0;
  const steps = series(3000, () => (walk += rng.normal()));
  // A smooth series: changes carry on (an AR(1) in the differences, coefficient 0.8).
  let d = 0;
  let level = 0;
  const smooth = series(3000, () => ((d = 0.8 * d + rng.normal()), (level += d)));
  // Daily steps (step 300 s, 288 points a day) that the last changes alone cannot see coming.
  const daily = series(3000, (i) => 100 + (i % 288 >= 72 && i % 288 < 144 ? 50 : 0) + (i % 288 >= 200 && i % 288 < 230 ? -30 : 0) + 0.5 * (noise[i] as number));
  const rows: [values: Float64Array, step: number, check: (s: FeatureSet) => boolean, note: string][] = [
    [series(3000, (i) => 100 + 10 * (steps[i] as number)), 60, (s) => s === 'persistence', 'a random walk: the last value'],
    [series(3000, (i) => 100 + 10 * (noise[i] as number)), 60, (s) => s !== 'persistence', 'noise around a level: reverts to it'],
    [series(3000, (i) => 100 + (smooth[i] as number)), 60, (s) => s === 'momentum' || s === 'season', 'a smooth series: momentum'],
    [daily, 300, (s) => s === 'season', 'daily steps under a little noise: the season'],
    [series(3000, () => 5), 60, (s) => s === 'persistence', 'constant: nothing to fit'],
    // Regression: the rows began a window (2016 points) before the end, so a history shorter than that
    // plus a day had no season features: 28 days of half-hourly points never fitted the season.
    [series(1344, (i) => 100 + (i % 48 >= 12 && i % 48 < 24 ? 50 : 0) + (i % 48 >= 33 && i % 48 < 38 ? -30 : 0) + 0.5 * (noise[i] as number)), 1800, (s) => s === 'season', 'daily steps, 28 days of half-hourly points: the season'],
  ];
  for (const [values, step, check, note] of rows) {
    it(note, () => {
      const fit = fitLagRegression(values, step, 1);
      assert.ok(fit && check(fit.features), JSON.stringify(fit && { features: fit.features, heldOutMae: fit.heldOutMae }));
    });
  }
});

describe('seasonStart: where the rows begin so that each has its season features', () => {
  const cases: [rows: number, step: number, want: number, note: string][] = [
    [1343, 1800, 336, '28 days of half-hourly points: a week in, 1007 rows left'],
    [624, 1800, 336, 'a week and 288 rows: a week in'],
    [623, 1800, 48, 'one row short of that: a day in'],
    [336, 1800, 48, 'a week of half-hourly points: a day in, 288 rows left'],
    [335, 1800, 0, 'fewer than a day and 288 rows: none'],
    [2015, 300, 288, 'a week of 5-minute points: a day in'],
    [8063, 300, 2016, '28 days of 5-minute points: a week in (the window starts later anyway)'],
    [5000, 7, 0, 'a step that does not divide a day: no season'],
  ];
  for (const [rows, step, want, note] of cases) it(note, () => assert.equal(seasonStart(rows, step), want));
});

describe("normalEquations: X' W X and X' W y, each entry summed over the rows in order", () => {
  // The reference adds row by row, as the fit did before the columns shared passes: the two must agree
  // to the bit, so the faster loop changes no forecast. Widths cover every split into passes of four.
  const cases: [rows: number, columns: number][] = [
    [1, 1],
    [7, 3],
    [50, 4],
    [333, 5],
    [1000, 8],
    [1300, 14],
    [200, 2],
    [90, 9],
    [120, 22],
  ];
  for (const [m, k] of cases) {
    it(`${m} rows, ${k} columns`, () => {
      const rng = createRng(m * 31 + k);
      const x = Float64Array.from({ length: m * k }, () => rng.normal() * 10 ** Math.floor(rng.next() * 6 - 3));
      const weights = Float64Array.from({ length: m }, () => 1 / Math.max(Math.abs(rng.normal()), 1e-3));
      const target = Float64Array.from({ length: m }, () => rng.normal());
      const a = new Float64Array(k * k);
      const b = new Float64Array(k);
      normalEquations(x, m, k, weights, target, new Float64Array(2 * m), a, b);
      const wantA = new Float64Array(k * k);
      const wantB = new Float64Array(k);
      for (let r = 0; r < m; r++) {
        for (let i = 0; i < k; i++) {
          const wi = (weights[r] as number) * (x[i * m + r] as number);
          wantB[i] = (wantB[i] as number) + wi * (target[r] as number);
          for (let j = 0; j <= i; j++) wantA[i * k + j] = (wantA[i * k + j] as number) + wi * (x[j * m + r] as number);
        }
      }
      assert.deepEqual(Array.from(b), Array.from(wantB));
      for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) assert.equal(a[i * k + j], wantA[i * k + j], `a[${i}][${j}]`);
    });
  }
});

describe('LagRegressionForecaster', () => {
  it('beats the last value where the next change is predictable, and is no worse on a random walk', () => {
    const rng = createRng(5);
    let d = 0;
    let level = 1000;
    const smooth = series(2600, () => ((d = 0.8 * d + rng.normal()), (level += d)));
    const noisy = series(2600, () => 100 + 10 * rng.normal());
    let w = 1000;
    const walk = series(2600, () => (w += rng.normal()));
    const cases: [values: Float64Array, max: number, note: string][] = [
      [smooth, 0.7, 'smooth'],
      [noisy, 0.8, 'noise'],
      [walk, 1.03, 'random walk'],
    ];
    for (const [values, max, note] of cases) {
      const s = score(values, 60, 1, 150);
      assert.ok(s.model / s.last < max, `${note}: MAE ratio ${s.model / s.last}`);
      assert.ok(s.inside > 0.65 && s.inside < 0.95, `${note}: coverage ${s.inside}`);
    }
  });
  it('forecasts several points ahead, each horizon its own fit', () => {
    const rng = createRng(9);
    let d = 0;
    let level = 1000;
    const smooth = series(2600, () => ((d = 0.9 * d + rng.normal()), (level += d)));
    const fc = new LagRegressionForecaster().forecast({ start: 0, step: 30, values: smooth }, 4, 0.8);
    assert.equal(fc.mean.length, 4);
    for (let h = 0; h < 4; h++) assert.ok((fc.lower[h] as number) <= (fc.mean[h] as number) && (fc.mean[h] as number) <= (fc.upper[h] as number));
    // The trend carries on: the forecasts move away from the last value in the direction of the last change.
    const last = smooth[smooth.length - 1] as number;
    const change = last - (smooth[smooth.length - 2] as number);
    assert.ok(Math.sign((fc.mean[3] as number) - last) === Math.sign(change), `last change ${change}, forecast ${Array.from(fc.mean)}`);
  });
  it('declines horizons beyond its maximum and bad arguments', () => {
    const f = new LagRegressionForecaster({ maxHorizon: 12 });
    const values = series(500, (i) => i);
    const rows: [horizon: number, level: number, message: RegExp][] = [
      [13, 0.8, /at most 12 points ahead, got 13/],
      [0, 0.8, /horizon must be a positive integer/],
      [1.5, 0.8, /horizon must be a positive integer/],
      [1, 1, /level must be in \(0, 1\)/],
    ];
    for (const [horizon, level, message] of rows) assert.throws(() => f.forecast({ start: 0, step: 60, values }, horizon, level), message);
    assert.throws(() => f.forecast({ start: 0, step: 60, values: Float64Array.from([Number.NaN, Number.NaN]) }, 1, 0.8), /at least one finite/);
  });
  it('carries missing points forward, never goes below zero on a nonnegative series, starts after the history', () => {
    const values = series(400, (i) => (i % 7 === 3 ? Number.NaN : i % 2 ? 0 : 1));
    const fc = new LagRegressionForecaster().forecast({ start: 600, step: 60, values }, 2, 0.8);
    assert.equal(fc.start, 600 + 400 * 60);
    for (const x of [...fc.mean, ...fc.lower, ...fc.upper]) assert.ok(Number.isFinite(x) && x >= 0, String(x));
    const short = new LagRegressionForecaster().forecast({ start: 0, step: 60, values: Float64Array.from([4, Number.NaN, 6]) }, 1, 0.8);
    assert.deepEqual(Array.from(short.mean), [6]);
  });
});
