// The cost-SLO frontier: each strategy replayed over a range of its own knob, so strategies are
// compared at equal SLO attainment instead of at their default settings. Design: docs/design/frontier.md
//
// 1. Knobs: reactive sweeps the HPA's target utilization; predictive and hybrid sweep the attainment
//    the SLO policy aims for (scaling.predictive.targetAttainment, its risk), or the headroom with the forecast-upper policy.
// 2. Every run replays the same workload; the forecasts are computed once and shared (they depend on
//    the demand history only, not on the strategy).
// 3. A strategy's frontier is its set of undominated points (no other point is cheaper and at least as
//    good); its cost at an attainment is interpolated linearly between the two frontier points around
//    it, and is null where no point reaches it.

import { buildStrategy, serviceModel, simSettings } from '../config/derive.js';
import type { Config, ServiceConfig } from '../config/schema.js';
import type { Forecast } from '../core/forecast.js';
import { costAt, paretoFrontier, type CostPoint } from '../core/frontier.js';
import type { StrategyName } from '../core/reasons.js';
import { simulate, type SimResult } from './simulator.js';
import { prepareBacktest, type Prepared } from './backtest.js';
import type { Trace } from './trace.js';
import { round } from '../core/stats.js';
import { onWorkers } from '../threads/pool.js';

export interface FrontierPoint extends CostPoint {
  readonly knob: number;
  readonly costRatioToOracle: number | null;
  readonly sloViolationMinutes: number;
}

export type SweptStrategy = Exclude<StrategyName, 'oracle'>;

/** The attainments at which costs are reported (keys of `costAtAttainment`). */
export const REPORTED_ATTAINMENTS = ['0.999', '0.995'] as const;

export const DEFAULT_KNOBS: Readonly<Record<'reactive' | 'slo' | 'headroom', readonly number[]>> = {
  // Down to 10 %: a bursty service's HPA meets 99.9 % only there, if at all (bench/results/frontier.md).
  reactive: [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8],
  slo: [0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9998],
  headroom: [0, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5],
};

export interface SweepOptions {
  readonly config: Config;
  readonly service: ServiceConfig;
  readonly peakRps: number;
  readonly strategies: readonly SweptStrategy[];
  /** Knob values per strategy; default DEFAULT_KNOBS by the strategy's policy. */
  readonly knobs?: Partial<Record<SweptStrategy, readonly number[]>>;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface SweepReport {
  /** What each strategy's knob is (a config path). */
  readonly knobs: Partial<Record<SweptStrategy, string>>;
  readonly frontier: Partial<Record<SweptStrategy, FrontierPoint[]>>;
  /** Every run, dominated or not. */
  readonly points: Partial<Record<SweptStrategy, FrontierPoint[]>>;
  readonly costAtAttainment: Partial<Record<SweptStrategy, Record<string, number | null>>>;
  readonly oracle: { readonly cost: number };
}

/** The config path a strategy's knob sets, for this service. */
export function knobPath(strategy: SweptStrategy, service: ServiceConfig): string {
  if (strategy === 'reactive') return 'scaling.reactive.targetUtilization';
  return service.scaling.predictive.policy === 'slo' ? 'scaling.predictive.targetAttainment' : 'scaling.headroom';
}

export function defaultKnobs(strategy: SweptStrategy, service: ServiceConfig): readonly number[] {
  if (strategy === 'reactive') return DEFAULT_KNOBS.reactive;
  return service.scaling.predictive.policy === 'slo' ? DEFAULT_KNOBS.slo : DEFAULT_KNOBS.headroom;
}

/** The service with settings changed, by dotted paths below the service (configs are frozen: a copy). */
export function withSettings(service: ServiceConfig, settings: Readonly<Record<string, number | string>>): ServiceConfig {
  const s = structuredClone(service) as unknown as Record<string, unknown>;
  for (const [path, value] of Object.entries(settings)) {
    const keys = path.split('.');
    let node = s;
    for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
    node[keys[keys.length - 1] as string] = value;
  }
  return s as unknown as ServiceConfig;
}

export function withKnob(service: ServiceConfig, strategy: SweptStrategy, value: number): ServiceConfig {
  return withSettings(service, { [knobPath(strategy, service)]: value });
}

/** One replay of the prepared workload with the service's settings changed (step 2 of the header). */
export function runWith(p: Pick<Prepared, 'workload' | 'initial'>, config: Config, service: ServiceConfig, strategy: SweptStrategy, settings: Readonly<Record<string, number | string>>, cache: Map<number, Forecast | undefined>): SimResult {
  const svc = withSettings(service, settings);
  const cfg = { ...config, services: config.services.map((x) => (x === service ? svc : x)) } as Config;
  const m = serviceModel(cfg, svc);
  return simulate(p.workload, buildStrategy(strategy, m), { ...simSettings(cfg, m, p.initial), forecastCache: cache });
}

interface SweepJob {
  readonly name: SweptStrategy;
  readonly knob: number;
}

/** The runs of a sweep, in report order. */
export function sweepJobs(o: Pick<SweepOptions, 'strategies' | 'knobs' | 'service'>): SweepJob[] {
  return o.strategies.flatMap((name) => (o.knobs?.[name] ?? defaultKnobs(name, o.service)).map((knob) => ({ name, knob })));
}

/** One run of the sweep as a frontier point. */
export function sweepPoint(p: Pick<Prepared, 'workload' | 'initial' | 'oracleCost'>, config: Config, service: ServiceConfig, name: SweptStrategy, knob: number, cache: Map<number, Forecast | undefined>): FrontierPoint {
  const r = runWith(p, config, service, name, { [knobPath(name, service)]: knob }, cache);
  return {
    knob,
    cost: round(r.bill.total, 4),
    sloAttainment: round(r.sloAttainment, 6),
    costRatioToOracle: p.oracleCost > 0 ? round(r.bill.total / p.oracleCost, 4) : null,
    sloViolationMinutes: r.sloViolationMinutes,
  };
}

export function runSweep(trace: Trace, o: SweepOptions, prepared?: Prepared): SweepReport {
  return sweepPrepared(o, prepared ?? prepareBacktest(trace, o));
}

function sweepPrepared(o: SweepOptions, p: Prepared): SweepReport {
  const cache = new Map<number, Forecast | undefined>();
  const jobs = sweepJobs(o);
  let done = 0;
  const points = jobs.map(({ name, knob }) => {
    const point = sweepPoint(p, o.config, o.service, name, knob, cache);
    o.onProgress?.(++done, jobs.length);
    return point;
  });
  return sweepReport(o, jobs, points, p.oracleCost);
}

/** Frontiers and costs at equal attainment from the runs (`points[i]` is the run of `jobs[i]`). */
export function sweepReport(o: Pick<SweepOptions, 'strategies' | 'service'>, jobs: readonly { name: SweptStrategy }[], runs: readonly FrontierPoint[], oracleCost: number): SweepReport {
  const points: Partial<Record<SweptStrategy, FrontierPoint[]>> = {};
  jobs.forEach((j, i) => (points[j.name] ??= []).push(runs[i] as FrontierPoint));
  const frontier: Partial<Record<SweptStrategy, FrontierPoint[]>> = {};
  const costAtAttainment: Partial<Record<SweptStrategy, Record<string, number | null>>> = {};
  const knobs: Partial<Record<SweptStrategy, string>> = {};
  for (const name of o.strategies) {
    const f = paretoFrontier(points[name] ?? []);
    frontier[name] = f;
    knobs[name] = knobPath(name, o.service);
    costAtAttainment[name] = Object.fromEntries(REPORTED_ATTAINMENTS.map((a) => [a, costAt(f, Number(a))]));
  }
  return { knobs, frontier, points, costAtAttainment, oracle: { cost: round(oracleCost, 4) } };
}

/**
 * The same sweep on worker threads, one run at a time to whichever is free (heaviest runs first:
 * the forecasting strategies before the HPA rule). Each worker gets the prepared workload once and
 * keeps its own forecast cache; the report is the sequential one, run for run.
 */
export async function runSweepParallel(o: SweepOptions & { readonly threads: number }, p: Prepared): Promise<SweepReport> {
  const jobs = sweepJobs(o);
  const threads = Math.max(1, Math.min(o.threads, jobs.length));
  const serviceIndex = o.config.services.indexOf(o.service);
  if (threads === 1 || serviceIndex < 0) return sweepPrepared(o, p);
  // Heaviest first: the forecasting strategies' runs take about twice the HPA rule's.
  const order = jobs.map((_, i) => i).sort((a, b) => Number(jobs[a]?.name === 'reactive') - Number(jobs[b]?.name === 'reactive') || a - b);
  let done = 0;
  const answers = await onWorkers<{ kind: 'run'; name: SweptStrategy; knob: number }, { ok: true; point: FrontierPoint } | { ok: false; message: string }>(
    new URL('./sweep-worker.js', import.meta.url),
    order.map((i) => ({ kind: 'run' as const, ...(jobs[i] as SweepJob) })),
    { threads, init: { kind: 'init', config: o.config, serviceIndex, prepared: { workload: p.workload, initial: p.initial, oracleCost: p.oracleCost } }, onResult: () => o.onProgress?.(++done, jobs.length) },
  );
  const runs: FrontierPoint[] = new Array(jobs.length);
  answers.forEach((a, k) => {
    const i = order[k] as number;
    if (!a.ok) throw new Error(`sweep run ${jobs[i]?.name} at ${jobs[i]?.knob}: ${a.message}`);
    runs[i] = a.point;
  });
  return sweepReport(o, jobs, runs, p.oracleCost);
}
