// New instances judged against old ones over a switchover step (docs/design/switchover.md), shared by the
// ramp-in of a scale-out and the shift of a version rollout: the new members' latencies are normalised to
// the old members' load per slot by the M/M/c model (as delta analysis normalises the shadow), then the
// delta statistics of core/delta.ts compare them, errors included.

import { meanResponseTime } from '../core/capacity.js';
import { compareLiveShadow, type DeltaSettings, type Weighted } from '../core/delta.js';
import type { ShiftCheck } from '../core/switchover.js';
import type { IntervalPool } from '../gateway/metrics.js';

/** Intervals of traffic added up: requests, errors, and the latency histograms merged. */
export function mergeIntervals(xs: readonly IntervalPool[]): { requests: number; errors: number; latencyMs: Weighted } {
  const buckets = new Map<number, number>();
  let requests = 0;
  let errors = 0;
  for (const x of xs) {
    requests += x.requests;
    errors += x.errors;
    for (const [v, c] of x.buckets) buckets.set(v, (buckets.get(v) ?? 0) + c);
  }
  return { requests, errors, latencyMs: [...buckets] as Weighted };
}

/** The traffic of a step, per tick: the members' intervals and how many of each group served. */
export interface GroupWindow {
  newWindow: IntervalPool[];
  oldWindow: IntervalPool[];
  newReady: number[];
  oldReady: number[];
}

export const emptyWindow = (): GroupWindow => ({ newWindow: [], oldWindow: [], newReady: [], oldReady: [] });

/**
 * New against old over the window (`newModel`: the new group's slots and service time when its instance
 * type differs). `expectedNewShare` is the share of requests the new group's weights
 * ask for; `lastChance` is true when this step is the last inconclusive one allowed: then a new group that
 * took under half its expected share is being routed around (slow: the balancer avoids its outstanding
 * requests), a fail, and otherwise the service is quiet and there is nothing against it, a pass.
 */
export function judgeGroups(w: GroupWindow, dt: number, o: { slots: number; serviceTime: number; newModel?: { slots: number; serviceTime: number }; delta: DeltaSettings; expectedNewShare: (oldN: number, newN: number) => number; lastChance: boolean }): { verdict: ShiftCheck; metric?: 'latency' | 'errors'; numbers: Record<string, number> } {
  const secs = Math.max(dt, w.newReady.length * dt);
  const mean = (xs: number[]): number => Math.max(1, xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));
  const old = mergeIntervals(w.oldWindow);
  const neu = mergeIntervals(w.newWindow);
  const oldLoad = old.requests / secs / mean(w.oldReady);
  const newLoad = neu.requests / secs / mean(w.newReady);
  // A new group of another instance type is normalised by its own model: what the old would take at the
  // old load over what the new should take at its load.
  const nm = o.newModel ?? o;
  const scale = meanResponseTime(o.slots, o.serviceTime, oldLoad) / meanResponseTime(nm.slots, nm.serviceTime, newLoad);
  const normalised = Number.isFinite(scale) && scale > 0 ? neu.latencyMs.map(([v, c]) => [v * scale, c] as const) : neu.latencyMs;
  // A new member may take a fraction of an old one's load by design, and a slow one takes even less (the
  // balancer sends to fewer requests outstanding per weight): loads are compared through the capacity
  // model at any ratio, never refused as incomparable, or a slow member would never be judged.
  const r = compareLiveShadow({ ...old, perInstanceRps: oldLoad / o.slots }, { ...neu, latencyMs: normalised, perInstanceRps: newLoad / nm.slots }, { ...o.delta, loadRatioMax: Number.POSITIVE_INFINITY });
  // compareLiveShadow's "shadow" is the new instances here: rename its numbers.
  const numbers = Object.fromEntries(Object.entries(r.numbers).map(([k, v]) => [k.replace(/^live/, 'old').replace(/^shadow/, 'new'), v]));
  if (r.verdict === 'insufficient_data' && o.lastChance) {
    const expected = o.expectedNewShare(mean(w.oldReady), mean(w.newReady));
    const total = neu.requests + old.requests;
    const share = neu.requests / Math.max(1, total);
    numbers.newShare = share;
    numbers.expectedShare = expected;
    // Too few requests in all to tell routing around from chance: a quiet service, nothing against the new group.
    return { verdict: total >= o.delta.minSamples && share < expected / 2 ? 'degraded' : 'pass', numbers };
  }
  return { verdict: r.verdict, ...(r.metric ? { metric: r.metric } : {}), numbers };
}
