// An open-loop load generator: Poisson arrivals at a rate that follows a profile, sent whatever the
// target's state (no coordinated omission: latency counts from each request's scheduled time), with
// per-second results by scheduled second. The demo drives the gateway with it, and trials (src/proof) a
// trial instance.

import { Pool } from 'undici';
import { createRng } from '../core/random.js';

export interface SecondStats {
  /** Second of the run (scheduled time). */
  readonly second: number;
  readonly requests: number;
  readonly errors: number;
  /** Latencies (ms) of the completed requests, unsorted. */
  readonly latencies: number[];
}

/** One request of a mix: what to send (the body as bytes). */
export interface MixRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: Buffer;
}

export interface LoadOptions {
  readonly url: string;
  readonly path?: string;
  /** Requests to send, one drawn at random (seeded) per arrival; GET `path` when absent. */
  readonly mix?: readonly MixRequest[];
  /** Requests/s at `t` seconds into the run. */
  readonly rate: (t: number) => number;
  readonly durationSeconds: number;
  readonly seed: number;
  readonly timeoutMs?: number;
  readonly connections?: number;
  /** Wall-clock ms of the run's start (defaults to now). */
  readonly startAt?: number;
  /** Stops sending when it aborts; `done` then resolves with what was sent and answered. */
  readonly signal?: AbortSignal;
  /**
   * Most requests outstanding at once (default 20,000): an arrival beyond is counted as a request and an
   * error, not sent. A target far behind the schedule would otherwise queue requests in this process
   * until its heap gave out (a trial asked for 100,000 req/s of an instance that stalls).
   */
  readonly maxPending?: number;
}

export interface LoadRun {
  /** Resolves when every request sent has finished. */
  readonly done: Promise<SecondStats[]>;
}

export function startLoad(o: LoadOptions): LoadRun {
  const rng = createRng(o.seed);
  // Picks from the mix on their own generator: the arrival times do not depend on the mix.
  const pick = createRng(o.seed ^ 0x5bd1e995);
  const mix = o.mix && o.mix.length ? o.mix : undefined;
  const seconds: SecondStats[] = Array.from({ length: Math.ceil(o.durationSeconds) }, (_, i) => ({ second: i, requests: 0, errors: 0, latencies: [] }));
  const start = o.startAt ?? Date.now();
  let next = 0; // seconds from start of the next arrival
  const pending = new Set<Promise<void>>();
  const advance = (): void => {
    // Poisson arrivals with the rate at the current time (the profile changes slowly against the gaps).
    const rate = o.rate(next);
    // A rate that is not a number would schedule the next arrival at NaN: the pump would never end.
    if (!(rate >= 0)) throw new RangeError(`load profile: expected a rate >= 0 requests/s at ${next} s, got ${rate}`);
    const r = Math.max(1e-6, rate);
    next += -Math.log(1 - rng.next()) / r;
  };
  advance();
  const pool = new Pool(o.url, { connections: o.connections ?? 1024, headersTimeout: o.timeoutMs ?? 5000, bodyTimeout: o.timeoutMs ?? 5000 });
  const maxPending = o.maxPending ?? 20_000;
  const send = (at: number): void => {
    const bucket = seconds[Math.floor(at)] as SecondStats & { requests: number; errors: number };
    bucket.requests++;
    if (pending.size >= maxPending) {
      bucket.errors++;
      return;
    }
    const scheduled = start + at * 1000;
    const m = mix ? (mix[Math.floor(pick.next() * mix.length)] as MixRequest) : undefined;
    const p = pool
      .request(m ? { method: m.method, path: m.path, ...(m.body && m.body.length ? { body: m.body } : {}) } : { method: 'GET', path: o.path ?? '/work' })
      .then(async (res) => {
        await res.body.dump();
        if (res.statusCode >= 500) bucket.errors++;
        else bucket.latencies.push(Date.now() - scheduled);
      })
      .catch(() => {
        bucket.errors++;
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  const done = new Promise<SecondStats[]>((resolve, reject) => {
    const pump = (): void => {
      const elapsed = (Date.now() - start) / 1000;
      try {
        while (next <= elapsed && next < o.durationSeconds && !o.signal?.aborted) {
          send(next);
          advance();
        }
      } catch (err) {
        void Promise.all([...pending]).then(() => pool.close()).finally(() => reject(err as Error));
        return;
      }
      if (next >= o.durationSeconds || o.signal?.aborted) {
        void Promise.all([...pending]).then(async () => {
          await pool.close();
          resolve(seconds);
        });
        return;
      }
      setTimeout(pump, Math.max(0, Math.min(5, (next - elapsed) * 1000)));
    };
    setTimeout(pump, Math.max(0, start - Date.now()));
  });
  return { done };
}

/** A run's seconds added up: requests sent, errors, and every completed request's latency (ms). */
export function totals(seconds: readonly SecondStats[]): { requests: number; errors: number; latencies: number[] } {
  let requests = 0;
  let errors = 0;
  const latencies: number[] = [];
  for (const s of seconds) {
    requests += s.requests;
    errors += s.errors;
    for (const l of s.latencies) latencies.push(l);
  }
  return { requests, errors, latencies };
}

/** The p-quantile of unsorted values (nearest rank); NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

/** One answer of a probe: when it was scheduled (ms since the epoch), its latency from then, and who served it. */
export interface ProbeAnswer {
  readonly at: number;
  readonly ms: number;
  /** HTTP status, 0 when the request failed without one. */
  readonly status: number;
  /** The serving instance and version, from the answer's x-instance-id and x-version (the sample service's). */
  readonly instance?: string;
  readonly version?: string;
  readonly error?: string;
}

/**
 * Open-loop Poisson GETs of `path` at `rate` req/s until stop(), each answer kept with the instance and
 * version that served it: how the switchover bench and the demo's scenarios see what clients saw.
 */
export function startProbe(o: { url: string; path?: string; rate: number; seed: number; connections?: number }): { answers: ProbeAnswer[]; stop: () => Promise<void> } {
  const rng = createRng(o.seed);
  const pool = new Pool(o.url, { connections: o.connections ?? 64 });
  const answers: ProbeAnswer[] = [];
  const inflight = new Set<Promise<void>>();
  const t0 = performance.now();
  const origin = Date.now();
  let scheduled = t0;
  let stopped = false;
  let closing: Promise<void> | undefined;
  const header = (h: Record<string, string | string[] | undefined>, k: string): string | undefined => {
    const v = h[k];
    return Array.isArray(v) ? v[0] : v;
  };
  const sender = (async () => {
    while (!stopped) {
      scheduled += (-Math.log(1 - rng.next()) / o.rate) * 1000;
      const wait = scheduled - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (stopped) break;
      const at = scheduled;
      const p = pool
        .request({ method: 'GET', path: o.path ?? '/work' })
        .then(async (r) => {
          await r.body.dump();
          const instance = header(r.headers, 'x-instance-id');
          const version = header(r.headers, 'x-version');
          answers.push({ at: origin + (at - t0), ms: performance.now() - at, status: r.statusCode, ...(instance ? { instance } : {}), ...(version ? { version } : {}) });
        })
        .catch((e: unknown) => void answers.push({ at: origin + (at - t0), ms: performance.now() - at, status: 0, error: (e as Error).message }))
        .finally(() => inflight.delete(p));
      inflight.add(p);
    }
  })();
  return {
    answers,
    stop: () => {
      stopped = true;
      closing ??= (async () => {
        await sender;
        await Promise.all([...inflight]);
        await pool.close();
      })();
      return closing;
    },
  };
}
