// Analog forecasting (nearest neighbours in the recent past), for the short horizons where the last
// value is the baseline to beat. Design: docs/design/forecast.md (models).
//
// The forecast h points ahead is the last value plus the median of the changes that followed the
// `neighbours` moments of the recent history (at most `window` points) that looked most like now.
// "Looked like" is a weighted distance over the last `lags` one-step changes (the latest weighs most)
// and the last value's distance from the median of nine points, all in units of the typical one-step
// change. Unlike a linear fit, this reproduces shapes: a burst that keeps rising for two points and
// falls on the fourth, a plateau that holds, a step that reverts.
// The interval is the neighbours' own changes' quantiles. Horizons beyond `maxHorizon` points are
// declined (RangeError), as for the lag regression: the pipeline gives a declining candidate no weight.
// Missing points are carried forward in the features; moments whose future point is missing are not
// neighbours.

import { carryForward, checkShortHorizon, type Forecast, type Forecaster, type Series } from './forecast.js';
import { medianInPlace, quantiles } from './stats.js';

export interface AnalogOptions {
  /** Most recent moments searched (default 8064: four weeks of 5-minute points). */
  readonly window?: number;
  /** Neighbours whose changes are pooled (default 20). */
  readonly neighbours?: number;
  /** One-step changes compared (default 4). */
  readonly lags?: number;
  /** Longest horizon forecast, in points (default 12). */
  readonly maxHorizon?: number;
}

/** Points of the running median whose gap to the last value is compared. */
const MEDIAN = 9;
/** Weight of that gap against the latest change's (1). */
const LEVEL_WEIGHT = 0.5;

/** Median of the last MEDIAN filled values up to t. */
function medianAt(y: Float64Array, t: number, buf: Float64Array): number {
  const k = Math.min(MEDIAN, t + 1);
  for (let j = 0; j < k; j++) buf[j] = y[t - j] as number;
  return medianInPlace(buf.subarray(0, k));
}

/** The features of moment t into `out`: scaled changes (latest first) and the scaled gap to the median. */
function featuresAt(y: Float64Array, t: number, lags: number, scale: number, buf: Float64Array, out: Float64Array): void {
  for (let k = 0; k < lags; k++) out[k] = ((y[t - k] as number) - (y[t - k - 1] as number)) / scale;
  out[lags] = (LEVEL_WEIGHT * ((y[t] as number) - medianAt(y, t, buf))) / scale;
}

export interface AnalogFit {
  /** The moments (indices into the history) chosen as neighbours, nearest first. */
  readonly moments: Int32Array;
  /** Per horizon 1..H, the neighbours' changes y[m + h] - y[m]. */
  readonly changes: readonly Float64Array[];
}

/** The neighbours of the last moment of `values` (see the header); undefined without a finite value. */
export function analogNeighbours(values: ArrayLike<number>, horizon: number, o: AnalogOptions = {}): AnalogFit | undefined {
  const n = values.length;
  const lags = o.lags ?? 4;
  const window = o.window ?? 8064;
  const want = o.neighbours ?? 20;
  const carried = carryForward(values);
  if (!carried) return undefined;
  const { filled: y, observed } = carried;
  const t0 = n - 1;
  // Candidate moments: every lag inside the history, and the whole horizon observed after them.
  const from = Math.max(lags, n - horizon - window);
  const candidates: number[] = [];
  for (let t = t0 - horizon; t >= from; t--) {
    let ok = true;
    for (let h = 1; h <= horizon && ok; h++) ok = observed[t + h] === 1;
    if (ok) candidates.push(t);
  }
  // The typical one-step change over the searched span: its median, else its mean (mostly flat series).
  const steps: number[] = [];
  for (let t = Math.max(1, from); t <= t0; t++) steps.push(Math.abs((y[t] as number) - (y[t - 1] as number)));
  const mid = quantiles(steps, [0.5])[0] as number;
  const mean = steps.reduce((s, x) => s + x, 0) / Math.max(1, steps.length);
  const scale = mid > 0 ? mid : mean > 0 ? mean : 1;
  const buf = new Float64Array(MEDIAN);
  const q = new Float64Array(lags + 1);
  const f = new Float64Array(lags + 1);
  featuresAt(y, t0, lags, scale, buf, q);
  const dist = new Float64Array(candidates.length);
  candidates.forEach((t, i) => {
    featuresAt(y, t, lags, scale, buf, f);
    let d = 0;
    for (let k = 0; k < lags; k++) d += ((f[k] as number) - (q[k] as number)) ** 2 / (k + 1);
    d += ((f[lags] as number) - (q[lags] as number)) ** 2;
    dist[i] = d;
  });
  // Nearest first; ties go to the most recent moment (candidates run newest first; the sort is stable).
  const order = candidates.map((_, i) => i).sort((a, b) => (dist[a] as number) - (dist[b] as number));
  const moments = Int32Array.from(order.slice(0, want), (i) => candidates[i] as number);
  const changes: Float64Array[] = [];
  for (let h = 1; h <= horizon; h++) changes.push(Float64Array.from(moments, (m) => (y[m + h] as number) - (y[m] as number)));
  return { moments, changes };
}

/** The analog forecaster (see the header). */
export class AnalogForecaster implements Forecaster {
  readonly name = 'analog';

  constructor(private readonly options: AnalogOptions = {}) {}

  forecast(history: Series, horizon: number, level: number): Forecast {
    checkShortHorizon('analog', horizon, level, this.options.maxHorizon ?? 12);
    const fit = analogNeighbours(history.values, horizon, this.options);
    if (!fit) throw new RangeError('analog needs at least one finite history value');
    let last = Number.NaN;
    let nonnegative = true;
    for (let i = 0; i < history.values.length; i++) {
      const x = history.values[i] as number;
      if (!Number.isFinite(x)) continue;
      last = x;
      if (x < 0) nonnegative = false;
    }
    const mean = new Float64Array(horizon);
    const lower = new Float64Array(horizon);
    const upper = new Float64Array(horizon);
    for (let h = 0; h < horizon; h++) {
      const c = fit.changes[h] as Float64Array;
      // No neighbour (a history shorter than the lags): the last value, with no spread.
      const [lo, mid, hi] = c.length ? (quantiles(c, [(1 - level) / 2, 0.5, (1 + level) / 2]) as [number, number, number]) : [0, 0, 0];
      const clamp = (x: number): number => (nonnegative ? Math.max(0, x) : x);
      mean[h] = clamp(last + mid);
      lower[h] = Math.min(mean[h] as number, clamp(last + lo));
      upper[h] = Math.max(mean[h] as number, clamp(last + hi));
    }
    return { model: this.name, start: history.start + history.values.length * history.step, step: history.step, level, mean, lower, upper };
  }
}
