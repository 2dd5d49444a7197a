// A version rollout (docs/design/switchover.md, "Version rollouts"): a new version of the service reaches
// production through the shadow. The loop hosts it (one at a time per service) and calls tick() once per
// loop tick; the decision logic is core/rollout.ts and core/switchover.ts.
//
// 1. shadow: the shadow pool moves to the new version (the loop's repair replaces its instances, state
//    copied for a stateful service); once every shadow instance runs it, delta analysis compares it with
//    live window by window: `shadowWindows` matching windows in a row move on, `maxFailedWindows` worse
//    ones in a row (latency at comparable load, errors), too little traffic, a crashing version or a
//    timeout stop the rollout here: live never saw the new version.
// 2. capacity: a trial on the shadow (src/proof/trial.ts, the new version's instance) measures its
//    capacity per instance at the SLO; a drop beyond `maxCapacityLoss` stops the rollout; otherwise the new
//    live group is sized for it (pre-scaled when it needs more instances than the old).
// 3. shifting: the new group is created beside the old (not in the balancer), waits until ready and past
//    its type's warm-up, then takes a share of the traffic that grows step by step (replace mode of
//    core/switchover.ts), each step judged against the old group (control/judge.ts). `threshold` failed
//    checks or a failed new instance roll back: its weights go to 0 at once, its instances are drained
//    and deleted, the shadow goes back. Promotion: the new group takes full weights and becomes the
//    live version, the old group is drained (in-flight requests finish) and deleted.
//
// Every outcome is recorded (a decision and the rollout's experiment record) before it is acted on. The
// record is opened before anything moves: a control plane killed mid-rollout finds it open at restart and
// rolls back (recoverRollouts): the new version's instances are not the live version, so they are drained
// out once the old pool serves, and the shadow returns to the live version.

import { capacityPlan, judgeShadowWindow, NO_JUDGEMENT, type MeasuredCapacity, type RolloutOutcome, type RolloutPhase, type RolloutSettings, type RolloutStop, type ShadowJudgement } from '../core/rollout.js';
import type { DeltaResult } from '../core/delta.js';
import type { Reason, StrategyName } from '../core/reasons.js';
import { shiftWeights, startShift, stepShift, type ShiftCheck, type ShiftSettings, type ShiftState } from '../core/switchover.js';
import type { GatewayControl } from '../gateway/control.js';
import type { IntervalView } from '../gateway/metrics.js';
import type { Store } from '../metrics/store.js';
import { versionOf, type Instance, type Provider } from '../providers/provider.js';
import { emptyWindow, judgeGroups, mergeIntervals, type GroupWindow } from './judge.js';
import { weightedQuantile } from '../core/observe.js';

export interface RolloutConfig extends RolloutSettings {
  readonly capacityTrial: boolean;
  readonly shadowTimeoutSeconds: number;
  /** The switchover's steps (scaling.switchover); in replace mode promotion comes at most at 100 - stepWeight. */
  readonly shift: ShiftSettings;
}

/**
 * A move of the live pool to another instance type (a proven type change, or delta analysis's vertical
 * action) through the same shift: no shadow phase (a proof, or live's confirmed degradation, chose it),
 * `count` instances of `toType` beside the old, judged against them with each group's own capacity model.
 */
export interface TypeMove {
  readonly fromType: string;
  readonly toType: string;
  /** The target before the move (what a rollback, or a restart mid-move, keeps). */
  readonly fromTarget: number;
  readonly count: number;
  readonly perInstanceRps: number;
  readonly slots: number;
  readonly serviceTimeSeconds: number;
  readonly warmupSeconds: number;
  /** What chose it: `decision N` or `delta analysis`. */
  readonly why: string;
}

/** A capacity trial of a version around a rate per instance (the runtime runs src/proof/trial.ts). */
export type MeasureCapacity = (version: string, perInstanceRps: number, signal: AbortSignal) => Promise<MeasuredCapacity & { readonly trial: string }>;

/** What the rollout needs of the loop that hosts it. */
export interface RolloutHost {
  readonly service: string;
  readonly provider: Provider;
  readonly gateway: GatewayControl;
  readonly store: Store;
  now(): number;
  emit(detail: string, numbers?: Record<string, number>): void;
  /** Record a decision (the target unchanged unless `target` is given); its sequence number. */
  record(reason: Reason, numbers: Record<string, number>, target?: number): number;
  /** The loop's live pool now. */
  live(): { version: string; type: string; target: number; perInstanceRps: number; minInstances: number; maxInstances: number; slots: number; serviceTime: number; members: ReadonlySet<string>; warmupSeconds: number; readyTimeoutSeconds: number };
  delta(): import('../core/delta.js').DeltaSettings;
  /** The shadow pool moves to `version` (its other instances are replaced). */
  setShadowVersion(version: string): void;
  /** Whether a shadow instance still waits for its state copy. */
  needsSync(id: string): boolean;
  /** The new group becomes the live pool: version, members (already in the balancer), target and capacity (and type, after a type move). */
  adopt(version: string, ids: readonly string[], target: number, perInstanceRps: number, type?: string): void;
  remove(i: Instance, why: string): void;
  measureCapacity?: MeasureCapacity;
}

/** A rollout as the API and the CLI show it. */
export interface RolloutView {
  readonly id: string;
  /** `version`: a version rollout (through the shadow); `type`: a move to another instance type (the shift only). */
  readonly kind: 'version' | 'type';
  readonly from: string;
  readonly to: string;
  /** A type move's instance types (the version stays: `from` = `to`). */
  readonly fromType?: string;
  readonly toType?: string;
  readonly phase: RolloutPhase;
  readonly startedAt: number;
  readonly finishedAt?: number;
  readonly outcome?: RolloutOutcome;
  readonly stop?: RolloutStop;
  /** Why it stopped or rolled back, in words. */
  readonly why?: string;
  readonly shadow: ShadowJudgement & { readonly readyAt?: number };
  readonly capacity?: { readonly trial?: string; readonly perInstanceRps?: number; readonly ratio: number; readonly count?: number };
  readonly shift?: { readonly weight: number; readonly checks: number; readonly failedChecks: number; readonly newInstances: number };
  /** p99 of the requests the new group served during the shift, and of the old group's (ms). */
  readonly newInstanceP99Ms?: number;
  readonly oldInstanceP99Ms?: number;
  /** From the first failed check of the shift to the new group's weights at 0 (s). */
  readonly rollbackSeconds?: number;
}

export const ROLLOUT_KIND = 'rollout';

export class Rollout {
  private phase: RolloutPhase = 'shadow';
  private judgement: ShadowJudgement = NO_JUDGEMENT;
  private shadowReadyAt: number | undefined;
  private readonly failedShadows = new Set<string>();
  private trial: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private capacity: RolloutView['capacity'];
  private count = 0;
  private perInstanceRps = 0;
  private readonly ids: string[] = [];
  private shift: ShiftState | undefined;
  private window: GroupWindow = emptyWindow();
  private readonly newServed: GroupWindow = emptyWindow();
  private firstFailedAt: number | undefined;
  private finished: { at: number; outcome: RolloutOutcome; stop?: RolloutStop; why?: string; rollbackSeconds?: number } | undefined;
  private readonly startedAt: number;
  private shiftRequestedAt = 0;
  private lastMetric: 'latency' | 'errors' | undefined;

  constructor(
    private readonly h: RolloutHost,
    readonly id: string,
    readonly from: string,
    readonly to: string,
    private readonly c: RolloutConfig,
    by: string,
    readonly move?: TypeMove,
  ) {
    this.startedAt = h.now();
    // On record before anything moves (a restart finds it open and rolls back).
    h.store.startExperiment({ id, service: h.service, kind: ROLLOUT_KIND, startedAt: this.startedAt, config: { from, to, by, settings: c, ...(move ? { move } : {}) } });
    if (move) {
      // The decision that chose the type is on record (proven_type_change, or the vertical move's).
      h.emit(`type move ${id}: ${move.fromType} -> ${move.toType} (${move.why}): ${move.count} instance(s) of ${move.toType} start beside the old ones and take traffic in steps`, { count: move.count });
      this.startShift(move.count, move.perInstanceRps, this.startedAt);
      return;
    }
    h.record('rollout_started', { shadowWindows: c.shadowWindows });
    h.emit(`rollout ${id}: ${from} -> ${to}; the shadow runs ${to} first`);
    h.setShadowVersion(to);
  }

  /** Words for events: what moves. */
  private get what(): string {
    return this.move ? `type move ${this.id}` : `rollout ${this.id}`;
  }

  /** The new group's and the old group's names (versions, or instance types for a move). */
  private get names(): { from: string; to: string } {
    return this.move ? { from: this.move.fromType, to: this.move.toType } : { from: this.from, to: this.to };
  }

  /** Whether this rollout manages a live instance (its new group). */
  owns(id: string): boolean {
    return this.ids.includes(id);
  }

  get done(): boolean {
    return this.finished !== undefined;
  }

  view(): RolloutView {
    const f = this.finished;
    const p99 = (w: GroupWindow['newWindow']): number | undefined => {
      const m = mergeIntervals(w);
      return m.requests > 0 ? weightedQuantile([...m.latencyMs].sort((a, b) => a[0] - b[0]), 0.99) : undefined;
    };
    const newP99 = p99(this.newServed.newWindow);
    const oldP99 = p99(this.newServed.oldWindow);
    return {
      id: this.id,
      kind: this.move ? 'type' : 'version',
      from: this.from,
      to: this.to,
      ...(this.move ? { fromType: this.move.fromType, toType: this.move.toType } : {}),
      phase: this.phase,
      startedAt: this.startedAt,
      ...(f ? { finishedAt: f.at, outcome: f.outcome, ...(f.stop ? { stop: f.stop } : {}), ...(f.why ? { why: f.why } : {}), ...(f.rollbackSeconds !== undefined ? { rollbackSeconds: f.rollbackSeconds } : {}) } : {}),
      shadow: { ...this.judgement, ...(this.shadowReadyAt !== undefined ? { readyAt: this.shadowReadyAt } : {}) },
      ...(this.capacity ? { capacity: this.capacity } : {}),
      ...(this.shift ? { shift: { weight: this.shift.weight, checks: this.shift.checks, failedChecks: this.shift.failedChecks, newInstances: this.ids.length } } : {}),
      ...(newP99 !== undefined ? { newInstanceP99Ms: newP99 } : {}),
      ...(oldP99 !== undefined ? { oldInstanceP99Ms: oldP99 } : {}),
    };
  }

  /** One loop tick: `window` is a delta-analysis window of shadow against live that ended this tick (started at `startedAt`). */
  async tick(now: number, dt: number, all: readonly Instance[], members: IntervalView['members'], window?: { result: DeltaResult; startedAt: number }): Promise<void> {
    if (this.finished) return;
    // In the capacity phase the trial runs in the background; planned() moves on.
    if (this.phase === 'shadow') this.tickShadow(now, all, window);
    else if (this.phase === 'shifting') await this.tickShift(now, dt, all, members);
  }

  private tickShadow(now: number, all: readonly Instance[], window?: { result: DeltaResult; startedAt: number }): void {
    const c = this.c;
    if (now - this.startedAt > c.shadowTimeoutSeconds * 1000) return this.stopInShadow('timeout', `the shadow did not run ${this.to} and judge it within ${c.shadowTimeoutSeconds} s`);
    const shadows = all.filter((i) => i.pool === 'shadow' && i.labels.trial === undefined && i.labels.ab === undefined);
    for (const i of shadows) if (i.state === 'failed' && versionOf(i) === this.to) this.failedShadows.add(i.id);
    if (this.failedShadows.size >= 2) return this.stopInShadow('unhealthy', `${this.failedShadows.size} shadow instances of ${this.to} failed (${shadows.find((i) => i.state === 'failed')?.failure ?? 'see their events'})`);
    if (this.shadowReadyAt === undefined) {
      const up = shadows.filter((i) => i.state !== 'failed' && i.state !== 'draining');
      // Ready, synced and past the type's warm-up: a cold shadow would be judged slower than live for its cold start.
      const warmMs = this.h.live().warmupSeconds * 1000;
      if (up.length > 0 && up.every((i) => versionOf(i) === this.to && i.state === 'ready' && !this.h.needsSync(i.id) && now - (i.readyAt ?? now) >= warmMs)) {
        this.shadowReadyAt = now;
        this.h.emit(`rollout ${this.id}: the shadow runs ${this.to} (${up.length} instance(s)); delta analysis judges it against live`, { shadowInstances: up.length });
      }
      return;
    }
    // Windows that began before every shadow ran the new version mix the two: not judged.
    if (!window || window.startedAt < this.shadowReadyAt) return;
    const r = judgeShadowWindow(this.judgement, window.result.verdict, window.result.metric, c);
    this.judgement = r.state;
    this.h.emit(`rollout ${this.id}: shadow window ${window.result.verdict} (${r.state.passed}/${c.shadowWindows} passed in a row)`, { ...window.result.numbers });
    if (r.outcome === 'failed') return this.stopInShadow(r.state.metric ?? 'latency', `${this.to} on the shadow was worse than live (${r.state.metric ?? 'latency'}) for ${r.state.failed} windows in a row`, window.result.numbers);
    if (r.outcome === 'no_traffic') return this.stopInShadow('no_traffic', `${r.state.inconclusive} windows in a row without enough mirrored traffic to judge ${this.to}`);
    if (r.outcome !== 'passed') return;
    const live = this.h.live();
    if (c.capacityTrial && this.h.measureCapacity) {
      this.phase = 'capacity';
      this.h.emit(`rollout ${this.id}: ${this.to} matched live on the shadow; a trial measures its capacity around ${live.perInstanceRps.toFixed(1)} req/s per instance`);
      const measure = this.h.measureCapacity;
      this.trial = measure(this.to, live.perInstanceRps, this.abort.signal).then(
        (m) => this.planned(m),
        (err: unknown) => {
          if (!this.finished) this.stopInShadow('capacity', `the capacity trial of ${this.to} did not run: ${(err as Error).message}`);
        },
      );
    } else this.startShift(live.target, live.perInstanceRps, now);
  }

  private planned(m: MeasuredCapacity & { trial: string }): void {
    if (this.finished) return;
    const live = this.h.live();
    const plan = capacityPlan({ currentRps: live.perInstanceRps, measured: m, target: live.target, minInstances: live.minInstances, maxInstances: live.maxInstances }, this.c);
    this.capacity = { trial: m.trial, ratio: plan.ratio, ...(plan.ok ? { perInstanceRps: plan.perInstanceRps, count: plan.count } : {}) };
    if (!plan.ok) return this.stopInShadow('capacity', plan.why, { ratio: plan.ratio });
    this.h.emit(`rollout ${this.id}: ${this.to} carries ${plan.perInstanceRps.toFixed(1)} req/s per instance (${(plan.ratio * 100).toFixed(0)} % of ${this.from}'s, trial ${m.trial}); ${plan.count} instance(s) of it for what ${live.target} carry now`, { perInstanceRps: plan.perInstanceRps, ratio: plan.ratio, count: plan.count });
    this.startShift(plan.count, plan.perInstanceRps, this.h.now());
  }

  private startShift(count: number, perInstanceRps: number, now: number): void {
    this.phase = 'shifting';
    this.shiftRequestedAt = now;
    this.count = count;
    this.perInstanceRps = perInstanceRps;
    const live = this.h.live();
    // Recorded (with the pre-scaled count) before any instance is created; a type move's decision is.
    if (!this.move) this.h.record('rollout_shift_started', { count, perInstanceRps, current: live.target });
    for (let k = 0; k < count; k++) this.ids.push(`${this.h.service}-live-${this.id}-${k}`);
    // The label names the switchover: a restart that rolls it back knows its instances (not the live pool's).
    for (const id of this.ids) {
      this.h.provider.create({ id, service: this.h.service, pool: 'live', instanceType: this.move?.toType ?? live.type, labels: { version: this.to, switchover: this.id } }).catch((err: unknown) => this.h.emit(`${this.what}: create ${id}: ${(err as Error).message}`));
    }
    const n = this.names;
    this.h.emit(`${this.what}: ${count} live instance(s) of ${n.to} starting beside the ${live.members.size} of ${n.from}; they take traffic once ready and warm`, { count });
  }

  /** Promotion share for the replace mode: the old group must still carry traffic at the last judged step. */
  private settings(): ShiftSettings {
    const s = this.c.shift;
    return s.maxWeight >= 100 ? { ...s, maxWeight: Math.max(s.stepWeight, 100 - s.stepWeight) } : s;
  }

  private async setWeights(weight: number): Promise<void> {
    const old = this.h.live().members.size;
    const w = shiftWeights('replace', old, this.ids.length, weight).new;
    for (const id of this.ids) await this.h.gateway.setWeight(id, w);
  }

  private async tickShift(now: number, dt: number, all: readonly Instance[], members: IntervalView['members']): Promise<void> {
    const mine = this.ids.map((id) => all.find((i) => i.id === id));
    const failed = mine.find((i) => i?.state === 'failed');
    const live = this.h.live();
    const n = this.names;
    if (!this.shift) {
      if (failed) return this.rollBack('unhealthy', `new instance ${failed.id} failed before it took traffic (${failed.failure ?? 'unknown'})`);
      const readyTimeout = live.readyTimeoutSeconds * 1000 + 5000;
      if (mine.some((i) => i === undefined || i.state !== 'ready')) {
        if (now - this.shiftRequestedAt > readyTimeout) return this.rollBack('unhealthy', `new instances not ready within ${live.readyTimeoutSeconds} s`);
        return;
      }
      // Warm before traffic: the type's warm-up after the last one became ready.
      const readyAt = Math.max(...mine.map((i) => i?.readyAt ?? now));
      if (now - readyAt < (this.move?.warmupSeconds ?? live.warmupSeconds) * 1000) return;
      const s = this.settings();
      const { state, action } = startShift(now / 1000, s);
      this.shift = state;
      const w = action.kind === 'set_weight' ? action.weight : s.stepWeight;
      const old = live.members.size;
      const weight = shiftWeights('replace', old, this.ids.length, w).new;
      for (const i of mine as Instance[]) await this.h.gateway.addLive(i.url, weight, i.id);
      this.h.emit(`${this.what}: shifting: ${n.to} takes ${w} % of the traffic, +${s.stepWeight} % every ${s.intervalSeconds} s while it matches ${n.from}`, { weight: w });
      return;
    }
    const ids = new Set(this.ids);
    for (const [id, x] of Object.entries(members ?? {})) {
      if (ids.has(id)) {
        this.window.newWindow.push(x);
        this.newServed.newWindow.push(x);
      } else if (live.members.has(id)) {
        this.window.oldWindow.push(x);
        this.newServed.oldWindow.push(x);
      }
    }
    this.window.newReady.push(this.ids.length);
    this.window.oldReady.push(live.members.size);
    const s = this.settings();
    let check: ShiftCheck | undefined;
    let numbers: Record<string, number> = {};
    if (failed) check = 'unhealthy';
    else if (now / 1000 - this.shift.stepStartedAt >= s.intervalSeconds - 1e-9) {
      const share = this.shift.weight / 100;
      const r = judgeGroups(this.window, dt, { slots: live.slots, serviceTime: live.serviceTime, ...(this.move ? { newModel: { slots: this.move.slots, serviceTime: this.move.serviceTimeSeconds } } : {}), delta: this.h.delta(), expectedNewShare: () => share, lastChance: this.shift.inconclusive + 1 >= s.maxInconclusive });
      check = r.verdict;
      numbers = r.numbers;
      if (r.metric) this.lastMetric = r.metric;
    }
    const metric = this.lastMetric;
    if (check !== undefined && check !== 'insufficient_data' && check !== 'unhealthy') this.window = emptyWindow();
    if (check !== undefined && check !== 'pass' && check !== 'insufficient_data' && this.firstFailedAt === undefined) this.firstFailedAt = now;
    if (check === 'pass') this.firstFailedAt = undefined;
    const { state, action } = stepShift(this.shift, now / 1000, check, s);
    this.shift = state;
    if (action.kind === 'set_weight') {
      await this.setWeights(state.weight);
      this.h.emit(`${this.what}: step passed: ${n.to} takes ${state.weight} %`, { weight: state.weight, ...numbers });
    } else if (action.kind === 'hold' && check !== undefined) {
      this.h.emit(`${this.what}: check ${check}${state.reason === 'check_failed' ? ` (${state.failedChecks} of ${s.threshold} before a rollback)` : ''}: holding at ${state.weight} %`, { weight: state.weight, failedChecks: state.failedChecks, ...numbers });
    } else if (action.kind === 'rollback') {
      const why = failed ? `new instance ${failed.id} failed (${failed.failure ?? 'unknown'})` : `${state.failedChecks} failed check(s) in a row against ${n.from} (${numbers.newMedianMs !== undefined ? `median ${numbers.newMedianMs.toFixed(1)} ms at comparable load vs ${numbers.oldMedianMs?.toFixed(1)} ms` : numbers.newErrorRate !== undefined ? `error rate ${(100 * numbers.newErrorRate).toFixed(2)} % vs ${(100 * (numbers.oldErrorRate ?? 0)).toFixed(2)} %` : 'too little traffic reached it'})`;
      await this.rollBack(failed ? 'unhealthy' : (metric ?? 'latency'), why, numbers);
    } else if (action.kind === 'promote') await this.promote(now, numbers);
  }

  private finish(outcome: RolloutOutcome, now: number, stop: RolloutStop | undefined, why: string | undefined, numbers: Record<string, number>, rollbackSeconds?: number): void {
    this.finished = { at: now, outcome, ...(stop ? { stop } : {}), ...(why ? { why } : {}), ...(rollbackSeconds !== undefined ? { rollbackSeconds } : {}) };
    this.phase = outcome;
    this.abort.abort(new Error(`rollout ${outcome}`));
    this.h.store.finishExperiment(this.id, now, outcome, { ...this.view(), numbers });
  }

  private stopInShadow(stop: RolloutStop, why: string, numbers: Record<string, number> = {}): void {
    const now = this.h.now();
    // Recorded before the shadow moves back.
    this.h.record('rollout_stopped', { ...numbers, windowsPassed: this.judgement.passed, windowsFailed: this.judgement.failed });
    this.finish('stopped_in_shadow', now, stop, why, numbers);
    this.h.emit(`rollout ${this.id} stopped in the shadow (${stop}): ${why}; live still runs ${this.from}`);
    this.h.setShadowVersion(this.from);
  }

  private async rollBack(stop: RolloutStop, why: string, numbers: Record<string, number> = {}): Promise<void> {
    // Recorded before the rollback acts.
    this.h.record(this.move ? 'type_change_rolled_back' : 'rollout_rolled_back', { ...numbers, weight: this.shift?.weight ?? 0, newInstances: this.ids.length });
    // Weights back first (the new group takes nothing from now on), then the record, then drains and deletes.
    for (const id of this.ids) await this.h.gateway.setWeight(id, 0);
    const restored = this.h.now();
    const rollbackSeconds = this.firstFailedAt !== undefined ? (restored - this.firstFailedAt) / 1000 : undefined;
    this.finish('rolled_back', restored, stop, why, numbers, rollbackSeconds);
    const n = this.names;
    this.h.emit(`${this.what} rolled back (${stop}): ${why}; ${n.from} takes all traffic again${rollbackSeconds !== undefined ? ` ${rollbackSeconds.toFixed(2)} s after the first failed check` : ''}`, { ...(rollbackSeconds !== undefined ? { rollbackSeconds } : {}) });
    for (const id of this.ids) {
      const i = await this.h.provider.get(id);
      if (i) this.h.remove(i, `${this.what} rolled back`);
    }
    if (!this.move) this.h.setShadowVersion(this.from);
  }

  private async promote(now: number, numbers: Record<string, number>): Promise<void> {
    const live = this.h.live();
    const old = [...live.members];
    // Recorded (the new target with it) before anything moves.
    this.h.record(this.move ? 'type_change_completed' : 'rollout_completed', { ...numbers, count: this.count, perInstanceRps: this.perInstanceRps, oldInstances: old.length }, this.count);
    this.finish('completed', now, undefined, undefined, numbers);
    for (const id of this.ids) await this.h.gateway.setWeight(id, 1);
    this.h.adopt(this.to, this.ids, this.count, this.perInstanceRps, this.move?.toType);
    const n = this.names;
    this.h.emit(`${this.what} completed: ${this.ids.length} instance(s) of ${n.to} take all traffic; the ${old.length} of ${n.from} are drained and deleted`, { count: this.count });
    for (const id of old) {
      const i = await this.h.provider.get(id);
      if (i) this.h.remove(i, `${this.what} completed`);
    }
  }

  /** The run stops: the trial is aborted, the rollout recorded as aborted (rolled back at the next start). */
  async close(): Promise<void> {
    this.abort.abort(new Error('the run stopped'));
    await this.trial?.catch(() => undefined);
  }
}

/**
 * At start: rollouts a crash left open are closed as rolled back (`restarted`), each recorded as a
 * `rollout_rolled_back` decision (the target unchanged) before anything acts. Their new instances are not
 * of the live version and go once the old pool serves (the loop). Returns their ids.
 */
export function recoverRollouts(store: Store, service: string, strategy: StrategyName, now: number): string[] {
  const open = store.experiments({ service, kind: ROLLOUT_KIND, open: true });
  for (const e of open) {
    const move = (e.config as { move?: TypeMove } | null)?.move;
    const latest = store.decisions({ service, limit: 1 })[0]?.target ?? 0;
    // A type move's decision recorded the new type's count; the pool rolled back keeps the old one.
    const target = move ? move.fromTarget : latest;
    store.addDecision(service, { strategy, at: now / 1000, current: latest, desired: target, reason: move ? 'type_change_rolled_back' : 'rollout_rolled_back', numbers: { restarted: 1 } }, target, null, false);
    store.finishExperiment(e.id, now, 'rolled_back', { id: e.id, stop: 'restarted', why: move ? `the control plane restarted mid-move: rolled back (the live pool stays on ${move.fromType})` : 'the control plane restarted mid-rollout: rolled back (the live version is the one before it)' });
  }
  return open.map((e) => e.id);
}

/** The live version: the target of the latest completed rollout, else the configured one. */
export function liveVersionFromStore(store: Store, service: string, configured: string): string {
  const done = store
    .experiments({ service, kind: ROLLOUT_KIND })
    .filter((e) => e.verdict === 'completed')
    .sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0))
    .pop();
  const to = (done?.config as { to?: unknown } | null)?.to;
  return typeof to === 'string' ? to : configured;
}
