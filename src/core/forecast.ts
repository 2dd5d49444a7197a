// The Forecaster interface and the seasonal-naive baseline. A forecaster sees only history (values
// up to "now"); the caller decides when to refit. Design: docs/design/forecast.md

import { ShadowscaleError } from './errors.js';
import { quantile, quantiles } from './stats.js';

/** A regular series: values[i] is the mean over [start + i*step, start + (i+1)*step). NaN = missing. */
export interface Series {
  readonly start: number;
  readonly step: number;
  readonly values: ArrayLike<number>;
}

export interface Forecast {
  readonly model: string;
  /** Timestamp (seconds) of the first forecast point: the point right after the last history point. */
  readonly start: number;
  readonly step: number;
  /** Central level of the interval, e.g. 0.8 for an 80 % interval. */
  readonly level: number;
  readonly mean: Float64Array;
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  /**
   * Per point, the factor known events of declared size put on it (already in mean, lower and upper;
   * src/core/events.ts `withEvents`); absent when none touches the forecast. The SLO policy reads it for
   * the floor ahead of an event and the scale of its errors within one (`eventLift`, `eventScale`).
   */
  readonly eventFactors?: Float64Array;
}

export interface Forecaster {
  readonly name: string;
  /** Forecast `horizon` points after the end of `history`, with a central `level` interval. */
  forecast(history: Series, horizon: number, level: number): Forecast;
}

/** The arguments every forecaster checks: a positive whole horizon and a level strictly between 0 and 1. */
export function checkForecastArgs(horizon: number, level: number): void {
  if (!Number.isInteger(horizon) || horizon < 1) throw new RangeError(`horizon must be a positive integer, got ${horizon}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
}

/**
 * Missing points (NaN) carried forward, leading ones taking the first value, with which points were
 * observed: the short-horizon models read their features from it. Undefined without a finite value.
 */
export function carryForward(values: ArrayLike<number>): { filled: Float64Array; observed: Uint8Array } | undefined {
  const n = values.length;
  const filled = new Float64Array(n);
  const observed = new Uint8Array(n);
  let last = Number.NaN;
  for (let i = 0; i < n; i++) {
    const x = values[i] as number;
    if (Number.isFinite(x)) {
      last = x;
      observed[i] = 1;
    }
    filled[i] = last;
  }
  if (Number.isNaN(last)) return undefined;
  const first = filled.findIndex((x) => !Number.isNaN(x));
  filled.fill(filled[first] as number, 0, first);
  return { filled, observed };
}

/**
 * `checkForecastArgs`, and a short-horizon model (`label`) declining more than `max` points ahead: a usage
 * error when asked for by name (`forecast --model lag-regression --horizon 500` was an internal error); the
 * pipeline leaves a declining candidate out.
 */
export function checkShortHorizon(label: string, horizon: number, level: number, max: number): void {
  checkForecastArgs(horizon, level);
  if (horizon > max) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `${label} forecasts at most ${max} points ahead, got ${horizon}; a longer horizon needs another model (the pipeline, auto, takes any)`);
}

export const DAY = 86_400;
export const WEEK = 7 * DAY;

export type Seasonality = 'auto' | 'daily' | 'weekly' | 'none';

/**
 * The season (in steps) seasonal naive uses for a history of n points: weekly from two weeks, daily
 * from one day (one season to copy), else none (flat).
 */
export function chooseSeason(n: number, step: number, seasonality: Seasonality): number {
  const daily = Math.round(DAY / step);
  const weekly = Math.round(WEEK / step);
  if (seasonality === 'none' || daily < 2) return 0;
  if ((seasonality === 'weekly' || seasonality === 'auto') && n >= 2 * weekly) return weekly;
  return n >= daily ? daily : 0;
}

/**
 * Seasonal naive: the forecast for a point is the value one season earlier (falling back to earlier
 * seasons when that one is missing). With too little history for a season, the last value (flat).
 * The interval comes from the empirical quantiles of the same rule's errors on recent history.
 */
export class SeasonalNaiveForecaster implements Forecaster {
  readonly name: string;
  private readonly seasonality: Seasonality;
  private readonly residualWindow: number;

  constructor(options: { seasonality?: Seasonality; residualWindow?: number } = {}) {
    this.seasonality = options.seasonality ?? 'auto';
    this.residualWindow = options.residualWindow ?? 2016;
    this.name = this.seasonality === 'auto' ? 'seasonal-naive' : this.seasonality === 'none' ? 'persistence' : `seasonal-naive-${this.seasonality}`;
  }

  forecast(history: Series, horizon: number, level: number): Forecast {
    checkForecastArgs(horizon, level);
    const v = history.values;
    const n = v.length;
    const last = lastFinite(v);
    if (Number.isNaN(last)) throw new RangeError('seasonal naive needs at least one finite history value');
    const season = chooseSeason(n, history.step, this.seasonality);
    const mean = new Float64Array(horizon);
    const lower = new Float64Array(horizon);
    const upper = new Float64Array(horizon);
    const [qLo, qHi] = this.residualQuantiles(v, season, level);
    for (let h = 1; h <= horizon; h++) {
      const m = season > 0 ? seasonalValue(v, n - 1 + h, season, last) : last;
      // Without a season, errors of the naive forecast grow like a random walk's.
      const spread = season > 0 ? 1 : Math.sqrt(h);
      mean[h - 1] = m;
      lower[h - 1] = Math.min(m, m + qLo * spread);
      upper[h - 1] = Math.max(m, m + qHi * spread);
    }
    const model = season === 0 ? 'naive-flat' : season === Math.round(WEEK / history.step) ? 'seasonal-naive-weekly' : 'seasonal-naive-daily';
    return { model, start: history.start + n * history.step, step: history.step, level, mean, lower, upper };
  }

  private residualQuantiles(v: ArrayLike<number>, season: number, level: number): [number, number] {
    const lag = season > 0 ? season : 1;
    const n = v.length;
    const from = Math.max(lag, n - this.residualWindow);
    const res = new Float64Array(Math.max(0, n - from));
    let k = 0;
    for (let i = from; i < n; i++) {
      const d = (v[i] as number) - (v[i - lag] as number);
      if (Number.isFinite(d)) res[k++] = d;
    }
    if (k === 0) return [0, 0];
    if (season === 0) {
      // A random walk goes either way: a symmetric interval from the size of past changes.
      for (let i = 0; i < k; i++) res[i] = Math.abs(res[i] as number);
      const q = quantile(res.subarray(0, k), level);
      return [-q, q];
    }
    const [lo, hi] = quantiles(res.subarray(0, k), [(1 - level) / 2, (1 + level) / 2]);
    return [lo as number, hi as number];
  }
}

function lastFinite(v: ArrayLike<number>): number {
  for (let i = v.length - 1; i >= 0; i--) if (Number.isFinite(v[i])) return v[i] as number;
  return Number.NaN;
}

/** Value one season before index `target` (which may lie past the end), trying up to 4 earlier seasons. */
function seasonalValue(v: ArrayLike<number>, target: number, season: number, fallback: number): number {
  let idx = target - season * Math.ceil((target - (v.length - 1)) / season);
  for (let tries = 0; tries < 4 && idx >= 0; tries++, idx -= season) {
    const x = v[idx] as number;
    if (Number.isFinite(x)) return x;
  }
  return fallback;
}

/**
 * The largest upper bound (and its mean) over forecast points whose buckets overlap [from, to).
 * Returns undefined when the forecast does not cover any of that window.
 */
export function forecastPeak(f: Forecast, from: number, to: number): { upper: number; mean: number; at: number } | undefined {
  let best: { upper: number; mean: number; at: number } | undefined;
  const first = Math.max(0, Math.floor((from - f.start) / f.step));
  for (let i = first; i < f.mean.length; i++) {
    const t = f.start + i * f.step;
    if (t >= to) break;
    if (t + f.step <= from) continue;
    const u = f.upper[i] as number;
    if (best === undefined || u > best.upper) best = { upper: u, mean: f.mean[i] as number, at: t };
  }
  return best;
}
