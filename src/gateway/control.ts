// What the admin API (and the control loop) can read and change in a gateway, whether it is one
// process (`localControl`) or a cluster of worker processes (`ClusterGateway` in cluster.ts, which
// merges the workers' measurements and applies every change to all of them).

import type { LiveMember, ServiceGateway } from './gateway.js';
import { MIRROR_COUNTERS, REPLAY_LIMITS, type MirrorStats, type ReplayRequest, type RequestMetadata } from './mirror.js';
import { TrafficMetrics, type IntervalView, type TrafficDump, type TrafficSnapshot } from './metrics.js';

export interface MemberView {
  id: string;
  url: string;
  weight: number;
  healthy: boolean;
  outstanding: number;
  requests: number;
}

export type MirrorView = MirrorStats & { rate: number };

export interface MetadataView {
  records: RequestMetadata[];
  total: number;
  recordDropped: number;
}

export interface StatsView {
  traffic: TrafficSnapshot;
  mirror: MirrorView;
  live: MemberView[];
  errors: Record<string, number>;
  /** Requests by calling service (GatewayStats.callers). */
  callers: Record<string, number>;
  /** Worker processes serving traffic (1 without a cluster). */
  workers: number;
}

export interface GatewayControl {
  metrics(): Promise<{ contentType: string; text: string }>;
  stats(): Promise<StatsView>;
  members(): Promise<MemberView[]>;
  /** Add a live member (with the caller's id, e.g. the instance id, when given). */
  addLive(url: string, weight: number, id?: string): Promise<MemberView>;
  /** undefined when there is no such member. */
  setWeight(id: string, weight: number): Promise<MemberView | undefined>;
  /** Start draining a member (it leaves once its in-flight requests finish); false when unknown. */
  drain(id: string): boolean | Promise<boolean>;
  /**
   * Drain a member and resolve once its in-flight requests have finished (every worker's) and it has left:
   * what must happen before its instance is stopped. False when unknown.
   */
  drainAndWait(id: string): Promise<boolean>;
  setRate(rate: number): Promise<number>;
  metadata(): Promise<MetadataView>;
  /** The recent mirrored requests (as sent to the shadow: scrubbed in scrubbed mode), oldest first, bounded by REPLAY_LIMITS. */
  recentRequests(): Promise<ReplayRequest[]>;
  /** Traffic since the previous call, per pool (one reader: the control loop). */
  interval(): Promise<IntervalView>;
  /** Replace the shadow pool's targets. */
  setShadowTargets(urls: readonly string[]): Promise<void>;
  shadowTargets(): Promise<readonly string[]>;
  /** Replace the A/B arms (src/proof/ab.ts): each URL receives every request sampled for the arms. */
  setArmTargets(urls: readonly string[]): Promise<void>;
  /** Instances fed sampled reads before they serve (warming live instances, the warm pool); answers discarded. */
  setWarmTargets(urls: readonly string[]): Promise<void>;
  /**
   * The versioned sync of a stateful shadow (docs/design/live-loop.md): from now on its mutations wait;
   * per origin (a process of the gateway), the lowest sequence number that may still reach it.
   */
  beginSync(url: string): Promise<Record<string, number>>;
  /** The snapshot is in the shadow: release its waiting mutations except those the snapshot contains. */
  finishSync(url: string, applied: Readonly<Record<string, readonly number[]>>): Promise<SyncRelease>;
  /** Give a sync up (its waiting mutations dropped); how many were dropped. */
  abortSync(url: string): Promise<number>;
  /** Reopen the metadata record file by its name (every worker's); false when none is written. */
  reopenRecord(): Promise<boolean>;
}

export interface SyncRelease {
  /** Mutations sent to the shadow after its snapshot, and those skipped because the snapshot had them. */
  readonly released: number;
  readonly skipped: number;
  /** Too many waited (SYNC_BUFFER_LIMIT): nothing released, sync again. */
  readonly overflowed: boolean;
}

export function memberView(m: LiveMember): MemberView {
  return { id: m.id, url: m.url, weight: m.weight, healthy: m.healthy, outstanding: m.outstanding, requests: m.requests };
}

/** One process's state in transferable form: what a cluster worker reports to the primary. */
export interface WorkerReport {
  traffic: TrafficDump;
  mirror: MirrorView;
  live: MemberView[];
  errors: Record<string, number>;
  callers: Record<string, number>;
}

export function workerReport(g: Pick<ServiceGateway, 'members' | 'mirror' | 'metrics' | 'stats'>): WorkerReport {
  return { traffic: g.metrics.dump(), mirror: g.mirror.snapshot(), live: g.members.map(memberView), errors: { ...g.stats.errors }, callers: { ...g.stats.callers } };
}

/** Merge the reports of several processes into one view: counts add, histograms merge exactly. */
export function mergeReports(reports: readonly WorkerReport[], now: () => number): { metrics: TrafficMetrics; stats: StatsView } {
  const metrics = new TrafficMetrics(now);
  for (const r of reports) metrics.absorb(r.traffic);
  const mirror: MirrorView = { sampled: 0, mirrored: 0, dropped: 0, failed: 0, inFlight: 0, queued: 0, armSampled: 0, armSent: 0, armFailed: 0, armDropped: 0, warmSent: 0, warmFailed: 0, warmDropped: 0, rate: reports[0]?.mirror.rate ?? 0 };
  const errors: Record<string, number> = {};
  const callers = Object.create(null) as Record<string, number>;
  const live = new Map<string, MemberView>();
  for (const r of reports) {
    for (const k of MIRROR_COUNTERS) mirror[k] += r.mirror[k] ?? 0;
    for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.callers ?? {})) callers[k] = (callers[k] ?? 0) + v;
    for (const m of r.live) {
      const seen = live.get(m.id);
      // A member is reported healthy only when every worker routes to it.
      if (seen) live.set(m.id, { ...seen, healthy: seen.healthy && m.healthy, outstanding: seen.outstanding + m.outstanding, requests: seen.requests + m.requests });
      else live.set(m.id, { ...m });
    }
  }
  return { metrics, stats: { traffic: metrics.snapshot(), mirror, live: [...live.values()], errors, callers: { ...callers }, workers: reports.length } };
}

/** The control of a gateway running in this process (its own listener's, or one service's behind a routed front end). */
export function localControl(g: Pick<ServiceGateway, 'members' | 'mirror' | 'metrics' | 'stats' | 'addLive' | 'removeLive'>): GatewayControl {
  return {
    metrics: async () => ({ contentType: g.metrics.registry.contentType, text: await g.metrics.registry.metrics() }),
    stats: () => Promise.resolve({ traffic: g.metrics.snapshot(), mirror: g.mirror.snapshot(), live: g.members.map(memberView), errors: { ...g.stats.errors }, callers: { ...g.stats.callers }, workers: 1 }),
    members: () => Promise.resolve(g.members.map(memberView)),
    addLive: (url, weight, id) => Promise.resolve(memberView(g.addLive(url, weight, id))),
    setWeight: (id, weight) => {
      const m = g.members.find((x) => x.id === id);
      if (m) m.weight = weight;
      return Promise.resolve(m && memberView(m));
    },
    drain: (id) => {
      if (!g.members.some((x) => x.id === id)) return false;
      void g.removeLive(id);
      return true;
    },
    drainAndWait: (id) => (g.members.some((x) => x.id === id) ? g.removeLive(id) : Promise.resolve(false)),
    setRate: (rate) => Promise.resolve(g.mirror.setRate(rate)),
    metadata: () => Promise.resolve(g.mirror.metadata()),
    recentRequests: () => Promise.resolve(g.mirror.recent().requests),
    interval: () => {
      const m = g.mirror.snapshot();
      return Promise.resolve({ ...g.metrics.takeIntervalView(), mirrorPending: m.queued + m.inFlight, liveMutationsOpen: g.metrics.liveMutationsOpen });
    },
    setShadowTargets: (urls) => Promise.resolve(g.mirror.setTargets(urls)),
    shadowTargets: () => Promise.resolve(g.mirror.getTargets()),
    setArmTargets: (urls) => Promise.resolve(g.mirror.setArms(urls)),
    setWarmTargets: (urls) => Promise.resolve(g.mirror.setWarmTargets(urls)),
    beginSync: (url) => Promise.resolve(g.mirror.beginSync(url)),
    finishSync: (url, applied) => Promise.resolve(g.mirror.finishSync(url, applied)),
    abortSync: (url) => Promise.resolve(g.mirror.abortSync(url)),
    reopenRecord: async () => g.mirror.reopenRecord(),
  };
}

/** Replay requests in a form that crosses a worker's IPC channel (JSON): bodies as base64. */
export interface ReplayWire {
  readonly method: string;
  readonly path: string;
  readonly body?: string;
}

export const toWire = (rs: readonly ReplayRequest[]): ReplayWire[] => rs.map((r) => (r.body ? { method: r.method, path: r.path, body: r.body.toString('base64') } : { method: r.method, path: r.path }));

/** Several workers' requests in one ring: their newest, at most REPLAY_LIMITS.requests and its body bytes. */
export function fromWire(parts: readonly (readonly ReplayWire[])[]): ReplayRequest[] {
  // Interleaved from the newest end, so that every worker's recent traffic is in.
  const out: ReplayRequest[] = [];
  let bytes = 0;
  const longest = Math.max(0, ...parts.map((p) => p.length));
  for (let k = 1; k <= longest && out.length < REPLAY_LIMITS.requests; k++) {
    for (const p of parts) {
      const w = p[p.length - k];
      if (!w || out.length >= REPLAY_LIMITS.requests) continue;
      const body = w.body !== undefined && bytes < REPLAY_LIMITS.bodyBytes ? Buffer.from(w.body, 'base64') : undefined;
      bytes += body?.length ?? 0;
      out.push(body ? { method: w.method, path: w.path, body } : { method: w.method, path: w.path });
    }
  }
  return out.reverse();
}

/**
 * A service's control whose shadow targets are also the members of its part of the shadow router (the
 * loopback listener its callers' shadow and trial instances reach it through): a shadow gets calls from
 * other shadows once it is a mirror target (synced, for a stateful service), and none after it leaves.
 */
export function routeShadowsToo(control: GatewayControl, shadowRoute: Pick<ServiceGateway, 'members' | 'addLive' | 'removeLive'>): GatewayControl {
  return {
    ...control,
    setShadowTargets: async (urls) => {
      await control.setShadowTargets(urls);
      const want = new Set(urls);
      for (const m of [...shadowRoute.members]) if (!want.has(m.url)) void shadowRoute.removeLive(m.id);
      const have = new Set(shadowRoute.members.map((m) => m.url));
      for (const u of urls) if (!have.has(u)) shadowRoute.addLive(u, 1, u);
    },
  };
}

/**
 * A gateway whose traffic measurements come from elsewhere (metrics.source prometheus): every method of
 * `control` but `interval`, which `interval` replaces (the gateway still routes, mirrors and drains).
 */
export function intervalFrom(control: GatewayControl, interval: () => Promise<IntervalView>): GatewayControl {
  return new Proxy(control, {
    get(target, key) {
      if (key === 'interval') return interval;
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
