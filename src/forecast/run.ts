// One series in, one forecast object out (the DESIGN contract of `shadowscale forecast --json`,
// plus the chosen model's backtest scores). Shared by the in-process path and the worker threads.

import type { AutoForecast, AutoOptions } from '../core/auto-forecast.js';
import type { Seasonality, Series } from '../core/forecast.js';
import { isAbsoluteTime, loadTrace, toSeries, type DuplicatePolicy } from '../sim/trace.js';
import { forecasterByName, type ModelName } from './models.js';
import { EventAdjustedForecaster, sizedEvents, type KnownEvent } from '../core/events.js';
import { ShadowscaleError } from '../core/errors.js';
import { MAX_HORIZON } from './names.js';

export interface ForecastRequest {
  readonly model: ModelName;
  readonly seasonality: Seasonality;
  /** Known events (campaigns, holidays): Prophet models them; the pipeline then considers Prophet. */
  readonly events?: readonly KnownEvent[];
  /** Points ahead; or `horizonSeconds`, rounded up to whole points of the series' step. One of the two. */
  readonly horizon?: number;
  readonly horizonSeconds?: number;
  readonly level: number;
  /** The pipeline's settings (model auto). */
  readonly auto?: AutoOptions;
}

export interface TraceRequest extends ForecastRequest {
  readonly file: string;
  readonly column?: string;
  readonly step?: number;
  readonly duplicates?: DuplicatePolicy;
}

export interface ForecastPoint {
  timestamp: string;
  mean: number;
  lower: number;
  upper: number;
}

export interface ForecastOutput {
  series?: string;
  model: string;
  step: number;
  level: number;
  points: ForecastPoint[];
  /** The pipeline's candidates: backtest MAE, origins, and their weight in the forecast. */
  backtest?: { model: string; mae: number; origins: number; weight: number }[];
  history: { points: number; missing: number; gaps: number; duplicatesMerged: number };
}

export { MAX_HORIZON } from './names.js';

/** `seconds` ahead in whole points of `step`, rounded up (at least one); `forecast` and `forecast-eval` alike. */
export function pointsAhead(seconds: number, step: number): number {
  return Math.max(1, Math.ceil(seconds / step - 1e-9));
}

/** The request's horizon in points of this series: `horizon`, or `horizonSeconds` rounded up to whole steps. */
export function horizonOf(series: Pick<Series, 'step'>, r: Pick<ForecastRequest, 'horizon' | 'horizonSeconds'>): number {
  if (r.horizon !== undefined) return r.horizon;
  if (r.horizonSeconds === undefined) throw new Error('a forecast request needs horizon or horizonSeconds');
  const points = pointsAhead(r.horizonSeconds, series.step);
  if (points > MAX_HORIZON) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--horizon-seconds ${r.horizonSeconds} is ${points} points of ${series.step}s; expected at most ${MAX_HORIZON} points (${MAX_HORIZON * series.step} s at this step)`);
  return points;
}

export function forecastOf(series: Series, r: ForecastRequest, absoluteTime: boolean): ForecastOutput {
  // Known events of declared size as the strategies see them (src/core/events.ts): every model fits the
  // history without them and forecasts with them (Prophet then learns nothing of them from the history).
  const model = forecasterByName(r.model, r.seasonality, r.events, r.auto);
  const sized = sizedEvents(r.events ?? []);
  const f = (sized.length ? new EventAdjustedForecaster(model, sized) : model).forecast(series, horizonOf(series, r), r.level) as AutoForecast;
  let missing = 0;
  let nonNegative = true;
  for (let i = 0; i < series.values.length; i++) {
    const v = series.values[i] as number;
    if (!Number.isFinite(v)) missing++;
    else if (v < 0) nonNegative = false;
  }
  // A series that never went below zero (demand, utilization) gets a forecast that does not either.
  const clamp = (x: number): number => finite(nonNegative ? Math.max(0, x) : x);
  const points = Array.from(f.mean, (m, i) => {
    const t = f.start + i * f.step;
    return { timestamp: absoluteTime ? new Date(t * 1000).toISOString() : `+${t}s`, mean: clamp(m), lower: clamp(f.lower[i] as number), upper: clamp(f.upper[i] as number) };
  });
  const out: ForecastOutput = { model: f.model, step: f.step, level: f.level, points, history: { points: series.values.length, missing, gaps: 0, duplicatesMerged: 0 } };
  // A history too short for any backtest origin has no scores (and an uncalibrated interval).
  if (f.scores && f.calibrated) out.backtest = f.scores.map((s, i) => ({ model: s.model, mae: s.mae, origins: s.origins, weight: f.weights[i] ?? 0 }));
  return out;
}

/** JSON has no NaN or Infinity; a forecaster that produced one is a bug, reported as such. */
function finite(x: number): number {
  if (!Number.isFinite(x)) throw new Error(`forecast produced a non-finite value (${x})`);
  return x;
}

export async function forecastTrace(r: TraceRequest): Promise<ForecastOutput> {
  const trace = await loadTrace(r.file, { column: r.column, step: r.step, duplicates: r.duplicates });
  const out = forecastOf(toSeries(trace), r, isAbsoluteTime(trace.timeFormat));
  out.history.gaps = trace.gaps.length;
  out.history.duplicatesMerged = trace.duplicatesMerged;
  return out;
}
