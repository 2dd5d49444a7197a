// Unit tests: delta analysis (Mann-Whitney with ties, tolerance band, noise floor, load comparability),
// the sampling controller and the capacity-model refit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitServiceTime, meanResponseTime, responseTimeQuantile } from './capacity.js';
import { compareLiveShadow, liveWorseThanShadow, confirmDegradation, DEFAULT_DELTA, erfc, mannWhitney, normalUpperTail, weightedMedian, type Weighted } from './delta.js';
import { createRng } from './random.js';
import { nextSamplingRate, type SamplingSettings } from './sampling.js';

const unweighted = (xs: number[]): Weighted => xs.map((x) => [x, 1] as const);

describe('normal tail and erfc', () => {
  const table: [z: number, want: number, note: string][] = [
    [0, 0.5, 'the median'],
    [1.6448536, 0.05, 'one-sided 5 %'],
    [2.3263479, 0.01, 'one-sided 1 %'],
    [-1.959964, 0.975, 'negative z'],
  ];
  for (const [z, want, note] of table) it(note, () => assert.ok(Math.abs(normalUpperTail(z) - want) < 1e-6, `${normalUpperTail(z)}`));
  it('erfc(0) = 1 and erfc(-10) = 2 (to 1e-7)', () => assert.ok(Math.abs(erfc(0) - 1) < 1e-7 && Math.abs(erfc(-10) - 2) < 1e-7));
});

describe('mannWhitney', () => {
  it('matches a hand-computed U with ties (mid-ranks)', () => {
    // a = 1 2 2 4, b = 2 3 5: ranks 1 | 2,2,2 (mid 3) ... a's ranks: 1, 3, 3, 6 -> R1 = 13, U = 13 - 10 = 3.
    const r = mannWhitney(unweighted([1, 2, 2, 4]), unweighted([2, 3, 5]));
    assert.equal(r.u, 3);
    assert.equal(r.n1, 4);
  });
  it('weighted input equals the expanded samples', () => {
    const w = mannWhitney([[5, 3], [1, 2]], [[3, 4]]);
    const e = mannWhitney(unweighted([5, 5, 5, 1, 1]), unweighted([3, 3, 3, 3]));
    assert.deepEqual(w, e);
  });
  it('identical samples are not significant; a shifted one is', () => {
    const rng = createRng(1);
    const a = Array.from({ length: 300 }, () => 10 + rng.normal());
    const b = Array.from({ length: 300 }, () => 10 + rng.normal());
    const c = b.map((x) => x + 1);
    assert.ok(mannWhitney(unweighted(a), unweighted(b)).pGreater > 0.01);
    assert.ok(mannWhitney(unweighted(c), unweighted(a)).pGreater < 1e-6);
  });
  it('empty sides give NaN', () => assert.ok(Number.isNaN(mannWhitney([], unweighted([1])).pGreater)));
  it('weightedMedian', () => assert.equal(weightedMedian([[3, 1], [1, 2], [2, 2]]), 2));
});

describe('compareLiveShadow', () => {
  const rng = createRng(9);
  const lat = (median: number, n: number): Weighted => unweighted(Array.from({ length: n }, () => Math.round(median * Math.exp(0.3 * rng.normal()))));
  const pool = (latencyMs: Weighted, errors = 0, perInstanceRps = 50) => ({ latencyMs, requests: latencyMs.reduce((s, [, c]) => s + c, 0), errors, perInstanceRps });
  const table: [name: string, live: ReturnType<typeof pool>, shadow: ReturnType<typeof pool>, verdict: string, metric?: string][] = [
    ['same latency: pass', pool(lat(40, 400)), pool(lat(40, 200)), 'pass'],
    ['shadow 10 % slower: inside the 20 % band', pool(lat(40, 400)), pool(lat(44, 200)), 'pass'],
    ['shadow 2x slower: degraded latency', pool(lat(40, 400)), pool(lat(80, 200)), 'degraded', 'latency'],
    ['2x slower but below the 5 ms noise floor', pool(lat(2, 400)), pool(lat(4, 200)), 'pass'],
    ['too few shadow requests', pool(lat(40, 400)), pool(lat(80, 20)), 'insufficient_data'],
    ['shadow at 5x the per-instance load', pool(lat(40, 400)), pool(lat(80, 200), 0, 250), 'incomparable_load'],
    ['shadow errors 10 % vs live 0 %', pool(lat(40, 400)), pool(lat(40, 200), 20), 'degraded', 'errors'],
    ['shadow errors 0.5 % vs live 0 %: inside the error tolerance', pool(lat(40, 400)), pool(lat(40, 200), 1), 'pass'],
  ];
  for (const [name, live, shadow, verdict, metric] of table) {
    it(name, () => {
      const r = compareLiveShadow(live, shadow, DEFAULT_DELTA);
      assert.equal(r.verdict, verdict, JSON.stringify(r.numbers));
      assert.equal(r.metric, metric);
    });
  }
  // Issue 11, fix on the way: "live worse" swapped the arguments, so its numbers named the wrong pool.
  it('regression: liveWorseThanShadow labels its numbers by pool (live slow: liveMedianMs is the larger)', () => {
    const live = pool(lat(80, 400), 40, 50);
    const shadow = pool(lat(40, 200), 0, 40);
    const r = liveWorseThanShadow(live, shadow, DEFAULT_DELTA);
    assert.equal(r.verdict, 'degraded');
    assert.equal(r.numbers.liveRequests, 400);
    assert.equal(r.numbers.shadowRequests, 200);
    assert.equal(r.numbers.liveErrorRate, 0.1);
    assert.equal(r.numbers.shadowErrorRate, 0);
    assert.ok(Math.abs((r.numbers.loadRatio as number) - 40 / 50) < 1e-12, 'shadow/live per-instance load');
    const slow = liveWorseThanShadow(pool(lat(80, 400)), pool(lat(40, 200)), DEFAULT_DELTA);
    assert.equal(slow.metric, 'latency');
    assert.ok((slow.numbers.liveMedianMs as number) > (slow.numbers.shadowMedianMs as number), JSON.stringify(slow.numbers));
  });
  it('confirms after N consecutive degraded windows, once; no data keeps the streak; a pass clears it', () => {
    const steps: [string, number, boolean][] = [];
    let streak = 0;
    for (const v of ['degraded', 'insufficient_data', 'degraded', 'degraded', 'degraded', 'pass', 'degraded'] as const) {
      const r = confirmDegradation(streak, v, 3);
      streak = r.streak;
      steps.push([v, streak, r.confirmed]);
    }
    assert.deepEqual(steps.map((s) => s[2]), [false, false, false, true, false, false, false]);
    assert.deepEqual(steps.map((s) => s[1]), [1, 1, 2, 3, 4, 0, 1]);
  });
});

describe('nextSamplingRate', () => {
  const s: SamplingSettings = { baseRate: 0.1, minRate: 0.05, maxRate: 0.5, fastChangePerSecond: 0.05, raiseFactor: 2, decayPerSecond: 0.5 };
  const table: [note: string, current: number, before: number, now: number, dt: number, rate: number, reason: string][] = [
    ['stable load stays at the base rate', 0.1, 100, 101, 1, 0.1, 'load_stable'],
    ['a 20 %/s ramp doubles the rate', 0.1, 100, 120, 1, 0.2, 'load_changing'],
    ['keeps doubling up to the maximum', 0.4, 100, 150, 1, 0.5, 'load_changing'],
    ['a fall counts as change too', 0.1, 100, 80, 1, 0.2, 'load_changing'],
    ['stable again: the excess halves per second', 0.3, 100, 100, 1, 0.2, 'load_stable'],
    ['two stable seconds: a quarter of the excess', 0.3, 100, 100, 2, 0.15, 'load_stable'],
    ['no data: hold (clamped)', 0.7, Number.NaN, 100, 1, 0.5, 'no_load_data'],
  ];
  for (const [note, current, before, now, dt, rate, reason] of table) {
    it(note, () => {
      const d = nextSamplingRate(current, before, now, dt, s);
      assert.ok(Math.abs(d.rate - rate) < 1e-12, `${d.rate}`);
      assert.equal(d.reason, reason);
    });
  }
});

describe('fitServiceTime', () => {
  it('recovers the service time from M/M/c p99 observations at several loads', () => {
    const slots = 4;
    const truth = 0.04;
    const pairs = [10, 30, 50, 70, 85].map((rps) => ({ perInstanceRps: rps, latency: responseTimeQuantile(slots, truth, rps) }));
    const fit = fitServiceTime(pairs, slots, 0.1, 'p99');
    assert.ok(fit && Math.abs(fit.serviceTime - truth) / truth < 0.01, JSON.stringify(fit));
    assert.ok((fit?.rmsLogError ?? 1) < 0.01);
  });
  it('from noisy mean latencies (the default statistic) stays within 15 %', () => {
    const rng = createRng(4);
    const pairs = Array.from({ length: 60 }, () => {
      const rps = 5 + rng.next() * 70;
      return { perInstanceRps: rps, latency: meanResponseTime(4, 0.04, rps) * Math.exp(0.15 * rng.normal()) };
    });
    const fit = fitServiceTime(pairs, 4, 0.025);
    assert.ok(fit && Math.abs(fit.serviceTime - 0.04) / 0.04 < 0.15, JSON.stringify(fit));
  });
  it('no usable pairs: undefined', () => assert.equal(fitServiceTime([{ perInstanceRps: 1, latency: Number.NaN }], 4, 0.04), undefined));
  it('meanResponseTime: the service time at no load, infinite at saturation, M/M/1 closed form', () => {
    assert.equal(meanResponseTime(4, 0.04, 0), 0.04);
    assert.equal(meanResponseTime(4, 0.04, 100), Number.POSITIVE_INFINITY);
    assert.ok(Math.abs(meanResponseTime(1, 0.1, 5) - 0.1 / (1 - 0.5)) < 1e-12, 'M/M/1: s / (1 - rho)');
  });
});
