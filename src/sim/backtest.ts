// The backtest: one trace, replayed through the simulator once per strategy, reported side by side
// with the oracle. The JSON shape is the DESIGN contract (`shadowscale backtest --json`).

import { buildStrategy, serviceModel, simSettings, type ServiceModel } from '../config/derive.js';
import type { Config, ServiceConfig } from '../config/schema.js';
import { oracleSchedule } from '../core/strategy.js';
import { STRATEGY_NAMES, type Reason, type StrategyName } from '../core/reasons.js';
import { neededInstances, simulate, type MinuteRecord, type SimResult } from './simulator.js';
import type { Trace } from './trace.js';
import { buildWorkload, type Workload } from './workload.js';
import type { Forecast } from '../core/forecast.js';
import { round } from '../core/stats.js';

export interface BacktestOptions {
  readonly config: Config;
  readonly service: ServiceConfig;
  readonly peakRps: number;
  readonly strategies: readonly StrategyName[];
  readonly onProgress?: (strategy: StrategyName, done: number) => void;
  /** Each strategy's minute records (the oracle's when prepared with `recordMinutes`), for a timeline. */
  readonly onMinutes?: (strategy: StrategyName, minutes: readonly MinuteRecord[]) => void;
}

export interface StrategyReport {
  readonly cost: number;
  readonly instanceHours: number;
  readonly sloViolationMinutes: number;
  readonly sloAttainment: number;
  readonly overProvisioning: number;
  readonly scalingActions: number;
  readonly costRatioToOracle: number | null;
  readonly maxInstances: number;
  readonly requests: number;
  readonly failedRequests: number;
  readonly reasons: Partial<Record<Reason, number>>;
}

export interface BacktestReport {
  readonly input: { file: string; column: string; step: number; rows: number; timeFormat: string; gaps: number; missingPoints: number; simulatedSeconds: number };
  readonly settings: Record<string, unknown>;
  readonly strategies: Partial<Record<StrategyName, StrategyReport>>;
}

/** What every run over one trace shares: the workload, the initial pool and the oracle's result. */
export interface Prepared {
  readonly workload: Workload;
  readonly initial: number;
  readonly oracle: SimResult;
  readonly oracleCost: number;
}

export function prepareBacktest(trace: Trace, o: { config: Config; service: ServiceConfig; peakRps: number; recordMinutes?: boolean }): Prepared {
  const m = serviceModel(o.config, o.service);
  const workload = buildWorkload(trace, { peakRps: o.peakRps, noise: o.config.simulation.noise, seed: o.config.simulation.seed });
  const need = neededInstances(workload, m.perInstanceRps, m.bounds.minInstances);
  // Every strategy starts with what the first lead time needs, fully warm.
  let initial = m.bounds.minInstances;
  for (let i = 0; i < Math.min(need.length, m.leadTimeSeconds + 1); i++) initial = Math.max(initial, need[i] as number);
  initial = Math.min(initial, m.bounds.maxInstances);
  const oracle = simulate(workload, buildStrategy('oracle', m, { schedule: oracleSchedule(clampNeed(need, m), m.leadTimeSeconds, m.bounds.minInstances), start: workload.start }), { ...simSettings(o.config, m, initial), recordMinutes: o.recordMinutes ?? false });
  return { workload, initial, oracle, oracleCost: oracle.bill.total };
}

export function runBacktest(trace: Trace, o: BacktestOptions, prepared?: Prepared): BacktestReport {
  const m = serviceModel(o.config, o.service);
  const p = prepared ?? prepareBacktest(trace, o);
  const { workload: w, initial } = p;
  const settings = simSettings(o.config, m, initial);
  // The oracle is always run: every ratio is reported against it.
  const names: StrategyName[] = [...new Set<StrategyName>([...o.strategies, 'oracle'])].sort((a, b) => STRATEGY_NAMES.indexOf(a) - STRATEGY_NAMES.indexOf(b));
  const results = new Map<StrategyName, SimResult>();
  // One forecast per refit, shared by the strategies that read it.
  const forecastCache = new Map<number, Forecast | undefined>();
  for (const name of names) {
    if (name === 'oracle') {
      o.onProgress?.(name, 1);
      results.set(name, p.oracle);
      continue;
    }
    results.set(name, simulate(w, buildStrategy(name, m), { ...settings, forecastCache, recordMinutes: o.onMinutes !== undefined }, o.onProgress ? (d) => o.onProgress?.(name, d) : undefined));
  }
  if (o.onMinutes) for (const [name, r] of results) if (r.minuteRecords) o.onMinutes(name, r.minuteRecords);
  const oracleCost = results.get('oracle')?.bill.total;
  const strategies: Partial<Record<StrategyName, StrategyReport>> = {};
  for (const name of names) {
    if (name === 'oracle' && !o.strategies.includes('oracle')) continue;
    const r = results.get(name) as SimResult;
    strategies[name] = {
      cost: round(r.bill.total, 4),
      instanceHours: round(r.bill.instanceHours, 3),
      sloViolationMinutes: r.sloViolationMinutes,
      sloAttainment: round(r.sloAttainment, 6),
      overProvisioning: round(r.overProvisioning, 4),
      scalingActions: r.scalingActions,
      costRatioToOracle: oracleCost ? round(r.bill.total / oracleCost, 4) : null,
      maxInstances: r.maxInstances,
      requests: Math.round(r.requests),
      failedRequests: Math.round(r.failedRequests),
      reasons: r.reasons,
    };
  }
  return {
    input: {
      file: trace.file,
      column: trace.column,
      step: trace.step,
      rows: trace.stats.rows,
      timeFormat: trace.timeFormat,
      gaps: trace.gaps.length,
      missingPoints: trace.gaps.reduce((s, g) => s + g.missingPoints, 0),
      simulatedSeconds: w.activeSeconds,
    },
    settings: effectiveSettings(o, m, initial),
    strategies,
  };
}

function clampNeed(need: Int32Array, m: ServiceModel): Int32Array {
  const out = new Int32Array(need.length);
  for (let i = 0; i < need.length; i++) out[i] = Math.min(m.bounds.maxInstances, need[i] as number);
  return out;
}

function effectiveSettings(o: BacktestOptions, m: ServiceModel, initial: number): Record<string, unknown> {
  return {
    service: o.service.name,
    peakRps: o.peakRps,
    instanceType: { name: m.typeName, ...m.type },
    perInstanceRpsAtSlo: round(m.perInstanceRps, 3),
    leadTimeSeconds: m.leadTimeSeconds,
    initialInstances: initial,
    slo: o.service.slo,
    pool: o.service.pool,
    scaling: o.service.scaling,
    forecast: o.service.forecast,
    simulation: o.config.simulation,
  };
}
