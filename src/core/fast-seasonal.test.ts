// Unit tests: the fast seasonal model, level shifts, and the rolling-origin pipeline with conformal intervals.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AutoForecaster, conformalFactor, evaluate, originsFor } from './auto-forecast.js';
import { bestSmoothing, FastSeasonalForecaster, lastLevelShift, smooth, SMOOTHING_GRID } from './fast-seasonal.js';
import { SeasonalNaiveForecaster } from './forecast.js';
import { createRng } from './random.js';

const STEP = 300;
const PER_DAY = 288;
/** Daily + weekly shaped demand with seeded noise, 5-minute steps, starting on a Thursday (epoch day 0). */
function demand(days: number, opts: { noise?: number; shiftAtDay?: number; shiftBy?: number; seed?: number } = {}): Float64Array {
  const rng = createRng(opts.seed ?? 1);
  return Float64Array.from({ length: days * PER_DAY }, (_, i) => {
    const day = Math.floor(i / PER_DAY);
    const weekend = day % 7 === 2 || day % 7 === 3 ? 0.6 : 1;
    const base = 100 + 60 * Math.sin((2 * Math.PI * (i % PER_DAY)) / PER_DAY - Math.PI / 2);
    const shift = opts.shiftAtDay !== undefined && day >= opts.shiftAtDay ? (opts.shiftBy ?? 0) : 0;
    return Math.max(0, base * weekend + shift + (opts.noise ?? 5) * rng.normal());
  });
}

describe('FastSeasonalForecaster', () => {
  it('learns a daily and weekly shape and beats seasonal naive on noisy data', () => {
    const y = demand(28, { noise: 10 });
    const o = { horizon: 12, origins: 20, stride: 36, minHistory: 2 * PER_DAY, level: 0.8 };
    const series = { start: 0, step: STEP, values: y };
    const fast = evaluate(series, new FastSeasonalForecaster(), o);
    const naive = evaluate(series, new SeasonalNaiveForecaster({ seasonality: 'weekly' }), o);
    assert.ok(fast.mae < 0.85 * naive.mae, `fast ${fast.mae} vs naive ${naive.mae}`);
  });
  it('forecasts a noiseless periodic series almost exactly', () => {
    const y = demand(15, { noise: 0 });
    const f = new FastSeasonalForecaster().forecast({ start: 0, step: STEP, values: y.subarray(0, 14 * PER_DAY) }, PER_DAY, 0.8);
    for (let h = 0; h < PER_DAY; h++) assert.ok(Math.abs((f.mean[h] as number) - (y[14 * PER_DAY + h] as number)) < 3, `h=${h}`);
  });
  it('reads a steady ramp as a trend, not as a daily sawtooth (alibaba net_in: 8.4x persistence at 1 h before)', () => {
    // 8 days rising 0.005 per point with a little noise, the history ending at midnight: a shape taken
    // from deviations to each day's mean alone is low every morning, so the first hour was forecast
    // well below the last value.
    const rng = createRng(9);
    const y = Float64Array.from({ length: 8 * PER_DAY + 12 }, (_, i) => 30 + 0.005 * i + 0.01 * rng.normal());
    const f = new FastSeasonalForecaster().forecast({ start: 0, step: STEP, values: y.subarray(0, 8 * PER_DAY) }, 12, 0.8);
    let err = 0;
    for (let h = 0; h < 12; h++) err += Math.abs((f.mean[h] as number) - (y[8 * PER_DAY + h] as number));
    // Persistence is off by 0.005 x (h + 1): 0.0325 on average over the hour.
    assert.ok(err / 12 < 0.03, `mean error ${err / 12}`);
  });
  it('adapts to a level shift instead of averaging across it', () => {
    const y = demand(14, { noise: 3, shiftAtDay: 11, shiftBy: 150 });
    const fc = new FastSeasonalForecaster();
    const f = fc.forecast({ start: 0, step: STEP, values: y }, 12, 0.8);
    const truth = demand(15, { noise: 0, shiftAtDay: 11, shiftBy: 150 }).subarray(14 * PER_DAY, 14 * PER_DAY + 12);
    for (let h = 0; h < 12; h++) assert.ok(Math.abs((f.mean[h] as number) - (truth[h] as number)) < 25, `h=${h}: ${f.mean[h]} vs ${truth[h]}`);
    assert.ok(fc.lastDiagnostics.changepointAt !== undefined);
  });
  it('clips outliers: one huge spike does not move the forecast', () => {
    const y = demand(7, { noise: 3 });
    const spiked = Float64Array.from(y);
    spiked[spiked.length - 2] = 100_000;
    const a = new FastSeasonalForecaster().forecast({ start: 0, step: STEP, values: y }, 6, 0.8);
    const fc = new FastSeasonalForecaster();
    const b = fc.forecast({ start: 0, step: STEP, values: spiked }, 6, 0.8);
    assert.ok(Math.abs((b.mean[5] as number) - (a.mean[5] as number)) < 30, `${b.mean[5]} vs ${a.mean[5]}`);
    assert.ok(fc.lastDiagnostics.outliers >= 1);
  });
  const odd: [values: number[], note: string][] = [
    [[5, 5, 5, 5, 5, 5], 'constant'],
    [[0, 0, 0, 0], 'all zero'],
    [[-3, -1, -2, -4, -3], 'negative'],
    [[1, Number.NaN, 3], 'three points with a gap'],
    [[7], 'one point'],
  ];
  for (const [values, note] of odd) {
    for (const transform of ['none', 'log'] as const) {
      it(`never returns NaN: ${note} (${transform})`, () => {
        const f = new FastSeasonalForecaster({ transform }).forecast({ start: 0, step: STEP, values }, 5, 0.8);
        for (const arr of [f.mean, f.lower, f.upper]) for (const v of arr) assert.ok(Number.isFinite(v), `${note}: ${Array.from(arr)}`);
      });
    }
  }
  it('counts missing points and forecasts through them', () => {
    const y = demand(7, { noise: 2 });
    for (let i = 1000; i < 1100; i++) y[i] = Number.NaN;
    const fc = new FastSeasonalForecaster();
    const f = fc.forecast({ start: 0, step: STEP, values: y }, 3, 0.8);
    assert.equal(fc.lastDiagnostics.missing, 100);
    assert.ok(Number.isFinite(f.mean[0]));
  });
  it('rejects an all-missing history', () => assert.throws(() => new FastSeasonalForecaster().forecast({ start: 0, step: STEP, values: [Number.NaN, Number.NaN] }, 1, 0.8), /finite/));
  it('an append-only caller gets the same forecast from an extended fit as from a refit, within noise', () => {
    const y = demand(10, { noise: 5 });
    const inc = new FastSeasonalForecaster({ reuseFitPoints: 100 });
    inc.forecast({ start: 0, step: STEP, values: y.subarray(0, 9 * PER_DAY) }, 6, 0.8);
    const a = inc.forecast({ start: 0, step: STEP, values: y.subarray(0, 9 * PER_DAY + 50) }, 6, 0.8);
    const b = new FastSeasonalForecaster().forecast({ start: 0, step: STEP, values: y.subarray(0, 9 * PER_DAY + 50) }, 6, 0.8);
    for (let h = 0; h < 6; h++) assert.ok(Math.abs((a.mean[h] as number) - (b.mean[h] as number)) < 10);
  });
});

describe('lastLevelShift', () => {
  it('finds a sustained shift and ignores noise', () => {
    const flat = Float64Array.from({ length: 10 * 24 }, (_, i) => Math.sin(i * 1.3));
    assert.equal(lastLevelShift(flat, 24, 0.7), 0);
    const shifted = Float64Array.from(flat, (v, i) => v + (i >= 7 * 24 ? 50 : 0));
    assert.equal(lastLevelShift(shifted, 24, 0.7), 7 * 24);
  });
});

describe('bestSmoothing', () => {
  it('drops runs past the best error sum and still picks what running every one to the end picks (seeded)', () => {
    const rng = createRng(23);
    for (let trial = 0; trial < 80; trial++) {
      const n = 50 + Math.floor(rng.next() * 900);
      const drift = rng.normal() * 0.05;
      const noise = 0.1 + 5 * rng.next();
      let level = 10 * rng.normal();
      // Random walks with drift, spikes, level shifts and gaps: every part of the grid wins somewhere.
      const z = Float64Array.from({ length: n }, () => {
        level += drift + (rng.next() < 0.01 ? 20 * rng.normal() : 0) + rng.normal() * noise * rng.next();
        return rng.next() < 0.02 ? Number.NaN : level + noise * rng.normal() + (rng.next() < 0.01 ? 50 : 0);
      });
      const from = Math.floor(rng.next() * n * 0.3);
      const evalFrom = from + 1 + Math.floor(rng.next() * (n - from - 1) * 0.8);
      const init = z.slice(from, evalFrom).find((v) => Number.isFinite(v)) ?? Number.NaN;
      const scale = noise;
      let want = { sse: Number.POSITIVE_INFINITY, alpha: 0.2, beta: 0 };
      for (const alpha of SMOOTHING_GRID.alphas) {
        for (const beta of SMOOTHING_GRID.betas) {
          const r = smooth(z, from, alpha, beta, scale, evalFrom, false, init);
          if (r.err < want.sse) want = { sse: r.err, alpha, beta };
        }
      }
      assert.deepEqual(bestSmoothing(z, from, scale, evalFrom, init), want, `trial ${trial}`);
    }
  });
});

describe('rolling-origin pipeline', () => {
  it('places origins from the end, stride apart, each with enough history', () => {
    assert.deepEqual(originsFor(100, { horizon: 10, origins: 3, stride: 20, minHistory: 40 }), [50, 70, 90]);
    assert.deepEqual(originsFor(100, { horizon: 10, origins: 5, stride: 20, minHistory: 40 }), [50, 70, 90]);
  });
  it('the conformal factor is the corrected quantile of the normalized errors', () => {
    // Errors of 0.1 .. 1.0 interval half-widths: the 80 % factor is the ceil(11 x 0.8) / 10 = 0.9 quantile.
    const scaled = Float64Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, Number.NaN]);
    assert.ok(Math.abs(conformalFactor(scaled, 0.8) - 0.91) < 1e-9, String(conformalFactor(scaled, 0.8)));
    assert.equal(conformalFactor(new Float64Array(0), 0.8), 1);
    assert.ok(conformalFactor(Float64Array.from([2, 3, 4, 5]), 0.5) > 1, 'errors beyond the model interval widen it');
  });
  it('picks the better model per series and calibrates its interval to cover held-out points', () => {
    const y = demand(28, { noise: 12, seed: 3 });
    const auto = new AutoForecaster([new SeasonalNaiveForecaster({ seasonality: 'daily' }), new FastSeasonalForecaster()]);
    const f = auto.forecast({ start: 0, step: STEP, values: y.subarray(0, 27 * PER_DAY) }, 12, 0.8);
    assert.equal(f.chosen, 'fast-seasonal');
    assert.ok(f.calibrated);
    assert.equal(f.scores.length, 2);
    const ev = evaluate({ start: 0, step: STEP, values: y }, auto, { horizon: 12, origins: 24, stride: 12, minHistory: 20 * PER_DAY, level: 0.8 });
    assert.ok(ev.coverage > 0.7 && ev.coverage < 0.92, `coverage ${ev.coverage}`);
  });
  it('falls back to the first candidate, uncalibrated, on a history too short to backtest', () => {
    const f = new AutoForecaster([new SeasonalNaiveForecaster(), new FastSeasonalForecaster()]).forecast({ start: 0, step: STEP, values: [1, 2, 3] }, 2, 0.8);
    assert.equal(f.calibrated, false);
    for (const v of f.mean) assert.ok(Number.isFinite(v));
  });
});
