// The verdict of a trial on the shadow (the proof gate's second step, docs/design/proof.md): from the
// latencies and errors measured at each load step, pass, fail or inconclusive, with the numbers, and the
// capacity at the SLO the steps show. Pure: measurements in, a verdict out.
//
// 1. Per step, the p99 is bounded from both sides with a distribution-free confidence interval: with n
//    samples, the number below the true p99 is Binomial(n, 0.99), so order statistics k_lo and k_hi with
//    P(k_lo ≤ B < k_hi) ≥ level bound it (exact binomial tail, no normal approximation).
// 2. The error rate is bounded with a Wilson score interval at the same level.
// 3. A step passes when both upper bounds are within the SLO, fails when a lower bound is beyond it, and
//    is inconclusive otherwise, or when it has too few samples for an upper bound on the p99, or when the
//    driver did not reach its rate (the shadow could not be driven: no proof either way).
// 4. The trial: fail if any step at or below the target fails; pass if the target step passes and none
//    below fails; else inconclusive. Steps above the target only inform the capacity.
// 5. Capacity at the SLO: the rate where the p99 crosses the SLO, interpolated between the last step
//    within it and the first beyond it; a bound only (`atLeast`, `atMost`) when the steps do not straddle it.

import type { Weighted } from './delta.js';

export interface StepMeasurement {
  /** Requests/s per instance the step asked for. */
  readonly targetRps: number;
  /** Requests/s per instance the driver achieved. */
  readonly achievedRps: number;
  /** Latencies (ms) with their counts: [value, count] pairs, any order. */
  readonly latencyMs: Weighted;
  readonly errors: number;
}

export interface VerdictSettings {
  readonly sloLatencyMs: number;
  readonly sloErrorRate: number;
  /** Confidence level of the bounds (two-sided). */
  readonly level: number;
  /** A step below this fraction of its rate was not driven as asked. */
  readonly minAchieved: number;
}

export const DEFAULT_VERDICT: Omit<VerdictSettings, 'sloLatencyMs' | 'sloErrorRate'> = { level: 0.95, minAchieved: 0.9 };

/**
 * Answers a step needs: the configured number, and enough for the error rate's upper bound (Wilson at
 * 95 %: about 3.84 / n with no error at all) to come under the SLO's, else no step could pass.
 */
export function answersPerStep(configured: number, sloErrorRate: number): number {
  return Math.max(configured, Math.ceil(4 / Math.max(sloErrorRate, 1e-6)));
}

export type StepVerdict = 'pass' | 'fail' | 'inconclusive';
/** Why a step or a trial is inconclusive. */
export type InconclusiveReason = 'too_few_samples' | 'not_driven' | 'bounds_straddle_slo' | 'no_target_step' | 'shadow_unhealthy';

export interface StepResult {
  readonly verdict: StepVerdict;
  readonly reason?: InconclusiveReason;
  readonly numbers: {
    readonly targetRps: number;
    readonly achievedRps: number;
    readonly requests: number;
    readonly p99Ms: number;
    readonly p99LowMs: number;
    readonly p99HighMs: number;
    readonly errorRate: number;
    readonly errorRateLow: number;
    readonly errorRateHigh: number;
  };
}

export interface TrialVerdict {
  readonly verdict: StepVerdict;
  readonly reason?: InconclusiveReason | 'step_failed';
  readonly steps: readonly StepResult[];
  /** Per-instance rate where p99 reaches the SLO, when the steps straddle it; else a bound. */
  readonly capacityAtSloRps: { readonly estimate?: number; readonly atLeast?: number; readonly atMost?: number };
}

/** Upper tail quantile of the standard normal (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p <= 0 ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  const a = [-39.6968302866538, 220.946098424521, -275.928510446969, 138.357751867269, -30.6647980661472, 2.50662827745924];
  const b = [-54.4760987982241, 161.585836858041, -155.698979859887, 66.8013118877197, -13.2806815528857];
  const c = [-0.00778489400243029, -0.322396458041136, -2.40075827716184, -2.54973253934373, 4.37466414146497, 2.93816398269878];
  const d = [0.00778469570904146, 0.32246712907004, 2.445134137143, 3.75440866190742];
  const lo = 0.02425;
  const poly = (k: number[], x: number): number => k.reduce((s, v) => s * x + v, 0);
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - lo) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

/**
 * Ranks (1-based order statistics) that bound the q-quantile of n samples with at least `level`
 * confidence: P(X(lo) ≤ true quantile ≤ X(hi)) ≥ level. `hi` is undefined when n is too small for an
 * upper bound (no rank high enough), `lo` when too small for a lower one.
 */
export function quantileRanks(n: number, q: number, level: number): { lo: number | undefined; hi: number | undefined } {
  const tail = (1 - level) / 2;
  // Binomial(n, q) pmf in log space, accumulated from the bottom.
  const logQ = Math.log(q);
  const log1Q = Math.log1p(-q);
  let logC = 0; // log C(n, 0)
  let cdf = 0;
  let lo: number | undefined;
  let hi: number | undefined;
  for (let k = 0; k <= n; k++) {
    if (k > 0) logC += Math.log((n - k + 1) / k);
    cdf += Math.exp(logC + k * logQ + (n - k) * log1Q);
    // P(B ≤ k-1) ≤ tail: X(k) is below the quantile with probability ≥ 1 - tail.
    if (cdf <= tail) lo = k + 1;
    // P(B ≤ k-1) ≥ 1 - tail for rank k: the first such k bounds from above.
    if (hi === undefined && cdf >= 1 - tail) hi = k + 1;
  }
  return { lo: lo !== undefined && lo <= n ? lo : undefined, hi: hi !== undefined && hi <= n ? hi : undefined };
}

/** The value of rank r (1-based) in weighted samples sorted ascending. */
function valueAtRank(sorted: Weighted, r: number): number {
  let seen = 0;
  for (const [v, c] of sorted) {
    seen += c;
    if (seen >= r) return v;
  }
  return sorted.length ? (sorted[sorted.length - 1] as readonly [number, number])[0] : Number.NaN;
}

/** Wilson score interval of a proportion. */
export function wilson(k: number, n: number, level: number): { low: number; high: number } {
  if (n <= 0) return { low: 0, high: 1 };
  const z = normalQuantile(1 - (1 - level) / 2);
  const p = k / n;
  const den = 1 + (z * z) / n;
  const mid = (p + (z * z) / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / den;
  return { low: Math.max(0, mid - half), high: Math.min(1, mid + half) };
}

export function stepVerdict(m: StepMeasurement, s: VerdictSettings): StepResult {
  const sorted = [...m.latencyMs].filter(([, c]) => c > 0).sort((a, b) => a[0] - b[0]);
  const n = sorted.reduce((t, [, c]) => t + c, 0);
  const requests = n + m.errors;
  const ranks = quantileRanks(n, 0.99, s.level);
  const p99 = valueAtRank(sorted, Math.max(1, Math.ceil(0.99 * n)));
  const p99Low = ranks.lo !== undefined ? valueAtRank(sorted, ranks.lo) : Number.NEGATIVE_INFINITY;
  const p99High = ranks.hi !== undefined ? valueAtRank(sorted, ranks.hi) : Number.POSITIVE_INFINITY;
  const err = wilson(m.errors, requests, s.level);
  const numbers = { targetRps: m.targetRps, achievedRps: m.achievedRps, requests, p99Ms: p99, p99LowMs: p99Low, p99HighMs: p99High, errorRate: requests ? m.errors / requests : 0, errorRateLow: err.low, errorRateHigh: err.high };
  if (m.achievedRps < s.minAchieved * m.targetRps) return { verdict: 'inconclusive', reason: 'not_driven', numbers };
  // Beyond the SLO for sure: a fail needs no upper bound.
  if (p99Low > s.sloLatencyMs || err.low > s.sloErrorRate) return { verdict: 'fail', numbers };
  if (ranks.hi === undefined) return { verdict: 'inconclusive', reason: 'too_few_samples', numbers };
  if (p99High <= s.sloLatencyMs && err.high <= s.sloErrorRate) return { verdict: 'pass', numbers };
  return { verdict: 'inconclusive', reason: 'bounds_straddle_slo', numbers };
}

/** The trial's verdict from its steps (any order); `targetRps` is the candidate's per-instance rate. */
export function trialVerdict(steps: readonly StepMeasurement[], targetRps: number, s: VerdictSettings): TrialVerdict {
  const results = [...steps].sort((a, b) => a.targetRps - b.targetRps).map((m) => stepVerdict(m, s));
  const capacity = capacityAtSlo(results, s.sloLatencyMs);
  const upTo = results.filter((r) => r.numbers.targetRps <= targetRps * (1 + 1e-9));
  if (upTo.some((r) => r.verdict === 'fail')) return { verdict: 'fail', reason: 'step_failed', steps: results, capacityAtSloRps: capacity };
  const atTarget = upTo[upTo.length - 1];
  if (!atTarget || atTarget.numbers.targetRps < targetRps * (1 - 1e-9)) return { verdict: 'inconclusive', reason: 'no_target_step', steps: results, capacityAtSloRps: capacity };
  if (atTarget.verdict === 'pass') return { verdict: 'pass', steps: results, capacityAtSloRps: capacity };
  return { verdict: 'inconclusive', ...(atTarget.reason ? { reason: atTarget.reason } : {}), steps: results, capacityAtSloRps: capacity };
}

/** Where the measured p99 crosses the SLO, interpolated linearly in rate between the steps around it. */
export function capacityAtSlo(steps: readonly StepResult[], sloMs: number): TrialVerdict['capacityAtSloRps'] {
  const pts = steps.filter((r) => r.reason !== 'not_driven' && Number.isFinite(r.numbers.p99Ms)).map((r) => ({ rate: r.numbers.achievedRps, p99: r.numbers.p99Ms }));
  if (pts.length === 0) return {};
  let lastWithin: { rate: number; p99: number } | undefined;
  for (const p of pts) {
    if (p.p99 <= sloMs) {
      lastWithin = p;
      continue;
    }
    if (!lastWithin) return { atMost: p.rate };
    const f = (sloMs - lastWithin.p99) / (p.p99 - lastWithin.p99);
    return { estimate: lastWithin.rate + f * (p.rate - lastWithin.rate) };
  }
  return { atLeast: (lastWithin as { rate: number }).rate };
}
