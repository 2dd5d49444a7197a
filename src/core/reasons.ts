// The closed set of reasons a scaling decision can carry. The API, CLI and dashboard show them
// verbatim; add one here (with its explanation) before using it anywhere.

import type { DecisionProof } from './gate.js';

export const REASONS = {
  within_tolerance: 'Reactive: the metric is within the tolerance band of its target; no change.',
  utilization_above_target: 'Reactive: utilization above target; desired = ceil(current x metric / target).',
  utilization_below_target: 'Reactive: utilization below target; desired = ceil(current x metric / target).',
  forecast_peak: "Predictive: capacity for the forecast's upper bound over [now, now + lead time + period].",
  forecast_steady: 'Predictive: the forecast needs the capacity already requested.',
  slo_forecast: "Predictive (SLO policy): capacity for the calibrated bound of the peak demand over [now, now + lead time + period], at the risk the error budget allows.",
  known_event: "Predictive (SLO policy): a known event of declared size (the service's events[].multiplier; for a yearly event without one, the size its last occurrence showed in the store) starts or grows within [now, now + lead time + period], and the forecast, which has it, needs at least the calibrated bound: capacity for the forecast's calibrated bound (numbers: eventLift, eventBoundRps).",
  slo_calibrating: 'Predictive (SLO policy): too few resolved predictions to calibrate yet; the observed rate plus the cold-start margin.',
  scale_in_stabilization: 'A lower target is held back by the scale-in stabilization window (or, for the SLO policy, by the second-by-second noise of its bound).',
  scale_up_rate_limit: 'The scale-up rate policy (instances or percent per period) capped the increase.',
  scale_down_rate_limit: 'The scale-down rate policy capped the decrease.',
  max_step: 'The per-decision maximum step capped the change.',
  cooldown: 'A change in this direction happened too recently (cool-down).',
  min_instances: 'Raised to the pool minimum.',
  max_instances: 'Capped at the pool maximum.',
  missing_metrics_hold: 'Metrics are missing or stale: hold (never scale in on missing data).',
  missing_metrics_forecast: "Metrics are missing or stale (SLO policy): never a scale-in, and a scale-out to the calibrated bound of the larger of the recent long peak and the forecast's peak along the level last observed, at the risk the error budget allows (numbers: the last observed rate and its time, the recent peak, the forecast along, the bound).",
  no_forecast_hold: 'No forecast is available yet: hold the current capacity.',
  dependency_ahead: "A service that calls this one expects more demand within this one's lead time: scaled ahead to what its calls need (numbers: each caller's expected req/s and calls per request, the propagated req/s, the floor), before this one's own load rises.",
  mutations_ahead: "A stateful service's write-rate forecast (its upper bound over the lead time, at the requests per write it serves) needs more capacity than the decision: scaled ahead for the writes, which often rise before reads (numbers: the writes' upper bound, the requests per write, the implied req/s, the floor).",
  delta_degradation: 'Delta analysis confirmed live is slower or failing more than the shadow at comparable load: the configured action (add an instance).',
  oracle_schedule: 'Oracle: the cheapest SLO-safe schedule computed with perfect foresight.',
  proof_pending: 'Proof required: the change waits for a trial on the shadow to prove its configuration (the current one holds).',
  proof_failed: 'Proof required: every configuration the change could use failed its trial on the shadow; the current one holds.',
  proven_count: 'Proof required: the trials on the shadow proved another count than the strategy asked for (the smallest proven scale-in, or the smallest proven scale-up).',
  proven_type_change: 'Proof required: a cheaper instance type was proven on the shadow to carry the target; the pool moves to it.',
  type_change_hold: 'The live pool is moving to another instance type: no scale-in until the move completes or rolls back (scale-ups add instances of the current type).',
  unproven_emergency: 'Live is over its utilization target and the scale-up is not proven yet: the reactive safety net acts without waiting.',
  operator_paused: 'An operator paused acting (API): decisions go on and are recorded as what would have been done; the pool holds its size.',
  operator_resumed: 'An operator resumed acting (API).',
  operator_mode: 'An operator set the scaling mode (API): act, or forecast-only (decide and record, never act).',
  operator_bounds: 'An operator overrode the pool bounds (min/max) for a window (API).',
  operator_event: "An operator declared a known event (API): from the next refit the strategies' forecasts fit the history without it and have it (events[].multiplier in the configuration, at run time); a yearly one declared without a multiplier (numbers without multiplier) has the size its last occurrence showed in the store.",
  operator_event_removed: 'An operator removed a known event declared at run time (API); the forecasts no longer have it from the next refit.',
  operator_bounds_cleared: 'An operator removed the bounds override (API); the configured bounds apply again.',
  bounds_override_expired: "The operator's bounds override reached its end; the configured bounds apply again.",
  switchover_promoted: 'The new live instances of a scale-out passed every step of their ramp against the old ones and now take a full share (the target is unchanged).',
  switchover_rolled_back: 'A ramp-in failed its checks against the old instances (or a new instance failed): its instances are drained and replaced (the target is unchanged).',
  rollout_started: 'A version rollout started (shadowscale rollout, API): the shadow runs the new version first and delta analysis compares it with live; live is untouched.',
  rollout_stopped: 'A version rollout stopped in the shadow: the new version was worse than live (latency at comparable load, errors), lost too much capacity in its trial, crashed, had too little traffic to judge, or timed out. Live never served it; the shadow goes back.',
  rollout_shift_started: "A version rollout passed the shadow: the new version's live instances start beside the old ones (as many as its measured capacity needs), then take traffic in steps.",
  rollout_rolled_back: "A version rollout failed its checks during the shift (or a new instance failed): the new version's weights go to 0, its instances are drained and deleted; the old version keeps serving.",
  rollout_completed: 'A version rollout passed every step of its shift: the new version is the live version at the recorded count; the old instances are drained and deleted.',
  vertical_move: "Delta analysis confirmed live slower or failing more than the shadow at comparable load and the configured action is vertical: the pool moves to delta.verticalType at the same count, through a switchover (new instances beside the old, traffic shifted in steps).",
  type_change_completed: 'A move of the live pool to another instance type passed every step of its shift: the new type is the live type at the recorded count; the old instances are drained and deleted.',
  type_change_rolled_back: "A move of the live pool to another instance type failed its checks during the shift, a new instance failed or was not ready in time, or the control plane restarted mid-move: the new type's weights go to 0, its instances are drained and deleted; the old type keeps serving at its count.",
  rollout_hold: 'A version rollout is under way: no scale-in until it completes or rolls back (scale-ups add instances of the current version).',
  operator_proof: 'An operator asked for a proof (API): a trial on the shadow of an instance type around a rate per instance, within the trial budget.',
} as const;

export type Reason = keyof typeof REASONS;

/**
 * The operator's standing changes, which a restart reads back from the newest decision with one of these
 * reasons (a pause until a resume, a bounds override until its end, a mode): retention never removes them.
 */
export const OPERATOR_STATE_REASONS = {
  pause: ['operator_paused', 'operator_resumed'],
  bounds: ['operator_bounds', 'operator_bounds_cleared', 'bounds_override_expired'],
  mode: ['operator_mode'],
} as const satisfies Record<string, readonly Reason[]>;

export type StrategyName = 'reactive' | 'predictive' | 'hybrid' | 'oracle';
export const STRATEGY_NAMES: readonly StrategyName[] = ['reactive', 'predictive', 'hybrid', 'oracle'];

/** A scaling decision: the desired instance count, why, and the numbers behind it. */
export interface Decision {
  readonly strategy: StrategyName;
  readonly at: number;
  readonly current: number;
  readonly desired: number;
  readonly reason: Reason;
  /** Which strategy drove a hybrid decision. */
  readonly driver?: StrategyName;
  readonly numbers: Readonly<Record<string, number>>;
  /** The instance type of `desired` when the decision changes the pool's type. */
  readonly instanceType?: string;
  /** What the proof gate said (src/core/gate.ts), recorded with the decision before it acts. */
  readonly proof?: DecisionProof;
  /** Not acted on: the loop was in forecast-only mode or paused; why, and the target it would have set. */
  readonly wouldHave?: WouldHave;
  /** A change an operator made through the API (pause, mode, bounds): who, and what. */
  readonly operator?: OperatorAction;
}

/** Why a decision was not acted on. */
export type NotActing = 'forecast-only' | 'paused';

/** A decision recorded but not acted on: why, and the target (after bounds and proof) it would have set. */
export interface WouldHave {
  readonly why: NotActing;
  readonly target: number;
}

/** The scaling modes: act on decisions, or only decide and record them (AWS ForecastOnly, Crane Preview, VPA Off). */
export type ScalingMode = 'act' | 'forecast-only';
export const SCALING_MODES: readonly ScalingMode[] = ['act', 'forecast-only'];

export interface OperatorAction {
  /** The token's name (or "loopback" when the API has no tokens). */
  readonly by: string;
  readonly mode?: ScalingMode;
  /** The configured mode when the operator set `mode` (a restart keeps the operator's mode only while the config still says this). */
  readonly configMode?: ScalingMode;
  readonly min?: number;
  readonly max?: number;
  /** End of a bounds override (ms since the epoch). */
  readonly until?: number;
  /** A known event declared or removed (times in ms since the epoch). */
  readonly event?: { readonly id: string; readonly name: string; readonly start: number; readonly end: number; readonly recurrence: string; readonly multiplier: number | null };
  /** A proof asked for: the instance type and the rate per instance. */
  readonly instanceType?: string;
  readonly perInstanceRps?: number;
  readonly note?: string;
}
