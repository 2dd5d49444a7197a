// The SLO-targeting policy: capacity for the demand the next lead time may bring, at the risk the
// service's error budget allows. Pure: observations and `now` in, decisions out.
// Design: docs/design/strategies.md#predictive-the-slo-policy-default-scalingpredictivepolicy-slo
//
// Per decision at time t, with lead L (provisioning + warm-up) and decision period P:
// 1. The window that matters is [t, t + L + P]: an instance asked for now is warm at t + L and lasts
//    until the next decision's instances are warm; one removed now cannot come back before t + L + P.
//    So the count must carry the largest demand of that window, and a scale-in happens when the whole
//    window (the restart cost) stays below the current capacity: the forecast decides when a drop lasts.
// 2. Point predictions of that window's peak: persistence (the observed rate), the recent peaks (the
//    largest rate observed over the last L + P, and over four times that: bursts come in clusters), the
//    forecast's mean peak, the observed rate carried along the forecast's seasonal shape, the trends
//    (the rise of the observed rate over the last L + P, and over the last period, carried on to the
//    window's end; a fall predicts the current rate), and the daily peak (the largest rate seen at the
//    window's time of day, 15 minutes either side, on most of the last seven days: a daily job).
// 3. Conformal calibration: each prediction is scored once its window has passed, as the log-ratio of
//    the observed peak to the prediction and as their difference, kept in sliding histograms (two days)
//    per predictor and per direction of the forecast (rising or falling). The bound is the smaller of the
//    prediction times the (1 - risk) quantile of the ratios and the prediction plus that quantile of the
//    differences: minute-level bursts and forecast misses are in those errors. The same errors are kept
//    by hour of the day over a week too; once they span three days, the quantile is read over the
//    decision's hour and the hours either side (Mondrian conformal by time of day): a burst that comes
//    every night widens the bound at night, not all day. That bound is never below the pooled errors'
//    quantile at four times the risk: an error that comes at any hour is missing from many three-hour
//    slices of one week.
// 4. The predictor with the lowest recent pinball loss (at the 99 % level) is used: a forecast that does
//    not help is never used in place of persistence, one that sees a ramp coming wins before it.
// 5. The risk follows the error budget (adaptive conformal inference, Gibbs & Candes 2021, in log space):
//    every minute judged against the SLO multiplies it by exp(rate x (1 - violated / budget)), so a
//    violation divides it by about e^(rate / budget) and a budget left unspent lets it grow. It stays
//    within [0.0005, 0.3]: never the extreme tail of the errors (whose cost has no bound), never a coin flip.
//    The rate is `adaptRate` over the first `adaptDecaySeconds` judged, then falls as the square root of
//    the time judged (to a fifth): quick to find the risk, then steady (every swing of the risk costs,
//    since capacity grows faster than linearly as the risk falls).
//    The risk taken at a decision is that risk times (prediction / the day's mean demand)^riskLevelExponent:
//    errors are larger while the demand is above its mean (bursts cluster), so one pooled quantile
//    under-covers the high windows and over-covers the low ones; a negative exponent evens them out.
// 6. A scale-in goes only as low as the counts asked for over a hold window of one lead time by default
//    (`scaleInHoldLeads`): a removed instance costs a restart if it is needed again, so an idle one is kept
//    as long as a restart would bill (the break-even rule), and noise in the bound cannot make the pool flap.
//    Nor lower than the count that carries the bound plus its second-by-second noise at the risk taken
//    (z(1 - risk) x sqrt(rate), a Poisson count's): the errors are scored on period means, but a pool must
//    carry each second's arrivals, and a count released to within that noise of its capacity violates.
// 7. Blind (metrics missing or stale): never a scale-in, and a scale-out to the calibrated bound of the
//    larger of two predictions it can still make, at the risk taken as in step 5: the recent long peak
//    (step 2's, over the decisions kept), and the forecast's peak over the window carried at the level
//    last observed against it. Demand moves while nothing is seen; when data returns, the pool is where
//    those say demand may be, not where it was. Each blind episode is scored when the data returns (the
//    peak of the first window after it against the recent long peak held through it), and once 12 are
//    known (the last 256 kept, whatever their age) the bound of those errors at the same risk is a third
//    bound: how far demand had moved when the data came back. The counts kept blind enter step 6's hold
//    like any other, so the pool stays one lead time after the data returns. On the NAB traffic series
//    (data with gaps) the minutes missed after a gap fall, at a billed cost that grows where the jumps
//    are largest; more is held inside the gaps, which the simulator neither bills nor scores
//    (docs/design/strategies.md).
// 8. A restart resumes: the recorded demand is replayed through steps 1-4 (no forecasts, nothing acted
//    on) and the last run's risk restored with the time it had adapted, so a restarted control plane does
//    not calibrate from nothing. A hole in that demand longer than the metrics' staleness replays as a
//    blind decision, so step 7's episodes in it are scored again.

import { instancesFor } from './capacity.js';
import { normalQuantile } from './verdict.js';
import type { Forecast } from './forecast.js';
import { eventLift, eventScale } from './events.js';
import type { Decision, Reason } from './reasons.js';
import type { DemandPoint, Observation, PoolBounds, Strategy, WarmStartResult, WarmStartResume } from './strategy.js';

export interface SloPolicySettings extends PoolBounds {
  /** Requests/s one warm instance serves within the SLO. */
  readonly perInstanceRps: number;
  /** Provisioning + warm-up: how long an instance asked for now takes to be useful. */
  readonly leadTimeSeconds: number;
  readonly periodSeconds: number;
  /** Target share of judged periods (minutes) that meet the SLO; the error budget is 1 - attainment. */
  readonly attainment: number;
  /** How long resolved prediction errors are kept for calibration (seconds). */
  readonly calibrationSeconds: number;
  /** Log-step of the risk per judged minute (step 5): a good minute multiplies it by e^rate, a violated one divides it by about e^(rate / budget). */
  readonly adaptRate: number;
  /** Step 5: judged time at the full `adaptRate`; after it the rate falls as the square root of the time judged (0: constant). */
  readonly adaptDecaySeconds: number;
  /** Step 5: the risk taken scales with (prediction / the day's mean demand) to this power. */
  readonly riskLevelExponent: number;
  /** Margin over the observed rate while fewer than `minSamples` errors are known. */
  readonly coldMargin: number;
  /** Step 6: the scale-in hold, in lead times. */
  readonly scaleInHoldLeads: number;
}

/** Resolved errors a predictor needs before its quantile is trusted. */
const MIN_SAMPLES = 60;
/**
 * Step 7: blind episodes scored before their errors bound a blind scale-out. Few, since each gap gives
 * one; at the risks taken (0.0005 to 0.3) a quantile of so few is their largest error or close to it.
 */
const MIN_BLIND_SAMPLES = 12;
/** Step 7: the blind episodes kept, whatever their age (gaps are rare: each is worth keeping). */
const BLIND_EPISODES = 256;
/** The risk's range (step 5) and its start: the 99 % quantile of past errors. */
const RISK_MIN = 0.0005;
const RISK_MAX = 0.3;
const INITIAL_RISK = 0.01;
/** The slowest the risk adapts, as a share of `adaptRate` (step 5). */
const ADAPT_FLOOR = 0.2;
/** The mean demand the risk level is relative to is averaged over about a day (step 5). */
const LEVEL_MEAN_SECONDS = 86400;
/** Predictors are compared by their pinball loss at this level (step 4). */
const PINBALL_TAU = 0.99;
/** The long recent peak looks back this many (lead + period) windows (step 2). */
const LONG_PEAK_LEADS = 4;
/**
 * Step 2's daily peak: the window's time of day on up to `DAILY_DAYS` past days, widened by
 * `DAILY_TOLERANCE_SECONDS` either side (a daily job drifts by minutes), in buckets of
 * `DAILY_BUCKET_SECONDS`. Two hours either side as a second predictor cost more than it saved
 * (docs/design/strategies.md, "The daily peak").
 */
const DAY_SECONDS = 86_400;
const DAILY_DAYS = 7;
const DAILY_MIN_DAYS = 3;
const DAILY_BUCKET_SECONDS = 300;
export const DAILY_TOLERANCE_SECONDS = 900;

/** The observed rate over the forecast's at the same time, bounded so a forecast near zero cannot multiply noise. */
function levelRatio(observed: number, forecast: number): number {
  return Math.min(4, Math.max(0.25, observed / forecast));
}

// ---------------------------------------------------------------------------------------------
// A sliding-window histogram of errors: counts per bin in a Fenwick tree, so adding, expiring and
// finding an upper quantile each take O(log bins).

const BINS = 2048;
/** Log-ratios from -6 to +6.3 (a factor of 400 either way) at 0.6 % resolution. */
const LOG_BINS = { min: -6, width: 0.006 } as const;
/** Differences in instances' rates at the SLO, from -20 to +184 at a tenth of an instance. */
const ABS_BINS = { min: -20, width: 0.1 } as const;

/** A Fenwick tree of bin counts: 16 bits while the counts cannot exceed 65,535, 32 beyond. */
function countTree(capacity: number): Uint16Array | Uint32Array {
  return capacity <= 0xffff ? new Uint16Array(BINS + 1) : new Uint32Array(BINS + 1);
}

/**
 * The first bin (counted from 0) at which the tree's cumulative count reaches `rank`. The same search as
 * `SlidingHistogram.upperQuantileOf`'s over several trees, kept apart on purpose: running one histogram's
 * quantile through the union search (a one-element list) made bench:sim 4 % slower (582d81d, reverted).
 */
function binOfRank(tree: Uint16Array | Uint32Array, rank: number): number {
  let pos = 0;
  let seen = 0;
  for (let step = BINS; step > 0; step >>= 1) {
    const next = pos + step;
    if (next <= BINS && seen + (tree[next] as number) < rank) {
      pos = next;
      seen += tree[next] as number;
    }
  }
  return pos;
}

function treeUpdate(tree: Uint16Array | Uint32Array, bin: number, delta: number): void {
  for (let i = bin + 1; i <= BINS; i += i & -i) tree[i] = (tree[i] as number) + delta;
}

/**
 * Values in a sliding window (by time and by capacity), one series or two added together (an error's
 * log-ratio and its difference): each series counts its bins in its own Fenwick tree, and the pair
 * shares one ring of times, which is most of the memory. Trees count in 16 bits when the capacity allows
 * (every histogram at the default settings): the quantile searches read scattered entries of many trees
 * per decision, and half the bytes miss the cache half as often (bench/results/sim.md).
 */
export class SlidingHistogram {
  private readonly tree: Uint16Array | Uint32Array;
  private readonly ring: Uint16Array;
  /** The second series (absent for one): its tree and bins. */
  private readonly tree2: Uint16Array | Uint32Array | undefined;
  private readonly ring2: Uint16Array | undefined;
  private readonly times: Float64Array;
  private head = 0;
  private size = 0;
  /** The time of the oldest value kept (+Infinity when empty): expiry checks it without reading the ring. */
  private oldestAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly capacity: number,
    private readonly bins: { readonly min: number; readonly width: number } = LOG_BINS,
    private readonly bins2?: { readonly min: number; readonly width: number },
  ) {
    this.tree = countTree(capacity);
    this.ring = new Uint16Array(capacity);
    this.tree2 = bins2 ? countTree(capacity) : undefined;
    this.ring2 = bins2 ? new Uint16Array(capacity) : undefined;
    this.times = new Float64Array(capacity);
  }

  get count(): number {
    return this.size;
  }

  /** Adds a value (and the second series' `y`, when there is one) at time `at`. */
  add(at: number, x: number, y = 0): void {
    if (this.size === this.capacity) this.dropOldest();
    const idx = (this.head + this.size) % this.capacity;
    const bin = Math.max(0, Math.min(BINS - 1, Math.round((x - this.bins.min) / this.bins.width)));
    this.ring[idx] = bin;
    treeUpdate(this.tree, bin, 1);
    if (this.tree2 && this.ring2 && this.bins2) {
      const bin2 = Math.max(0, Math.min(BINS - 1, Math.round((y - this.bins2.min) / this.bins2.width)));
      this.ring2[idx] = bin2;
      treeUpdate(this.tree2, bin2, 1);
    }
    this.times[idx] = at;
    if (this.size === 0) this.oldestAt = at;
    this.size++;
  }

  /** Forget values added before `at`. */
  expire(at: number): void {
    while (this.oldestAt < at) this.dropOldest();
  }

  /** The smallest bin value v with at most `tail` of the values above it (upper quantile 1 - tail), of the first series or the second. */
  upperQuantile(tail: number, second = false): number {
    if (this.size === 0) return Number.NaN;
    // The first bin whose cumulative count reaches size - floor(tail x size).
    const rank = Math.max(1, this.size - Math.floor(tail * this.size));
    const pos = binOfRank(second ? this.secondTree() : this.tree, rank);
    const bins = second ? (this.bins2 as { readonly min: number; readonly width: number }) : this.bins;
    return bins.min + pos * bins.width;
  }

  /** The upper quantile 1 - tail of the union of histograms with the same bins, of their first series or second (NaN when all are empty). */
  static upperQuantileOf(hs: readonly SlidingHistogram[], tail: number, second = false): number {
    let size = 0;
    for (const h of hs) {
      size += h.size;
      if (second) h.secondTree();
    }
    if (size === 0) return Number.NaN;
    const rank = Math.max(1, size - Math.floor(tail * size));
    let pos = 0;
    let seen = 0;
    for (let step = BINS; step > 0; step >>= 1) {
      const next = pos + step;
      if (next > BINS) continue;
      let c = 0;
      for (let k = 0; k < hs.length; k++) {
        const h = hs[k] as SlidingHistogram;
        // Checked above: every histogram has the series read.
        c += (second ? (h.tree2 as Uint16Array | Uint32Array) : h.tree)[next] as number;
      }
      if (seen + c < rank) {
        pos = next;
        seen += c;
      }
    }
    const h0 = hs[0] as SlidingHistogram;
    const bins = second ? (h0.bins2 as { readonly min: number; readonly width: number }) : h0.bins;
    return bins.min + pos * bins.width;
  }

  /** The second series' tree; a plain error when the histogram holds one series only (a caller's mistake). */
  private secondTree(): Uint16Array | Uint32Array {
    if (!this.tree2) throw new Error('SlidingHistogram: the second series was read from a histogram of one series');
    return this.tree2;
  }

  private dropOldest(): void {
    treeUpdate(this.tree, this.ring[this.head] as number, -1);
    if (this.tree2 && this.ring2) treeUpdate(this.tree2, this.ring2[this.head] as number, -1);
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    this.oldestAt = this.size > 0 ? (this.times[this.head] as number) : Number.POSITIVE_INFINITY;
  }
}

// ---------------------------------------------------------------------------------------------
// Step 3's errors by time of day: one sliding histogram per hour of the day, over the last week. A
// quantile is read over the decision's hour and the hours either side of it (Mondrian conformal, the
// category being the time of day): a daily burst widens the bound at its hours only.

const HOURS = 24;
/** How long errors are kept by hour (seconds): a week, seven samples of each hour. */
const BY_HOUR_SECONDS = 7 * DAY_SECONDS;
/** Hours either side of the decision's read with it. */
const BY_HOUR_SPAN = 1;
/** Errors by hour are used once they span this long (seconds); before, the pooled ones are. */
const BY_HOUR_MIN_SECONDS = 3 * DAY_SECONDS;
/**
 * The bound by hour is never below the pooled errors' quantile at this many times the risk (a floor for
 * errors not tied to a time of day). 2, 3, 4 and 8 were measured (docs/design/strategies.md step 3).
 */
const BY_HOUR_POOLED_RISK = 4;

export class ErrorsByHour {
  /** Per hour of the day, each error's log-ratio and difference (one histogram of the pair). */
  private readonly hours: SlidingHistogram[];
  /** The hours read at the last `countAt` (the hour and those either side), reused. */
  private readonly around: SlidingHistogram[];
  private first = Number.NaN;
  /** The quantiles the last `quantilesAt` read: of the log-ratios, and of the differences. */
  ratio = Number.NaN;
  difference = Number.NaN;

  constructor(periodSeconds: number) {
    // One value per period at most, per hour of each day kept.
    const capacity = Math.max(16, Math.ceil((BY_HOUR_SECONDS / DAY_SECONDS) * (3600 / Math.max(1, periodSeconds))) + 1);
    this.hours = Array.from({ length: HOURS }, () => new SlidingHistogram(capacity, LOG_BINS, ABS_BINS));
    this.around = this.hours.slice(0, 2 * BY_HOUR_SPAN + 1);
  }

  private hourOf(at: number): number {
    return Math.floor((((at % DAY_SECONDS) + DAY_SECONDS) % DAY_SECONDS) / 3600);
  }

  /** Adds an error scored at `at` (its log-ratio and difference); values of its hour older than the week kept are forgotten. */
  add(at: number, ratio: number, difference: number): void {
    if (Number.isNaN(this.first)) this.first = at;
    const h = this.hours[this.hourOf(at)] as SlidingHistogram;
    h.expire(at - BY_HOUR_SECONDS);
    h.add(at, ratio, difference);
  }

  /**
   * How many errors the hour of `at` and the hours either side hold, without those older than the week
   * before `at` (0 until errors span three days). Expiry is lazy, per hour read or written: a decision
   * does not sweep all 24.
   */
  countAt(at: number): number {
    if (!(at - this.first >= BY_HOUR_MIN_SECONDS)) return 0;
    const h = this.hourOf(at);
    let n = 0;
    for (let k = 0; k <= 2 * BY_HOUR_SPAN; k++) {
      const x = this.hours[(h + k - BY_HOUR_SPAN + HOURS) % HOURS] as SlidingHistogram;
      x.expire(at - BY_HOUR_SECONDS);
      this.around[k] = x;
      n += x.count;
    }
    return n;
  }

  /**
   * The upper quantiles 1 - tail of the errors around the time of day of `at`, into `ratio` and
   * `difference` (NaN when there are none); returns how many errors they were read over.
   */
  quantilesAt(at: number, tail: number): number {
    const n = this.countAt(at);
    this.ratio = n > 0 ? SlidingHistogram.upperQuantileOf(this.around, tail) : Number.NaN;
    this.difference = n > 0 ? SlidingHistogram.upperQuantileOf(this.around, tail, true) : Number.NaN;
    return n;
  }
}

// ---------------------------------------------------------------------------------------------
// Step 2's daily peak: the largest observed rate per bucket over the last `DAILY_DAYS` + 1 days, in a
// ring indexed by absolute bucket number, so a gap leaves its buckets empty instead of shifting days.

export class DailyPeaks {
  private readonly size = Math.ceil(((DAILY_DAYS + 1) * DAY_SECONDS) / DAILY_BUCKET_SECONDS) + 1;
  private readonly tag = new Float64Array(this.size).fill(Number.NaN);
  private readonly max = new Float64Array(this.size);
  private readonly days = new Float64Array(DAILY_DAYS);

  observe(at: number, rps: number): void {
    if (!Number.isFinite(at) || !Number.isFinite(rps)) return;
    const b = Math.floor(at / DAILY_BUCKET_SECONDS);
    const i = b % this.size;
    if (this.tag[i] === b) this.max[i] = Math.max(this.max[i] as number, rps);
    else {
      this.tag[i] = b;
      this.max[i] = rps;
    }
  }

  /**
   * The typical daily peak of [from, to] widened by `tolerance` either side: per past day (1 to
   * `DAILY_DAYS` back) the largest rate observed in that span of the day, and the upper median of those
   * days' peaks (NaN with fewer than `DAILY_MIN_DAYS` days observed there). A job that runs most days at
   * about this hour shows; one that ran once does not.
   */
  peak(from: number, to: number, tolerance: number): number {
    let n = 0;
    for (let d = 1; d <= DAILY_DAYS; d++) {
      const b0 = Math.floor((from - d * DAY_SECONDS - tolerance) / DAILY_BUCKET_SECONDS);
      const b1 = Math.floor((to - d * DAY_SECONDS + tolerance) / DAILY_BUCKET_SECONDS);
      let m = Number.NaN;
      for (let b = b0; b <= b1; b++) {
        const i = ((b % this.size) + this.size) % this.size;
        if (this.tag[i] === b && !(m >= (this.max[i] as number))) m = this.max[i] as number;
      }
      if (Number.isFinite(m)) this.days[n++] = m;
    }
    if (n < DAILY_MIN_DAYS) return Number.NaN;
    const got = this.days.subarray(0, n).sort();
    return got[Math.floor(n / 2)] as number;
  }
}

// ---------------------------------------------------------------------------------------------

export const PREDICTORS = ['persistence', 'forecast', 'seasonal-persistence', 'recent-peak', 'recent-peak-long', 'trend', 'trend-short', 'daily-peak'] as const;
export type PredictorName = (typeof PREDICTORS)[number];

/** Step 7: the prediction held through a blind episode, scored on the first window after the data returned. */
interface BlindPending {
  /** The last blind decision (the window starts after it: the first rate seen again is in it). */
  readonly at: number;
  readonly end: number;
  readonly point: number;
}

interface Pending {
  readonly at: number;
  readonly end: number;
  readonly rising: boolean;
  /** Point prediction per predictor (NaN where it had none). */
  readonly point: Float64Array;
  /** The calibrated bound each predictor gave at the pinball level (NaN before it was calibrated). */
  readonly bound: Float64Array;
}

/**
 * The calibrated state behind the SLO policy: pending predictions, their errors, pinball losses per
 * predictor and the budget-driven risk. Kept apart from the strategy so it can be tested on its own.
 */
export class SloCalibrator {
  /** Per predictor and direction, each error's log-ratio and its difference in instances' rates at the SLO. */
  private readonly hist: SlidingHistogram[];
  /** The same errors (ratios, differences) by hour of the day, over a week. */
  private readonly byHour: ErrorsByHour[];
  private readonly loss = new Float64Array(PREDICTORS.length);
  private readonly scored = new Uint32Array(PREDICTORS.length);
  private pending: Pending[] = [];
  /** Step 7: the blind prediction's errors (log-ratio and difference, as above), one per episode. */
  private readonly blindHist: SlidingHistogram;
  private blindPending: BlindPending[] = [];
  private obsAt: number[] = [];
  private obsRps: number[] = [];
  private judged = Number.NaN;
  private violated = Number.NaN;
  private riskValue: number;
  /** Minutes judged so far (or restored): how far the rate has decayed (step 5). */
  private adapted = 0;
  private readonly lossWeight: number;
  readonly floorRps: number;

  constructor(
    private readonly s: SloPolicySettings,
    initialRisk?: number,
  ) {
    const perWindow = Math.max(16, Math.ceil(s.calibrationSeconds / Math.max(1, s.periodSeconds)));
    this.hist = Array.from({ length: PREDICTORS.length * 2 }, () => new SlidingHistogram(perWindow, LOG_BINS, ABS_BINS));
    this.byHour = Array.from({ length: PREDICTORS.length * 2 }, () => new ErrorsByHour(s.periodSeconds));
    this.blindHist = new SlidingHistogram(BLIND_EPISODES, LOG_BINS, ABS_BINS);
    this.riskValue = clampRisk(initialRisk ?? INITIAL_RISK);
    // Pinball losses are averaged over about a quarter of the calibration window.
    this.lossWeight = Math.min(0.5, 4 / perWindow);
    // Below a twentieth of an instance's rate the ratio of two rates says nothing about capacity.
    this.floorRps = Math.max(1e-6, 0.05 * s.perInstanceRps);
  }

  /** The share of windows whose peak may exceed the bound (step 5). */
  get risk(): number {
    return this.riskValue;
  }

  /** Minutes judged since the calibrator started (plus any restored on a restart). */
  get adaptedMinutes(): number {
    return this.adapted;
  }

  /** The risk's log-step per judged minute after `adapted` minutes (step 5). */
  adaptRateNow(): number {
    const d = this.s.adaptDecaySeconds / 60;
    if (!(d > 0) || this.adapted <= d) return this.s.adaptRate;
    return this.s.adaptRate * Math.max(ADAPT_FLOOR, Math.sqrt(d / this.adapted));
  }

  samples(p: number, rising: boolean): number {
    return (this.hist[p * 2 + (rising ? 1 : 0)] as SlidingHistogram).count;
  }

  /** Cumulative SLO counters from the observation move the risk (step 5). */
  observeSlo(judged: number | undefined, violated: number | undefined): void {
    if (judged === undefined || violated === undefined) return;
    if (Number.isFinite(this.judged) && judged >= this.judged && violated >= this.violated) {
      const n = judged - this.judged;
      const v = violated - this.violated;
      const budget = 1 - this.s.attainment;
      if (n > 0) {
        this.adapted += n;
        this.riskValue = clampRisk(this.riskValue * Math.exp(this.adaptRateNow() * (n - v / budget)));
      }
    }
    this.judged = judged;
    this.violated = violated;
  }

  /** An observed rate; scores every pending prediction whose window has passed (step 3). */
  observeDemand(now: number, rps: number): void {
    if (Number.isFinite(rps)) {
      this.obsAt.push(now);
      this.obsRps.push(rps);
    }
    while (this.pending.length > 0 && (this.pending[0] as Pending).end <= now) {
      const p = this.pending.shift() as Pending;
      const peak = this.peakIn(p.at, p.end);
      if (Number.isNaN(peak)) continue; // nothing observed in the window: no evidence either way
      const y = Math.max(peak, this.floorRps);
      for (let i = 0; i < PREDICTORS.length; i++) {
        const x = p.point[i] as number;
        if (!Number.isFinite(x)) continue;
        const k = i * 2 + (p.rising ? 1 : 0);
        const ratio = Math.log(y / Math.max(x, this.floorRps));
        const difference = (peak - x) / this.s.perInstanceRps;
        (this.hist[k] as SlidingHistogram).add(p.at, ratio, difference);
        (this.byHour[k] as ErrorsByHour).add(p.at, ratio, difference);
        const b = p.bound[i] as number;
        if (Number.isFinite(b)) {
          const u = Math.log(y) - Math.log(Math.max(b, this.floorRps));
          const pin = u >= 0 ? PINBALL_TAU * u : (PINBALL_TAU - 1) * u;
          this.loss[i] = this.scored[i] === 0 ? pin : (this.loss[i] as number) + this.lossWeight * (pin - (this.loss[i] as number));
          this.scored[i] = (this.scored[i] as number) + 1;
        }
      }
    }
    while (this.blindPending.length > 0 && (this.blindPending[0] as BlindPending).end <= now) {
      const p = this.blindPending.shift() as BlindPending;
      const peak = this.peakIn(p.at, p.end);
      if (Number.isNaN(peak)) continue;
      this.blindHist.add(p.at, Math.log(Math.max(peak, this.floorRps) / Math.max(p.point, this.floorRps)), (peak - p.point) / this.s.perInstanceRps);
    }
    const keepFrom = now - this.s.calibrationSeconds;
    for (const h of this.hist) h.expire(keepFrom);
    // Observations are needed only as far back as the oldest pending window.
    let oldest = this.pending.length > 0 ? (this.pending[0] as Pending).at : now;
    if (this.blindPending.length > 0) oldest = Math.min(oldest, (this.blindPending[0] as BlindPending).at);
    let drop = 0;
    while (drop < this.obsAt.length && (this.obsAt[drop] as number) <= oldest) drop++;
    if (drop > 0) {
      this.obsAt.splice(0, drop);
      this.obsRps.splice(0, drop);
    }
  }

  /** The largest rate observed in (from, to] (NaN when none was). */
  private peakIn(from: number, to: number): number {
    let peak = Number.NaN;
    for (let k = 0; k < this.obsAt.length; k++) {
      const t = this.obsAt[k] as number;
      if (t > from && t <= to) peak = Number.isNaN(peak) ? (this.obsRps[k] as number) : Math.max(peak, this.obsRps[k] as number);
    }
    return peak;
  }

  /**
   * Step 7: a blind episode ended. `point` is what the policy predicted through it (the recent long peak
   * before the data stopped), `lastBlind` its last blind decision; the peak of the window up to `end`
   * scores it. Call before the returning rate is observed.
   */
  trackBlind(lastBlind: number, end: number, point: number): void {
    if (Number.isFinite(lastBlind) && Number.isFinite(point) && end > lastBlind) this.blindPending.push({ at: lastBlind, end, point });
  }

  get blindSamples(): number {
    return this.blindHist.count;
  }

  /** Step 7: the bound of the blind prediction from the errors of past blind episodes (NaN while fewer than MIN_BLIND_SAMPLES). */
  blindBound(point: number, risk = this.riskValue): { bound: number; quantile: number } {
    if (!Number.isFinite(point) || this.blindHist.count < MIN_BLIND_SAMPLES) return { bound: Number.NaN, quantile: Number.NaN };
    return this.boundFrom(this.blindHist.upperQuantile(risk), this.blindHist.upperQuantile(risk, true), point, 0);
  }

  /**
   * The bound of predictor `p` at the given risk for a decision at `at`; NaN while it has too few errors.
   * The errors of the decision's time of day are used once three days of them are known (`byHour`: how
   * many; 0 when the pooled errors of the last two days were used). `scale` multiplies the absolute
   * errors (in instances): a known event's factor, whose demand moves by that much more than usual.
   */
  bound(p: number, point: number, rising: boolean, risk: number, at: number, scale = 1): { bound: number; quantile: number; byHour: number } {
    const k = p * 2 + (rising ? 1 : 0);
    const h = this.hist[k] as SlidingHistogram;
    if (!Number.isFinite(point) || h.count < MIN_SAMPLES) return { bound: Number.NaN, quantile: Number.NaN, byHour: 0 };
    const e = this.byHour[k] as ErrorsByHour;
    const byHour = e.quantilesAt(at, risk);
    if (byHour >= MIN_SAMPLES) {
      // Never below the pooled errors at a looser risk: an error that comes at any hour (a spike from
      // idle at random times) is missing from many three-hour slices of one week, not from two whole days.
      const loose = Math.min(0.5, risk * BY_HOUR_POOLED_RISK);
      const ratio = Math.max(e.ratio, h.upperQuantile(loose));
      const difference = Math.max(e.difference, h.upperQuantile(loose, true));
      return this.boundFrom(ratio, difference * scale, point, byHour);
    }
    return this.boundFrom(h.upperQuantile(risk), h.upperQuantile(risk, true) * scale, point, 0);
  }

  /**
   * The bound of `point` from the quantiles of the log-ratios (`q`) and of the differences (`qa`, in
   * instances): the smaller of the relative and the absolute bound. Ratios learnt near zero (a spike over
   * an idle floor) must not multiply a high level, and differences learnt at a low level must not cap a
   * high one.
   */
  private boundFrom(q: number, qa: number, point: number, byHour: number): { bound: number; quantile: number; byHour: number } {
    const relative = Math.max(point, this.floorRps) * Math.exp(q);
    const absolute = point + qa * this.s.perInstanceRps;
    return { bound: Math.max(0, Math.min(relative, absolute)), quantile: q, byHour };
  }

  /** Step 4: the calibrated predictor with the lowest recent pinball loss (-1 when none is). */
  best(points: Float64Array, rising: boolean): number {
    let best = -1;
    for (let i = 0; i < PREDICTORS.length; i++) {
      if (!Number.isFinite(points[i] as number) || this.samples(i, rising) < MIN_SAMPLES || (this.scored[i] as number) < MIN_SAMPLES) continue;
      if (best < 0 || (this.loss[i] as number) < (this.loss[best] as number)) best = i;
    }
    return best;
  }

  lossOf(p: number): number {
    return this.scored[p] ? (this.loss[p] as number) : Number.NaN;
  }

  /** A restart resumes the risk the last run had reached (clamped like any other) and how long it had adapted. */
  restoreRisk(risk: number, adaptedMinutes?: number): void {
    if (Number.isFinite(risk) && risk > 0) this.riskValue = clampRisk(risk);
    if (adaptedMinutes !== undefined && Number.isFinite(adaptedMinutes) && adaptedMinutes > 0) this.adapted = adaptedMinutes;
  }

  /** Remember a decision's predictions, to score them once their window has passed. */
  track(at: number, end: number, rising: boolean, point: Float64Array): void {
    const bound = new Float64Array(PREDICTORS.length);
    for (let i = 0; i < PREDICTORS.length; i++) bound[i] = this.bound(i, point[i] as number, rising, 1 - PINBALL_TAU, at).bound;
    this.pending.push({ at, end, rising, point, bound });
  }
}

function clampRisk(r: number): number {
  return Math.min(RISK_MAX, Math.max(RISK_MIN, r));
}

/** Mean of the forecast at time t (NaN outside it). */
function forecastAt(f: Forecast, t: number): number {
  const i = Math.floor((t - f.start) / f.step);
  if (i < 0) return f.mean.length > 0 ? (f.mean[0] as number) : Number.NaN;
  return i < f.mean.length ? (f.mean[i] as number) : Number.NaN;
}

/** Largest forecast mean over buckets overlapping [from, to] (NaN when none does). */
function forecastMax(f: Forecast, from: number, to: number): number {
  let m = Number.NaN;
  const first = Math.max(0, Math.floor((from - f.start) / f.step));
  for (let i = first; i < f.mean.length; i++) {
    const t = f.start + i * f.step;
    if (t > to) break;
    const v = f.mean[i] as number;
    if (Number.isFinite(v)) m = Number.isNaN(m) ? v : Math.max(m, v);
  }
  return m;
}

/**
 * The predictive strategy: the SLO policy of the header. With no calibrated predictor yet it asks for
 * the observed rate plus `coldMargin` (reason `slo_calibrating`).
 */
export class SloPolicyStrategy implements Strategy {
  readonly name = 'predictive' as const;
  readonly periodSeconds: number;
  private s: SloPolicySettings;
  readonly calibrator: SloCalibrator;
  /** Observed rates over the long recent-peak window (time, rps). */
  private seen: { at: number; rps: number }[] = [];
  /** Recent counts asked for (time, count), over the longest hold. */
  private recent: { at: number; count: number }[] = [];
  /** The observed demand's exponentially weighted mean over about a day (step 5's level). */
  private meanRps = Number.NaN;
  private meanAt = Number.NaN;
  /** Observed rates by time of day over the last week (step 2's daily peaks). */
  readonly daily = new DailyPeaks();
  /** Step 7: the last blind decision of the episode under way (NaN when seeing) and what it predicted. */
  private blindAt = Number.NaN;
  private blindPoint = Number.NaN;

  constructor(settings: SloPolicySettings, initialRisk?: number) {
    this.s = settings;
    this.periodSeconds = settings.periodSeconds;
    this.calibrator = new SloCalibrator(settings, initialRisk);
  }

  updateCapacity(perInstanceRps: number): void {
    if (perInstanceRps > 0) this.s = { ...this.s, perInstanceRps };
  }

  /**
   * Step 8: a restart resumes instead of calibrating from nothing. The recorded demand is replayed
   * through the policy as if it had been running (points closer than half a period to the previous one
   * skipped; no forecasts, so only persistence and the recent peaks are scored; nothing acted on), then
   * the risk the last run had reached is restored and the scale-in hold starts afresh. `daily` (older
   * points, e.g. per-minute means over the last week) seeds the daily peaks beyond the replay. With
   * `staleSeconds`, a hole in the history longer than that replays as a blind decision (step 7) where the
   * metrics went stale, so the episodes the last run scored (the jumps demand made while unseen) are
   * scored again. Returns the points replayed and the holes replayed as blind.
   */
  warmStart(history: readonly DemandPoint[], resume: WarmStartResume = {}): WarmStartResult {
    // Step 2's daily peaks look back a week, further than the replay: older points (per-minute means,
    // say) seed them first.
    const first = history.find((h) => Number.isFinite(h.at))?.at ?? Number.POSITIVE_INFINITY;
    for (const h of resume.daily ?? []) if (h.at < first) this.daily.observe(h.at, h.rps);
    const stale = resume.staleSeconds !== undefined && resume.staleSeconds > 0 ? resume.staleSeconds : Number.POSITIVE_INFINITY;
    let replayed = 0;
    let blind = 0;
    let last = Number.NEGATIVE_INFINITY;
    for (const h of history) {
      if (!Number.isFinite(h.at) || !Number.isFinite(h.rps) || h.at < last + this.s.periodSeconds / 2) continue;
      const blindAt = last + stale + this.s.periodSeconds;
      if (Number.isFinite(blindAt) && blindAt < h.at) {
        this.decide({ now: blindAt, current: 0, ready: 0, utilization: Number.NaN, demandRps: Number.NaN, metricsFresh: false });
        blind++;
      }
      this.decide({ now: h.at, current: 0, ready: 0, utilization: Number.NaN, demandRps: h.rps, metricsFresh: true });
      last = h.at;
      replayed++;
    }
    this.recent = [];
    if (resume.risk !== undefined) this.calibrator.restoreRisk(resume.risk, resume.adaptedMinutes);
    return { replayed, blind };
  }

  /** Step 5: the risk taken for a prediction, the budget's risk scaled by the prediction's level against the day's mean. */
  riskFor(predicted: number): number {
    const e = this.s.riskLevelExponent;
    const r = this.calibrator.risk;
    const floor = this.calibrator.floorRps;
    if (e === 0 || !(this.meanRps > floor)) return r;
    return clampRisk(r * Math.pow(Math.max(predicted, floor) / this.meanRps, e));
  }

  /**
   * Step 2's trend: the observed rate plus its rise per second since the last decision at least `span`
   * seconds back, over `horizon` seconds (NaN when no decision is that old). A fall gives the rate itself:
   * the window's peak is never below now.
   */
  trend(now: number, rps: number, span: number, horizon: number): number {
    // The latest decision at least `span` back, searched from the newest (the spans are short).
    for (let k = this.seen.length - 1; k >= 0; k--) {
      const x = this.seen[k] as { at: number; rps: number };
      if (x.at > now - span) continue;
      return now > x.at ? rps + (Math.max(0, rps - x.rps) / (now - x.at)) * horizon : Number.NaN;
    }
    return Number.NaN;
  }

  /** Step 6: the hold, `scaleInHoldLeads` lead times (one by default: the restart cost). */
  holdSeconds(): number {
    return this.s.leadTimeSeconds * this.s.scaleInHoldLeads;
  }

  /** Step 6: a count asked for (blind or seeing), kept over the hold window. */
  private asked(at: number, count: number): void {
    this.recent.push({ at, count });
    const from = at - this.holdSeconds();
    while ((this.recent[0] as { at: number }).at < from) this.recent.shift();
  }

  /**
   * Step 7: metrics missing or stale. Holds, or scales out to the largest calibrated bound of the recent
   * long peak (by its errors, and by past blind episodes' once enough are scored) and the forecast along
   * the level last observed (never in).
   */
  private blind(obs: Observation, forecast?: Forecast): Decision {
    const s = this.s;
    const c = this.calibrator;
    const numbers: Record<string, number> = { risk: c.risk, adaptedMinutes: c.adaptedMinutes };
    const hold: Decision = { strategy: this.name, at: obs.now, current: obs.current, desired: obs.current, reason: 'missing_metrics_hold', numbers };
    const last = this.seen[this.seen.length - 1];
    if (!last) return hold;
    let peak = 0;
    for (const x of this.seen) peak = Math.max(peak, x.rps);
    const risk = this.riskFor(peak);
    let bound = c.bound(4, peak, false, risk, obs.now).bound;
    // The errors of past blind episodes: how far demand had moved from the recent peak when data returned.
    this.blindAt = obs.now;
    this.blindPoint = peak;
    const learnt = c.blindBound(peak, risk).bound;
    numbers.blindSamples = c.blindSamples;
    if (Number.isFinite(learnt)) {
      numbers.blindBoundRps = learnt;
      if (!(bound >= learnt)) bound = learnt;
    }
    numbers.lastObservedRps = last.rps;
    numbers.lastObservedAt = last.at;
    numbers.recentPeakRps = peak;
    if (forecast) {
      const then = forecastAt(forecast, last.at);
      const ahead = forecastMax(forecast, obs.now, obs.now + s.leadTimeSeconds + s.periodSeconds);
      if (Number.isFinite(then) && Number.isFinite(ahead) && then > c.floorRps) {
        const along = Math.max(0, ahead) * levelRatio(last.rps, then);
        numbers.forecastAlongRps = along;
        const b = c.bound(2, along, ahead > then, this.riskFor(along), obs.now).bound;
        if (!(bound >= b)) bound = b;
      }
    }
    if (!Number.isFinite(bound)) return hold;
    const desired = Math.min(s.maxInstances, instancesFor(bound, s.perInstanceRps));
    numbers.boundRps = bound;
    numbers.recommended = desired;
    return desired > obs.current ? { ...hold, desired, reason: 'missing_metrics_forecast' } : hold;
  }

  decide(obs: Observation, forecast?: Forecast): Decision {
    const s = this.s;
    const c = this.calibrator;
    c.observeSlo(obs.sloJudged, obs.sloViolated);
    const seeing = obs.metricsFresh && Number.isFinite(obs.demandRps);
    const end = obs.now + s.leadTimeSeconds + s.periodSeconds;
    if (seeing && Number.isFinite(this.blindAt)) {
      // Step 7: a blind episode ended; its prediction is scored on the window starting now.
      c.trackBlind(this.blindAt, end, this.blindPoint);
      this.blindAt = Number.NaN;
    }
    c.observeDemand(obs.now, seeing ? obs.demandRps : Number.NaN);
    if (!seeing) {
      // What a blind decision keeps is a count asked for too: step 6 holds it one lead time after the
      // data returns, when demand is least known.
      const d = this.blind(obs, forecast);
      this.asked(obs.now, d.desired);
      return d;
    }
    // Steps 1-2.
    const rps = obs.demandRps;
    const w = Number.isFinite(this.meanAt) ? Math.min(1, Math.max(0, obs.now - this.meanAt) / LEVEL_MEAN_SECONDS) : 1;
    this.meanRps = Number.isFinite(this.meanRps) ? this.meanRps + w * (rps - this.meanRps) : rps;
    this.meanAt = obs.now;
    const points = new Float64Array(PREDICTORS.length).fill(Number.NaN);
    points[0] = rps;
    const short = s.leadTimeSeconds + s.periodSeconds;
    const previous = this.seen.length > 0 ? (this.seen[this.seen.length - 1] as { rps: number }).rps : Number.NaN;
    this.seen.push({ at: obs.now, rps });
    while ((this.seen[0] as { at: number }).at <= obs.now - LONG_PEAK_LEADS * short) this.seen.shift();
    let peakShort = rps;
    let peakLong = rps;
    for (const x of this.seen) {
      peakLong = Math.max(peakLong, x.rps);
      if (x.at > obs.now - short) peakShort = Math.max(peakShort, x.rps);
    }
    points[3] = peakShort;
    points[4] = peakLong;
    // Step 2's trends: the rise over the last window, and over the last period, carried on to the window's end.
    points[5] = this.trend(obs.now, rps, short, short);
    points[6] = this.trend(obs.now, rps, s.periodSeconds, short);
    // Step 2's daily peak: what this window's time of day brought on most recent days (never below now).
    this.daily.observe(obs.now, rps);
    const daily = this.daily.peak(obs.now, end, DAILY_TOLERANCE_SECONDS);
    if (Number.isFinite(daily)) points[7] = Math.max(rps, daily);
    let rising = Number.isFinite(previous) ? rps > previous : false;
    if (forecast) {
      const now = forecastAt(forecast, obs.now);
      const peak = forecastMax(forecast, obs.now, end);
      if (Number.isFinite(peak)) {
        points[1] = Math.max(0, peak);
        if (Number.isFinite(now)) {
          rising = peak > now;
          // The observed rate along the forecast's shape; the ratio is bounded so a forecast near zero
          // cannot multiply noise.
          const ratio = now > c.floorRps ? levelRatio(rps, now) : 1;
          points[2] = now > c.floorRps ? Math.max(0, peak) * ratio : rps + Math.max(0, peak - now);
        }
      }
    }
    // Steps 3-5.
    const best = c.best(points, rising);
    let demand: number;
    let reason: Reason;
    const numbers: Record<string, number> = { observedRps: rps, risk: c.risk, adaptedMinutes: c.adaptedMinutes, meanRps: this.meanRps, windowEnd: end, leadTimeSeconds: s.leadTimeSeconds, perInstanceRps: s.perInstanceRps };
    // A known event's factor over the window: its demand moves by that much more than the errors learnt
    // outside it, in instances (ratios keep their meaning at any level; differences do not).
    const scale = forecast ? eventScale(forecast, obs.now, end) : 1;
    if (best >= 0) {
      const taken = this.riskFor(points[best] as number);
      const q = c.bound(best, points[best] as number, rising, taken, obs.now, scale);
      numbers.riskTaken = taken;
      demand = q.bound;
      reason = 'slo_forecast';
      numbers.predictor = best;
      numbers.predictedRps = points[best] as number;
      numbers.boundRps = q.bound;
      numbers.errorQuantile = q.quantile;
      numbers.samples = c.samples(best, rising);
      numbers.hourSamples = q.byHour;
      numbers.pinballLoss = c.lossOf(best);
    } else {
      demand = Math.max(rps, Number.isFinite(points[2] as number) ? (points[2] as number) : 0) * (1 + s.coldMargin);
      reason = 'slo_calibrating';
      numbers.boundRps = demand;
    }
    // A known event of declared size that starts or grows within the window is news to every predictor
    // but the forecast, which has it: the bound is at least the forecast's own (its calibrated bound, or
    // the forecast's peak plus the cold-start margin before it is calibrated). Only a floor: lifting the
    // other predictions by the event's factor multiplied it again where demand rose ahead of the
    // declared start (in a development run, many times what the campaign needed).
    const lift = forecast ? eventLift(forecast, obs.now, end) : 1;
    if (scale !== 1) numbers.eventScale = scale;
    if (lift > 1 && Number.isFinite(points[1] as number)) {
      const ahead = points[1] as number;
      const b = c.bound(1, ahead, true, this.riskFor(ahead), obs.now, scale).bound;
      const floor = Number.isFinite(b) ? b : ahead * (1 + s.coldMargin);
      numbers.eventLift = lift;
      numbers.eventBoundRps = floor;
      if (floor >= demand) {
        demand = floor;
        reason = 'known_event';
        numbers.boundRps = floor;
      }
    }
    numbers.rising = rising ? 1 : 0;
    c.track(obs.now, end, rising, points);
    let desired = instancesFor(demand, s.perInstanceRps);
    if (desired < s.minInstances) [desired, reason] = [s.minInstances, 'min_instances'];
    if (desired > s.maxInstances) [desired, reason] = [s.maxInstances, 'max_instances'];
    numbers.recommended = desired;
    // Step 6: noise in the bound cannot make the pool flap, and a drop must have lasted the hold.
    numbers.holdSeconds = this.holdSeconds();
    this.asked(obs.now, desired);
    if (desired < obs.current) {
      let held = desired;
      for (const r of this.recent) held = Math.max(held, r.count);
      held = Math.min(held, obs.current);
      // The count kept also carries the bound's second-by-second noise, which the period means the errors
      // are scored on do not show: a Poisson count's standard deviation, sqrt(rate), at the risk taken.
      const margin = normalQuantile(1 - (numbers.riskTaken ?? c.risk)) * Math.sqrt(Math.max(0, demand));
      numbers.noiseMarginRps = margin;
      held = Math.max(held, Math.min(obs.current, s.maxInstances, instancesFor(demand + margin, s.perInstanceRps)));
      if (held > desired) [desired, reason] = [held, 'scale_in_stabilization'];
    }
    // Not spread from `base`: an object spread per decision was the policy's costliest line (node --cpu-prof).
    return { strategy: this.name, at: obs.now, current: obs.current, desired, reason, numbers };
  }
}
