// A fast seasonal forecaster over typed arrays, linear in the series length. Design:
// docs/design/forecast.md#fast-seasonal
//
// 1. Optionally work in log space (demand is usually multiplicative: the day's shape scales with level).
// 2. Daily shape: for each phase of the day, the median over recent days of (value - that day's mean),
//    circularly smoothed and centred. Weekly: a day-of-week effect, the median over recent weeks of
//    (day mean - week mean), when two weeks of history exist.
// 3. Deseasonalize, then find the last level shift (a run of days whose median differs from the days
//    before by much more than day-to-day variation) and fit only after it.
// 4. Damped-trend exponential smoothing on the deseasonalized series; smoothing constants from a small
//    grid by one-step absolute error. Innovations beyond 4 robust scales are clipped (outliers are
//    down-weighted), missing points only advance the state.
// 5. Forecast = level + damped trend + daily shape + weekday effect, transformed back.

import { DAY, WEEK, type Forecast, type Forecaster, type Seasonality, type Series } from './forecast.js';
import { sortedQuantile } from './stats.js';

export interface FastSeasonalOptions {
  readonly transform?: 'none' | 'log';
  readonly seasonality?: Seasonality;
  /** Days of history the shapes are estimated from. */
  readonly profileDays?: number;
  /**
   * When a later call extends the previous history by at most this many points (same start and step,
   * same last value), continue the smoothing over the new points with the fitted shapes and constants
   * instead of refitting. 0 (the default) always refits. For append-only callers (the control loop).
   */
  readonly reuseFitPoints?: number;
}

interface FitState {
  readonly start: number;
  readonly step: number;
  readonly n: number;
  readonly fittedN: number;
  readonly last: number;
  readonly level: number;
  readonly trend: number;
  readonly alpha: number;
  readonly beta: number;
  readonly clip: number;
  readonly log: boolean;
  readonly offset: number;
  readonly seasonal: (i: number) => number;
  /** One-step residuals of the fit, sorted. */
  readonly residuals: Float64Array;
  readonly missing: number;
  readonly outliers: number;
  readonly cutAt?: number;
}

export interface ForecastDiagnostics {
  /** Missing history points (NaN) the model skipped. */
  readonly missing: number;
  /** Innovations clipped as outliers. */
  readonly outliers: number;
  /** Start (seconds) of the level shift the fit starts after, if one was found. */
  readonly changepointAt?: number;
}

const ALPHAS = [0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9];
const BETAS = [0, 0.05];
const PHI = 0.98;

export class FastSeasonalForecaster implements Forecaster {
  readonly name: string;
  private readonly transform: 'none' | 'log';
  private readonly seasonality: Seasonality;
  private readonly profileDays: number;
  private readonly reuseFitPoints: number;
  private state: FitState | undefined;
  /** Diagnostics of the last forecast (for reports). */
  lastDiagnostics: ForecastDiagnostics = { missing: 0, outliers: 0 };

  constructor(options: FastSeasonalOptions = {}) {
    this.transform = options.transform ?? 'none';
    this.seasonality = options.seasonality ?? 'auto';
    this.profileDays = options.profileDays ?? 14;
    this.reuseFitPoints = options.reuseFitPoints ?? 0;
    this.name = this.transform === 'log' ? 'fast-seasonal-log' : 'fast-seasonal';
  }

  forecast(history: Series, horizon: number, level: number): Forecast {
    if (!Number.isInteger(horizon) || horizon < 1) throw new RangeError(`horizon must be a positive integer, got ${horizon}`);
    if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
    const st = this.fitOrUpdate(history);
    this.state = st;
    this.lastDiagnostics = { missing: st.missing, outliers: st.outliers, ...(st.cutAt !== undefined ? { changepointAt: st.cutAt } : {}) };
    const mean = new Float64Array(horizon);
    const lower = new Float64Array(horizon);
    const upper = new Float64Array(horizon);
    const back = (v: number): number => (st.log ? Math.max(0, Math.exp(v) - st.offset) : v);
    const qLo = st.residuals.length ? sortedQuantile(st.residuals, (1 - level) / 2) : 0;
    const qHi = st.residuals.length ? sortedQuantile(st.residuals, (1 + level) / 2) : 0;
    let damp = 0;
    let phiK = 1;
    for (let h = 1; h <= horizon; h++) {
      phiK *= PHI;
      damp += phiK;
      const center = st.level + damp * st.trend + st.seasonal(st.n - 1 + h);
      // A model-based interval from one-step residuals; the pipeline recalibrates it.
      const growth = Math.sqrt(1 + (h - 1) * st.alpha * st.alpha);
      mean[h - 1] = back(center);
      lower[h - 1] = back(center + qLo * growth);
      upper[h - 1] = back(center + qHi * growth);
    }
    return { model: this.name, start: history.start + st.n * history.step, step: history.step, level, mean, lower, upper };
  }

  private fitOrUpdate(history: Series): FitState {
    const prev = this.state;
    const n = history.values.length;
    if (prev && this.reuseFitPoints > 0 && prev.start === history.start && prev.step === history.step && n >= prev.n && n - prev.fittedN <= this.reuseFitPoints) {
      const last = history.values[prev.n - 1] as number;
      if (Object.is(last, prev.last) || last === prev.last) return this.update(prev, history);
    }
    return this.fit(history);
  }

  /** Continue the smoothing over the points appended since the state was computed. */
  private update(st: FitState, history: Series): FitState {
    let { level, trend, outliers } = st;
    let missing = st.missing;
    const n = history.values.length;
    for (let i = st.n; i < n; i++) {
      const v = history.values[i] as number;
      const pred = level + PHI * trend;
      if (!Number.isFinite(v)) {
        missing++;
        level = pred;
        trend *= PHI;
        continue;
      }
      const z = (st.log ? Math.log(v + st.offset) : v) - st.seasonal(i);
      let e = z - pred;
      if (Math.abs(e) > st.clip) {
        e = Math.sign(e) * st.clip;
        outliers++;
      }
      level = pred + st.alpha * e;
      trend = PHI * trend + st.beta * st.alpha * e;
    }
    return { ...st, n, last: history.values[n - 1] as number, level, trend, missing, outliers };
  }

  private fit(history: Series): FitState {
    const { step, start } = history;
    const n = history.values.length;
    const perDay = Math.round(DAY / step);
    const useDaily = this.seasonality !== 'none' && perDay >= 2 && Number.isInteger(DAY / step) && n >= 2 * perDay;
    const useWeekly = useDaily && this.seasonality !== 'daily' && n >= (2 * WEEK) / step;

    // 1. Working series.
    let offset = 0;
    let log = this.transform === 'log';
    if (log) {
      let min = Number.POSITIVE_INFINITY;
      const positives: number[] = [];
      for (let i = 0; i < n; i++) {
        const v = history.values[i] as number;
        if (Number.isFinite(v)) {
          min = Math.min(min, v);
          if (v > 0 && positives.length < 4096) positives.push(v);
        }
      }
      if (!(min >= 0) || positives.length === 0) log = false;
      else offset = Math.max(1e-9, 0.05 * (positives.sort((a, b) => a - b)[positives.length >> 1] as number));
    }
    const x = new Float64Array(n);
    let missing = 0;
    for (let i = 0; i < n; i++) {
      const v = history.values[i] as number;
      if (!Number.isFinite(v)) {
        x[i] = Number.NaN;
        missing++;
      } else x[i] = log ? Math.log(v + offset) : v;
    }
    if (missing === n) throw new RangeError('fast seasonal needs at least one finite history value');

    // 2. Seasonal shapes.
    const dayOf = (i: number): number => Math.floor((start + i * step) / DAY);
    const phaseOf = (i: number): number => Math.floor((((start + i * step) % DAY) + DAY) % DAY / step);
    const shape = new Float64Array(useDaily ? perDay : 0);
    const weekday = new Float64Array(7);
    const z = new Float64Array(n);
    let cut = 0;
    if (useDaily) {
      // The daily shape is shift-invariant (deviations from each day's own mean); find the last level
      // shift on what it leaves, then weekday effects from 7-day blocks that do not straddle the shift.
      const dayMeans = estimateDailyShape(x, this.profileDays, perDay, useWeekly, dayOf, phaseOf, shape);
      for (let i = 0; i < n; i++) z[i] = (x[i] as number) - (shape[phaseOf(i)] as number);
      cut = lastLevelShift(z, perDay, robustScale(z, 0));
      if (useWeekly) estimateWeekday(dayMeans, cut > 0 ? dayOf(cut) : Number.NEGATIVE_INFINITY, weekday);
    }
    const seasonal = (i: number): number => (useDaily ? (shape[phaseOf(i)] as number) + (useWeekly ? (weekday[(((dayOf(i) % 7) + 7) % 7)] as number) : 0) : 0);
    for (let i = 0; i < n; i++) z[i] = (x[i] as number) - seasonal(i);

    // 3. Fit after the last level shift.

    // 4. Damped-trend smoothing with a grid search.
    const scale = robustScale(z, cut);
    const clip = 4 * scale;
    const evalFrom = Math.max(cut + 1, n - Math.max(2 * (useDaily ? perDay : 1), 50));
    let best = { sse: Number.POSITIVE_INFINITY, alpha: 0.2, beta: 0 };
    for (const alpha of ALPHAS) {
      for (const beta of BETAS) {
        const r = smooth(z, cut, alpha, beta, clip, evalFrom);
        if (r.err < best.sse) best = { sse: r.err, alpha, beta };
      }
    }
    const fit = smooth(z, cut, best.alpha, best.beta, clip, evalFrom, true);

    const res = fit.residuals;
    res.sort();
    return {
      start,
      step,
      n,
      fittedN: n,
      last: history.values[n - 1] as number,
      level: fit.level,
      trend: fit.trend,
      alpha: best.alpha,
      beta: best.beta,
      clip,
      log,
      offset,
      seasonal,
      residuals: res,
      missing,
      outliers: fit.outliers,
      ...(cut > 0 ? { cutAt: start + cut * step } : {}),
    };
  }
}


interface DayMeans {
  readonly firstDay: number;
  readonly means: Float64Array;
}

/** Fills `shape` (centred, smoothed daily profile) and returns the day means it used. */
function estimateDailyShape(
  x: Float64Array,
  profileDays: number,
  perDay: number,
  useWeekly: boolean,
  dayOf: (i: number) => number,
  phaseOf: (i: number) => number,
  shape: Float64Array,
): DayMeans {
  const n = x.length;
  const lastDay = dayOf(n - 1);
  const firstDay = Math.max(dayOf(0), lastDay - Math.max(profileDays, useWeekly ? 28 : 0) + 1);
  const days = lastDay - firstDay + 1;
  // Mean of each day (NaN when under half of it is present).
  const sums = new Float64Array(days);
  const counts = new Float64Array(days);
  let from = n - 1;
  while (from > 0 && dayOf(from - 1) >= firstDay) from--;
  for (let i = from; i < n; i++) {
    const v = x[i] as number;
    if (Number.isFinite(v)) {
      const d = dayOf(i) - firstDay;
      sums[d] = (sums[d] as number) + v;
      counts[d] = (counts[d] as number) + 1;
    }
  }
  const means = new Float64Array(days);
  for (let d = 0; d < days; d++) means[d] = (counts[d] as number) >= perDay / 2 ? (sums[d] as number) / (counts[d] as number) : Number.NaN;
  // Median over the most recent profile days of (x - day mean), per phase.
  const shapeFrom = Math.max(0, days - profileDays);
  const buckets: number[][] = Array.from({ length: perDay }, () => []);
  for (let i = from; i < n; i++) {
    const d = dayOf(i) - firstDay;
    if (d < shapeFrom) continue;
    const v = (x[i] as number) - (means[d] as number);
    if (Number.isFinite(v)) (buckets[phaseOf(i)] as number[]).push(v);
  }
  const raw = new Float64Array(perDay);
  for (let p = 0; p < perDay; p++) {
    const m = median(buckets[p] as number[]);
    raw[p] = Number.isNaN(m) ? 0 : m;
  }
  // Smooth circularly over about 15 minutes, then centre.
  const w = Math.max(0, Math.round(perDay / 96 / 2));
  let total = 0;
  for (let p = 0; p < perDay; p++) {
    let s = 0;
    for (let k = -w; k <= w; k++) s += raw[(((p + k) % perDay) + perDay) % perDay] as number;
    shape[p] = s / (2 * w + 1);
    total += shape[p] as number;
  }
  for (let p = 0; p < perDay; p++) shape[p] = (shape[p] as number) - total / perDay;
  return { firstDay, means };
}

/** Weekday effects: median over 7-day blocks (not straddling `shiftDay`) of (day mean - block mean), centred. */
function estimateWeekday(dm: DayMeans, shiftDay: number, weekday: Float64Array): void {
  const { firstDay, means } = dm;
  const effects: number[][] = Array.from({ length: 7 }, () => []);
  for (let end = means.length; end - 7 >= 0; end -= 7) {
    const b0 = firstDay + end - 7;
    if (shiftDay > b0 && shiftDay < b0 + 7) continue;
    let s = 0;
    let c = 0;
    for (let d = end - 7; d < end; d++) {
      if (Number.isFinite(means[d])) {
        s += means[d] as number;
        c++;
      }
    }
    if (c < 6) continue;
    for (let d = end - 7; d < end; d++) {
      if (Number.isFinite(means[d])) (effects[(((firstDay + d) % 7) + 7) % 7] as number[]).push((means[d] as number) - s / c);
    }
  }
  let mean = 0;
  for (let k = 0; k < 7; k++) {
    const m = median(effects[k] as number[]);
    weekday[k] = Number.isNaN(m) ? 0 : m;
    mean += weekday[k] as number;
  }
  for (let k = 0; k < 7; k++) weekday[k] = (weekday[k] as number) - mean / 7;
}

function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = Float64Array.from(xs).sort();
  return sortedQuantile(s, 0.5);
}

/** Robust scale of one-step changes (MAD x 1.4826 / sqrt 2) after `from`; never 0. */
function robustScale(z: Float64Array, from: number): number {
  const d: number[] = [];
  for (let i = Math.max(from + 1, z.length - 20_000); i < z.length; i++) {
    const v = (z[i] as number) - (z[i - 1] as number);
    if (Number.isFinite(v)) d.push(v);
  }
  if (d.length === 0) return 1;
  const s = Float64Array.from(d).sort();
  const med = sortedQuantile(s, 0.5);
  for (let i = 0; i < s.length; i++) s[i] = Math.abs((s[i] as number) - med);
  s.sort();
  const mad = sortedQuantile(s, 0.5) * 1.4826 / Math.SQRT2;
  if (mad > 0) return mad;
  // Mostly flat series: fall back to the mean absolute change, then to a tiny constant.
  let sum = 0;
  for (const v of d) sum += Math.abs(v);
  return sum > 0 ? sum / d.length : 1e-9;
}

/**
 * The start of the last sustained level shift in a deseasonalized series, or 0: daily medians are
 * compared with the median of the days before; a shift counts when it exceeds 5 robust scales of
 * the day-to-day variation (at least the standard error of a day's median given `pointScale`, the
 * noise of one point) and every day after it stays on the new side.
 */
export function lastLevelShift(z: Float64Array, perDay: number, pointScale = 0): number {
  const days = Math.floor(z.length / perDay);
  if (days < 4) return 0;
  const med = new Float64Array(days);
  for (let d = 0; d < days; d++) {
    const base = z.length - (days - d) * perDay;
    const xs: number[] = [];
    for (let i = base; i < base + perDay; i++) if (Number.isFinite(z[i])) xs.push(z[i] as number);
    med[d] = xs.length >= perDay / 2 ? median(xs) : Number.NaN;
  }
  const diffs: number[] = [];
  for (let d = 1; d < days; d++) {
    const v = Math.abs((med[d] as number) - (med[d - 1] as number));
    if (Number.isFinite(v)) diffs.push(v);
  }
  // Day-to-day variation, floored by the standard error of a day's median from within-day noise.
  const scale = Math.max(1e-12, median(diffs) * 1.4826, (pointScale * 1.2533) / Math.sqrt(perDay));
  // Every day of the final regime qualifies (it and all later days sit on one side of the days
  // before it); walk back through that run to its first day.
  let found = -1;
  for (let d = days - 1; d >= 2; d--) {
    const before: number[] = [];
    for (let k = Math.max(0, d - 7); k < d; k++) if (Number.isFinite(med[k])) before.push(med[k] as number);
    const ref = median(before);
    let ok = !Number.isNaN(ref);
    let sign = 0;
    for (let k = d; k < days && ok; k++) {
      const dev = (med[k] as number) - ref;
      const sg = Math.sign(dev);
      if (!(Math.abs(dev) > 5 * scale) || (sign !== 0 && sg !== sign)) ok = false;
      sign = sg;
    }
    if (ok) found = d;
    else if (found >= 0) break;
  }
  if (found >= 0) return z.length - (days - found) * perDay;
  return 0;
}

interface SmoothResult {
  err: number;
  level: number;
  trend: number;
  outliers: number;
  residuals: Float64Array;
}

/** Damped-trend exponential smoothing with clipped innovations; error = mean |one-step error| from `evalFrom`. */
function smooth(z: Float64Array, from: number, alpha: number, beta: number, clip: number, evalFrom: number, keepResiduals = false): SmoothResult {
  let level = Number.NaN;
  let trend = 0;
  let err = 0;
  let count = 0;
  let outliers = 0;
  const residuals = keepResiduals ? new Float64Array(Math.max(0, z.length - evalFrom)) : new Float64Array(0);
  let r = 0;
  for (let i = from; i < z.length; i++) {
    const v = z[i] as number;
    if (Number.isNaN(level)) {
      if (Number.isFinite(v)) level = v;
      continue;
    }
    const pred = level + PHI * trend;
    if (!Number.isFinite(v)) {
      level = pred;
      trend *= PHI;
      continue;
    }
    let e = v - pred;
    if (i >= evalFrom) {
      err += Math.abs(e);
      count++;
      if (keepResiduals) residuals[r++] = e;
    }
    if (e > clip) {
      e = clip;
      outliers++;
    } else if (e < -clip) {
      e = -clip;
      outliers++;
    }
    level = pred + alpha * e;
    trend = PHI * trend + beta * alpha * e;
  }
  if (Number.isNaN(level)) level = 0;
  return { err: count ? err / count : Number.POSITIVE_INFINITY, level, trend, outliers, residuals: residuals.subarray(0, r) };
}
