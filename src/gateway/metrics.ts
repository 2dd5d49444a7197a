// Traffic measurement per pool (live, shadow) and route class: counts, mutations, errors, bytes and
// HDR latency histograms (p50/p90/p99/p99.9), exposed as JSON snapshots (for the control loop, which
// derives rates from counters between snapshots) and as Prometheus text.

import * as hdr from 'hdr-histogram-js';
import { Counter, Registry, type Metric } from 'prom-client';

export type PoolName = 'live' | 'shadow';

export interface Observation {
  readonly method: string;
  readonly path: string;
  /** 0 when no response was received (a failure). */
  readonly status: number;
  /** The exchange failed after its status arrived (a reset in the middle of the body). */
  readonly failed?: boolean;
  readonly durationMs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly mutation: boolean;
}

interface Series {
  requests: number;
  mutations: number;
  errors: number;
  bytesIn: number;
  bytesOut: number;
  latency: hdr.Histogram;
  /** Exact largest latency (µs): a histogram only knows its bucket. */
  maxUs: number;
}

export interface SeriesSnapshot {
  requests: number;
  mutations: number;
  errors: number;
  errorRate: number;
  bytesIn: number;
  bytesOut: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
}

/** A series in transferable form (a cluster worker's measurement, merged by the primary). */
export interface SeriesDump {
  requests: number;
  mutations: number;
  errors: number;
  bytesIn: number;
  bytesOut: number;
  /** The HDR histogram, compressed and base64-encoded (the HdrHistogram interchange format). */
  latency: string;
  maxUs: number;
}

export interface TrafficDump {
  pools: Record<PoolName, { all: SeriesDump; routes: Record<string, SeriesDump> }>;
  /** Intervals only: each live member's traffic since the previous interval (by member id). */
  members?: Record<string, SeriesDump>;
}

export interface TrafficSnapshot {
  /** Milliseconds since the epoch (from the injected clock). */
  at: number;
  pools: Record<PoolName, SeriesSnapshot & { routes: Record<string, SeriesSnapshot> }>;
}

export const MAX_ROUTE_CLASSES = 50;
/** A first path segment that reads as a route name: a letter first, at most 32 characters, no digits-only ids. */
const ROUTE_NAME = /^\/[A-Za-z][A-Za-z0-9_.-]{0,31}$/;

/** Route class: the first path segment ("/api/v1/x?y" -> "/api"), "/" for the root. */
export function routeClass(path: string): string {
  if (path.charCodeAt(0) !== 47 /* / */) return '/';
  let end = 1;
  while (end < path.length) {
    const c = path.charCodeAt(end);
    if (c === 47 || c === 63 /* ? */) break;
    end++;
  }
  return end === 1 ? '/' : path.slice(0, end);
}

function newSeries(): Series {
  // Microseconds, 1 µs to 1 hour, 3 significant digits.
  return { requests: 0, mutations: 0, errors: 0, bytesIn: 0, bytesOut: 0, maxUs: 0, latency: hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false }) };
}

function copySeries(x: Series): Series {
  const c = newSeries();
  c.requests = x.requests;
  c.mutations = x.mutations;
  c.errors = x.errors;
  c.bytesIn = x.bytesIn;
  c.bytesOut = x.bytesOut;
  c.maxUs = x.maxUs;
  c.latency.add(x.latency);
  return c;
}

function intervalPool(s: Series): IntervalPool {
  const x = snap(s);
  return { requests: x.requests, mutations: x.mutations, errors: x.errors, bytesIn: x.bytesIn, bytesOut: x.bytesOut, latencyMs: x.latencyMs, buckets: histogramBuckets(s.latency) };
}

function dumpSeries(x: Series): SeriesDump {
  return { requests: x.requests, mutations: x.mutations, errors: x.errors, bytesIn: x.bytesIn, bytesOut: x.bytesOut, latency: hdr.encodeIntoCompressedBase64(x.latency), maxUs: x.maxUs };
}

function snap(s: Series): SeriesSnapshot {
  const q = (p: number): number => (s.latency.totalCount ? s.latency.getValueAtPercentile(p) / 1000 : 0);
  return {
    requests: s.requests,
    mutations: s.mutations,
    errors: s.errors,
    errorRate: s.requests ? s.errors / s.requests : 0,
    bytesIn: s.bytesIn,
    bytesOut: s.bytesOut,
    latencyMs: { p50: q(50), p90: q(90), p99: q(99), p999: q(99.9), max: s.maxUs / 1000 },
  };
}

/** Upper bounds (seconds) of the latency histogram's buckets: 1 ms to 10 s, as Prometheus clients' defaults and then some. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
const LATENCY_METRIC = 'shadowscale_gateway_request_duration_seconds';

/**
 * A prom-client metric whose values are computed at scrape time: cumulative bucket counts, sum and count
 * of each HDR histogram (values recorded in µs; a value counts in every bucket at or above its
 * highest-equivalent value; the sum is the histogram's mean times its count).
 */
function latencyHistogram(read: () => { pool: PoolName; route: string; h: hdr.Histogram }[]): Metric {
  const help = 'Request duration by pool and route class (live: client requests; shadow: mirrored ones)';
  const get = async () => {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const { pool, route, h } of read()) {
      const counts = new Array<number>(LATENCY_BUCKETS.length).fill(0);
      const it = (h as unknown as hdr.JsHistogram).recordedValuesIterator;
      it.reset();
      while (it.hasNext()) {
        const v = it.next();
        const seconds = v.valueIteratedTo / 1e6;
        for (let b = 0; b < LATENCY_BUCKETS.length; b++) {
          if (seconds <= (LATENCY_BUCKETS[b] as number)) {
            counts[b] = (counts[b] as number) + v.countAtValueIteratedTo;
            break;
          }
        }
      }
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, b) => {
        cumulative += counts[b] as number;
        values.push({ labels: { pool, route, le }, value: cumulative, metricName: `${LATENCY_METRIC}_bucket` });
      });
      values.push({ labels: { pool, route, le: '+Inf' }, value: h.totalCount, metricName: `${LATENCY_METRIC}_bucket` });
      values.push({ labels: { pool, route }, value: h.totalCount ? (h.mean * h.totalCount) / 1e6 : 0, metricName: `${LATENCY_METRIC}_sum` });
      values.push({ labels: { pool, route }, value: h.totalCount, metricName: `${LATENCY_METRIC}_count` });
    }
    return { name: LATENCY_METRIC, help, type: 'histogram', aggregator: 'sum', values };
  };
  return { name: LATENCY_METRIC, help, type: 'histogram', aggregator: 'sum', get, reset: () => undefined, labelNames: ['pool', 'route', 'le'] } as unknown as Metric;
}

/** Latency of an interval per pool, with its histogram as [ms, count] buckets (for delta analysis). */
export interface IntervalPool {
  requests: number;
  mutations: number;
  errors: number;
  bytesIn: number;
  bytesOut: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
  buckets: [number, number][];
  /** CPU cores the pool's instances used over the interval, when the metrics source measures it (Prometheus). */
  cpuCores?: number;
}

export type IntervalView = Record<PoolName, IntervalPool> & {
  /** Each live member's traffic in the interval, by member id (a switchover judges new members against old). */
  readonly members?: Readonly<Record<string, IntervalPool>>;
  /** The interval could not be measured (a metrics source that failed or went stale): why. Nothing was sensed. */
  readonly missing?: string;
  /**
   * Copies to the shadow still queued or in flight when the interval was taken (the embedded gateway's mirror):
   * not lost, on their way. The mutation delta does not count them as a lag.
   */
  readonly mirrorPending?: number;
  /**
   * Live's mutations under way when the interval was taken. Their copies may already have reached the
   * shadow (counted there) while live, not having answered, has not counted them: the mutation lag read
   * then is low by up to this many.
   */
  readonly liveMutationsOpen?: number;
};

/** Most live members measured apart in one interval (more are counted in the pool only). */
export const MAX_MEMBER_SERIES = 1000;

/** The recorded values of a histogram as [value / 1000, count] (µs recorded, ms out). */
export function histogramBuckets(h: hdr.Histogram): [number, number][] {
  const out: [number, number][] = [];
  const it = (h as unknown as hdr.JsHistogram).recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    out.push([v.valueIteratedTo / 1000, v.countAtValueIteratedTo]);
  }
  return out;
}

/** Merge interval dumps (one per process) into one view per pool. */
export function intervalView(dumps: readonly TrafficDump[]): IntervalView {
  const m = new TrafficMetrics(() => 0, undefined, true);
  for (const d of dumps) m.absorb(d);
  return m.intervalOfTotals();
}

function record(s: Series, o: Observation, failed: boolean, us: number): void {
  s.requests++;
  if (o.mutation) s.mutations++;
  if (failed) s.errors++;
  s.bytesIn += o.bytesIn;
  s.bytesOut += o.bytesOut;
  s.latency.recordValue(us);
  if (us > s.maxUs) s.maxUs = us;
}

export class TrafficMetrics {
  private readonly pools: Record<PoolName, { all: Series; routes: Map<string, Series> }> = {
    live: { all: newSeries(), routes: new Map() },
    shadow: { all: newSeries(), routes: new Map() },
  };
  /**
   * The pool totals at the last interval read: an interval is the difference from them, so the request
   * path records nothing for the control loop's ticks.
   */
  private marks: Record<PoolName, Series> = { live: newSeries(), shadow: newSeries() };
  readonly registry = new Registry();
  /** Live's mutations under way (begun, not yet answered or failed): see IntervalView.liveMutationsOpen. */
  liveMutationsOpen = 0;
  private readonly requests: Counter<'pool' | 'route'>;
  private readonly errors: Counter<'pool' | 'route'>;
  private readonly bytes: Counter<'pool' | 'direction'>;

  private readonly configured: ReadonlySet<string> | undefined;
  /** Each live member's traffic since the last interval (see observe). */
  private memberWindow = new Map<string, Series>();
  private readonly learned = new Set<string>();

  /** `routes`: the route classes to measure (first path segments, e.g. "/api"); learned when absent. */
  /** `measureMembers`: also measure each live member apart per interval (observe's `member`). */
  constructor(
    private readonly now: () => number = Date.now,
    routes?: readonly string[],
    private readonly measureMembers = false,
  ) {
    this.configured = routes ? new Set(['/', ...routes]) : undefined;
    const pools = this.pools;
    // Values are read from the series at scrape time: nothing on the request path touches prom-client.
    const eachRoute = (fn: (pool: PoolName, route: string, s: Series) => void): void => {
      for (const pool of ['live', 'shadow'] as const) for (const [route, s] of pools[pool].routes) fn(pool, route, s);
    };
    this.requests = new Counter({
      name: 'shadowscale_gateway_requests_total',
      help: 'Requests by pool and route class',
      labelNames: ['pool', 'route'],
      registers: [this.registry],
      collect() {
        this.reset();
        eachRoute((pool, route, s) => this.inc({ pool, route }, s.requests));
      },
    });
    this.errors = new Counter({
      name: 'shadowscale_gateway_errors_total',
      help: 'Failed requests (no response or 5xx) by pool and route class',
      labelNames: ['pool', 'route'],
      registers: [this.registry],
      collect() {
        this.reset();
        // Zero too: a counter that appears only with its first error cannot be rated before it.
        eachRoute((pool, route, s) => this.inc({ pool, route }, s.errors));
      },
    });
    new Counter({
      name: 'shadowscale_gateway_mutations_total',
      help: 'Mutating requests (POST, PUT, PATCH, DELETE) by pool: live minus shadow is what the shadow has not seen',
      labelNames: ['pool'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const pool of ['live', 'shadow'] as const) this.inc({ pool }, pools[pool].all.mutations);
      },
    });
    this.bytes = new Counter({
      name: 'shadowscale_gateway_bytes_total',
      help: 'Bytes by pool and direction (responses: on the wire, headers included)',
      labelNames: ['pool', 'direction'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const pool of ['live', 'shadow'] as const) {
          if (pools[pool].all.bytesIn) this.inc({ pool, direction: 'in' }, pools[pool].all.bytesIn);
          if (pools[pool].all.bytesOut) this.inc({ pool, direction: 'out' }, pools[pool].all.bytesOut);
        }
      },
    });
    // Latency as a Prometheus histogram per pool and route class, from the HDR histograms at scrape time
    // (so `histogram_quantile(0.99, sum by (le) (rate(..._bucket[1m])))` works across workers and instances).
    this.registry.registerMetric(latencyHistogram(() => {
      const out: { pool: PoolName; route: string; h: hdr.Histogram }[] = [];
      eachRoute((pool, route, s) => out.push({ pool, route, h: s.latency }));
      return out;
    }));
  }

  /**
   * The route class of a request, from a bounded set that no client can fill: configured classes, or
   * classes learned from the live pool's answers below 400 whose first segment looks like a route name
   * (not an id or junk), at most MAX_ROUTE_CLASSES; everything else is "other".
   */
  private classOf(pool: PoolName, o: Observation): string {
    const route = routeClass(o.path);
    if (this.configured) return this.configured.has(route) ? route : 'other';
    if (route === '/' || this.learned.has(route)) return route;
    if (pool === 'live' && !o.failed && o.status > 0 && o.status < 400 && this.learned.size < MAX_ROUTE_CLASSES - 2 && ROUTE_NAME.test(route)) {
      this.learned.add(route);
      return route;
    }
    return 'other';
  }

  /** One request's measurement; `member`: the live member that served it (measured apart for the interval). */
  observe(pool: PoolName, o: Observation, member?: string): void {
    const route = this.classOf(pool, o);
    const p = this.pools[pool];
    let r = p.routes.get(route);
    if (!r) p.routes.set(route, (r = newSeries()));
    const failed = o.failed === true || o.status === 0 || o.status >= 500;
    const us = Math.max(1, Math.round(o.durationMs * 1000));
    record(p.all, o, failed, us);
    record(r, o, failed, us);
    if (member !== undefined && this.measureMembers) {
      let m = this.memberWindow.get(member);
      if (!m && this.memberWindow.size < MAX_MEMBER_SERIES) this.memberWindow.set(member, (m = newSeries()));
      if (m) record(m, o, failed, us);
    }
  }

  /** Each member's traffic since the last interval was taken; a new window starts. */
  private takeMembers(): Map<string, Series> {
    const w = this.memberWindow;
    this.memberWindow = new Map();
    return w;
  }


  /** The difference of each pool's totals from the last mark, and a new mark. */
  private nextInterval(): Record<PoolName, Series> {
    const out = {} as Record<PoolName, Series>;
    for (const name of ['live', 'shadow'] as const) {
      const all = this.pools[name].all;
      const mark = this.marks[name];
      const now = copySeries(all);
      const d = copySeries(all);
      d.requests -= mark.requests;
      d.mutations -= mark.mutations;
      d.errors -= mark.errors;
      d.bytesIn -= mark.bytesIn;
      d.bytesOut -= mark.bytesOut;
      d.latency.subtract(mark.latency);
      // The exact maximum of an interval is not kept: the histogram's (bucket precision) stands in.
      d.maxUs = d.latency.totalCount ? d.latency.maxValue : 0;
      out[name] = d;
      this.marks[name] = now;
    }
    return out;
  }

  /** What was measured since the previous call, in transferable form (pool totals only); starts a new interval. */
  takeInterval(): TrafficDump {
    const w = this.nextInterval();
    const members = this.takeMembers();
    return { pools: { live: { all: dumpSeries(w.live), routes: {} }, shadow: { all: dumpSeries(w.shadow), routes: {} } }, ...(members.size ? { members: Object.fromEntries([...members].map(([id, x]) => [id, dumpSeries(x)])) } : {}) };
  }

  /** What was measured since the previous call, as a view (in-process readers: no encoding); starts a new interval. */
  takeIntervalView(): IntervalView {
    const w = this.nextInterval();
    const members = this.takeMembers();
    return { live: intervalPool(w.live), shadow: intervalPool(w.shadow), ...(members.size ? { members: Object.fromEntries([...members].map(([id, x]) => [id, intervalPool(x)])) } : {}) };
  }

  /** The pool totals as an interval view (used on merged interval dumps). */
  intervalOfTotals(): IntervalView {
    const members = this.memberWindow;
    return { live: intervalPool(this.pools.live.all), shadow: intervalPool(this.pools.shadow.all), ...(members.size ? { members: Object.fromEntries([...members].map(([id, x]) => [id, intervalPool(x)])) } : {}) };
  }

  /** Everything measured so far, in transferable form. */
  dump(): TrafficDump {
    const pool = (name: PoolName) => ({ all: dumpSeries(this.pools[name].all), routes: Object.fromEntries([...this.pools[name].routes].map(([k, v]) => [k, dumpSeries(v)])) });
    return { pools: { live: pool('live'), shadow: pool('shadow') } };
  }

  /** Add another measurement (a worker's dump) to this one: counts add, histograms merge exactly. */
  absorb(d: TrafficDump): void {
    const add = (into: Series, x: SeriesDump): void => {
      into.requests += x.requests;
      into.mutations += x.mutations;
      into.errors += x.errors;
      into.bytesIn += x.bytesIn;
      into.bytesOut += x.bytesOut;
      into.latency.add(hdr.decodeFromCompressedBase64(x.latency, 32, false));
      into.maxUs = Math.max(into.maxUs, x.maxUs);
    };
    for (const [id, x] of Object.entries(d.members ?? {})) {
      let m = this.memberWindow.get(id);
      if (!m && this.memberWindow.size < MAX_MEMBER_SERIES) this.memberWindow.set(id, (m = newSeries()));
      if (m) add(m, x);
    }
    for (const name of ['live', 'shadow'] as const) {
      const p = this.pools[name];
      add(p.all, d.pools[name].all);
      for (const [name2, x] of Object.entries(d.pools[name].routes)) {
        // Workers learn their classes apart: the union is bounded again here.
        let route = name2;
        if (!p.routes.has(route) && p.routes.size >= MAX_ROUTE_CLASSES - 1 && route !== 'other') route = 'other';
        let r = p.routes.get(route);
        if (!r) p.routes.set(route, (r = newSeries()));
        add(r, x);
      }
    }
  }

  snapshot(): TrafficSnapshot {
    const pool = (name: PoolName) => {
      const p = this.pools[name];
      return { ...snap(p.all), routes: Object.fromEntries([...p.routes].map(([k, v]) => [k, snap(v)])) };
    };
    return { at: this.now(), pools: { live: pool('live'), shadow: pool('shadow') } };
  }
}
