// Unit tests (table): trial verdicts from step measurements, the p99's order-statistic bounds, the
// error rate's Wilson bounds, and the capacity at the SLO the steps show.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capacityAtSlo, normalQuantile, quantileRanks, stepVerdict, trialVerdict, wilson, type StepMeasurement, type VerdictSettings } from './verdict.js';

const S: VerdictSettings = { sloLatencyMs: 200, sloErrorRate: 0.01, level: 0.95, minAchieved: 0.9 };
const step = (targetRps: number, latencyMs: [number, number][], errors = 0, achievedRps = targetRps): StepMeasurement => ({ targetRps, achievedRps, latencyMs, errors });

describe('normalQuantile and wilson', () => {
  const rows: [p: number, z: number][] = [
    [0.5, 0],
    [0.975, 1.959964],
    [0.025, -1.959964],
    [0.999, 3.090232],
  ];
  for (const [p, z] of rows) it(`z(${p}) = ${z}`, () => assert.ok(Math.abs(normalQuantile(p) - z) < 1e-5, `${normalQuantile(p)}`));
  it('wilson: 0 of 100 is [0, 3.7 %]; 50 of 100 is about [40.4 %, 59.6 %]', () => {
    const a = wilson(0, 100, 0.95);
    assert.equal(a.low, 0);
    assert.ok(Math.abs(a.high - 0.037) < 0.001, `${a.high}`);
    const b = wilson(50, 100, 0.95);
    assert.ok(Math.abs(b.low - 0.4038) < 0.001 && Math.abs(b.high - 0.5962) < 0.001, JSON.stringify(b));
  });
});

describe('quantileRanks (p99, 95 %)', () => {
  const rows: [n: number, lo: [number, number] | undefined, hi: [number, number] | undefined, note: string][] = [
    [100, [95, 97], undefined, 'too few for an upper bound: 1 - 0.99^100 < 97.5 %'],
    [367, undefined, undefined, 'one short of an upper bound (0.99^367 = 2.502 % > 2.5 %)'],
    [368, undefined, [368, 368], 'the fewest with an upper bound: the maximum'],
    [1000, [983, 985], [996, 998], 'about 990 ± 1.96 √9.9'],
    [100_000, [98_937, 98_940], [99_061, 99_063], 'large n: 99,000 ± 1.96 √990'],
  ];
  for (const [n, lo, hi, note] of rows) {
    it(`n = ${n}: ${note}`, () => {
      const r = quantileRanks(n, 0.99, 0.95);
      if (lo === undefined) assert.ok(r.lo === undefined || n < 1000, `lo ${r.lo}`);
      else assert.ok(r.lo !== undefined && r.lo >= lo[0] && r.lo <= lo[1], `lo ${r.lo}`);
      if (hi === undefined) assert.equal(r.hi, undefined);
      else assert.ok(r.hi !== undefined && r.hi >= hi[0] && r.hi <= hi[1], `hi ${r.hi}`);
    });
  }
});

describe('stepVerdict (SLO p99 ≤ 200 ms, errors ≤ 1 %)', () => {
  const rows: { note: string; m: StepMeasurement; verdict: string; reason?: string }[] = [
    { note: '1000 samples at 50 ms: pass', m: step(10, [[50, 1000]]), verdict: 'pass' },
    { note: 'exactly at the SLO is within it', m: step(10, [[200, 1000]]), verdict: 'pass' },
    { note: '2 % at 300 ms: the p99 is 300 ms for sure', m: step(10, [[50, 980], [300, 20]]), verdict: 'fail' },
    { note: '1.1 % at 300 ms: the bounds straddle the SLO', m: step(10, [[50, 989], [300, 11]]), verdict: 'inconclusive', reason: 'bounds_straddle_slo' },
    { note: '100 samples at 50 ms: too few to bound the p99 from above', m: step(10, [[50, 100]]), verdict: 'inconclusive', reason: 'too_few_samples' },
    { note: '100 samples, 5 at 500 ms: a fail needs no upper bound', m: step(10, [[50, 95], [500, 5]]), verdict: 'fail' },
    { note: 'driven at 80 % of its rate: no proof either way', m: step(10, [[50, 1000]], 0, 8), verdict: 'inconclusive', reason: 'not_driven' },
    { note: '5 % errors: fail', m: step(10, [[50, 1000]], 50), verdict: 'fail' },
    { note: '0.1 % errors: within 1 %', m: step(10, [[50, 1000]], 1), verdict: 'pass' },
    { note: 'no sample at all: too few', m: step(10, []), verdict: 'inconclusive', reason: 'too_few_samples' },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const v = stepVerdict(r.m, S);
      assert.equal(v.verdict, r.verdict, JSON.stringify(v.numbers));
      assert.equal(v.reason, r.reason);
    });
  }
});

describe('trialVerdict', () => {
  const ok = (rate: number) => step(rate, [[50 + rate, 1000]]);
  const slow = (rate: number) => step(rate, [[150, 980], [400, 20]]);
  it('50 %, 100 % pass and 120 % fails: pass, capacity between 100 % and 120 %', () => {
    const v = trialVerdict([slow(12), ok(5), ok(10)], 10, S);
    assert.equal(v.verdict, 'pass');
    assert.deepEqual(v.steps.map((x) => x.verdict), ['pass', 'pass', 'fail']);
    const est = v.capacityAtSloRps.estimate as number;
    assert.ok(est > 10 && est < 12, `${est}`);
  });
  it('the target step fails: fail', () => assert.equal(trialVerdict([ok(5), slow(10)], 10, S).verdict, 'fail'));
  it('a step below the target fails: fail, whatever the target did', () => assert.deepEqual([trialVerdict([slow(5), ok(10)], 10, S).verdict, trialVerdict([slow(5), ok(10)], 10, S).reason], ['fail', 'step_failed']));
  it('no step at the target: inconclusive', () => assert.deepEqual([trialVerdict([ok(5)], 10, S).verdict, trialVerdict([ok(5)], 10, S).reason], ['inconclusive', 'no_target_step']));
  it('the target step too short: inconclusive, too few samples', () => assert.equal(trialVerdict([ok(5), step(10, [[60, 100]])], 10, S).reason, 'too_few_samples'));
});

describe('capacityAtSlo', () => {
  const r = (rate: number, p99: number) => stepVerdict(step(rate, [[p99, 1000]]), S);
  it('interpolates where the p99 crosses the SLO: 100 ms at 10, 300 ms at 20 → 15', () => assert.deepEqual(capacityAtSlo([r(10, 100), r(20, 300)], 200), { estimate: 15 }));
  it('every step within the SLO: at least the fastest step', () => assert.deepEqual(capacityAtSlo([r(10, 100), r(20, 150)], 200), { atLeast: 20 }));
  it('every step beyond it: at most the slowest step', () => assert.deepEqual(capacityAtSlo([r(10, 300), r(20, 400)], 200), { atMost: 10 }));
  it('no step: nothing known', () => assert.deepEqual(capacityAtSlo([], 200), {}));
});
