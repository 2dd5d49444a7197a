// Scaling strategies behind one interface. The simulator, shadow experiments and the live loop all
// call `decide` with an Observation; time is passed in, never read. Design: docs/design/strategies.md

import { instancesFor } from './capacity.js';
import { forecastPeak, type Forecast } from './forecast.js';
import {
  hpaReplicaCount,
  scaleDownLimit,
  scaleUpLimit,
  stabilize,
  type HpaScalingRules,
  type Recommendation,
  type ScaleEvent,
} from './hpa.js';
import type { Decision, Reason, StrategyName } from './reasons.js';

/** What a strategy sees at a decision point. */
export interface Observation {
  /** Seconds (epoch or trace-relative). */
  readonly now: number;
  /** Instances requested: ready plus still starting. */
  readonly current: number;
  /** Instances passing their readiness check (they may still be warming up). */
  readonly ready: number;
  /** Mean busy fraction of the ready instances over the metric window; NaN when unknown. */
  readonly utilization: number;
  /** Observed arrival rate (req/s) over the metric window; NaN when unknown. */
  readonly demandRps: number;
  /** False when the metrics are missing or older than allowed. */
  readonly metricsFresh: boolean;
  /** Periods (minutes) judged against the SLO so far, cumulative; absent where nothing judges it. */
  readonly sloJudged?: number;
  /** Of those, the periods that violated the SLO, cumulative. */
  readonly sloViolated?: number;
}

export interface Strategy {
  readonly name: StrategyName;
  /** How often `decide` should be called, in seconds. */
  readonly periodSeconds: number;
  decide(obs: Observation, forecast?: Forecast): Decision;
  /** The capacity model was refit: requests/s one warm instance serves within the SLO (strategies that use it). */
  updateCapacity?(perInstanceRps: number): void;
  /**
   * A restart: the recorded demand (oldest first) and the risk the last run reached, for strategies
   * that learn online (the SLO policy). Returns the points it replayed and the holes it replayed as blind.
   */
  warmStart?(history: readonly DemandPoint[], resume?: WarmStartResume): WarmStartResult;
}

export interface WarmStartResult {
  /** Recorded demand points replayed. */
  readonly replayed: number;
  /** Holes in them longer than `staleSeconds`, replayed as blind decisions. */
  readonly blind: number;
}

/** What a restart restores beside the recorded demand (docs/design/strategies.md, the SLO policy's step 8). */
export interface WarmStartResume {
  /** The risk the last run had reached, and the minutes it had adapted over. */
  readonly risk?: number;
  readonly adaptedMinutes?: number;
  /** Older points (per-minute means, say) that seed the daily peaks beyond the replay. */
  readonly daily?: readonly DemandPoint[];
  /** A hole in the recorded demand longer than this was a blind episode (metrics missing or stale, or no loop). */
  readonly staleSeconds?: number;
}

/** An observed arrival rate at a time (seconds). */
export interface DemandPoint {
  readonly at: number;
  readonly rps: number;
}

export interface PoolBounds {
  readonly minInstances: number;
  readonly maxInstances: number;
}

// ---------------------------------------------------------------------------------------------
// reactive: the Kubernetes HPA

export interface ReactiveSettings extends PoolBounds {
  readonly targetUtilization: number;
  readonly tolerance: number;
  readonly periodSeconds: number;
  readonly scaleUp: HpaScalingRules;
  readonly scaleDown: HpaScalingRules;
}

/**
 * The HPA's decision procedure, step for step:
 * 1. replica count from the utilization ratio (hpaReplicaCount), or hold when metrics are missing;
 * 2. stabilization over recent recommendations (300 s window for scale-down by default);
 * 3. rate limits from the scaling policies and the min/max bounds.
 */
export class ReactiveStrategy implements Strategy {
  readonly name = 'reactive' as const;
  readonly periodSeconds: number;
  private readonly s: ReactiveSettings;
  private recommendations: Recommendation[] = [];
  private upEvents: ScaleEvent[] = [];
  private downEvents: ScaleEvent[] = [];

  /** How long scale events matter to the rate limits: the longest policy period. */
  private readonly eventHorizon: number;

  constructor(settings: ReactiveSettings) {
    this.s = settings;
    this.periodSeconds = settings.periodSeconds;
    this.eventHorizon = Math.max(...settings.scaleUp.policies.map((p) => p.periodSeconds), ...settings.scaleDown.policies.map((p) => p.periodSeconds), 0);
  }

  decide(obs: Observation): Decision {
    const s = this.s;
    if (!obs.metricsFresh || !Number.isFinite(obs.utilization) || obs.ready === 0) {
      return { strategy: this.name, at: obs.now, current: obs.current, desired: obs.current, reason: 'missing_metrics_hold', numbers: { ready: obs.ready } };
    }
    const count = hpaReplicaCount({
      currentReplicas: obs.current,
      readyReplicas: obs.ready,
      utilization: obs.utilization,
      targetUtilization: s.targetUtilization,
      tolerance: s.tolerance,
    });
    const raw = count.replicas;
    // Like the HPA controller, a fresh strategy (or a restarted control plane) starts its history with
    // the current count, so the stabilization window holds a scale-in at start.
    if (this.recommendations.length === 0) this.recommendations.push({ at: obs.now, replicas: obs.current });
    this.recommendations.push({ at: obs.now, replicas: raw });
    const keep = Math.max(s.scaleUp.stabilizationWindowSeconds, s.scaleDown.stabilizationWindowSeconds);
    // Recommendations are in time order: only a prefix can have aged out.
    // The one just pushed is kept, so the search always finds one.
    const aged = this.recommendations.findIndex((r) => r.at > obs.now - keep || r.at === obs.now);
    if (aged > 0) this.recommendations.splice(0, aged);
    const stabilized = stabilize(obs.current, raw, this.recommendations, obs.now, s.scaleUp.stabilizationWindowSeconds, s.scaleDown.stabilizationWindowSeconds);

    let desired = stabilized;
    let reason: Reason = count.withinTolerance ? 'within_tolerance' : raw > obs.current ? 'utilization_above_target' : 'utilization_below_target';
    if (stabilized > raw && stabilized >= obs.current && raw < obs.current) reason = 'scale_in_stabilization';
    if (desired > obs.current) {
      const limit = Math.max(obs.current, scaleUpLimit(obs.current, this.upEvents, this.downEvents, s.scaleUp, obs.now));
      if (desired > limit) [desired, reason] = [limit, 'scale_up_rate_limit'];
      if (desired > s.maxInstances) [desired, reason] = [s.maxInstances, 'max_instances'];
    } else if (desired < obs.current) {
      const limit = Math.min(obs.current, scaleDownLimit(obs.current, this.upEvents, this.downEvents, s.scaleDown, obs.now));
      if (desired < limit) [desired, reason] = [limit, 'scale_down_rate_limit'];
      if (desired < s.minInstances) [desired, reason] = [s.minInstances, 'min_instances'];
    }
    if (desired < s.minInstances) [desired, reason] = [s.minInstances, 'min_instances'];
    if (desired > s.maxInstances) [desired, reason] = [s.maxInstances, 'max_instances'];
    this.record(obs.now, obs.current, desired);
    return {
      strategy: this.name,
      at: obs.now,
      current: obs.current,
      desired,
      reason,
      numbers: {
        utilization: obs.utilization,
        targetUtilization: s.targetUtilization,
        usageRatio: count.usageRatio,
        ready: obs.ready,
        recommended: raw,
        stabilized,
      },
    };
  }

  private record(now: number, from: number, to: number): void {
    const horizon = this.eventHorizon;
    if (to > from) this.upEvents.push({ at: now, change: to - from });
    if (to < from) this.downEvents.push({ at: now, change: from - to });
    // Events are in time order: only a prefix can have aged out.
    if (this.upEvents.length > 0 && (this.upEvents[0] as ScaleEvent).at <= now - horizon) this.upEvents = this.upEvents.filter((e) => e.at > now - horizon);
    if (this.downEvents.length > 0 && (this.downEvents[0] as ScaleEvent).at <= now - horizon) this.downEvents = this.downEvents.filter((e) => e.at > now - horizon);
  }
}

// ---------------------------------------------------------------------------------------------
// predictive: capacity for the forecast's upper bound over the lead time

export interface PredictiveSettings extends PoolBounds {
  /** Requests/s one warm instance serves within the SLO (from the capacity model). */
  readonly perInstanceRps: number;
  /** Extra fraction on top of the forecast upper bound. */
  readonly headroom: number;
  /** Provisioning + warm-up: how far ahead capacity must be requested. */
  readonly leadTimeSeconds: number;
  readonly periodSeconds: number;
  readonly scaleInStabilizationSeconds: number;
}

/**
 * 1. Take the largest forecast upper bound over [now, now + lead + period]: capacity asked for now
 *    is ready (and warm) by the end of the lead time, and lasts until the next decision after it.
 * 2. Instances for it at the SLO-safe per-instance rate, with headroom, within min/max.
 * 3. Scale in only to the highest recommendation within the stabilization window.
 */
export class PredictiveStrategy implements Strategy {
  readonly name = 'predictive' as const;
  readonly periodSeconds: number;
  private s: PredictiveSettings;
  private recommendations: Recommendation[] = [];

  constructor(settings: PredictiveSettings) {
    this.s = settings;
    this.periodSeconds = settings.periodSeconds;
  }

  updateCapacity(perInstanceRps: number): void {
    if (perInstanceRps > 0) this.s = { ...this.s, perInstanceRps };
  }

  decide(obs: Observation, forecast?: Forecast): Decision {
    const s = this.s;
    const to = obs.now + s.leadTimeSeconds + s.periodSeconds;
    const peak = forecast ? forecastPeak(forecast, obs.now, to) : undefined;
    if (!peak || !Number.isFinite(peak.upper)) {
      return { strategy: this.name, at: obs.now, current: obs.current, desired: obs.current, reason: 'no_forecast_hold', numbers: { windowEnd: to } };
    }
    const demand = Math.max(0, peak.upper) * (1 + s.headroom);
    let raw = instancesFor(demand, s.perInstanceRps);
    let reason: Reason = 'forecast_peak';
    if (raw < s.minInstances) [raw, reason] = [s.minInstances, 'min_instances'];
    if (raw > s.maxInstances) [raw, reason] = [s.maxInstances, 'max_instances'];
    if (this.recommendations.length === 0) this.recommendations.push({ at: obs.now, replicas: obs.current });
    this.recommendations.push({ at: obs.now, replicas: raw });
    this.recommendations = this.recommendations.filter((r) => r.at > obs.now - s.scaleInStabilizationSeconds || r.at === obs.now);
    let desired = raw;
    for (const r of this.recommendations) desired = Math.max(desired, r.replicas);
    // Never above the current request because of the window: the window only delays scale-in.
    if (desired > raw) {
      desired = Math.min(desired, Math.max(obs.current, raw));
      if (desired > raw) reason = 'scale_in_stabilization';
    }
    if (desired === obs.current && reason === 'forecast_peak') reason = 'forecast_steady';
    return {
      strategy: this.name,
      at: obs.now,
      current: obs.current,
      desired,
      reason,
      numbers: {
        forecastUpper: peak.upper,
        forecastMean: peak.mean,
        forecastPeakAt: peak.at,
        headroom: s.headroom,
        perInstanceRps: s.perInstanceRps,
        leadTimeSeconds: s.leadTimeSeconds,
        recommended: raw,
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// hybrid: the larger of predictive and reactive

export class HybridStrategy implements Strategy {
  readonly name = 'hybrid' as const;
  readonly periodSeconds: number;

  constructor(
    private readonly predictive: Strategy,
    private readonly reactive: ReactiveStrategy,
  ) {
    this.periodSeconds = Math.min(predictive.periodSeconds, reactive.periodSeconds);
  }

  updateCapacity(perInstanceRps: number): void {
    this.predictive.updateCapacity?.(perInstanceRps);
  }

  warmStart(history: readonly DemandPoint[], resume?: WarmStartResume): WarmStartResult {
    return this.predictive.warmStart?.(history, resume) ?? { replayed: 0, blind: 0 };
  }

  decide(obs: Observation, forecast?: Forecast): Decision {
    const p = this.predictive.decide(obs, forecast);
    const r = this.reactive.decide(obs);
    // With no forecast the reactive rule alone decides; otherwise the larger one wins.
    const winner = p.reason === 'no_forecast_hold' || r.desired > p.desired ? r : p;
    // A spread, not Object.assign (the same keys in the same order): on node 20, with a decision's twenty
    // numbers, Object.assign onto a fresh object took about five times as long (bench/results/sim.md).
    const numbers: Record<string, number> = { predictiveDesired: p.desired, reactiveDesired: r.desired, ...winner.numbers };
    return { strategy: this.name, at: obs.now, current: obs.current, desired: winner.desired, reason: winner.reason, driver: winner.strategy, numbers };
  }
}

// ---------------------------------------------------------------------------------------------
// oracle: perfect foresight

/**
 * The cheapest instance schedule that has `need[t]` fully warm instances at every second t, when an
 * instance must be requested `lead` seconds before it is warm (provisioning + warm-up) and is billed
 * from request to release. Instances are interchangeable, so the demand profile splits into layers
 * (layer k is on whenever need >= k); each layer's on-periods are independent, and a gap between two
 * on-periods is bridged (kept running) when it is no longer than the lead time, since restarting
 * costs `lead` seconds of billing for nothing.
 * Returns the number of instances that should exist (requested) at each second.
 */
export function oracleSchedule(need: ArrayLike<number>, lead: number, minInstances: number): Int32Array {
  const n = need.length;
  const diff = new Int32Array(n + 1);
  const openStart: number[] = [];
  const pendingEnd: number[] = [];
  let level = 0;
  const flush = (k: number): void => {
    const s = openStart[k] as number;
    const e = pendingEnd[k] as number;
    diff[s] = (diff[s] as number) + 1;
    diff[e] = (diff[e] as number) - 1;
  };
  // Layers 1..minInstances never switch off; only higher layers are scheduled.
  for (let t = 0; t <= n; t++) {
    const want = t < n ? Math.max(minInstances, need[t] as number) : 0;
    if (want > level) {
      for (let k = level + 1; k <= want; k++) {
        const pe = pendingEnd[k];
        if (pe !== undefined && pe >= t - lead) {
          pendingEnd[k] = -1;
          continue;
        }
        if (pe !== undefined && pe >= 0) flush(k);
        openStart[k] = t === 0 ? 0 : Math.max(0, t - lead);
        pendingEnd[k] = -1;
      }
    } else if (want < level) {
      for (let k = want + 1; k <= level; k++) pendingEnd[k] = t;
    }
    level = want;
  }
  for (let k = 1; k < pendingEnd.length; k++) {
    if (pendingEnd[k] !== undefined && (pendingEnd[k] as number) >= 0) flush(k);
  }
  const out = new Int32Array(n);
  let run = 0;
  for (let t = 0; t < n; t++) {
    run += diff[t] as number;
    out[t] = run;
  }
  return out;
}

export class OracleStrategy implements Strategy {
  readonly name = 'oracle' as const;
  readonly periodSeconds = 1;

  /** `schedule[i]` is the count for second `start + i` (from oracleSchedule). */
  constructor(
    private readonly schedule: Int32Array,
    private readonly start: number,
  ) {}

  decide(obs: Observation): Decision {
    const i = Math.min(this.schedule.length - 1, Math.max(0, Math.floor(obs.now - this.start)));
    const desired = this.schedule[i] as number;
    return { strategy: this.name, at: obs.now, current: obs.current, desired, reason: 'oracle_schedule', numbers: { scheduled: desired } };
  }
}
