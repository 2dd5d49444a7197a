// The control loop of one service: sense -> decide -> record -> act, every tick. The decision math is
// the same core code the backtest runs (strategies, action bounds, capacity model, forecaster).
// Design: docs/design/live-loop.md
//
// Each tick:
// 1. Sense: the gateway's traffic since the last tick (per pool, with latency histograms), the
//    provider's instances; samples go to the store.
// 2. Reconcile membership: ready live instances are live members (by instance id), gone or failed
//    ones are drained out; ready shadow instances are the mirror's targets.
// 3. Repair: failed instances are deleted and replaced (live up to the last recorded target; the
//    shadow pool to its size), a new shadow is re-synced from a live instance's state snapshot.
// 4. Decide every `periodSeconds`: observation (utilization by Little's law over the metric window,
//    demand, freshness), forecast (refit on the store's demand history), strategy, action bounds, the
//    proof gate (src/proof/gate.ts: the change acts only on a configuration the shadow proved, or as the
//    safety net's unproven emergency); the decision and its proof are recorded before anything is acted on.
// 5. Act: create (ids derived from the decision's sequence number, so a restart repeats no action)
//    or drain and delete, newest first. Not awaited: the next tick counts pending operations.
// 6. Delta analysis over a window of ticks, the sampling controller, the capacity refit, and the proof
//    gate's trials (calibrations before evidence expires, trials decisions wait for), in the background.

import { randomBytes } from 'node:crypto';
import { fitServiceTime, maxRateAtSlo, meanResponseTime, type LoadLatency } from '../core/capacity.js';
import { compareLiveShadow, confirmDegradation, liveWorseThanShadow, type DeltaResult, type DeltaSettings } from '../core/delta.js';
import type { KnownEvent } from '../core/events.js';
import { forecastPeak, type Forecast, type Forecaster } from '../core/forecast.js';
import type { DecisionProof } from '../core/gate.js';
import { meanOf, observeWindow, tickViolatesSlo, trimWindow, type WindowPoint } from '../core/observe.js';
import { boundDecision, NO_HISTORY, recordAction, type ActionBounds, type ActionHistory } from '../core/policy.js';
import { OPERATOR_STATE_REASONS, type Decision, type NotActing, type OperatorAction, type Reason, type ScalingMode } from '../core/reasons.js';
import { nextSamplingRate, type SamplingSettings } from '../core/sampling.js';
import { DEFAULT_MUTATION_DELTA, mutationDelta, writeDemandFloor, type MutationDelta, type MutationDeltaSettings, type MutationWindow } from '../core/mutations.js';
import type { Observation, Strategy } from '../core/strategy.js';
import type { GatewayControl } from '../gateway/control.js';
import type { IntervalPool, IntervalView } from '../gateway/metrics.js';
import { fitDemandForecast, forecastEvents, forecastHorizonSeconds, type DemandForecastSettings } from '../metrics/demand.js';
import type { Store } from '../metrics/store.js';
import type { InstanceEvent } from '../providers/local.js';
import type { ProofGate } from '../proof/gate.js';
import { BASE_VERSION, eventReason, isProviderError, versionLabels, versionOf, type Instance, type Provider } from '../providers/provider.js';
import type { DependencyFloor } from '../core/dependencies.js';
import { appliedOf, readDigest, readSnapshot, writeSnapshot } from '../providers/snapshot.js';
import { DEFAULT_SHIFT, shiftWeights, startShift, stepShift, type ShiftCheck, type ShiftSettings, type ShiftState } from '../core/switchover.js';
import { ShadowscaleError } from '../core/errors.js';
import { emptyWindow, judgeGroups, mergeIntervals, type GroupWindow } from './judge.js';
import { DEFAULT_ROLLOUT } from '../core/rollout.js';
import { Rollout, ROLLOUT_KIND, type MeasureCapacity, type RolloutConfig, type RolloutHost, type RolloutView } from './rollout.js';

export interface LoopSettings {
  readonly service: string;
  readonly instanceType: string;
  readonly slots: number;
  readonly serviceTimeSeconds: number;
  readonly sloLatencySeconds: number;
  /** Highest acceptable live error rate: a tick above it (or above the latency objective) violates the SLO. */
  readonly sloErrorRate?: number;
  readonly shadow: {
    readonly fraction: number;
    readonly instanceType: string;
    readonly slots: number;
    readonly sync: 'none' | 'snapshot';
    /** Seconds between digest checks of synced shadows against live (0: none). */
    readonly digestSeconds?: number;
    /** How long an instance may take to answer a state request (snapshot out or in, digest); default 30 s. */
    readonly syncTimeoutSeconds?: number;
    /** Every live mutation is mirrored (sampling.mirrorMutations): the mutation delta compares live's with the shadow's (a copy to every synced shadow of a stateful service, to one otherwise). */
    readonly mirrorMutations?: boolean;
  };
  /** The live-vs-shadow mutation delta (src/core/mutations.ts); windows of delta.windowTicks ticks. Undefined: the defaults, resync on. */
  readonly mutationDelta?: MutationDeltaSettings & { readonly resync: boolean };
  readonly bounds: ActionBounds;
  readonly initialInstances: number;
  readonly tickSeconds: number;
  readonly metricWindowSeconds: number;
  readonly staleMetricsSeconds: number;
  readonly leadTimeSeconds: number;
  /**
   * The longest lead time (plus period) among the services this one calls, directly or not: their floors
   * read this one's forecast that far ahead (dependency_ahead), so it is fitted at least that far.
   */
  readonly dependenciesLeadSeconds?: number;
  readonly forecast: DemandForecastSettings;
  readonly delta: DeltaSettings & { readonly windowTicks: number; readonly confirmWindows: number; readonly action: 'none' | 'horizontal' | 'shift' | 'vertical'; readonly verticalType?: string };
  /** Slots and service time per instance type (vertical scaling changes the live pool's type). */
  readonly types?: Readonly<Record<string, { readonly slots: number; readonly serviceTimeSeconds: number; readonly warmupSeconds?: number }>>;
  /** How long a new live instance may take to become ready (a type change rolls back after it). */
  readonly readyTimeoutSeconds?: number;
  /** Adaptive sampling (undefined: the rate stays as configured). */
  readonly sampling?: SamplingSettings;
  readonly capacityRefit?: { readonly minPairs: number; readonly everyTicks: number };
  /** Extra fraction above the forecast peak (or the demand) a proven configuration must carry. */
  readonly headroom?: number;
  /** Live utilization above which a scale-up is an emergency: the safety net acts unproven (the reactive target x (1 + tolerance)). */
  readonly emergencyUtilization?: number;
  /** act (default), or forecast-only: decide and record what would have been done, never act on production. */
  readonly mode?: ScalingMode;
  /** New live instances of a scale-out ramp in step by step, judged against the old (undefined: they join at full weight). */
  readonly rampIn?: ShiftSettings;
  /** New live instances of a scale-out take client requests only once their type's warm-up has passed since they were ready. */
  readonly warmBeforeTraffic?: boolean;
  /** A warm pool of pre-started live-type instances out of the balancer (undefined or size 0: none). */
  readonly warmPool?: { readonly size: number; readonly reuseOnScaleIn: boolean };
  /** After a type move rolled back, no type change for this long (default 600 s). */
  readonly typeRetrySeconds?: number;
  /** The version live runs at start (the latest completed rollout's, else the configured one; default "base"). */
  readonly version?: string;
  /** Versions each instance type defines ("base" always exists). */
  readonly versions?: Readonly<Record<string, readonly string[]>>;
  /** Version rollouts (control/rollout.ts); undefined: none can start. */
  readonly rollout?: RolloutConfig;
}

export interface WarmPoolState {
  readonly size: number;
  readonly ids: readonly string[];
  readonly ready: number;
  readonly instanceSeconds: number;
  /** Instances a scale-out took from the pool, and scaled-in ones it took back. */
  readonly claims: number;
  readonly returns: number;
}

/** An operator's override of the pool bounds, until `until` (ms since the epoch). */
export interface BoundsOverride {
  readonly min?: number;
  readonly max?: number;
  readonly until: number;
}

/** What an operator can see of the loop's own state (the API's service view). */
export interface LoopState {
  readonly mode: ScalingMode;
  readonly configMode: ScalingMode;
  readonly paused: boolean;
  /** Why decisions are not acted on now, if they are not. */
  readonly notActing: NotActing | null;
  readonly boundsOverride: BoundsOverride | null;
  /** The bounds decisions are held to now (the override applied). */
  readonly bounds: { readonly min: number; readonly max: number };
  readonly target: number;
  readonly instanceType: string;
  /** The version the live pool runs, and the shadow's (another one while a rollout judges it there). */
  readonly version: string;
  readonly shadowVersion: string;
  /** The rollout under way or the last one of this run. */
  readonly rollout: RolloutView | null;
  /** The warm pool (null: none configured): its instances, how many are ready, their cost in instance-seconds, claims and returns. */
  readonly warmPool: WarmPoolState | null;
  readonly perInstanceRps: number;
  readonly lastTick: TickReport | undefined;
  /** The most recent delta analyses, oldest first. */
  readonly deltas: readonly { readonly at: number; readonly result: DeltaResult }[];
  /** Counts since this loop started (Prometheus counters). */
  readonly counters: LoopCounters;
}

export interface LoopCounters {
  readonly ticks: number;
  /** Delta analyses by verdict. */
  readonly deltaVerdicts: Readonly<Record<string, number>>;
  readonly liveDegraded: number;
  readonly shadowDegraded: number;
  readonly shadowSyncs: number;
  readonly shadowSyncFailures: number;
  /** State copies into new live instances of a stateful service before they joined. */
  readonly liveStateCopies: number;
  readonly liveStateCopyFailures: number;
  /** Digest checks of synced shadows against live, and shadows found diverged (then re-synced). */
  readonly digestChecks: number;
  readonly shadowDivergences: number;
  /** Mutation-delta windows judged (services whose shadows get every mutation), by verdict, and the re-syncs a widening one caused. */
  readonly mutationDeltas: Readonly<Record<string, number>>;
  readonly mutationResyncs: number;
  readonly replacements: { readonly live: number; readonly shadow: number };
}

/** Reasons of decisions that are not the strategy's: operators' changes and switchovers' outcomes. */
const OPERATOR_REASONS: readonly Reason[] = ['operator_paused', 'operator_resumed', 'operator_mode', 'operator_bounds', 'operator_bounds_cleared', 'bounds_override_expired', 'operator_proof', 'switchover_promoted', 'switchover_rolled_back', 'rollout_started', 'rollout_stopped', 'rollout_shift_started', 'rollout_rolled_back', 'rollout_completed'];

export interface LoopDeps {
  readonly provider: Provider;
  readonly gateway: GatewayControl;
  readonly store: Store;
  readonly strategy: Strategy;
  /** Undefined for strategies that use no forecast (reactive). */
  readonly forecaster?: Forecaster;
  /** Proof before change (src/proof/gate.ts); undefined: off. */
  readonly gate?: ProofGate;
  /** ms since the epoch. */
  readonly now: () => number;
  readonly onEvent?: (e: LoopEvent) => void;
  /** A capacity trial of a version on the shadow (a rollout's); undefined: rollouts skip it. */
  readonly measureCapacity?: MeasureCapacity;
  /**
   * What the services calling this one need of it over `horizonSeconds` from `now` (ms): their expected
   * demand propagated along the dependency graph (runtime's Dependencies). Undefined: none call it.
   */
  readonly dependencyFloor?: (now: number, horizonSeconds: number) => DependencyFloor | undefined;
  /** Requests/s its callers' trials send its shadow (borrowed shadow capacity: the shadow grows for them). */
  readonly borrowedShadowRps?: () => number;
  /** A stateful service's write-rate forecaster (scaling.writeSignal): writes as a demand signal (mutations_ahead). */
  readonly writeForecaster?: Forecaster;
  /**
   * A shared shadow pool (shadowPool.mode: shared): told the shadow instances this service has and those
   * its callers' trials borrow, it answers how many this service may have. Undefined: a dedicated shadow
   * sized by shadow.fraction.
   */
  readonly shadowGrant?: (shadows: number, borrowedInstances: number) => number;
}

export type LoopEventKind = 'decision' | 'operator' | 'switchover' | 'rollout' | 'strategy_resumed' | 'replaced' | 'shadow_synced' | 'shadow_sync_failed' | 'live_degraded' | 'shadow_degraded' | 'shadow_diverged' | 'shadow_behind' | 'capacity_refit' | 'sampling' | 'vertical' | 'action_failed' | 'stopped' | 'trial_recovered' | 'trial_started' | 'trial_finished' | 'trial_deferred' | 'type_change' | 'ab_decision' | 'ab_action_failed' | 'metrics_missing' | 'metrics_history' | 'leadership';

export interface LoopEvent {
  readonly at: number;
  /** The service it is about (every loop's event names it; a run may supervise several). */
  readonly service?: string;
  readonly kind: LoopEventKind;
  readonly detail: string;
  readonly numbers?: Readonly<Record<string, number>>;
}

export interface TickReport {
  readonly at: number;
  readonly service: string;
  readonly tickMs: number;
  readonly liveRps: number;
  readonly liveP99Ms: number;
  /** Failed share of the tick's live requests (NaN without requests), and how many there were. */
  readonly liveErrorRate: number;
  readonly liveRequests: number;
  readonly shadowRps: number;
  readonly utilization: number;
  readonly live: { readonly requested: number; readonly ready: number };
  /** `dedicated`: the shadow instances a dedicated shadow would have (its fraction of the live target, plus what callers' trials borrow), whatever the pool. */
  readonly shadow: { readonly requested: number; readonly ready: number; readonly dedicated: number };
  readonly target: number;
  readonly forecastUpper: number;
  readonly decision?: Decision;
  /** The proof of the last decision (kept until the next one). */
  readonly proof?: DecisionProof;
  /** The live pool's instance type. */
  readonly instanceType: string;
  readonly trials: { readonly running: number; readonly instanceSeconds: number };
  readonly delta?: DeltaResult;
  /**
   * Mutations per second: live's and those its shadow answered; the live-vs-shadow mutation delta of the
   * window that ended this tick (services whose shadows get every mutation); and the write forecast's
   * upper bound at the last decision (stateful services with scaling.writeSignal).
   */
  readonly mutations: { readonly liveRps: number; readonly shadowRps: number; readonly delta?: MutationDelta; readonly forecastUpper?: number };
  readonly mirrorRate: number;
  /** The forecast for this tick's time (mean and interval), when there is one. */
  readonly forecast?: { readonly mean: number; readonly lower: number; readonly upper: number };
  /** Why this tick's decision (if any) was not acted on. */
  readonly notActing?: NotActing;
  /**
   * CPU, when the metrics source measures it (Prometheus' cpuCores signal): cores each pool used, and CPU
   * milliseconds per request (what a request costs live and on the shadow's candidate). Recorded, not a
   * scaling input: capacity is decided on requests and latency.
   */
  readonly cpu?: { readonly liveCores?: number; readonly shadowCores?: number; readonly liveMsPerRequest?: number; readonly shadowMsPerRequest?: number };
}

/** How far back a restart replays the recorded demand (the SLO policy's default calibration window). */
const WARM_START_SECONDS = 2 * 86_400;
/** How far back the daily peaks of the SLO policy are seeded from the store's minute rollups on a restart. */
const DAILY_PEAKS_SECONDS = 8 * 86_400;

/** The series the loop records each tick (pool "live" unless noted); the API and dashboard read them. */
export const METRIC = {
  liveRps: 'rps',
  /** Mutations (POST, PUT, PATCH, DELETE) per second: live's, and (pool "shadow") those the shadow answered. */
  mutationRps: 'mutation_rps',
  liveP99: 'p99_ms',
  liveErrors: 'error_rate',
  instances: 'instances',
  ready: 'ready',
  utilization: 'utilization',
  mirrorRate: 'mirror_rate',
  tickMs: 'tick_ms',
  perInstanceRps: 'capacity_rps',
  /** The target decisions set, or in forecast-only mode or paused, would have set. */
  desired: 'desired',
  forecastMean: 'forecast_mean',
  forecastLower: 'forecast_lower',
  forecastUpper: 'forecast_upper',
  /** CPU cores the pool used (live; pool "shadow": the shadow's), when the metrics source measures it. */
  cpuCores: 'cpu_cores',
} as const;

/** A tick's CPU figures: cores per pool, and CPU ms per request where the pool served any. */
export function cpuReport(live: IntervalPool, shadow: IntervalPool, dt: number): NonNullable<TickReport['cpu']> {
  const perRequest = (p: IntervalPool): number | undefined => (p.cpuCores !== undefined && p.requests > 0 ? (1000 * p.cpuCores * dt) / p.requests : undefined);
  const l = perRequest(live);
  const sh = perRequest(shadow);
  return {
    ...(live.cpuCores !== undefined ? { liveCores: live.cpuCores } : {}),
    ...(shadow.cpuCores !== undefined ? { shadowCores: shadow.cpuCores } : {}),
    ...(l !== undefined ? { liveMsPerRequest: l } : {}),
    ...(sh !== undefined ? { shadowMsPerRequest: sh } : {}),
  };
}

/** Ticks a ready live instance waits before it serves: its join at the next reconcile, and a stateful service's state copy before that. */
export const joinSeconds = (tickSeconds: number, sync: 'none' | 'snapshot'): number => tickSeconds * (sync === 'snapshot' ? 2 : 1);

/** Shadow instances for a live pool: `fraction` of its slots, in shadow instances' slots, at least one. */
export function shadowSize(fraction: number, liveInstances: number, liveSlots: number, shadowSlots: number): number {
  return Math.max(1, Math.ceil((fraction * Math.max(liveInstances, 1) * liveSlots) / shadowSlots - 1e-9));
}

export class ServiceLoop {
  private target: number;
  private actions: ActionHistory = NO_HISTORY;
  private lastDecisionAt = Number.NEGATIVE_INFINITY;
  private lastTickAt = Number.NaN;
  private lastSenseAt = Number.NEGATIVE_INFINITY;
  private metricsMissing = false;
  private forecast: Forecast | undefined;
  private lastFitAt = Number.NEGATIVE_INFINITY;
  /** The write-rate forecast (writeForecaster) and the requests served per write over its history. */
  private writeForecast: Forecast | undefined;
  private requestsPerWrite = Number.NaN;
  /** The write forecast's upper bound over the lead time at the last decision (NaN: none). */
  private writesUpper = Number.NaN;
  /** The mutation delta: the window being counted, the windows since the shadow targets last changed, and those targets. */
  private mutationWindow = { ticks: 0, live: 0, expected: 0, shadow: 0 };
  private mutationWindows: MutationWindow[] = [];
  private mutationTargets = '';
  /** Times a widening mutation delta synced the shadows again. */
  private mutationResyncs = 0;
  private readonly mutationVerdicts: Record<string, number> = {};
  private lastWriteFitAt = Number.NEGATIVE_INFINITY;
  private readonly window: WindowPoint[] = [];
  private readonly pendingCreates = new Map<string, 'live' | 'shadow'>();
  private readonly deleting = new Set<string>();
  private readonly members = new Set<string>();
  private shadowTargets = '';
  private readonly needsSync = new Set<string>();
  private readonly syncing = new Set<string>();
  /** Shadows whose versioned sync has begun (their mutations wait in the mirror): per origin, the lowest stamp that may still reach them. */
  private readonly syncBegun = new Map<string, Record<string, number>>();
  private digestChecks = 0;
  private shadowDivergences = 0;
  private lastDigestAt = Number.NEGATIVE_INFINITY;
  private digesting = false;
  private readonly digestMismatch = new Map<string, number>();
  private deltaLive: IntervalPool[] = [];
  private deltaShadow: IntervalPool[] = [];
  private deltaReady: { live: number; shadow: number }[] = [];
  private streakLive = 0;
  private streakShadow = 0;
  private pendingDeltaAction = false;
  private mirrorRate = Number.NaN;
  private lastRps = Number.NaN;
  /** The load callers were expected to send at the last decision (req/s; 0 when none call it). */
  private propagatedRps = 0;
  private readonly pairs: LoadLatency[] = [];
  private ticks = 0;
  private decisionSeq = 0;
  private perInstanceRps: number;
  private serviceTime: number;
  /** The live pool's instance type and its slots (vertical scaling changes them). */
  private liveType: string;
  private slots: number;
  /** Minutes of live traffic judged against the SLO, and those that violated it (tick by tick). */
  private sloJudged = 0;
  private sloViolated = 0;
  private typeKnown = false;
  private lastProof: DecisionProof | undefined;
  /** The trial whose proven rate is the capacity the strategies plan with (undefined: the model's). */
  private measuredBy: string | undefined;
  private mode: ScalingMode;
  private paused = false;
  private override: BoundsOverride | undefined;
  private desired: number;
  private lastReport: TickReport | undefined;
  private readonly deltas: { at: number; result: DeltaResult }[] = [];
  /** Live instances created while others served: they warm and ramp in (when configured) before a full share. */
  private readonly gradual = new Set<string>();
  /** Ready live instances still warming before they take client requests (warmBeforeTraffic). */
  private readonly warming = new Set<string>();
  /** New live instances of a stateful service that get a serving instance's state before they join (and those copying now). */
  private readonly liveCopy = new Set<string>();
  private readonly liveCopying = new Set<string>();
  /** A ramp-in under way: its new members, its state, and the traffic of new and old members since its step began. */
  private ramp: (GroupWindow & { state: ShiftState; ids: Set<string> }) | undefined;
  private readonly deltaVerdicts: Record<string, number> = {};
  private liveVersion: string;
  private shadowVersion: string;
  private rollout: Rollout | undefined;
  /** The warm pool's instances (kept in the store before one joins or leaves it), its ready ones this tick, and what it cost and did. */
  private readonly warmIds: Set<string>;
  private warmReady: Instance[] = [];
  /** Taken from the warm pool this tick: requested live instances until the next tick lists them as live. */
  private readonly claimed = new Set<string>();
  private warmSeconds = 0;
  private warmClaims = 0;
  private warmReturns = 0;
  private warmTargets = '';
  /** A ramp-in a restart interrupted: its instances (kept in the store as they joined) are rolled back at the first tick. */
  private rampLeft: Set<string> | undefined;
  /** Switchovers a restart rolled back (their instances are not the live pool's). */
  private readonly rolledBack = new Set<string>();
  private deltaStartedAt = Number.NaN;
  private liveDegraded = 0;
  private shadowDegraded = 0;
  private shadowSyncs = 0;
  private liveCopies = 0;
  private liveCopyFailures = 0;
  private shadowSyncFailures = 0;
  /** Shadow instances created to replace failed ones (for tests and the demo's summary). */
  shadowReplacements = 0;
  liveReplacements = 0;

  constructor(
    private readonly s: LoopSettings,
    private readonly d: LoopDeps,
  ) {
    this.target = s.initialInstances;
    this.mode = s.mode ?? 'act';
    this.perInstanceRps = maxRateAtSlo(s.slots, s.serviceTimeSeconds, s.sloLatencySeconds);
    this.serviceTime = s.serviceTimeSeconds;
    this.liveType = s.instanceType;
    this.slots = s.slots;
    this.liveVersion = s.version ?? BASE_VERSION;
    this.shadowVersion = this.liveVersion;
    this.warmIds = new Set(d.store.warmPool(s.service));
    const ramped = d.store.ids(`ramp:${s.service}`);
    if (ramped.length > 0) this.rampLeft = new Set(ramped);
    // A restart resumes from the store: the last recorded target and its sequence.
    const last = d.store.decisions({ service: s.service, limit: 1 })[0];
    if (last) {
      this.target = last.target;
      this.decisionSeq = last.seq;
      // The period runs from the strategy's last decision, not from an operator's change.
      const strategyLast = d.store.decisionsPage({ service: s.service, limit: 50 }).decisions.find((r) => !OPERATOR_REASONS.includes(r.decision.reason));
      this.lastDecisionAt = (strategyLast ?? last).decision.at * 1000;
    }
    this.desired = this.target;
    this.restoreOperatorState();
    this.warmStart();
  }

  /**
   * An operator's changes survive a restart (they are recorded as decisions): a pause holds until a
   * resume, a bounds override until its end, and a mode set through the API while the configuration
   * still says what it said then (a configuration changed since wins).
   */
  private restoreOperatorState(): void {
    const service = this.s.service;
    const now = this.d.now();
    const pause = this.d.store.latestDecision(service, OPERATOR_STATE_REASONS.pause);
    this.paused = pause?.decision.reason === 'operator_paused';
    const bounds = this.d.store.latestDecision(service, OPERATOR_STATE_REASONS.bounds);
    const op = bounds?.decision.operator;
    if (bounds?.decision.reason === 'operator_bounds' && op?.until !== undefined && op.until > now) this.override = { ...(op.min !== undefined ? { min: op.min } : {}), ...(op.max !== undefined ? { max: op.max } : {}), until: op.until };
    const mode = this.d.store.latestDecision(service, OPERATOR_STATE_REASONS.mode)?.decision.operator;
    if (mode?.mode && mode.configMode === (this.s.mode ?? 'act')) this.mode = mode.mode;
  }

  /** Mode, pause, bounds override, target and the latest tick: the API's view of this service. */
  state(): LoopState {
    const now = this.d.now();
    const o = this.override && this.override.until > now ? this.override : undefined;
    const b = this.effectiveBounds(now);
    return {
      mode: this.mode,
      configMode: this.s.mode ?? 'act',
      paused: this.paused,
      notActing: this.notActing(),
      boundsOverride: o ?? null,
      bounds: { min: b.minInstances, max: b.maxInstances },
      target: this.target,
      instanceType: this.liveType,
      version: this.liveVersion,
      shadowVersion: this.shadowVersion,
      rollout: this.rollout?.view() ?? null,
      warmPool: this.s.warmPool && this.s.warmPool.size > 0 ? { size: this.s.warmPool.size, ids: [...this.warmIds].sort(), ready: this.warmReady.length, instanceSeconds: this.warmSeconds, claims: this.warmClaims, returns: this.warmReturns } : null,
      perInstanceRps: this.perInstanceRps,
      lastTick: this.lastReport,
      deltas: [...this.deltas],
      counters: {
        ticks: this.ticks,
        deltaVerdicts: { ...this.deltaVerdicts },
        liveDegraded: this.liveDegraded,
        shadowDegraded: this.shadowDegraded,
        shadowSyncs: this.shadowSyncs,
        shadowSyncFailures: this.shadowSyncFailures,
        liveStateCopies: this.liveCopies,
        liveStateCopyFailures: this.liveCopyFailures,
        digestChecks: this.digestChecks,
        shadowDivergences: this.shadowDivergences,
        mutationDeltas: { ...this.mutationVerdicts },
        mutationResyncs: this.mutationResyncs,
        replacements: { live: this.liveReplacements, shadow: this.shadowReplacements },
      },
    };
  }

  private notActing(): NotActing | null {
    return this.mode === 'forecast-only' ? 'forecast-only' : this.paused ? 'paused' : null;
  }

  private effectiveBounds(now: number): ActionBounds {
    const o = this.override;
    if (!o || o.until <= now) return this.s.bounds;
    return { ...this.s.bounds, minInstances: o.min ?? this.s.bounds.minInstances, maxInstances: o.max ?? this.s.bounds.maxInstances };
  }

  /**
   * Record an operator's change as a decision (before it applies): the target is unchanged. `change`, when
   * given, is made in the same transaction as the record (a declared event kept or removed): a kill between
   * them leaves both or neither.
   */
  private recordOperator(reason: Reason, operator: OperatorAction, numbers: Record<string, number> = {}, change?: () => void): number {
    const decision: Decision = { strategy: this.d.strategy.name, at: this.d.now() / 1000, current: this.target, desired: this.target, reason, numbers, operator };
    const record = (): number => {
      const n = this.d.store.addDecision(this.s.service, decision, this.target, null, false);
      change?.();
      return n;
    };
    const seq = change ? this.d.store.atomically(record) : record();
    this.emit('operator', `${reason}${operator.mode ? ` ${operator.mode}` : ''}${operator.min !== undefined || operator.max !== undefined ? ` min ${operator.min ?? '-'} max ${operator.max ?? '-'} until ${new Date(operator.until ?? 0).toISOString()}` : ''} by ${operator.by}`, { seq, ...numbers });
    return seq;
  }

  /** Stop acting on decisions (they are still made and recorded as what would have been done). Returns the decision's sequence number. */
  pause(by: string, note?: string): number {
    const seq = this.recordOperator('operator_paused', { by, ...(note ? { note } : {}) });
    this.paused = true;
    return seq;
  }

  resume(by: string, note?: string): number {
    const seq = this.recordOperator('operator_resumed', { by, ...(note ? { note } : {}) });
    this.paused = false;
    return seq;
  }

  setMode(mode: ScalingMode, by: string, note?: string): number {
    const seq = this.recordOperator('operator_mode', { by, mode, configMode: this.s.mode ?? 'act', ...(note ? { note } : {}) });
    this.mode = mode;
    return seq;
  }

  /**
   * Override the pool bounds until `until` (ms). Checked against each other and the configured bounds
   * by the caller (src/api); the next decision is held to them.
   */
  overrideBounds(o: BoundsOverride, by: string, note?: string): number {
    const seq = this.recordOperator('operator_bounds', { by, ...(o.min !== undefined ? { min: o.min } : {}), ...(o.max !== undefined ? { max: o.max } : {}), until: o.until, ...(note ? { note } : {}) }, { ...(o.min !== undefined ? { min: o.min } : {}), ...(o.max !== undefined ? { max: o.max } : {}), seconds: (o.until - this.d.now()) / 1000 });
    this.override = { ...o };
    return seq;
  }

  /** Remove the bounds override; undefined when there was none. */
  clearBounds(by: string, note?: string): number | undefined {
    if (!this.override || this.override.until <= this.d.now()) return undefined;
    const seq = this.recordOperator('operator_bounds_cleared', { by, ...(note ? { note } : {}) });
    this.override = undefined;
    return seq;
  }

  /**
   * Declare a known event at run time (the API): kept in the store, read with the configured ones at every
   * refit, so the next forecast has it (src/core/events.ts). A yearly one may come without a size (multiplier
   * null): the forecasts then use the size its last occurrence showed (learnedEventSize). Recorded as a
   * decision in the same transaction. Checked by the caller (src/api/schemas.ts).
   */
  declareEvent(e: { name: string; start: number; end: number; recurrence: KnownEvent['recurrence']; multiplier: number | null }, by: string, note?: string): { id: string; seq: number } {
    const id = `ev-${this.d.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const event = { id, name: e.name, start: e.start, end: e.end, recurrence: e.recurrence, multiplier: e.multiplier };
    const seq = this.recordOperator('operator_event', { by, event, ...(note ? { note } : {}) }, { ...(e.multiplier !== null ? { multiplier: e.multiplier } : {}), start: e.start / 1000, end: e.end / 1000 }, () =>
      this.d.store.addDeclaredEvent({ ...event, service: this.s.service, createdAt: this.d.now(), by, note: note ?? null }),
    );
    // Refit at the next tick: a campaign an operator just announced may start within the lead time.
    this.lastFitAt = Number.NEGATIVE_INFINITY;
    return { id, seq };
  }

  /** Forget a declared event; undefined when the service has none with that id. */
  removeEvent(id: string, by: string, note?: string): number | undefined {
    const e = this.d.store.declaredEvents(this.s.service).find((x) => x.id === id);
    if (!e) return undefined;
    const seq = this.recordOperator('operator_event_removed', { by, event: { id, name: e.name, start: e.start, end: e.end, recurrence: e.recurrence, multiplier: e.multiplier }, ...(note ? { note } : {}) }, {}, () => {
      this.d.store.removeDeclaredEvent(this.s.service, id);
    });
    this.lastFitAt = Number.NEGATIVE_INFINITY;
    return seq;
  }

  /** The known events the forecasts use: the configuration's and those declared at run time, yearly ones of unknown size with the size the store's history shows (epoch seconds). */
  knownEvents(): KnownEvent[] {
    return forecastEvents(this.d.store, this.s.service, this.s.forecast.events ?? [], this.d.now());
  }

  /**
   * Ask the proof gate for a trial of `instanceType` (default: the live pool's) around `perInstanceRps`
   * (default: the rate per instance the strategies plan with). Recorded as a decision once queued; a
   * request the gate cannot take throws SHADOWSCALE_E_CONFLICT saying why, and records nothing.
   */
  requestProof(by: string, o: { instanceType?: string; perInstanceRps?: number; note?: string }): { seq: number; instanceType: string; perInstanceRps: number } {
    const gate = this.d.gate;
    const instanceType = o.instanceType ?? this.liveType;
    const perInstanceRps = o.perInstanceRps ?? this.perInstanceRps;
    if (!gate) throw new ShadowscaleError('SHADOWSCALE_E_CONFLICT', 'scaling.proof is off: no trials run; set it to required or advisory');
    if (gate.mode !== 'off' && !gate.typeNames.includes(instanceType)) throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body.instanceType: "${instanceType}" is not a type the gate proves (have: ${gate.typeNames.join(', ')}; scaling.trials.types adds more)`);
    // Queued (a refusal records nothing), then recorded: the trial itself starts at the next tick, after the record.
    const why = gate.request(instanceType, perInstanceRps);
    if (why) throw new ShadowscaleError('SHADOWSCALE_E_CONFLICT', why);
    const seq = this.recordOperator('operator_proof', { by, instanceType, perInstanceRps, ...(o.note ? { note: o.note } : {}) }, { perInstanceRps });
    return { seq, instanceType, perInstanceRps };
  }

  /**
   * Why no type change may start now: a switchover under way, or a type move that rolled back (in this run,
   * or before a restart) less than typeRetrySeconds ago. Undefined: one may.
   */
  private typeChangeBlocked(now: number): string | undefined {
    if (this.rollout && !this.rollout.done) return `${this.rollout.move ? 'a type move' : 'a rollout'} (${this.rollout.id}) is under way`;
    const retryMs = (this.s.typeRetrySeconds ?? 600) * 1000;
    const last = this.d.store
      .experiments({ service: this.s.service, kind: ROLLOUT_KIND })
      .filter((e) => e.verdict === 'rolled_back' && (e.config as { move?: unknown } | null)?.move !== undefined)
      .reduce((a, e) => Math.max(a, e.finishedAt ?? 0), 0);
    if (now - last < retryMs) return `a type move rolled back ${((now - last) / 1000).toFixed(0)} s ago (scaling.switchover.typeRetrySeconds: ${retryMs / 1000})`;
    return undefined;
  }

  /** Whether the live pool is moving to another instance type (a type move's switchover is under way). */
  private get resizing(): boolean {
    return this.rollout !== undefined && !this.rollout.done && this.rollout.move !== undefined;
  }

  /**
   * Start a version rollout to `to` (control/rollout.ts). Refused (SHADOWSCALE_E_CONFLICT, nothing
   * recorded) while one runs, while the pool moves to another type, when not acting, or when `to` is the
   * live version; an unknown version is an input error. Returns the rollout's view once it is on record.
   */
  startRollout(to: string, by: string): RolloutView {
    const s = this.s;
    if (!s.rollout) throw new ShadowscaleError('SHADOWSCALE_E_CONFLICT', 'rollouts are not configured for this loop');
    const known = (type: string): boolean => to === BASE_VERSION || (s.versions?.[type] ?? []).includes(to);
    for (const type of new Set([this.liveType, s.shadow.instanceType])) {
      if (!known(type)) throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body.to: instance type "${type}" has no version "${to}" (have: ${[BASE_VERSION, ...(s.versions?.[type] ?? [])].join(', ')}; instanceTypes.${type}.versions defines them)`);
    }
    if (this.resizing) throw new ShadowscaleError('SHADOWSCALE_E_CONFLICT', `the live pool is moving to instance type ${this.rollout?.move?.toType ?? '?'}; start the rollout once the move completes`);
    if (this.rollout && !this.rollout.done) throw new ShadowscaleError('SHADOWSCALE_E_CONFLICT', `rollout ${this.rollout.id} (${this.rollout.from} -> ${this.rollout.to}) is under way; wait for its outcome`);
    if (to === this.liveVersion) throw new ShadowscaleError('SHADOWSCALE_E_CONFLICT', `live already runs ${to}`);
    const notActing = this.notActing();
    if (notActing) throw new ShadowscaleError('SHADOWSCALE_E_CONFLICT', `the loop is not acting (${notActing}): a rollout changes production; resume or set the mode to act first`);
    const id = `${s.service}-rollout-${this.d.now().toString(36)}`;
    this.rollout = new Rollout(this.rolloutHost(), id, this.liveVersion, to, s.rollout, by);
    return this.rollout.view();
  }

  /** The rollout under way, or the last one of this run. */
  rolloutView(): RolloutView | undefined {
    return this.rollout?.view();
  }

  /** The run stops: a rollout's trial is aborted (the rollout itself stays open and is rolled back at the next start). */
  async close(): Promise<void> {
    await this.rollout?.close();
  }

  private rolloutHost(): RolloutHost {
    const d = this.d;
    const s = this.s;
    return {
      service: s.service,
      provider: d.provider,
      gateway: d.gateway,
      store: d.store,
      now: d.now,
      emit: (detail, numbers) => this.emit('rollout', detail, numbers),
      record: (reason, numbers, target) => {
        const now = d.now();
        const decision: Decision = { strategy: d.strategy.name, at: now / 1000, current: this.target, desired: target ?? this.target, reason, numbers };
        return d.store.addDecision(s.service, decision, target ?? this.target, null, false);
      },
      live: () => ({
        version: this.liveVersion,
        type: this.liveType,
        target: this.target,
        perInstanceRps: this.perInstanceRps,
        minInstances: this.effectiveBounds(d.now()).minInstances,
        maxInstances: this.effectiveBounds(d.now()).maxInstances,
        slots: this.slots,
        serviceTime: this.serviceTime,
        members: this.members,
        warmupSeconds: s.types?.[this.liveType]?.warmupSeconds ?? 0,
        readyTimeoutSeconds: s.readyTimeoutSeconds ?? 60,
      }),
      delta: () => s.delta,
      setShadowVersion: (v) => {
        this.shadowVersion = v;
      },
      needsSync: (id) => this.needsSync.has(id) && s.shadow.sync === 'snapshot',
      adopt: (version, ids, target, perInstanceRps, type) => {
        const spec = type !== undefined ? s.types?.[type] : undefined;
        if (type !== undefined && spec) this.adoptType(type, spec);
        if (version !== this.liveVersion) {
          // Proofs of the old version prove nothing about the new: the gate trials the new one from now on,
          // and the rollout's measured capacity stands until a proof of it (measuredCapacity) replaces it.
          this.d.gate?.setVersion(version);
          this.measuredBy = undefined;
        }
        this.liveVersion = version;
        for (const id of ids) this.members.add(id);
        this.target = target;
        this.desired = target;
        if (perInstanceRps > 0 && perInstanceRps < this.perInstanceRps) {
          this.perInstanceRps = perInstanceRps;
          d.strategy.updateCapacity?.(perInstanceRps);
        }
      },
      remove: (i, why) => this.remove(i, why),
      ...(d.measureCapacity ? { measureCapacity: d.measureCapacity } : {}),
    };
  }

  /** The configured bounds (before any override). */
  get configuredBounds(): ActionBounds {
    return this.s.bounds;
  }

  /**
   * A strategy that learns online (the SLO policy) resumes too: the recorded live demand of the last
   * calibration window (raw samples: 6 h by default) is replayed through it, and the risk of the latest
   * decision that carried one is restored with the time it had adapted over (so the rate stays as slow as
   * it had become). Without this, every restart calibrated from nothing with the
   * cold margin (docs/design/live-loop.md).
   */
  private warmStart(): void {
    const strategy = this.d.strategy;
    if (!strategy.warmStart) return;
    const now = this.d.now();
    const history = this.d.store
      .series({ service: this.s.service, pool: 'live', metric: METRIC.liveRps, from: now - WARM_START_SECONDS * 1000, to: now, resolution: 1 })
      .filter((p) => Number.isFinite(p.mean))
      .map((p) => ({ at: p.ts / 1000, rps: p.mean }));
    const last = this.d.store
      .decisions({ service: this.s.service, limit: 100 })
      .map((r) => r.decision.numbers)
      .filter((n) => typeof n.risk === 'number' && Number.isFinite(n.risk))
      .pop();
    const risk = last?.risk;
    // The daily peaks (docs/design/strategies.md step 2) look back a week: per-minute means before the replay.
    const daily = this.d.store
      .series({ service: this.s.service, pool: 'live', metric: METRIC.liveRps, from: now - DAILY_PEAKS_SECONDS * 1000, to: history.length ? (history[0] as { at: number }).at * 1000 : now, resolution: 60 })
      .filter((p) => Number.isFinite(p.mean))
      .map((p) => ({ at: p.ts / 1000, rps: p.mean }));
    if (history.length === 0 && daily.length === 0 && risk === undefined) return;
    const adaptedMinutes = typeof last?.adaptedMinutes === 'number' && Number.isFinite(last.adaptedMinutes) ? last.adaptedMinutes : undefined;
    // What the last run had reached, passed to the strategy and reported as it is.
    const restoredNumbers = { ...(risk !== undefined ? { risk } : {}), ...(adaptedMinutes !== undefined ? { adaptedMinutes } : {}) };
    const { replayed, blind } = strategy.warmStart(history, { ...restoredNumbers, daily, staleSeconds: this.s.staleMetricsSeconds });
    const restored = risk !== undefined ? `, risk ${risk.toPrecision(3)} restored${adaptedMinutes !== undefined ? ` (adapted over ${Math.round(adaptedMinutes)} min)` : ''}` : '';
    const seeded = daily.length ? `, ${daily.length} older per-minute point(s) seeding the daily peaks` : '';
    const holes = blind ? `, ${blind} hole(s) in them (metrics missing) replayed as blind episodes` : '';
    this.emit('strategy_resumed', `${strategy.name} resumed from the store: ${replayed} recorded demand point(s) replayed${holes}${seeded}${restored}`, { replayed, blindEpisodes: blind, dailyPoints: daily.length, ...restoredNumbers });
  }

  /**
   * The demand this service expects over `horizonSeconds` from `now` (ms), req/s: the larger of its
   * forecast's upper bound, what it serves now and what its own callers are expected to send it. NaN when
   * none is known (a dependency then gets no floor from it).
   */
  expectedDemandRps(now: number, horizonSeconds: number): number {
    const own = this.forecast ? forecastPeak(this.forecast, now / 1000, now / 1000 + horizonSeconds)?.upper : undefined;
    const known = [own ?? Number.NaN, this.lastRps, this.propagatedRps > 0 ? this.propagatedRps : Number.NaN].filter(Number.isFinite);
    return known.length > 0 ? Math.max(...known) : Number.NaN;
  }

  /** Requests/s one shadow instance serves at the SLO (its type's model). */
  /** Requests/s one live instance serves at busy-slot utilization `u` (slots over the service time). */
  rpsAtUtilization(u: number): number {
    return (u * this.slots) / this.serviceTime;
  }

  get shadowPerInstanceRps(): number {
    const t = this.s.types?.[this.s.shadow.instanceType];
    return maxRateAtSlo(this.s.shadow.slots, t?.serviceTimeSeconds ?? this.s.serviceTimeSeconds, this.s.sloLatencySeconds);
  }

  get serviceName(): string {
    return this.s.service;
  }

  get currentTarget(): number {
    return this.target;
  }

  private emit(kind: LoopEventKind, detail: string, numbers?: Record<string, number>): void {
    this.d.onEvent?.({ at: this.d.now(), service: this.s.service, kind, detail, ...(numbers ? { numbers } : {}) });
  }

  private instanceEvent(kind: InstanceEvent['kind'], i: Instance, detail?: string): void {
    this.d.store.addEvent({ at: this.d.now(), kind, instance: i.id, service: i.service, pool: i.pool, ...(detail ? { detail } : {}) });
  }

  /** One tick of the loop. */
  async tick(): Promise<TickReport> {
    const t0 = performance.now();
    const now = this.d.now();
    const s = this.s;
    this.ticks++;

    // 1. Sense.
    const [interval, listed] = await Promise.all([this.d.gateway.interval(), this.d.provider.list({ service: s.service })]);
    // Trial and A/B arm instances (src/proof) belong to their experiment: never a shadow, never repaired or counted here.
    const all = listed.filter((i) => i.labels.trial === undefined && i.labels.ab === undefined);
    const dt = Number.isFinite(this.lastTickAt) ? Math.max(1e-3, (now - this.lastTickAt) / 1000) : s.tickSeconds;
    this.lastTickAt = now;
    const usable = (i: Instance): boolean => i.state !== 'failed' && i.state !== 'draining' && !this.deleting.has(i.id);
    this.claimed.clear();
    if (this.rampLeft) this.rollBackInterruptedRamp(all, now);
    // The warm pool's instances are live-pool instances out of the balancer: not counted, not members.
    const pooled = all.filter((i) => i.pool === 'live' && this.warmIds.has(i.id));
    const live = all.filter((i) => i.pool === 'live' && !this.warmIds.has(i.id));
    const shadow = all.filter((i) => i.pool === 'shadow');
    const liveUp = live.filter(usable);
    const liveReady = liveUp.filter((i) => i.state === 'ready');
    const shadowUp = shadow.filter(usable);
    const shadowReady = shadowUp.filter((i) => i.state === 'ready');
    const liveRps = interval.live.requests / dt;
    const liveLat = meanOf(interval.live.buckets);
    // Instances warming before traffic serve nothing yet: utilization is of those that serve (as of the last reconcile).
    const serving = liveReady.filter((i) => !this.warming.has(i.id)).length;
    // An interval the metrics source could not measure senses nothing: no sample, and after
    // staleMetricsSeconds no scale-in (reported once per outage).
    if (interval.missing !== undefined) {
      if (!this.metricsMissing) this.emit('metrics_missing', `metrics missing: ${interval.missing}; no scale-in until they are back`);
      this.metricsMissing = true;
    } else {
      this.metricsMissing = false;
      this.window.push({ at: now, requests: interval.live.requests, latencySumMs: liveLat.n ? liveLat.mean * liveLat.n : 0, ready: serving });
      if (interval.live.requests > 0 || liveReady.length > 0) this.lastSenseAt = now;
    }
    trimWindow(this.window, now, s.metricWindowSeconds * 1000);
    // The SLO as the strategies judge it (the simulator's minutes): each tick with traffic counts as dt/60
    // of a minute, violated when its p99 or its error rate misses the objective.
    if (interval.live.requests > 0) {
      this.sloJudged += dt / 60;
      const live = { requests: interval.live.requests, errors: interval.live.errors, p99Ms: interval.live.latencyMs.p99 };
      if (tickViolatesSlo(live, { latencyP99Ms: s.sloLatencySeconds * 1000, errorRate: s.sloErrorRate ?? 1 })) this.sloViolated += dt / 60;
    }

    // After a restart, the live pool's type is what its instances run (a vertical move survives).
    // The instances of a switchover a restart rolled back do not count (a type move rolled back keeps the old type).
    if (!this.typeKnown && liveUp.length > 0) {
      this.typeKnown = true;
      for (const e of this.d.store.experiments({ service: s.service, kind: ROLLOUT_KIND })) if (e.verdict === 'rolled_back') this.rolledBack.add(e.id);
      const counts = new Map<string, number>();
      for (const i of liveUp) if (!this.rolledBack.has(i.labels.switchover ?? '')) counts.set(i.instanceType, (counts.get(i.instanceType) ?? 0) + 1);
      const [common] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? [this.liveType];
      const spec = s.types?.[common];
      if (common !== this.liveType && spec) this.adoptType(common, spec);
    }

    // 2. Reconcile the gateway's membership with the provider.
    // A switchover's new group is the switchover's to weigh. Instances of another version or type than
    // live's (a switchover a restart rolled back, a configuration changed) serve until live's own are
    // enough, then go.
    const rollout = this.rollout && !this.rollout.done ? this.rollout : undefined;
    const own = (i: Instance): boolean => versionOf(i) === this.liveVersion && i.instanceType === this.liveType && !this.rolledBack.has(i.labels.switchover ?? '') && !rollout?.owns(i.id);
    const ownReady = liveReady.filter(own).length;
    for (const i of liveReady) {
      if (rollout?.owns(i.id)) continue;
      if (!own(i)) {
        if (ownReady >= Math.max(1, this.target)) {
          this.remove(i, `runs ${i.instanceType} ${versionOf(i)}, not the live pool's ${this.liveType} ${this.liveVersion}`);
          continue;
        }
      }
      if (!this.members.has(i.id)) {
        // A stateful service's instance created while others served gets one's state first; if none serves any more, it joins empty.
        if (this.liveCopy.has(i.id)) {
          const source = liveReady.find((x) => this.members.has(x.id) && !this.deleting.has(x.id));
          if (source) {
            if (!this.liveCopying.has(i.id)) void this.copyLiveState(i, source);
            continue;
          }
          this.liveCopy.delete(i.id);
          this.emit('switchover', `${i.id} joins without a state copy: no instance serves to copy from`);
        }
        // An instance created while others served warms before it takes client requests (not the first ones, nor adopted ones).
        if (s.warmBeforeTraffic && this.gradual.has(i.id)) {
          const warmupMs = (s.types?.[i.instanceType]?.warmupSeconds ?? 0) * 1000;
          if (now - (i.readyAt ?? now) < warmupMs) {
            if (!this.warming.has(i.id)) this.emit('switchover', `${i.id} warming for ${warmupMs / 1000} s before it takes client requests`, { warmupSeconds: warmupMs / 1000 });
            this.warming.add(i.id);
            continue;
          }
        }
        this.warming.delete(i.id);
        // Instances created while others served ramp in beside them (not the first ones, nor adopted ones).
        const rampIn = s.rampIn !== undefined && this.gradual.has(i.id);
        this.gradual.delete(i.id);
        if (rampIn) this.joinRamp(i.id, now);
        await this.d.gateway.addLive(i.url, rampIn ? this.rampWeight() : 1, i.id);
        this.members.add(i.id);
      }
    }
    const keepIds = new Set(liveReady.filter((i) => !this.deleting.has(i.id)).map((i) => i.id));
    for (const id of [...this.members]) {
      if (!keepIds.has(id)) {
        this.members.delete(id);
        await this.d.gateway.drain(id);
      }
    }
    if (this.ramp) await this.stepRamp(now, dt, interval.members, all);
    // The shadow runs the shadow version (a rollout's new one while it is judged there): others are replaced.
    for (const i of shadowUp) if (versionOf(i) !== this.shadowVersion) this.remove(i, `the shadow moves to ${this.shadowVersion}`);
    const shadowOwn = shadowUp.filter((i) => versionOf(i) === this.shadowVersion);
    const targets = shadowReady.filter((i) => !this.needsSync.has(i.id) || s.shadow.sync === 'none').map((i) => i.url);
    // A shadow that needs a state copy: its sync begins (the mirror holds its mutations from then on),
    // then it is a mirror target, then the snapshot is copied and the held mutations released, except those
    // the snapshot already has (the versioned sync: docs/design/live-loop.md).
    if (s.shadow.sync === 'snapshot') {
      for (const i of shadowReady) {
        if (this.needsSync.has(i.id) && !this.syncBegun.has(i.id) && !this.deleting.has(i.id)) this.syncBegun.set(i.id, await this.d.gateway.beginSync(i.url));
      }
    }
    const syncTargets = shadowReady.filter((i) => this.needsSync.has(i.id) && this.syncBegun.has(i.id) && s.shadow.sync === 'snapshot').map((i) => i.url);
    const allTargets = [...targets, ...syncTargets].sort().join(',');
    if (allTargets !== this.shadowTargets) {
      this.shadowTargets = allTargets;
      await this.d.gateway.setShadowTargets(allTargets ? allTargets.split(',') : []);
    }
    // Warming targets: the warm pool's ready instances and new live instances warming before they serve get
    // sampled reads (answers discarded), so they are warm by serving, not by time alone.
    const warmUrls = [...pooled.filter((i) => i.state === 'ready' && usable(i)), ...liveReady.filter((i) => this.warming.has(i.id))].map((i) => i.url).sort().join(',');
    if (warmUrls !== this.warmTargets) {
      this.warmTargets = warmUrls;
      await this.d.gateway.setWarmTargets(warmUrls ? warmUrls.split(',') : []);
    }

    // 3. Repair: failed instances go; the live pool is refilled to the target, the shadow to its size.
    for (const i of all.filter((x) => x.state === 'failed' && !this.deleting.has(x.id))) {
      this.remove(i, 'failed');
      if (i.pool === 'live') this.liveReplacements++;
      else this.shadowReplacements++;
      this.emit('replaced', `${i.pool} instance ${i.id} failed (${i.failure ?? 'unknown'}); replaced`);
    }
    for (const i of shadowReady) if (this.needsSync.has(i.id) && this.syncBegun.has(i.id) && !this.syncing.has(i.id) && s.shadow.sync === 'snapshot') void this.sync(i, liveReady);
    this.checkDigests(now, shadowReady, liveReady);
    // Requested and not listed yet: creates under way (the warm pool's apart), and live instances claimed from the warm pool this tick.
    const pending = (pool: 'live' | 'shadow'): number => [...this.pendingCreates].filter(([id, p]) => p === pool && !this.warmIds.has(id)).length + (pool === 'live' ? this.claimed.size : 0);
    this.tendWarmPool(pooled, dt);
    // While the pool moves to another instance type, the old type's instances are extra capacity until the
    // move removes them: counts, repair and decisions are of the new type's instances.
    const liveOwn = liveUp.filter(own);
    const liveRequested = liveOwn.length + pending('live');
    if (liveRequested < this.target) this.createLive(this.target - liveRequested, `r${now.toString(36)}`);
    const borrowed = this.d.borrowedShadowRps?.() ?? 0;
    const borrowedInstances = borrowed > 0 ? Math.ceil(borrowed / this.shadowPerInstanceRps - 1e-9) : 0;
    const shadowDedicated = shadowSize(s.shadow.fraction, this.target, this.slots, s.shadow.slots) + borrowedInstances;
    const shadowRequested = shadowOwn.length + pending('shadow');
    // A shared shadow pool grants this service its minimum and what callers' trials borrow of it, as far as it holds them.
    const shadowWanted = this.d.shadowGrant ? this.d.shadowGrant(shadowRequested, borrowedInstances) : shadowDedicated;
    if (shadowRequested < shadowWanted) this.createShadow(shadowWanted - shadowRequested);
    else if (shadowRequested > shadowWanted) for (const i of [...shadowOwn].sort((a, b) => b.createdAt - a.createdAt).slice(0, shadowRequested - shadowWanted)) this.remove(i, 'shadow resized');

    // An override that reached its end is recorded once, then the configured bounds apply.
    if (this.override && this.override.until <= now) {
      const o = this.override;
      this.override = undefined;
      const decision: Decision = { strategy: this.d.strategy.name, at: now / 1000, current: this.target, desired: this.target, reason: 'bounds_override_expired', numbers: { ...(o.min !== undefined ? { min: o.min } : {}), ...(o.max !== undefined ? { max: o.max } : {}) } };
      this.d.store.addDecision(s.service, decision, this.target, null, false);
      this.emit('operator', 'bounds_override_expired: the configured bounds apply again');
    }
    const bounds = this.effectiveBounds(now);
    const notActing = this.notActing();

    // 4. Decide.
    const { demandRps: demand, utilization } = observeWindow(this.window, now, dt, this.slots, serving);
    // Metrics the source could not measure are never fresh: missing data never scales in.
    const fresh = !this.metricsMissing && now - this.lastSenseAt <= s.staleMetricsSeconds * 1000;
    let decision: Decision | undefined;
    const periodMs = this.d.strategy.periodSeconds * 1000;
    if (now - this.lastDecisionAt >= periodMs - 1) {
      this.lastDecisionAt = now;
      if (this.d.forecaster && now - this.lastFitAt >= s.forecast.refitSeconds * 1000) this.refitForecast(now);
      if (this.d.writeForecaster && now - this.lastWriteFitAt >= s.forecast.refitSeconds * 1000) {
        this.lastWriteFitAt = now;
        this.writeForecast = fitDemandForecast(this.d.store, s.service, { ...s.forecast, events: this.knownEvents() }, this.d.writeForecaster, now, forecastHorizonSeconds(s.leadTimeSeconds, this.d.strategy.periodSeconds, s.forecast.refitSeconds), METRIC.mutationRps) ?? this.writeForecast;
        this.requestsPerWrite = this.historyRequestsPerWrite(now);
      }
      this.measuredCapacity(now);
      // Requested now: running, starting, and created by the repair step of this tick.
      const current = liveOwn.length + pending('live');
      const obs: Observation = { now: now / 1000, current, ready: liveReady.length, utilization, demandRps: demand, metricsFresh: fresh, sloJudged: this.sloJudged, sloViolated: this.sloViolated };
      const raw = this.d.strategy.decide(obs, this.forecast);
      let bounded = boundDecision(raw, obs, bounds, this.actions);
      // Callers expecting more demand within this service's lead time scale it ahead of its own load: over
      // the time from a decision until a new instance serves here (lead time, period, and the ticks a ready
      // instance waits to join: one, and one more for a stateful service's state copy).
      const dep = this.d.dependencyFloor?.(now, s.leadTimeSeconds + this.d.strategy.periodSeconds + joinSeconds(s.tickSeconds, s.shadow.sync));
      this.propagatedRps = dep?.rps ?? 0;
      let depNumbers: Readonly<Record<string, number>> | undefined;
      if (dep && dep.floor > bounded.desired) {
        const ahead = boundDecision({ ...bounded, desired: dep.floor, reason: 'dependency_ahead', numbers: { ...bounded.numbers, ...dep.numbers } }, obs, bounds, this.actions);
        if (ahead.desired > bounded.desired) {
          bounded = ahead;
          depNumbers = dep.numbers;
        }
      }
      // A stateful service's writes: their forecast, at the requests per write it serves, may need more than the decision.
      let writeNumbers: Readonly<Record<string, number>> | undefined;
      const writesUpper = this.writeForecast ? forecastPeak(this.writeForecast, now / 1000, now / 1000 + s.leadTimeSeconds + this.d.strategy.periodSeconds)?.upper : undefined;
      this.writesUpper = writesUpper ?? Number.NaN;
      if (writesUpper !== undefined && fresh) {
        const w = writeDemandFloor({ writesUpperRps: writesUpper, requestsPerWrite: this.requestsPerWrite, perInstanceRps: this.perInstanceRps, headroom: s.headroom ?? 0 });
        if (w.floor > bounded.desired) {
          const numbers = { writesUpperRps: writesUpper, requestsPerWrite: this.requestsPerWrite, impliedRps: w.rps, writeFloor: w.floor };
          const ahead = boundDecision({ ...bounded, desired: w.floor, reason: 'mutations_ahead', numbers: { ...bounded.numbers, ...numbers } }, obs, bounds, this.actions);
          if (ahead.desired > bounded.desired) {
            bounded = ahead;
            writeNumbers = numbers;
          }
        }
      }
      // No scale-in while a move to another type is under way (the old instances still go when it completes).
      if (this.resizing && bounded.desired < current) bounded = { ...bounded, desired: current, reason: 'type_change_hold', numbers: { ...bounded.numbers, unbounded: bounded.desired } };
      // Nor while a rollout runs: its new group was sized for this count.
      if (rollout && bounded.desired < current) bounded = { ...bounded, desired: current, reason: 'rollout_hold', numbers: { ...bounded.numbers, unbounded: bounded.desired } };
      if (this.pendingDeltaAction && bounded.desired <= current && fresh) {
        // A confirmed live degradation adds one instance (within the bounds).
        const plus = boundDecision({ ...bounded, desired: current + 1, reason: 'delta_degradation' }, obs, bounds, this.actions);
        if (plus.desired > current) bounded = plus;
      }
      this.pendingDeltaAction = false;
      // The proof gate: the change acts only on a configuration the shadow proved (src/core/gate.ts).
      const gate = this.d.gate;
      let final = bounded;
      if (gate && gate.mode !== 'off') {
        const headroom = s.headroom ?? 0;
        const observed = Number.isFinite(demand) ? demand : 0;
        const horizon = s.leadTimeSeconds + this.d.strategy.periodSeconds;
        const peak = this.forecast ? forecastPeak(this.forecast, now / 1000, now / 1000 + horizon)?.upper : undefined;
        const targetRps = Math.max(observed, peak ?? 0) * (1 + headroom);
        const emergency = Number.isFinite(utilization) && utilization > (s.emergencyUtilization ?? Number.POSITIVE_INFINITY) && fresh;
        final = gate.decide({ decision: bounded, instanceType: this.liveType, targetRps, emergency, typeChangeBlocked: this.typeChangeBlocked(now) !== undefined }).decision;
        // Early proof: what the forecast needs by the time a trial started now would have finished.
        const ahead = this.forecast ? forecastPeak(this.forecast, now / 1000, now / 1000 + horizon + gate.proofSeconds(this.liveType))?.upper : undefined;
        if (ahead !== undefined) {
          const need = Math.min(bounds.maxInstances, Math.max(bounds.minInstances, Math.ceil((ahead * (1 + headroom)) / this.perInstanceRps - 1e-9)));
          gate.prepare(this.liveType, ahead * (1 + headroom), need);
        }
        this.lastProof = final.proof;
      }
      decision = notActing ? { ...final, wouldHave: { why: notActing, target: final.desired } } : final;
      this.desired = final.desired;
      // Recorded before it is acted on, with its proof. In forecast-only mode or paused, what would have
      // been done is recorded and the target holds.
      const stored: Decision = { ...raw, ...(depNumbers || writeNumbers ? { numbers: { ...raw.numbers, ...depNumbers, ...writeNumbers } } : {}), ...(final.proof ? { proof: final.proof } : {}), ...(final.proof && final.instanceType ? { instanceType: final.instanceType } : {}), ...(notActing ? { wouldHave: { why: notActing, target: final.desired } } : {}) };
      const boundReason = final.reason !== raw.reason || final.desired !== raw.desired ? final.reason : null;
      this.decisionSeq = notActing ? this.d.store.addDecision(s.service, stored, this.target, boundReason, false) : this.d.store.addDecision(s.service, stored, final.desired, boundReason);
      const proofNote = final.proof ? `; proof ${final.proof.status} (${final.proof.candidate.instanceType}×${final.proof.candidate.count}${final.proof.trial ? `, trial ${final.proof.trial}` : ''})` : '';
      this.emit('decision', `${notActing ? `would have (${notActing}): ` : ''}${final.reason} ${current} -> ${final.desired}${final.instanceType ? ` ${final.instanceType}` : ''}${proofNote}`, { ...final.numbers, current, desired: final.desired, seq: this.decisionSeq });
      // A rescale is reported where the platform keeps them (Kubernetes: an Event on the Deployment), after it is recorded.
      if (!notActing && final.desired !== current && this.d.provider.announce) {
        const numbers = Object.entries(final.numbers).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(3)}`).join(' ');
        void this.d.provider.announce(s.service, { reason: eventReason(final.reason), message: `New size: ${final.desired} (from ${current}); reason: ${final.reason}${numbers ? ` (${numbers})` : ''}; decision ${this.decisionSeq}` }).catch(() => undefined);
      }
      // Forecast-only or paused: nothing acts (no target change, no action, no action history: cool-downs are of real actions).
      if (!notActing) {
        // A move to another type keeps the current target until its switchover promotes the new type's count.
        if (final.instanceType && final.instanceType !== this.liveType) {
          this.actions = recordAction(this.actions, obs.now, current, final.desired);
          this.moveToType(final.instanceType, final.desired, `decision ${this.decisionSeq}`);
        } else if (final.desired !== current) {
          this.target = final.desired;
          this.actions = recordAction(this.actions, obs.now, current, final.desired);
          if (final.desired > current) this.createLive(final.desired - current, `d${this.decisionSeq}`);
          else {
            // Newest first: starting instances cost nothing to drop, and the oldest are warm.
            const victims = [...liveOwn].sort((a, b) => (a.state === b.state ? b.createdAt - a.createdAt : a.state === 'starting' ? -1 : 1)).slice(0, current - final.desired);
            for (const v of victims) if (!this.returnToWarmPool(v)) this.remove(v, `scale in (decision ${this.decisionSeq})`);
          }
        }
      }
    }

    // 5. Delta analysis, sampling, capacity refit.
    let delta: DeltaResult | undefined;
    let shadowWindow: { result: DeltaResult; startedAt: number } | undefined;
    const sensed = interval.missing === undefined;
    if (sensed && this.deltaLive.length === 0) this.deltaStartedAt = now - dt * 1000;
    if (sensed) {
      this.deltaLive.push(interval.live);
      this.deltaShadow.push(interval.shadow);
      this.deltaReady.push({ live: Math.max(1, liveReady.length), shadow: Math.max(1, shadowReady.length) });
    }
    if (sensed && this.deltaLive.length >= s.delta.windowTicks) {
      const r = this.analyse(dt);
      delta = r.liveVsShadow;
      shadowWindow = { result: r.shadowVsLive, startedAt: this.deltaStartedAt };
      this.deltas.push({ at: now, result: delta });
      this.deltaVerdicts[delta.verdict] = (this.deltaVerdicts[delta.verdict] ?? 0) + 1;
      if (this.deltas.length > 120) this.deltas.shift();
    }
    const mutationDelta = sensed ? this.countMutations(interval, targets, shadowReady) : undefined;
    if (s.sampling && sensed) {
      const current = Number.isFinite(this.mirrorRate) ? this.mirrorRate : s.sampling.baseRate;
      // Never more traffic than the shadow's share of the capacity: it would overload the shadow and
      // make the comparison meaningless.
      const share = liveReady.length > 0 ? (shadowReady.length * s.shadow.slots) / (liveReady.length * this.slots) : s.sampling.maxRate;
      const maxRate = Math.max(s.sampling.minRate, Math.min(s.sampling.maxRate, share));
      const next = nextSamplingRate(current, this.lastRps, liveRps, dt, { ...s.sampling, maxRate, baseRate: Math.min(s.sampling.baseRate, maxRate) });
      if (Math.abs(next.rate - current) > 1e-4 || !Number.isFinite(this.mirrorRate)) {
        this.mirrorRate = await this.d.gateway.setRate(next.rate);
        if (next.reason === 'load_changing') this.emit('sampling', `mirror rate ${current.toFixed(3)} -> ${this.mirrorRate.toFixed(3)} (${next.reason})`, next.numbers);
      }
    }
    if (sensed) this.lastRps = liveRps;
    if (rollout) await rollout.tick(now, dt, all, interval.members, shadowWindow);
    if (s.capacityRefit && sensed) this.collectPairs(interval, liveReady.length, shadowReady.length, dt);

    const tickMs = performance.now() - t0;
    const liveP99 = interval.live.latencyMs.p99;
    const fc = this.forecastAt(now / 1000);
    this.d.store.addSamples(
      [
        [METRIC.liveRps, sensed ? liveRps : Number.NaN],
        [METRIC.liveP99, interval.live.requests ? liveP99 : Number.NaN],
        [METRIC.liveErrors, interval.live.requests ? interval.live.errors / interval.live.requests : Number.NaN],
        [METRIC.instances, liveRequested],
        [METRIC.ready, liveReady.length],
        [METRIC.utilization, utilization],
        [METRIC.mirrorRate, this.mirrorRate],
        [METRIC.tickMs, tickMs],
        [METRIC.perInstanceRps, this.perInstanceRps],
        [METRIC.desired, this.desired],
        [METRIC.forecastMean, fc?.mean ?? Number.NaN],
        [METRIC.forecastLower, fc?.lower ?? Number.NaN],
        [METRIC.forecastUpper, fc?.upper ?? Number.NaN],
      ]
        .map(([metric, value]) => ({ ts: now, service: s.service, pool: 'live', metric: metric as string, value: value as number }))
        .concat([
          { ts: now, service: s.service, pool: 'shadow', metric: METRIC.liveRps, value: sensed ? interval.shadow.requests / dt : Number.NaN },
          { ts: now, service: s.service, pool: 'shadow', metric: METRIC.liveP99, value: interval.shadow.requests ? interval.shadow.latencyMs.p99 : Number.NaN },
          { ts: now, service: s.service, pool: 'shadow', metric: METRIC.instances, value: shadowRequested },
          { ts: now, service: s.service, pool: 'live', metric: METRIC.mutationRps, value: sensed ? interval.live.mutations / dt : Number.NaN },
          { ts: now, service: s.service, pool: 'shadow', metric: METRIC.mutationRps, value: sensed ? interval.shadow.mutations / dt : Number.NaN },
        ])
        .concat(
          (['live', 'shadow'] as const)
            .filter((p) => sensed && interval[p].cpuCores !== undefined)
            .map((p) => ({ ts: now, service: s.service, pool: p, metric: METRIC.cpuCores, value: interval[p].cpuCores as number })),
        ),
    );
    // Trials that keep the proofs fresh, or that a decision waits for (in the background).
    this.d.gate?.tick({ instanceType: this.liveType, count: Math.max(1, liveRequested) });
    // Retention, once a minute of ticks.
    if (this.ticks % Math.max(1, Math.round(60 / s.tickSeconds)) === 0) {
      this.d.store.prune(now);
      this.d.store.pruneDeclaredEvents(now);
    }
    const upper = fc?.upper ?? Number.NaN;
    const trials = this.d.gate?.cost(now);
    const report: TickReport = {
      service: this.s.service,
      at: now,
      tickMs,
      liveRps,
      liveP99Ms: liveP99,
      liveErrorRate: interval.live.requests ? interval.live.errors / interval.live.requests : Number.NaN,
      liveRequests: interval.live.requests,
      shadowRps: interval.shadow.requests / dt,
      utilization,
      live: { requested: liveRequested, ready: liveReady.length },
      shadow: { requested: shadowRequested, ready: shadowReady.length, dedicated: shadowDedicated },
      target: this.target,
      forecastUpper: upper,
      ...(decision ? { decision } : {}),
      ...(this.lastProof ? { proof: this.lastProof } : {}),
      instanceType: this.liveType,
      trials: { running: trials?.running ?? 0, instanceSeconds: trials?.trialInstanceSeconds ?? 0 },
      ...(delta ? { delta } : {}),
      mutations: { liveRps: interval.live.mutations / dt, shadowRps: interval.shadow.mutations / dt, ...(mutationDelta ? { delta: mutationDelta } : {}), ...(this.writeForecast ? { forecastUpper: this.writesUpper } : {}) },
      mirrorRate: this.mirrorRate,
      ...(fc ? { forecast: fc } : {}),
      ...(notActing ? { notActing } : {}),
      ...(sensed && (interval.live.cpuCores !== undefined || interval.shadow.cpuCores !== undefined) ? { cpu: cpuReport(interval.live, interval.shadow, dt) } : {}),
    };
    this.lastReport = report;
    return report;
  }

  /** The forecast (mean and interval) for the real time `at` (s), if the current forecast covers it. */
  private forecastAt(at: number): { mean: number; lower: number; upper: number } | undefined {
    const f = this.forecast;
    if (!f) return undefined;
    const k = Math.floor((at - f.start) / f.step);
    if (k < 0 || k >= f.upper.length) return undefined;
    return { mean: f.mean[k] as number, lower: f.lower[k] as number, upper: f.upper[k] as number };
  }

  /** The current forecast ahead of `at` (s): points of [time (s), mean, lower, upper]. */
  forecastAhead(at: number): { at: number; mean: number; lower: number; upper: number }[] {
    const f = this.forecast;
    if (!f) return [];
    const out: { at: number; mean: number; lower: number; upper: number }[] = [];
    for (let k = Math.max(0, Math.floor((at - f.start) / f.step)); k < f.upper.length; k++) out.push({ at: f.start + k * f.step, mean: f.mean[k] as number, lower: f.lower[k] as number, upper: f.upper[k] as number });
    return out;
  }

  /**
   * Refit on the demand history in the store. Time is scaled by `timeScale` (a compressed demo day
   * looks like a day to the forecaster) and the forecast is mapped back to real seconds.
   */
  private refitForecast(now: number): void {
    const s = this.s;
    if (!this.d.forecaster) return;
    const f = fitDemandForecast(this.d.store, s.service, { ...s.forecast, events: this.knownEvents() }, this.d.forecaster, now, forecastHorizonSeconds(Math.max(s.leadTimeSeconds, s.dependenciesLeadSeconds ?? 0), this.d.strategy.periodSeconds, s.forecast.refitSeconds));
    if (!f) return;
    this.forecast = f;
    this.lastFitAt = now;
  }

  private createLive(count: number, tag: string): void {
    // Created while others serve: a scale-out or a replacement, which warms and ramps in (when configured).
    const gradual = this.members.size > 0 && (this.s.warmBeforeTraffic === true || this.s.rampIn !== undefined);
    // The warm pool first, warmest (longest ready) first: kept out of the pool in the store before it
    // serves; one past its type's warm-up joins at a full weight at the next reconcile. The pool refills.
    const now = this.d.now();
    const warmMs = (this.s.types?.[this.liveType]?.warmupSeconds ?? 0) * 1000;
    const claims = [...this.warmReady].sort((a, b) => (a.readyAt ?? 0) - (b.readyAt ?? 0)).slice(0, count);
    // A stateful service's new instance starts from a serving one's state (copied before it joins).
    const copy = this.s.shadow.sync === 'snapshot' && this.members.size > 0;
    if (claims.length > 0) {
      for (const c of claims) {
        this.warmIds.delete(c.id);
        this.claimed.add(c.id);
        if (copy) this.liveCopy.add(c.id);
        if (gradual && now - (c.readyAt ?? now) < warmMs) this.gradual.add(c.id);
      }
      this.d.store.setWarmPool(this.s.service, [...this.warmIds]);
      this.warmReady = this.warmReady.filter((i) => !this.claimed.has(i.id));
      this.warmClaims += claims.length;
      this.emit('switchover', `warm pool: ${claims.length} warm instance(s) serve now (${claims.map((c) => c.id).join(', ')}); ${count - claims.length} created; the pool refills`, { claimed: claims.length, created: count - claims.length });
    }
    for (let k = 0; k < count - claims.length; k++) {
      const id = `${this.s.service}-live-${tag}-${k}`;
      if (gradual) this.gradual.add(id);
      if (copy) this.liveCopy.add(id);
      this.create('live', id, this.liveType);
    }
  }

  /**
   * The warm pool (scaling.warmPool): ids whose instance is gone leave its record; instances of another type
   * or version than live's are replaced; it is refilled to its size (each id kept in the store before its
   * instance is created, so a crash never leaves an instance nobody counts) or trimmed, newest first (one
   * still starting goes before a warm one given back by a scale-in).
   */
  private tendWarmPool(pooled: readonly Instance[], dt: number): void {
    const size = this.s.warmPool?.size ?? 0;
    const before = this.warmIds.size;
    const listed = new Set(pooled.map((i) => i.id));
    for (const id of [...this.warmIds]) if (!listed.has(id) && !this.pendingCreates.has(id)) this.warmIds.delete(id);
    const up = pooled.filter((i) => i.state !== 'failed' && i.state !== 'draining' && !this.deleting.has(i.id));
    this.warmSeconds += up.length * dt;
    const fits = (i: Instance): boolean => i.instanceType === this.liveType && versionOf(i) === this.liveVersion;
    for (const i of up) if (!fits(i)) this.remove(i, `warm pool: runs ${i.instanceType} ${versionOf(i)}, not the live pool's ${this.liveType} ${this.liveVersion}`);
    const keep = up.filter(fits);
    const pendingWarm = [...this.pendingCreates.keys()].filter((id) => this.warmIds.has(id)).length;
    if (keep.length + pendingWarm < size) {
      const ids = Array.from({ length: size - keep.length - pendingWarm }, (_, k) => `${this.s.service}-warm-${this.d.now().toString(36)}-${k}`);
      for (const id of ids) this.warmIds.add(id);
      this.d.store.setWarmPool(this.s.service, [...this.warmIds]);
      for (const id of ids) this.create('live', id, this.liveType);
    } else if (keep.length > size) {
      for (const i of [...keep].sort((a, b) => b.createdAt - a.createdAt).slice(0, keep.length - size)) this.remove(i, 'warm pool resized');
    }
    if (this.warmIds.size !== before) this.d.store.setWarmPool(this.s.service, [...this.warmIds]);
    this.warmReady = keep.filter((i) => i.state === 'ready' && !this.deleting.has(i.id));
  }

  /** A scaled-in live instance goes back to the warm pool (reuseOnScaleIn) while the pool is below its size; the reconcile drains it. */
  private returnToWarmPool(i: Instance): boolean {
    const wp = this.s.warmPool;
    if (!wp || !wp.reuseOnScaleIn || i.state !== 'ready' || i.instanceType !== this.liveType || versionOf(i) !== this.liveVersion) return false;
    // Below its size in ready instances: a warm one back beats one still starting (the trim drops the newest).
    if (this.warmReady.length >= wp.size) return false;
    this.warmIds.add(i.id);
    this.d.store.setWarmPool(this.s.service, [...this.warmIds]);
    this.warmReady.push(i);
    this.warmReturns++;
    this.emit('switchover', `warm pool: ${i.id} scaled in, back to the warm pool (drained from the balancer, kept warm)`, { returned: 1 });
    return true;
  }

  private createShadow(count: number): void {
    for (let k = 0; k < count; k++) this.create('shadow', `${this.s.service}-shadow-${this.d.now().toString(36)}-${k}`, this.s.shadow.instanceType);
  }

  private create(pool: 'live' | 'shadow', id: string, instanceType: string): void {
    if (this.pendingCreates.has(id)) return;
    this.pendingCreates.set(id, pool);
    // A stateful shadow needs its state before it is a mirror target: marked before it exists, so a tick
    // that lists it ready before the create call has returned never makes it a target unsynced (mutations
    // sent to it then could land after its snapshot: applied twice).
    const stateful = pool === 'shadow' && this.s.shadow.sync === 'snapshot';
    if (stateful) this.needsSync.add(id);
    this.d.provider
      .create({ id, service: this.s.service, pool, instanceType, labels: versionLabels(pool === 'live' ? this.liveVersion : this.shadowVersion) })
      .catch((err: unknown) => {
        if (stateful) this.needsSync.delete(id);
        this.emit('action_failed', `create ${id}: ${(err as Error).message}`);
      })
      .finally(() => this.pendingCreates.delete(id));
  }

  private remove(i: Instance, why: string): void {
    if (this.deleting.has(i.id)) return;
    this.deleting.add(i.id);
    this.members.delete(i.id);
    this.ramp?.ids.delete(i.id);
    this.warming.delete(i.id);
    this.gradual.delete(i.id);
    this.needsSync.delete(i.id);
    this.liveCopy.delete(i.id);
    this.digestMismatch.delete(i.id);
    if (this.syncBegun.delete(i.id)) void this.d.gateway.abortSync(i.url).catch(() => undefined);
    const drain = i.pool === 'live' && i.state !== 'failed' ? this.d.gateway.drain(i.id) : false;
    void Promise.resolve(drain)
      .then(() => this.d.provider.delete(i.id))
      .catch((err: unknown) => {
        if (!isProviderError(err, 'not_found')) this.emit('action_failed', `delete ${i.id} (${why}): ${(err as Error).message}`);
      })
      .finally(() => this.deleting.delete(i.id));
  }

  /** The balancer weight of a ramping member now. */
  private rampWeight(): number {
    return shiftWeights('add', 1, 1, this.ramp?.state.weight ?? 100).new;
  }

  /** A new member joins the ramp under way, or starts one (docs/design/switchover.md). */
  private joinRamp(id: string, now: number): void {
    const settings = this.s.rampIn as ShiftSettings;
    if (!this.ramp) {
      this.ramp = { state: startShift(now / 1000, settings).state, ids: new Set(), ...emptyWindow() };
      this.emit('switchover', `ramp-in started: new live instances at ${this.ramp.state.weight} % of a full weight, +${settings.stepWeight} % every ${settings.intervalSeconds} s while they match the old ones`, { weight: this.ramp.state.weight });
    }
    this.ramp.ids.add(id);
    // On record before it joins the balancer: a restart mid-ramp rolls these back (rollBackInterruptedRamp).
    this.d.store.setIds(`ramp:${this.s.service}`, this.ramp.ids);
  }

  /**
   * A ramp-in the control plane was killed in: its new instances were never judged to the end, so they are
   * rolled back as a failed ramp would be (recorded first, drained, deleted); the repair step replaces them
   * and the replacements ramp in beside the old instances, adopted at full weight.
   */
  private rollBackInterruptedRamp(all: readonly Instance[], now: number): void {
    const ids = this.rampLeft as Set<string>;
    this.rampLeft = undefined;
    const left = all.filter((i) => ids.has(i.id) && i.pool === 'live');
    if (left.length > 0) {
      const decision: Decision = { strategy: this.d.strategy.name, at: now / 1000, current: this.target, desired: this.target, reason: 'switchover_rolled_back', numbers: { instances: left.length, restarted: 1 } };
      this.d.store.addDecision(this.s.service, decision, this.target, null, false);
      this.emit('switchover', `ramp-in interrupted by a restart rolled back: ${left.map((i) => i.id).join(', ')} drained and replaced`, decision.numbers);
      for (const i of left) this.remove(i, 'ramp-in interrupted by a restart');
    }
    this.d.store.setIds(`ramp:${this.s.service}`, []);
  }

  /**
   * A tick of the ramp: the new and old members' traffic is gathered; when a step's interval has passed,
   * the new are judged against the old (latency normalised to the old's load per slot by the capacity
   * model, errors) and the ramp moves on, holds, promotes or rolls back (core/switchover.ts). A new member
   * that failed rolls it back at once.
   */
  private async stepRamp(now: number, dt: number, members: IntervalView['members'], all: readonly Instance[]): Promise<void> {
    const ramp = this.ramp;
    const settings = this.s.rampIn;
    if (!ramp || !settings) return;
    if (ramp.ids.size === 0) {
      this.ramp = undefined;
      this.d.store.setIds(`ramp:${this.s.service}`, []);
      return;
    }
    for (const [id, x] of Object.entries(members ?? {})) {
      if (ramp.ids.has(id)) ramp.newWindow.push(x);
      else if (this.members.has(id)) ramp.oldWindow.push(x);
    }
    const newCount = [...ramp.ids].filter((id) => this.members.has(id)).length;
    ramp.newReady.push(newCount);
    ramp.oldReady.push(this.members.size - newCount);
    const failed = all.find((i) => ramp.ids.has(i.id) && i.state === 'failed');
    let check: ShiftCheck | undefined;
    let numbers: Record<string, number> = {};
    if (failed) check = 'unhealthy';
    else if (now / 1000 - ramp.state.stepStartedAt >= settings.intervalSeconds - 1e-9) {
      const r = this.judgeRamp(ramp, dt);
      check = r.verdict;
      numbers = r.numbers;
    }
    const { state, action } = stepShift(ramp.state, now / 1000, check, settings);
    // Too little traffic to judge: the next check judges this step's traffic and the next one's together.
    if (check !== undefined && check !== 'unhealthy' && check !== 'insufficient_data') {
      Object.assign(ramp, emptyWindow());
    }
    ramp.state = state;
    const ids = [...ramp.ids];
    if (action.kind === 'set_weight') {
      for (const id of ids) await this.d.gateway.setWeight(id, this.rampWeight());
      this.emit('switchover', `ramp-in step passed: new instances at ${state.weight} %`, { weight: state.weight, ...numbers });
    } else if (action.kind === 'hold' && check !== undefined) {
      this.emit('switchover', `ramp-in check ${check}${state.reason === 'check_failed' ? ` (${state.failedChecks} of ${settings.threshold} before a rollback)` : ''}: holding at ${state.weight} %`, { weight: state.weight, failedChecks: state.failedChecks, ...numbers });
    } else if (action.kind === 'promote' || action.kind === 'rollback') {
      this.ramp = undefined;
      const promoted = action.kind === 'promote';
      if (promoted) for (const id of ids) await this.d.gateway.setWeight(id, 1);
      const why = promoted ? `every step passed: ${ids.length} new instance(s) at full weight` : failed ? `new instance ${failed.id} failed (${failed.failure ?? 'unknown'})` : `${state.failedChecks} failed check(s) in a row against the old instances`;
      // Recorded before the rollback acts; the target is unchanged (the repair step replaces the removed instances).
      const decision: Decision = { strategy: this.d.strategy.name, at: now / 1000, current: this.target, desired: this.target, reason: promoted ? 'switchover_promoted' : 'switchover_rolled_back', numbers: { instances: ids.length, checks: state.checks, failedChecks: state.failedChecks, ...numbers } };
      this.d.store.addDecision(this.s.service, decision, this.target, null, false);
      this.d.store.setIds(`ramp:${this.s.service}`, []);
      this.emit('switchover', `ramp-in ${promoted ? 'promoted' : 'rolled back'}: ${why}`, decision.numbers);
      if (!promoted) {
        for (const id of ids) {
          const inst = all.find((i) => i.id === id);
          if (inst) this.remove(inst, 'ramp-in rolled back');
        }
      }
    }
  }

  /** New against old over the step's window (control/judge.ts). */
  private judgeRamp(ramp: NonNullable<ServiceLoop['ramp']>, dt: number): { verdict: ShiftCheck; numbers: Record<string, number> } {
    const w = this.rampWeight();
    return judgeGroups(ramp, dt, { slots: this.slots, serviceTime: this.serviceTime, delta: this.s.delta, expectedNewShare: (oldN, newN) => (w * newN) / (oldN + w * newN), lastChance: ramp.state.inconclusive + 1 >= (this.s.rampIn?.maxInconclusive ?? 1) });
  }

  /** The timeout of state requests to this service's instances (`shadow.syncTimeoutSeconds`). */
  private stateRequests(): { timeoutMs?: number } {
    const s = this.s.shadow.syncTimeoutSeconds;
    return s === undefined ? {} : { timeoutMs: s * 1000 };
  }

  /**
   * Copy a serving live instance's state into a new live instance before it takes client requests (a
   * point-in-time copy: live instances are not mirrored to each other, so writes the source takes meanwhile
   * stay its own, as writes spread over live instances always do). A failed read is retried the next tick;
   * a failed or timed-out write replaces the instance (as a shadow's, in sync()): that write could still
   * land after a retry's, or after the instance began taking client writes, and overwrite them.
   */
  private async copyLiveState(i: Instance, source: Instance): Promise<void> {
    this.liveCopying.add(i.id);
    try {
      const body = await readSnapshot(source, this.stateRequests()).catch((err: Error) => Promise.reject(new Error(`${source.id}: ${err.message}`)));
      if (!this.liveCopy.has(i.id)) return;
      await writeSnapshot(i, body, this.stateRequests()).catch((err: Error) => {
        this.remove(i, `state copy-in failed (${err.message}): replaced before it takes client requests`);
        return Promise.reject(new Error(`${i.id}: ${err.message}; the instance is replaced`));
      });
      this.liveCopy.delete(i.id);
      this.liveCopies++;
      this.emit('switchover', `${i.id}: state copied from ${source.id} before it takes client requests`, { bytes: body.length });
    } catch (err) {
      this.liveCopyFailures++;
      this.emit('action_failed', `state copy into ${i.id}: ${(err as Error).message}${this.deleting.has(i.id) ? '' : '; retrying next tick'}`);
    } finally {
      this.liveCopying.delete(i.id);
    }
  }

  /**
   * Copy a live instance's state into a shadow whose sync has begun: the snapshot (with the stamps from the
   * sync's start on that it contains), then the mutations held meanwhile, except those. A service that
   * does not list its stamps gets every held mutation (some may then apply twice: the digest check
   * finds that and syncs again).
   */
  private async sync(shadow: Instance, liveReady: readonly Instance[]): Promise<void> {
    const source = liveReady[0];
    const since = this.syncBegun.get(shadow.id);
    if (!source || !since) return;
    this.syncing.add(shadow.id);
    try {
      const body = await readSnapshot(source, { ...this.stateRequests(), since }).catch((err: Error) => Promise.reject(new Error(`${source.id}: ${err.message}`)));
      await writeSnapshot(shadow, body, this.stateRequests()).catch((err: Error) => {
        // A copy-in that failed or timed out may still be applied later, over a newer one written by a
        // retry (and the mutations that one skipped would be lost): the shadow's state is unknown, so it is
        // replaced by a fresh one, which syncs from the start.
        this.remove(shadow, `state copy-in failed (${err.message}): replaced by a fresh shadow`);
        return Promise.reject(new Error(`${shadow.id}: ${err.message}; the shadow is replaced`));
      });
      const applied = appliedOf(body);
      const r = await this.d.gateway.finishSync(shadow.url, applied ?? {});
      this.syncBegun.delete(shadow.id);
      if (r.overflowed) {
        // Too many mutations waited: begin again (the next tick), with a fresh snapshot.
        this.shadowSyncFailures++;
        this.emit('shadow_sync_failed', `shadow ${shadow.id}: more mutations arrived during its sync than the mirror holds; syncing again`);
        return;
      }
      this.needsSync.delete(shadow.id);
      this.instanceEvent('ready', shadow, `state synced from ${source.id}`);
      this.shadowSyncs++;
      this.emit('shadow_synced', `shadow ${shadow.id} synced from ${source.id}: snapshot, then ${r.released} mutation(s) held during the sync${applied ? `, ${r.skipped} the snapshot already had skipped` : ' (the service lists no stamps: none could be skipped)'}`, { released: r.released, skipped: r.skipped });
    } catch (err) {
      this.shadowSyncFailures++;
      this.emit('shadow_sync_failed', `shadow ${shadow.id}: ${(err as Error).message}${this.deleting.has(shadow.id) ? '' : '; retrying next tick'}`);
    } finally {
      this.syncing.delete(shadow.id);
    }
  }

  /**
   * Every `shadow.digestSeconds`: each synced shadow's state digest against live's (one live instance:
   * the sample service's state is its own per instance). Two mismatches in a row are a divergence (one
   * can be mutations still on their way): counted, reported, and the shadow is synced again.
   */
  /**
   * The mutation delta (src/core/mutations.ts): per tick live's mutations times the copies each should
   * reach the shadow with (every synced shadow of a stateful service, one when every mutation is mirrored),
   * against those the shadow answered; a window per delta.windowTicks ticks, the windows kept since the
   * shadow targets last changed. Widening: reported (shadow_behind) and, for a stateful service, its shadows
   * synced again.
   */
  private countMutations(interval: { readonly live: { readonly mutations: number }; readonly shadow: { readonly mutations: number }; readonly mirrorPending?: number; readonly liveMutationsOpen?: number }, targets: readonly string[], shadowReady: readonly Instance[]): MutationDelta | undefined {
    const s = this.s;
    // Sampled mutations are not all mirrored: nothing to compare.
    if (!s.shadow.mirrorMutations) return undefined;
    const copies = s.shadow.sync === 'snapshot' ? targets.length : targets.length > 0 ? 1 : 0;
    const key = [...targets].sort().join(',');
    if (key !== this.mutationTargets) {
      this.mutationTargets = key;
      this.mutationWindows = [];
      this.mutationWindow = { ticks: 0, live: 0, expected: 0, shadow: 0 };
    }
    const w = this.mutationWindow;
    w.ticks++;
    w.live += interval.live.mutations;
    w.expected += interval.live.mutations * copies;
    w.shadow += interval.shadow.mutations;
    if (w.ticks < s.delta.windowTicks) return undefined;
    this.mutationWindows.push({ live: w.live, expected: w.expected, shadow: w.shadow, ...(interval.mirrorPending !== undefined ? { pending: interval.mirrorPending } : {}), ...(interval.liveMutationsOpen !== undefined ? { open: interval.liveMutationsOpen } : {}) });
    if (this.mutationWindows.length > 60) this.mutationWindows.shift();
    this.mutationWindow = { ticks: 0, live: 0, expected: 0, shadow: 0 };
    const settings = s.mutationDelta ?? { ...DEFAULT_MUTATION_DELTA, resync: true };
    const r = mutationDelta(this.mutationWindows, settings);
    this.mutationVerdicts[r.verdict] = (this.mutationVerdicts[r.verdict] ?? 0) + 1;
    if (r.verdict !== 'widening') return r;
    const resync = settings.resync && s.shadow.sync === 'snapshot';
    this.emit('shadow_behind', `live-vs-shadow mutation lag ${Math.round(r.lag)} and growing for ${settings.windows} windows (by ${(r.growthShare * 100).toFixed(0)} % of the last window's ${Math.round(r.numbers.expected ?? 0)} copies; ${(r.lagShare * 100).toFixed(0)} % in all): ${resync ? 'syncing the shadow again (a fresh shadow replaces it)' : 'reported'}`, r.numbers);
    if (resync) {
      this.mutationResyncs++;
      // Synced again by replacement: copies already on their way to a serving shadow would reach it after a
      // snapshot and apply twice; a new shadow's versioned sync begins before it gets any (its queued copies
      // go with the old one). The repair step creates it.
      for (const i of shadowReady) if (targets.includes(i.url) && !this.deleting.has(i.id)) this.remove(i, 'mutation delta widening: replaced by a freshly synced shadow');
    }
    this.mutationWindows = [];
    return r;
  }

  /**
   * Requests per write over the forecast's history (the typical mix): the forecast writes times it is the
   * demand they imply. Over the long run, so that writes rising before reads show as more demand rather
   * than as another mix. NaN without writes in the history.
   */
  private historyRequestsPerWrite(now: number): number {
    const s = this.s;
    const resolution = s.forecast.bucketSeconds >= 3600 ? 3600 : s.forecast.bucketSeconds >= 60 ? 60 : 1;
    const total = (metric: string): number => this.d.store.series({ service: s.service, pool: 'live', metric, from: now - s.forecast.historySeconds * 1000, to: now, resolution }).reduce((a, p) => a + (Number.isFinite(p.mean) ? p.mean * p.count : 0), 0);
    const writes = total(METRIC.mutationRps);
    return writes > 0 ? total(METRIC.liveRps) / writes : Number.NaN;
  }

  private checkDigests(now: number, shadows: readonly Instance[], liveReady: readonly Instance[]): void {
    const every = (this.s.shadow.digestSeconds ?? 0) * 1000;
    if (!(every > 0) || this.s.shadow.sync !== 'snapshot' || this.digesting || now - this.lastDigestAt < every) return;
    const source = liveReady.length === 1 ? liveReady[0] : undefined;
    const synced = shadows.filter((i) => !this.needsSync.has(i.id) && !this.syncing.has(i.id) && !this.deleting.has(i.id));
    if (!source || synced.length === 0) return;
    this.lastDigestAt = now;
    this.digesting = true;
    void (async () => {
      try {
        const [live, ...rest] = await Promise.all([readDigest(source, this.stateRequests()), ...synced.map((i) => readDigest(i, this.stateRequests()).catch(() => undefined))]);
        if (!live) return;
        synced.forEach((i, k) => {
          const d = rest[k];
          if (!d) return;
          this.digestChecks++;
          if (d.digest === live.digest) return void this.digestMismatch.delete(i.id);
          const n = (this.digestMismatch.get(i.id) ?? 0) + 1;
          this.digestMismatch.set(i.id, n);
          if (n < 2 || this.needsSync.has(i.id)) return;
          this.digestMismatch.delete(i.id);
          this.shadowDivergences++;
          this.emit('shadow_diverged', `shadow ${i.id} diverged from ${source.id} (version ${d.version} vs ${live.version}, ${d.keys} vs ${live.keys} keys) in two checks in a row; syncing it again (a fresh shadow replaces it)`, { shadowVersion: d.version, liveVersion: live.version });
          // By replacement, as for a widening mutation delta: copies on their way to it would apply after a snapshot, twice.
          if (!this.deleting.has(i.id)) this.remove(i, 'diverged from live: replaced by a freshly synced shadow');
        });
      } catch (err) {
        this.emit('shadow_sync_failed', `digest check: ${(err as Error).message}`);
      } finally {
        this.digesting = false;
      }
    })();
  }

  private analyse(dt: number): { liveVsShadow: DeltaResult; shadowVsLive: DeltaResult } {
    const s = this.s;
    const secs = this.deltaLive.length * dt;
    const liveN = this.deltaReady.reduce((a, r) => a + r.live, 0) / this.deltaReady.length;
    const shadowN = this.deltaReady.reduce((a, r) => a + r.shadow, 0) / this.deltaReady.length;
    const l = mergeIntervals(this.deltaLive);
    const sh = mergeIntervals(this.deltaShadow);
    // Normalised by per-instance load: the shadow's latencies are mapped to what the capacity model
    // expects at live's per-instance load (ratio of M/M/c mean response times), so a shadow that gets
    // a smaller share of the traffic than of the capacity is compared fairly. Loads are per slot:
    // the shadow may use another instance type.
    const liveLoad = l.requests / secs / liveN;
    const shadowLoad = sh.requests / secs / shadowN;
    const serviceTime = this.serviceTime;
    const liveService = s.types?.[this.liveType]?.serviceTimeSeconds ?? serviceTime;
    const shadowService = this.liveType === s.shadow.instanceType ? liveService : (s.types?.[s.shadow.instanceType]?.serviceTimeSeconds ?? serviceTime);
    const scale = meanResponseTime(this.slots, liveService, liveLoad) / meanResponseTime(s.shadow.slots, shadowService, shadowLoad);
    const normalised = Number.isFinite(scale) && scale > 0 ? sh.latencyMs.map(([v, c]) => [v * scale, c] as const) : sh.latencyMs;
    const liveWin = { ...l, perInstanceRps: liveLoad / this.slots };
    const shadowWin = { ...sh, latencyMs: normalised, perInstanceRps: shadowLoad / s.shadow.slots };
    this.deltaLive = [];
    this.deltaShadow = [];
    this.deltaReady = [];
    // Live worse than the shadow: a live problem (a bad instance, a noisy neighbour); the reverse: the shadow's.
    const liveVsShadow = liveWorseThanShadow(liveWin, shadowWin, s.delta);
    const shadowVsLive = compareLiveShadow(liveWin, shadowWin, s.delta);
    const a = confirmDegradation(this.streakLive, liveVsShadow.verdict, s.delta.confirmWindows);
    this.streakLive = a.streak;
    if (a.confirmed) {
      this.liveDegraded++;
      this.emit('live_degraded', `live ${liveVsShadow.metric} worse than the shadow for ${s.delta.confirmWindows} windows; action: ${s.delta.action}`, liveVsShadow.numbers);
      // Forecast-only or paused: the degradation is reported, production is not touched.
      if (s.delta.action === 'horizontal') this.pendingDeltaAction = true;
      else if (this.notActing()) this.emit('live_degraded', `not acted on (${this.notActing()}): ${s.delta.action}`);
      else if (s.delta.action === 'shift') void this.shiftAwayFromSlowest();
      else if (s.delta.action === 'vertical') this.goVertical();
    }
    const b = confirmDegradation(this.streakShadow, shadowVsLive.verdict, s.delta.confirmWindows);
    this.streakShadow = b.streak;
    if (b.confirmed) this.shadowDegraded++;
    if (b.confirmed) this.emit('shadow_degraded', `shadow ${shadowVsLive.metric} worse than live for ${s.delta.confirmWindows} windows`, shadowVsLive.numbers);
    return { liveVsShadow, shadowVsLive };
  }

  /** Vertical scaling after a confirmed live degradation: the pool moves to `delta.verticalType`, same count (recorded first). */
  private goVertical(): void {
    const to = this.s.delta.verticalType;
    const spec = to ? this.s.types?.[to] : undefined;
    if (!to || !spec || to === this.liveType) return;
    const now = this.d.now();
    const blocked = this.typeChangeBlocked(now);
    if (blocked) {
      this.emit('vertical', `live degraded, but ${blocked}: no move to ${to} now`);
      return;
    }
    const decision: Decision = { strategy: this.d.strategy.name, at: now / 1000, current: this.target, desired: this.target, reason: 'vertical_move', numbers: { count: this.target, slots: spec.slots, fromSlots: this.slots }, instanceType: to };
    this.decisionSeq = this.d.store.addDecision(this.s.service, decision, this.target, null, false);
    this.moveToType(to, this.target, 'delta analysis');
  }

  /**
   * The live pool moves to another instance type with `count` instances through a switchover
   * (control/rollout.ts with a TypeMove): the new type's instances start beside the old ones, outside the
   * balancer; once ready and warm they take traffic in steps (replace mode), each step judged against the
   * old ones with each type's capacity model; failed checks, a failed new instance or one not ready in time
   * roll back (the old type keeps serving at its count), promotion makes the new type the live one at
   * `count` and drains the old. Its experiment record is opened first: a restart mid-move rolls it back.
   * Meanwhile counts, repair and decisions are of the old type's instances, and scale-ins wait.
   */
  private moveToType(to: string, count: number, why: string): void {
    const spec = this.s.types?.[to];
    if (!spec || this.liveType === to || this.typeChangeBlocked(this.d.now()) !== undefined) return;
    const s = this.s;
    const from = this.liveType;
    const provenRps = this.d.gate?.evidence(this.d.now()).get(to)?.provenRps;
    const perInstanceRps = provenRps !== undefined && provenRps > 0 ? provenRps : maxRateAtSlo(spec.slots, spec.serviceTimeSeconds, s.sloLatencySeconds);
    this.emit(why === 'delta analysis' ? 'vertical' : 'type_change', `live pool ${from} -> ${to} (${why}): ${count} new instance(s) beside the old ones, shifted in steps once ready and warm`, { slots: spec.slots, perInstanceRps, count });
    this.pairs.length = 0;
    const id = `${s.service}-move-${this.d.now().toString(36)}`;
    const config: RolloutConfig = s.rollout ?? { ...DEFAULT_ROLLOUT, capacityTrial: false, shadowTimeoutSeconds: 600, shift: DEFAULT_SHIFT };
    this.rollout = new Rollout(this.rolloutHost(), id, this.liveVersion, this.liveVersion, config, why, {
      fromType: from,
      toType: to,
      fromTarget: this.target,
      count,
      perInstanceRps,
      slots: spec.slots,
      serviceTimeSeconds: spec.serviceTimeSeconds,
      warmupSeconds: spec.warmupSeconds ?? 0,
      why,
    });
  }

  /**
   * The historical performance model feeds the strategies: while a fresh trial proves a rate per instance
   * for the live type, that rate (measured on the shadow, with confidence) is the capacity the strategies
   * plan with, in place of the M/M/c model's and the capacity refit's; when the proof expires, the model's
   * comes back.
   */
  private measuredCapacity(now: number): void {
    const gate = this.d.gate;
    if (!gate || gate.mode === 'off') return;
    const e = gate.evidence(now).get(this.liveType);
    if (e && e.provenRps > 0) {
      this.measuredBy = e.provenBy;
      if (Math.abs(e.provenRps - this.perInstanceRps) <= 1e-9) return;
      const was = this.perInstanceRps;
      this.perInstanceRps = e.provenRps;
      this.d.strategy.updateCapacity?.(e.provenRps);
      this.emit('capacity_refit', `${this.liveType}: ${e.provenRps.toFixed(1)} req/s per instance proven at the SLO by trial ${e.provenBy ?? '?'} (was ${was.toFixed(1)}); the strategies plan with it`, { perInstanceRps: e.provenRps, was, source: 1 });
    } else if (this.measuredBy !== undefined) {
      // The model's capacity again (adoptType clears measuredBy).
      this.adoptType(this.liveType, this.s.types?.[this.liveType] ?? { slots: this.slots, serviceTimeSeconds: this.s.serviceTimeSeconds });
      this.emit('capacity_refit', `${this.liveType}: its proof expired; the strategies plan with the model's ${this.perInstanceRps.toFixed(1)} req/s per instance again`, { perInstanceRps: this.perInstanceRps, source: 0 });
    }
  }

  private adoptType(type: string, spec: { readonly slots: number; readonly serviceTimeSeconds: number }): void {
    this.measuredBy = undefined;
    this.liveType = type;
    this.slots = spec.slots;
    this.serviceTime = spec.serviceTimeSeconds;
    this.perInstanceRps = maxRateAtSlo(spec.slots, spec.serviceTimeSeconds, this.s.sloLatencySeconds);
    this.d.strategy.updateCapacity?.(this.perInstanceRps);
  }

  /** Halve the weight of the live member with the most requests in flight per unit of weight. */
  private async shiftAwayFromSlowest(): Promise<void> {
    const members = await this.d.gateway.members();
    const worst = [...members].filter((m) => m.weight > 0).sort((x, y) => y.outstanding / y.weight - x.outstanding / x.weight)[0];
    if (worst && members.length > 1) await this.d.gateway.setWeight(worst.id, worst.weight / 2);
  }

  private collectPairs(interval: { live: IntervalPool; shadow: IntervalPool }, liveReady: number, shadowReady: number, dt: number): void {
    const s = this.s;
    const refit = s.capacityRefit;
    if (!refit) return;
    // Only pools of the service's own instance type tell its service time.
    // Mean latency per interval: it pins the mean service time, hence where an instance saturates.
    if (liveReady > 0 && interval.live.requests >= 50) this.pairs.push({ perInstanceRps: interval.live.requests / dt / liveReady, latency: meanOf(interval.live.buckets).mean / 1000 });
    if (shadowReady > 0 && interval.shadow.requests >= 50 && s.shadow.instanceType === this.liveType) this.pairs.push({ perInstanceRps: interval.shadow.requests / dt / shadowReady, latency: meanOf(interval.shadow.buckets).mean / 1000 });
    while (this.pairs.length > 600) this.pairs.shift();
    // A fresh proof is a direct measurement: it wins over the fit.
    if (this.ticks % refit.everyTicks !== 0 || this.pairs.length < refit.minPairs || this.measuredBy !== undefined) return;
    const prior = s.types?.[this.liveType]?.serviceTimeSeconds ?? s.serviceTimeSeconds;
    const fit = fitServiceTime(this.pairs, this.slots, prior);
    if (!fit || fit.rmsLogError > 0.5) return;
    // Trust the data within a factor of two of the configured model.
    const serviceTime = Math.min(2 * prior, Math.max(prior / 2, fit.serviceTime));
    const rps = maxRateAtSlo(this.slots, serviceTime, s.sloLatencySeconds);
    if (rps > 0 && Math.abs(rps - this.perInstanceRps) / this.perInstanceRps > 0.02) {
      this.emit('capacity_refit', `service time ${(serviceTime * 1000).toFixed(1)} ms from ${fit.pairs} pairs: ${rps.toFixed(1)} req/s per instance at the SLO (was ${this.perInstanceRps.toFixed(1)})`, { serviceTimeMs: serviceTime * 1000, perInstanceRps: rps, rmsLogError: fit.rmsLogError, pairs: fit.pairs });
      this.perInstanceRps = rps;
      this.serviceTime = serviceTime;
      this.d.strategy.updateCapacity?.(rps);
    }
  }
}
