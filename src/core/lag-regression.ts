// A direct regression of the next change on the recent past, for the short horizons where the last
// value is the baseline to beat. Design: docs/design/forecast.md (models).
//
// The forecast h points ahead is the last value plus a predicted change, y[t+h] - y[t] = x(t) . b(h),
// with b(h) fitted by least absolute deviations on the recent history (at most `window` points).
// The features x(t), all differences so the fit does not depend on the series' level:
//   - momentum: the last `lags` one-step changes (a smooth series keeps moving, a noisy one reverts);
//   - reversion: the last value minus a fast and a slow exponentially smoothed level and minus the
//     median of the last five points (noise around a level is pulled back to it);
//   - the season, where the history holds a day (a week): the change over the same h points a day (a
//     week) earlier, a daily ramp repeating, and the value a day (a week) before the target minus the
//     last value, seasonal naive's own forecast of the change. The first row is moved to a week (a
//     day) into the history when at least 288 rows remain after it, so every row has them.
// 1. Nested feature sets (none = persistence; reversion; + momentum; + season) are fitted on the first
//    two thirds of the window and scored on the last third, at the longest horizon asked for; the
//    set with the lowest held-out MAE is chosen (a richer set must win by 1 %, so noise keeps it
//    simple). Thousands of held-out errors, not a backtest's few dozen.
// 2. The chosen set is refitted on the whole window for each horizon; its held-out errors at that
//    horizon give the interval (empirical quantiles: demand spikes make them skewed).
// 3. Horizons beyond `maxHorizon` points are declined (RangeError): the model is for the lead time,
//    and the pipeline treats a declining candidate as unavailable.
// Missing points are carried forward in the features and never used as targets.

import { carryForward, checkShortHorizon, DAY, WEEK, type Forecast, type Forecaster, type Series } from './forecast.js';
import { medianInPlace, quantiles } from './stats.js';

export interface LagRegressionOptions {
  /** Most recent rows fitted (default 2016: a week of 5-minute points). */
  readonly window?: number;
  /** Longest horizon forecast, in points (default 12). */
  readonly maxHorizon?: number;
  /** One-step changes used as momentum features (default 6). */
  readonly lags?: number;
}

/** The feature sets tried, simplest first. */
export const FEATURE_SETS = ['persistence', 'reversion', 'momentum', 'season'] as const;
export type FeatureSet = (typeof FEATURE_SETS)[number];

export interface LagRegressionFit {
  readonly features: FeatureSet;
  /** Held-out MAE of each set tried at the longest horizon (persistence included). */
  readonly heldOutMae: Partial<Record<FeatureSet, number>>;
  /** Forecast per horizon 1..H. */
  readonly mean: Float64Array;
  /** Held-out signed errors (actual - forecast) per horizon 1..H. */
  readonly errors: readonly Float64Array[];
}

const FAST = 0.3;
const SLOW = 0.05;
/** Running medians whose distance from the last value are reversion features. */
const MEDIANS = [5, 9] as const;
/** Reversion features: the fast and slow smoothed levels and the medians. */
const REVERSION = 2 + MEDIANS.length;
/** Season features: the change a day and a week back, and the gap to the value a day and a week back. */
const SEASON = 4;
/** Features per row with `lags` momentum lags. */
const widthOf = (lags: number): number => REVERSION + lags + SEASON;
const IRLS_ITERATIONS = 8;
/** A richer set must beat the simpler one's held-out MAE by this factor to be chosen. */
const MARGIN = 0.99;

/** The inputs every row's features are read from. */
interface Inputs {
  readonly filled: Float64Array;
  readonly observed: Uint8Array;
  readonly fast: Float64Array;
  readonly slow: Float64Array;
  readonly medians: readonly Float64Array[];
  readonly lags: number;
  /** Season lengths in points available for every row (0 = none). */
  readonly day: number;
  readonly week: number;
}

function inputsOf(values: ArrayLike<number>, step: number, lags: number, firstRow: number): Inputs | undefined {
  const n = values.length;
  const carried = carryForward(values);
  if (!carried) return undefined;
  const { filled, observed } = carried;
  const fast = new Float64Array(n);
  const slow = new Float64Array(n);
  const medians = MEDIANS.map(() => new Float64Array(n));
  const ring = new Float64Array(Math.max(...MEDIANS));
  let f = filled[0] as number;
  let s = f;
  for (let i = 0; i < n; i++) {
    const x = filled[i] as number;
    f += FAST * (x - f);
    s += SLOW * (x - s);
    fast[i] = f;
    slow[i] = s;
    // The medians are read only at the rows and the last point (the smoothed levels need the whole past).
    if (i < Math.min(firstRow, n - 1)) continue;
    MEDIANS.forEach((points, m) => {
      const k = Math.min(i + 1, points);
      for (let j = 0; j < k; j++) ring[j] = filled[i - j] as number;
      (medians[m] as Float64Array)[i] = medianInPlace(ring.subarray(0, k));
    });
  }
  const perDay = Number.isInteger(DAY / step) ? DAY / step : 0;
  const perWeek = Number.isInteger(WEEK / step) ? WEEK / step : 0;
  return { filled, observed, fast, slow, medians, lags, day: perDay && firstRow >= perDay ? perDay : 0, week: perWeek && firstRow >= perWeek ? perWeek : 0 };
}

/** The feature indices of a set (into the row written by `rowOf`). */
function columnsOf(set: FeatureSet, inputs: Inputs): number[] {
  const reversion = Array.from({ length: REVERSION }, (_, k) => k);
  const momentum = Array.from({ length: inputs.lags }, (_, k) => REVERSION + k);
  const season = [inputs.day ? REVERSION + inputs.lags : -1, inputs.week ? REVERSION + 1 + inputs.lags : -1, inputs.day ? REVERSION + 2 + inputs.lags : -1, inputs.week ? REVERSION + 3 + inputs.lags : -1].filter((c) => c >= 0);
  switch (set) {
    case 'persistence':
      return [];
    case 'reversion':
      return reversion;
    case 'momentum':
      return [...reversion, ...momentum];
    case 'season':
      return [...reversion, ...momentum, ...season];
  }
}

/** All features of the row at origin t for the change h points ahead, into `out`. */
function rowOf(inputs: Inputs, t: number, h: number, out: Float64Array): void {
  const y = inputs.filled;
  const last = y[t] as number;
  out[0] = last - (inputs.fast[t] as number);
  out[1] = last - (inputs.slow[t] as number);
  inputs.medians.forEach((m, k) => (out[2 + k] = last - (m[t] as number)));
  for (let k = 0; k < inputs.lags; k++) out[REVERSION + k] = t - k - 1 >= 0 ? (y[t - k] as number) - (y[t - k - 1] as number) : 0;
  out[REVERSION + inputs.lags] = inputs.day ? (y[t + h - inputs.day] as number) - (y[t - inputs.day] as number) : 0;
  out[REVERSION + 1 + inputs.lags] = inputs.week ? (y[t + h - inputs.week] as number) - (y[t - inputs.week] as number) : 0;
  out[REVERSION + 2 + inputs.lags] = inputs.day ? (y[t + h - inputs.day] as number) - last : 0;
  out[REVERSION + 3 + inputs.lags] = inputs.week ? (y[t + h - inputs.week] as number) - last : 0;
}

/** The rows (origins t) whose target t + h is observed, in [from, to). */
function rowsOf(inputs: Inputs, from: number, to: number, h: number): number[] {
  const rows: number[] = [];
  for (let t = from; t < to; t++) if (inputs.observed[t + h]) rows.push(t);
  return rows;
}

/**
 * Least absolute deviations by iteratively reweighted least squares (a small ridge keeps the
 * system solvable when a feature is constant). Returns the coefficients over `cols`.
 */
function fitLad(inputs: Inputs, rows: readonly number[], h: number, cols: readonly number[]): Float64Array {
  const k = cols.length;
  const beta = new Float64Array(k);
  if (k === 0 || rows.length === 0) return beta;
  const m = rows.length;
  const width = widthOf(inputs.lags);
  const all = new Float64Array(width);
  // Column-major: the normal equations below are dot products over rows, one column pair at a time.
  const x = new Float64Array(k * m);
  const target = new Float64Array(m);
  let scale = 0;
  rows.forEach((t, r) => {
    rowOf(inputs, t, h, all);
    for (let j = 0; j < k; j++) x[j * m + r] = all[cols[j] as number] as number;
    target[r] = (inputs.filled[t + h] as number) - (inputs.filled[t] as number);
    scale += Math.abs(target[r] as number);
  });
  // Residuals below this are treated as this (the L1 weights 1 / |r| stay bounded).
  const floor = Math.max((scale / m) * 1e-3, 1e-12);
  const a = new Float64Array(k * k);
  const b = new Float64Array(k);
  const weights = new Float64Array(m).fill(1);
  const weighted = new Float64Array(2 * m);
  const residual = new Float64Array(m);
  for (let it = 0; it < IRLS_ITERATIONS; it++) {
    normalEquations(x, m, k, weights, target, weighted, a, b);
    let trace = 0;
    for (let i = 0; i < k; i++) trace += a[i * k + i] as number;
    if (!(trace > 0)) return beta.fill(0);
    const ridge = (1e-6 * trace) / k;
    for (let i = 0; i < k; i++) a[i * k + i] = (a[i * k + i] as number) + ridge;
    if (!solveSymmetric(a, b, k)) return beta.fill(0);
    beta.set(b);
    // The fitted values, each summed over the columns in order (four columns a pass).
    residual.fill(0);
    let j = 0;
    for (; j + 3 < k; j += 4) {
      const o0 = j * m;
      const o1 = o0 + m;
      const o2 = o1 + m;
      const o3 = o2 + m;
      const b0 = beta[j] as number;
      const b1 = beta[j + 1] as number;
      const b2 = beta[j + 2] as number;
      const b3 = beta[j + 3] as number;
      for (let r = 0; r < m; r++) {
        let f = residual[r] as number;
        f += (x[o0 + r] as number) * b0;
        f += (x[o1 + r] as number) * b1;
        f += (x[o2 + r] as number) * b2;
        f += (x[o3 + r] as number) * b3;
        residual[r] = f;
      }
    }
    for (; j < k; j++) {
      const oj = j * m;
      const bj = beta[j] as number;
      for (let r = 0; r < m; r++) residual[r] = (residual[r] as number) + (x[oj + r] as number) * bj;
    }
    for (let r = 0; r < m; r++) weights[r] = 1 / Math.max(Math.abs((target[r] as number) - (residual[r] as number)), floor);
  }
  return beta;
}

/**
 * a = X' W X (lower triangle) and b = X' W y for column-major X (m rows, k columns); `weighted` holds 2m
 * values of scratch. Every entry is summed over the rows in order; two rows of a and four columns share a
 * pass (eight independent sums, so the CPU overlaps them and each value read serves several) without
 * changing any entry's order of additions.
 */
export function normalEquations(x: Float64Array, m: number, k: number, weights: Float64Array, target: Float64Array, weighted: Float64Array, a: Float64Array, b: Float64Array): void {
  const w0 = weighted.subarray(0, m);
  const w1 = weighted.subarray(m, 2 * m);
  for (let i = 0; i < k; i += 2) {
    // Rows i and i + 1 (an odd last row goes alone: its pair repeats it, and is not written).
    const two = i + 1 < k;
    const oi = i * m;
    const oi1 = two ? oi + m : oi;
    let s0 = 0;
    let s1 = 0;
    for (let r = 0; r < m; r++) {
      const wr = weights[r] as number;
      const v0 = wr * (x[oi + r] as number);
      const v1 = wr * (x[oi1 + r] as number);
      w0[r] = v0;
      w1[r] = v1;
      s0 += v0 * (target[r] as number);
      s1 += v1 * (target[r] as number);
    }
    b[i] = s0;
    if (two) b[i + 1] = s1;
    // Columns 0..i for both rows; then column i + 1 for the second row alone.
    let j = 0;
    for (; j + 3 <= i; j += 4) {
      const o0 = j * m;
      const o1 = o0 + m;
      const o2 = o1 + m;
      const o3 = o2 + m;
      let p0 = 0;
      let p1 = 0;
      let p2 = 0;
      let p3 = 0;
      let q0 = 0;
      let q1 = 0;
      let q2 = 0;
      let q3 = 0;
      for (let r = 0; r < m; r++) {
        const u = w0[r] as number;
        const v = w1[r] as number;
        const c0 = x[o0 + r] as number;
        const c1 = x[o1 + r] as number;
        const c2 = x[o2 + r] as number;
        const c3 = x[o3 + r] as number;
        p0 += u * c0;
        p1 += u * c1;
        p2 += u * c2;
        p3 += u * c3;
        q0 += v * c0;
        q1 += v * c1;
        q2 += v * c2;
        q3 += v * c3;
      }
      a.set([p0, p1, p2, p3], i * k + j);
      if (two) a.set([q0, q1, q2, q3], (i + 1) * k + j);
    }
    for (; j <= i; j++) {
      const oj = j * m;
      let p = 0;
      let q = 0;
      for (let r = 0; r < m; r++) {
        const c = x[oj + r] as number;
        p += (w0[r] as number) * c;
        q += (w1[r] as number) * c;
      }
      a[i * k + j] = p;
      if (two) a[(i + 1) * k + j] = q;
    }
    if (!two) break;
    let q = 0;
    for (let r = 0; r < m; r++) q += (w1[r] as number) * (x[oi1 + r] as number);
    a[(i + 1) * k + i + 1] = q;
  }
}

/** Solve a x = b in place (b becomes x) by Cholesky on the lower triangle of a; false if not positive definite. */
function solveSymmetric(a: Float64Array, b: Float64Array, k: number): boolean {
  for (let j = 0; j < k; j++) {
    let d = a[j * k + j] as number;
    for (let p = 0; p < j; p++) d -= (a[j * k + p] as number) ** 2;
    if (!(d > 0)) return false;
    const l = Math.sqrt(d);
    a[j * k + j] = l;
    for (let i = j + 1; i < k; i++) {
      let s = a[i * k + j] as number;
      for (let p = 0; p < j; p++) s -= (a[i * k + p] as number) * (a[j * k + p] as number);
      a[i * k + j] = s / l;
    }
  }
  for (let i = 0; i < k; i++) {
    let s = b[i] as number;
    for (let p = 0; p < i; p++) s -= (a[i * k + p] as number) * (b[p] as number);
    b[i] = s / (a[i * k + i] as number);
  }
  for (let i = k - 1; i >= 0; i--) {
    let s = b[i] as number;
    for (let p = i + 1; p < k; p++) s -= (a[p * k + i] as number) * (b[p] as number);
    b[i] = s / (a[i * k + i] as number);
  }
  return true;
}

/** Predicted change at origin t with coefficients `beta` over `cols`. */
function predict(inputs: Inputs, t: number, h: number, cols: readonly number[], beta: Float64Array, row: Float64Array): number {
  if (cols.length === 0) return 0;
  rowOf(inputs, t, h, row);
  let p = 0;
  cols.forEach((c, j) => (p += (row[c] as number) * (beta[j] as number)));
  return p;
}

/** Held-out signed errors of a set fitted on `train` and applied to `test`. */
function heldOut(inputs: Inputs, train: readonly number[], test: readonly number[], h: number, cols: readonly number[]): Float64Array {
  const beta = fitLad(inputs, train, h, cols);
  const row = new Float64Array(widthOf(inputs.lags));
  return Float64Array.from(test, (t) => (inputs.filled[t + h] as number) - (inputs.filled[t] as number) - predict(inputs, t, h, cols, beta, row));
}

/** Fewest rows the first row may be moved forward to leave (so the season features exist). */
const SEASON_MIN_ROWS = 288;

/**
 * The first row that gives every row the season features, where enough rows remain after it: a week
 * (daily and weekly features), else a day (daily ones), else 0 (none). Without it the rows started a
 * window before the end, so a history shorter than the window plus a day (28 days of half-hourly
 * points, a week of 5-minute ones) fitted no season at all.
 */
export function seasonStart(rows: number, step: number): number {
  const perDay = Number.isInteger(DAY / step) ? DAY / step : 0;
  if (!perDay) return 0;
  if (rows - 7 * perDay >= SEASON_MIN_ROWS) return 7 * perDay;
  return rows - perDay >= SEASON_MIN_ROWS ? perDay : 0;
}

const meanAbs = (e: Float64Array): number => e.reduce((s, x) => s + Math.abs(x), 0) / Math.max(1, e.length);

/** Fit the model for horizons 1..H on `values` (see the header). Undefined without a finite value. */
export function fitLagRegression(values: ArrayLike<number>, step: number, horizon: number, o: LagRegressionOptions = {}): LagRegressionFit | undefined {
  const n = values.length;
  const lags = o.lags ?? 6;
  const window = o.window ?? 2016;
  // Rows t in [from, n - h): every lag and, where the history allows, every season feature inside it.
  const from = Math.max(lags + 1, n - horizon - window, seasonStart(n - horizon, step));
  const inputs = inputsOf(values, step, lags, from);
  if (!inputs) return undefined;
  const t0 = n - 1;
  const row = new Float64Array(widthOf(lags));
  const split = from + Math.floor((2 * (n - from)) / 3);
  const errorsFor = (cols: readonly number[], h: number): Float64Array => heldOut(inputs, rowsOf(inputs, from, Math.min(split, n - h), h), rowsOf(inputs, split, n - h, h), h, cols);
  // 1. The set, at the longest horizon.
  const heldOutMae: Partial<Record<FeatureSet, number>> = {};
  let features: FeatureSet = 'persistence';
  let bestMae = Number.POSITIVE_INFINITY;
  const chosenErrors = new Map<number, Float64Array>();
  for (const set of FEATURE_SETS) {
    const cols = columnsOf(set, inputs);
    if (set === 'season' && cols.length === columnsOf('momentum', inputs).length) continue;
    const e = errorsFor(cols, horizon);
    if (e.length === 0) break;
    const mae = meanAbs(e);
    heldOutMae[set] = mae;
    if (set === 'persistence' || mae < bestMae * MARGIN) {
      features = set;
      bestMae = mae;
      chosenErrors.set(horizon, e);
    }
  }
  // 2. Refit per horizon on the whole window.
  const cols = columnsOf(features, inputs);
  const last = inputs.filled[t0] as number;
  const mean = new Float64Array(horizon);
  const errors: Float64Array[] = [];
  for (let h = 1; h <= horizon; h++) {
    const beta = fitLad(inputs, rowsOf(inputs, from, n - h, h), h, cols);
    mean[h - 1] = last + predict(inputs, t0, h, cols, beta, row);
    errors.push(chosenErrors.get(h) ?? errorsFor(cols, h));
  }
  return { features, heldOutMae, mean, errors };
}

/** The regression forecaster (see the header). */
export class LagRegressionForecaster implements Forecaster {
  readonly name = 'lag-regression';

  constructor(private readonly options: LagRegressionOptions = {}) {}

  forecast(history: Series, horizon: number, level: number): Forecast {
    checkShortHorizon('lag regression', horizon, level, this.options.maxHorizon ?? 12);
    const fit = fitLagRegression(history.values, history.step, horizon, this.options);
    if (!fit) throw new RangeError('lag regression needs at least one finite history value');
    let nonnegative = true;
    for (let i = 0; i < history.values.length && nonnegative; i++) if ((history.values[i] as number) < 0) nonnegative = false;
    const mean = fit.mean;
    const lower = new Float64Array(horizon);
    const upper = new Float64Array(horizon);
    for (let h = 0; h < horizon; h++) {
      if (nonnegative) mean[h] = Math.max(0, mean[h] as number);
      const m = mean[h] as number;
      const e = fit.errors[h] as Float64Array;
      const [lo, hi] = e.length ? (quantiles(e, [(1 - level) / 2, (1 + level) / 2]) as [number, number]) : [0, 0];
      lower[h] = Math.min(m, m + lo);
      upper[h] = Math.max(m, m + hi);
      if (nonnegative) lower[h] = Math.max(0, lower[h] as number);
    }
    return { model: this.name, start: history.start + history.values.length * history.step, step: history.step, level, mean, lower, upper };
  }
}
