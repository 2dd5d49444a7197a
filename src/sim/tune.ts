// Tuning a scaling policy on history: the cheapest settings that meet the SLO attainment target on a
// trace, found by replaying it. Design: docs/design/frontier.md#tune
//
// 1. The workload, the oracle and the forecasts are prepared once (as for the sweep).
// 2. Coordinate search, one setting at a time in the order of their effect: for the SLO policy the aim
//    (scaling.predictive.targetAttainment, around the target), then how fast the risk adapts, the scale-in
//    hold and how the risk follows the level, then (hybrid) the reactive net's utilization; for the HPA its
//    target utilization; for forecast-upper the headroom.
//    Each stage keeps the best run so far (the cheapest that meets the target, or, while none does, the one
//    with the highest attainment) and tries the stage's values with the other settings held there.
// 3. The result: the best settings with their run, the default's run, and the frontier of every run.
//
// A grid per stage rather than a general optimiser: each run is a full replay (seconds on a month of
// one-second steps), the settings are few and nearly separable, and a user can read why a value won.
//
// A stage's runs do not depend on each other, so with `threads` > 1 each stage's new runs go to worker
// threads kept for the whole search (src/sim/sweep-worker.ts, which the parallel sweep uses too) and are
// then judged in the stage's order: the report is the sequential one, run for run.

import type { Config, ServiceConfig } from '../config/schema.js';
import { aimedAttainment } from '../config/derive.js';
import type { Forecast } from '../core/forecast.js';
import { paretoFrontier } from '../core/frontier.js';
import { prepareBacktest, type Prepared } from './backtest.js';
import type { SimResult } from './simulator.js';
import { runWith, type SweptStrategy } from './sweep.js';
import type { SweepWorkerMessage } from './sweep-worker.js';
import { WorkerPool } from '../threads/pool.js';
import type { Trace } from './trace.js';
import { round } from '../core/stats.js';

export interface TuneOptions {
  readonly config: Config;
  readonly service: ServiceConfig;
  readonly peakRps: number;
  readonly strategy: SweptStrategy;
  /** The SLO attainment the settings must reach on the trace. */
  readonly target: number;
  /** Worker threads for each stage's runs (default 1: all in this thread). */
  readonly threads?: number;
  readonly onProgress?: (done: number, total: number) => void;
  /** Every run, as it finishes (a chart draws them all; the report keeps the frontier). */
  readonly onRun?: (run: TuneRun) => void;
}

export interface TuneRun {
  readonly settings: Readonly<Record<string, number | string>>;
  readonly cost: number;
  readonly sloAttainment: number;
  readonly sloViolationMinutes: number;
  readonly costRatioToOracle: number | null;
}

export interface TuneReport {
  readonly strategy: SweptStrategy;
  readonly target: number;
  /** Whether the best settings reach the target on this trace. */
  readonly meetsTarget: boolean;
  /** The chosen settings (paths below the service) and their run. */
  readonly best: TuneRun;
  /** The service's settings as configured. */
  readonly default: TuneRun;
  /** Cost of the best settings over the default's (below 1: tuning saves). */
  readonly costRatioToDefault: number;
  readonly frontier: TuneRun[];
  readonly runs: number;
  readonly oracle: { readonly cost: number };
}

interface Stage {
  readonly path: string;
  readonly values: readonly (number | string)[];
}

/** Step 2's stages for a strategy and its policy. */
export function tuneStages(strategy: SweptStrategy, service: ServiceConfig, target: number): Stage[] {
  if (strategy === 'reactive') return [{ path: 'scaling.reactive.targetUtilization', values: [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9] }];
  if (service.scaling.predictive.policy === 'forecast-upper') return [{ path: 'scaling.headroom', values: [0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2] }];
  // Aims around the target: the budget (1 - target) divided or multiplied, as the policy may meet a
  // stated aim with some miss to spare or fall a little short of it.
  const budget = 1 - target;
  const aims = [4, 2.5, 1.6, 1.25, 1, 0.8, 0.6, 0.4, 0.25].map((f) => round(1 - budget * f, 6)).filter((a) => a > 0 && a < 1);
  const stages: Stage[] = [
    { path: 'scaling.predictive.targetAttainment', values: [...new Set(aims)] },
    { path: 'scaling.predictive.adaptRate', values: [0.0001, 0.0002, 0.0005, 0.001, 0.002] },
    { path: 'scaling.predictive.scaleInHoldLeads', values: [0, 0.5, 1, 2, 3] },
    { path: 'scaling.predictive.riskLevelExponent', values: [-1.5, -1, -0.5, 0, 0.5] },
  ];
  if (strategy === 'hybrid') stages.push({ path: 'scaling.hybrid.reactiveTargetUtilization', values: ['auto', 0.6, 0.7, 0.75, 0.9] });
  return stages;
}

/** The settings a stage's path has as configured (the starting point of the search). */
function configured(service: ServiceConfig, path: string): number | string | undefined {
  let node: unknown = service;
  for (const k of path.split('.')) node = (node as Record<string, unknown> | undefined)?.[k];
  return node as number | string | undefined;
}

/** What a search keeps of one replay. */
export interface RunSummary {
  readonly cost: number;
  readonly sloAttainment: number;
  readonly sloViolationMinutes: number;
}

export function runSummary(r: SimResult): RunSummary {
  return { cost: r.bill.total, sloAttainment: r.sloAttainment, sloViolationMinutes: r.sloViolationMinutes };
}

type Settings = Readonly<Record<string, number | string>>;

export async function tune(trace: Trace, o: TuneOptions, prepared?: Prepared): Promise<TuneReport> {
  const p = prepared ?? prepareBacktest(trace, o);
  const serviceIndex = o.config.services.indexOf(o.service);
  // No more workers than the widest stage has runs: the others would only hold a copy of the workload.
  const widest = Math.max(1, ...tuneStages(o.strategy, o.service, o.target).map((s) => s.values.length));
  const threads = Math.max(1, Math.min(o.threads ?? 1, widest));
  if (threads === 1 || serviceIndex < 0) {
    const cache = new Map<number, Forecast | undefined>();
    return search(p, o, async (batch, ran) =>
      batch.map((settings) => {
        const r = runSummary(runWith(p, o.config, o.service, o.strategy, settings, cache));
        ran();
        return r;
      }),
    );
  }
  const pool = new WorkerPool<SweepWorkerMessage, { ok: true; summary: RunSummary } | { ok: false; message: string }>(new URL('./sweep-worker.js', import.meta.url), threads, {
    kind: 'init',
    config: o.config,
    serviceIndex,
    prepared: { workload: p.workload, initial: p.initial, oracleCost: p.oracleCost },
  } satisfies SweepWorkerMessage);
  try {
    return await search(p, o, async (batch, ran) => {
      const answers = await pool.run(
        batch.map((settings) => ({ kind: 'settings' as const, id: 0, strategy: o.strategy, settings })),
        () => ran(),
      );
      return answers.map((a, i) => {
        if (!a.ok) throw new Error(`tune run ${JSON.stringify(batch[i])}: ${a.message}`);
        return a.summary;
      });
    });
  } finally {
    await pool.close();
  }
}

/** Step 2: the stages in order, each stage's new runs as one batch (run in any order, judged in the stage's). */
async function search(p: Prepared, o: TuneOptions, runBatch: (batch: readonly Settings[], ran: () => void) => Promise<RunSummary[]>): Promise<TuneReport> {
  const stages = tuneStages(o.strategy, o.service, o.target);
  const total = 1 + stages.reduce((n, s) => n + s.values.length, 0);
  const seen = new Map<string, TuneRun>();
  const all: TuneRun[] = [];
  let done = 0;
  const keyOf = (settings: Settings): string => JSON.stringify(Object.entries(settings).sort());
  /** The runs of `batch` in its order: those seen before from the cache, the others replayed. */
  const runAll = async (batch: readonly Settings[]): Promise<TuneRun[]> => {
    const fresh = [...new Map(batch.filter((s) => !seen.has(keyOf(s))).map((s) => [keyOf(s), s])).values()];
    // Progress counts runs as they finish (on any thread); the runs are recorded in the stage's order after.
    const summaries = await runBatch(fresh, () => o.onProgress?.(++done, total));
    fresh.forEach((settings, i) => {
      const r = summaries[i] as RunSummary;
      const out: TuneRun = {
        settings: { ...settings },
        cost: round(r.cost, 4),
        sloAttainment: round(r.sloAttainment, 6),
        sloViolationMinutes: r.sloViolationMinutes,
        costRatioToOracle: p.oracleCost > 0 ? round(r.cost / p.oracleCost, 4) : null,
      };
      seen.set(keyOf(settings), out);
      all.push(out);
      o.onRun?.(out);
    });
    return batch.map((s) => seen.get(keyOf(s)) as TuneRun);
  };
  const better = (a: TuneRun, b: TuneRun): boolean => {
    const am = a.sloAttainment >= o.target - 1e-12;
    const bm = b.sloAttainment >= o.target - 1e-12;
    if (am !== bm) return am;
    return am ? a.cost < b.cost : a.sloAttainment > b.sloAttainment || (a.sloAttainment === b.sloAttainment && a.cost < b.cost);
  };
  // The default: every stage's path as configured (an unset aim is the policy's default aim).
  const start: Record<string, number | string> = {};
  for (const s of stages) {
    const v = configured(o.service, s.path) ?? (s.path === 'scaling.predictive.targetAttainment' ? aimedAttainment(o.service) : undefined);
    if (v !== undefined) start[s.path] = v;
  }
  const [dflt] = (await runAll([start])) as [TuneRun];
  let best = dflt;
  for (const s of stages) {
    const base = best.settings;
    for (const r of await runAll(s.values.map((v) => ({ ...base, [s.path]: v })))) if (better(r, best)) best = r;
  }
  o.onProgress?.(total, total);
  return {
    strategy: o.strategy,
    target: o.target,
    meetsTarget: best.sloAttainment >= o.target - 1e-12,
    best,
    default: dflt,
    costRatioToDefault: dflt.cost > 0 ? round(best.cost / dflt.cost, 4) : 1,
    frontier: paretoFrontier(all),
    runs: all.length,
    oracle: { cost: round(p.oracleCost, 4) },
  };
}
