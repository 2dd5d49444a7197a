// Turns a validated service configuration into the plain settings the core strategies and the
// simulator take. The live loop uses the same functions, so a backtest means what production does.

import type { DependencyEdge } from '../core/dependencies.js';
import type { KnownEvent } from '../core/events.js';
import { maxRateAtSlo } from '../core/capacity.js';
import { ShadowscaleError } from '../core/errors.js';
import type { ActionBounds } from '../core/policy.js';
import type { StrategyName } from '../core/reasons.js';
import { SloPolicyStrategy } from '../core/slo-policy.js';
import { HybridStrategy, OracleStrategy, PredictiveStrategy, ReactiveStrategy, type Strategy } from '../core/strategy.js';
import type { SimSettings } from '../sim/simulator.js';
import type { Config, InstanceTypeConfig, ServiceConfig } from './schema.js';

export interface ServiceModel {
  readonly service: ServiceConfig;
  readonly type: InstanceTypeConfig;
  readonly typeName: string;
  /** Requests/s one warm instance serves with p99 within the SLO (M/M/c). */
  readonly perInstanceRps: number;
  readonly leadTimeSeconds: number;
  readonly bounds: ActionBounds;
}

export function serviceModel(cfg: Config, service: ServiceConfig): ServiceModel {
  const type = cfg.instanceTypes[service.instanceType] as InstanceTypeConfig;
  const serviceTime = type.serviceTimeMs / 1000;
  const perInstanceRps = maxRateAtSlo(type.slots, serviceTime, service.slo.latencyP99Ms / 1000);
  if (!(perInstanceRps > 0)) {
    throw new ShadowscaleError(
      'SHADOWSCALE_E_SLO_INFEASIBLE',
      `services[${cfg.services.indexOf(service)}].slo.latencyP99Ms: ${service.slo.latencyP99Ms} ms cannot be met by instance type "${service.instanceType}" ` +
        `(mean service time ${type.serviceTimeMs} ms: even an idle instance has p99 ${(Math.log(100) * type.serviceTimeMs).toFixed(0)} ms); raise the SLO or use a faster type`,
    );
  }
  return {
    service,
    type,
    typeName: service.instanceType,
    perInstanceRps,
    leadTimeSeconds: service.scaling.leadTimeSeconds ?? type.provisioningSeconds + type.warmupSeconds,
    bounds: {
      minInstances: service.pool.min,
      maxInstances: service.pool.max,
      maxStepUp: service.scaling.maxStepUp,
      maxStepDown: service.scaling.maxStepDown,
      cooldownUpSeconds: service.scaling.cooldownUpSeconds,
      cooldownDownSeconds: service.scaling.cooldownDownSeconds,
    },
  };
}

/**
 * The utilization at which one instance still meets the SLO: the rate at the SLO over the rate it
 * serves flat out. Hybrid's reactive safety net targets it by default, so the net acts only where live
 * runs past what the SLO allows and the forecast-driven policy sets the capacity otherwise.
 */
export function sloUtilization(m: ServiceModel): number {
  return Math.min(0.99, m.perInstanceRps / (m.type.slots / (m.type.serviceTimeMs / 1000)));
}

export function reactiveStrategy(m: ServiceModel, targetUtilization = m.service.scaling.reactive.targetUtilization): ReactiveStrategy {
  const r = m.service.scaling.reactive;
  return new ReactiveStrategy({
    minInstances: m.bounds.minInstances,
    maxInstances: m.bounds.maxInstances,
    targetUtilization,
    tolerance: r.tolerance,
    periodSeconds: m.service.scaling.periodSeconds,
    scaleUp: r.scaleUp,
    scaleDown: r.scaleDown,
  });
}

/**
 * The share of the error budget the SLO policy aims to spend by default. Its online calibration meets
 * the aim on average, so a service aiming at its SLO itself ends a month just below it about half the
 * time (hybrid's default reached 99.9 % on 21 of 48 shared series); aiming at half the budget reached
 * it on 36 of 48 for 2.4 % more cost (docs/design/strategies.md).
 */
export const DEFAULT_BUDGET_SHARE = 0.5;

/** The attainment the SLO policy aims for: as configured, else half the SLO's error budget spent. */
export function aimedAttainment(service: ServiceConfig): number {
  return service.scaling.predictive.targetAttainment ?? 1 - DEFAULT_BUDGET_SHARE * (1 - service.slo.attainment);
}

export function predictiveStrategy(m: ServiceModel): Strategy {
  const sc = m.service.scaling;
  if (sc.predictive.policy === 'slo') {
    return new SloPolicyStrategy({
      minInstances: m.bounds.minInstances,
      maxInstances: m.bounds.maxInstances,
      perInstanceRps: m.perInstanceRps,
      leadTimeSeconds: m.leadTimeSeconds,
      periodSeconds: sc.periodSeconds,
      attainment: aimedAttainment(m.service),
      calibrationSeconds: sc.predictive.calibrationSeconds,
      adaptRate: sc.predictive.adaptRate,
      adaptDecaySeconds: sc.predictive.adaptDecaySeconds,
      riskLevelExponent: sc.predictive.riskLevelExponent,
      coldMargin: sc.predictive.coldMargin,
      scaleInHoldLeads: sc.predictive.scaleInHoldLeads,
    });
  }
  return new PredictiveStrategy({
    minInstances: m.bounds.minInstances,
    maxInstances: m.bounds.maxInstances,
    perInstanceRps: m.perInstanceRps,
    headroom: sc.headroom,
    leadTimeSeconds: m.leadTimeSeconds,
    periodSeconds: sc.periodSeconds,
    scaleInStabilizationSeconds: sc.scaleInStabilizationSeconds,
  });
}

/** The target utilization of hybrid's reactive safety net. */
export function hybridNetUtilization(m: ServiceModel): number {
  const t = m.service.scaling.hybrid.reactiveTargetUtilization;
  return t === 'auto' ? sloUtilization(m) : t;
}

/** A fresh strategy instance (strategies keep state, so each run needs its own). */
export function buildStrategy(name: StrategyName, m: ServiceModel, oracle?: { schedule: Int32Array; start: number }): Strategy {
  switch (name) {
    case 'reactive':
      return reactiveStrategy(m);
    case 'predictive':
      return predictiveStrategy(m);
    case 'hybrid':
      return new HybridStrategy(predictiveStrategy(m), reactiveStrategy(m, hybridNetUtilization(m)));
    case 'oracle':
      if (!oracle) throw new Error('the oracle strategy needs the precomputed schedule');
      return new OracleStrategy(oracle.schedule, oracle.start);
  }
}

export function simSettings(cfg: Config, m: ServiceModel, initialInstances: number): SimSettings {
  const { type, service } = m;
  return {
    pool: {
      slots: type.slots,
      serviceTime: type.serviceTimeMs / 1000,
      queueLimit: type.queueLimit,
      provisioningSeconds: type.provisioningSeconds,
      warmupSeconds: type.warmupSeconds,
      warmupCapacity: type.warmupCapacity,
      ...(service.scaling.switchover.warmBeforeTraffic ? { warmBeforeTraffic: true } : {}),
    },
    sloLatency: service.slo.latencyP99Ms / 1000,
    sloErrorRate: service.slo.errorRate,
    perInstanceRps: m.perInstanceRps,
    bounds: m.bounds,
    prices: type.prices,
    plan: { reservedInstances: service.scaling.reservedInstances, spotShare: service.scaling.spot.share },
    spotInterruptionsPerHour: service.scaling.spot.interruptionsPerHour,
    metricWindowSeconds: service.scaling.reactive.metricWindowSeconds,
    staleMetricsSeconds: service.scaling.staleMetricsSeconds,
    forecast: {
      model: service.forecast.model,
      level: service.forecast.level,
      refitSeconds: service.forecast.refitSeconds,
      refitHours: service.forecast.refitHours,
      seasonality: service.forecast.seasonality,
      historyDays: service.forecast.historyDays,
      events: knownEvents(service),
    },
    initialInstances,
    seed: cfg.simulation.seed,
  };
}

/** The service's known events, in epoch seconds (with their multipliers where declared). */
export function knownEvents(service: ServiceConfig): KnownEvent[] {
  return service.events.map((e) => ({ name: e.name, start: Date.parse(e.start) / 1000, end: Date.parse(e.end) / 1000, recurrence: e.recurrence, ...(e.multiplier !== undefined ? { multiplier: e.multiplier } : {}) }));
}

/** The configuration's dependency edges (a name alone declares no ratio). */
export function dependencyEdges(cfg: Config): DependencyEdge[] {
  return cfg.services.flatMap((s) => s.dependencies.map((d) => (typeof d === 'string' ? { from: s.name, to: d } : { from: s.name, to: d.service, perRequest: d.perRequest, ratio: d.ratio })));
}
