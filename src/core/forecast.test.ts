// Unit tests: the seasonal-naive forecaster and forecast windows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseSeason, forecastPeak, SeasonalNaiveForecaster } from './forecast.js';

const day = 24; // hourly points: a day is 24 steps
const hourly = (days: number, f: (i: number) => number) => Float64Array.from({ length: days * day }, (_, i) => f(i));

describe('chooseSeason', () => {
  const rows: [n: number, want: number, note: string][] = [
    [23, 0, 'under a day: flat'],
    [24, 24, 'one day: daily (one season to copy)'],
    [335, 24, 'under 2 weeks: daily'],
    [336, 168, '2 weeks: weekly'],
  ];
  for (const [n, want, note] of rows) it(note, () => assert.equal(chooseSeason(n, 3600, 'auto'), want));
  it('daily stays daily', () => assert.equal(chooseSeason(1000, 3600, 'daily'), 24));
  it('a step of a day or more has no daily season', () => assert.equal(chooseSeason(1000, 86400, 'auto'), 0));
  it('none is flat', () => assert.equal(chooseSeason(1000, 3600, 'none'), 0));
});

describe('SeasonalNaiveForecaster', () => {
  it('repeats the last day for a perfectly daily series, with a zero-width interval', () => {
    const values = hourly(3, (i) => 100 + (i % day));
    const f = new SeasonalNaiveForecaster().forecast({ start: 0, step: 3600, values }, 30, 0.8);
    assert.equal(f.model, 'seasonal-naive-daily');
    assert.equal(f.start, 3 * 86400);
    for (let h = 0; h < 30; h++) {
      assert.equal(f.mean[h], 100 + (h % day));
      assert.equal(f.upper[h], f.mean[h]);
    }
  });
  it('uses the season before when the last one is missing', () => {
    const values = hourly(3, (i) => 100 + (i % day));
    values[2 * day + 5] = Number.NaN;
    const f = new SeasonalNaiveForecaster().forecast({ start: 0, step: 3600, values }, 24, 0.8);
    assert.equal(f.mean[5], 105);
  });
  it('is flat (last value) with a widening interval on short history', () => {
    const values = Float64Array.from([10, 12, 11, 13, 12]);
    const f = new SeasonalNaiveForecaster().forecast({ start: 0, step: 3600, values }, 4, 0.8);
    assert.equal(f.model, 'naive-flat');
    assert.deepEqual(Array.from(f.mean), [12, 12, 12, 12]);
    assert.ok((f.upper[3] as number) - (f.mean[3] as number) > (f.upper[0] as number) - (f.mean[0] as number));
  });
  it('covers the residual spread with its interval', () => {
    let seed = 1;
    const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 20;
    const values = hourly(20, (i) => 100 + 50 * Math.sin((2 * Math.PI * i) / day) + noise());
    const f = new SeasonalNaiveForecaster({ seasonality: 'daily' }).forecast({ start: 0, step: 3600, values }, 24, 0.8);
    for (let h = 0; h < 24; h++) assert.ok((f.upper[h] as number) > (f.mean[h] as number) && (f.lower[h] as number) < (f.mean[h] as number));
  });
  it('rejects a history with no finite value and a bad horizon or level', () => {
    const fc = new SeasonalNaiveForecaster();
    assert.throws(() => fc.forecast({ start: 0, step: 60, values: [Number.NaN] }, 1, 0.8), /finite/);
    assert.throws(() => fc.forecast({ start: 0, step: 60, values: [1] }, 0, 0.8), /horizon/);
    assert.throws(() => fc.forecast({ start: 0, step: 60, values: [1] }, 1, 1), /level/);
  });
});

describe('forecastPeak', () => {
  const f = { model: 't', start: 600, step: 60, level: 0.8, mean: Float64Array.from([1, 2, 3, 4]), lower: Float64Array.from([0, 0, 0, 0]), upper: Float64Array.from([5, 9, 7, 20]) };
  const rows: [from: number, to: number, want: number | undefined, note: string][] = [
    [600, 720, 9, 'two buckets'],
    [610, 650, 5, 'inside the first bucket'],
    [659, 661, 9, 'straddling a boundary'],
    [0, 600, undefined, 'before the forecast'],
    [900, 1000, undefined, 'after the forecast'],
  ];
  for (const [from, to, want, note] of rows) it(note, () => assert.equal(forecastPeak(f, from, to)?.upper, want));
});
