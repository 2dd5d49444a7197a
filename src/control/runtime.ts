// The whole live loop of one service, assembled from a validated configuration: the metrics store,
// the local provider (instances adopted from a previous run), the gateway (one process, or a
// node:cluster of workers), the strategy and forecaster of the backtest, the proof gate with its trials
// (unfinished ones of a crashed run recovered first), and the ServiceLoop ticking.
// `shadowscale run` and `shadowscale demo` are built on it.

import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildStrategy, dependencyEdges, hybridNetUtilization, knownEvents, serviceModel } from '../config/derive.js';
import type { DependencyFloor } from '../core/dependencies.js';
import { Dependencies } from './dependencies.js';
import { SharedShadowPool } from './shadow-pool.js';
import { parseHostPort, urlHost, type Config, type InstanceTypeConfig, type ServiceConfig } from '../config/schema.js';
import { buildForecaster } from '../core/forecasters.js';
import { DAY } from '../core/forecast.js';
import type { StrategyName } from '../core/reasons.js';
import { createAdminServer } from '../gateway/admin.js';
import { ClusterGateway } from '../gateway/cluster.js';
import { intervalFrom, localControl, routeShadowsToo, type GatewayControl } from '../gateway/control.js';
import { PromClient, PrometheusSource } from '../metrics/prometheus.js';
import { checkListen, listenOn } from '../gateway/listen.js';
import { createGateway, createServiceGateway, type GatewayCore, type GatewayOptions } from '../gateway/gateway.js';
import { createRoutedGateway } from '../gateway/routed.js';
import { routeOverlaps } from '../gateway/routes.js';
import { mergeExpositions } from '../api/exposition.js';
import { ShadowscaleError } from '../core/errors.js';
import { forecastHorizonSeconds } from '../metrics/demand.js';
import { Store } from '../metrics/store.js';
import { LocalProvider, type InstanceEvent } from '../providers/local.js';
import type { Instance, InstanceSpec, Provider } from '../providers/provider.js';
import type { LeaderElector } from '../providers/kubernetes/lease.js';
import { routeControl } from './route-control.js';
import { ProofGate, type GateType, type TrialHold } from '../proof/gate.js';
import { mixFromRecording } from '../proof/mix.js';
import { readSnapshot } from '../providers/snapshot.js';
import { DEFAULT_STEPS, recoverTrials, runTrial, type TrialPlan } from '../proof/trial.js';
import { DEFAULT_VERDICT } from '../core/verdict.js';
import type { MixRequest } from '../gateway/loadgen.js';
import { liveVersionFromStore, recoverRollouts, type MeasureCapacity } from './rollout.js';
import { recordInstanceEvents } from './instance-events.js';
import { AbArms, abBounds, recoverArms } from '../proof/ab.js';
import { joinSeconds, METRIC, ServiceLoop, type LoopEvent, type LoopSettings, type TickReport } from './loop.js';
import { RunMetrics } from '../api/metrics.js';
import { createApi, listenApi, type ApiServer } from '../api/server.js';

/** The bundled sample service (compiled beside this file's tree). */
export const SAMPLE_SERVICE = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'sample-service', 'server.js');

/** The sample service's environment for an instance type: the type's capacity and start-up behaviour. */
export function sampleServiceEnv(t: InstanceTypeConfig): Record<string, string> {
  return {
    SLOTS: String(t.slots),
    SERVICE_TIME_MS: String(t.serviceTimeMs),
    QUEUE_LIMIT: String(t.queueLimit),
    STARTUP_DELAY_MS: String(Math.round(t.provisioningSeconds * 1000)),
    COLD_START_SECONDS: String(t.warmupSeconds),
    COLD_START_FACTOR: String(t.warmupCapacity > 0 ? 1 / t.warmupCapacity : 1),
    ...t.env,
  };
}

/**
 * The local provider of a configuration on a store: the configured command (or the sample service with
 * each type's behaviour), instances marked with the store's id and path, events recorded in the store.
 */
export async function startLocalProvider(
  cfg: Config,
  store: Store,
  storePath: string,
  o: { instanceEnv?: Readonly<Record<string, string>>; envFor?: (spec: InstanceSpec) => Readonly<Record<string, string>>; beforeStop?: (i: Instance) => Promise<void>; onInstanceEvent?: (e: InstanceEvent) => void; now?: () => number } = {},
): Promise<LocalProvider> {
  const p = cfg.provider;
  const instanceTypes: Record<string, Record<string, string>> = {};
  for (const [name, t] of Object.entries(cfg.instanceTypes)) instanceTypes[name] = p.command ? { ...t.env } : sampleServiceEnv(t);
  return LocalProvider.start({
    command: p.command ?? [process.execPath, SAMPLE_SERVICE],
    ...(p.cwd ? { cwd: p.cwd } : {}),
    // The store's path at start, for `shadowscale doctor` to tell when an instance's store is gone.
    env: { ...p.env, ...o.instanceEnv, SHADOWSCALE_STORE: storePath },
    ...(o.envFor ? { envFor: o.envFor } : {}),
    instanceTypes,
    versions: Object.fromEntries(Object.entries(cfg.instanceTypes).map(([name, t]) => [name, t.versions])),
    registry: store,
    // The store's id, not its path: the same file through a symlink is the same owner.
    owner: `shadowscale:store:${store.id}`,
    formerOwners: [`shadowscale:${storePath}`],
    logDir: p.logDir ?? join(dirname(storePath), 'logs'),
    healthPath: p.healthPath,
    healthIntervalMs: 200,
    readyTimeoutMs: p.readyTimeoutSeconds * 1000,
    graceMs: p.graceSeconds * 1000,
    ...(o.beforeStop ? { beforeStop: o.beforeStop } : {}),
    onEvent: recordInstanceEvents(store, o.onInstanceEvent),
    ...(o.now ? { now: o.now } : {}),
  });
}

/** A ready live instance's state snapshot, or undefined when none answers. */
async function liveSnapshot(provider: Provider, service: string, timeoutSeconds: number): Promise<string | undefined> {
  for (const i of (await provider.list({ service, pool: 'live' })).filter((x) => x.state === 'ready' && x.labels.trial === undefined)) {
    try {
      return await readSnapshot(i, { timeoutMs: timeoutSeconds * 1000 });
    } catch {
      // the next one
    }
  }
  return undefined;
}

export interface RuntimeOptions {
  readonly cfg: Config;
  readonly service?: string;
  /** Overrides the first supervised service's scaling.strategy (the others keep theirs). */
  readonly strategy?: StrategyName;
  /** Instances of a fresh store (no decisions yet), for the first supervised service. */
  readonly initialInstances?: number;
  readonly now?: () => number;
  readonly onTick?: (r: TickReport) => void;
  readonly onEvent?: (e: LoopEvent) => void;
  readonly onInstanceEvent?: (e: InstanceEvent) => void;
  /** Environment added to every instance's (the demo marks its instances with it). */
  readonly instanceEnv?: Readonly<Record<string, string>>;
  /** The loop stopped acting for good (the store failed): the owner should stop the runtime and exit non-zero. */
  readonly onFatal?: (err: Error) => void;
  /** Tick on a timer (default); tests and the demo may tick by hand. */
  readonly autoTick?: boolean;
  /** The REST API, dashboard and /metrics (default: on, at api.listen); false: none. */
  readonly api?: boolean;
  /** Where API tokens named by the configuration are read (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The gateway options of a service: its mirror and sampling, whether members are measured apart. */
function gatewayOptions(cfg: Config, svc: ServiceConfig): Omit<GatewayOptions, 'live'> {
  const gw = cfg.gateway;
  const sampling = svc.shadow.sampling;
  const mirror = { rate: sampling.rate, mode: sampling.mode, mirrorMutations: sampling.mirrorMutations, scrubHeaders: sampling.scrubHeaders, redactJsonFields: sampling.redactJsonFields, keepFields: sampling.keepFields, clientAddress: sampling.clientAddress, ...gw.mirror, ...(sampling.key ? { key: sampling.key } : {}), armRate: svc.shadow.ab?.share ?? 0, stateful: svc.shadow.sync === 'snapshot', ...(gw.mirror.recordFile ? { recordService: svc.name } : {}) };
  // Live members are measured apart when a switchover may judge them: a ramp-in, a version rollout, or a
  // move to another instance type (delta analysis's vertical action, a proof of another type).
  const typeMoves = cfg.control.delta.action === 'vertical' || (svc.scaling.proof !== 'off' && (svc.scaling.trials.types ?? []).some((t) => t !== svc.instanceType));
  const measureMembers = svc.scaling.switchover.rampIn || typeMoves || Object.keys((cfg.instanceTypes[svc.instanceType] as InstanceTypeConfig).versions).length > 0;
  return { shadow: [], mirror, measureMembers, requestTimeoutMs: gw.timeoutMs, ejectAfterFailures: gw.ejectAfterFailures, ejectForMs: gw.ejectForMs, ...(gw.routes ? { routes: gw.routes } : {}), ...(gw.healthCheck ? { healthCheck: gw.healthCheck } : {}) };
}

/**
 * Every service's gateway metrics in one exposition: the same families merged, each sample labelled with its
 * service (one service too: Prometheus reads a service's traffic by that label, metrics.source prometheus).
 */
async function gatewayMetricsText(services: readonly ServiceRuntime[]): Promise<string> {
  const parts = await Promise.all(services.map(async (s) => ({ name: s.name, text: (await s.gateway.metrics()).text })));
  return mergeExpositions(parts);
}

/**
 * The forecast's history the store lacks (a new store, or a control plane that was down), read from
 * Prometheus with query_range a minute apart, in chunks Prometheus serves (at most 10,000 points each).
 */
async function backfillFromPrometheus(store: Store, source: PrometheusSource, svc: ServiceConfig, nowMs: number, onEvent: RuntimeOptions['onEvent']): Promise<void> {
  const from = nowMs - svc.forecast.historyDays * 86_400_000;
  const have = store.series({ service: svc.name, pool: 'live', metric: METRIC.liveRps, from, to: nowMs, resolution: 60 });
  const start = Math.max(from, ...have.map((p) => p.ts + 60_000));
  if (nowMs - start < 120_000) return;
  const step = 60;
  let points = 0;
  try {
    for (let t = Math.floor(start / 1000); t < nowMs / 1000; t += 10_000 * step) {
      const rows = await source.history(svc.name, t, Math.min(nowMs / 1000, t + (10_000 - 1) * step), step);
      store.addSamples(rows.map(([ts, v]) => ({ ts: ts * 1000, service: svc.name, pool: 'live', metric: METRIC.liveRps, value: v })));
      points += rows.length;
    }
    onEvent?.({ at: nowMs, service: svc.name, kind: 'metrics_history', detail: `history from Prometheus: ${points} points a minute apart since ${new Date(start).toISOString()} (what the store lacked)` });
  } catch (e) {
    onEvent?.({ at: nowMs, service: svc.name, kind: 'metrics_history', detail: `history from Prometheus could not be read (${(e as Error).message}): the forecast starts from what the store has` });
  }
}

interface ServiceDeps {
  readonly store: Store;
  readonly provider: Provider;
  readonly control: GatewayControl;
  readonly local: GatewayCore | undefined;
  readonly now: () => number;
  readonly o: RuntimeOptions;
  /** The first supervised service (RuntimeOptions.strategy and initialInstances are its). */
  readonly first: boolean;
  /** Its trials' load (req/s) borrowed of its dependencies' shadows and their instances; why a trial must wait, or undefined (ProofGateDeps.trialLoad). */
  readonly trialLoad: (rps: number, trials: readonly TrialHold[]) => string | undefined;
  /** A shared shadow pool's grant (LoopDeps.shadowGrant); undefined: a dedicated shadow. */
  readonly shadowGrant?: (shadows: number, borrowedInstances: number) => number;
  /** Requests/s its callers' trials send its shadow. */
  readonly borrowedShadowRps: () => number;
  /** The longest lead time plus period among the services it calls, directly or not (0: none). */
  readonly dependenciesLeadSeconds: number;
  /** The floor its callers put on it (the run's dependency graph, bound once every loop exists). */
  readonly dependencyFloor: (now: number, horizonSeconds: number) => DependencyFloor | undefined;
}

/** One service's loop, proof gate and A/B arms on the shared store, provider and its gateway. */
async function startService(cfg: Config, svc: ServiceConfig, d: ServiceDeps): Promise<ServiceRuntime> {
  const { store, provider, control, now } = d;
  // The run's strategy and initial instances are the first service's (the one a demo compares); the others keep their own.
  const o: RuntimeOptions = d.first ? d.o : { ...d.o, strategy: undefined, initialInstances: undefined };
  const gw = cfg.gateway;
  const model = serviceModel(cfg, svc);
  const shadowType = svc.shadow.instanceType ?? svc.instanceType;
  const sampling = svc.shadow.sampling;
  // An A/B a crash left open: its arm instances go, the experiment is closed as aborted.
  const armsLeft = await recoverArms(store, provider, svc.name, now);
  if (armsLeft > 0) o.onEvent?.({ at: now(), service: svc.name, kind: 'trial_recovered', detail: `${armsLeft} A/B arm instance(s) left by an earlier run deleted` });
  const strategyName = o.strategy ?? svc.scaling.strategy;
  const strategy = buildStrategy(strategyName, model);
  const forecaster = strategyName === 'reactive' ? undefined : buildForecaster({ model: svc.forecast.model, seasonality: svc.forecast.seasonality, reuseFitPoints: 0 });
  // A stateful service's writes are a demand signal of their own (scaling.writeSignal), whatever its strategy.
  const writeForecaster = svc.shadow.sync === 'snapshot' && svc.scaling.writeSignal ? buildForecaster({ model: svc.forecast.model, seasonality: svc.forecast.seasonality, reuseFitPoints: 0 }) : undefined;
  const shadowT = cfg.instanceTypes[shadowType] as InstanceTypeConfig;
  const c = cfg.control;
  const sc = svc.scaling;
  const liveProvider = provider;
  // The recent mirrored requests (scrubbed as the shadow gets them); in metadata mode, the recorded
  // routes, methods and sizes: what trials replay.
  const recentMix = async (): Promise<MixRequest[]> => (sampling.mode === 'metadata' ? mixFromRecording((await control.metadata()).records.map((r) => ({ at: r.at, method: r.method, route: r.route, requestBytes: r.requestBytes }))).mix : await control.recentRequests());
  // Rollouts a crash left open are rolled back: the live version is the one before them.
  for (const id of recoverRollouts(store, svc.name, o.strategy ?? svc.scaling.strategy, now())) o.onEvent?.({ at: now(), service: svc.name, kind: 'rollout', detail: `rollout ${id} was under way when the control plane stopped: rolled back (its instances go once the live version serves)` });
  const liveVersion = liveVersionFromStore(store, svc.name, svc.version);
  // A rollout's capacity trial: the new version on one shadow instance, driven like the gate's trials.
  let rolloutTrials = 0;
  const measureCapacity: MeasureCapacity = async (version, perInstanceRps, signal) => {
    const t = cfg.instanceTypes[svc.instanceType] as InstanceTypeConfig;
    const id = `${svc.name}-trial-${now().toString(36)}-v${rolloutTrials++}`;
    const mix = await recentMix().catch(() => undefined);
    const state = svc.shadow.sync === 'snapshot' ? await liveSnapshot(provider, svc.name, svc.shadow.syncTimeoutSeconds) : undefined;
    if (svc.shadow.sync === 'snapshot' && state === undefined) throw new Error('no live state snapshot to copy into the trial instance');
    const plan: TrialPlan = { id, service: svc.name, instanceType: svc.instanceType, version, perInstanceRps, stepFractions: [...DEFAULT_STEPS], minSamplesPerStep: sc.trials.samplesPerStep, minStepSeconds: 2, maxStepSeconds: sc.trials.maxStepSeconds, warmupSeconds: t.warmupSeconds, path: sc.trials.path, seed: cfg.simulation.seed + rolloutTrials, ...(mix && mix.length >= 20 ? { mix } : {}), ...(state !== undefined ? { state } : {}) };
    const r = await runTrial(plan, { provider: provider, log: store, readyTimeoutMs: cfg.provider.readyTimeoutSeconds * 1000, stateTimeoutMs: svc.shadow.syncTimeoutSeconds * 1000, now, signal }, { ...DEFAULT_VERDICT, sloLatencyMs: svc.slo.latencyP99Ms, sloErrorRate: svc.slo.errorRate });
    return { trial: id, verdict: r.verdict, ...r.capacityAtSloRps };
  };
  const trialTypes: Record<string, GateType> = {};
  for (const name of new Set([svc.instanceType, ...(sc.trials.types ?? [])])) {
    const t = cfg.instanceTypes[name] as InstanceTypeConfig;
    trialTypes[name] = { name, slots: t.slots, serviceTimeSeconds: t.serviceTimeMs / 1000, prices: t.prices, provisioningSeconds: t.provisioningSeconds, warmupSeconds: t.warmupSeconds };
  }
  const gate =
    sc.proof === 'off'
      ? undefined
      : new ProofGate(
          {
            service: svc.name,
            mode: sc.proof,
            version: liveVersion,
            types: trialTypes,
            sloLatencyMs: svc.slo.latencyP99Ms,
            sloErrorRate: svc.slo.errorRate,
            headroom: sc.headroom,
            minInstances: svc.pool.min,
            maxInstances: svc.pool.max,
            maxStepUp: sc.maxStepUp,
            spotShare: sc.spot.share,
            freshSeconds: sc.trials.freshSeconds,
            samplesPerStep: sc.trials.samplesPerStep,
            maxStepSeconds: sc.trials.maxStepSeconds,
            maxConcurrent: sc.trials.maxConcurrent,
            budgetShare: sc.trials.budgetShare,
            budgetWindowSeconds: sc.trials.budgetWindowSeconds,
            minTypeSaving: sc.trials.minTypeSaving,
            path: sc.trials.path,
            ...(sc.trials.redundancy ? { redundancy: { recoverySeconds: sc.trials.redundancy.recoverySeconds, fault: sc.trials.redundancy.fault, ...(sc.trials.redundancy.delayMs !== undefined ? { delayMs: sc.trials.redundancy.delayMs } : {}) } } : {}),
            readyTimeoutMs: cfg.provider.readyTimeoutSeconds * 1000,
            stateTimeoutMs: svc.shadow.syncTimeoutSeconds * 1000,
          },
          {
            provider,
            log: store,
            now,
            // Stateful services (shadow.sync: snapshot): the trial instances start from a live instance's state.
            ...(svc.shadow.sync === 'snapshot' ? { snapshot: () => liveSnapshot(liveProvider, svc.name, svc.shadow.syncTimeoutSeconds) } : {}),
            trialLoad: d.trialLoad,
            mix: recentMix,
            ...(o.onEvent ? { onEvent: (kind, detail, numbers) => o.onEvent?.({ at: now(), service: svc.name, kind, detail, ...(numbers ? { numbers } : {}) }) } : {}) },
        );
  // Known events: the strategies' forecasts have those of declared size, and the yearly ones whose size the
  // store's history shows (src/metrics/demand.ts, forecastEvents).
  const events = knownEvents(svc);
  const loopSettings: LoopSettings = {
      service: svc.name,
      instanceType: svc.instanceType,
      slots: model.type.slots,
      serviceTimeSeconds: model.type.serviceTimeMs / 1000,
      sloLatencySeconds: svc.slo.latencyP99Ms / 1000,
      shadow: { fraction: svc.shadow.fraction, instanceType: shadowType, slots: shadowT.slots, sync: svc.shadow.sync, digestSeconds: svc.shadow.digestSeconds, syncTimeoutSeconds: svc.shadow.syncTimeoutSeconds, mirrorMutations: sampling.mirrorMutations },
      mutationDelta: c.mutationDelta,
      bounds: model.bounds,
      initialInstances: o.initialInstances ?? svc.pool.min,
      tickSeconds: c.tickSeconds,
      metricWindowSeconds: svc.scaling.reactive.metricWindowSeconds,
      staleMetricsSeconds: svc.scaling.staleMetricsSeconds,
      leadTimeSeconds: model.leadTimeSeconds,
      ...(d.dependenciesLeadSeconds > 0 ? { dependenciesLeadSeconds: d.dependenciesLeadSeconds } : {}),
      forecast: { level: svc.forecast.level, refitSeconds: svc.forecast.refitSeconds, bucketSeconds: c.forecastBucketSeconds, timeScale: c.timeScale, historySeconds: Math.min((svc.forecast.historyDays * DAY) / c.timeScale, c.forecastBucketSeconds < 60 ? cfg.store.retention.rawSeconds : c.forecastBucketSeconds < 3600 ? cfg.store.retention.minuteSeconds : cfg.store.retention.hourSeconds), ...(events.length ? { events } : {}) },
      delta: { ...c.delta },
      types: Object.fromEntries(Object.entries(cfg.instanceTypes).map(([n, t]) => [n, { slots: t.slots, serviceTimeSeconds: t.serviceTimeMs / 1000, warmupSeconds: t.warmupSeconds }])),
      readyTimeoutSeconds: cfg.provider.readyTimeoutSeconds,
      ...(c.sampling.adaptive ? { sampling: { baseRate: sampling.rate, minRate: gw.mirror.minRate, maxRate: gw.mirror.maxRate, fastChangePerSecond: c.sampling.fastChangePerSecond, raiseFactor: c.sampling.raiseFactor, decayPerSecond: c.sampling.decayPerSecond } } : {}),
      ...(c.capacityRefit.enabled ? { capacityRefit: { minPairs: c.capacityRefit.minPairs, everyTicks: c.capacityRefit.everyTicks } } : {}),
      headroom: sc.headroom,
      emergencyUtilization: (strategyName === 'hybrid' ? hybridNetUtilization(model) : sc.reactive.targetUtilization) * (1 + sc.reactive.tolerance),
      sloErrorRate: svc.slo.errorRate,
      mode: sc.mode,
      ...(sc.switchover.warmBeforeTraffic ? { warmBeforeTraffic: true } : {}),
      typeRetrySeconds: sc.switchover.typeRetrySeconds,
      ...(sc.warmPool.size > 0 ? { warmPool: { size: sc.warmPool.size, reuseOnScaleIn: sc.warmPool.reuseOnScaleIn } } : {}),
      version: liveVersion,
      versions: Object.fromEntries(Object.entries(cfg.instanceTypes).map(([n, t]) => [n, Object.keys(t.versions)])),
      rollout: { ...sc.rollout, shift: { stepWeight: sc.switchover.stepWeight, maxWeight: sc.switchover.maxWeight, intervalSeconds: sc.switchover.intervalSeconds, threshold: sc.switchover.threshold, maxInconclusive: sc.switchover.maxInconclusive } },
      ...(sc.switchover.rampIn ? { rampIn: { stepWeight: sc.switchover.stepWeight, maxWeight: sc.switchover.maxWeight, intervalSeconds: sc.switchover.intervalSeconds, threshold: sc.switchover.threshold, maxInconclusive: sc.switchover.maxInconclusive } } : {}),
    };
  const loop = new ServiceLoop(
    loopSettings,
    { provider, gateway: control, store, strategy, ...(forecaster ? { forecaster } : {}), ...(gate ? { gate } : {}), now, ...(o.onEvent ? { onEvent: o.onEvent } : {}), measureCapacity, dependencyFloor: d.dependencyFloor, borrowedShadowRps: d.borrowedShadowRps, ...(d.shadowGrant ? { shadowGrant: d.shadowGrant } : {}), ...(writeForecaster ? { writeForecaster } : {}) },
  );
  let ab: AbArms | undefined;
  if (svc.shadow.ab) {
    // Every arm: the live model, its bounds scaled to the arm's share, its own strategy.
    const share = svc.shadow.ab.share;
    const armModel = { ...model, bounds: abBounds(model.bounds, share) };
    const forecastSettings = loopSettings.forecast;
    ab = new AbArms(
      {
        service: svc.name,
        arms: svc.shadow.ab.strategies.map((name) => ({ name, strategy: buildStrategy(name, armModel) })),
        share,
        instanceType: svc.instanceType,
        slots: model.type.slots,
        slo: svc.slo,
        bounds: armModel.bounds,
        initialInstances: Math.min(armModel.bounds.maxInstances, Math.max(armModel.bounds.minInstances, Math.ceil((o.initialInstances ?? svc.pool.min) * share - 1e-9))),
        metricWindowSeconds: svc.scaling.reactive.metricWindowSeconds,
        staleMetricsSeconds: svc.scaling.staleMetricsSeconds,
        tickSeconds: c.tickSeconds,
        ...(svc.shadow.ab.strategies.some((n) => n !== 'reactive') ? { forecast: { settings: forecastSettings, forecaster: forecaster ?? buildForecaster({ model: svc.forecast.model, seasonality: svc.forecast.seasonality, reuseFitPoints: 0 }), horizonSeconds: forecastHorizonSeconds(model.leadTimeSeconds, sc.periodSeconds, svc.forecast.refitSeconds) } } : {}),
        requestTimeoutMs: gw.timeoutMs,
      },
      { provider, gateway: control, store, now, ...(o.onEvent ? { onEvent: (kind, detail) => o.onEvent?.({ at: now(), service: svc.name, kind, detail }) } : {}) },
    );
    await ab.start();
  }
  return { name: svc.name, loop, gateway: control, localGateway: d.local, ...(gate ? { gate } : {}), ...(ab ? { ab } : {}), headroom: sc.headroom, ...(strategyName === 'predictive' ? {} : { holdUtilization: sc.reactive.targetUtilization }) };
}

/** One supervised service: its loop, gateway (its own listener's, or its part of the routed front end), proofs and arms. */
export interface ServiceRuntime {
  readonly name: string;
  readonly loop: ServiceLoop;
  readonly gateway: GatewayControl;
  /** The gateway in this process (undefined with a cluster of workers). */
  readonly localGateway: GatewayCore | undefined;
  /** Proof before change; undefined when scaling.proof is off. */
  readonly gate?: ProofGate;
  /** A/B arms in the shadow; undefined unless shadow.ab is configured. */
  readonly ab?: AbArms;
  /** Its scaling headroom (what a dependency floor adds on top of the expected load). */
  readonly headroom: number;
  /** The utilization its reactive rule holds (reactive and hybrid strategies); undefined: predictive. */
  readonly holdUtilization?: number;
}

/** A service's tick timer and the tick under way (ticks of one service never overlap; services tick apart). */
interface Ticker {
  timer: NodeJS.Timeout | undefined;
  ticking: Promise<unknown> | undefined;
}

export class Runtime {
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private readonly tickers = new Map<string, Ticker>();
  /** The dependency graph's learning windows (every control.dependencyWindowSeconds). */
  private learnTimer: NodeJS.Timeout | undefined;
  /** Instances that stop({ deleteInstances }) stopped. */
  stoppedInstances = 0;

  private constructor(
    readonly store: Store,
    readonly provider: Provider,
    /** Every supervised service, in the configuration's order. */
    readonly services: readonly ServiceRuntime[],
    readonly listen: string,
    readonly admin: string | undefined,
    private readonly closeGateway: () => Promise<void>,
    private readonly adminServer: Server | undefined,
    private readonly o: RuntimeOptions,
    /** The REST API and dashboard; undefined with api: false. */
    readonly api?: ApiServer,
    private readonly runMetrics?: RunMetrics,
    /** The dependency graph among the supervised services; undefined when none depends on another. */
    readonly dependencies?: Dependencies,
    /** The shadow router's address (shadow and trial instances reach their dependencies' shadows there). */
    readonly shadowRouter?: string,
    /** Each service's part of the shadow router (its members: the service's synced shadows). */
    readonly shadowRoutes: ReadonlyMap<string, GatewayCore> = new Map(),
    /** The shared shadow pool (shadowPool.mode: shared); undefined: a dedicated shadow per service. */
    readonly shadowPool?: SharedShadowPool,
    /** The replicas' leader election (provider.kind kubernetes); undefined: this process always acts. */
    readonly elector?: LeaderElector,
  ) {
    for (const s of services) this.tickers.set(s.name, { timer: undefined, ticking: undefined });
  }

  /** The first supervised service (the only one when a run supervises one). */
  get primary(): ServiceRuntime {
    return this.services[0] as ServiceRuntime;
  }

  get loop(): ServiceLoop {
    return this.primary.loop;
  }

  get gateway(): GatewayControl {
    return this.primary.gateway;
  }

  /** Every service's gateway reopens its metadata record file (gateway.mirror.recordFile) by name. */
  async reopenRecords(): Promise<boolean> {
    let any = false;
    for (const s of this.services) if (await s.gateway.reopenRecord()) any = true;
    return any;
  }

  get localGateway(): GatewayCore | undefined {
    return this.primary.localGateway;
  }

  get gate(): ProofGate | undefined {
    return this.primary.gate;
  }

  get ab(): AbArms | undefined {
    return this.primary.ab;
  }

  /** A supervised service by name. */
  service(name: string): ServiceRuntime | undefined {
    return this.services.find((s) => s.name === name);
  }

  /** The API's (and dashboard's) base URL, if it listens. */
  get apiUrl(): string | undefined {
    return this.api?.url;
  }

  /**
   * Start supervising the configuration's services (only `o.service` when given): one store, one provider,
   * one gateway listener (routing by Host and path prefix when there are several services), one loop per
   * service ticking on its own timer.
   */
  static async start(o: RuntimeOptions): Promise<Runtime> {
    const cfg = o.cfg;
    const picked = o.service !== undefined ? cfg.services.filter((s) => s.name === o.service) : cfg.services;
    if (picked.length === 0) throw new Error(`no service "${o.service}"`);
    if (picked.length > 1 && cfg.gateway.workers > 1) throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_INVALID', `gateway.workers: ${cfg.gateway.workers} worker processes serve one service; with ${picked.length} services the gateway runs as one process (set 1, or run each service apart with --service)`);
    if (picked.length > 1) {
      // Several services without routes would each take what no route takes.
      const o2 = routeOverlaps(picked.map((s) => ({ service: s.name, routes: s.routes })))[0];
      const at = (name: string): number => cfg.services.findIndex((s) => s.name === name);
      if (o2 && o2.first.index < 0 && o2.second.index < 0) throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_INVALID', `services[${at(o2.second.service)}].routes: services "${o2.first.service}" and "${o2.second.service}" have no routes: with several services in one run, at most one may take the requests no route takes (give the others routes, or run one with --service)`);
      if (o2) {
        const [routed, bare] = o2.second.index >= 0 ? [o2.second, o2.first] : [o2.first, o2.second];
        throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_INVALID', `services[${at(routed.service)}].routes[${routed.index}]: route ${o2.match} takes what no other route takes, as service "${bare.service}" without routes does`);
      }
    }
    const now = o.now ?? Date.now;
    const storePath = resolve(cfg.store.path);
    mkdirSync(dirname(storePath), { recursive: true });
    const store = Store.open({ path: storePath, retention: cfg.store.retention, ...(cfg.store.maxSizeBytes !== undefined ? { maxSizeBytes: cfg.store.maxSizeBytes } : {}) });
    let provider: Provider | undefined;
    let elector: LeaderElector | undefined;
    let closeGateway: (() => Promise<void>) | undefined;
    let adminServer: Server | undefined;
    let api: ApiServer | undefined;
    const started: ServiceRuntime[] = [];
    try {
      const gw = cfg.gateway;
      // Validated by the schema.
      const { host, port: listenPort } = parseHostPort(gw.listen) as { host: string; port: number };
      const gateways = new Map<string, { control: GatewayControl; local: GatewayCore | undefined }>();
      let port: number;
      if (picked.length === 1 && gw.workers > 1) {
        const svc = picked[0] as ServiceConfig;
        await checkListen(host, listenPort, 'gateway.listen');
        const c = await ClusterGateway.start({ workers: gw.workers, host, port: listenPort, live: [], options: gatewayOptions(cfg, svc) });
        gateways.set(svc.name, { control: c, local: undefined });
        port = c.address.port;
        closeGateway = () => c.close();
      } else if (picked.length === 1) {
        const svc = picked[0] as ServiceConfig;
        const local = createGateway({ ...gatewayOptions(cfg, svc), live: [] });
        port = (await local.listen(listenPort, host, 'gateway.listen')).port;
        gateways.set(svc.name, { control: localControl(local), local });
        closeGateway = () => local.close();
      } else {
        // One listener for every service: the route table picks the service, its own gateway serves.
        const parts = picked.map((svc) => ({ name: svc.name, routes: svc.routes, gateway: createServiceGateway({ ...gatewayOptions(cfg, svc), live: [] }) }));
        const routed = createRoutedGateway(parts);
        for (const p of parts) gateways.set(p.name, { control: localControl(p.gateway), local: p.gateway });
        closeGateway = () => routed.close();
        port = (await routed.listen(listenPort, host, 'gateway.listen')).port;
      }
      // Dependencies among the supervised services: their instances get their addresses, and a shadow or
      // trial instance calls its dependencies' shadows through a second, loopback-only listener that routes
      // to shadow pools alone (never to live: mirrored traffic must not write to a live database).
      const edges = dependencyEdges(cfg).filter((e) => picked.some((p) => p.name === e.from) && picked.some((p) => p.name === e.to));
      // Where instances on this host reach the listeners (a wildcard listen address is not one to call).
      const loopback = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      let shadowUrl: string | undefined;
      const shadowRoutes = new Map<string, GatewayCore>();
      if (edges.length > 0) {
        const parts = picked.map((svc) => ({ name: svc.name, routes: svc.routes, gateway: createServiceGateway({ live: [], mirror: { rate: 0 }, requestTimeoutMs: gw.timeoutMs, ejectAfterFailures: gw.ejectAfterFailures, ejectForMs: gw.ejectForMs, absorbMutations: svc.shadow.sync === 'snapshot' }) }));
        const shadowRouted = createRoutedGateway(parts);
        shadowUrl = `http://${urlHost(loopback)}:${(await shadowRouted.listen(0, loopback, 'the shadow router')).port}`;
        for (const p of parts) {
          shadowRoutes.set(p.name, p.gateway);
          const g = gateways.get(p.name) as { control: GatewayControl; local: GatewayCore | undefined };
          gateways.set(p.name, { ...g, control: routeShadowsToo(g.control, p.gateway) });
        }
        const closeMain = closeGateway;
        closeGateway = async () => {
          await closeMain?.();
          await shadowRouted.close();
        };
      }
      const liveUrl = `http://${urlHost(loopback)}:${port}`;
      const envFor = (spec: InstanceSpec): Record<string, string> => {
        const env: Record<string, string> = {};
        for (const e of edges.filter((x) => x.from === spec.service)) {
          const dep = picked.find((p) => p.name === e.to) as ServiceConfig;
          const route = dep.routes[0];
          const key = `SHADOWSCALE_DEPENDENCY_${e.to.toUpperCase().replace(/-/g, '_')}`;
          env[`${key}_URL`] = `${spec.pool === 'live' ? liveUrl : (shadowUrl as string)}${route?.pathPrefix && route.pathPrefix !== '/' ? route.pathPrefix.replace(/\/+$/, '') : ''}`;
          if (route?.host) env[`${key}_HOST`] = route.host;
        }
        return env;
      };
      const controlOf = (service: string): GatewayControl | undefined => gateways.get(service)?.control;
      let adminUrl: string | undefined;
      if (gw.admin) {
        // The admin API: the first service's gateway (the REST API serves every service).
        const a = parseHostPort(gw.admin) as { host: string; port: number };
        adminServer = createAdminServer(controlOf((picked[0] as ServiceConfig).name) as GatewayControl);
        const s = adminServer;
        await listenOn(s, a.port, a.host, 'gateway.admin');
        adminUrl = `http://${urlHost(a.host)}:${(s.address() as AddressInfo).port}`;
      }
      const beforeStop = async (i: Instance): Promise<void> => {
        // In-flight requests finish before the instance is stopped (bounded: a stuck request gets the gateway's timeout).
        const control = controlOf(i.service);
        if (i.pool === 'live' && control) await Promise.race([control.drainAndWait(i.id), new Promise<void>((r) => setTimeout(r, gw.timeoutMs).unref())]);
      };
      const k = cfg.provider.kind === 'kubernetes' ? cfg.provider.kubernetes : undefined;
      if (k) {
        // Pods of the services' Deployments; one replica of shadowscale acts (the Lease's holder).
        // The Kubernetes client is loaded here, not at startup: it costs every other command a third of a second.
        const { clusterConfig, replicaIdentity, routeService, routeSettings, startElection, startKubernetesProvider } = await import('./kubernetes.js');
        const { GatewayApiTraffic, IstioTraffic } = await import('../providers/kubernetes/traffic.js');
        const kc = clusterConfig(k);
        const identity = replicaIdentity(k, o.env ?? process.env);
        const kp = await startKubernetesProvider(cfg, store, picked, { kc, identity, beforeStop, ...(o.onInstanceEvent ? { onInstanceEvent: o.onInstanceEvent } : {}), now });
        provider = kp;
        const ga = routeSettings(cfg.traffic);
        if (ga) {
          // The cluster's Gateway (or Istio's mesh) routes: each service's control is its HTTPRoute (or
          // VirtualService), written now with the base mirror rate.
          const settings = Object.fromEntries(picked.map((svc) => [svc.name, routeService(svc, ga, kp.owner(svc.name))]));
          const traffic = cfg.traffic.kind === 'istio' ? new IstioTraffic(kc, k.namespace, settings) : new GatewayApiTraffic(kc, k.namespace, settings);
          await traffic.start();
          const close = closeGateway;
          closeGateway = async () => {
            await traffic.close();
            await close?.();
          };
          for (const svc of picked) {
            const rate = svc.shadow.sampling.rate;
            await traffic.apply(svc.name, { mirrorRate: rate });
            gateways.set(svc.name, { control: routeControl(traffic, svc.name, rate), local: undefined });
          }
        }
        elector = startElection(k, kc, identity, (leading, detail) => o.onEvent?.({ at: now(), kind: 'leadership', detail: `${identity} ${leading ? 'leads: it acts' : 'follows: it does not act'} (${detail})` }));
      } else {
        provider = await startLocalProvider(cfg, store, storePath, {
          ...(o.instanceEnv ? { instanceEnv: o.instanceEnv } : {}),
          ...(edges.length > 0 ? { envFor } : {}),
          beforeStop,
          ...(o.onInstanceEvent ? { onInstanceEvent: o.onInstanceEvent } : {}),
          now,
        });
      }
      // Trials a crash left open: their instances go before the loops could take them for shadows, and
      // the experiments are closed as aborted (an unfinished trial never counts as a proof).
      for (const id of await recoverTrials(store, provider, now)) o.onEvent?.({ at: now(), kind: 'trial_recovered', detail: `trial ${id} was left open by an earlier run: its instance deleted, closed as aborted` });
      let graph: Dependencies | undefined;
      // How far ahead each service's forecast must reach: the longest lead (plus period) down its dependencies.
      const downstreamLead = (name: string, seen = new Set<string>()): number => {
        let lead = 0;
        for (const e of edges.filter((x) => x.from === name && !seen.has(x.to))) {
          const dep = picked.find((p) => p.name === e.to) as ServiceConfig;
          lead = Math.max(lead, serviceModel(cfg, dep).leadTimeSeconds + dep.scaling.periodSeconds + joinSeconds(cfg.control.tickSeconds, dep.shadow.sync), downstreamLead(e.to, new Set([...seen, name])));
        }
        return lead;
      };
      // One shadow pool for the services of this run (shadowPool.mode: shared): shadows and trials take their slots from it.
      const sp = cfg.shadowPool;
      const slotsOf = (type: string): number => cfg.instanceTypes[type]?.slots ?? 0;
      const pool = sp.mode === 'shared' && sp.size !== undefined && sp.instanceType !== undefined ? new SharedShadowPool({ size: sp.size, instanceType: sp.instanceType, unitSlots: slotsOf(sp.instanceType), minPerService: sp.minPerService }) : undefined;
      for (const svc of picked) pool?.register(svc.name, slotsOf(svc.shadow.instanceType ?? svc.instanceType));
      const pm = cfg.metrics.source === 'prometheus' ? cfg.metrics.prometheus : undefined;
      const prometheus = pm ? new PrometheusSource({ client: new PromClient({ url: pm.url, timeoutMs: pm.timeoutMs, retries: pm.retries }), preset: pm.preset, queries: pm.queries, rangeSeconds: pm.rangeSeconds, stalenessSeconds: pm.stalenessSeconds, now }) : undefined;
      for (const svc of picked) {
        const g = gateways.get(svc.name) as { control: GatewayControl; local: GatewayCore | undefined };
        if (prometheus && pm?.backfillHistory) await backfillFromPrometheus(store, prometheus, svc, now(), o.onEvent);
        const trialLoad = (rps: number, trials: readonly TrialHold[]): string | undefined => {
          // The pool first: the trial's instances and the shadows it borrows of its dependencies must fit together.
          const full = pool?.holdTrials(
            svc.name,
            trials.reduce((a, t) => a + t.instances * slotsOf(t.instanceType), 0),
            graph?.borrowedIf(svc.name, rps),
          );
          if (full) return full;
          if (!graph) return edges.some((e) => e.from === svc.name) ? 'the dependency graph is not ready' : undefined;
          graph.borrow(svc.name, rps);
          return graph.shadowShortfall(svc.name, rps, (dep) => shadowRoutes.get(dep)?.members.length ?? 0);
        };
        started.push(
          await startService(cfg, svc, {
            store,
            provider,
            control: prometheus ? intervalFrom(g.control, () => prometheus.interval(svc.name)) : g.control,
            local: g.local,
            now,
            o,
            first: started.length === 0,
            dependenciesLeadSeconds: downstreamLead(svc.name),
            trialLoad,
            borrowedShadowRps: () => graph?.shadowDemandRps(svc.name) ?? 0,
            dependencyFloor: (t, h) => (cfg.control.propagateDependencies ? graph?.floor(svc.name, t, h) : undefined),
            ...(pool ? { shadowGrant: (shadows: number, borrowed: number) => pool.grant(svc.name, shadows, borrowed) } : {}),
          }),
        );
      }
      if (edges.length > 0) {
        graph = new Dependencies(
          edges,
          new Map(started.map((s) => [s.name, { name: s.name, gateway: s.gateway, expectedDemandRps: (t: number, h: number) => s.loop.expectedDemandRps(t, h), target: () => s.loop.currentTarget, perInstanceRps: () => s.loop.state().perInstanceRps, shadowPerInstanceRps: () => s.loop.shadowPerInstanceRps, headroom: s.headroom, ...(s.holdUtilization !== undefined ? { holdRps: () => s.loop.rpsAtUtilization(s.holdUtilization as number) } : {}) }])),
        );
      }
      let runMetrics: RunMetrics | undefined;
      if (o.api ?? true) {
        // The API, the dashboard and /metrics (every service's gateway metrics appended): before the first tick.
        const apiServices = started.map((s) => {
          const svc = picked.find((c) => c.name === s.name) as ServiceConfig;
          return { name: s.name, config: svc, strategy: (s === started[0] ? o.strategy : undefined) ?? svc.scaling.strategy, loop: s.loop, ...(s.gate ? { gate: s.gate } : {}), ...(s.ab ? { ab: s.ab } : {}), leadTimeSeconds: serviceModel(cfg, svc).leadTimeSeconds };
        });
        runMetrics = new RunMetrics(cfg, apiServices, store, provider, now, async (service) => (await (controlOf(service) as GatewayControl).stats()).mirror);
        const a = parseHostPort(cfg.api.listen) as { host: string; port: number };
        // Readiness waits for each service's first healthy live member (latched: a pool that loses every member
        // later answers 503 no_healthy_upstream, and the loop replaces them; readiness flapping would not help).
        const served = new Set<string>();
        const waiting = async (): Promise<string[]> => {
          const out: string[] = [];
          for (const s of started) {
            if (served.has(s.name)) continue;
            if ((await s.gateway.members()).some((m) => m.healthy)) served.add(s.name);
            else if ((picked.find((c) => c.name === s.name) as ServiceConfig).pool.min > 0 || s.loop.currentTarget > 0) out.push(s.name);
          }
          return out;
        };
        api = await createApi({ cfg, store, provider, services: apiServices, waiting, ...(elector ? { leading: () => (elector as LeaderElector).leading } : {}), metrics: runMetrics, extraMetrics: () => gatewayMetricsText(started), ...(graph ? { dependencies: () => (graph as Dependencies).view() } : {}), ...(pool ? { shadowPool: () => pool.view() } : {}), env: o.env ?? process.env, host: a.host, now });
        await listenApi(api, a.host, a.port);
        // Where `shadowscale status --config` finds the API of this run (removed when the store closes).
        store.setMeta('api', JSON.stringify({ url: api.url, pid: process.pid }));
      }
      const rt = new Runtime(store, provider, started, `http://${urlHost(host)}:${port}`, adminUrl, closeGateway, adminServer, o, api, runMetrics, graph, shadowUrl, shadowRoutes, pool, elector);
      // A store that fails while running (damage, disk full) cannot be trusted to record decisions
      // before they are acted on: the loops stop acting and the owner is told.
      store.onFailure = (e) => rt.fail(e);
      if (o.autoTick ?? true) rt.startTicking(cfg.control.tickSeconds);
      return rt;
    } catch (err) {
      await api?.close().catch(() => undefined);
      for (const s of started) await s.ab?.close().catch(() => undefined);
      await elector?.stop({ release: true }).catch(() => undefined);
      await provider?.close();
      await closeGateway?.();
      const a = adminServer;
      if (a) {
        a.closeAllConnections();
        await new Promise<void>((r) => a.close(() => r()));
      }
      store.close();
      throw err;
    }
  }

  /** Why the loops stopped acting (the store failed), if they did. */
  failure: Error | undefined;

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.stopped = true;
    for (const t of this.tickers.values()) if (t.timer) clearInterval(t.timer);
    for (const t of this.tickers.values()) t.timer = undefined;
    if (this.learnTimer) clearInterval(this.learnTimer);
    this.o.onEvent?.({ at: Date.now(), kind: 'stopped', detail: `the loop stopped acting: ${err.message}` });
    // Running trials end: their instances are deleted (the store may not record it; the next start recovers).
    for (const s of this.services) {
      void s.gate?.close().catch(() => undefined);
      void s.ab?.close().catch(() => undefined);
    }
    this.o.onFatal?.(err);
  }

  /** One tick of a service (the first by default) now; never two of one service at once. */
  async tick(service = this.primary.name): Promise<TickReport | undefined> {
    if (this.stopped) return undefined;
    const s = this.service(service);
    const t = this.tickers.get(service);
    if (!s || !t) throw new Error(`no service "${service}" in this run`);
    while (t.ticking) await t.ticking;
    const p = s.loop.tick();
    const settled: Promise<unknown> = p.then(
      () => undefined,
      () => undefined,
    );
    t.ticking = settled;
    void settled.then(() => {
      if (t.ticking === settled) t.ticking = undefined;
    });
    const r = await p;
    this.runMetrics?.observeTick(s.name, r.tickMs);
    if (s.ab && !this.stopped) {
      try {
        await s.ab.tick(r.liveRps);
      } catch (err) {
        // The arms are an experiment: their failure never stops the live loop.
        this.o.onEvent?.({ at: Date.now(), service: s.name, kind: 'ab_action_failed', detail: `A/B tick failed: ${(err as Error).message}` });
      }
    }
    this.o.onTick?.(r);
    return r;
  }

  /**
   * Tick every service (or those named) every control.tickSeconds (Runtime.start does this unless autoTick
   * is false), each on its own timer: a slow tick of one service is not overlapped and delays no other's.
   */
  startTicking(seconds = this.o.cfg.control.tickSeconds, only?: readonly string[]): void {
    const graph = this.dependencies;
    if (graph && !this.learnTimer) this.learnTimer = setInterval(() => void graph.observe(), this.o.cfg.control.dependencyWindowSeconds * 1000);
    for (const s of this.services) {
      if (only && !only.includes(s.name)) continue;
      const t = this.tickers.get(s.name) as Ticker;
      if (t.timer) continue;
      t.timer = setInterval(() => {
        // Only the leader acts: a follower's loops wait (a new leader's first tick reads what the cluster has).
        if (t.ticking || (this.elector && !this.elector.leading)) return;
        // One service's failing tick is reported and never stops the others.
        this.tick(s.name).catch((err: unknown) => this.failure === undefined && this.o.onEvent?.({ at: Date.now(), service: s.name, kind: 'action_failed', detail: `tick failed: ${(err as Error).message}` }));
      }, seconds * 1000);
    }
  }

  /** Stop the timers and wait for running ticks. */
  async pauseTicking(): Promise<void> {
    if (this.learnTimer) clearInterval(this.learnTimer);
    this.learnTimer = undefined;
    for (const t of this.tickers.values()) {
      if (t.timer) clearInterval(t.timer);
      t.timer = undefined;
    }
    await Promise.all([...this.tickers.values()].map((t) => t.ticking));
  }

  /**
   * Stop the loops and the gateway. Instances keep running (the next start adopts them) unless
   * `deleteInstances`, which drains and stops them.
   */
  stop(o: { deleteInstances?: boolean } = {}): Promise<void> {
    // A second stop waits for the first (the demo's interrupt and its own finally may both stop it).
    this.stopping ??= this.doStop(o);
    return this.stopping;
  }

  private async doStop(o: { deleteInstances?: boolean }): Promise<void> {
    this.stopped = true;
    await this.pauseTicking();
    for (const s of this.services) {
      // Running trials are aborted: their instances deleted, their experiments closed as aborted.
      await s.gate?.close().catch(() => undefined);
      await s.loop.close().catch(() => undefined);
      // The A/B arms end with the run: their instances deleted, the experiment closed with its figures.
      await s.ab?.close().catch(() => undefined);
    }
    if (o.deleteInstances) {
      const all = await this.provider.list();
      await Promise.all(all.map((i) => this.provider.delete(i.id).catch(() => undefined)));
      this.stoppedInstances = all.length;
    }
    await this.api?.close().catch(() => undefined);
    // Handing the lease back lets a follower take over at once rather than after the lease runs out.
    await this.elector?.stop({ release: true }).catch(() => undefined);
    await this.provider.close();
    this.adminServer?.closeAllConnections();
    await Promise.all([this.closeGateway(), new Promise<void>((r) => (this.adminServer ? this.adminServer.close(() => r()) : r()))]);
    this.store.close();
  }
}
