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
//    thousands of errors, so the choice is stable where a backtest over a few origins is not (beyond
//    12 points ahead, the forecasts from every ceil(h / 12)-th origin: as many errors, bounded work).
//    Ties go to the last value.
// 3. The interval at h points ahead: the empirical quantiles of the same signed h-step errors (demand
//    spikes make them skewed).
// 4. Missing points (NaN) leave the level as it is.
// 5. It declines horizons beyond a quarter of a day (`SMOOTHED_LEVEL_MAX_SECONDS`): flat is no forecast
//    for tomorrow.

import { checkShortHorizon, type Forecast, type Forecaster, type Series } from './forecast.js';
import { selectQuantiles, sortedMedian } from './stats.js';

/** Smoothing constants tried, largest last (1 is persistence). */
export const SMOOTHING_GRID: readonly number[] = [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
/** Running medians tried (points). */
export const MEDIAN_GRID: readonly number[] = [2, 3, 4, 5, 7, 9];

export interface SmoothedLevelOptions {
  /** Most recent points the estimator and the interval are fitted on (default 2016: a week of 5-minute points). */
  readonly window?: number;
  /** Points at the start of the window that only warm the level up (default 12). */
  readonly warmup?: number;
  /** Longest horizon it forecasts, in seconds (default a quarter of a day); longer ones it declines. */
  readonly maxHorizonSeconds?: number;
}

/**
 * A flat forecast is a forecast for the next hours, not the next day: a day ahead it scores 1.104x the
 * best baseline (bench/results/forecast-accuracy.md at 59b8fd9), and as a candidate there it tripled the
 * pipeline's combination search a day ahead. It declines beyond a quarter of a day, as the lag
 * regression and the analog decline beyond 12 points.
 */
export const SMOOTHED_LEVEL_MAX_SECONDS = 21_600;

/** How the level is estimated: exponential smoothing with a constant, or the median of the last points. */
export type LevelEstimator = { readonly kind: 'smoothing'; readonly alpha: number } | { readonly kind: 'median'; readonly points: number };

export interface SmoothedLevelFit {
  readonly estimator: LevelEstimator;
  readonly level: number;
  /** Mean absolute h-step error of the chosen estimator over the origins scored in the window (NaN without scored points). */
  readonly mae: number;
  /** Signed errors (actual - forecast) per step ahead, 1..horizon, from the same origins. */
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
  // The last points in arrival order (a ring) and in value order (kept sorted by insertion).
  const ring = new Float64Array(e.points);
  const sorted = new Float64Array(e.points);
  let count = 0;
  let level = Number.NaN;
  return {
    update(x) {
      let k = Math.min(count, e.points);
      if (count >= e.points) {
        // Drop the oldest point from the sorted window.
        const old = ring[count % e.points] as number;
        let at = 0;
        while ((sorted[at] as number) !== old) at++;
        sorted.copyWithin(at, at + 1, k);
        k--;
      }
      let at = k;
      while (at > 0 && (sorted[at - 1] as number) > x) {
        sorted[at] = sorted[at - 1] as number;
        at--;
      }
      sorted[at] = x;
      k++;
      ring[count % e.points] = x;
      count++;
      level = sortedMedian(sorted, k);
    },
    get level() {
      return level;
    },
  };
}

/**
 * Horizons up to this many points score the forecasts from every origin of the window; longer ones
 * (an hour or a day of points) from every `originStride(horizon)`-th origin, counted back from the
 * last, so the errors scored stay about `window x EVERY_ORIGIN_UP_TO` at any horizon: a day of 5-minute
 * points scored from every origin is 288 errors per origin, 18 estimators and 7 backtest calls in the
 * pipeline (with the simplex's own cost, 1406 ms per series a day ahead at 128d17e against 30 ms at
 * e91eab9: `npm run bench:forecast-speed -- --series 100`, docs/design/forecast.md).
 */
export const EVERY_ORIGIN_UP_TO = 12;

/** Points between the origins scored at `horizon` points ahead. */
export function originStride(horizon: number): number {
  return horizon <= EVERY_ORIGIN_UP_TO ? 1 : Math.ceil(horizon / EVERY_ORIGIN_UP_TO);
}

/** The level after each point of the window (NaN before the first finite point). */
function levelsOf(values: ArrayLike<number>, from: number, estimator: LevelEstimator): Float64Array {
  const state = stateOf(estimator);
  const levels = new Float64Array(values.length - from);
  for (let i = from; i < values.length; i++) {
    const x = values[i] as number;
    if (Number.isFinite(x)) state.update(x);
    levels[i - from] = state.level;
  }
  return levels;
}

/**
 * Mean of |x[i] - level after j| over the origins j scored (every `originStride`-th, from the last) and
 * the targets i = j + 1..j + horizon at or after `scoredFrom`, x[i] finite and the level known.
 */
function meanAbsError(values: ArrayLike<number>, from: number, scoredFrom: number, horizon: number, levels: Float64Array): number {
  const n = values.length;
  let abs = 0;
  let scored = 0;
  const stride = originStride(horizon);
  if (stride === 1) {
    // Target by target, every origin (the order the sums have always been taken in).
    for (let i = Math.max(scoredFrom, from); i < n; i++) {
      const x = values[i] as number;
      if (!Number.isFinite(x)) continue;
      for (let h = 1; h <= horizon && i - h >= from; h++) {
        const l = levels[i - h - from] as number;
        if (Number.isNaN(l)) continue;
        abs += Math.abs(x - l);
        scored++;
      }
    }
  } else {
    for (let j = n - 2; j >= from; j -= stride) {
      const l = levels[j - from] as number;
      if (Number.isNaN(l)) continue;
      for (let i = Math.max(j + 1, scoredFrom); i <= Math.min(n - 1, j + horizon); i++) {
        const x = values[i] as number;
        if (!Number.isFinite(x)) continue;
        abs += Math.abs(x - l);
        scored++;
      }
    }
  }
  return scored ? abs / scored : Number.NaN;
}

/** The signed h-step errors (actual - level h points back) from the origins scored, h = 1..horizon, each in the order of its targets. */
function signedErrors(values: ArrayLike<number>, from: number, scoredFrom: number, horizon: number, levels: Float64Array): Float64Array[] {
  const n = values.length;
  const stride = originStride(horizon);
  const first = n - 2 - stride * Math.floor(Math.max(0, n - 2 - from) / stride);
  const counts = new Int32Array(horizon);
  const each = (f: (h: number, e: number) => void): void => {
    for (let j = Math.max(first, from); j <= n - 2; j += stride) {
      const l = levels[j - from] as number;
      if (Number.isNaN(l)) continue;
      for (let h = Math.max(1, scoredFrom - j); h <= horizon && j + h < n; h++) {
        const x = values[j + h] as number;
        if (Number.isFinite(x)) f(h, x - l);
      }
    }
  };
  each((h) => {
    counts[h - 1] = (counts[h - 1] as number) + 1;
  });
  const errors = Array.from(counts, (c) => new Float64Array(c));
  counts.fill(0);
  each((h, e) => {
    (errors[h - 1] as Float64Array)[(counts[h - 1] as number)++] = e;
  });
  return errors;
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
  // Points are scored from the one after `warmup` finite points of the window on.
  let scoredFrom = n;
  for (let i = from, seen = 0; i < n; i++) {
    if (!Number.isFinite(values[i] as number)) continue;
    if (seen >= warmup) {
      scoredFrom = i;
      break;
    }
    seen++;
  }
  let best: { estimator: LevelEstimator; levels: Float64Array; mae: number } | undefined;
  for (const estimator of LEVEL_ESTIMATORS) {
    const levels = levelsOf(values, from, estimator);
    if (n === from || Number.isNaN(levels[n - 1 - from] as number)) return undefined;
    const mae = meanAbsError(values, from, scoredFrom, horizon, levels);
    // A tie (within rounding) goes to the later estimator: persistence, the last, wins ties.
    if (best === undefined || Number.isNaN(best.mae) || mae <= best.mae * (1 + 1e-9)) best = { estimator, levels, mae };
  }
  if (!best) return undefined;
  return { estimator: best.estimator, level: best.levels[n - 1 - from] as number, mae: best.mae, errors: signedErrors(values, from, scoredFrom, horizon, best.levels) };
}

/** A flat forecast at the smoothed level, the estimator chosen per call (see the header). */
export class SmoothedLevelForecaster implements Forecaster {
  readonly name = 'smoothed-level';

  constructor(private readonly options: SmoothedLevelOptions = {}) {}

  forecast(history: Series, horizon: number, level: number): Forecast {
    const seconds = this.options.maxHorizonSeconds ?? SMOOTHED_LEVEL_MAX_SECONDS;
    checkShortHorizon('smoothed level', horizon, level, Math.max(1, Math.floor(seconds / history.step)));
    const fit = fitSmoothedLevel(history.values, horizon, this.options);
    if (!fit) throw new RangeError('smoothed level needs at least one finite history value');
    const mean = new Float64Array(horizon).fill(fit.level);
    const lower = new Float64Array(horizon);
    const upper = new Float64Array(horizon);
    for (let h = 0; h < horizon; h++) {
      const e = fit.errors[h] as Float64Array;
      const [lo, hi] = e.length ? (selectQuantiles(e.slice(), [(1 - level) / 2, (1 + level) / 2]) as [number, number]) : [0, 0];
      lower[h] = Math.min(fit.level, fit.level + lo);
      upper[h] = Math.max(fit.level, fit.level + hi);
    }
    return { model: this.name, start: history.start + history.values.length * history.step, step: history.step, level, mean, lower, upper };
  }
}
