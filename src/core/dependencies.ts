// Dependencies between services (issue 16): how much load a caller sends each dependency, learned from
// traffic, and the floor a caller's expected demand puts on a dependency's instances so that it is scaled
// ahead (with its own lead time) instead of after its own load rose. Pure: no I/O, no clock.

export interface DependencyEdge {
  readonly from: string;
  readonly to: string;
  /** Declared calls per caller request; undefined when the declaration gives none (or gives a ratio). */
  readonly perRequest?: number | undefined;
  /** Declared instances of the dependency per instance of the caller. */
  readonly ratio?: number | undefined;
}

/**
 * Calls per caller request learned from traffic: the ratio of exponentially weighted sums of calls and of
 * caller requests over windows. Summing before dividing weights each window by its traffic, so a thin window
 * (few requests, its ratio far off) moves the figure little; and the calls of caller requests still in
 * flight when a window closes, counted in that window while the requests are counted in the next, cancel
 * between neighbouring windows instead of each window adding its own excess.
 */
export interface LearnedRatio {
  readonly perRequest: number;
  readonly windows: number;
  readonly callerRequests: number;
  /** The weighted sums (each window's counts, older windows decayed by 1 - alpha per window). */
  readonly weightedCalls: number;
  readonly weightedRequests: number;
}

/** Which calls-per-request figure propagation uses, and why. */
export interface UsedRatio {
  readonly perRequest: number | undefined;
  readonly ratio: number | undefined;
  readonly source: 'declared' | 'learned' | 'default';
}

export const LEARN = {
  /** A window counts when the caller served at least this many requests in it. */
  minWindowRequests: 20,
  /** Each window decays the sums of the windows before it by 1 - alpha. */
  alpha: 0.3,
  /** Learned is trusted after this many windows and caller requests. */
  minWindows: 3,
  minRequests: 200,
  /** Learned replaces declared when they differ by more than this share of the declared. */
  tolerance: 0.25,
} as const;

/** One window's calls (dependency requests naming the caller) and caller requests folded into what was learned. */
export function learnWindow(prev: LearnedRatio | undefined, calls: number, callerRequests: number, o: { minWindowRequests: number; alpha: number } = LEARN): LearnedRatio | undefined {
  if (!(callerRequests >= o.minWindowRequests) || !(calls >= 0) || !Number.isFinite(calls) || !Number.isFinite(callerRequests)) return prev;
  const keep = prev ? 1 - o.alpha : 0;
  const weightedCalls = keep * (prev?.weightedCalls ?? 0) + calls;
  const weightedRequests = keep * (prev?.weightedRequests ?? 0) + callerRequests;
  return { perRequest: weightedCalls / weightedRequests, windows: (prev?.windows ?? 0) + 1, callerRequests: (prev?.callerRequests ?? 0) + callerRequests, weightedCalls, weightedRequests };
}

/**
 * The ratio propagation uses: the learned calls per request once enough traffic backs it and it disagrees
 * with the declaration (or nothing was declared); otherwise the declaration; one call per request when
 * neither says. A declared instance ratio stays as declared (traffic says nothing of it).
 */
export function usedRatio(edge: DependencyEdge, learned: LearnedRatio | undefined, o: { minWindows: number; minRequests: number; tolerance: number } = LEARN): UsedRatio {
  if (edge.ratio !== undefined) return { perRequest: undefined, ratio: edge.ratio, source: 'declared' };
  const trusted = learned !== undefined && learned.windows >= o.minWindows && learned.callerRequests >= o.minRequests;
  if (edge.perRequest === undefined) return trusted ? { perRequest: learned.perRequest, ratio: undefined, source: 'learned' } : { perRequest: 1, ratio: undefined, source: 'default' };
  if (trusted && Math.abs(learned.perRequest - edge.perRequest) > o.tolerance * edge.perRequest) return { perRequest: learned.perRequest, ratio: undefined, source: 'learned' };
  return { perRequest: edge.perRequest, ratio: undefined, source: 'declared' };
}

export interface CallerDemand {
  readonly service: string;
  readonly used: UsedRatio;
  /** The caller's expected demand (req/s) over the dependency's lead time (its forecast's upper bound, or what it serves now). */
  readonly expectedRps: number;
  /** The caller's target instances now. */
  readonly target: number;
}

export interface DependencyFloor {
  /** Instances the callers' expected demand needs of the dependency (0 when they need nothing). */
  readonly floor: number;
  /** The extra load they are expected to send (req/s). */
  readonly rps: number;
  readonly numbers: Readonly<Record<string, number>>;
}

/**
 * The floor callers put on a dependency: their expected demand times the calls per request, at the
 * dependency's capacity per instance with its headroom (or at the rate its own reactive rule holds an
 * instance to, when lower); and a declared instance ratio times each caller's target. Callers whose figures are not finite add nothing (missing data never scales).
 */
export function dependencyFloor(callers: readonly CallerDemand[], dep: { readonly perInstanceRps: number; readonly headroom: number; /** Req/s per instance its own reactive rule holds it at (its target utilization); undefined: none. */ readonly holdRps?: number }): DependencyFloor {
  let rps = 0;
  let byRatio = 0;
  const numbers: Record<string, number> = {};
  for (const c of callers) {
    if (c.used.ratio !== undefined) {
      if (Number.isFinite(c.target) && c.target > 0) byRatio = Math.max(byRatio, Math.ceil(c.used.ratio * c.target - 1e-9));
      numbers[`ratio_${c.service}`] = c.used.ratio;
      continue;
    }
    const per = c.used.perRequest ?? 0;
    if (!Number.isFinite(c.expectedRps) || c.expectedRps < 0) continue;
    rps += per * c.expectedRps;
    numbers[`expectedRps_${c.service}`] = c.expectedRps;
    numbers[`perRequest_${c.service}`] = per;
  }
  // Per instance: its capacity with its headroom, or less where its own reactive rule would hold it lower
  // (else that rule scales it once more after the load arrives, too late).
  const hold = dep.holdRps !== undefined && dep.holdRps > 0 && Number.isFinite(dep.holdRps) ? dep.holdRps : Number.POSITIVE_INFINITY;
  const perUse = Math.min(dep.perInstanceRps / (1 + dep.headroom), hold);
  const byLoad = rps > 0 && perUse > 0 ? Math.ceil(rps / perUse - 1e-9) : 0;
  const floor = Math.max(byLoad, byRatio);
  return { floor, rps, numbers: { ...numbers, propagatedRps: rps, perInstanceRps: dep.perInstanceRps, ...(Number.isFinite(hold) ? { holdRps: hold } : {}), floor } };
}

/** A dependency cycle among the edges (the services on it, the first repeated at the end), or undefined. */
export function dependencyCycle(edges: readonly { readonly from: string; readonly to: string }[]): string[] | undefined {
  const out = new Map<string, string[]>();
  for (const e of edges) out.set(e.from, [...(out.get(e.from) ?? []), e.to]);
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const m of out.get(n) ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of out.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}
