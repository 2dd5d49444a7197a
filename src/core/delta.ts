// Delta analysis: is the shadow worse than live? Kayenta-style: a one-sided Mann-Whitney U test of the
// shadow's latencies against live's scaled by a tolerance band, plus an absolute noise floor, plus a
// two-proportion test on error rates; compared only when the per-instance loads are comparable.
// Latencies arrive as weighted values (HDR histogram buckets), so ties are the rule: the test uses
// mid-ranks and the tie-corrected variance. Design: docs/design/live-loop.md
//
// 1. Too few requests on either side -> insufficient_data.
// 2. Per-instance loads differ by more than `loadRatioMax` -> incomparable_load (latency depends on load).
// 3. Errors: shadow rate above live + errorTolerance with p < alpha -> degraded (errors).
// 4. Latency: shadow median above live median by less than the noise floor -> pass; else shadow vs
//    live x (1 + tolerance), one-sided Mann-Whitney p < alpha -> degraded (latency).

/** [value, count] pairs; values need not be sorted or distinct. */
export type Weighted = readonly (readonly [number, number])[];

export interface MannWhitney {
  /** U statistic of the first sample. */
  readonly u: number;
  readonly z: number;
  /** One-sided p-value for "the first sample tends to be larger". */
  readonly pGreater: number;
  readonly n1: number;
  readonly n2: number;
}

/** Complementary error function (Numerical Recipes' erfcc; fractional error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(Z >= z) for a standard normal Z. */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

function total(a: Weighted): number {
  let n = 0;
  for (const [, c] of a) n += c;
  return n;
}

/** Mann-Whitney U on weighted samples, with mid-ranks for ties, tie-corrected variance and continuity correction. */
export function mannWhitney(a: Weighted, b: Weighted): MannWhitney {
  const n1 = total(a);
  const n2 = total(b);
  const n = n1 + n2;
  if (n1 === 0 || n2 === 0) return { u: Number.NaN, z: Number.NaN, pGreater: Number.NaN, n1, n2 };
  const points: [number, number, number][] = [];
  for (const [v, c] of a) if (c > 0) points.push([v, c, 0]);
  for (const [v, c] of b) if (c > 0) points.push([v, 0, c]);
  points.sort((x, y) => x[0] - y[0]);
  let rank = 0;
  let r1 = 0;
  let ties = 0;
  for (let i = 0; i < points.length; ) {
    let ca = 0;
    let cb = 0;
    const v = (points[i] as [number, number, number])[0];
    for (; i < points.length && (points[i] as [number, number, number])[0] === v; i++) {
      ca += (points[i] as [number, number, number])[1];
      cb += (points[i] as [number, number, number])[2];
    }
    const t = ca + cb;
    r1 += ca * (rank + (t + 1) / 2);
    ties += t * t * t - t;
    rank += t;
  }
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (!(variance > 0)) return { u, z: 0, pGreater: 0.5, n1, n2 };
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { u, z, pGreater: normalUpperTail(z), n1, n2 };
}

/** The weighted median (lower median). */
export function weightedMedian(a: Weighted): number {
  const sorted = [...a].filter(([, c]) => c > 0).sort((x, y) => x[0] - y[0]);
  const half = total(sorted) / 2;
  let seen = 0;
  for (const [v, c] of sorted) {
    seen += c;
    if (seen >= half) return v;
  }
  return Number.NaN;
}

export interface DeltaSettings {
  /** Shadow latencies are compared with live's x (1 + tolerance). */
  readonly tolerance: number;
  /** Median differences below this (ms) are noise, whatever the test says. */
  readonly noiseFloorMs: number;
  /** Significance level of both tests. */
  readonly alpha: number;
  /** Fewest requests per side for a verdict. */
  readonly minSamples: number;
  /** Per-instance loads are comparable within this ratio either way. */
  readonly loadRatioMax: number;
  /** Absolute error-rate margin the shadow may have over live. */
  readonly errorTolerance: number;
}

/** Callers normalise latencies to a common load with the capacity model; past 4x the model is not trusted. */
export const DEFAULT_DELTA: DeltaSettings = { tolerance: 0.2, noiseFloorMs: 5, alpha: 0.01, minSamples: 50, loadRatioMax: 4, errorTolerance: 0.01 };

export interface PoolWindow {
  /** Latencies (ms) as [value, count]. */
  readonly latencyMs: Weighted;
  readonly requests: number;
  readonly errors: number;
  /** Requests/s per instance over the window. */
  readonly perInstanceRps: number;
}

export type DeltaVerdict = 'pass' | 'degraded' | 'insufficient_data' | 'incomparable_load';

export interface DeltaResult {
  readonly verdict: DeltaVerdict;
  /** What failed, for a degraded verdict. */
  readonly metric?: 'latency' | 'errors';
  readonly numbers: Readonly<Record<string, number>>;
}

/** The pool labels swapped in a result's numbers (and the load ratio inverted): see liveWorseThanShadow. */
function relabel(n: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(n)) {
    if (k === 'loadRatio') out[k] = 1 / v;
    else if (k.startsWith('live')) out[`shadow${k.slice(4)}`] = v;
    else if (k.startsWith('shadow')) out[`live${k.slice(6)}`] = v;
    else out[k] = v;
  }
  return out;
}

/**
 * Whether live is worse than the shadow: compareLiveShadow's tests with the roles swapped, and the
 * numbers labelled by the pool they describe (`liveMedianMs` is live's, `loadRatio` is shadow/live).
 */
export function liveWorseThanShadow(live: PoolWindow, shadow: PoolWindow, s: DeltaSettings = DEFAULT_DELTA): DeltaResult {
  const r = compareLiveShadow(shadow, live, s);
  return { ...r, numbers: relabel(r.numbers) };
}

/** Whether the shadow is worse than live (errors, then latency), with the numbers behind the verdict. */
export function compareLiveShadow(live: PoolWindow, shadow: PoolWindow, s: DeltaSettings = DEFAULT_DELTA): DeltaResult {
  const numbers: Record<string, number> = { liveRequests: live.requests, shadowRequests: shadow.requests };
  if (live.requests < s.minSamples || shadow.requests < s.minSamples) return { verdict: 'insufficient_data', numbers: { ...numbers, minSamples: s.minSamples } };
  const loadRatio = shadow.perInstanceRps / live.perInstanceRps;
  numbers.loadRatio = loadRatio;
  if (!(loadRatio <= s.loadRatioMax && loadRatio >= 1 / s.loadRatioMax)) return { verdict: 'incomparable_load', numbers };

  // Errors: two-proportion z-test of shadow > live + tolerance.
  const pl = live.errors / live.requests;
  const ps = shadow.errors / shadow.requests;
  numbers.liveErrorRate = pl;
  numbers.shadowErrorRate = ps;
  const pooled = (live.errors + shadow.errors) / (live.requests + shadow.requests);
  const se = Math.sqrt(Math.max(pooled * (1 - pooled), 1e-12) * (1 / live.requests + 1 / shadow.requests));
  const zErr = (ps - pl - s.errorTolerance) / se;
  numbers.errorP = normalUpperTail(zErr);
  if (ps - pl > s.errorTolerance && (numbers.errorP as number) < s.alpha) return { verdict: 'degraded', metric: 'errors', numbers };

  const liveMedian = weightedMedian(live.latencyMs);
  const shadowMedian = weightedMedian(shadow.latencyMs);
  numbers.liveMedianMs = liveMedian;
  numbers.shadowMedianMs = shadowMedian;
  if (shadowMedian - liveMedian < s.noiseFloorMs) return { verdict: 'pass', numbers: { ...numbers, noiseFloorMs: s.noiseFloorMs } };
  const scaled = live.latencyMs.map(([v, c]) => [v * (1 + s.tolerance), c] as const);
  const mw = mannWhitney(shadow.latencyMs, scaled);
  numbers.u = mw.u;
  numbers.z = mw.z;
  numbers.latencyP = mw.pGreater;
  numbers.tolerance = s.tolerance;
  return mw.pGreater < s.alpha ? { verdict: 'degraded', metric: 'latency', numbers } : { verdict: 'pass', numbers };
}

/** Consecutive degraded windows; a degradation is confirmed after `needed` of them (and reported once). */
export function confirmDegradation(streak: number, verdict: DeltaVerdict, needed: number): { streak: number; confirmed: boolean } {
  if (verdict === 'degraded') return { streak: streak + 1, confirmed: streak + 1 === needed };
  // No data or incomparable load neither confirms nor clears a streak.
  if (verdict === 'insufficient_data' || verdict === 'incomparable_load') return { streak, confirmed: false };
  return { streak: 0, confirmed: false };
}
