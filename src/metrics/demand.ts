// The demand forecast of a service from its live request rate in the store: what the live loop's
// strategies plan with, and what the A/B arms in the shadow (src/proof/ab.ts) scale to their share.

import { learnEventSize, learningOccurrence, usedLearnedSize, withEvents, withoutEvents, type KnownEvent, type LearnedSize } from '../core/events.js';
import type { Forecast, Forecaster } from '../core/forecast.js';
import type { DeclaredEventRecord, Store } from './store.js';

export interface DemandForecastSettings {
  readonly level: number;
  readonly refitSeconds: number;
  readonly bucketSeconds: number;
  /** Seconds of the forecaster's day per real second (the demo compresses a day). */
  readonly timeScale: number;
  readonly historySeconds: number;
  /**
   * Known events (real epoch seconds): the fit sees the history without those of known size and the
   * forecast has them (src/core/events.ts); the others change nothing here. None: the forecaster's own.
   */
  readonly events?: readonly KnownEvent[];
}

/**
 * Fit `forecaster` to a service's live demand in the store (requests/s in buckets of
 * `bucketSeconds`, over `historySeconds` up to `now`; or another live series, `metric`, e.g. the write
 * rate), forecasting `horizonSeconds` ahead. The forecaster
 * works in the day's own seconds (x timeScale); the forecast comes back in real seconds. Undefined while
 * the history is too short.
 */
export function fitDemandForecast(store: Store, service: string, f: DemandForecastSettings, forecaster: Forecaster, now: number, horizonSeconds: number, metric = 'rps'): Forecast | undefined {
  const bucket = f.bucketSeconds;
  const resolution = bucket >= 3600 ? 3600 : bucket >= 60 ? 60 : 1;
  const points = store.series({ service, pool: 'live', metric, from: now - f.historySeconds * 1000, to: now, resolution });
  if (points.length < 2) return undefined;
  const startSec = Math.floor((points[0] as { ts: number }).ts / 1000 / bucket) * bucket;
  const n = Math.floor(now / 1000 / bucket) - startSec / bucket;
  if (n < 2) return undefined;
  const sums = new Float64Array(n);
  const counts = new Float64Array(n);
  for (const p of points) {
    const k = Math.floor(p.ts / 1000 / bucket) - startSec / bucket;
    if (k >= 0 && k < n) {
      sums[k] = (sums[k] as number) + p.mean * p.count;
      counts[k] = (counts[k] as number) + p.count;
    }
  }
  const values = new Float64Array(n);
  for (let k = 0; k < n; k++) values[k] = counts[k] ? (sums[k] as number) / (counts[k] as number) : Number.NaN;
  const horizon = Math.ceil(horizonSeconds / bucket) + 2;
  const events = f.events ?? [];
  const scaled = forecaster.forecast({ start: startSec * f.timeScale, step: bucket * f.timeScale, values: events.length ? withoutEvents(values, events, startSec, bucket) : values }, horizon, f.level);
  // Back to real seconds for the strategy (the events are in real seconds too).
  const real = { ...scaled, start: scaled.start / f.timeScale, step: scaled.step / f.timeScale };
  return events.length ? withEvents(real, events) : real;
}

/** An event declared at run time as the forecasts take it (epoch seconds). */
export function declaredEvent(r: DeclaredEventRecord): KnownEvent {
  return { name: r.name, start: r.start / 1000, end: r.end / 1000, recurrence: r.recurrence, ...(r.multiplier !== null ? { multiplier: r.multiplier } : {}) };
}

const HOUR = 3600;

/**
 * The size a yearly event without a multiplier shows in its last occurrence, read from the store's hourly
 * rollups of the service's live demand (kept 400 days by default: store.retention.hourSeconds); undefined for
 * other events and where too little of the occurrence or of the weeks around it was recorded
 * (src/core/events.ts, learnEventSize). `now` in epoch milliseconds.
 */
export function learnedEventSize(store: Store, service: string, e: KnownEvent, now: number, metric = 'rps'): LearnedSize | undefined {
  const o = learningOccurrence(e, now / 1000);
  if (!o) return undefined;
  // Once the week after the occurrence is over, nothing more is recorded in its span: the answer is kept
  // (per store), so a refit or an API call reads the rollups once per occurrence.
  const key = `${service}\0${metric}\0${o.start}\0${o.end}`;
  const kept = learnedKept.get(store);
  if (kept?.has(key)) return kept.get(key);
  const learned = learnFromStore(store, service, o, now / 1000, metric);
  if (o.to <= now / 1000) {
    if (kept) kept.set(key, learned);
    else learnedKept.set(store, new Map([[key, learned]]));
  }
  return learned;
}

const learnedKept = new WeakMap<Store, Map<string, LearnedSize | undefined>>();

/** The rollups of [o.from, min(o.to, now)) as an hourly series, and the size they show. */
function learnFromStore(store: Store, service: string, o: { start: number; end: number; from: number; to: number }, now: number, metric: string): LearnedSize | undefined {
  const from = Math.floor(o.from / HOUR) * HOUR;
  const n = Math.ceil((o.to - from) / HOUR);
  const points = store.series({ service, pool: 'live', metric, from: from * 1000, to: Math.min(o.to, now) * 1000, resolution: HOUR });
  if (points.length === 0) return undefined;
  const values = new Float64Array(n).fill(Number.NaN);
  for (const p of points) {
    const k = Math.floor((p.ts / 1000 - from) / HOUR);
    if (k >= 0 && k < n) values[k] = p.mean;
  }
  return learnEventSize(o, { start: from, step: HOUR, values });
}

/**
 * The known events a service's forecasts use (epoch seconds): the configuration's and those declared at
 * run time (the store's); a yearly one without a multiplier takes the size its last occurrence showed
 * when that is a lift (learnedEventSize, usedLearnedSize), the others without one are left to Prophet.
 * `now` in epoch milliseconds.
 */
export function forecastEvents(store: Store, service: string, configured: readonly KnownEvent[], now: number): KnownEvent[] {
  return [...configured, ...store.declaredEvents(service).map(declaredEvent)].map((e) => withLearnedSize(store, service, e, now).event);
}

/** An event as the forecasts take it (with its learned size when that is used), and the size learned, if any. */
export function withLearnedSize(store: Store, service: string, e: KnownEvent, now: number): { event: KnownEvent; learned: LearnedSize | undefined } {
  const learned = learnedEventSize(store, service, e, now);
  return { event: usedLearnedSize(learned) ? { ...e, multiplier: learned.multiplier } : e, learned };
}

/** How far ahead a strategy's forecast must reach: its lead time, two decision periods and a refit's wait. */
export const forecastHorizonSeconds = (leadTimeSeconds: number, periodSeconds: number, refitSeconds: number): number => leadTimeSeconds + periodSeconds * 2 + refitSeconds;
