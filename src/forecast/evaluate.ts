// `shadowscale forecast-eval`: rolling-origin evaluation of a model on the end of a series, against
// the better of daily and weekly seasonal naive, with the coverage of its interval.

import { DEFAULT_VARIANT, evaluate, evaluateMany, originsFor, type AutoOptions, type Evaluation, type PipelineVariant, type RollingOriginOptions } from '../core/auto-forecast.js';
import { DAY, type Seasonality, type Series } from '../core/forecast.js';
import { ShadowscaleError } from '../core/errors.js';
import { EventAdjustedForecaster, sizedEvents, withEvents, withoutEvents } from '../core/events.js';
import { loadTrace, toSeries, type DuplicatePolicy } from '../sim/trace.js';
import { defaultPipeline, forecasterByName, type ModelName } from './models.js';
import type { KnownEvent } from './prophet.js';
import { pointsAhead } from './run.js';

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
  /** Seconds between origins (default: a quarter of a day, at least a horizon). */
  readonly strideSeconds?: number;
  /** The pipeline's settings (model auto). */
  readonly auto?: AutoOptions;
  /** Model auto: also score these pipeline variants, from the same backtests (benchmarks). */
  readonly variants?: readonly PipelineVariant[];
}

export interface VariantOutput extends PipelineVariant {
  mae: number;
  maeRatio: number;
  maeRatioBestBaseline: number;
  coverage: number;
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
  variants?: VariantOutput[];
  /** Known events of declared size whose multipliers the model's forecasts carried (as the strategies see them); absent without any. */
  sizedEvents?: number;
}

/** The rolling origins of a request on a series (benchmarks score other forecasters on the same points). */
export function rollingOptionsOf(series: Series, r: Pick<EvalRequest, 'horizon' | 'horizonSeconds' | 'origins' | 'level' | 'maxHistoryDays' | 'strideSeconds'>): RollingOriginOptions & { maxHistory: number } {
  const horizon = r.horizon ?? pointsAhead(r.horizonSeconds ?? 3600, series.step);
  const perDay = Math.max(1, Math.round(DAY / series.step));
  return {
    maxHistory: Math.round(((r.maxHistoryDays ?? 28) * DAY) / series.step),
    horizon,
    origins: r.origins,
    // Origins a quarter of a day apart (at least a horizon), each with two days of history.
    stride: Math.max(horizon, Math.round((r.strideSeconds ?? DAY / 4) / series.step)),
    minHistory: Math.min(2 * perDay, Math.floor(series.values.length / 2)),
    level: r.level,
  };
}

export async function evaluateTrace(r: EvalRequest): Promise<EvalOutput> {
  const trace = await loadTrace(r.file, { column: r.column, step: r.step, duplicates: r.duplicates });
  const series = toSeries(trace);
  const o = rollingOptionsOf(series, r);
  const horizon = o.horizon;
  // A horizon the series cannot hold leaves no origin: say so, instead of a ratio of nothing.
  if (originsFor(series.values.length, o).length === 0) {
    throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `${r.file}: ${series.values.length} points (step ${series.step}s) leave no forecast origin ${horizon} points ahead: each origin needs ${o.minHistory} points of history before it and the horizon after it, so the horizon can be at most ${Math.max(0, series.values.length - o.minHistory)} points here; shorten --horizon or --horizon-seconds`);
  }
  // Variants share the pipeline's backtest with the model itself (the first forecast of each origin).
  // Known events of declared size reach the model as they reach the strategies (src/core/events.ts): it fits
  // the history without their multipliers and forecasts with them. The baselines stay what a user would pick
  // by hand, blind to events.
  const sized = sizedEvents(r.events ?? []);
  let m: Evaluation;
  let ev: Evaluation[] = [];
  if (r.variants?.length) {
    if (r.model !== 'auto') throw new RangeError("variants are the pipeline's: model auto only");
    const auto = defaultPipeline(r.seasonality, r.events, r.auto);
    const own: PipelineVariant = { combine: r.auto?.combine ?? DEFAULT_VARIANT.combine, calibration: r.auto?.calibration ?? DEFAULT_VARIANT.calibration };
    const all = [own, ...r.variants];
    const variantsOf = (past: Series): ReturnType<typeof auto.forecastVariants> => {
      if (!sized.length) return auto.forecastVariants(past, horizon, r.level, all);
      const values = withoutEvents(past.values, sized, past.start, past.step);
      return auto.forecastVariants(values === past.values ? past : { ...past, values }, horizon, r.level, all).map((f) => withEvents(f, sized) as typeof f);
    };
    [m, ...ev] = evaluateMany(series, all.map((v) => `${v.combine}/${v.calibration}`), variantsOf, o) as [Evaluation, ...Evaluation[]];
  } else {
    const model = forecasterByName(r.model, r.seasonality, r.events, r.auto);
    m = evaluate(series, sized.length ? new EventAdjustedForecaster(model, sized) : model, o);
  }
  const daily = evaluate(series, forecasterByName('seasonal-naive-daily'), o);
  const weekly = evaluate(series, forecasterByName('seasonal-naive-weekly'), o);
  const persistence = evaluate(series, forecasterByName('persistence'), o);
  const base = Math.min(daily.mae, weekly.mae);
  const best = Math.min(base, persistence.mae);
  const ratio = (b: number): number => ratioOf(m.mae, b);
  const variants = r.variants?.map((v, i): VariantOutput => {
    const e = ev[i] as Evaluation;
    return { combine: v.combine, calibration: v.calibration, mae: e.mae, maeRatio: ratioOf(e.mae, base), maeRatioBestBaseline: ratioOf(e.mae, best), coverage: e.coverage };
  });
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
    ...(variants ? { variants } : {}),
    ...(sized.length ? { sizedEvents: sized.length } : {}),
  };
}

function ratioOf(mae: number, baseline: number): number {
  return baseline > 0 ? mae / baseline : mae === 0 ? 1 : Number.POSITIVE_INFINITY;
}
