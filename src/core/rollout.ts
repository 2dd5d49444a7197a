// A version rollout's pure logic (docs/design/switchover.md, "Version rollouts"): the new version runs on
// the shadow first and must match live over delta-analysis windows; a trial measures its capacity per
// instance and production is sized for it; then the switchover (core/switchover.ts, replace mode) moves
// traffic in steps. Here: the judgement of the shadow windows and the capacity plan. No I/O, no clock.

import type { DeltaVerdict } from './delta.js';

export interface RolloutSettings {
  /** Windows in a row in which the new version on the shadow matches live before the rollout moves on. */
  readonly shadowWindows: number;
  /** Windows in a row in which it is worse than live that stop the rollout. */
  readonly maxFailedWindows: number;
  /** Windows in a row with too little traffic to judge that stop it (nothing would be proven). */
  readonly maxInconclusiveWindows: number;
  /** Largest accepted drop of capacity per instance, as a share of the current version's (0..1). */
  readonly maxCapacityLoss: number;
}

export const DEFAULT_ROLLOUT: RolloutSettings = { shadowWindows: 3, maxFailedWindows: 2, maxInconclusiveWindows: 6, maxCapacityLoss: 0.25 };

/** Where a rollout is. The last three are final. */
export type RolloutPhase = 'shadow' | 'capacity' | 'shifting' | 'completed' | 'stopped_in_shadow' | 'rolled_back';
export type RolloutOutcome = 'completed' | 'stopped_in_shadow' | 'rolled_back';
export const ROLLOUT_OUTCOMES: readonly RolloutOutcome[] = ['completed', 'stopped_in_shadow', 'rolled_back'];

/** Why a rollout stopped or rolled back (a closed set, shown with its decision). */
export type RolloutStop =
  | 'latency' // the new version's latency is worse than live's at comparable load (shadow or shift)
  | 'errors' // its error rate is
  | 'capacity' // its capacity per instance dropped more than maxCapacityLoss, or it needs more than pool.max
  | 'no_traffic' // too little mirrored traffic to judge it
  | 'unhealthy' // a new instance failed or never became ready
  | 'timeout' // the shadow phase did not finish in time
  | 'restarted' // the control plane restarted mid-rollout: rolled back from the store
  | 'aborted'; // the run stopped

export interface ShadowJudgement {
  readonly passed: number;
  readonly failed: number;
  readonly inconclusive: number;
  /** What the last degraded window failed on. */
  readonly metric?: 'latency' | 'errors';
}

export const NO_JUDGEMENT: ShadowJudgement = { passed: 0, failed: 0, inconclusive: 0 };

/**
 * One delta-analysis window of the new version on the shadow against live (`verdict` is the shadow-vs-live
 * one: `degraded` when the shadow is worse). `shadowWindows` passes in a row: passed; `maxFailedWindows`
 * degraded in a row: failed; `maxInconclusiveWindows` in a row without enough traffic: no_traffic.
 */
export function judgeShadowWindow(j: ShadowJudgement, verdict: DeltaVerdict, metric: 'latency' | 'errors' | undefined, s: RolloutSettings): { state: ShadowJudgement; outcome: 'wait' | 'passed' | 'failed' | 'no_traffic' } {
  if (verdict === 'pass') {
    const state = { passed: j.passed + 1, failed: 0, inconclusive: 0 };
    return { state, outcome: state.passed >= s.shadowWindows ? 'passed' : 'wait' };
  }
  if (verdict === 'degraded') {
    const state = { passed: 0, failed: j.failed + 1, inconclusive: 0, ...(metric ? { metric } : {}) };
    return { state, outcome: state.failed >= s.maxFailedWindows ? 'failed' : 'wait' };
  }
  const state = { ...j, inconclusive: j.inconclusive + 1 };
  return { state, outcome: state.inconclusive >= s.maxInconclusiveWindows ? 'no_traffic' : 'wait' };
}

/** What a capacity trial of the new version measured (core/verdict.ts's capacityAtSloRps and verdict). */
export interface MeasuredCapacity {
  readonly verdict: 'pass' | 'fail' | 'inconclusive';
  readonly estimate?: number;
  readonly atLeast?: number;
  readonly atMost?: number;
}

export type CapacityPlan =
  | { readonly ok: true; readonly perInstanceRps: number; readonly ratio: number; readonly count: number }
  | { readonly ok: false; readonly why: string; readonly ratio: number };

/**
 * The new version's capacity per instance against the current one's (`currentRps`, what the strategies
 * plan with), and the live count it needs for what `target` instances of the current version carry.
 * A measured drop beyond `maxCapacityLoss`, a count above `maxInstances`, or no measurement at all stops
 * the rollout; a version at least as fast keeps the count (capacity is never assumed to have grown).
 */
export function capacityPlan(i: { currentRps: number; measured: MeasuredCapacity; target: number; minInstances: number; maxInstances: number }, s: RolloutSettings): CapacityPlan {
  const m = i.measured;
  // The trial passing at the current rate proves at least that rate.
  const measured = m.estimate ?? (m.verdict === 'pass' ? Math.max(m.atLeast ?? 0, i.currentRps) : m.atLeast);
  if (measured === undefined || !(measured > 0) || !(i.currentRps > 0)) return { ok: false, why: 'the capacity trial measured no rate that meets the SLO', ratio: 0 };
  const ratio = measured / i.currentRps;
  if (ratio < 1 - s.maxCapacityLoss - 1e-9) return { ok: false, why: `capacity per instance ${measured.toFixed(1)} req/s is ${((1 - ratio) * 100).toFixed(0)} % below the current version's ${i.currentRps.toFixed(1)} (at most ${(s.maxCapacityLoss * 100).toFixed(0)} % accepted)`, ratio };
  const perInstanceRps = Math.min(measured, i.currentRps);
  const count = Math.max(i.minInstances, Math.ceil((i.target * i.currentRps) / perInstanceRps - 1e-9));
  if (count > i.maxInstances) return { ok: false, why: `the new version needs ${count} instances for what ${i.target} carry now, above pool.max (${i.maxInstances})`, ratio };
  return { ok: true, perInstanceRps, ratio, count };
}
