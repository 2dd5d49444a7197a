// Known events (campaigns, holidays, launches) in the strategies' forecasts. Pure: no I/O, no clock.
//
// An event with a declared `multiplier` is an intervention of known size: the demand during an occurrence
// is the demand without it times the multiplier. The history a strategy's forecaster fits is divided by
// it where past occurrences lie (so a campaign does not lift the level or the season of the fit), and the
// forecast is multiplied by it where the coming ones lie, so capacity is added a lead time before the
// event starts instead of after its load arrived. A point that an occurrence covers in part (a minute
// bucket at its edge) takes the share it covers: 1 + share x (multiplier - 1). Overlapping occurrences
// multiply. A yearly event without a multiplier takes the size its last occurrence showed, where the
// history holds it and it is a lift (learnEventSize, usedLearnedSize; in `run`, from the store's hourly
// rollups). Other events without one reach Prophet's forecasts only (src/forecast/prophet.ts), which learns
// their size from past occurrences.

import { DAY, WEEK, type Forecast, type Forecaster, type Series } from './forecast.js';

export const RECURRENCES = ['none', 'daily', 'weekly', 'yearly'] as const;
export type Recurrence = (typeof RECURRENCES)[number];

/**
 * The longest an occurrence may last, in seconds, and that length in words: its recurrence's period (a longer
 * one overlaps the next, and the multiplier applies twice there). A one-off event has no bound.
 */
export const LONGEST_OCCURRENCE: Readonly<Record<Recurrence, { readonly seconds: number; readonly words: string }>> = {
  none: { seconds: Number.POSITIVE_INFINITY, words: 'any time' },
  daily: { seconds: DAY, words: 'a day' },
  weekly: { seconds: WEEK, words: 'a week' },
  yearly: { seconds: 365 * DAY, words: '365 days' },
};

export interface KnownEvent {
  readonly name: string;
  /** Seconds since the epoch. */
  readonly start: number;
  readonly end: number;
  readonly recurrence: Recurrence;
  /** Demand during an occurrence over demand without the event; undefined: not known. */
  readonly multiplier?: number | undefined;
}

/** Occurrences of an event that overlap [from, to), by its recurrence. */
export function eventOccurrences(e: KnownEvent, from: number, to: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  const length = e.end - e.start;
  if (e.recurrence === 'none') {
    if (e.end > from && e.start < to) out.push({ start: e.start, end: e.end });
    return out;
  }
  if (e.recurrence === 'yearly') {
    const d = new Date(e.start * 1000);
    for (let y = new Date(from * 1000).getUTCFullYear() - 1; y <= new Date(to * 1000).getUTCFullYear(); y++) {
      const s = Date.UTC(y, d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()) / 1000;
      if (s + length > from && s < to) out.push({ start: s, end: s + length });
    }
    return out;
  }
  const period = e.recurrence === 'daily' ? DAY : WEEK;
  const k0 = Math.floor((from - e.end) / period);
  for (let k = k0; e.start + k * period < to; k++) {
    const s = e.start + k * period;
    if (s + length > from) out.push({ start: s, end: s + length });
  }
  return out;
}

/** The events whose size is known (a finite multiplier other than 1): the ones the strategies' forecasts use. */
export function sizedEvents(events: readonly KnownEvent[]): KnownEvent[] {
  return events.filter((e) => e.multiplier !== undefined && Number.isFinite(e.multiplier) && e.multiplier > 0 && e.multiplier !== 1);
}

/**
 * Per point of a series (point i covers [start + i x step, start + (i + 1) x step)), the factor the sized
 * events put on its demand; undefined when no occurrence touches the series (nothing to adjust).
 */
export function eventFactors(events: readonly KnownEvent[], start: number, step: number, n: number): Float64Array | undefined {
  if (n <= 0 || !(step > 0)) return undefined;
  const end = start + n * step;
  let factors: Float64Array | undefined;
  for (const e of sizedEvents(events)) {
    const m = e.multiplier as number;
    for (const o of eventOccurrences(e, start, end)) {
      factors ??= new Float64Array(n).fill(1);
      const first = Math.max(0, Math.floor((o.start - start) / step));
      const last = Math.min(n - 1, Math.ceil((o.end - start) / step) - 1);
      for (let i = first; i <= last; i++) {
        const t = start + i * step;
        const share = (Math.min(o.end, t + step) - Math.max(o.start, t)) / step;
        if (share > 0) factors[i] = (factors[i] as number) * (1 + Math.min(1, share) * (m - 1));
      }
    }
  }
  return factors;
}

/** The history without the sized events' effect (each point divided by its factor); the same array when none touches it. */
export function withoutEvents<T extends ArrayLike<number>>(values: T, events: readonly KnownEvent[], start: number, step: number): T | Float64Array {
  const f = eventFactors(events, start, step, values.length);
  if (!f) return values;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (values[i] as number) / (f[i] as number);
  return out;
}

/** The forecast with the sized events' effect (mean and interval multiplied by each point's factor); the same forecast when none touches it. */
export function withEvents(f: Forecast, events: readonly KnownEvent[]): Forecast {
  const factors = eventFactors(events, f.start, f.step, f.mean.length);
  if (!factors) return f;
  const scale = (xs: Float64Array): Float64Array => Float64Array.from(xs, (x, i) => x * (factors[i] as number));
  return { ...f, mean: scale(f.mean), lower: scale(f.lower), upper: scale(f.upper), eventFactors: factors };
}

/**
 * The known events' factors over [from, to]: at `from` (the point holding it; the first or last point outside
 * the forecast) and the largest of the points overlapping the window. Undefined without event factors.
 */
function windowFactors(f: Forecast, from: number, to: number): { now: number; peak: number } | undefined {
  const factors = f.eventFactors;
  if (!factors || factors.length === 0) return undefined;
  const first = Math.max(0, Math.min(factors.length - 1, Math.floor((from - f.start) / f.step)));
  const now = factors[first] as number;
  let peak = now;
  for (let i = first + 1; i < factors.length && f.start + i * f.step <= to; i++) peak = Math.max(peak, factors[i] as number);
  return { now, peak };
}

/**
 * How much the known events lift demand over [from, to] against `from`: the largest factor of the points
 * overlapping the window over the factor of the point at `from` (never below 1: an event that ends in the
 * window lowers nothing here, the observed demand shows the drop). 1 without event factors.
 */
export function eventLift(f: Forecast, from: number, to: number): number {
  const w = windowFactors(f, from, to);
  return w && w.now > 0 && w.peak > w.now ? w.peak / w.now : 1;
}

/**
 * The known events' factor over [from, to]: the largest of the points overlapping the window, never below
 * 1 (a drop does not make errors smaller than those learnt outside it); 1 without event factors.
 */
export function eventScale(f: Forecast, from: number, to: number): number {
  return Math.max(1, windowFactors(f, from, to)?.peak ?? 1);
}

/**
 * A forecaster with the sized events: it fits the history without them and forecasts with them, in the
 * history's own times (the simulator's and the CLI's; the live loop, whose forecaster works in a scaled
 * day, adjusts in real seconds around it: src/metrics/demand.ts).
 */
export class EventAdjustedForecaster implements Forecaster {
  readonly name: string;
  private readonly events: readonly KnownEvent[];

  constructor(
    private readonly inner: Forecaster,
    events: readonly KnownEvent[],
  ) {
    this.name = inner.name;
    this.events = sizedEvents(events);
  }

  forecast(history: Series, horizon: number, level: number): Forecast {
    const values = withoutEvents(history.values, this.events, history.start, history.step);
    return withEvents(this.inner.forecast(values === history.values ? history : { ...history, values }, horizon, level), this.events);
  }
}

/**
 * A yearly event without a multiplier learns its size from its last occurrence: the mean demand during it
 * over the mean demand of the same hours whole weeks before and after it (the same weekdays and hours, so
 * the daily and weekly seasons cancel). Daily and weekly events need no size: their occurrences are part of
 * the seasons the forecasters fit. A one-off event has no past occurrence to learn from.
 */
export interface LearnedSize {
  /** Demand during the occurrence over the demand of the weeks around it (clamped to 0.001-1000). */
  readonly multiplier: number;
  /** The past occurrence it was learned from (epoch seconds). */
  readonly start: number;
  readonly end: number;
  /** Mean demand during the occurrence, and over the weeks around it that were observed. */
  readonly duringRps: number;
  readonly baselineRps: number;
  /** How many of the two weeks around (before, after) were observed well enough to compare. */
  readonly baselineWeeks: number;
}

/** The shortest and longest occurrence whose size is learned (hourly history: shorter ones mix with the hours around them; longer ones leave no week around to compare). */
export const LEARNED_SIZE_SPAN = { shortest: 3600, longest: WEEK } as const;
/** The share of a window that must be observed for its mean to count. */
export const LEARNED_SIZE_COVERAGE = 0.75;

/** Where an event's size is to be learned: its last occurrence ended by `now` (yearly events without a multiplier, of learnable length); undefined otherwise. */
export function learningOccurrence(e: KnownEvent, now: number): { start: number; end: number; from: number; to: number } | undefined {
  const length = e.end - e.start;
  if (e.recurrence !== 'yearly' || e.multiplier !== undefined || length < LEARNED_SIZE_SPAN.shortest || length > LEARNED_SIZE_SPAN.longest) return undefined;
  const o = eventOccurrences(e, now - 2 * 366 * DAY, now)
    .filter((x) => x.end <= now)
    .at(-1);
  if (!o) return undefined;
  const weeks = Math.ceil(length / WEEK);
  return { ...o, from: o.start - weeks * WEEK, to: o.end + weeks * WEEK };
}

/** The size an occurrence (from learningOccurrence) shows in a history that covers [from, to]; undefined when too little of it, or of both weeks around, was observed. */
export function learnEventSize(o: { start: number; end: number }, history: Series): LearnedSize | undefined {
  const { start, step, values } = history;
  const mean = (a: number, b: number): number | undefined => {
    let sum = 0;
    let weight = 0;
    const first = Math.max(0, Math.floor((a - start) / step));
    const last = Math.min(values.length - 1, Math.ceil((b - start) / step) - 1);
    for (let i = first; i <= last; i++) {
      const t = start + i * step;
      const w = (Math.min(b, t + step) - Math.max(a, t)) / step;
      const x = values[i] as number;
      if (w > 0 && Number.isFinite(x)) {
        sum += w * x;
        weight += w;
      }
    }
    return weight >= (LEARNED_SIZE_COVERAGE * (b - a)) / step ? sum / weight : undefined;
  };
  const during = mean(o.start, o.end);
  if (during === undefined) return undefined;
  const shift = Math.ceil((o.end - o.start) / WEEK) * WEEK;
  const around = [mean(o.start - shift, o.end - shift), mean(o.start + shift, o.end + shift)].filter((x): x is number => x !== undefined);
  if (around.length === 0) return undefined;
  const baseline = around.reduce((s, x) => s + x, 0) / around.length;
  if (!(baseline > 0)) return undefined;
  return { multiplier: Math.min(1000, Math.max(0.001, during / baseline)), start: o.start, end: o.end, duringRps: during, baselineRps: baseline, baselineWeeks: around.length };
}

/**
 * Whether a learned size is used: only a lift. A drop may have been last year's outage rather than the
 * event's nature, and the forecasts take capacity away on no one's word but a declared multiplier.
 */
export const usedLearnedSize = (l: LearnedSize | undefined): l is LearnedSize => l !== undefined && l.multiplier > 1;
