// Unit tests (table): candidate configurations for the proof gate. One-slot types, whose capacity at
// the SLO has a closed form (M/M/1: p99 = ln(100) / (mu - lambda)), so every count below is by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { candidates, costPerHour, type CandidateInput, type CandidateType } from './candidates.js';

const prices = (onDemandPerHour: number) => ({ onDemandPerHour, spotPerHour: onDemandPerHour * 0.35, reservedPerHour: onDemandPerHour * 0.65 });
// SLO 200 ms: capacity = mu - ln(100)/0.2 = mu - 23.026.
const A: CandidateType = { name: 'a', slots: 1, serviceTimeSeconds: 0.025, prices: prices(0.1) }; // 16.974 req/s
const B: CandidateType = { name: 'b', slots: 1, serviceTimeSeconds: 0.0125, prices: prices(0.25) }; // 56.974 req/s
const SLOW: CandidateType = { name: 'slow', slots: 1, serviceTimeSeconds: 0.25, prices: prices(0.01) }; // mu 4 < 23: never
const CAP_A = 40 - Math.log(100) / 0.2;

const base: CandidateInput = { peakRps: 100, headroom: 0, sloLatencySeconds: 0.2, types: [A, B], current: { instanceType: 'a', count: 6 }, minInstances: 1, maxInstances: 50 };
const list = (i: Partial<CandidateInput>): string[] => candidates({ ...base, ...i }).candidates.map((c) => `${c.instanceType}×${c.count} ${c.kind} ${c.model}`);
const drops = (i: Partial<CandidateInput>): string[] => candidates({ ...base, ...i }).dropped.map((d) => `${d.instanceType}×${d.count} ${d.reason}`);

describe('candidates', () => {
  const rows: { note: string; input: Partial<CandidateInput>; want: string[]; dropped?: string[] }[] = [
    {
      note: '100 req/s: a needs 6 (5.89), b needs 2 (1.76); one below each; ranked by cost, then count',
      input: {},
      want: ['b×1 type_change below_model', 'b×2 type_change at_model', 'a×5 scale_in below_model', 'a×6 keep at_model'],
    },
    {
      note: 'a scale-in from 10 to what 50 req/s needs (3): every count between, the current one kept',
      input: { peakRps: 50, current: { instanceType: 'a', count: 10 }, types: [A] },
      want: ['a×2 scale_in below_model', 'a×3 scale_in at_model', ...[4, 5, 6, 7, 8, 9].map((c) => `a×${c} scale_in above_model`), 'a×10 keep above_model'],
    },
    {
      note: 'the max: a would need 6 of at most 4; b fits',
      input: { maxInstances: 4 },
      want: ['b×1 type_change below_model', 'b×2 type_change at_model'],
      dropped: ['a×6 above_max'],
    },
    {
      note: 'current 2 of a at 100 req/s (needs 6): keeping it is under capacity',
      input: { current: { instanceType: 'a', count: 2 }, types: [A] },
      want: ['a×5 scale_up below_model', 'a×6 scale_up at_model'],
      dropped: ['a×2 under_capacity'],
    },
    {
      note: 'nothing running (prove): no keep candidate and nothing dropped for it',
      input: { current: { instanceType: 'a', count: 0 }, types: [A] },
      want: ['a×5 scale_up below_model', 'a×6 scale_up at_model'],
    },
    {
      note: 'a type that cannot meet the SLO even idle is dropped',
      input: { types: [SLOW, A] },
      want: ['a×5 scale_in below_model', 'a×6 keep at_model'],
      dropped: ['slow×0 slo_infeasible'],
    },
    {
      note: 'the min: 1 req/s still gets 3; nothing below the min',
      input: { peakRps: 1, minInstances: 3, current: { instanceType: 'a', count: 3 }, types: [A] },
      want: ['a×3 keep at_model'],
    },
    {
      note: 'no demand: one instance (the min of 1)',
      input: { peakRps: 0, current: { instanceType: 'a', count: 1 }, types: [A] },
      want: ['a×1 keep at_model'],
    },
    {
      note: 'exactly two instances of capacity: 2, not 3 (floating-point noise)',
      input: { peakRps: 2 * CAP_A, current: { instanceType: 'a', count: 2 }, types: [A] },
      want: ['a×1 scale_in below_model', 'a×2 keep at_model'],
    },
    {
      note: 'headroom raises the target: 100 req/s + 20 % needs 8 of a (7.07)',
      input: { headroom: 0.2, types: [A], current: { instanceType: 'a', count: 8 } },
      want: ['a×7 scale_in below_model', 'a×8 keep at_model'],
    },
    {
      note: 'at most maxCandidates, the rest dropped as over_limit',
      input: { peakRps: 50, current: { instanceType: 'a', count: 10 }, types: [A], maxCandidates: 3 },
      want: ['a×2 scale_in below_model', 'a×3 scale_in at_model', 'a×4 scale_in above_model'],
      dropped: [5, 6, 7, 8, 9, 10].map((c) => `a×${c} over_limit`),
    },
  ];
  for (const r of rows) {
    it(r.note, () => {
      assert.deepEqual(list(r.input), r.want);
      assert.deepEqual(drops(r.input), r.dropped ?? []);
    });
  }

  it('each candidate states the rate each instance would see and its load against the model', () => {
    const c = candidates({ ...base, types: [A] }).candidates.find((x) => x.count === 6);
    assert.ok(c);
    assert.ok(Math.abs(c.perInstanceRps - 100 / 6) < 1e-9);
    assert.ok(Math.abs(c.capacityAtSloRps - CAP_A) < 1e-6, `${c.capacityAtSloRps}`);
    assert.ok(Math.abs(c.load - 100 / 6 / CAP_A) < 1e-6);
    assert.ok(Math.abs(c.costPerHour - 0.6) < 1e-12);
  });

  it('spot: the allowed share is bought as spot, spread over launches', () => {
    const rows: [count: number, share: number, spot: number][] = [
      [6, 0.5, 3],
      [6, 0, 0],
      [6, 1, 6],
      [4, 0.25, 1],
      [3, 0.3, 0], // floor(3 × 0.3) = 0: no whole spot instance yet
    ];
    for (const [count, share, spot] of rows) {
      const r = costPerHour(count, A.prices, share);
      assert.equal(r.spot, spot, `${count} at ${share}`);
      assert.ok(Math.abs(r.cost - (spot * 0.035 + (count - spot) * 0.1)) < 1e-12);
    }
    const c = candidates({ ...base, types: [A], spotShare: 0.5 }).candidates.find((x) => x.count === 6);
    assert.equal(c?.spot, 3);
  });
});
