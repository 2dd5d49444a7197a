// A/B of strategies in the shadow (docs/design/proof.md, "A/B arms"): two or more shadow arms, each a
// pool of its own sized by its own strategy, all fed the same mirrored sample of live traffic. Live is
// untouched: the arms only ever receive copies, sent by the gateway's mirror apart from the shadow's.
//
// The gateway's mirror draws the arms' sample (shadow.ab.share of the requests, every mutation when
// mutations are mirrored) and sends each request to every arm's balancer, at once (open-loop). Each arm:
// 1. Its balancer: a gateway of its own (the real balancer, its ejection and its measurement), whose
//    members are the arm's instances (pool "shadow", label `ab: <arm>`).
// 2. Every tick: the arm's traffic since the last tick, its instances; ready ones join the balancer,
//    failed ones are replaced. Instance-seconds (requested instances x time), and the SLO per tick: a
//    tick whose p99 or error rate is over the SLO counts its seconds as violation seconds, and its
//    minutes go to the arm's cumulative SLO counts, which the observation carries (the SLO policy's
//    risk follows the arm's own budget, as it follows live's in the live loop).
// 3. Every strategy period: the same observation the live loop makes (core/observe.ts), the arm's share
//    of the demand forecast (the forecast of live demand x the arm's measured share), the strategy, the
//    action bounds scaled to the share; the decision is recorded (service "<service>/ab/<arm>") before
//    it is acted on; creates and deletes are not awaited.
// 4. The A/B is an experiment in the store (kind "ab"), opened with its settings and closed with each
//    arm's figures. A crash leaves it open: the next start deletes every arm instance of the service and
//    closes it as aborted (recoverArms). No orphan.

import type { Forecast, Forecaster } from '../core/forecast.js';
import { meanOf, observeWindow, tickViolatesSlo, trimWindow, weightedQuantile, type WindowPoint } from '../core/observe.js';
import { boundDecision, NO_HISTORY, recordAction, type ActionBounds, type ActionHistory } from '../core/policy.js';
import type { Decision, StrategyName } from '../core/reasons.js';
import type { Observation, Strategy } from '../core/strategy.js';
import type { GatewayControl } from '../gateway/control.js';
import { createGateway, type Gateway } from '../gateway/gateway.js';
import { fitDemandForecast, forecastEvents, type DemandForecastSettings } from '../metrics/demand.js';
import type { Store } from '../metrics/store.js';
import { isProviderError, type Instance, type Provider } from '../providers/provider.js';

export interface ArmSpec {
  readonly name: StrategyName;
  /** Built for the arm's share: its bounds are the arm's (abBounds). */
  readonly strategy: Strategy;
}

export interface AbSettings {
  readonly service: string;
  readonly arms: readonly ArmSpec[];
  /** The configured share of live requests the arms receive (the measured share is used once known). */
  readonly share: number;
  readonly instanceType: string;
  readonly slots: number;
  readonly slo: { readonly latencyP99Ms: number; readonly errorRate: number };
  readonly bounds: ActionBounds;
  readonly initialInstances: number;
  readonly metricWindowSeconds: number;
  readonly staleMetricsSeconds: number;
  readonly tickSeconds: number;
  /** Demand forecasts for the arms' strategies that use one (fitted on live demand, scaled by the share). */
  readonly forecast?: { readonly settings: DemandForecastSettings; readonly forecaster: Forecaster; readonly horizonSeconds: number };
  readonly requestTimeoutMs: number;
}

export interface AbDeps {
  readonly provider: Provider;
  readonly gateway: GatewayControl;
  readonly store: Store;
  readonly now: () => number;
  readonly onEvent?: (kind: 'ab_decision' | 'ab_action_failed', detail: string) => void;
}

/** Each arm's figures, side by side (`demo --ab` prints them as `ab`). */
export interface ArmSummary {
  readonly sloViolationSeconds: number;
  readonly p99Ms: number;
  readonly instanceSeconds: number;
  /** Decisions that changed the arm's pool. */
  readonly actions: number;
  readonly requests: number;
  readonly errors: number;
  readonly maxInstances: number;
  /** Instances requested now. */
  readonly instances: number;
  /** When each violating tick ended (ms since the epoch). */
  readonly violationsAt: readonly number[];
}

/** The bounds of an arm receiving `share` of the traffic: the pool's, scaled, at least one instance. */
export function abBounds(b: ActionBounds, share: number): ActionBounds {
  const minInstances = Math.max(1, Math.ceil(b.minInstances * share - 1e-9));
  return { ...b, minInstances, maxInstances: Math.max(minInstances, Math.ceil(b.maxInstances * share - 1e-9)), maxStepUp: Math.max(1, Math.ceil(b.maxStepUp * share - 1e-9)), maxStepDown: Math.max(1, Math.ceil(b.maxStepDown * share - 1e-9)) };
}

/** A forecast of live demand as an arm sees it: every point x share. */
export function scaleForecast(f: Forecast, share: number): Forecast {
  return { ...f, mean: f.mean.map((v) => v * share), lower: f.lower.map((v) => v * share), upper: f.upper.map((v) => v * share) };
}

export const abService = (service: string, arm: string): string => `${service}/ab/${arm}`;

class Arm {
  gateway: Gateway | undefined;
  url = '';
  readonly members = new Set<string>();
  readonly window: WindowPoint[] = [];
  readonly liveWindow: { at: number; requests: number }[] = [];
  readonly pending = new Set<string>();
  readonly deleting = new Set<string>();
  actions: ActionHistory = NO_HISTORY;
  lastDecisionAt = Number.NEGATIVE_INFINITY;
  lastSenseAt = Number.NEGATIVE_INFINITY;
  target: number;
  seq = 0;
  violationSeconds = 0;
  instanceSeconds = 0;
  changes = 0;
  requests = 0;
  errors = 0;
  maxInstances = 0;
  instances = 0;
  violationsAt: number[] = [];
  /** Minutes of the arm's traffic judged against the SLO and those violated, cumulative (never reset): the SLO policy's risk follows them as in the live loop. */
  sloJudged = 0;
  sloViolated = 0;
  readonly latency = new Map<number, number>();
  constructor(
    readonly spec: ArmSpec,
    initial: number,
  ) {
    this.target = initial;
  }
}

export class AbArms {
  private readonly arms: Arm[];
  private forecast: Forecast | undefined;
  private lastFitAt = Number.NEGATIVE_INFINITY;
  private lastTickAt = Number.NaN;
  private readonly id: string;
  private closed = false;

  constructor(
    readonly s: AbSettings,
    private readonly d: AbDeps,
  ) {
    this.arms = s.arms.map((a) => new Arm(a, s.initialInstances));
    this.id = `${s.service}-ab-${d.now().toString(36)}`;
  }

  /** Each arm's balancer listens, the mirror sends to them, and the A/B is on record. */
  async start(): Promise<void> {
    const s = this.s;
    this.d.store.startExperiment({ id: this.id, service: s.service, kind: 'ab', startedAt: this.d.now(), config: { arms: s.arms.map((a) => a.name), share: s.share, instanceType: s.instanceType, initialInstances: s.initialInstances, bounds: s.bounds } });
    for (const a of this.arms) {
      a.gateway = createGateway({ live: [], requestTimeoutMs: s.requestTimeoutMs });
      a.url = `http://127.0.0.1:${(await a.gateway.listen(0, '127.0.0.1', `A/B arm ${a.spec.name}`)).port}`;
    }
    await this.d.gateway.setArmTargets(this.arms.map((a) => a.url));
    // Each arm starts at the live pool's size for its share; the first ticks take them in when ready.
    for (const a of this.arms) this.create(a, a.target, `i${this.d.now().toString(36)}`);
  }

  /** One tick of every arm (`liveRps`: live's rate over the tick, for the arms' share): sense, reconcile, account, and every strategy period decide and act. */
  async tick(liveRps: number): Promise<void> {
    if (this.closed) return;
    const now = this.d.now();
    const s = this.s;
    const dt = Number.isFinite(this.lastTickAt) ? Math.max(1e-3, (now - this.lastTickAt) / 1000) : s.tickSeconds;
    this.lastTickAt = now;
    const listed = (await this.d.provider.list({ service: s.service })).filter((i) => i.labels.ab !== undefined);
    if (s.forecast && this.arms.some((a) => a.spec.name !== 'reactive') && now - this.lastFitAt >= s.forecast.settings.refitSeconds * 1000) {
      // The known events as the live loop's forecasts have them (the configuration's and those declared at run time).
      const events = forecastEvents(this.d.store, s.service, s.forecast.settings.events ?? [], now);
      this.forecast = fitDemandForecast(this.d.store, s.service, { ...s.forecast.settings, events }, s.forecast.forecaster, now, s.forecast.horizonSeconds) ?? this.forecast;
      this.lastFitAt = now;
    }
    for (const a of this.arms) await this.tickArm(a, listed.filter((i) => i.labels.ab === a.spec.name), Number.isFinite(liveRps) ? liveRps * dt : 0, now, dt);
  }

  private async tickArm(a: Arm, mine: Instance[], liveRequests: number, now: number, dt: number): Promise<void> {
    const s = this.s;
    const g = a.gateway as Gateway;
    const traffic = g.metrics.takeIntervalView().live;
    const up = mine.filter((i) => i.state !== 'failed' && i.state !== 'draining' && !a.deleting.has(i.id));
    const ready = up.filter((i) => i.state === 'ready');
    // 1. The balancer's members are the arm's ready instances.
    for (const i of ready) {
      if (!a.members.has(i.id)) {
        g.addLive(i.url, 1, i.id);
        a.members.add(i.id);
      }
    }
    const keep = new Set(ready.map((i) => i.id));
    for (const id of [...a.members]) {
      if (!keep.has(id)) {
        a.members.delete(id);
        void g.removeLive(id);
      }
    }
    for (const i of mine.filter((x) => x.state === 'failed' && !a.deleting.has(x.id))) this.remove(a, i);
    for (const id of [...a.pending]) if (mine.some((i) => i.id === id)) a.pending.delete(id);
    // 2. Accounting and the SLO, per tick.
    const requested = up.length + a.pending.size;
    a.instanceSeconds += requested * dt;
    a.maxInstances = Math.max(a.maxInstances, requested);
    a.instances = requested;
    if (traffic.requests > 0) {
      a.requests += traffic.requests;
      a.errors += traffic.errors;
      for (const [v, c] of traffic.buckets) a.latency.set(v, (a.latency.get(v) ?? 0) + c);
      a.sloJudged += dt / 60;
      if (tickViolatesSlo({ requests: traffic.requests, errors: traffic.errors, p99Ms: traffic.latencyMs.p99 }, s.slo)) {
        a.violationSeconds += dt;
        a.violationsAt.push(now);
        a.sloViolated += dt / 60;
      }
    }
    const lat = meanOf(traffic.buckets);
    a.window.push({ at: now, requests: traffic.requests, latencySumMs: lat.n ? lat.mean * lat.n : 0, ready: ready.length });
    a.liveWindow.push({ at: now, requests: liveRequests });
    trimWindow(a.window, now, s.metricWindowSeconds * 1000);
    trimWindow(a.liveWindow, now, s.metricWindowSeconds * 1000);
    if (traffic.requests > 0 || ready.length > 0) a.lastSenseAt = now;
    // Repair: the pool is refilled to its target.
    if (requested < a.target) this.create(a, a.target - requested, `r${now.toString(36)}`);
    // 3. Decide.
    const period = a.spec.strategy.periodSeconds * 1000;
    if (now - a.lastDecisionAt < period - 1) return;
    a.lastDecisionAt = now;
    const { demandRps, utilization } = observeWindow(a.window, now, dt, s.slots, ready.length);
    // Requested now: running, starting, and created by the repair above.
    const current = up.length + a.pending.size;
    const obs: Observation = { now: now / 1000, current, ready: ready.length, utilization, demandRps, metricsFresh: now - a.lastSenseAt <= s.staleMetricsSeconds * 1000, sloJudged: a.sloJudged, sloViolated: a.sloViolated };
    const armReq = a.window.reduce((x, w) => x + w.requests, 0);
    const liveReq = a.liveWindow.reduce((x, w) => x + w.requests, 0);
    const share = liveReq >= 100 ? armReq / liveReq : s.share;
    const raw = a.spec.strategy.decide(obs, this.forecast ? scaleForecast(this.forecast, share) : undefined);
    const bounded: Decision = boundDecision(raw, obs, s.bounds, a.actions);
    // Recorded before it is acted on, apart from the live service's decisions.
    a.seq = this.d.store.addDecision(abService(s.service, a.spec.name), { ...raw, numbers: { ...raw.numbers, share } }, bounded.desired, bounded.reason !== raw.reason || bounded.desired !== raw.desired ? bounded.reason : null);
    this.d.onEvent?.('ab_decision', `${a.spec.name}: ${bounded.reason} ${current} -> ${bounded.desired}`);
    a.target = bounded.desired;
    if (bounded.desired === current) return;
    a.changes++;
    a.actions = recordAction(a.actions, obs.now, current, bounded.desired);
    if (bounded.desired > current) this.create(a, bounded.desired - current, `d${a.seq}`);
    else {
      const victims = [...up].sort((x, y) => (x.state === y.state ? y.createdAt - x.createdAt : x.state === 'starting' ? -1 : 1)).slice(0, current - bounded.desired);
      for (const v of victims) this.remove(a, v);
    }
  }

  private create(a: Arm, count: number, tag: string): void {
    for (let k = 0; k < count; k++) {
      const id = `${this.s.service}-ab-${a.spec.name}-${tag}-${k}`;
      if (a.pending.has(id)) continue;
      a.pending.add(id);
      this.d.provider.create({ id, service: this.s.service, pool: 'shadow', instanceType: this.s.instanceType, labels: { ab: a.spec.name } }).catch((err: unknown) => {
        a.pending.delete(id);
        this.d.onEvent?.('ab_action_failed', `create ${id}: ${(err as Error).message}`);
      });
    }
  }

  /** Drained from the arm's balancer first (its requests in flight finish), then deleted; not awaited. */
  private remove(a: Arm, i: Instance): void {
    if (a.deleting.has(i.id)) return;
    a.deleting.add(i.id);
    a.members.delete(i.id);
    (a.gateway as Gateway)
      .removeLive(i.id)
      .then(() => this.d.provider.delete(i.id))
      .catch((err: unknown) => {
        if (!isProviderError(err, 'not_found')) this.d.onEvent?.('ab_action_failed', `delete ${i.id}: ${(err as Error).message}`);
      })
      .finally(() => a.deleting.delete(i.id));
  }

  /** Each arm's instances requested now (for status lines: no figures computed). */
  sizes(): Record<string, number> {
    return Object.fromEntries(this.arms.map((a) => [a.spec.name, a.instances]));
  }

  /** Each arm's figures so far. */
  summary(): Record<string, ArmSummary> {
    const out: Record<string, ArmSummary> = {};
    for (const a of this.arms) {
      const p99 = weightedQuantile([...a.latency].sort((x, y) => x[0] - y[0]), 0.99);
      out[a.spec.name] = {
        sloViolationSeconds: Math.round(a.violationSeconds),
        p99Ms: Number.isFinite(p99) ? Math.round(p99 * 10) / 10 : 0,
        instanceSeconds: Math.round(a.instanceSeconds),
        actions: a.changes,
        requests: a.requests,
        errors: a.errors,
        maxInstances: a.maxInstances,
        instances: a.instances,
        violationsAt: [...a.violationsAt],
      };
    }
    return out;
  }

  /** Start the figures afresh (the demo's day starts): the pools stay as they are. */
  resetFigures(): void {
    for (const a of this.arms) {
      a.violationSeconds = 0;
      a.instanceSeconds = 0;
      a.changes = 0;
      a.requests = 0;
      a.errors = 0;
      a.maxInstances = a.instances;
      a.violationsAt = [];
      a.latency.clear();
    }
  }

  /** The arms stop: the mirror stops sending to them, their instances are deleted, the A/B is closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.d.gateway.setArmTargets([]).catch(() => undefined);
    const mine = (await this.d.provider.list({ service: this.s.service })).filter((i) => i.labels.ab !== undefined);
    await Promise.all(mine.map((i) => this.d.provider.delete(i.id).catch(() => undefined)));
    await Promise.all(this.arms.map((a) => a.gateway?.close()));
    try {
      this.d.store.finishExperiment(this.id, this.d.now(), 'done', { arms: this.summary() });
    } catch {
      // A failed store: the next start closes the experiment as aborted.
    }
  }
}

/**
 * Finish the A/B a crash left open: every arm instance of the service is deleted (already gone is fine)
 * and open "ab" experiments are closed as aborted. Returns how many instances were deleted.
 */
export async function recoverArms(store: Store, provider: Provider, service: string, now: () => number): Promise<number> {
  const mine = (await provider.list({ service })).filter((i) => i.labels.ab !== undefined);
  for (const i of mine) await provider.delete(i.id).catch((err: unknown) => (isProviderError(err, 'not_found') ? undefined : Promise.reject(err)));
  for (const e of store.experiments({ service, kind: 'ab', open: true })) store.finishExperiment(e.id, now(), 'aborted', { recovered: true, instances: mine.map((i) => i.id) });
  return mine.length;
}
