// Unit tests: the M/M/c capacity model (Erlang C, response-time law, SLO inverse).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { erlangC, instancesFor, latencyTail, maxRateAtSlo, mmcLaw, responseTimeQuantile, responseTimeTail, warmupFactor } from './capacity.js';

describe('erlangC', () => {
  // Published Erlang C table for 10 Erlangs of offered traffic (call-centre staffing tables).
  const published: [agents: number, erlangs: number, pWait: number, note: string][] = [
    [11, 10, 0.6821, '10 Erlangs, 11 agents'],
    [12, 10, 0.4494, '10 Erlangs, 12 agents'],
    [13, 10, 0.2853, '10 Erlangs, 13 agents'],
    [14, 10, 0.1741, '10 Erlangs, 14 agents'],
    [15, 10, 0.102, '10 Erlangs, 15 agents'],
  ];
  for (const [c, a, want, note] of published) {
    it(`matches the published value for ${note}`, () => assert.ok(Math.abs(erlangC(c, a) - want) < 5e-5, `${erlangC(c, a)} vs ${want}`));
  }
  const closedForm: [c: number, a: number, want: number, note: string][] = [
    [1, 0.7, 0.7, 'M/M/1: P(wait) = rho'],
    [2, 1, (2 * 0.5 ** 2) / 1.5, 'M/M/2: 2 rho^2 / (1 + rho)'],
    [2, 1.6, (2 * 0.8 ** 2) / 1.8, 'M/M/2 at rho 0.8'],
    [3, 0, 0, 'no load never waits'],
    [3, 3, 1, 'at saturation every request waits'],
    [3, 5, 1, 'past saturation every request waits'],
  ];
  for (const [c, a, want, note] of closedForm) {
    it(note, () => assert.ok(Math.abs(erlangC(c, a) - want) < 1e-12));
  }
  it('stays finite for large pools (Erlang B recursion, no factorial overflow)', () => {
    const v = erlangC(2000, 1950);
    assert.ok(v > 0 && v < 1);
  });
  it('rejects a non-integer server count', () => assert.throws(() => erlangC(2.5, 1), RangeError));
});

describe('response time', () => {
  it('is the service time alone with no load: P(T > t) = e^{-mu t}', () => {
    assert.ok(Math.abs(responseTimeTail(4, 0.05, 0, 0.1) - Math.exp(-2)) < 1e-12);
  });
  it('M/M/1 response time is exponential with rate mu - lambda', () => {
    // mu = 10/s, lambda = 6/s: T ~ Exp(4), P(T > 0.5) = e^{-2}.
    assert.ok(Math.abs(responseTimeTail(1, 0.1, 6, 0.5) - Math.exp(-2)) < 1e-12);
    assert.ok(Math.abs(responseTimeQuantile(1, 0.1, 6, 0.99) - Math.log(100) / 4) < 1e-6);
  });
  it('handles theta == mu (the hypoexponential limit) continuously', () => {
    // c = 2, mu = 1: theta = 2 - lambda = 1 at lambda = 1.
    const at = latencyTail(mmcLaw(2, 1, 1), 2);
    const near = latencyTail(mmcLaw(2, 1, 1 + 1e-7), 2);
    assert.ok(Math.abs(at - near) < 1e-6);
  });
  it('is infinite at or past saturation', () => assert.equal(responseTimeQuantile(2, 0.1, 20), Number.POSITIVE_INFINITY));
  it('grows with load', () => {
    const qs = [0, 40, 80, 120, 150].map((l) => responseTimeQuantile(4, 0.025, l));
    for (let i = 1; i < qs.length; i++) assert.ok((qs[i] as number) > (qs[i - 1] as number));
  });
});

describe('maxRateAtSlo', () => {
  const rows: [c: number, s: number, slo: number, note: string][] = [
    [4, 0.025, 0.2, 'default instance type'],
    [16, 0.025, 0.2, 'many slots'],
    [1, 0.01, 0.1, 'M/M/1'],
  ];
  for (const [c, s, slo, note] of rows) {
    it(`is the boundary where p99 meets the SLO (${note})`, () => {
      const r = maxRateAtSlo(c, s, slo);
      assert.ok(r > 0 && r < c / s);
      assert.ok(responseTimeQuantile(c, s, r) <= slo + 1e-9);
      assert.ok(responseTimeQuantile(c, s, r * 1.001) > slo);
    });
  }
  it('M/M/1 closed form: lambda = mu - ln(100)/slo', () => {
    assert.ok(Math.abs(maxRateAtSlo(1, 0.01, 0.1) - (100 - Math.log(100) / 0.1)) < 1e-6);
  });
  it('is 0 when the service time alone misses the SLO', () => assert.equal(maxRateAtSlo(4, 0.1, 0.3), 0));
  it('more slots serve a larger share of their capacity at the same SLO (pooling)', () => {
    assert.ok(maxRateAtSlo(16, 0.025, 0.2) / 640 > maxRateAtSlo(4, 0.025, 0.2) / 160);
  });
});

describe('warmupFactor and instancesFor', () => {
  const warm: [age: number, warmup: number, initial: number, want: number, note: string][] = [
    [-1, 60, 0.5, 0, 'not ready yet'],
    [0, 60, 0.5, 0.5, 'just ready'],
    [30, 60, 0.5, 0.75, 'half way'],
    [60, 60, 0.5, 1, 'warm'],
    [0, 0, 0.5, 1, 'no warm-up'],
  ];
  for (const [age, w, i0, want, note] of warm) it(`warm-up: ${note}`, () => assert.equal(warmupFactor(age, w, i0), want));
  const need: [rate: number, per: number, want: number, note: string][] = [
    [0, 100, 0, 'no load'],
    [100, 100, 1, 'exactly one'],
    [100.0000001, 100, 1, 'floating-point noise does not add an instance'],
    [101, 100, 2, 'just over one'],
    [5, 0, Number.POSITIVE_INFINITY, 'zero capacity'],
  ];
  for (const [rate, per, want, note] of need) it(`instancesFor: ${note}`, () => assert.equal(instancesFor(rate, per), want));
});
