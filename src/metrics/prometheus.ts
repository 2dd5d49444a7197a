// Metrics from Prometheus (issue 15, `metrics.source: prometheus`): the control loop's interval (requests,
// errors, writes and the latency histogram of live and shadow) read with instant PromQL queries per tick,
// and demand history with query_range for the forecast. The queries are templates per signal, with
// presets for the embedded gateway's own metrics and for common exporters (docs/reference/prometheus.md).
//
// Failure semantics: a query that times out or fails is retried (network errors and 5xx, with backoff);
// a query Prometheus rejects (4xx: a template that is not PromQL) is not. When the data cannot be read, or
// the newest sample of the service is older than `stalenessSeconds`, the interval is reported `missing`
// with the reason: the loop senses nothing then (no sample, no scale-in), as with a gateway that stopped.
import { request } from 'undici';
import type { IntervalPool, IntervalView } from '../gateway/metrics.js';
import { PROM_PRESETS, type PromQueries } from './prometheus-presets.js';

export { PROM_PRESETS, type PromQueries } from './prometheus-presets.js';

/** Latency bucket bounds of a preset in seconds (Istio's are milliseconds). */
const LE_SCALE: Readonly<Record<string, number>> = { istio: 1 / 1000 };

export class PromError extends Error {
  constructor(
    readonly kind: 'timeout' | 'unavailable' | 'bad_query' | 'bad_answer',
    message: string,
  ) {
    super(message);
    this.name = 'PromError';
  }
}

/** Fill a template's placeholders. */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m);
}

export interface PromSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PromClientOptions {
  /** e.g. http://127.0.0.1:9090 */
  readonly url: string;
  readonly timeoutMs?: number;
  /** Retries of a failed query (network, 5xx, timeout), with backoff. */
  readonly retries?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The HTTP API of Prometheus: instant queries and range queries. */
export class PromClient {
  constructor(private readonly o: PromClientOptions) {}

  private async get(path: string, params: Record<string, string>): Promise<unknown> {
    const url = `${this.o.url.replace(/\/$/, '')}${path}?${new URLSearchParams(params).toString()}`;
    const retries = this.o.retries ?? 2;
    let last: PromError | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 100 * 2 ** (attempt - 1)));
      const timeout = this.o.timeoutMs ?? 2000;
      try {
        const res = await request(url, { method: 'GET', headers: { accept: 'application/json', ...this.o.headers }, headersTimeout: timeout, bodyTimeout: timeout, signal: AbortSignal.timeout(timeout) });
        const text = await res.body.text();
        let body: { status?: string; data?: unknown; errorType?: string; error?: string };
        try {
          body = JSON.parse(text) as typeof body;
        } catch {
          body = {};
        }
        if (res.statusCode >= 400 && res.statusCode < 500) throw new PromError('bad_query', `Prometheus refused ${params.query ?? path}: ${body.errorType ?? res.statusCode}: ${body.error ?? text.slice(0, 200)}`);
        if (res.statusCode >= 500) {
          last = new PromError('unavailable', `Prometheus answered ${res.statusCode}: ${body.error ?? text.slice(0, 200)}`);
          continue;
        }
        if (body.status !== 'success') throw new PromError('bad_answer', `Prometheus answered ${body.status ?? 'no JSON'}: ${body.error ?? text.slice(0, 200)}`);
        return body.data;
      } catch (e) {
        if (e instanceof PromError && e.kind !== 'unavailable') throw e;
        const name = (e as Error).name;
        last = e instanceof PromError ? e : new PromError(name === 'TimeoutError' || name === 'AbortError' || /timeout/i.test((e as Error).message) ? 'timeout' : 'unavailable', `Prometheus at ${this.o.url}: ${(e as Error).message}`);
      }
    }
    throw last as PromError;
  }

  /** An instant query: its vector (a scalar as one sample without labels). */
  async query(expr: string, atSeconds?: number): Promise<PromSample[]> {
    const data = (await this.get('/api/v1/query', { query: expr, ...(atSeconds !== undefined ? { time: String(atSeconds) } : {}) })) as { resultType: string; result: unknown };
    if (data.resultType === 'scalar') return [{ labels: {}, value: Number((data.result as [number, string])[1]) }];
    if (data.resultType !== 'vector') throw new PromError('bad_answer', `${expr}: a ${data.resultType}, not a vector`);
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
  }

  /** A range query: per series, [seconds, value] points. */
  async queryRange(expr: string, startSeconds: number, endSeconds: number, stepSeconds: number): Promise<{ labels: Record<string, string>; points: [number, number][] }[]> {
    const data = (await this.get('/api/v1/query_range', { query: expr, start: String(startSeconds), end: String(endSeconds), step: String(stepSeconds) })) as { resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] };
    if (data.resultType !== 'matrix') throw new PromError('bad_answer', `${expr}: a ${data.resultType}, not a matrix`);
    return data.result.map((r) => ({ labels: r.metric, points: r.values.map(([t, v]) => [t, Number(v)] as [number, number]) }));
  }
}

/**
 * A latency histogram's per-second bucket increases (cumulative, by `le` in seconds) as [ms, count] buckets
 * of `seconds` of traffic: each bucket's requests at its upper bound (the +Inf bucket at the largest finite
 * bound), as the interval's histograms are read elsewhere.
 */
export function bucketsFromRates(samples: readonly PromSample[], seconds: number, leScale = 1): [number, number][] {
  const finite = samples
    .map((s) => ({ le: s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le), v: s.value }))
    .filter((s) => Number.isFinite(s.v))
    .sort((a, b) => a.le - b.le);
  const out: [number, number][] = [];
  let prev = 0;
  let lastFinite = 0;
  for (const { le, v } of finite) {
    const count = Math.max(0, v - prev) * seconds;
    prev = Math.max(prev, v);
    const ms = Number.isFinite(le) ? le * leScale * 1000 : lastFinite;
    if (Number.isFinite(le)) lastFinite = ms;
    if (count > 0) out.push([ms, count]);
  }
  return out;
}

/** Percentiles of [ms, count] buckets. */
function percentiles(buckets: readonly [number, number][]): IntervalPool['latencyMs'] {
  const total = buckets.reduce((a, [, n]) => a + n, 0);
  const at = (q: number): number => {
    if (total === 0) return 0;
    let seen = 0;
    for (const [ms, n] of buckets) {
      seen += n;
      if (seen >= q * total) return ms;
    }
    return buckets[buckets.length - 1]?.[0] ?? 0;
  };
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: buckets[buckets.length - 1]?.[0] ?? 0 };
}

const emptyPool = (): IntervalPool => ({ requests: 0, mutations: 0, errors: 0, bytesIn: 0, bytesOut: 0, latencyMs: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0 }, buckets: [] });

export interface PrometheusSourceOptions {
  readonly client: PromClient;
  /** A preset's name (default "shadowscale") and templates that replace its signals. */
  readonly preset?: string;
  readonly queries?: Partial<PromQueries>;
  /** The rate window (e.g. 4 scrape intervals). */
  readonly rangeSeconds: number;
  /** Newest sample older than this: missing. */
  readonly stalenessSeconds: number;
  /** Per service, values for templates beyond {service}, {pool}, {range} (e.g. {workload}). */
  readonly values?: (service: string, pool: 'live' | 'shadow') => Readonly<Record<string, string>>;
  readonly now?: () => number;
}

/** The loop's interval and the forecast's history of one or more services, from Prometheus. */
export class PrometheusSource {
  private readonly q: PromQueries;
  private readonly leScale: number;
  private readonly last = new Map<string, number>();

  constructor(private readonly o: PrometheusSourceOptions) {
    const preset = PROM_PRESETS[o.preset ?? 'shadowscale'];
    if (!preset) throw new Error(`unknown Prometheus preset "${o.preset}" (have: ${Object.keys(PROM_PRESETS).join(', ')})`);
    this.q = { ...preset, ...o.queries };
    this.leScale = LE_SCALE[o.preset ?? 'shadowscale'] ?? 1;
  }

  private fill(template: string, service: string, pool: 'live' | 'shadow'): string {
    // {workload}: the Deployment(s); {pods}: their pods' names (a Deployment's pods are NAME-HASH-SUFFIX).
    return fillTemplate(template, { service, pool, range: `${Math.max(1, Math.round(this.o.rangeSeconds))}s`, workload: pool === 'live' ? service : `${service}-ss-shadow-.*`, pods: pool === 'live' ? `${service}-[a-z0-9]+-[a-z0-9]{5}` : `${service}-ss-shadow-.*`, ...this.o.values?.(service, pool) });
  }

  private async scalar(template: string, service: string, pool: 'live' | 'shadow'): Promise<number> {
    const r = await this.o.client.query(this.fill(template, service, pool));
    return r.reduce((a, s) => a + (Number.isFinite(s.value) ? s.value : 0), 0);
  }

  /** The pool's CPU cores, or undefined when the query has no series (the instances not scraped) or fails: CPU is not a signal the interval needs. */
  private async cpu(service: string, pool: 'live' | 'shadow'): Promise<number | undefined> {
    if (!this.q.cpuCores) return undefined;
    try {
      const r = await this.o.client.query(this.fill(this.q.cpuCores, service, pool));
      const finite = r.filter((x) => Number.isFinite(x.value));
      return finite.length ? finite.reduce((a, x) => a + x.value, 0) : undefined;
    } catch (e) {
      if (e instanceof PromError && e.kind === 'bad_query') throw e;
      return undefined;
    }
  }

  private async pool(service: string, pool: 'live' | 'shadow', seconds: number): Promise<IntervalPool> {
    const [rps, eps, mps, buckets, cpu] = await Promise.all([
      this.scalar(this.q.requestRate, service, pool),
      this.scalar(this.q.errorRate, service, pool),
      this.q.mutationRate ? this.scalar(this.q.mutationRate, service, pool) : Promise.resolve(0),
      this.o.client.query(this.fill(this.q.latencyBuckets, service, pool)),
      this.cpu(service, pool),
    ]);
    const b = bucketsFromRates(buckets, seconds, this.leScale);
    return { ...emptyPool(), requests: rps * seconds, errors: eps * seconds, mutations: mps * seconds, buckets: b, latencyMs: percentiles(b), ...(cpu !== undefined ? { cpuCores: cpu } : {}) };
  }

  /**
   * Traffic of `service` since the previous call (the rates over the window times the seconds since),
   * or `missing` with the reason when Prometheus cannot tell.
   */
  async interval(service: string): Promise<IntervalView> {
    const now = (this.o.now ?? Date.now)();
    const before = this.last.get(service);
    this.last.set(service, now);
    const seconds = before === undefined ? this.o.rangeSeconds : Math.max(0.001, (now - before) / 1000);
    try {
      const stamp = await this.o.client.query(this.fill(this.q.lastSample, service, 'live'));
      const newest = Math.max(...stamp.map((s) => s.value), Number.NEGATIVE_INFINITY);
      if (!Number.isFinite(newest)) return { live: emptyPool(), shadow: emptyPool(), missing: `Prometheus has no sample of service "${service}"` };
      const age = now / 1000 - newest;
      if (age > this.o.stalenessSeconds) return { live: emptyPool(), shadow: emptyPool(), missing: `the newest sample of service "${service}" in Prometheus is ${age.toFixed(0)} s old (stale after ${this.o.stalenessSeconds} s)` };
      const [live, shadow] = await Promise.all([this.pool(service, 'live', seconds), this.pool(service, 'shadow', seconds)]);
      return { live, shadow };
    } catch (e) {
      return { live: emptyPool(), shadow: emptyPool(), missing: (e as Error).message };
    }
  }

  /** Requests per second of the live pool from `start` to `end` (seconds) every `step`, for the forecast's history. */
  async history(service: string, startSeconds: number, endSeconds: number, stepSeconds: number): Promise<[number, number][]> {
    const series = await this.o.client.queryRange(this.fill(this.q.requestRate, service, 'live'), startSeconds, endSeconds, stepSeconds);
    const sum = new Map<number, number>();
    for (const s of series) for (const [t, v] of s.points) if (Number.isFinite(v)) sum.set(t, (sum.get(t) ?? 0) + v);
    return [...sum].sort((a, b) => a[0] - b[0]);
  }
}
