// Unit tests: cost (billing, spot spread), seeded randomness, quantiles and medians, the error registry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bill, isSpotLaunch } from './cost.js';
import { ERROR_CODES, ShadowscaleError } from './errors.js';
import { createRng } from './random.js';
import { medianInPlace, quantile, quantiles, selectQuantiles, sortInPlace, sortedQuantile } from './stats.js';

describe('bill', () => {
  const prices = { onDemandPerHour: 0.1, spotPerHour: 0.03, reservedPerHour: 0.06 };
  it('bills on-demand per second', () => {
    const b = bill({ seconds: 3600, instanceSeconds: 3 * 3600, reservedSeconds: 0, spotSeconds: 0 }, prices, { reservedInstances: 0, spotShare: 0 });
    assert.ok(Math.abs(b.total - 0.3) < 1e-12);
    assert.equal(b.instanceHours, 3);
  });
  it('charges reservations whether used or not, and spot at its price', () => {
    const b = bill({ seconds: 7200, instanceSeconds: 3600, reservedSeconds: 3600, spotSeconds: 0 }, prices, { reservedInstances: 1, spotShare: 0 });
    assert.ok(Math.abs(b.total - 0.12) < 1e-12, 'two reserved hours, one used');
    const s = bill({ seconds: 3600, instanceSeconds: 7200, reservedSeconds: 0, spotSeconds: 3600 }, prices, { reservedInstances: 0, spotShare: 0.5 });
    assert.ok(Math.abs(s.total - 0.13) < 1e-12);
  });
  it('spreads spot launches evenly', () => {
    const launches = (share: number) => Array.from({ length: 100 }, (_, i) => isSpotLaunch(i, share)).filter(Boolean).length;
    assert.equal(launches(0), 0);
    assert.equal(launches(0.25), 25);
    assert.equal(launches(1), 100);
  });
});

describe('createRng', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const xs = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
    assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.next()));
  });
  const means = [0.5, 4, 29, 31, 2000];
  for (const m of means) {
    it(`draws Poisson(${m}) with the right mean and variance`, () => {
      const r = createRng(42);
      const n = 20000;
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const x = r.poisson(m);
        s += x;
        s2 += x * x;
      }
      const mean = s / n;
      const variance = s2 / n - mean * mean;
      assert.ok(Math.abs(mean - m) < 4 * Math.sqrt(m / n) + 0.01, `mean ${mean}`);
      assert.ok(Math.abs(variance / m - 1) < 0.08, `variance ${variance}`);
    });
  }
});

describe('quantile', () => {
  it('interpolates like numpy (type 7) and skips NaN', () => {
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantile([4, Number.NaN, 1, 3, 2], 0.25), 1.75);
    assert.deepEqual(quantiles([5, 1, 3], [0, 1]), [1, 5]);
    assert.ok(Number.isNaN(quantile([Number.NaN], 0.5)));
  });
});

describe('selectQuantiles', () => {
  const rows: { note: string; xs: number[]; qs: number[]; want: number[] }[] = [
    { note: 'empty: NaN', xs: [], qs: [0.5], want: [Number.NaN] },
    { note: 'one value', xs: [3], qs: [0.1, 0.9], want: [3, 3] },
    { note: 'interpolates like numpy (type 7)', xs: [4, 1, 3, 2], qs: [0.25, 0.5], want: [1.75, 2.5] },
    { note: 'the extremes', xs: [5, 1, 3], qs: [0, 1], want: [1, 5] },
    { note: 'all equal', xs: [2, 2, 2, 2, 2], qs: [0.1, 0.9], want: [2, 2] },
    { note: 'negative values order numerically', xs: [-10, 2, -3, 7], qs: [0.5], want: [-0.5] },
  ];
  for (const r of rows) {
    it(r.note, () => assert.deepEqual(selectQuantiles(Float64Array.from(r.xs), r.qs), r.want));
  }
  it('equals the quantiles of the sorted values exactly, duplicates and all (seeded)', () => {
    const rng = createRng(5);
    for (let t = 0; t < 500; t++) {
      const n = 1 + Math.floor(rng.next() * 60);
      const xs = Float64Array.from({ length: n }, () => (t % 3 === 0 ? Math.floor(rng.next() * 4) : rng.normal()));
      const qs = t % 2 ? [0.1, 0.9] : [0, 0.3, 0.5, 1];
      const sorted = Float64Array.from(xs).sort();
      const want = qs.map((q) => sortedQuantile(sorted, q));
      assert.deepEqual(selectQuantiles(Float64Array.from(xs), qs), want, `trial ${t}: ${Array.from(xs)}`);
      assert.deepEqual(quantiles(xs, qs), want, `trial ${t}: quantiles`);
      // Any order of the quantiles asked for, each answer in its place.
      assert.deepEqual(quantiles(xs, qs.slice().reverse()), want.slice().reverse(), `trial ${t}: reversed`);
      assert.deepEqual(sortInPlace(Float64Array.from(xs)), sorted, `trial ${t}: sortInPlace`);
    }
  });
});

describe('medianInPlace', () => {
  const rows: { note: string; xs: number[]; want: number }[] = [
    { note: 'one value', xs: [7], want: 7 },
    { note: 'odd count: the middle one', xs: [9, 1, 5], want: 5 },
    { note: 'even count: the mean of the two middle ones', xs: [4, 1, 3, 2], want: 2.5 },
    { note: 'negative values sort numerically', xs: [-10, 2, -3], want: -3 },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const buf = Float64Array.from(r.xs);
      assert.equal(medianInPlace(buf), r.want);
      assert.deepEqual(Array.from(buf), [...r.xs].sort((a, b) => a - b), 'sorted in place');
    });
  }
});

describe('errors', () => {
  it('every code maps to an exit code and an HTTP status', () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      assert.match(code, /^SHADOWSCALE_E_[A-Z_]+$/);
      // 1 a failure, 2 bad input, 3 a command that ran to its end with a negative verdict: a rollout that did
      // not complete, a doctor that found problems (src/cli/main.ts).
      assert.ok(spec.exitCode === 1 || spec.exitCode === 2 || (spec.exitCode === 3 && ['SHADOWSCALE_E_ROLLOUT_NOT_COMPLETED', 'SHADOWSCALE_E_DOCTOR_PROBLEMS', 'SHADOWSCALE_E_TUNE_TARGET_MISSED'].includes(code)), code);
      assert.ok(spec.httpStatus >= 400);
    }
    const e = new ShadowscaleError('SHADOWSCALE_E_USAGE', 'x');
    assert.equal(e.exitCode, 2);
  });
});
