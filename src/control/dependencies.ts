// The dependency graph of a run (issue 16): declared edges, call ratios learned from what the gateways see
// (a calling service names itself in x-shadowscale-caller), and each dependency's floor from its callers'
// expected demand, which its loop applies ahead of its own load (reason dependency_ahead). The math is
// src/core/dependencies.ts; this is where it meets the gateways and loops.

import { dependencyFloor, learnWindow, usedRatio, type DependencyEdge, type DependencyFloor, type LearnedRatio, type UsedRatio } from '../core/dependencies.js';
import type { GatewayControl } from '../gateway/control.js';

/** What the graph needs of a supervised service. */
export interface GraphService {
  readonly name: string;
  readonly gateway: GatewayControl;
  /** Expected demand (req/s) over a horizon from now (ms); NaN when unknown (ServiceLoop.expectedDemandRps). */
  expectedDemandRps(now: number, horizonSeconds: number): number;
  /** Its target instances now. */
  target(): number;
  readonly perInstanceRps: () => number;
  /** Requests/s one of its shadow instances serves at the SLO. */
  readonly shadowPerInstanceRps: () => number;
  readonly headroom: number;
  /** Req/s per instance its own reactive rule holds it at (reactive and hybrid); undefined: none. */
  readonly holdRps?: () => number | undefined;
}

export interface EdgeView {
  readonly from: string;
  readonly to: string;
  readonly declared: { readonly perRequest: number | null; readonly ratio: number | null };
  readonly learned: { readonly perRequest: number; readonly windows: number; readonly callerRequests: number } | null;
  readonly used: { readonly perRequest: number | null; readonly ratio: number | null; readonly source: UsedRatio['source'] };
  /** Calls seen since this run started (requests to `to` naming `from`). */
  readonly calls: number;
}

export class Dependencies {
  private readonly learned = new Map<string, LearnedRatio>();
  /** Per edge, the counters at the last window: calls seen by the dependency, requests the caller served. */
  private readonly marks = new Map<string, { calls: number; callerRequests: number }>();
  private readonly calls = new Map<string, number>();
  /** Requests/s each caller's trials send (borrowed shadow capacity of its dependencies). */
  private readonly borrowed = new Map<string, number>();

  constructor(
    readonly edges: readonly DependencyEdge[],
    private readonly services: ReadonlyMap<string, GraphService>,
  ) {}

  /** The edges among the supervised services (a dependency outside the run is not this run's to scale). */
  static among(edges: readonly DependencyEdge[], services: ReadonlyMap<string, GraphService>): Dependencies {
    return new Dependencies(edges.filter((e) => services.has(e.from) && services.has(e.to)), services);
  }

  /**
   * One learning window: per edge, the calls the dependency's gateway saw from the caller and the requests
   * the caller's gateway served since the last window. A gateway that does not answer skips the window.
   */
  async observe(): Promise<void> {
    const stats = new Map<string, { callers: Record<string, number>; live: number }>();
    await Promise.all(
      [...this.services.values()].map(async (s) => {
        try {
          const v = await s.gateway.stats();
          stats.set(s.name, { callers: v.callers, live: v.traffic.pools.live.requests });
        } catch {
          // its figures wait for the next window
        }
      }),
    );
    for (const e of this.edges) {
      const dep = stats.get(e.to);
      const caller = stats.get(e.from);
      if (!dep || !caller) continue;
      const key = `${e.from}>${e.to}`;
      const now = { calls: dep.callers[e.from] ?? 0, callerRequests: caller.live };
      this.calls.set(key, now.calls);
      const mark = this.marks.get(key);
      this.marks.set(key, now);
      if (!mark) continue;
      const next = learnWindow(this.learned.get(key), now.calls - mark.calls, now.callerRequests - mark.callerRequests);
      if (next) this.learned.set(key, next);
    }
  }

  /** The floor a service's callers put on it over `horizonSeconds` from `now`; undefined when none calls it. */
  floor(service: string, now: number, horizonSeconds: number): DependencyFloor | undefined {
    const into = this.edges.filter((e) => e.to === service);
    const self = this.services.get(service);
    if (into.length === 0 || !self) return undefined;
    const callers = into.flatMap((e) => {
      const c = this.services.get(e.from);
      return c ? [{ service: e.from, used: usedRatio(e, this.learned.get(`${e.from}>${e.to}`)), expectedRps: c.expectedDemandRps(now, horizonSeconds), target: c.target() }] : [];
    });
    const hold = self.holdRps?.();
    return dependencyFloor(callers, { perInstanceRps: self.perInstanceRps(), headroom: self.headroom, ...(hold !== undefined ? { holdRps: hold } : {}) });
  }

  /** What a caller's trials send now (req/s at their top steps): its dependencies' shadows grow for it. */
  borrow(caller: string, rps: number): void {
    if (rps > 0) this.borrowed.set(caller, rps);
    else this.borrowed.delete(caller);
  }

  /** Requests/s the callers' trials send a service's shadow (their load times the calls per request); `asIf`: one caller's trials sending that instead. */
  shadowDemandRps(service: string, asIf?: { readonly caller: string; readonly rps: number }): number {
    let rps = 0;
    for (const e of this.edges) {
      if (e.to !== service) continue;
      const b = asIf?.caller === e.from ? asIf.rps : (this.borrowed.get(e.from) ?? 0);
      if (b > 0) rps += b * (usedRatio(e, this.learned.get(`${e.from}>${e.to}`)).perRequest ?? 1);
    }
    return rps;
  }

  /** Shadow instances each dependency of `caller` would lend its trials if they sent `rps` (other callers' trials as they are). */
  borrowedIf(caller: string, rps: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.edges) {
      const dep = e.from === caller ? this.services.get(e.to) : undefined;
      if (!dep) continue;
      const demand = this.shadowDemandRps(e.to, { caller, rps });
      out[e.to] = demand > 0 ? Math.ceil(demand / dep.shadowPerInstanceRps() - 1e-9) : 0;
    }
    return out;
  }

  /** The dependencies of `caller` whose shadows cannot yet take what its trials would send, and why; undefined: none. */
  shadowShortfall(caller: string, rps: number, shadowServing: (service: string) => number): string | undefined {
    const short: string[] = [];
    for (const e of this.edges) {
      if (e.from !== caller) continue;
      const dep = this.services.get(e.to);
      if (!dep) continue;
      const serving = shadowServing(e.to);
      const need = Math.max(1, Math.ceil(this.shadowDemandRps(e.to) / dep.shadowPerInstanceRps() - 1e-9));
      if (serving === 0 || (rps > 0 && serving < need)) short.push(`${e.to}'s shadow (${serving} of ${need} instance(s) serving)`);
    }
    return short.length > 0 ? `${short.join(', ')} grows for the load its trial instances send` : undefined;
  }

  view(): EdgeView[] {
    return this.edges.map((e) => {
      const key = `${e.from}>${e.to}`;
      const l = this.learned.get(key);
      const u = usedRatio(e, l);
      return {
        from: e.from,
        to: e.to,
        declared: { perRequest: e.perRequest ?? null, ratio: e.ratio ?? null },
        learned: l ? { perRequest: l.perRequest, windows: l.windows, callerRequests: l.callerRequests } : null,
        used: { perRequest: u.perRequest ?? null, ratio: u.ratio ?? null, source: u.source },
        calls: this.calls.get(key) ?? 0,
      };
    });
  }
}
