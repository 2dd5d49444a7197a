// What a strategy observes of a pool, from the traffic of its last ticks (the metric window). The live
// loop and the A/B arms in the shadow (src/proof/ab.ts) both observe through this, so that an arm's
// strategy sees its pool the way the live loop's sees production.

import type { Weighted } from './delta.js';

/**
 * Whether a tick's traffic (requests > 0) missed the SLO: its p99 over the latency objective or its
 * error rate over the highest acceptable one. The live loop and the arms judge ticks by this.
 */
export function tickViolatesSlo(t: { readonly requests: number; readonly errors: number; readonly p99Ms: number }, slo: { readonly latencyP99Ms: number; readonly errorRate: number }): boolean {
  return t.p99Ms > slo.latencyP99Ms || t.errors / t.requests > slo.errorRate;
}

/** Mean latency (ms) and total count of weighted buckets. */
export function meanOf(b: Weighted): { mean: number; n: number } {
  let s = 0;
  let n = 0;
  for (const [v, c] of b) {
    s += v * c;
    n += c;
  }
  return { mean: n ? s / n : Number.NaN, n };
}

/** One tick's traffic of a pool. */
export interface WindowPoint {
  /** ms since the epoch. */
  readonly at: number;
  readonly requests: number;
  /** Sum of the requests' latencies (ms). */
  readonly latencySumMs: number;
  /** Instances ready during the tick. */
  readonly ready: number;
}

/** Drop the points older than the window (`now` and the window in ms), oldest first. */
export function trimWindow(window: { readonly at: number }[], now: number, windowMs: number): void {
  while (window.length > 0 && (window[0] as { readonly at: number }).at <= now - windowMs) window.shift();
}

/**
 * Demand (requests/s over the window's span, `dt` seconds per tick) and utilization by Little's law:
 * requests in the system = throughput x mean latency, as a busy fraction of the ready instances' slots
 * (capped at 1). Utilization is NaN when nothing is ready, 0 when instances are ready but idle.
 */
export function observeWindow(window: readonly WindowPoint[], now: number, dt: number, slots: number, readyNow: number): { demandRps: number; utilization: number; meanReady: number } {
  let requests = 0;
  let latencySum = 0;
  let readySum = 0;
  for (const w of window) {
    requests += w.requests;
    latencySum += w.latencySumMs;
    readySum += w.ready;
  }
  const span = window.length ? Math.max(dt, (now - (window[0] as WindowPoint).at) / 1000 + dt) : dt;
  const demandRps = requests / span;
  const meanReady = window.length ? readySum / window.length : readyNow;
  const utilization = meanReady > 0 && requests > 0 ? Math.min(1, (demandRps * (latencySum / requests / 1000)) / (meanReady * slots)) : meanReady > 0 ? 0 : Number.NaN;
  return { demandRps, utilization, meanReady };
}

/** The q-quantile of weighted samples sorted ascending by value (NaN when empty). */
export function weightedQuantile(sorted: readonly (readonly [number, number])[], q: number): number {
  let n = 0;
  for (const [, c] of sorted) n += c;
  if (n === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * n - 1e-9));
  let seen = 0;
  for (const [v, c] of sorted) {
    seen += c;
    if (seen >= rank) return v;
  }
  return (sorted[sorted.length - 1] as readonly [number, number])[0];
}
