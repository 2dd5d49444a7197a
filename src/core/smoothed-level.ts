// A flat forecast at a smoothed level, for the short horizons where the last value is the baseline to
// beat. Design: docs/design/forecast.md (models).
//
// The last value carries the noise of one point; a level smoothed over a few points does not. When a
// series is noise around a slowly moving level the smoothed level is closer to the next point (for
// white noise around a fixed level, by up to 1 / sqrt(2) in MAE); when the series moves like a random
// walk, the last value is best, and that is the smoothing constant 1 (persistence exactly).
//
// 1. Estimators: simple exponential smoothing with a constant from 0.05 to 1, and the median of the
//    last 2 to 9 points (a lone spike does not move a median; it moves a smoothed level for a while).
// 2. One is chosen on the recent history (at most `window` points) by the mean absolute error of the
//    forecasts it would have made at the horizon asked for: every point of the window is scored,
//    thousands of errors, so the choice is stable where a backtest over a few origins is not. Ties go
//    to the last value.
// 3. The interval at h points ahead: the empirical quantiles of the same signed h-step errors (demand
//    spikes make them skewed).
// 4. Missing points (NaN) leave the level as it is.

import { checkForecastArgs, type Forecast, type Forecaster, type Series } from './forecast.js';
import { medianInPlace, quantiles } from './stats.js';

/** Smoothing constants tried, largest last (1 is persistence). */
export const SMOOTHING_GRID: readonly number[] = [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
/** Running medians tried (points). */
export const MEDIAN_GRID: readonly number[] = [2, 3, 4, 5, 7, 9];

export interface SmoothedLevelOptions {
  /** Most recent points the estimator and the interval are fitted on (default 2016: a week of 5-minute points). */
  readonly window?: number;
  /** Points at the start of the window that only warm the level up (default 12). */
  readonly warmup?: number;
}

/** How the level is estimated: exponential smoothing with a constant, or the median of the last points. */
export type LevelEstimator = { readonly kind: 'smoothing'; readonly alpha: number } | { readonly kind: 'median'; readonly points: number };

export interface SmoothedLevelFit {
  readonly estimator: LevelEstimator;
  readonly level: number;
  /** Mean absolute h-step error of the chosen estimator over the window (NaN without scored points). */
  readonly mae: number;
  /** Signed errors (actual - forecast) per step ahead, 1..horizon. */
  readonly errors: readonly Float64Array[];
}

/** The estimators tried, in the order ties are broken (a later one wins a tie; persistence is last). */
export const LEVEL_ESTIMATORS: readonly LevelEstimator[] = [...MEDIAN_GRID.map((points): LevelEstimator => ({ kind: 'median', points })), ...SMOOTHING_GRID.map((alpha): LevelEstimator => ({ kind: 'smoothing', alpha }))];

/** A level updated point by point (finite points only). */
interface LevelState {
  update(x: number): void;
  readonly level: number;
}

function stateOf(e: LevelEstimator): LevelState {
  if (e.kind === 'smoothing') {
    let level = Number.NaN;
    return {
      update(x) {
        level = Number.isNaN(level) ? x : level + e.alpha * (x - level);
      },
      get level() {
        return level;
      },
    };
  }
  const ring = new Float64Array(e.points);
  const sorted = new Float64Array(e.points);
  let count = 0;
  let level = Number.NaN;
  return {
    update(x) {
      ring[count % e.points] = x;
      count++;
      const k = Math.min(count, e.points);
      for (let i = 0; i < k; i++) sorted[i] = ring[i] as number;
      level = medianInPlace(sorted.subarray(0, k));
    },
    get level() {
      return level;
    },
  };
}

/**
 * Choose the level estimator on the last `window` points for a forecast `horizon` points ahead.
 * Returns undefined when the history has no finite value.
 */
export function fitSmoothedLevel(values: ArrayLike<number>, horizon: number, o: SmoothedLevelOptions = {}): SmoothedLevelFit | undefined {
  const n = values.length;
  const window = o.window ?? 2016;
  const warmup = o.warmup ?? 12;
  const from = Math.max(0, n - window);
  let best: SmoothedLevelFit | undefined;
  // levels[k % horizon]: the level after point i - k, for the forecasts made up to `horizon` points back.
  const levels = new Float64Array(horizon);
  for (const estimator of LEVEL_ESTIMATORS) {
    const state = stateOf(estimator);
    let seen = 0;
    let abs = 0;
    let scored = 0;
    levels.fill(Number.NaN);
    const errors = Array.from({ length: horizon }, () => [] as number[]);
    for (let i = from; i < n; i++) {
      const x = values[i] as number;
      if (Number.isFinite(x)) {
        if (seen >= warmup) {
          // The forecasts made h points back (from the level after point i - h) for this point.
          for (let h = 1; h <= horizon; h++) {
            const l = levels[(i - h) % horizon] as number;
            if (Number.isNaN(l)) continue;
            const e = x - l;
            (errors[h - 1] as number[]).push(e);
            abs += Math.abs(e);
            scored++;
          }
        }
        state.update(x);
        seen++;
      }
      levels[i % horizon] = state.level;
    }
    if (Number.isNaN(state.level)) return undefined;
    const mae = scored ? abs / scored : Number.NaN;
    // A tie (within rounding) goes to the later estimator: persistence, the last, wins ties.
    if (best === undefined || Number.isNaN(best.mae) || mae <= best.mae * (1 + 1e-9)) best = { estimator, level: state.level, mae, errors: errors.map((e) => Float64Array.from(e)) };
  }
  return best;
}

/** A flat forecast at the smoothed level, the estimator chosen per call (see the header). */
export class SmoothedLevelForecaster implements Forecaster {
  readonly name = 'smoothed-level';

  constructor(private readonly options: SmoothedLevelOptions = {}) {}

  forecast(history: Series, horizon: number, level: number): Forecast {
    checkForecastArgs(horizon, level);
    const fit = fitSmoothedLevel(history.values, horizon, this.options);
    if (!fit) throw new RangeError('smoothed level needs at least one finite history value');
    const mean = new Float64Array(horizon).fill(fit.level);
    const lower = new Float64Array(horizon);
    const upper = new Float64Array(horizon);
    for (let h = 0; h < horizon; h++) {
      const e = fit.errors[h] as Float64Array;
      const [lo, hi] = e.length ? (quantiles(e, [(1 - level) / 2, (1 + level) / 2]) as [number, number]) : [0, 0];
      lower[h] = Math.min(fit.level, fit.level + lo);
      upper[h] = Math.max(fit.level, fit.level + hi);
    }
    return { model: this.name, start: history.start + history.values.length * history.step, step: history.step, level, mean, lower, upper };
  }
}
