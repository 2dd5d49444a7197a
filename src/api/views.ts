// What the API answers, built from the loop's state, the provider and the store. Read-only: nothing
// here changes the loop or the store.

import type { ServiceConfig, Config } from '../config/schema.js';
import { oracleInstances } from '../core/cost.js';
import { eventOccurrences, sizedEvents, type KnownEvent } from '../core/events.js';
import { knownEvents } from '../config/derive.js';
import { declaredEvent, withLearnedSize } from '../metrics/demand.js';
import type { DecisionRecord, ExperimentRecord, Store } from '../metrics/store.js';
import { ROLLOUT_KIND, type RolloutView } from '../control/rollout.js';
import type { Instance, Provider } from '../providers/provider.js';
import { METRIC, type ServiceLoop } from '../control/loop.js';
import type { ProofGate } from '../proof/gate.js';
import type { AbArms } from '../proof/ab.js';
import { proofsReport } from '../proof/report.js';

/** One service as the API serves it. */
export interface ApiService {
  readonly name: string;
  readonly config: ServiceConfig;
  readonly strategy: string;
  readonly loop: ServiceLoop;
  readonly gate?: ProofGate;
  readonly ab?: AbArms;
  /** Lead time (s) the strategies plan with. */
  readonly leadTimeSeconds: number;
}

export interface ViewDeps {
  readonly cfg: Config;
  readonly store: Store;
  readonly provider: Provider;
  readonly now: () => number;
}

const finite = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? x : null);

/** A service's state: mode, pause, bounds, target, pools, the latest tick. */
export async function serviceView(svc: ApiService, d: ViewDeps) {
  const st = svc.loop.state();
  const now = d.now();
  const listed = (await d.provider.list({ service: svc.name })).filter((i) => i.labels.trial === undefined && i.labels.ab === undefined);
  // The warm pool's instances are live-pool instances out of the balancer: shown apart.
  const warmIds = new Set(st.warmPool?.ids ?? []);
  const instances = listed.filter((i) => !warmIds.has(i.id));
  const warmupSeconds = (t: string): number => d.cfg.instanceTypes[t]?.warmupSeconds ?? 0;
  const pool = (kind: 'live' | 'shadow') => {
    const xs = instances.filter((i) => i.pool === kind);
    const ready = xs.filter((i) => i.state === 'ready');
    return {
      requested: xs.filter((i) => i.state !== 'failed' && i.state !== 'draining').length,
      starting: xs.filter((i) => i.state === 'starting').length,
      ready: ready.length,
      warming: ready.filter((i) => i.readyAt !== undefined && now - i.readyAt < warmupSeconds(i.instanceType) * 1000).length,
      draining: xs.filter((i) => i.state === 'draining').length,
      failed: xs.filter((i) => i.state === 'failed').length,
    };
  };
  const t = st.lastTick;
  return {
    name: svc.name,
    strategy: svc.strategy,
    mode: st.mode,
    configMode: st.configMode,
    paused: st.paused,
    acting: st.notActing === null,
    notActing: st.notActing,
    target: st.target,
    instanceType: st.instanceType,
    version: st.version,
    shadowVersion: st.shadowVersion,
    rollout: st.rollout && !st.rollout.outcome ? rolloutJson(st.rollout) : null,
    perInstanceRps: st.perInstanceRps,
    bounds: st.bounds,
    configuredBounds: { min: svc.loop.configuredBounds.minInstances, max: svc.loop.configuredBounds.maxInstances },
    boundsOverride: st.boundsOverride ? { ...st.boundsOverride, until: new Date(st.boundsOverride.until).toISOString() } : null,
    live: pool('live'),
    shadow: pool('shadow'),
    arms: svc.ab ? svc.ab.sizes() : null,
    warmPool: st.warmPool
      ? (() => {
          const xs = listed.filter((i) => warmIds.has(i.id) && i.state !== 'failed' && i.state !== 'draining');
          const perHour = xs.reduce((a, i) => a + (d.cfg.instanceTypes[i.instanceType]?.prices.onDemandPerHour ?? 0), 0);
          return { size: st.warmPool.size, requested: xs.length, ready: st.warmPool.ready, claims: st.warmPool.claims, returns: st.warmPool.returns, instanceSeconds: st.warmPool.instanceSeconds, costPerHour: perHour };
        })()
      : null,
    trials: { running: t?.trials.running ?? 0, instanceSeconds: t?.trials.instanceSeconds ?? 0 },
    slo: svc.config.slo,
    lastTick: t
      ? {
          at: new Date(t.at).toISOString(),
          liveRps: finite(t.liveRps),
          liveP99Ms: finite(t.liveP99Ms),
          shadowRps: finite(t.shadowRps),
          utilization: finite(t.utilization),
          mirrorRate: finite(t.mirrorRate),
          forecast: t.forecast ?? null,
          cpu: t.cpu ?? null,
          tickMs: t.tickMs,
        }
      : null,
  };
}

/**
 * A decision record as the API shows it (times in ISO 8601). Pages carry the proof's summary; `full` (and
 * the decision's own route) also every configuration the gate considered and dropped.
 */
export function decisionView(r: DecisionRecord, full = true) {
  const d = r.decision;
  return {
    seq: r.seq,
    at: new Date(Math.round(d.at * 1000)).toISOString(),
    service: r.service,
    strategy: d.strategy,
    reason: d.reason,
    ...(d.driver ? { driver: d.driver } : {}),
    current: d.current,
    desired: d.desired,
    target: r.target,
    boundReason: r.boundReason,
    act: r.act,
    wouldHave: d.wouldHave ?? null,
    numbers: d.numbers,
    ...(d.proof ? { proof: full ? d.proof : { mode: d.proof.mode, status: d.proof.status, candidate: d.proof.candidate, verdict: d.proof.verdict, ...(d.proof.trial ? { trial: d.proof.trial } : {}), numbers: d.proof.numbers } } : {}),
    ...(d.instanceType ? { instanceType: d.instanceType } : {}),
    ...(d.operator ? { operator: { ...d.operator, ...(d.operator.until !== undefined ? { until: new Date(d.operator.until).toISOString() } : {}) } } : {}),
  };
}

export type Resolution = 1 | 60 | 3600;

/** Most points a timeline returns by default (a chart is about this many pixels wide). */
export const DEFAULT_POINTS = 2000;

/** The resolution for a range: raw seconds up to 6 h, minutes up to 14 days, hours beyond (within what retention keeps). */
export function resolutionFor(rangeMs: number, asked: string | undefined, store: Store): Resolution {
  if (asked !== undefined && asked !== 'auto') return Number(asked) as Resolution;
  if (rangeMs <= Math.min(6 * 3600, store.retention.rawSeconds) * 1000) return 1;
  if (rangeMs <= Math.min(14 * 86400, store.retention.minuteSeconds) * 1000) return 60;
  return 3600;
}

/** The series names of a timeline, in the order of its columns. */
export const TIMELINE_SERIES = ['demand', 'forecastMean', 'forecastLower', 'forecastUpper', 'liveInstances', 'liveReady', 'desired', 'shadowInstances', 'liveP99Ms', 'shadowP99Ms', 'shadowRps', 'errorRate'] as const;
const SOURCES: Record<SeriesName, [string, string]> = {
  demand: ['live', METRIC.liveRps],
  forecastMean: ['live', METRIC.forecastMean],
  forecastLower: ['live', METRIC.forecastLower],
  forecastUpper: ['live', METRIC.forecastUpper],
  liveInstances: ['live', METRIC.instances],
  liveReady: ['live', METRIC.ready],
  desired: ['live', METRIC.desired],
  shadowInstances: ['shadow', METRIC.instances],
  liveP99Ms: ['live', METRIC.liveP99],
  shadowP99Ms: ['shadow', METRIC.liveP99],
  shadowRps: ['shadow', METRIC.liveRps],
  errorRate: ['live', METRIC.liveErrors],
};

/**
 * The recorded series of a service over [since, until), as columns on one time axis (seconds since the
 * epoch; null where a series has no point), plus the current forecast ahead: what charts draw.
 */
/** Recorded series as columns on one time axis, in buckets of `bucketMs` averaged in SQLite (null where a series has no point). */
type SeriesName = (typeof TIMELINE_SERIES)[number];
/** The series cost is computed from. */
const COST_SERIES = ['demand', 'liveInstances', 'shadowInstances', 'desired'] as const satisfies readonly SeriesName[];

function readColumns<N extends SeriesName>(svc: ApiService, d: ViewDeps, names: readonly N[], since: number, until: number, resolution: Resolution, bucketMs: number) {
  const series = {} as Record<N, Map<number, number>>;
  const times = new Set<number>();
  for (const name of names) {
    const [pool, metric] = SOURCES[name];
    const m = new Map<number, number>();
    for (const [ts, mean] of d.store.seriesBuckets({ service: svc.name, pool, metric, from: since, to: until, resolution, bucketMs })) {
      m.set(ts, mean);
      times.add(ts);
    }
    series[name] = m;
  }
  const ts = [...times].sort((a, b) => a - b);
  const columns = Object.fromEntries(names.map((name) => [name, ts.map((t) => finite(series[name].get(t)))])) as Record<N, (number | null)[]>;
  return { ts, columns };
}

/**
 * Cumulative instance-seconds over a window's columns: live and shadow as recorded, the targets decisions
 * set or would have set, and the oracle's schedule on the recorded demand (perfect foresight, the same
 * capacity per instance and lead time), scored only from where the live pool was recorded (demand written
 * before, e.g. a demo's imported history, is not the run's). Each point holds until the next (at most a
 * minute, or one bucket).
 */
function cumulativeSeconds(svc: ApiService, ts: readonly number[], columns: Record<(typeof COST_SERIES)[number], (number | null)[]>, stepSeconds: number) {
  const st = svc.loop.state();
  const first = columns.liveInstances.findIndex((x) => x !== null);
  const oracle = oracleInstances(first < 0 ? [] : columns.demand.slice(first).map((x) => x ?? Number.NaN), stepSeconds, st.perInstanceRps, svc.leadTimeSeconds, svc.loop.configuredBounds.minInstances, svc.loop.configuredBounds.maxInstances);
  const spans = ts.map((t, k) => (k + 1 < ts.length ? Math.min(((ts[k + 1] as number) - t) / 1000, Math.max(60, stepSeconds)) : stepSeconds));
  const cumulative = (count: (k: number) => number): number[] => {
    let sum = 0;
    return ts.map((_, k) => (sum += count(k) * (spans[k] as number)));
  };
  return {
    live: cumulative((k) => columns.liveInstances[k] ?? 0),
    shadow: cumulative((k) => columns.shadowInstances[k] ?? 0),
    desired: cumulative((k) => columns.desired[k] ?? 0),
    oracle: cumulative((k) => (first >= 0 && k >= first ? (oracle[k - first] ?? 0) : 0)),
  };
}

/** Buckets of whole resolution steps, at most about `maxPoints` over the range; and the seconds one stands for. */
function buckets(d: ViewDeps, since: number, until: number, resolution: Resolution, maxPoints: number): { bucketMs: number; stepSeconds: number } {
  const resMs = resolution * 1000;
  const bucketMs = resMs * Math.max(1, Math.ceil((until - since) / (maxPoints * resMs)));
  // A raw bucket of one second holds the ticks in it: a tick stands for control.tickSeconds.
  return { bucketMs, stepSeconds: bucketMs === resMs && resolution === 1 ? d.cfg.control.tickSeconds : bucketMs / 1000 };
}

const prices = (svc: ApiService, d: ViewDeps) => {
  const st = svc.loop.state();
  const shadowType = svc.config.shadow.instanceType ?? svc.config.instanceType;
  const price = (type: string): number => d.cfg.instanceTypes[type]?.prices.onDemandPerHour ?? 0;
  return { liveType: st.instanceType, shadowType, live: price(st.instanceType), shadow: price(shadowType) };
};
const money = (seconds: number, perHour: number): number => Math.round(((seconds * perHour) / 3600) * 1e6) / 1e6;

/**
 * The recorded series of a service over [since, until), as columns on one time axis (seconds since the
 * epoch; null where a series has no point), cumulative cost (live, shadow, oracle), and the current
 * forecast ahead: what charts draw.
 */
export function timelineView(svc: ApiService, d: ViewDeps, since: number, until: number, resolution: Resolution, maxPoints = DEFAULT_POINTS) {
  const { bucketMs, stepSeconds } = buckets(d, since, until, resolution, maxPoints);
  const { ts, columns } = readColumns(svc, d, TIMELINE_SERIES, since, until, resolution, bucketMs);
  const seconds = cumulativeSeconds(svc, ts, columns, stepSeconds);
  const p = prices(svc, d);
  const ahead = svc.loop.forecastAhead(d.now() / 1000);
  return {
    service: svc.name,
    resolution,
    bucketSeconds: bucketMs / 1000,
    since: new Date(since).toISOString(),
    until: new Date(until).toISOString(),
    t: ts.map((x) => x / 1000),
    ...columns,
    costLive: seconds.live.map((x) => money(x, p.live)),
    costShadow: seconds.shadow.map((x) => money(x, p.shadow)),
    costOracle: seconds.oracle.map((x) => money(x, p.live)),
    ahead: { t: ahead.map((x) => x.at), mean: ahead.map((x) => finite(x.mean)), lower: ahead.map((x) => finite(x.lower)), upper: ahead.map((x) => finite(x.upper)) },
  };
}

/**
 * What the service cost over [since, until): live, shadow and trial instances at their types' on-demand
 * prices, what the decisions recorded as "would have" would have cost, and what the oracle would have paid
 * for the recorded demand: the timeline's cumulative cost at the end of the range, at the resolution's
 * own steps.
 */
export function costView(svc: ApiService, d: ViewDeps, since: number, until: number, resolution: Resolution) {
  const { bucketMs, stepSeconds } = buckets(d, since, until, resolution, Number.POSITIVE_INFINITY);
  const { ts, columns } = readColumns(svc, d, COST_SERIES, since, until, resolution, bucketMs);
  const seconds = cumulativeSeconds(svc, ts, columns, stepSeconds);
  const total = (xs: number[]): number => xs[xs.length - 1] ?? 0;
  const live = total(seconds.live);
  const oracle = total(seconds.oracle);
  const p = prices(svc, d);
  const trialSeconds = svc.gate?.cost(d.now()).trialInstanceSeconds ?? 0;
  return {
    service: svc.name,
    since: new Date(since).toISOString(),
    until: new Date(until).toISOString(),
    resolution,
    pricing: 'on-demand price per instance-hour of each pool\'s instance type, billed per second',
    live: { instanceType: p.liveType, instanceSeconds: Math.round(live), cost: money(live, p.live) },
    shadow: { instanceType: p.shadowType, instanceSeconds: Math.round(total(seconds.shadow)), cost: money(total(seconds.shadow), p.shadow) },
    trials: { instanceSeconds: Math.round(trialSeconds), cost: money(trialSeconds, p.live), note: 'since this run started' },
    wouldHave: { instanceSeconds: Math.round(total(seconds.desired)), cost: money(total(seconds.desired), p.live), note: 'the targets decisions set or would have set (forecast-only, paused), held until the next' },
    oracle: { instanceSeconds: Math.round(oracle), cost: money(oracle, p.live), note: 'perfect foresight on the recorded demand, the same capacity per instance and lead time' },
    liveToOracle: oracle > 0 ? Math.round((live / oracle) * 1000) / 1000 : null,
  };
}

export function instancesView(svc: ApiService, d: ViewDeps, instances: readonly Instance[], limit: number) {
  const events = d.store.events({ limit: 10 * limit }).filter((e) => e.service === svc.name).slice(-limit);
  return {
    instances: instances.map((i) => ({
      id: i.id,
      pool: i.pool,
      instanceType: i.instanceType,
      state: i.state,
      url: i.url,
      labels: i.labels,
      createdAt: new Date(i.createdAt).toISOString(),
      readyAt: i.readyAt !== undefined ? new Date(i.readyAt).toISOString() : null,
      ...(i.failure ? { failure: i.failure } : {}),
      events: events.filter((e) => e.instance === i.id).map((e) => ({ at: new Date(e.at).toISOString(), kind: e.kind, ...(e.detail ? { detail: e.detail } : {}) })),
    })),
    events: events.map((e) => ({ at: new Date(e.at).toISOString(), kind: e.kind, instance: e.instance, pool: e.pool, ...(e.detail ? { detail: e.detail } : {}) })),
  };
}

/** Proofs and A/B experiments with their verdicts, and what the trials prove now. */
export function experimentsView(svc: ApiService, d: ViewDeps, limit: number) {
  const all = d.store.experiments({ service: svc.name });
  const report = proofsReport(svc.name, all, d.store.proofStatusCounts(svc.name), d.now(), svc.config.scaling.trials.freshSeconds);
  return {
    proofs: report,
    abArms: svc.ab ? svc.ab.summary() : null,
    experiments: all.slice(-limit).map((e) => ({ id: e.id, kind: e.kind, startedAt: new Date(e.startedAt).toISOString(), finishedAt: e.finishedAt === null ? null : new Date(e.finishedAt).toISOString(), verdict: e.verdict, config: e.config, details: e.details })),
  };
}

/** Live vs shadow: the latest delta analyses with their verdicts and numbers. */
export function deltaView(svc: ApiService) {
  return {
    service: svc.name,
    deltas: svc.loop.state().deltas.map((x) => ({ at: new Date(x.at).toISOString(), ...x.result })),
  };
}

/** A rollout's record as the API shows it: the live view while it runs in this process, else the store's. */
export function rolloutsView(svc: ApiService, d: ViewDeps, limit: number) {
  const current = svc.loop.rolloutView();
  const records = d.store
    .experiments({ service: svc.name, kind: ROLLOUT_KIND })
    .slice(-limit)
    .reverse()
    .map((e) => (current && current.id === e.id ? rolloutJson(current) : rolloutRecordJson(e)));
  return { service: svc.name, version: svc.loop.state().version, current: current && !current.outcome ? rolloutJson(current) : null, rollouts: records };
}

export function rolloutJson(v: RolloutView) {
  return { ...v, startedAt: new Date(v.startedAt).toISOString(), finishedAt: v.finishedAt !== undefined ? new Date(v.finishedAt).toISOString() : null, outcome: v.outcome ?? null };
}

function rolloutRecordJson(e: ExperimentRecord) {
  const c = (e.config ?? {}) as { from?: string; to?: string; by?: string; move?: { fromType: string; toType: string } };
  const d = (e.details ?? {}) as Partial<RolloutView>;
  const move = c.move ? { fromType: c.move.fromType, toType: c.move.toType } : {};
  return { ...d, id: e.id, kind: c.move ? 'type' : 'version', from: c.from ?? d.from ?? null, to: c.to ?? d.to ?? null, ...move, phase: e.verdict ?? 'unknown', startedAt: new Date(e.startedAt).toISOString(), finishedAt: e.finishedAt === null ? null : new Date(e.finishedAt).toISOString(), outcome: e.verdict };
}

/** One known event as the API shows it: the configuration's and those declared at run time. */
export interface EventView {
  /** The id of an event declared at run time (for DELETE); null for the configuration's. */
  readonly id: string | null;
  readonly source: 'config' | 'api';
  readonly name: string;
  readonly start: string;
  readonly end: string;
  readonly recurrence: string;
  readonly multiplier: number | null;
  /**
   * A yearly event without a multiplier: the size its last occurrence showed in the store's hourly history
   * (the forecasts use it as the multiplier when it is a lift, above 1); null otherwise, or where too little
   * was recorded.
   */
  readonly learned: { readonly multiplier: number; readonly from: { readonly start: string; readonly end: string }; readonly duringRps: number; readonly baselineRps: number; readonly baselineWeeks: number } | null;
  /** Whether the strategies' forecasts use it (a multiplier, declared or learned, other than 1). */
  readonly used: boolean;
  /** The occurrence under way or the next one within 400 days; null when none. */
  readonly next: { readonly start: string; readonly end: string } | null;
  readonly by?: string;
  readonly note?: string | null;
  readonly declaredAt?: string;
  /** With a span asked for (`since`, `until`): the occurrences overlapping it. */
  readonly occurrences?: readonly { readonly start: string; readonly end: string }[];
}

const iso = (s: number): string => new Date(s * 1000).toISOString();

export function eventsView(svc: ApiService, d: ViewDeps, span?: { since: number; until: number }): { events: EventView[] } {
  const now = d.now() / 1000;
  const next = (e: KnownEvent): EventView['next'] => {
    const o = eventOccurrences(e, now, now + 400 * 86_400)[0];
    return o ? { start: iso(o.start), end: iso(o.end) } : null;
  };
  const learnedOf = (e: KnownEvent): Pick<EventView, 'learned' | 'used'> => {
    const { event, learned: l } = withLearnedSize(d.store, svc.name, e, d.now());
    const learned = l ? { multiplier: l.multiplier, from: { start: iso(l.start), end: iso(l.end) }, duringRps: l.duringRps, baselineRps: l.baselineRps, baselineWeeks: l.baselineWeeks } : null;
    return { learned, used: sizedEvents([event]).length === 1 };
  };
  const view = (e: KnownEvent, extra: Partial<EventView> & Pick<EventView, 'id' | 'source'>): EventView => ({
    ...extra,
    name: e.name,
    start: iso(e.start),
    end: iso(e.end),
    recurrence: e.recurrence,
    multiplier: e.multiplier ?? null,
    ...learnedOf(e),
    next: next(e),
    ...(span ? { occurrences: eventOccurrences(e, span.since / 1000, span.until / 1000).map((o) => ({ start: iso(o.start), end: iso(o.end) })) } : {}),
  });
  const configured = knownEvents(svc.config).map((e) => view(e, { id: null, source: 'config' }));
  const declared = d.store.declaredEvents(svc.name).map((r) =>
    view(declaredEvent(r), { id: r.id, source: 'api', by: r.by, note: r.note, declaredAt: new Date(r.createdAt).toISOString() }),
  );
  return { events: [...configured, ...declared] };
}
