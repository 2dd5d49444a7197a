// Unit tests: the analog forecaster (the median change after the recent moments most like now).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnalogForecaster, analogNeighbours } from './analog.js';
import { scoreAgainstLast } from './forecast-scoring.js';
import { createRng } from './random.js';

const series = (n: number, f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));

const score = (values: Float64Array, horizon: number, origins: number) => scoreAgainstLast(new AnalogForecaster(), values, 60, horizon, origins);

describe('AnalogForecaster: MAE against the last value', () => {
  const rng = createRng(17);
  let w = 1000;
  const walk = series(3000, () => (w += rng.normal()));
  // Bursts of four points (rise, plateau, fall) on a flat floor: a shape a linear fit cannot follow.
  const bursts = series(3000, (i) => {
    const k = i % 23;
    return 10 + (k === 0 ? 40 : k === 1 || k === 2 ? 100 : k === 3 ? 30 : 0) + 0.5 * rng.normal();
  });
  let d = 0;
  let level = 1000;
  const smooth = series(3000, () => ((d = 0.8 * d + rng.normal()), (level += d)));
  const rows: [values: Float64Array, horizon: number, max: number, note: string][] = [
    [series(3000, () => 100 + 10 * rng.normal()), 1, 0.87, 'noise around a level: back to it'],
    [bursts, 1, 0.3, 'repeating bursts: their shape'],
    [smooth, 1, 0.75, 'a smooth series: the trend carries on'],
    [smooth, 3, 0.85, 'the same, three points ahead'],
    [walk, 1, 1.1, 'a random walk: about the last value'],
  ];
  for (const [values, horizon, max, note] of rows) {
    it(note, () => {
      const s = score(values, horizon, 150);
      assert.ok(s.model / s.last < max, `MAE ratio ${s.model / s.last}`);
      assert.ok(s.inside > 0.5 && s.inside < 0.97, `coverage ${s.inside}`);
    });
  }
});

describe('analogNeighbours', () => {
  it('finds the moments shaped like now, nearest first, and their changes per horizon', () => {
    // A ramp 0,1,2,3 repeating every 10 points (zeros between): now is the top of a ramp.
    const v = series(205, (i) => (i % 10 < 4 ? i % 10 : 0));
    const fit = analogNeighbours(v.subarray(0, 204), 2, { neighbours: 5 });
    assert.ok(fit);
    for (const m of fit.moments) assert.equal(m % 10, 3, `moment ${m}`);
    assert.deepEqual([...(fit.changes[0] as Float64Array)], [-3, -3, -3, -3, -3]);
    // Ties go to the most recent moments.
    assert.deepEqual([...fit.moments], [193, 183, 173, 163, 153]);
  });
  it('skips moments whose future points are missing, and carries missing points forward', () => {
    const v = series(300, (i) => (i % 10 < 4 ? i % 10 : 0));
    for (let i = 240; i < 260; i++) v[i] = Number.NaN;
    const fit = analogNeighbours(v.subarray(0, 294), 1, { neighbours: 40 });
    assert.ok(fit);
    for (const m of fit.moments) assert.ok(!(m + 1 >= 240 && m + 1 < 260), `moment ${m} has a missing target`);
    for (const c of fit.changes[0] as Float64Array) assert.ok(Number.isFinite(c));
  });
  it('has no answer without a finite value', () => {
    assert.equal(analogNeighbours([Number.NaN, Number.NaN], 1), undefined);
  });
});

describe('AnalogForecaster: arguments and edges', () => {
  const f = new AnalogForecaster();
  const ok = { start: 0, step: 60, values: series(100, (i) => i % 7) };
  const bad: [() => unknown, RegExp][] = [
    [() => f.forecast(ok, 13, 0.8), /at most 12 points ahead, got 13/],
    [() => f.forecast(ok, 0, 0.8), /horizon must be a positive integer, got 0/],
    [() => f.forecast(ok, 1, 1), /level must be in \(0, 1\), got 1/],
    [() => f.forecast({ start: 0, step: 60, values: [Number.NaN] }, 1, 0.8), /at least one finite history value/],
  ];
  for (const [call, message] of bad) it(`rejects: ${message.source}`, () => assert.throws(call, message));
  it('a one-point history forecasts that point; a constant series stays constant', () => {
    const one = f.forecast({ start: 0, step: 60, values: [7] }, 2, 0.8);
    assert.deepEqual([...one.mean], [7, 7]);
    const flat = f.forecast({ start: 0, step: 60, values: series(500, () => 3) }, 4, 0.8);
    assert.deepEqual([...flat.mean], [3, 3, 3, 3]);
    assert.deepEqual([...flat.lower], [3, 3, 3, 3]);
  });
  it('never forecasts below zero for a nonnegative series', () => {
    // Drops to zero after each spike: the median change from the top is the whole spike.
    const v = series(400, (i) => (i % 5 === 0 ? 50 : 0));
    const fc = f.forecast({ start: 0, step: 60, values: v.subarray(0, 396) }, 3, 0.8);
    for (let h = 0; h < 3; h++) assert.ok((fc.lower[h] as number) >= 0 && (fc.mean[h] as number) >= 0);
  });
  it('starts where the history ends', () => {
    const fc = f.forecast({ start: 1000, step: 60, values: series(50, (i) => i) }, 1, 0.8);
    assert.equal(fc.start, 1000 + 50 * 60);
  });
});
