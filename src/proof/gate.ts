// The proof gate of one service in the live loop (docs/design/proof.md): what the trials on the shadow
// proved, per instance type (core/gate.ts reads it), and the trials that keep it fresh. The loop asks
// `decide` for every decision and calls `tick` every tick; trials run in the background and never
// block a tick.
//
// 1. Evidence: the finished trials of the service in the store (a restart keeps what was proven).
// 2. Early proofs: a type with no fresh evidence, or whose evidence expires within its proof lead time
//    (provisioning + warm-up + the trial's steps), gets a calibration trial: steps around its modelled
//    capacity at the SLO, so that every count near the model's is proven before a decision needs it.
//    The live type first, then the other types trials may prove.
// 3. Wanted proofs: a decision that waits asks for a trial at its candidate's rate; it goes before
//    calibrations. With N+1 redundancy required, a count whose steady rate is proven waits for a chaos
//    trial: chaosInstances(count) instances losing one, the survivors at production's rate per survivor.
// 4. Budget: at most `maxConcurrent` trial instances (a chaos trial of more may run alone), and trial cost over the trailing window at most
//    `budgetShare` of what the live pool costs over that window at its current size. A trial that does
//    not fit waits.
// 5. Cost feedback: trial instance-seconds and cost, kept apart from live and shadow.

import { candidates, costPerHour, type CandidateType } from '../core/candidates.js';
import { maxRateAtSlo } from '../core/capacity.js';
import type { Prices } from '../core/cost.js';
import { countProof, gate, proofOf, typeEvidence, type GateOutcome, type ProofMode, type TrialEvidence, type TypeEvidence } from '../core/gate.js';
import type { Decision } from '../core/reasons.js';
import { answersPerStep, DEFAULT_VERDICT, type StepResult, type StepVerdict, type VerdictSettings } from '../core/verdict.js';
import type { MixRequest } from '../gateway/loadgen.js';
import type { ExperimentRecord } from '../metrics/store.js';
import { BASE_VERSION, type Provider } from '../providers/provider.js';
import { runTrial, type ExperimentLog, type TrialPlan, type TrialResult } from './trial.js';

export interface GateType extends CandidateType {
  readonly provisioningSeconds: number;
  readonly warmupSeconds: number;
}

export interface ProofGateSettings {
  readonly service: string;
  readonly mode: ProofMode;
  /** The version live runs at start (default base): trials run it, and only its trials prove. */
  readonly version?: string;
  /** The types trials may prove (the live type among them). */
  readonly types: Readonly<Record<string, GateType>>;
  readonly sloLatencyMs: number;
  readonly sloErrorRate: number;
  readonly headroom: number;
  readonly minInstances: number;
  readonly maxInstances: number;
  readonly maxStepUp: number;
  readonly spotShare: number;
  readonly freshSeconds: number;
  readonly samplesPerStep: number;
  readonly maxStepSeconds: number;
  readonly maxConcurrent: number;
  readonly budgetShare: number;
  readonly budgetWindowSeconds: number;
  readonly minTypeSaving: number;
  readonly path: string;
  readonly readyTimeoutMs: number;
  /** How long a trial instance may take to answer the state copy-in (stateful services); default 30 s. */
  readonly stateTimeoutMs?: number;
  /** Calibration steps, as fractions of the type's modelled capacity at the SLO. */
  readonly calibration?: readonly number[];
  /** Steps of a wanted trial, as fractions of the wanted rate (1 among them). */
  readonly wantedSteps?: readonly number[];
  readonly seed?: number;
  /**
   * N+1 redundancy required: a count is proven only when a chaos trial showed it holds the SLO after
   * losing one instance (killed, or slowed by `delayMs`), from `recoverySeconds` after the loss on.
   */
  readonly redundancy?: { readonly recoverySeconds: number; readonly fault: 'kill' | 'latency'; readonly delayMs?: number };
}

export type RunTrial = (plan: TrialPlan, deps: Parameters<typeof runTrial>[1], settings: VerdictSettings) => Promise<TrialResult>;

export interface ProofGateDeps {
  readonly provider: Provider;
  readonly log: ExperimentLog;
  /** ms since the epoch. */
  readonly now: () => number;
  /** The recent request mix to replay (the gateway's mirrored requests; undefined or empty: `path`). */
  readonly mix?: () => Promise<readonly MixRequest[] | undefined> | readonly MixRequest[] | undefined;
  readonly onEvent?: (kind: 'trial_started' | 'trial_finished' | 'trial_deferred', detail: string, numbers?: Record<string, number>) => void;
  /** Stateful services: a live instance's state snapshot for the trial instances (undefined: none to copy). */
  readonly snapshot?: () => Promise<string | undefined>;
  /**
   * The load trials would send (req/s at their top steps, the running ones and the one about to start):
   * a service whose trial instances call its dependencies' shadows borrows shadow capacity of them for it,
   * and gets why the trial must wait until they can take it (undefined: start). Told again with the running
   * trials' load when one ends, so the borrowed capacity goes back. `trials`: the instances those trials
   * run (a shared shadow pool holds their slots).
   */
  readonly trialLoad?: (rps: number, trials: readonly TrialHold[]) => string | undefined;
  /** The trial runner (tests may drive trials of their own); default: runTrial. */
  readonly runTrial?: RunTrial;
}

/** The instances a trial runs, of one type. */
export interface TrialHold {
  readonly instanceType: string;
  readonly instances: number;
}

export const DEFAULT_CALIBRATION = [0.7, 1, 1.3] as const;

/** Instances a chaos trial of `count` runs: the count, at most 3 (the survivors' rate carries the rest). */
export const chaosInstances = (count: number): number => Math.max(2, Math.min(count, 3));
/** Fewer recent requests than this are not a mix worth replaying: the trial drives `path`. */
export const MIN_MIX = 100;
export const DEFAULT_WANTED_STEPS = [0.6, 1, 1.25] as const;

interface Running {
  readonly id: string;
  readonly instanceType: string;
  /** Trial instances (a chaos trial runs several). */
  readonly instances: number;
  /** The most requests/s its instances are driven with together (its top step). */
  readonly maxRps: number;
  readonly startedAt: number;
  readonly done: Promise<void>;
}

export interface ProofCost {
  /** Trial instance-seconds so far (finished and running), this run and earlier ones in the store. */
  readonly trialInstanceSeconds: number;
  readonly trialCost: number;
  readonly trials: number;
  readonly running: number;
}

/** A finished trial experiment as evidence (undefined: aborted, or not a trial of this service). */
export function trialEvidence(e: ExperimentRecord, service: string): TrialEvidence | undefined {
  if (e.kind !== 'trial' || e.service !== service || e.finishedAt === null || e.verdict === null || e.verdict === 'aborted') return undefined;
  const d = e.details as { instanceType?: string; steps?: StepResult[]; capacityAtSloRps?: { estimate?: number } } | null;
  if (!d?.instanceType || !Array.isArray(d.steps)) return undefined;
  const c = e.config as { chaos?: unknown; instances?: number; version?: string } | null;
  const chaos = c?.chaos && (c.instances ?? 1) > 1 ? { instances: c.instances as number } : undefined;
  return {
    id: e.id,
    instanceType: d.instanceType,
    finishedAt: e.finishedAt / 1000,
    steps: d.steps.map((s) => ({ targetRps: s.numbers.targetRps, verdict: s.verdict as StepVerdict, p99Ms: s.numbers.p99Ms })),
    ...(d.capacityAtSloRps?.estimate !== undefined && !chaos ? { capacityAtSloRps: d.capacityAtSloRps.estimate } : {}),
    ...(chaos ? { chaos } : {}),
    ...(typeof c?.version === 'string' && c.version !== BASE_VERSION ? { version: c.version } : {}),
  };
}

export class ProofGate {
  private readonly trials: TrialEvidence[] = [];
  private readonly running = new Map<string, Running>();
  private readonly wanted = new Map<string, number>();
  /** Types an operator asked to prove (src/api): their wanted trial runs even if evidence already settles the rate. */
  private readonly requested = new Set<string>();
  /** Chaos trials decisions wait for: per type, `count` instances losing one, each survivor at survivorRps. */
  private readonly wantedChaos = new Map<string, { survivorRps: number; count: number }>();
  private readonly deferred = new Set<string>();
  private readonly startFailedAt = new Map<string, number>();
  /** Finished trials within the budget window (ms, ms, price units); older ones live on in the totals. */
  private spent: { from: number; to: number; cost: number }[] = [];
  private readonly totals = { seconds: 0, cost: 0, trials: 0 };
  private readonly abort = new AbortController();
  private seq = 0;
  private closed = false;
  private readonly verdict: VerdictSettings;
  private version: string;

  constructor(
    readonly s: ProofGateSettings,
    private readonly d: ProofGateDeps,
  ) {
    this.verdict = { ...DEFAULT_VERDICT, sloLatencyMs: s.sloLatencyMs, sloErrorRate: s.sloErrorRate };
    this.version = s.version ?? BASE_VERSION;
    // 1. What earlier runs proved and spent.
    for (const e of d.log.experiments({ service: s.service, kind: 'trial' })) {
      const ev = trialEvidence(e, s.service);
      if (ev) this.trials.push(ev);
      const cfg = e.config as { instanceType?: string; instances?: number } | null;
      const t = cfg?.instanceType ? s.types[cfg.instanceType] : undefined;
      if (e.finishedAt !== null && t) this.spend(e.startedAt, e.finishedAt, t.prices, cfg?.instances ?? 1);
    }
  }

  /** The trials of the version live runs: what proves anything about the live pool. */
  private get current(): TrialEvidence[] {
    return this.trials.filter((t) => (t.version ?? BASE_VERSION) === this.version);
  }

  /**
   * Live runs another version (a rollout completed): trials run it from now on, and only its trials prove
   * (the older version's evidence stays on record and counts again if live goes back to it).
   */
  setVersion(version: string): void {
    this.version = version;
  }

  get mode(): ProofMode {
    return this.s.mode;
  }

  private spend(from: number, to: number, prices: Prices, instances = 1): void {
    const seconds = Math.max(0, (to - from) / 1000) * instances;
    const cost = (seconds / 3600) * prices.onDemandPerHour;
    this.totals.seconds += seconds;
    this.totals.cost += cost;
    this.totals.trials++;
    this.spent.push({ from, to, cost });
  }

  /** What can no longer count: trials past their freshness, spending before the budget window. */
  private prune(now: number): void {
    const fresh = now / 1000 - this.s.freshSeconds;
    for (let i = this.trials.length - 1; i >= 0; i--) if ((this.trials[i] as TrialEvidence).finishedAt < fresh) this.trials.splice(i, 1);
    const from = now - this.s.budgetWindowSeconds * 1000;
    if (this.spent.some((x) => x.to <= from)) this.spent = this.spent.filter((x) => x.to > from);
  }

  /** Whether a trial of `type` at `rates` fits the budget now, and the numbers of the check. */
  private fits(type: string, rates: readonly number[], live: { instanceType: string; count: number }, now: number, instances = 1): { ok: boolean; used: number; estimate: number; allowed: number } {
    const t = this.s.types[type] as GateType;
    // What it would cost if it runs its full length.
    const estimate = (this.proofSeconds(type, rates) / 3600) * t.prices.onDemandPerHour * instances;
    const allowed = this.budget(live.instanceType, live.count);
    const used = this.spentSince(now - this.s.budgetWindowSeconds * 1000, now);
    return { ok: used + estimate <= allowed, used, estimate, allowed };
  }

  evidence(now = this.d.now()): Map<string, TypeEvidence> {
    return typeEvidence(this.current, now / 1000, this.s.freshSeconds);
  }

  costOf(instanceType: string, count: number): number {
    const t = this.s.types[instanceType];
    return t ? costPerHour(count, t.prices, this.s.spotShare).cost : Number.NaN;
  }

  /** The gate's verdict on a decision (core/gate.ts), and a wanted trial queued when it asks for one. */
  decide(i: { decision: Decision; instanceType: string; targetRps: number; emergency: boolean; typeChangeBlocked: boolean }): GateOutcome {
    const s = this.s;
    const evidence = this.evidence();
    const types = Object.values(s.types);
    const catalogue = types.length > 1 ? candidates({ peakRps: i.targetRps, headroom: 0, sloLatencySeconds: s.sloLatencyMs / 1000, types, current: { instanceType: i.instanceType, count: i.decision.current }, minInstances: s.minInstances, maxInstances: s.maxInstances, spotShare: s.spotShare, maxCandidates: 4 * types.length }) : undefined;
    const out = gate({
      mode: s.mode,
      decision: i.decision,
      instanceType: i.instanceType,
      targetRps: i.targetRps,
      evidence,
      emergency: i.emergency,
      minInstances: s.minInstances,
      maxInstances: s.maxInstances,
      maxStepUp: s.maxStepUp,
      costOf: (t, n) => this.costOf(t, n),
      ...(catalogue ? { catalogue } : {}),
      minTypeSaving: s.minTypeSaving,
      typeChangeBlocked: i.typeChangeBlocked,
      ...(s.redundancy ? { redundancy: true } : {}),
    });
    this.want(out.want);
    return out;
  }

  /** Queue what a decision (or the forecast) asks to have proven. */
  private want(want: GateOutcome['want']): void {
    if (!want || this.s.mode === 'off' || !this.s.types[want.instanceType]) return;
    if (want.survivorRps !== undefined && want.count !== undefined) {
      // Like a steady calibration, a chaos trial proves at least the calibration's lowest rate per survivor
      // (a quiet pool's few requests per survivor are covered by it).
      this.wantedChaos.set(want.instanceType, { survivorRps: Math.max(want.survivorRps, this.calibrationRates(want.instanceType)[0] ?? 0), count: want.count });
      return;
    }
    // A rate below the calibration's lowest step is proven by the calibration (a pass at a higher rate covers it).
    if (want.perInstanceRps > (this.calibrationRates(want.instanceType)[0] ?? 0)) this.wanted.set(want.instanceType, want.perInstanceRps);
  }

  /** Seconds a trial of `type` takes from creation to verdict (the proof's share of the lead time). */
  proofSeconds(type: string, rates: readonly number[] = this.calibrationRates(type)): number {
    const t = this.s.types[type];
    if (!t) return 0;
    return t.provisioningSeconds + t.warmupSeconds + rates.reduce((a, r) => a + this.stepSeconds(r), 0);
  }

  /** Answers a step needs (core/verdict.ts: enough for the error rate's bound too). */
  get samplesPerStep(): number {
    return answersPerStep(this.s.samplesPerStep, this.s.sloErrorRate);
  }

  private stepSeconds(rate: number): number {
    return Math.min(this.s.maxStepSeconds, Math.max(2, Math.ceil(this.samplesPerStep / Math.max(rate, 1e-9))));
  }

  private calibrationRates(type: string): number[] {
    const t = this.s.types[type];
    if (!t) return [];
    const cap = maxRateAtSlo(t.slots, t.serviceTimeSeconds, this.s.sloLatencyMs / 1000);
    return (this.s.calibration ?? DEFAULT_CALIBRATION).map((f) => f * cap);
  }

  /** Cost of the live pool over the budget window at its current size. */
  private budget(liveType: string, liveCount: number): number {
    return this.s.budgetShare * (this.costOf(liveType, Math.max(1, liveCount)) / 3600) * this.s.budgetWindowSeconds;
  }

  private spentSince(from: number, now: number): number {
    let c = 0;
    for (const x of this.spent) if (x.to > from) c += x.cost * (Math.min(x.to, now) - Math.max(x.from, from)) / Math.max(1, x.to - x.from);
    for (const r of this.running.values()) {
      const t = this.s.types[r.instanceType];
      if (t) c += ((now - Math.max(r.startedAt, from)) / 3600_000) * t.prices.onDemandPerHour * r.instances;
    }
    return c;
  }

  /** Every tick: start the trials that keep the evidence fresh or that decisions wait for, within the budget. */
  tick(live: { instanceType: string; count: number }): void {
    if (this.closed || this.s.mode === 'off') return;
    const now = this.d.now();
    this.prune(now);
    const evidence = this.evidence(now);
    // 3. Wanted proofs first, then 2. calibrations (the live type first).
    const queue: { type: string; rates: number[]; kind: 'wanted' | 'calibration' | 'chaos'; base: number; count?: number }[] = [];
    // A wanted rate that a trial finished since has settled needs no trial of its own.
    for (const [type, rate] of this.wanted) if (!this.requested.has(type) && proofOf(evidence.get(type), rate) !== 'unproven') this.wanted.delete(type);
    for (const [type, w] of this.wantedChaos) {
      const e = evidence.get(type);
      if (e && ((e.redundantRps > 0 && w.survivorRps <= e.redundantRps) || w.survivorRps >= e.redundantFailedRps)) this.wantedChaos.delete(type);
      // A chaos trial that proved nothing is retried after ten times its length, as a calibration is.
      else if (!this.current.some((t) => t.chaos && t.instanceType === type && now / 1000 - t.finishedAt <= Math.min(this.s.freshSeconds, 10 * this.proofSeconds(type, [w.survivorRps])) && Math.max(...t.steps.map((x) => (x.targetRps * t.chaos!.instances) / (t.chaos!.instances - 1))) >= w.survivorRps * (1 - 1e-9))) queue.push({ type, rates: [w.survivorRps], kind: 'chaos', base: w.survivorRps, count: w.count });
    }
    for (const [type, rate] of this.wanted) {
      const steps = this.s.wantedSteps ?? DEFAULT_WANTED_STEPS;
      queue.push({ type, rates: steps.map((f) => f * rate), kind: 'wanted', base: rate });
    }
    const order = [live.instanceType, ...Object.keys(this.s.types).filter((t) => t !== live.instanceType)];
    for (const type of order) {
      if (!this.s.types[type] || this.wanted.has(type)) continue;
      const e = evidence.get(type);
      const lead = this.proofSeconds(type);
      // Stale within its lead time: prove it again now, so the proof is fresh when a decision needs it.
      if (!e || e.provenRps === 0 ? !this.provedOrFailedRecently(type, now) : e.provenAgeSeconds > this.s.freshSeconds - lead) {
        const rates = this.calibrationRates(type);
        queue.push({ type, rates, kind: 'calibration', base: rates[0] as number });
      }
    }
    for (const q of queue) {
      // Trial instances at once: at most maxConcurrent, but a chaos trial larger than that may run alone.
      const busy = [...this.running.values()].reduce((a, r) => a + r.instances, 0);
      const size = q.kind === 'chaos' ? chaosInstances(q.count ?? 2) : 1;
      if (busy > 0 && busy + size > this.s.maxConcurrent) break;
      // A trial that could not start (no live state to copy, say) waits as a failed calibration does.
      const failed = this.startFailedAt.get(q.type);
      if (failed !== undefined && now - failed < Math.min(this.s.freshSeconds, 10 * this.proofSeconds(q.type)) * 1000) continue;
      if ([...this.running.values()].some((r) => r.instanceType === q.type)) continue;
      // 4. The budget.
      const fit = this.fits(q.type, q.rates, live, now, q.kind === 'chaos' ? chaosInstances(q.count ?? 2) : 1);
      if (!fit.ok) {
        // Told once per waiting trial, not every tick.
        const key = `${q.kind}:${q.type}`;
        if (!this.deferred.has(key)) this.d.onEvent?.('trial_deferred', `${q.kind} trial of ${q.type} waits for the proof budget`, { used: fit.used, estimate: fit.estimate, allowed: fit.allowed });
        this.deferred.add(key);
        break;
      }
      this.deferred.delete(`${q.kind}:${q.type}`);
      // 5. Its dependencies' shadows, grown for what it will send them.
      const wait = this.d.trialLoad?.(this.runningLoad() + Math.max(...q.rates) * size, this.holds({ instanceType: q.type, instances: size }));
      if (wait !== undefined) {
        if (!this.deferred.has('dependencies')) this.d.onEvent?.('trial_deferred', `${q.kind} trial of ${q.type} waits: ${wait}`);
        this.deferred.add('dependencies');
        break;
      }
      this.deferred.delete('dependencies');
      if (q.kind === 'wanted') {
        this.wanted.delete(q.type);
        this.requested.delete(q.type);
      }
      if (q.kind === 'chaos') {
        this.wantedChaos.delete(q.type);
        this.startChaos(q.type, q.base, q.count ?? 2, now);
      } else this.start(q.type, q.rates, q.base, q.kind, now);
    }
  }

  /**
   * A calibration that proved nothing (its steps failed, or the instance was unhealthy) is retried after
   * ten times its own length (within the freshness window), not every tick.
   */
  private provedOrFailedRecently(type: string, now: number): boolean {
    const wait = Math.min(this.s.freshSeconds, 10 * this.proofSeconds(type));
    return this.current.some((t) => t.instanceType === type && now / 1000 - t.finishedAt <= wait);
  }

  /**
   * Early proof for what is coming: `count` instances of `instanceType` carrying `targetRps` (the forecast
   * peak over the lead time plus the proof's own time). Unproven: a trial at its rate is wanted now, so
   * the proof is there when the decision comes.
   */
  prepare(instanceType: string, targetRps: number, count: number): void {
    if (this.s.mode === 'off' || !this.s.types[instanceType] || !(count > 0) || !(targetRps > 0)) return;
    const rate = targetRps / count;
    const e = this.evidence().get(instanceType);
    if (proofOf(e, rate) === 'unproven' && rate > (this.calibrationRates(instanceType)[0] ?? 0) && !this.wanted.has(instanceType)) this.wanted.set(instanceType, rate);
    // N+1: the count coming must also survive losing one; its chaos trial starts early too.
    else if (this.s.redundancy && count >= 2 && proofOf(e, rate) === 'pass' && countProof(e, targetRps, count, true) === 'unproven' && !this.wantedChaos.has(instanceType)) this.want({ instanceType, perInstanceRps: rate, survivorRps: targetRps / (count - 1), count });
  }

  /**
   * An operator's proof (the API): a trial of `instanceType` around `perInstanceRps` (the wanted steps),
   * queued for the next tick within the budget and the concurrency limit, even when evidence already
   * settles that rate. Returns why it cannot be queued, or undefined.
   */
  request(instanceType: string, perInstanceRps: number): string | undefined {
    if (this.closed) return 'the gate is closed';
    if (this.s.mode === 'off') return 'scaling.proof is off: no trials run';
    if (!this.s.types[instanceType]) return `instance type "${instanceType}" is not one the gate proves (have: ${Object.keys(this.s.types).join(', ')}; scaling.trials.types adds more)`;
    if ([...this.running.values()].some((r) => r.instanceType === instanceType)) return `a trial of ${instanceType} is running; wait for its verdict`;
    this.wanted.set(instanceType, perInstanceRps);
    this.requested.add(instanceType);
    this.startFailedAt.delete(instanceType);
    return undefined;
  }

  /** Instance types the gate proves. */
  get typeNames(): string[] {
    return Object.keys(this.s.types);
  }

  private start(type: string, rates: number[], base: number, kind: 'wanted' | 'calibration' | 'chaos', now: number, extra: Pick<TrialPlan, 'instances' | 'chaos'> = {}): void {
    const t = this.s.types[type] as GateType;
    const id = `${this.s.service}-trial-${now.toString(36)}-${this.seq++}`;
    const sorted = [...rates].sort((a, b) => a - b);
    const plan: TrialPlan = {
      id,
      service: this.s.service,
      instanceType: type,
      perInstanceRps: base,
      stepFractions: sorted.map((r) => r / base),
      minSamplesPerStep: this.samplesPerStep,
      minStepSeconds: 2,
      maxStepSeconds: this.s.maxStepSeconds,
      warmupSeconds: t.warmupSeconds,
      path: this.s.path,
      seed: (this.s.seed ?? 1) + this.seq,
      ...(this.version !== BASE_VERSION ? { version: this.version } : {}),
      ...extra,
    };
    const version = this.version;
    const run = this.d.runTrial ?? runTrial;
    // Spent (and counted) only once the trial itself ran: a trial that could not start costs nothing.
    let started = false;
    // Driven with the recent mirrored traffic when there is enough of it (its routes, methods and bodies).
    const done = Promise.resolve()
      .then(() => this.d.mix?.())
      .catch(() => undefined)
      .then(async (mix) => {
        // A stateful service's trial needs live's state; without a snapshot it proves nothing and is not run.
        const state = this.d.snapshot ? await this.d.snapshot() : undefined;
        if (this.d.snapshot && state === undefined) throw new Error('no live state snapshot to copy into the trial instances');
        const withMix = { ...plan, ...(mix && mix.length >= MIN_MIX ? { mix } : {}), ...(state !== undefined ? { state } : {}) };
        started = true;
        this.d.onEvent?.('trial_started', `${kind} trial ${id}: ${type} at ${sorted.map((r) => r.toFixed(1)).join(', ')} req/s per instance, ${withMix.mix ? `replaying ${withMix.mix.length} recent mirrored requests` : `GET ${this.s.path}`}`, { rates: sorted.length, base, mixRequests: withMix.mix?.length ?? 0 });
        return run(withMix, { provider: this.d.provider, log: this.d.log, readyTimeoutMs: this.s.readyTimeoutMs, ...(this.s.stateTimeoutMs !== undefined ? { stateTimeoutMs: this.s.stateTimeoutMs } : {}), now: this.d.now, signal: this.abort.signal }, this.verdict);
      })
      .then((r) => {
        const chaos = extra.chaos && (extra.instances ?? 1) > 1 ? { instances: extra.instances as number } : undefined;
        this.trials.push({ id, instanceType: type, finishedAt: this.d.now() / 1000, steps: r.steps.map((x) => ({ targetRps: x.numbers.targetRps, verdict: x.verdict, p99Ms: x.numbers.p99Ms })), ...(r.capacityAtSloRps.estimate !== undefined && !chaos ? { capacityAtSloRps: r.capacityAtSloRps.estimate } : {}), ...(chaos ? { chaos } : {}), ...(version !== BASE_VERSION ? { version } : {}) });
        const e = this.evidence().get(type);
        if (chaos) {
          this.d.onEvent?.('trial_finished', `chaos trial ${id} (${type}, ${chaos.instances} instances losing one): ${r.verdict}${r.reason ? ` (${r.reason})` : ''}; redundant up to ${(e?.redundantRps ?? 0).toFixed(1)} req/s per survivor`, { redundantRps: e?.redundantRps ?? 0, redundantFailedRps: e?.redundantFailedRps ?? Number.POSITIVE_INFINITY });
          return;
        }
        this.d.onEvent?.('trial_finished', `trial ${id} (${type}): ${r.verdict}${r.reason ? ` (${r.reason})` : ''}; proven up to ${(e?.provenRps ?? 0).toFixed(1)} req/s per instance${e && Number.isFinite(e.failedRps) ? `, failed at ${e.failedRps.toFixed(1)}` : ''}`, { provenRps: e?.provenRps ?? 0, failedRps: e?.failedRps ?? Number.POSITIVE_INFINITY, ...(r.capacityAtSloRps.estimate !== undefined ? { capacityAtSloRps: r.capacityAtSloRps.estimate } : {}) });
      })
      .catch((err: unknown) => {
        if (this.abort.signal.aborted) return;
        this.startFailedAt.set(type, this.d.now());
        this.d.onEvent?.('trial_finished', `trial ${id} (${type}) aborted: ${(err as Error).message}`);
      })
      .finally(() => {
        if (started) this.spend(now, this.d.now(), t.prices, plan.instances ?? 1);
        this.running.delete(id);
        // What it borrowed of its dependencies' shadows goes back.
        this.d.trialLoad?.(this.runningLoad(), this.holds());
      });
    this.running.set(id, { id, instanceType: type, instances: plan.instances ?? 1, maxRps: (sorted[sorted.length - 1] ?? base) * (plan.instances ?? 1), startedAt: now, done });
  }

  /** The running trials' instances, and `next`'s. */
  private holds(next?: TrialHold): TrialHold[] {
    return [...[...this.running.values()].map((r) => ({ instanceType: r.instanceType, instances: r.instances })), ...(next ? [next] : [])];
  }

  /** Requests/s the running trials send at their top steps. */
  private runningLoad(): number {
    let rps = 0;
    for (const r of this.running.values()) rps += r.maxRps;
    return rps;
  }

  /**
   * A chaos trial (N+1): `count` instances of `type` losing one, each survivor at `survivorRps`. It runs
   * chaosInstances(count) instances, driven so that the survivors carry what production's would.
   */
  private startChaos(type: string, survivorRps: number, count: number, now: number): void {
    const r = this.s.redundancy;
    if (!r) return;
    const n = chaosInstances(count);
    this.start(type, [(survivorRps * (n - 1)) / n], (survivorRps * (n - 1)) / n, 'chaos', now, { instances: n, chaos: { kind: r.fault, afterSeconds: 1, recoverySeconds: r.recoverySeconds, ...(r.fault === 'latency' ? { delayMs: r.delayMs ?? 0 } : {}) } });
  }

  /**
   * Prove every type that has no fresh evidence now, all at once (within the budget), and wait for the
   * verdicts: what a service that has run for a while already has in its store. The demo calls it
   * before its day starts.
   */
  async calibrate(live: { instanceType: string; count: number }): Promise<void> {
    if (this.closed || this.s.mode === 'off') return;
    const now = this.d.now();
    const evidence = this.evidence(now);
    for (const type of [live.instanceType, ...Object.keys(this.s.types).filter((t) => t !== live.instanceType)]) {
      if (!this.s.types[type] || evidence.get(type)?.provenRps || [...this.running.values()].some((r) => r.instanceType === type)) continue;
      const rates = this.calibrationRates(type);
      if (!this.fits(type, rates, live, now).ok) break;
      // Its dependencies' shadows first, grown for what it will send them (a trial instance calls them).
      let told = false;
      const ask = (): string | undefined => this.d.trialLoad?.(this.runningLoad() + Math.max(...rates), this.holds({ instanceType: type, instances: 1 }));
      for (let why = ask(); why !== undefined && !this.closed; why = ask()) {
        if (!told) this.d.onEvent?.('trial_deferred', `calibration trial of ${type} waits: ${why}`);
        told = true;
        await new Promise((r) => setTimeout(r, 100));
      }
      if (this.closed) return;
      this.start(type, rates, rates[0] as number, 'calibration', this.d.now());
    }
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  cost(now = this.d.now()): ProofCost {
    let seconds = this.totals.seconds;
    let cost = this.totals.cost;
    for (const r of this.running.values()) {
      const t = this.s.types[r.instanceType];
      seconds += ((now - r.startedAt) / 1000) * r.instances;
      if (t) cost += ((now - r.startedAt) / 3600_000) * t.prices.onDemandPerHour * r.instances;
    }
    return { trialInstanceSeconds: seconds, trialCost: cost, trials: this.totals.trials + this.running.size, running: this.running.size };
  }

  /** Stop: running trials are aborted (their instances deleted, experiments closed as aborted). */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort(new Error('the proof gate stopped'));
    await Promise.all([...this.running.values()].map((r) => r.done));
  }
}

