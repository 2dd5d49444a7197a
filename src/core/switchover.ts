// The switchover's pure logic (docs/design/switchover.md): weight moves to the new instances in steps
// (Flagger's stepWeight / interval / maxWeight / threshold); each step ends with a check of the new
// instances against the old ones (the delta statistics of core/delta.ts, normalised per instance load by
// the caller); `threshold` failed checks in a row roll back; a completed ramp promotes. No I/O, no clock:
// `now` (seconds) is passed in, and the same code can run in the simulator.

import type { DeltaVerdict } from './delta.js';

export interface ShiftSettings {
  /** Percent of the final weight added per step (0 < stepWeight <= 100). */
  readonly stepWeight: number;
  /** Percent of the final weight at which the new instances are promoted to it (stepWeight <= maxWeight <= 100). */
  readonly maxWeight: number;
  /** Seconds per step: the window each check judges. */
  readonly intervalSeconds: number;
  /** Failed checks in a row that roll the switchover back (>= 1). */
  readonly threshold: number;
  /**
   * Steps in a row without enough traffic to judge that count as one failed check: a target that takes
   * no traffic never completes.
   */
  readonly maxInconclusive: number;
}

/** A 2-core demo's defaults: four 5 s steps to promotion, rollback after two failed checks. */
export const DEFAULT_SHIFT: ShiftSettings = { stepWeight: 25, maxWeight: 100, intervalSeconds: 5, threshold: 2, maxInconclusive: 3 };

export type ShiftPhase = 'shifting' | 'completed' | 'rolled_back';

/** A check's outcome: the delta verdict of new against old, or `unhealthy` (a new instance failed or left). */
export type ShiftCheck = DeltaVerdict | 'unhealthy';

/** Why the switchover did what it did at a step (shown with its events and decisions). */
export type ShiftReason = 'started' | 'step_passed' | 'promoted' | 'check_failed' | 'inconclusive' | 'rolled_back_on_checks' | 'rolled_back_unhealthy' | 'waiting';

export interface ShiftState {
  readonly phase: ShiftPhase;
  /** Percent of the final weight the new instances have now (0 after a rollback, 100 once promoted). */
  readonly weight: number;
  readonly startedAt: number;
  readonly stepStartedAt: number;
  readonly failedChecks: number;
  readonly inconclusive: number;
  /** Checks judged so far (passed or failed). */
  readonly checks: number;
  readonly reason: ShiftReason;
}

export type ShiftAction = { readonly kind: 'hold' } | { readonly kind: 'set_weight'; readonly weight: number } | { readonly kind: 'rollback' } | { readonly kind: 'promote' };

/** Settings checked: a message naming the field, or undefined. */
export function checkShiftSettings(s: ShiftSettings): string | undefined {
  if (!(s.stepWeight > 0 && s.stepWeight <= 100)) return `stepWeight: expected a percent in (0, 100], got ${s.stepWeight}`;
  if (!(s.maxWeight >= s.stepWeight && s.maxWeight <= 100)) return `maxWeight: expected a percent from stepWeight (${s.stepWeight}) to 100, got ${s.maxWeight}`;
  if (!(s.intervalSeconds > 0)) return `intervalSeconds: expected a positive number, got ${s.intervalSeconds}`;
  if (!(Number.isInteger(s.threshold) && s.threshold >= 1)) return `threshold: expected an integer >= 1, got ${s.threshold}`;
  if (!(Number.isInteger(s.maxInconclusive) && s.maxInconclusive >= 1)) return `maxInconclusive: expected an integer >= 1, got ${s.maxInconclusive}`;
  return undefined;
}

export function startShift(now: number, s: ShiftSettings): { state: ShiftState; action: ShiftAction } {
  const weight = Math.min(s.stepWeight, s.maxWeight);
  return { state: { phase: 'shifting', weight, startedAt: now, stepStartedAt: now, failedChecks: 0, inconclusive: 0, checks: 0, reason: 'started' }, action: { kind: 'set_weight', weight } };
}

/**
 * One look at a switchover at time `now` (s). `check` is the verdict on the window since the step began
 * (new vs old), given when the interval has passed, or at any time as `unhealthy`. Before the interval ends
 * (and without `unhealthy`) it holds. A pass moves to the next step, or promotes at maxWeight; a failed
 * check holds the weight for another interval and rolls back at `threshold` in a row; an unhealthy new
 * instance rolls back at once; `maxInconclusive` steps in a row with too little traffic count as a failed
 * check. A finished switchover stays as it is.
 */
export function stepShift(state: ShiftState, now: number, check: ShiftCheck | undefined, s: ShiftSettings): { state: ShiftState; action: ShiftAction } {
  if (state.phase !== 'shifting') return { state, action: { kind: 'hold' } };
  if (check === 'unhealthy') return { state: { ...state, phase: 'rolled_back', weight: 0, failedChecks: state.failedChecks + 1, reason: 'rolled_back_unhealthy' }, action: { kind: 'rollback' } };
  if (now - state.stepStartedAt < s.intervalSeconds - 1e-9 || check === undefined) return { state: { ...state, reason: 'waiting' }, action: { kind: 'hold' } };
  let failed = false;
  let inconclusive = state.inconclusive;
  if (check === 'pass') inconclusive = 0;
  else if (check === 'degraded') failed = true;
  else {
    inconclusive++;
    if (inconclusive >= s.maxInconclusive) {
      failed = true;
      inconclusive = 0;
    }
  }
  if (failed) {
    const failedChecks = state.failedChecks + 1;
    if (failedChecks >= s.threshold) return { state: { ...state, phase: 'rolled_back', weight: 0, failedChecks, inconclusive, checks: state.checks + 1, reason: 'rolled_back_on_checks' }, action: { kind: 'rollback' } };
    return { state: { ...state, failedChecks, inconclusive, checks: state.checks + 1, stepStartedAt: now, reason: 'check_failed' }, action: { kind: 'hold' } };
  }
  if (check !== 'pass') return { state: { ...state, inconclusive, stepStartedAt: now, reason: 'inconclusive' }, action: { kind: 'hold' } };
  if (state.weight >= s.maxWeight - 1e-9) return { state: { ...state, phase: 'completed', weight: 100, failedChecks: 0, inconclusive: 0, checks: state.checks + 1, stepStartedAt: now, reason: 'promoted' }, action: { kind: 'promote' } };
  const weight = Math.min(s.maxWeight, state.weight + s.stepWeight);
  return { state: { ...state, weight, failedChecks: 0, inconclusive: 0, checks: state.checks + 1, stepStartedAt: now, reason: 'step_passed' }, action: { kind: 'set_weight', weight } };
}

/**
 * Balancer weights for a switchover at `weight` percent of the final weight, each instance's full weight
 * being `base`:
 * - `add` (new capacity beside the old, a scale-out): the old keep `base`, the new get `base x weight%`;
 * - `replace` (a version or type moving in place of the old): the new group's share of traffic is weight%,
 *   the old group's the rest, split evenly inside each group (at 100 % the old get nothing).
 */
export function shiftWeights(mode: 'add' | 'replace', oldCount: number, newCount: number, weight: number, base = 1): { old: number; new: number } {
  const w = Math.min(100, Math.max(0, weight)) / 100;
  if (mode === 'add' || oldCount === 0) return { old: base, new: base * w };
  if (newCount === 0) return { old: base, new: 0 };
  // Shares of traffic: the new group w, the old 1 - w. The old keep `base` each while they have any share.
  if (w >= 1) return { old: 0, new: base };
  return { old: base, new: (base * oldCount * w) / (newCount * (1 - w)) };
}
