// The default forecasting pipeline: combine the candidates per series by a rolling-origin backtest on
// its own recent history, then calibrate the interval from that backtest's errors (split-conformal
// style). Design: docs/design/forecast.md#pipeline
//
// 1. Origins: K cut points at the end of the history, `stride` apart, the last one `horizon` before
//    the end; each needs at least `minHistory` points before it. At short horizons K grows (over the
//    same span) until the backtest holds `minBacktestPoints` errors.
// 2. Every candidate (the baselines among them) forecasts `horizon` points from every origin; the
//    forecasts are kept per origin and step.
// 3. Weights: the best candidate alone, the three best by 1 / MAE, the convex weights in tenths with
//    the lowest backtest MAE (`simplex`; its corners are the single candidates, so on its own backtest
//    it never does worse than the best baseline), or an anchor candidate kept unless the backtest shows
//    another clearly better (`anchored`), or handing it weight in step with the evidence (`graded`).
//    Default `auto`: graded at short horizons, simplex otherwise.
// 4. The weighted mean of the candidates' full-history forecasts, with the weighted mean of their
//    bounds as the interval's shape, scaled from the combined backtest's errors: one factor that only
//    widens, or one per side that may narrow (enough origins only).

import type { Forecast, Forecaster, Series } from './forecast.js';
import { DAY } from './forecast.js';
import { sortedQuantile } from './stats.js';

export interface BacktestScore {
  readonly model: string;
  /** Mean absolute error over all origins and steps. */
  readonly mae: number;
  readonly origins: number;
}

export interface RollingOriginResult {
  readonly scores: BacktestScore[];
  readonly origins: number[];
  /** The held-out values at [origin k * horizon + step h] (NaN when missing). */
  readonly actual: Float64Array;
  /** Each candidate's backtest forecasts, same layout (NaN where the candidate failed). */
  readonly mean: Float64Array[];
  readonly lower: Float64Array[];
  readonly upper: Float64Array[];
}

export interface RollingOriginOptions {
  readonly horizon: number;
  readonly origins: number;
  readonly stride: number;
  readonly minHistory: number;
  readonly level: number;
}

export function originsFor(n: number, o: Pick<RollingOriginOptions, 'horizon' | 'origins' | 'stride' | 'minHistory'>): number[] {
  const out: number[] = [];
  for (let k = 0; k < o.origins; k++) {
    const at = n - o.horizon - k * o.stride;
    if (at < o.minHistory) break;
    out.unshift(at);
  }
  return out;
}

export function rollingOrigin(history: Series, candidates: readonly Forecaster[], o: RollingOriginOptions): RollingOriginResult {
  const origins = originsFor(history.values.length, o);
  const size = origins.length * o.horizon;
  const actual = new Float64Array(size);
  origins.forEach((at, k) => {
    for (let h = 0; h < o.horizon; h++) actual[k * o.horizon + h] = history.values[at + h] as number;
  });
  const nan = (): Float64Array => new Float64Array(size).fill(Number.NaN);
  const mean = candidates.map(nan);
  const lower = candidates.map(nan);
  const upper = candidates.map(nan);
  const scores = candidates.map((c, ci) => {
    origins.forEach((at, k) => {
      const past: Series = { start: history.start, step: history.step, values: sliceOf(history.values, 0, at) };
      let f: Forecast;
      try {
        f = c.forecast(past, o.horizon, o.level);
      } catch {
        return;
      }
      (mean[ci] as Float64Array).set(f.mean.subarray(0, o.horizon), k * o.horizon);
      (lower[ci] as Float64Array).set(f.lower.subarray(0, o.horizon), k * o.horizon);
      (upper[ci] as Float64Array).set(f.upper.subarray(0, o.horizon), k * o.horizon);
    });
    return { model: c.name, mae: maeOf(actual, mean[ci] as Float64Array), origins: origins.length };
  });
  return { scores, origins, actual, mean, lower, upper };
}

/** Mean absolute error over the points where both are known; +Infinity with none. */
function maeOf(actual: Float64Array, mean: Float64Array): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = (actual[i] as number) - (mean[i] as number);
    if (Number.isFinite(e)) {
      sum += Math.abs(e);
      count++;
    }
  }
  return count ? sum / count : Number.POSITIVE_INFINITY;
}

/** Error over the interval half-width on its side (NaN where unknown), into `out`. */
function normalizedErrors(actual: Float64Array, mean: Float64Array, lower: Float64Array, upper: Float64Array, out: Float64Array): void {
  for (let i = 0; i < actual.length; i++) {
    const m = mean[i] as number;
    const e = (actual[i] as number) - m;
    if (!Number.isFinite(e)) {
      out[i] = Number.NaN;
      continue;
    }
    const width = e >= 0 ? (upper[i] as number) - m : m - (lower[i] as number);
    out[i] = width > 0 ? Math.abs(e) / width : e === 0 ? 0 : Number.POSITIVE_INFINITY;
  }
}

function sliceOf(values: ArrayLike<number>, from: number, to: number): ArrayLike<number> {
  if (values instanceof Float64Array) return values.subarray(from, to);
  return Array.prototype.slice.call(values, from, to) as number[];
}

/**
 * Normalized split-conformal: the finite-sample-corrected `level` quantile of the backtest's
 * normalized errors (|error| over the model's own interval half-width on that side). Scaling the
 * model's interval by it keeps the model's shape over the horizon and takes its width from the
 * backtest; pooling all steps and origins gives the quantile enough errors to rest on.
 * 1 when there are no errors.
 */
export function conformalFactor(scaled: Float64Array, level: number): number {
  return correctedQuantile(scaled.filter((x) => !Number.isNaN(x)), level);
}

/**
 * The finite-sample-corrected `level` quantile of normalized errors (1 with none); when it is infinite
 * (errors against a zero-width interval), the same quantile of the finite ones.
 */
function correctedQuantile(xs: ArrayLike<number>, level: number): number {
  const s = Float64Array.from(xs).sort();
  const n = s.length;
  if (n === 0) return 1;
  const q = Math.min(1, Math.ceil((n + 1) * level) / n);
  const f = sortedQuantile(s, q);
  return Number.isFinite(f) ? f : sortedQuantile(s.filter(Number.isFinite), q) || 1;
}

/**
 * Per-side normalized conformal factors: the upper side is scaled so that a share (1 - level) / 2
 * of the backtest's points lie above it, the lower side likewise below (finite-sample corrected).
 * Unlike `conformalFactor` it can narrow a side, and it follows skewed errors (demand spikes up).
 */
export function sideFactors(actual: Float64Array, mean: Float64Array, lower: Float64Array, upper: Float64Array, level: number): { lower: number; upper: number } {
  const up: number[] = [];
  const down: number[] = [];
  for (let i = 0; i < actual.length; i++) {
    const m = mean[i] as number;
    const e = (actual[i] as number) - m;
    if (!Number.isFinite(e)) continue;
    const wu = (upper[i] as number) - m;
    const wl = m - (lower[i] as number);
    up.push(e > 0 ? (wu > 0 ? e / wu : Number.POSITIVE_INFINITY) : 0);
    down.push(e < 0 ? (wl > 0 ? -e / wl : Number.POSITIVE_INFINITY) : 0);
  }
  return { lower: correctedQuantile(down, (1 + level) / 2), upper: correctedQuantile(up, (1 + level) / 2) };
}

/**
 * How the pipeline turns the candidates' backtests into one forecast:
 * - `best`: the candidate with the lowest backtest MAE;
 * - `inverse-mae`: the three best, weighted by 1 / MAE;
 * - `simplex`: the convex weights (in tenths) with the lowest backtest MAE of the combined forecast.
 *   The corners are single candidates, so on its own backtest the combination is never worse than
 *   any candidate, baselines included;
 * - `anchored`: the anchor candidate (the pipeline's: the analog), unless the backtest shows another
 *   candidate clearly better: the best candidate replaces it only when its paired advantage, averaged
 *   per origin, is at least `ANCHOR_T` standard errors above zero. Without an anchor (or where it
 *   fails), `best`. Forty-eight errors pick a worse model than the one with the best record often
 *   enough that a choice should need evidence, not just a lower MAE;
 * - `graded`: the anchor and the best candidate mixed in step with the evidence: the best's weight is
 *   0 up to a paired advantage of `GRADED_FROM_T` standard errors, 1 from `ANCHOR_T`, linear between.
 *   A hard switch at `ANCHOR_T` flips the whole forecast on a small change of the evidence; the mix
 *   hedges where the evidence is middling (bench:forecast-accuracy at f8581eb, the lead time: graded
 *   0.853 of the best baseline against anchored's 0.858, lower on either family alone, 0.819 / 0.908
 *   against 0.825 / 0.910; on the unseen traces 0.565 against 0.595);
 * - `auto`: graded when the backtest has at least `ANCHORED_FROM_ORIGINS` origins (horizons of up to
 *   four points) and the horizon is at most `ANCHORED_UP_TO_SECONDS` ahead (the lead time on every shared
 *   series: one point of up to 30 minutes, or four of 30 seconds), else simplex. At the lead time the
 *   backtest is 48 errors; the weights in tenths that fit them best, the best alone and the three best by
 *   1 / MAE all forecast the next points worse than the anchor kept without clear evidence
 *   (bench:forecast-accuracy at 59b8fd9, every variant at the lead time: anchored 0.865 of the best
 *   baseline, best 0.897, inverse-mae 0.903, simplex 0.918; anchored is lower on either family alone).
 *   An hour ahead the simplex is lower (0.828 against anchored's 0.845; on either family alone too), and
 *   a day ahead (0.918 against 0.960: the analog declines).
 */
export const COMBINATIONS = ['best', 'inverse-mae', 'simplex', 'anchored', 'graded', 'auto'] as const;
export type Combination = (typeof COMBINATIONS)[number];
/**
 * `widen`: one pooled factor, never below 1; `per-side`: each side scaled to its tail share, may
 * narrow; `auto`: per-side when the backtest has at least `MANY_ORIGINS` origins and the horizon is at
 * most `PER_SIDE_UP_TO_SECONDS` ahead (the lead time), else widen: a few origins' errors are correlated
 * within each origin, and their tail quantiles under-cover; so do many origins' an hour ahead.
 */
export const CALIBRATIONS = ['widen', 'per-side', 'auto'] as const;
/** Backtest origins from which the `auto` calibration is per-side. */
export const MANY_ORIGINS = 24;
/**
 * The longest horizon (seconds) at which the `auto` calibration is per-side. An hour ahead on half-hourly
 * points the backtest has 24 origins, and narrowing on them under-covered: 0.33 for 80 % on a year of
 * Victoria's electricity demand (bench/results/unseen/forecast-accuracy.md); forced per-side, every variant
 * covers 0.73-0.80 an hour ahead on the shared traces (six origins on most of them), widen 0.82-0.91
 * (bench/results/forecast-accuracy.md). At the lead time per-side and widen cover alike there.
 */
export const PER_SIDE_UP_TO_SECONDS = 1800;
/** Backtest origins from which the `auto` combination is graded (horizons up to four points at 48 errors). */
export const ANCHORED_FROM_ORIGINS = 12;
/**
 * The longest horizon (seconds) at which the `auto` combination is graded: the scale of a lead time
 * (start and warm-up), not of an hour. Where the anchor's record comes from: the lead time, which on the
 * shared series is one point of 5 or 30 minutes or four of 30 seconds.
 */
export const ANCHORED_UP_TO_SECONDS = 1800;
export type Calibration = (typeof CALIBRATIONS)[number];

export interface PipelineVariant {
  readonly combine: Combination;
  readonly calibration: Calibration;
}

/** How many standard errors a candidate's paired advantage over the anchor must reach to replace it. */
export const ANCHOR_T = 2;
/** Under `graded`, the paired advantage (standard errors) from which the best candidate takes weight from the anchor. */
export const GRADED_FROM_T = 1;

/**
 * The paired advantage of candidate `b` over candidate `a` on the backtest: per origin, the mean of
 * |error of a| - |error of b| over the points where both are known; then the mean over origins over
 * its standard error (a t statistic; blocks per origin because errors within one are correlated).
 * 0 with fewer than two origins or no spread.
 */
export function pairedAdvantage(bt: Pick<RollingOriginResult, 'actual' | 'mean' | 'origins'>, a: number, b: number): number {
  const k = bt.origins.length;
  if (k < 2) return 0;
  const horizon = Math.floor(bt.actual.length / k);
  const ma = bt.mean[a] as Float64Array;
  const mb = bt.mean[b] as Float64Array;
  const d: number[] = [];
  for (let o = 0; o < k; o++) {
    let sum = 0;
    let count = 0;
    for (let h = 0; h < horizon; h++) {
      const i = o * horizon + h;
      const y = bt.actual[i] as number;
      const x = Math.abs(y - (ma[i] as number)) - Math.abs(y - (mb[i] as number));
      if (Number.isFinite(x)) {
        sum += x;
        count++;
      }
    }
    if (count) d.push(sum / count);
  }
  const n = d.length;
  if (n < 2) return 0;
  const mean = d.reduce((s, x) => s + x, 0) / n;
  const variance = d.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  if (!(variance > 0)) return mean > 0 ? Number.POSITIVE_INFINITY : 0;
  return mean / Math.sqrt(variance / n);
}

/**
 * What calibration `auto` is for a backtest of `origins` origins at a horizon `horizonSeconds` ahead
 * (unknown: decided on the origins alone); `widen` and `per-side` are themselves.
 */
export function resolveCalibration(how: Calibration, origins: number, horizonSeconds?: number): Exclude<Calibration, 'auto'> {
  if (how !== 'auto') return how;
  return shortBacktest(origins, MANY_ORIGINS, horizonSeconds, PER_SIDE_UP_TO_SECONDS) ? 'per-side' : 'widen';
}

/** Both `auto` rules: at least `fromOrigins` origins, and at most `upToSeconds` ahead (unknown: origins alone). */
function shortBacktest(origins: number, fromOrigins: number, horizonSeconds: number | undefined, upToSeconds: number): boolean {
  return origins >= fromOrigins && (horizonSeconds === undefined || horizonSeconds <= upToSeconds);
}

/**
 * What `auto` is for a backtest of `origins` origins at a horizon `horizonSeconds` ahead (unknown:
 * decided on the origins alone); any other combination is itself.
 */
export function resolveCombination(how: Combination, origins: number, horizonSeconds?: number): Exclude<Combination, 'auto'> {
  if (how !== 'auto') return how;
  return shortBacktest(origins, ANCHORED_FROM_ORIGINS, horizonSeconds, ANCHORED_UP_TO_SECONDS) ? 'graded' : 'simplex';
}

/**
 * Combination weights over the candidates from their backtest forecasts (sum 1). `anchor`: the
 * index of the candidate `anchored` and `graded` keep without clear evidence against it; `horizonSeconds`: how
 * far ahead the backtest forecasts (for `auto`).
 */
export function combinationWeights(bt: Pick<RollingOriginResult, 'scores' | 'actual' | 'mean' | 'origins'>, how: Combination, anchor?: number, horizonSeconds?: number): Float64Array {
  const combine = resolveCombination(how, bt.origins.length, horizonSeconds);
  const c = bt.scores.length;
  const w = new Float64Array(c);
  const order = bt.scores.map((s, i) => i).filter((i) => Number.isFinite((bt.scores[i] as BacktestScore).mae));
  order.sort((a, b) => (bt.scores[a] as BacktestScore).mae - (bt.scores[b] as BacktestScore).mae || a - b);
  if (order.length === 0) {
    w[0] = 1;
    return w;
  }
  const best = order[0] as number;
  if (combine === 'anchored' && anchor !== undefined && order.includes(anchor)) {
    w[best !== anchor && pairedAdvantage(bt, anchor, best) >= ANCHOR_T ? best : anchor] = 1;
    return w;
  }
  if (combine === 'graded' && anchor !== undefined && order.includes(anchor)) {
    const share = best === anchor ? 0 : Math.min(1, Math.max(0, (pairedAdvantage(bt, anchor, best) - GRADED_FROM_T) / (ANCHOR_T - GRADED_FROM_T)));
    w[best] = share;
    w[anchor] = (w[anchor] as number) + (1 - share);
    return w;
  }
  if (combine === 'best' || combine === 'anchored' || combine === 'graded' || order.length === 1 || (bt.scores[best] as BacktestScore).mae === 0) {
    w[best] = 1;
    return w;
  }
  if (combine === 'inverse-mae') {
    const top = order.slice(0, 3);
    let sum = 0;
    for (const i of top) sum += 1 / (bt.scores[i] as BacktestScore).mae;
    for (const i of top) w[i] = 1 / (bt.scores[i] as BacktestScore).mae / sum;
    return w;
  }
  // Simplex: every composition of 10 tenths over the usable candidates; points where any of them is
  // unknown are skipped so that every composition is scored on the same points.
  const use = order.slice().sort((a, b) => a - b);
  const pts: number[] = [];
  for (let i = 0; i < bt.actual.length; i++) {
    if (!Number.isFinite(bt.actual[i] as number)) continue;
    if (use.every((ci) => Number.isFinite((bt.mean[ci] as Float64Array)[i] as number))) pts.push(i);
  }
  if (pts.length === 0) {
    w[best] = 1;
    return w;
  }
  const TENTHS = 10;
  const k = use.length;
  const n = pts.length;
  const rows = use.map((ci) => Float64Array.from(pts, (i) => (bt.mean[ci] as Float64Array)[i] as number));
  const actual = Float64Array.from(pts, (i) => bt.actual[i] as number);
  const parts = new Array<number>(k).fill(0);
  let bestMae = Number.POSITIVE_INFINITY;
  let bestParts: number[] = [];
  // The weighted sum is built up candidate by candidate down the enumeration: `base` holds the sum of
  // the earlier candidates' terms at every point (the terms added in the same order, zero terms skipped,
  // so the figures are the same as summing every composition afresh, at a fraction of the work).
  const sums = Array.from({ length: k }, () => new Float64Array(n));
  // Lower bounds that skip a composition, or a whole branch of the walk, without summing its points:
  // for any signs s (one per point), sum |a - m/10| >= sum s (a - m/10), which is linear in the
  // composition: c + sum_j parts[j] h[j]. With the signs of a composition's own errors it is a tangent
  // plane of the (convex) error sum there. Planes come from the corners and from each new best. A bound
  // skips only past the bar by `slack`, far more than the rounding of either sum (n ulps of the
  // magnitudes summed), so what is skipped could not have been accepted: the choice stays the same.
  type Plane = { c: number; h: Float64Array };
  const planes: Plane[] = [];
  const MAX_PLANES = 12;
  let magnitude = 0;
  for (let p = 0; p < n; p++) {
    let t = Math.abs(actual[p] as number);
    for (const row of rows) t += Math.abs(row[p] as number);
    magnitude += t;
  }
  const slack = magnitude * Math.max(1e-9, n * 1e-14);
  const addPlane = (): void => {
    let c = 0;
    const h = new Float64Array(k);
    for (let p = 0; p < n; p++) {
      let m = 0;
      for (let j = 0; j < k; j++) if (parts[j]) m += (parts[j] as number) * ((rows[j] as Float64Array)[p] as number);
      const a = actual[p] as number;
      const sg = a - m / TENTHS >= 0 ? 1 : -1;
      c += sg * a;
      for (let j = 0; j < k; j++) h[j] = (h[j] as number) - (sg * ((rows[j] as Float64Array)[p] as number)) / TENTHS;
    }
    // The corners' planes stay; later ones replace the oldest of the others.
    if (planes.length >= MAX_PLANES) planes.splice(Math.min(corners, planes.length - 1), 1);
    planes.push({ c, h });
  };
  let corners = 0;
  // True when some plane puts every composition that keeps parts[0..j) and spreads `left` tenths over
  // the candidates from j on past `bar` (the least of a plane there: all of `left` on its smallest h).
  const beyond = (j: number, left: number, bar: number): boolean => {
    const need = bar + slack;
    for (const pl of planes) {
      let v = pl.c;
      for (let i = 0; i < j; i++) if (parts[i]) v += (parts[i] as number) * (pl.h[i] as number);
      if (left > 0) {
        let least = Number.POSITIVE_INFINITY;
        for (let i = j; i < k; i++) if ((pl.h[i] as number) < least) least = pl.h[i] as number;
        v += left * least;
      }
      if (v >= need) return true;
    }
    return false;
  };
  // Ties keep the composition found first; a strictly better one must beat it by a margin. The sum only
  // grows (its terms are >= 0): once past the bar the rest cannot bring it back, so a composition is
  // dropped there (the same choice as summing every point).
  const accept = (sum: number, bar: number): void => {
    if (sum < bar) {
      bestMae = sum;
      bestParts = parts.slice();
      addPlane();
    }
  };
  // Corners first (single candidates, best first), so that a tie keeps a single model.
  for (const i of order) {
    parts.fill(0);
    const j = use.indexOf(i);
    parts[j] = TENTHS;
    const row = rows[j] as Float64Array;
    const bar = bestMae * (1 - 1e-12);
    let sum = 0;
    for (let from = 0; from < n && sum < bar; from += 64) {
      const to = Math.min(n, from + 64);
      for (let p = from; p < to; p++) sum += Math.abs((actual[p] as number) - (TENTHS * (row[p] as number)) / TENTHS);
    }
    if (sum < bar) {
      bestMae = sum;
      bestParts = parts.slice();
    }
    if (planes.length < MAX_PLANES) {
      addPlane();
      corners++;
    }
  }
  const zero = new Float64Array(n);
  // The last two candidates together: their terms are added point by point as the sum goes (the same
  // order and zero terms skipped, so the same figures), with no array written, and dropped at the bar.
  const lastTwo = (base: Float64Array, left: number): void => {
    const ra = rows[k - 2] as Float64Array;
    const rb = rows[k - 1] as Float64Array;
    for (let x = 0; x <= left; x++) {
      const y = left - x;
      parts[k - 2] = x;
      parts[k - 1] = y;
      const bar = bestMae * (1 - 1e-12);
      if (beyond(k, 0, bar)) continue;
      let sum = 0;
      for (let from = 0; from < n && sum < bar; from += 64) {
        const to = Math.min(n, from + 64);
        for (let p = from; p < to; p++) {
          let m = base[p] as number;
          if (x) m += x * (ra[p] as number);
          if (y) m += y * (rb[p] as number);
          sum += Math.abs((actual[p] as number) - m / TENTHS);
        }
      }
      accept(sum, bar);
    }
  };
  // k >= 2 here: the walk ends at the last two. The running sum of a branch is built only when some
  // composition in it is not already past the bar.
  const walk = (j: number, left: number, base: Float64Array): void => {
    const row = rows[j] as Float64Array;
    if (j === k - 2) {
      lastTwo(base, left);
      return;
    }
    for (let x = 0; x <= left; x++) {
      parts[j] = x;
      for (let i = j + 1; i < k; i++) parts[i] = 0;
      if (beyond(j + 1, left - x, bestMae * (1 - 1e-12))) continue;
      let next = base;
      if (x) {
        next = sums[j] as Float64Array;
        for (let p = 0; p < n; p++) next[p] = (base[p] as number) + x * (row[p] as number);
      }
      walk(j + 1, left - x, next);
    }
  };
  walk(0, TENTHS, zero);
  bestParts.forEach((p, j) => (w[use[j] as number] = p / TENTHS));
  return w;
}

/**
 * How much to scale each side of the combined interval, from the combined backtest (`b`: its mean and
 * bounds at every backtest point): `per-side` by `sideFactors`; `widen` by one conformal factor, never
 * below 1. Six recent origins (about a day and a half) understate how volatile the next hours can be,
 * and narrowing on them under-covered (bench:forecast-accuracy, 1 hour: 0.67); so did 24 origins an hour
 * ahead on half-hourly points (PER_SIDE_UP_TO_SECONDS).
 */
export function calibrationFactors(how: Exclude<Calibration, 'auto'>, actual: Float64Array, b: Pick<Forecast, 'mean' | 'lower' | 'upper'>, level: number): { lower: number; upper: number } {
  if (how === 'per-side') return sideFactors(actual, b.mean, b.lower, b.upper, level);
  const scaled = new Float64Array(actual.length);
  normalizedErrors(actual, b.mean, b.lower, b.upper, scaled);
  const k = Math.max(1, conformalFactor(scaled, level));
  return { lower: k, upper: k };
}

/** The weighted mean of the forecasts, and of their bounds (quantile averaging). */
export function mixForecasts(weights: Float64Array, fs: ReadonlyArray<Pick<Forecast, 'mean' | 'lower' | 'upper'> | undefined>, size: number): { mean: Float64Array; lower: Float64Array; upper: Float64Array } {
  const mean = new Float64Array(size);
  const lower = new Float64Array(size);
  const upper = new Float64Array(size);
  weights.forEach((w, ci) => {
    const f = fs[ci];
    if (!(w > 0) || !f) return;
    for (let i = 0; i < size; i++) {
      mean[i] = (mean[i] as number) + w * (f.mean[i] as number);
      lower[i] = (lower[i] as number) + w * (f.lower[i] as number);
      upper[i] = (upper[i] as number) + w * (f.upper[i] as number);
    }
  });
  return { mean, lower, upper };
}

export interface AutoForecast extends Forecast {
  /** The candidate with the most weight (the only one under `best`). */
  readonly chosen: string;
  /** Weight per candidate, in the order of `scores` (one 1 under `best`). */
  readonly weights: readonly number[];
  readonly scores: readonly BacktestScore[];
  readonly calibrated: boolean;
  /** How much the backtest widened (> 1) or narrowed (< 1) the interval, per side. */
  readonly intervalFactors: { readonly lower: number; readonly upper: number };
}

export interface AutoOptions {
  /** Backtest origins at least (default 6). */
  readonly origins?: number;
  /** Seconds between origins; default: a quarter of a day, at least the horizon's length. */
  readonly strideSeconds?: number;
  /**
   * Held-out points the backtest should have at least (default 48): at short horizons (one or two
   * points, the scaling policy's lead time) six origins score a model on six errors, so the
   * pipeline takes more origins, closer together, over the same span.
   */
  readonly minBacktestPoints?: number;
  readonly combine?: Combination;
  readonly calibration?: Calibration;
  /** The candidate (by name) that `anchored` and `graded` keep without clear evidence against it. */
  readonly anchor?: string;
  /** A nonnegative series gets a nonnegative interval. */
  readonly clampAtZero?: boolean;
}

/**
 * The pipeline's defaults: `auto` / `auto`, whose combination is graded (on the analog) at short
 * horizons (the variant the leave-one-family-out split chooses at the lead time, either way) and the
 * simplex a day ahead. Figures: bench/results/forecast-accuracy.md,
 * docs/design/forecast.md.
 */
export const DEFAULT_VARIANT: PipelineVariant = { combine: 'auto', calibration: 'auto' };

/**
 * The pipeline's own backtest over a history of `n` points `step` seconds apart, `horizon` points ahead:
 * its origins, their stride and the history each needs (the benchmarks rebuild the same backtest).
 */
export function innerBacktest(n: number, step: number, horizon: number, o: Pick<AutoOptions, 'origins' | 'strideSeconds' | 'minBacktestPoints'> = {}): Pick<RollingOriginOptions, 'origins' | 'stride' | 'minHistory'> {
  const perDay = Math.max(1, Math.round(DAY / step));
  // A few recent origins: recent accuracy predicts the next horizon better than a long average
  // (measured: 40 origins an eighth of a day apart chose worse and covered less than 6 a quarter apart).
  const baseOrigins = o.origins ?? 6;
  const baseStride = Math.max(horizon, Math.round((o.strideSeconds ?? DAY / 4) / step), 1);
  // Short horizons: more origins over the same span, so the choice rests on enough errors. (The
  // same origins over four times or half the span chose worse at the lead time: docs/design/forecast.md.)
  const want = Math.max(baseOrigins, Math.ceil((o.minBacktestPoints ?? 48) / horizon));
  const stride = want > baseOrigins ? Math.max(horizon, Math.floor((baseOrigins * baseStride) / want), 1) : baseStride;
  const minHistory = Math.min(2 * perDay, Math.max(3, Math.floor(n / 2)));
  return { origins: want, stride, minHistory };
}

/**
 * The pipeline as a Forecaster. Candidates are tried in order; the first is the fallback when the
 * history is too short for any backtest origin.
 */
export class AutoForecaster implements Forecaster {
  readonly name = 'auto';

  /** The index of the candidate named by `options.anchor` (none when no candidate has that name). */
  private readonly anchor: number | undefined;

  constructor(
    private readonly candidates: readonly Forecaster[],
    private readonly options: AutoOptions = {},
  ) {
    if (candidates.length === 0) throw new RangeError('AutoForecaster needs at least one candidate');
    const named = options.anchor === undefined ? -1 : candidates.findIndex((c) => c.name === options.anchor);
    this.anchor = named >= 0 ? named : undefined;
  }

  forecast(history: Series, horizon: number, level: number): AutoForecast {
    const v = { combine: this.options.combine ?? DEFAULT_VARIANT.combine, calibration: this.options.calibration ?? DEFAULT_VARIANT.calibration };
    return this.forecastVariants(history, horizon, level, [v])[0] as AutoForecast;
  }

  /** One backtest, one forecast per variant (the benchmarks compare variants at the cost of one). */
  forecastVariants(history: Series, horizon: number, level: number, variants: readonly PipelineVariant[]): AutoForecast[] {
    const n = history.values.length;
    const bt = rollingOrigin(history, this.candidates, { horizon, level, ...innerBacktest(n, history.step, horizon, this.options) });
    const calibrated = bt.origins.length > 0 && bt.scores.some((s) => Number.isFinite(s.mae));
    const horizonSeconds = horizon * history.step;
    const finals = new Map<number, Forecast>();
    const final = (ci: number): Forecast => {
      let f = finals.get(ci);
      if (!f) {
        f = (this.candidates[ci] as Forecaster).forecast(history, horizon, level);
        finals.set(ci, f);
      }
      return f;
    };
    return variants.map((variant) => {
      const weights = calibrated ? combinationWeights(bt, variant.combine, this.anchor, horizonSeconds) : Float64Array.from(this.candidates, (_, i) => (i === 0 ? 1 : 0));
      let top = 0;
      weights.forEach((w, i) => {
        if (w > (weights[top] as number)) top = i;
      });
      const fs = this.candidates.map((_, ci) => ((weights[ci] as number) > 0 ? final(ci) : undefined));
      const single = (weights[top] as number) === 1;
      const f = mixForecasts(weights, fs, horizon);
      let factors = { lower: 1, upper: 1 };
      if (calibrated) {
        const b = mixForecasts(weights, bt.mean.map((m, ci) => ({ mean: m, lower: bt.lower[ci] as Float64Array, upper: bt.upper[ci] as Float64Array })), bt.actual.length);
        factors = calibrationFactors(resolveCalibration(variant.calibration, bt.origins.length, horizonSeconds), bt.actual, b, level);
      }
      const lower = new Float64Array(horizon);
      const upper = new Float64Array(horizon);
      for (let h = 0; h < horizon; h++) {
        const m = f.mean[h] as number;
        lower[h] = m - factors.lower * (m - (f.lower[h] as number));
        upper[h] = m + factors.upper * ((f.upper[h] as number) - m);
        if (this.options.clampAtZero) lower[h] = Math.max(0, lower[h] as number);
      }
      const first = final(top);
      return {
        model: single ? first.model : 'combination',
        start: first.start,
        step: first.step,
        level,
        mean: f.mean,
        lower,
        upper,
        chosen: (this.candidates[top] as Forecaster).name,
        weights: Array.from(weights),
        scores: bt.scores,
        calibrated,
        intervalFactors: factors,
      };
    });
  }
}

export interface Evaluation {
  readonly model: string;
  readonly mae: number;
  /** Share of held-out points inside the interval. */
  readonly coverage: number;
  readonly points: number;
  readonly origins: number;
}

/**
 * Rolling-origin evaluation of one forecaster on the end of a series: at each origin it sees only
 * the history before it and is scored on the next `horizon` points.
 */
export function evaluate(series: Series, f: Forecaster, o: RollingOriginOptions & { readonly maxHistory?: number }): Evaluation {
  return evaluateMany(series, [f.name], (past) => [f.forecast(past, o.horizon, o.level)], o)[0] as Evaluation;
}

/**
 * The same rolling-origin evaluation for several forecasts made together at each origin (the
 * pipeline's variants share one backtest per origin).
 */
export function evaluateMany(series: Series, names: readonly string[], forecastAt: (past: Series) => readonly Forecast[], o: RollingOriginOptions & { readonly maxHistory?: number }): Evaluation[] {
  const origins = originsFor(series.values.length, o);
  const abs = new Float64Array(names.length);
  const inside = new Float64Array(names.length);
  let points = 0;
  for (const at of origins) {
    const from = Math.max(0, at - (o.maxHistory ?? at));
    const fcs = forecastAt({ start: series.start + from * series.step, step: series.step, values: sliceOf(series.values, from, at) });
    for (let h = 0; h < o.horizon; h++) {
      const y = series.values[at + h] as number;
      if (!Number.isFinite(y)) continue;
      fcs.forEach((fc, i) => {
        abs[i] = (abs[i] as number) + Math.abs(y - (fc.mean[h] as number));
        if (y >= (fc.lower[h] as number) && y <= (fc.upper[h] as number)) inside[i] = (inside[i] as number) + 1;
      });
      points++;
    }
  }
  return names.map((model, i) => ({ model, mae: points ? (abs[i] as number) / points : Number.NaN, coverage: points ? (inside[i] as number) / points : Number.NaN, points, origins: origins.length }));
}
