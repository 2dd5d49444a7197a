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
//    grid by one-step absolute error. Innovations beyond 4 scales are clipped, with a scale that
//    follows recent errors (a lone outlier is down-weighted, a level shift is followed); missing
//    points only advance the state.
// 5. Forecast = level + damped trend + daily shape + weekday effect, transformed back.

import { checkForecastArgs, DAY, WEEK, type Forecast, type Forecaster, type Seasonality, type Series } from './forecast.js';
import { quantile, selectQuantiles, sortInPlace, sortedQuantile } from './stats.js';

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
  /** Innovation scale at the end of the fit (robust smoothing). */
  readonly sigma: number;
  readonly log: boolean;
  readonly offset: number;
  readonly seasonal: (i: number) => number;
  /** One-step residuals of the fit, sorted. */
  readonly residuals: Float64Array;
  readonly missing: number;
  readonly outliers: number;
  readonly cutAt?: number;
  /** Seasons the fit used; a history long enough for more forces a refit. */
  readonly seasons: number;
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
    checkForecastArgs(horizon, level);
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
    if (
      prev &&
      this.reuseFitPoints > 0 &&
      prev.start === history.start &&
      prev.step === history.step &&
      n >= prev.n &&
      n - prev.fittedN <= this.reuseFitPoints &&
      seasonsFor(n, history.step, this.seasonality) === prev.seasons
    ) {
      const last = history.values[prev.n - 1] as number;
      if (Object.is(last, prev.last) || last === prev.last) return this.update(prev, history);
    }
    return this.fit(history);
  }

  /** Continue the smoothing over the points appended since the state was computed. */
  private update(st: FitState, history: Series): FitState {
    let { level, trend, outliers, sigma } = st;
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
      const raw = z - pred;
      let e: number;
      [e, sigma] = robustInnovation(raw, sigma);
      if (e !== raw) outliers++;
      level = pred + st.alpha * e;
      trend = PHI * trend + st.beta * st.alpha * e;
    }
    return { ...st, n, last: history.values[n - 1] as number, level, trend, sigma, missing, outliers };
  }

  private fit(history: Series): FitState {
    const { step, start } = history;
    const n = history.values.length;
    const perDay = Math.round(DAY / step);
    const seasons = seasonsFor(n, step, this.seasonality);
    const useDaily = seasons >= 1;
    const useWeekly = seasons >= 2;

    // 1. Working series.
    let offset = 0;
    let log = this.transform === 'log';
    if (log) {
      let min = Number.POSITIVE_INFINITY;
      const positives = new Float64Array(Math.min(n, 4096));
      let k = 0;
      for (let i = n - 1; i >= 0; i--) {
        const v = history.values[i] as number;
        if (Number.isFinite(v)) {
          if (v < min) min = v;
          if (v > 0 && k < positives.length) positives[k++] = v;
        }
      }
      // The offset keeps zeros finite in log space: 5 % of the median positive value (recent 4,096).
      if (!(min >= 0) || k === 0) log = false;
      else offset = Math.max(1e-9, 0.05 * (selectQuantiles(positives.subarray(0, k), [0.5])[0] as number));
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

    // 2. Seasonal shapes. With a step dividing the day, the phase advances by one per point and the
    // day when the phase wraps, so both are integer arithmetic from the first point's.
    const phase0 = Math.floor(((((start % DAY) + DAY) % DAY) / step) + 1e-9);
    const day0 = Math.floor(start / DAY);
    const dayOf = useDaily ? (i: number): number => day0 + Math.floor((phase0 + i) / perDay) : (i: number): number => Math.floor((start + i * step) / DAY);
    const phaseOf = (i: number): number => (phase0 + i) % perDay;
    const shape = new Float64Array(useDaily ? perDay : 0);
    const weekly = new Float64Array(WEEK_HOURS);
    // Position in the week in hours (0..168), continuous within the day.
    const weekHourAt = (day: number, phase: number): number => (((day % 7) + 7) % 7) * 24 + (phase * step) / 3600;
    const weekHourOf = (i: number): number => weekHourAt(dayOf(i), phaseOf(i));
    const z = new Float64Array(n);
    let cut = 0;
    let pointScale = Number.NaN;
    if (useDaily) {
      // The daily shape is shift-invariant (deviations from each day's own mean); find the last level
      // shift on what it leaves, then the weekly profile from week blocks that do not straddle the shift.
      estimateDailyShape(x, this.profileDays, perDay, useWeekly, phase0, day0, shape);
      for (let i = 0, ph = phase0 % perDay; i < n; i++) {
        z[i] = (x[i] as number) - (shape[ph] as number);
        if (++ph === perDay) ph = 0;
      }
      pointScale = robustScale(z, 0);
      cut = lastLevelShift(z, perDay, pointScale);
      if (useWeekly) estimateWeekly(z, perDay, cut, weekHourOf, weekly);
    }
    // The seasonal term at a day and phase (with a daily season: the phase and day are integers).
    const seasonalAt = (day: number, phase: number): number => (shape[phase] as number) + (useWeekly ? weeklyAt(weekly, weekHourAt(day, phase)) : 0);
    const seasonal = (i: number): number => (useDaily ? seasonalAt(dayOf(i), phaseOf(i)) : 0);
    if (!useDaily) z.set(x);
    else {
      // seasonal(i) with the phase and the day counted along (the same integers, so the same values).
      let ph = phase0 % perDay;
      let day = day0 + Math.floor(phase0 / perDay);
      for (let i = 0; i < n; i++) {
        z[i] = (x[i] as number) - seasonalAt(day, ph);
        if (++ph === perDay) {
          ph = 0;
          day++;
        }
      }
    }

    // 3. Fit after the last level shift.

    // 4. Damped-trend smoothing with a grid search.
    const scale = cut === 0 && Number.isFinite(pointScale) ? pointScale : robustScale(z, cut);
    // Smoothing forgets the distant past (the smallest alpha remembers ~50 points), so it starts at
    // most four days (or 500 points) back; the last two days score the grid.
    const from = Math.max(cut, n - Math.max(4 * (useDaily ? perDay : 1), 500));
    const evalFrom = Math.max(from + 1, n - Math.max(2 * (useDaily ? perDay : 1), 50));
    const init = initialLevel(z, from, evalFrom);
    const best = bestSmoothing(z, from, scale, evalFrom, init);
    const fit = smooth(z, from, best.alpha, best.beta, scale, evalFrom, true, init);

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
      sigma: fit.sigma,
      log,
      offset,
      seasonal,
      residuals: res,
      missing,
      outliers: fit.outliers,
      ...(cut > 0 ? { cutAt: start + cut * step } : {}),
      seasons,
    };
  }
}


/** Fills `shape`: the centred, smoothed daily profile. */
function estimateDailyShape(
  x: Float64Array,
  profileDays: number,
  perDay: number,
  useWeekly: boolean,
  phase0: number,
  day0: number,
  shape: Float64Array,
): void {
  const n = x.length;
  // Point i is at phase (phase0 + i) % perDay of day day0 + floor((phase0 + i) / perDay); both are
  // counted along the loops below.
  const dayOf = (i: number): number => day0 + Math.floor((phase0 + i) / perDay);
  const lastDay = dayOf(n - 1);
  const firstDay = Math.max(dayOf(0), lastDay - Math.max(profileDays, useWeekly ? 28 : 0) + 1);
  const days = lastDay - firstDay + 1;
  // Mean of each day (NaN when under half of it is present), and the mean phase of its points.
  const sums = new Float64Array(days);
  const counts = new Float64Array(days);
  const phases = new Float64Array(days);
  // The first point of firstDay (the first point at all when the series starts later in that day).
  const from = Math.min(n - 1, Math.max(0, (firstDay - day0) * perDay - phase0));
  const phaseFrom = (phase0 + from) % perDay;
  for (let i = from, d = dayOf(from) - firstDay, p = phaseFrom; i < n; i++) {
    const v = x[i] as number;
    if (Number.isFinite(v)) {
      sums[d] = (sums[d] as number) + v;
      counts[d] = (counts[d] as number) + 1;
      phases[d] = (phases[d] as number) + p;
    }
    if (++p === perDay) {
      p = 0;
      d++;
    }
  }
  const means = new Float64Array(days);
  const centres = new Float64Array(days);
  for (let d = 0; d < days; d++) {
    const ok = (counts[d] as number) >= perDay / 2;
    means[d] = ok ? (sums[d] as number) / (counts[d] as number) : Number.NaN;
    centres[d] = ok ? (phases[d] as number) / (counts[d] as number) : Number.NaN;
  }
  // The slope through each day, from its neighbours' means: a steady ramp would otherwise show as a
  // daily sawtooth (low mornings, high evenings) and be projected across midnight as a drop.
  const slopes = new Float64Array(days);
  const at = (d: number): number => d * perDay + (centres[d] as number);
  for (let d = 0; d < days; d++) {
    if (Number.isNaN(means[d] as number)) continue;
    const a = d > 0 && !Number.isNaN(means[d - 1] as number) ? d - 1 : d;
    const b = d + 1 < days && !Number.isNaN(means[d + 1] as number) ? d + 1 : d;
    slopes[d] = a === b ? 0 : ((means[b] as number) - (means[a] as number)) / (at(b) - at(a));
  }
  // Median over the most recent profile days of (x - day mean), per phase: one phase-major matrix.
  const shapeFrom = Math.max(0, days - profileDays);
  const rows = days - shapeFrom;
  const cells = new Float64Array(perDay * rows);
  const filled = new Int32Array(perDay);
  for (let i = from, d = dayOf(from) - firstDay, p = phaseFrom; i < n; i++) {
    if (d >= shapeFrom) {
      const v = (x[i] as number) - (means[d] as number) - (slopes[d] as number) * (p - (centres[d] as number));
      if (Number.isFinite(v)) {
        cells[p * rows + (filled[p] as number)] = v;
        filled[p] = (filled[p] as number) + 1;
      }
    }
    if (++p === perDay) {
      p = 0;
      d++;
    }
  }
  const raw = new Float64Array(perDay);
  for (let p = 0; p < perDay; p++) {
    const c = filled[p] as number;
    raw[p] = c ? sortedQuantile(sortInPlace(cells.subarray(p * rows, p * rows + c)), 0.5) : 0;
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
}

const WEEK_HOURS = 168;

/** 0: no season, 1: daily, 2: daily and weekly, for a history of n points at this step. */
function seasonsFor(n: number, step: number, seasonality: Seasonality): number {
  const perDay = Math.round(DAY / step);
  if (seasonality === 'none' || perDay < 2 || !Number.isInteger(DAY / step) || n < 2 * perDay) return 0;
  return seasonality !== 'daily' && n >= (2 * WEEK) / step ? 2 : 1;
}

/**
 * Hour-of-week profile of `z` (the series minus its daily shape): for each of the 168 hours, the median
 * over up to 4 week-long blocks (counted back from the end, skipping one that straddles the level
 * shift at `cut`) of the value minus its block's mean; centred.
 */
function estimateWeekly(z: Float64Array, perDay: number, cut: number, weekHourOf: (i: number) => number, weekly: Float64Array): void {
  const n = z.length;
  const block = 7 * perDay;
  const cells: number[][] = Array.from({ length: WEEK_HOURS }, () => []);
  for (let b = 0; b < 4; b++) {
    const hi = n - b * block;
    const lo = hi - block;
    if (lo < 0) break;
    if (cut > lo && cut < hi) continue;
    let sum = 0;
    let c = 0;
    for (let i = lo; i < hi; i++) {
      if (Number.isFinite(z[i])) {
        sum += z[i] as number;
        c++;
      }
    }
    if (c < block / 2) continue;
    const mean = sum / c;
    for (let i = lo; i < hi; i++) if (Number.isFinite(z[i])) (cells[Math.min(WEEK_HOURS - 1, Math.floor(weekHourOf(i)))] as number[]).push((z[i] as number) - mean);
  }
  let total = 0;
  for (let h = 0; h < WEEK_HOURS; h++) {
    const m = quantile(cells[h] as number[], 0.5);
    weekly[h] = Number.isNaN(m) ? 0 : m;
    total += weekly[h] as number;
  }
  for (let h = 0; h < WEEK_HOURS; h++) weekly[h] = (weekly[h] as number) - total / WEEK_HOURS;
}

/** The weekly profile at a position in hours, linear between hour centres (circular). */
function weeklyAt(weekly: Float64Array, hour: number): number {
  const x = hour - 0.5;
  const lo = Math.floor(x);
  const f = x - lo;
  const a = weekly[((lo % WEEK_HOURS) + WEEK_HOURS) % WEEK_HOURS] as number;
  const b = weekly[(((lo + 1) % WEEK_HOURS) + WEEK_HOURS) % WEEK_HOURS] as number;
  return a + (b - a) * f;
}

/** Robust scale of one-step changes (MAD x 1.4826 / sqrt 2) over the last 1,008 after `from`; never 0. */
function robustScale(z: Float64Array, from: number): number {
  const lo = Math.max(from + 1, z.length - 1008);
  const d = new Float64Array(Math.max(0, z.length - lo));
  let k = 0;
  let sumAbs = 0;
  for (let i = lo; i < z.length; i++) {
    const v = (z[i] as number) - (z[i - 1] as number);
    if (Number.isFinite(v)) {
      d[k++] = v;
      sumAbs += Math.abs(v);
    }
  }
  if (k === 0) return 1;
  const s = d.subarray(0, k);
  const med = selectQuantiles(s, [0.5])[0] as number;
  for (let i = 0; i < k; i++) s[i] = Math.abs((s[i] as number) - med);
  const sorted = s.sort();
  const mad = (sortedQuantile(sorted, 0.5) * 1.4826) / Math.SQRT2;
  // A piecewise-constant series has a MAD of 0: floor the scale at half the mean absolute change
  // without its top 1 % (so one spike does not set it), or clipping would freeze the level.
  let trimmed = 0;
  const keep = Math.max(1, Math.floor(k * 0.99));
  for (let i = 0; i < keep; i++) trimmed += sorted[i] as number;
  const scale = Math.max(mad, trimmed / keep / 2);
  return scale > 0 ? scale : sumAbs > 0 ? sumAbs / k / 2 : 1e-9;
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
  const buf = new Float64Array(perDay);
  for (let d = 0; d < days; d++) {
    const base = z.length - (days - d) * perDay;
    let k = 0;
    for (let i = base; i < base + perDay; i++) if (Number.isFinite(z[i])) buf[k++] = z[i] as number;
    med[d] = k >= perDay / 2 ? (selectQuantiles(buf.subarray(0, k), [0.5])[0] as number) : Number.NaN;
  }
  const diffs: number[] = [];
  for (let d = 1; d < days; d++) {
    const v = Math.abs((med[d] as number) - (med[d - 1] as number));
    if (Number.isFinite(v)) diffs.push(v);
  }
  // Day-to-day variation, floored by the standard error of a day's median from within-day noise.
  const scale = Math.max(1e-12, quantile(diffs, 0.5) * 1.4826, (pointScale * 1.2533) / Math.sqrt(perDay));
  // Every day of the final regime qualifies (it and all later days sit on one side of the days
  // before it); walk back through that run to its first day.
  let found = -1;
  for (let d = days - 1; d >= 2; d--) {
    const before: number[] = [];
    for (let k = Math.max(0, d - 7); k < d; k++) if (Number.isFinite(med[k])) before.push(med[k] as number);
    const ref = quantile(before, 0.5);
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

/** Innovations beyond CLIP_K scales are clipped. */
const CLIP_K = 4;
/** How fast the innovation scale follows recent errors. */
const SCALE_RATE = 0.1;

/**
 * Huber-clipped innovation and the updated scale (after Gelper, Fried & Croux 2010, robust
 * exponential smoothing): the scale tracks recent clipped absolute errors, so a run of large errors
 * (a level shift) widens it within a few steps and the level follows, while a lone spike stays clipped.
 */
function robustInnovation(e: number, sigma: number): [number, number] {
  const limit = CLIP_K * sigma;
  const clipped = e > limit ? limit : e < -limit ? -limit : e;
  // 1.2533 = sqrt(pi / 2): mean absolute deviation to standard deviation for normal errors.
  const next = (1 - SCALE_RATE) * sigma + SCALE_RATE * 1.2533 * Math.abs(clipped);
  return [clipped, Math.max(next, sigma * 1e-3, 1e-12)];
}

interface SmoothResult {
  err: number;
  /** The sum behind `err` (infinite when the run stopped past `stopAbove`). */
  errSum: number;
  level: number;
  trend: number;
  sigma: number;
  outliers: number;
  residuals: Float64Array;
}

/** The starting level: the median of the first stretch (up to a day's worth before scoring starts). */
function initialLevel(z: Float64Array, from: number, evalFrom: number): number {
  const to = Math.min(z.length, Math.max(from + 1, evalFrom));
  const buf = new Float64Array(Math.max(0, to - from));
  let k = 0;
  for (let i = from; i < to; i++) if (Number.isFinite(z[i])) buf[k++] = z[i] as number;
  return k ? sortedQuantile(buf.subarray(0, k).sort(), 0.5) : Number.NaN;
}

/**
 * The grid's best smoothing parameters: the lowest mean one-step error from `evalFrom` (the first found
 * on a tie). Every run scores the same points, so a run whose error sum passes the best one's is dropped
 * there; the choice is the same as running each to the end (a seeded test holds it to that).
 */
export function bestSmoothing(z: Float64Array, from: number, scale: number, evalFrom: number, init: number): { sse: number; alpha: number; beta: number } {
  let best = { sse: Number.POSITIVE_INFINITY, alpha: 0.2, beta: 0 };
  let bestSum = Number.POSITIVE_INFINITY;
  // Grid points run two at a time in one loop (each step of the recurrence waits on the last, so two
  // interleaved runs take little longer than one); the results are taken in grid order, as one by one.
  const grid: [number, number][] = [];
  for (const alpha of ALPHAS) for (const beta of BETAS) grid.push([alpha, beta]);
  const take = (errSum: number, count: number, alpha: number, beta: number): void => {
    const err = errSum === Number.POSITIVE_INFINITY || count === 0 ? Number.POSITIVE_INFINITY : errSum / count;
    if (err < best.sse) {
      best = { sse: err, alpha, beta };
      bestSum = errSum;
    }
  };
  for (let g = 0; g < grid.length; g += 2) {
    const [a1, b1] = grid[g] as [number, number];
    if (g + 1 === grid.length) {
      const r = smooth(z, from, a1, b1, scale, evalFrom, false, init, bestSum);
      if (r.err < best.sse) {
        best = { sse: r.err, alpha: a1, beta: b1 };
        bestSum = r.errSum;
      }
      continue;
    }
    const [a2, b2] = grid[g + 1] as [number, number];
    const [s1, s2, count] = smoothTwo(z, from, a1, b1, a2, b2, scale, evalFrom, init, bestSum);
    take(s1, count, a1, b1);
    take(s2, count, a2, b2);
  }
  return best;
}

/**
 * Two runs of `smooth`'s recurrence side by side, each with the same arithmetic as alone: their error
 * sums (infinite once past `stopAbove`) and the number of points scored. Stops when both are past it.
 */
function smoothTwo(z: Float64Array, from: number, a1: number, b1: number, a2: number, b2: number, scale: number, evalFrom: number, init: number, stopAbove: number): [number, number, number] {
  let l1 = init;
  let l2 = init;
  let t1 = 0;
  let t2 = 0;
  let e1 = 0;
  let e2 = 0;
  let sg1 = scale;
  let sg2 = scale;
  let count = 0;
  let out1 = false;
  let out2 = false;
  for (let i = from; i < z.length; i++) {
    const v = z[i] as number;
    // Both runs start from the same level, so both are NaN until the same point.
    if (Number.isNaN(l1)) {
      if (Number.isFinite(v)) {
        l1 = v;
        l2 = v;
      }
      continue;
    }
    const p1 = l1 + PHI * t1;
    const p2 = l2 + PHI * t2;
    if (!Number.isFinite(v)) {
      l1 = p1;
      l2 = p2;
      t1 *= PHI;
      t2 *= PHI;
      continue;
    }
    const r1 = v - p1;
    const r2 = v - p2;
    if (i >= evalFrom) {
      e1 += Math.abs(r1);
      e2 += Math.abs(r2);
      count++;
      if (e1 > stopAbove) out1 = true;
      if (e2 > stopAbove) out2 = true;
      if (out1 && out2) break;
    }
    const lim1 = CLIP_K * sg1;
    const lim2 = CLIP_K * sg2;
    const c1 = r1 > lim1 ? lim1 : r1 < -lim1 ? -lim1 : r1;
    const c2 = r2 > lim2 ? lim2 : r2 < -lim2 ? -lim2 : r2;
    sg1 = Math.max((1 - SCALE_RATE) * sg1 + SCALE_RATE * 1.2533 * Math.abs(c1), sg1 * 1e-3, 1e-12);
    sg2 = Math.max((1 - SCALE_RATE) * sg2 + SCALE_RATE * 1.2533 * Math.abs(c2), sg2 * 1e-3, 1e-12);
    l1 = p1 + a1 * c1;
    l2 = p2 + a2 * c2;
    t1 = PHI * t1 + b1 * a1 * c1;
    t2 = PHI * t2 + b2 * a2 * c2;
  }
  const inf = Number.POSITIVE_INFINITY;
  return [out1 ? inf : e1, out2 ? inf : e2, count];
}

/** The grid `bestSmoothing` searches. */
export const SMOOTHING_GRID = { alphas: ALPHAS, betas: BETAS } as const;

/**
 * Damped-trend exponential smoothing with robustly clipped innovations (initial scale `scale`); error =
 * mean |one-step error| from `evalFrom`. A run whose error sum passes `stopAbove` stops there with an
 * infinite error: the sum only grows, so it could not have scored below a run whose sum that was.
 */
export function smooth(z: Float64Array, from: number, alpha: number, beta: number, scale: number, evalFrom: number, keepResiduals = false, init = initialLevel(z, from, evalFrom), stopAbove = Number.POSITIVE_INFINITY): SmoothResult {
  let level = init;
  let trend = 0;
  let err = 0;
  let count = 0;
  let outliers = 0;
  let sigma = scale;
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
    const raw = v - pred;
    if (i >= evalFrom) {
      err += Math.abs(raw);
      count++;
      if (keepResiduals) residuals[r++] = raw;
      if (err > stopAbove) return { err: Number.POSITIVE_INFINITY, errSum: Number.POSITIVE_INFINITY, level, trend, sigma, outliers, residuals: residuals.subarray(0, r) };
    }
    // robustInnovation, inlined (no pair allocated per point; the same arithmetic).
    const limit = CLIP_K * sigma;
    const e = raw > limit ? limit : raw < -limit ? -limit : raw;
    sigma = Math.max((1 - SCALE_RATE) * sigma + SCALE_RATE * 1.2533 * Math.abs(e), sigma * 1e-3, 1e-12);
    if (e !== raw) outliers++;
    level = pred + alpha * e;
    trend = PHI * trend + beta * alpha * e;
  }
  if (Number.isNaN(level)) level = 0;
  return { err: count ? err / count : Number.POSITIVE_INFINITY, errSum: count ? err : Number.POSITIVE_INFINITY, level, trend, sigma, outliers, residuals: residuals.subarray(0, r) };
}
