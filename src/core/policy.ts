// Bounds every scaling action passes through before it is recorded and applied, whatever the
// strategy: never scale in on missing metrics, min/max, maximum step, cool-downs.

import type { Decision, Reason } from './reasons.js';
import type { Observation } from './strategy.js';

export interface ActionBounds {
  readonly minInstances: number;
  readonly maxInstances: number;
  /** Most instances added by one action. */
  readonly maxStepUp: number;
  /** Most instances removed by one action. */
  readonly maxStepDown: number;
  /** Seconds after any scale-up before the next scale-up. */
  readonly cooldownUpSeconds: number;
  /** Seconds after any scaling action before a scale-down. */
  readonly cooldownDownSeconds: number;
}

export interface ActionHistory {
  /** When the last scale-up was applied (-Infinity if never). */
  readonly lastUpAt: number;
  /** When the last scaling action of either direction was applied (-Infinity if never). */
  readonly lastChangeAt: number;
}

export const NO_HISTORY: ActionHistory = { lastUpAt: Number.NEGATIVE_INFINITY, lastChangeAt: Number.NEGATIVE_INFINITY };

/** Apply the bounds in order; the first one that changes the target names the reason. */
export function boundDecision(d: Decision, obs: Observation, b: ActionBounds, h: ActionHistory): Decision {
  let desired = d.desired;
  let reason: Reason = d.reason;
  // The strategy's desired count before the first bound changed it; the numbers are copied only
  // when a bound applies (most decisions pass unchanged, and the simulator makes millions).
  let unbounded = Number.NaN;
  const set = (value: number, why: Reason): void => {
    if (value !== desired) {
      if (Number.isNaN(unbounded)) unbounded = desired;
      desired = value;
      reason = why;
    }
  };
  if (desired < obs.current && !obs.metricsFresh) set(obs.current, 'missing_metrics_hold');
  if (desired > obs.current && obs.now - h.lastUpAt < b.cooldownUpSeconds) set(obs.current, 'cooldown');
  if (desired < obs.current && obs.now - h.lastChangeAt < b.cooldownDownSeconds) set(obs.current, 'cooldown');
  if (desired > obs.current + b.maxStepUp) set(obs.current + b.maxStepUp, 'max_step');
  if (desired < obs.current - b.maxStepDown) set(obs.current - b.maxStepDown, 'max_step');
  if (desired < b.minInstances) set(b.minInstances, 'min_instances');
  if (desired > b.maxInstances) set(b.maxInstances, 'max_instances');
  if (desired === d.desired) return d;
  return { ...d, desired, reason, numbers: { ...d.numbers, unbounded: d.numbers.unbounded ?? unbounded } };
}

export function recordAction(h: ActionHistory, now: number, from: number, to: number): ActionHistory {
  if (to === from) return h;
  return { lastUpAt: to > from ? now : h.lastUpAt, lastChangeAt: now };
}
