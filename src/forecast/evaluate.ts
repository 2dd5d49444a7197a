// `shadowscale forecast-eval`: rolling-origin evaluation of a model on the end of a series, against
// the better of daily and weekly seasonal naive, with the coverage of its interval.

import { evaluate, type RollingOriginOptions } from '../core/auto-forecast.js';
import { DAY, type Seasonality } from '../core/forecast.js';
import { loadTrace, toSeries, type DuplicatePolicy } from '../sim/trace.js';
import { forecasterByName, type ModelName } from './models.js';
import type { KnownEvent } from './prophet.js';

export interface EvalRequest {
  readonly file: string;
  readonly column?: string;
  readonly step?: number;
  readonly duplicates?: DuplicatePolicy;
  readonly model: ModelName;
  readonly seasonality: Seasonality;
  readonly events?: readonly KnownEvent[];
  /** Points ahead; default: one hour of points. */
  readonly horizon?: number;
  /** Horizon in seconds, used when `horizon` is absent. */
  readonly horizonSeconds?: number;
  readonly origins: number;
  readonly level: number;
  /** Days of history each origin's forecast may use (default 28: what the models use at most). */
  readonly maxHistoryDays?: number;
}

export interface EvalOutput {
  model: string;
  horizon: number;
  step: number;
  origins: number;
  points: number;
  mae: number;
  seasonalNaiveDailyMae: number;
  seasonalNaiveWeeklyMae: number;
  /** MAE of persistence: the last value, flat. */
  persistenceMae: number;
  /** MAE over the better seasonal naive's MAE (below 1: better than the baseline). */
  maeRatio: number;
  /** MAE over the best of persistence and the two seasonal naives on this series (one choice per series). */
  maeRatioBestBaseline: number;
  coverage: number;
}

export async function evaluateTrace(r: EvalRequest): Promise<EvalOutput> {
  const trace = await loadTrace(r.file, { column: r.column, step: r.step, duplicates: r.duplicates });
  const series = toSeries(trace);
  const horizon = r.horizon ?? Math.max(1, Math.ceil((r.horizonSeconds ?? 3600) / series.step - 1e-9));
  const perDay = Math.max(1, Math.round(DAY / series.step));
  const o: RollingOriginOptions & { maxHistory: number } = {
    maxHistory: Math.round(((r.maxHistoryDays ?? 28) * DAY) / series.step),
    horizon,
    origins: r.origins,
    // Origins a quarter of a day apart (at least a horizon), each with two days of history.
    stride: Math.max(horizon, Math.round(perDay / 4)),
    minHistory: Math.min(2 * perDay, Math.floor(series.values.length / 2)),
    level: r.level,
  };
  const m = evaluate(series, forecasterByName(r.model, r.seasonality, r.events), o);
  const daily = evaluate(series, forecasterByName('seasonal-naive-daily'), o);
  const weekly = evaluate(series, forecasterByName('seasonal-naive-weekly'), o);
  const persistence = evaluate(series, forecasterByName('seasonal-naive', 'none'), o);
  const base = Math.min(daily.mae, weekly.mae);
  const best = Math.min(base, persistence.mae);
  const ratio = (b: number): number => (b > 0 ? m.mae / b : m.mae === 0 ? 1 : Number.POSITIVE_INFINITY);
  return {
    model: r.model,
    horizon,
    step: series.step,
    origins: m.origins,
    points: m.points,
    mae: m.mae,
    seasonalNaiveDailyMae: daily.mae,
    seasonalNaiveWeeklyMae: weekly.mae,
    persistenceMae: persistence.mae,
    maeRatio: ratio(base),
    maeRatioBestBaseline: ratio(best),
    coverage: m.coverage,
  };
}
