// Unit tests (table): the proof gate. Evidence from hand-written trials (rates per instance), decisions
// of a strategy, and what the gate lets act, holds, or chooses instead.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { candidates } from './candidates.js';
import { countProof, gate, predictedP99, proofOf, typeEvidence, type GateInput, type TrialEvidence } from './gate.js';
import type { Decision } from './reasons.js';

const trial = (id: string, type: string, finishedAt: number, steps: [number, 'pass' | 'fail' | 'inconclusive', number?][]): TrialEvidence => ({
  id,
  instanceType: type,
  finishedAt,
  steps: steps.map(([targetRps, verdict, p99Ms]) => ({ targetRps, verdict, p99Ms: p99Ms ?? 100 })),
});

describe('typeEvidence', () => {
  const rows: { note: string; trials: TrialEvidence[]; now?: number; fresh?: number; want: Record<string, [number, number]> }[] = [
    { note: 'one trial: proven up to the last passing step, failed at the first failing one', trials: [trial('t1', 'a', 100, [[10, 'pass'], [20, 'pass'], [30, 'fail']])], want: { a: [20, 30] } },
    { note: 'an inconclusive step between passes does not stop the proof; above a failure nothing counts', trials: [trial('t1', 'a', 100, [[10, 'pass'], [15, 'inconclusive'], [20, 'pass'], [25, 'fail'], [30, 'pass']])], want: { a: [20, 25] } },
    { note: 'only inconclusive steps: nothing proven, nothing failed', trials: [trial('t1', 'a', 100, [[10, 'inconclusive']])], want: { a: [0, Number.POSITIVE_INFINITY] } },
    { note: 'stale trials are ignored (older than freshSeconds)', trials: [trial('old', 'a', 10, [[50, 'pass']]), trial('new', 'a', 100, [[10, 'pass']])], fresh: 60, want: { a: [10, Number.POSITIVE_INFINITY] } },
    { note: 'a newer pass above an older failure clears the failure', trials: [trial('t1', 'a', 50, [[10, 'pass'], [20, 'fail']]), trial('t2', 'a', 100, [[25, 'pass']])], want: { a: [25, Number.POSITIVE_INFINITY] } },
    { note: 'a newer failure below an older pass lowers the proven rate to what the newer trial passed', trials: [trial('t1', 'a', 50, [[30, 'pass']]), trial('t2', 'a', 100, [[10, 'pass'], [20, 'fail']])], want: { a: [10, 20] } },
    { note: 'types are separate', trials: [trial('t1', 'a', 100, [[10, 'pass']]), trial('t2', 'b', 100, [[40, 'pass'], [60, 'fail']])], want: { a: [10, Number.POSITIVE_INFINITY], b: [40, 60] } },
    { note: 'a trial finished in the future (a clock step back) is not evidence', trials: [trial('t1', 'a', 200, [[10, 'pass']])], want: {} },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const e = typeEvidence(r.trials, r.now ?? 100, r.fresh ?? 3600);
      assert.deepEqual(Object.fromEntries([...e].map(([k, v]) => [k, [v.provenRps, v.failedRps]])), r.want);
    });
  }
  it('predictions: the p99 measured at the lowest step at or above the rate', () => {
    const e = typeEvidence([trial('t1', 'a', 100, [[10, 'pass', 50], [20, 'pass', 120], [30, 'fail', 400]])], 100, 3600).get('a');
    assert.equal(predictedP99(e, 10), 50);
    assert.equal(predictedP99(e, 12), 120);
    assert.equal(predictedP99(e, 35), undefined);
    assert.equal(proofOf(e, 20), 'pass', 'exactly at the proven rate: proven');
    assert.equal(proofOf(e, 20.5), 'unproven');
    assert.equal(proofOf(e, 30), 'fail', 'exactly at the failed rate: failed');
    assert.equal(proofOf(undefined, 1), 'unproven');
  });
});

const decision = (current: number, desired: number, reason: Decision['reason'] = 'forecast_peak'): Decision => ({ strategy: 'hybrid', at: 1000, current, desired, reason, numbers: {} });
const price: Record<string, number> = { a: 0.1, b: 0.25 };
// 100 req/s to carry; a proven up to 20 req/s per instance (5 instances), failed at 34 (3 instances).
const evA = typeEvidence([trial('ta', 'a', 990, [[20, 'pass', 150], [34, 'fail', 900]])], 1000, 3600);
const base: GateInput = { mode: 'required', decision: decision(4, 4), instanceType: 'a', targetRps: 100, evidence: evA, emergency: false, minInstances: 1, maxInstances: 10, maxStepUp: 10, costOf: (t, n) => (price[t] as number) * n, minTypeSaving: 0.1 };

describe('gate', () => {
  const rows: { note: string; input: Partial<GateInput>; want: [number, string, string]; want2?: number | null }[] = [
    { note: 'no change: nothing to prove', input: {}, want: [4, 'forecast_peak', 'no_change'] },
    { note: 'scale-up to a proven count (5 x 20 req/s): acts', input: { decision: decision(4, 5) }, want: [5, 'forecast_peak', 'proven'] },
    { note: 'scale-up to an unproven count (4 is 25 req/s each): the smallest proven larger count (5) acts instead', input: { decision: decision(3, 4) }, want: [5, 'proven_count', 'proven'] },
    { note: 'scale-up, nothing proven, not an emergency: holds and asks for a trial', input: { decision: decision(3, 4), evidence: new Map() }, want: [3, 'proof_pending', 'pending'], want2: 25 },
    { note: 'scale-up, nothing proven, live over its target: the safety net acts', input: { decision: decision(3, 4, 'utilization_above_target'), evidence: new Map(), emergency: true }, want: [4, 'unproven_emergency', 'unproven_emergency'], want2: 25 },
    { note: 'scale-up beyond the max step is not chosen by the proof', input: { decision: decision(3, 4), maxStepUp: 1 }, want: [3, 'proof_pending', 'pending'], want2: 25 },
    { note: 'scale-in to a proven count: acts', input: { decision: decision(8, 5, 'utilization_below_target') }, want: [5, 'utilization_below_target', 'proven'] },
    { note: 'scale-in below the proven rate: the smallest proven count between', input: { decision: decision(8, 4, 'utilization_below_target') }, want: [5, 'proven_count', 'proven'] },
    { note: 'scale-in, nothing proven: holds, asks for a trial at the strategy count', input: { decision: decision(8, 4, 'utilization_below_target'), evidence: new Map() }, want: [8, 'proof_pending', 'pending'], want2: 25 },
    { note: 'scale-in, every count between failed: holds (proof_failed), no trial', input: { decision: decision(3, 2, 'utilization_below_target') }, want: [3, 'proof_failed', 'failed'], want2: null },
    { note: 'scale-in is never an emergency', input: { decision: decision(8, 4, 'utilization_below_target'), evidence: new Map(), emergency: true }, want: [8, 'proof_pending', 'pending'], want2: 25 },
    { note: 'advisory: acts as decided, records that the proof failed it', input: { mode: 'advisory', decision: decision(4, 2) }, want: [2, 'forecast_peak', 'failed'] },
    { note: 'advisory: an unproven change acts and asks for a trial', input: { mode: 'advisory', decision: decision(4, 5), evidence: new Map() }, want: [5, 'forecast_peak', 'unproven'], want2: 20 },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const out = gate({ ...base, ...r.input });
      assert.deepEqual([out.decision.desired, out.decision.reason, out.decision.proof?.status], r.want);
      if (r.want2 !== undefined) assert.equal(out.want?.perInstanceRps ?? null, r.want2);
    });
  }
  it('off: the decision is untouched and carries no proof', () => {
    const d = decision(4, 2);
    assert.equal(gate({ ...base, mode: 'off', decision: d }).decision, d);
  });
  it('the proof names the trial that decided, the numbers, and every configuration considered', () => {
    const out = gate({ ...base, decision: decision(8, 4, 'utilization_below_target') });
    const p = out.decision.proof;
    assert.equal(p?.trial, 'ta');
    assert.equal(p?.numbers.provenRps, 20);
    assert.equal(p?.numbers.predictedP99Ms, 150);
    assert.deepEqual(
      p?.considered.map((c) => `${c.count}:${c.proof}`),
      ['4:unproven', '5:pass', '6:pass', '7:pass', '8:pass'],
    );
    assert.equal(out.decision.numbers.strategyDesired, 4, 'the strategy asked for 4');
  });

  describe('type choice', () => {
    const types = [
      { name: 'a', slots: 1, serviceTimeSeconds: 0.01, prices: { onDemandPerHour: 0.1, spotPerHour: 0.03, reservedPerHour: 0.06 } },
      { name: 'b', slots: 4, serviceTimeSeconds: 0.01, prices: { onDemandPerHour: 0.25, spotPerHour: 0.08, reservedPerHour: 0.15 } },
    ];
    const catalogue = candidates({ peakRps: 100, headroom: 0, sloLatencySeconds: 0.2, types, current: { instanceType: 'a', count: 5 }, minInstances: 1, maxInstances: 10 });
    const both = typeEvidence([trial('ta', 'a', 990, [[20, 'pass'], [34, 'fail']]), trial('tb', 'b', 995, [[100, 'pass']])], 1000, 3600);
    it('a cheaper type proven to carry the target: the pool moves to it (1 x b at 0.25 against 5 x a at 0.5)', () => {
      const out = gate({ ...base, decision: decision(5, 5), evidence: both, catalogue });
      assert.deepEqual([out.decision.desired, out.decision.reason, out.decision.instanceType, out.decision.proof?.trial], [1, 'proven_type_change', 'b', 'tb']);
      assert.equal(out.decision.proof?.numbers.currentCostPerHour, 0.5);
    });
    it('not while the decision waits, in an emergency, or when the other type is unproven or the saving too small', () => {
      assert.equal(gate({ ...base, decision: decision(5, 5), evidence: evA, catalogue }).decision.instanceType, undefined, 'b unproven');
      assert.equal(gate({ ...base, decision: decision(5, 5), evidence: both, catalogue, emergency: true }).decision.instanceType, undefined, 'emergency');
      assert.equal(gate({ ...base, decision: decision(5, 5), evidence: both, catalogue, typeChangeBlocked: true }).decision.instanceType, undefined, 'blocked');
      assert.equal(gate({ ...base, decision: decision(5, 5), evidence: both, catalogue, minTypeSaving: 0.6 }).decision.instanceType, undefined, 'saving 50 % < 60 %');
      assert.equal(gate({ ...base, decision: decision(8, 4, 'utilization_below_target'), evidence: new Map([['b', both.get('b')!]]), catalogue }).decision.instanceType, undefined, 'pending');
    });
  });
});

describe('N+1 redundancy', () => {
  // Steady: a proven up to 20 req/s per instance. Chaos: 3 instances losing one held at 30 req/s per trial
  // instance, i.e. 45 per survivor; a later chaos trial of 2 failed at 40 per instance (80 per survivor).
  const chaosTrial = (id: string, at: number, instances: number, steps: [number, 'pass' | 'fail'][]): TrialEvidence => ({ ...trial(id, 'a', at, steps), chaos: { instances } });
  const ev = typeEvidence([trial('ta', 'a', 990, [[20, 'pass', 150], [34, 'fail', 900]]), chaosTrial('c3', 995, 3, [[30, 'pass']])], 1000, 3600);
  it('chaos trials give the rate per survivor, apart from the steady rates', () => {
    const e = ev.get('a');
    assert.deepEqual([e?.provenRps, e?.failedRps, e?.redundantRps, e?.redundantFailedRps, e?.redundantBy], [20, 34, 45, Number.POSITIVE_INFINITY, 'c3']);
    const later = typeEvidence([chaosTrial('c3', 995, 3, [[30, 'pass']]), chaosTrial('c2', 998, 2, [[20, 'fail']])], 1000, 3600).get('a');
    assert.deepEqual([later?.provenRps, later?.redundantRps, later?.redundantFailedRps, later?.redundantFailedBy], [0, 0, 40, 'c2'], 'a newer failure below the older pass wins');
  });
  const rows: { note: string; targetRps: number; count: number; want: string }[] = [
    { note: '100 on 6: 16.7 each steady, 20 per survivor: both proven', targetRps: 100, count: 6, want: 'pass' },
    { note: '100 on 5: exactly the proven 20 each, 25 per survivor: proven', targetRps: 100, count: 5, want: 'pass' },
    { note: '40 on 2: 20 each, 40 for the survivor (within 45): proven', targetRps: 40, count: 2, want: 'pass' },
    { note: 'one instance is never redundant', targetRps: 10, count: 1, want: 'fail' },
    { note: 'the steady rate failed (50 each on 2): failed whatever the survivors', targetRps: 100, count: 2, want: 'fail' },
  ];
  for (const r of rows) {
    it(r.note, () => assert.equal(countProof(ev.get('a'), r.targetRps, r.count, true), r.want));
  }
  it('survivors above the chaos evidence with no failure: unproven (a chaos trial is wanted)', () => {
    const tight = typeEvidence([trial('ta', 'a', 990, [[20, 'pass']]), chaosTrial('c', 995, 2, [[10, 'pass']])], 1000, 3600);
    assert.equal(countProof(tight.get('a'), 60, 3, true), 'unproven', '20 steady (proven), 30 per survivor (only 20 proven)');
    assert.equal(countProof(tight.get('a'), 60, 3, false), 'pass', 'without redundancy the steady rate is enough');
  });
  it('the gate: a scale-in to one instance fails with redundancy; a count whose survivors are unproven asks for a chaos trial', () => {
    const tight = typeEvidence([trial('ta', 'a', 990, [[20, 'pass']]), chaosTrial('c', 995, 2, [[10, 'pass']])], 1000, 3600);
    const one = gate({ ...base, evidence: tight, redundancy: true, targetRps: 15, decision: decision(2, 1, 'utilization_below_target') });
    assert.deepEqual([one.decision.desired, one.decision.reason], [2, 'proof_failed'], 'one instance cannot survive losing one');
    const up = gate({ ...base, evidence: tight, redundancy: true, targetRps: 60, decision: decision(2, 3) });
    // 3: steady 20 each (proven), 30 per survivor (unproven); 4: 15 each, 20 per survivor (proven).
    assert.deepEqual([up.decision.desired, up.decision.reason, up.decision.proof?.status], [4, 'proven_count', 'proven']);
    assert.equal(up.decision.proof?.trial, 'c', 'the chaos trial decided');
    assert.equal(up.decision.proof?.numbers.survivorRps, 20);
    const held = gate({ ...base, evidence: tight, redundancy: true, targetRps: 60, maxStepUp: 1, decision: decision(2, 3) });
    assert.deepEqual([held.decision.desired, held.decision.reason], [2, 'proof_pending']);
    assert.deepEqual(held.want, { instanceType: 'a', perInstanceRps: 20, survivorRps: 30, count: 3 });
  });
});
