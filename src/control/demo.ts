// `shadowscale demo`: the whole loop on this machine. Sample-service instances under the local
// provider, the gateway, the shadow pool, the control loop, and an open-loop load generator playing
// a compressed day with a steep ramp. The forecaster learns the day from seeded history of earlier
// days written to the store; it is never told the future.
//
// Per strategy:
// 1. Start the runtime on a fresh store; start the initial pool (what the night needs) and the
//    shadow, and let them warm up.
// 2. Write `historyDays` earlier days of the same profile (Poisson counts, another seed) to the store.
// 3. At a whole second, start ticking and the load; a status line per tick.
// 4. Score from the client's side: per-second p99 and errors against the SLO; instance-seconds and
//    the most instances from the ticks; the lead: how long before the ramp started the pool began to
//    grow towards what the ramp's top needs (negative: after the ramp started).

import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import { ShadowscaleError } from '../core/errors.js';
import type { Config } from '../config/schema.js';
import { maxRateAtSlo, instancesFor } from '../core/capacity.js';
import { DAY } from '../core/forecast.js';
import { createRng } from '../core/random.js';
import type { StrategyName } from '../core/reasons.js';
import { DEMO_ENV, findLeftovers, processMark, removeLeftovers, throwawayDir } from './leftovers.js';
import { percentile, startLoad, totals } from '../gateway/loadgen.js';
import { shadowSize, type LoopEvent, type TickReport } from './loop.js';
import { Store, type ExperimentRecord } from '../metrics/store.js';
import type { ArmSummary } from '../proof/ab.js';
import { Runtime } from './runtime.js';
import { blockedPortNote } from '../api/server.js';
import { startPrometheusServer, type PrometheusServer } from '../metrics/prometheus-server.js';
import { keepScrapeTargets } from './scrape.js';

export const DEMO_CONFIG = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples', 'demo', 'demo.yaml');

/** Where the steep ramp starts and ends, as fractions of the day. */
export const RAMP = { start: 0.4, end: 0.43 } as const;

/** The day's shape at fraction x of the day, as a fraction of the peak: a quiet night, a gentle rise, a steep ramp, a long afternoon, an evening fall. */
export function dayShape(x: number): number {
  const f = ((x % 1) + 1) % 1;
  if (f < RAMP.start) return 0.12 + (0.08 * f) / RAMP.start;
  if (f < RAMP.end) return 0.2 + (0.8 * (f - RAMP.start)) / (RAMP.end - RAMP.start);
  if (f < 0.75) return 1 - (0.1 * (f - RAMP.end)) / (0.75 - RAMP.end);
  if (f < 0.95) return 0.9 - (0.75 * (f - 0.75)) / 0.2;
  return 0.15 - (0.03 * (f - 0.95)) / 0.05;
}

export type DemoStrategy = 'reactive' | 'predictive' | 'hybrid';

export interface DemoOptions {
  /** Length of the compressed day (s): one run per strategy lasts this long. */
  readonly durationSeconds: number;
  readonly strategies: readonly DemoStrategy[];
  readonly peakRps: number;
  readonly seed: number;
  readonly historyDays: number;
  readonly configFile?: string;
  /** Status lines (one per tick) and log lines, for humans. */
  readonly onStatus?: (line: string) => void;
  readonly onLog?: (line: string) => void;
  /** Aborted (SIGINT, SIGTERM): the demo stops its instances, removes its directory and rejects with DemoInterrupted. */
  readonly signal?: AbortSignal;
  /** A/B arms in the shadow, one per strategy, during each strategy's day (shadow.ab of the configuration). */
  readonly ab?: readonly DemoStrategy[];
  /** Address of the API and dashboard (default 127.0.0.1:0: any free port). */
  readonly api?: string;
  /** Configuration keys set on top of the demo's configuration (`--set path=value`), e.g. control.propagateDependencies=false. */
  readonly sets?: readonly string[];
  /**
   * The Prometheus variant: this binary (Debian's prometheus) runs beside each day, scrapes the run's
   * /metrics and every instance's, and the loop reads its traffic only from it (metrics.source prometheus).
   */
  readonly prometheus?: string;
}

/** The demo was interrupted; what it had started is stopped and its directory removed. */
export class DemoInterrupted extends Error {
  constructor(readonly cleanup: { stopped: number; removed: number }) {
    super(`interrupted: ${cleanup.stopped} instance(s) stopped, ${cleanup.removed} temporary director${cleanup.removed === 1 ? 'y' : 'ies'} removed`);
  }
}

/** A decision that acted on a proof, with what the trial predicted and what production then saw. */
export interface DemoProof {
  /** Seconds into the day. */
  readonly at: number;
  /** The configuration proved: type x count. */
  readonly candidate: string;
  readonly verdict: string;
  readonly predictedP99Ms: number | null;
  /**
   * Production's p99 (client side) from when the change took effect, over the next 60 s or until the next
   * change took effect, in the seconds whose load stayed within the rate the proof was for.
   */
  readonly realizedP99Ms: number | null;
}

export interface DemoStrategyResult {
  sloViolationSeconds: number;
  p99Ms: number;
  instanceSeconds: number;
  maxInstances: number;
  scaleUpLeadSeconds: number | null;
  shadow: { mirrored: number; dropped: number };
}

/** One service's day. The first service's figures are the clients'; another's are its gateway's, per tick. */
/** Delta analyses among ticks, by verdict. */
function verdictCounts(ticks: readonly TickReport[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of ticks) if (r.delta) out[r.delta.verdict] = (out[r.delta.verdict] ?? 0) + 1;
  return out;
}

export interface DemoServiceResult {
  sloViolationSeconds: number;
  p99Ms: number | null;
  instanceSeconds: number;
  /**
   * How long before the ramp started the pool began to grow towards what the ramp's top needs of it
   * (negative: after the ramp started; null: it never got there).
   */
  scaleUpLeadSeconds: number | null;
  /** Provisioning + warm-up of its instance type: the lead it needs. */
  requiredLeadSeconds: number;
  /** Decisions of the day that scaled it ahead for its callers (dependency_ahead). */
  dependencyAhead: number;
  /** Its delta analyses of the day (live against its shadow), by verdict. */
  deltaVerdicts: Record<string, number>;
}

export interface DemoShadowResult {
  pooled: boolean;
  instanceSeconds: number;
  dedicatedEstimateInstanceSeconds: number;
}

export interface DemoDetails {
  /** Provisioning + warm-up of the instance type: the lead the forecast must give. */
  readonly requiredLeadSeconds: number;
  readonly sloLatencyMs: number;
  readonly rampStartSecond: number;
  readonly perInstanceRps: number;
  readonly tickMs: { p50: number; p99: number; max: number };
  readonly shadowInstanceSeconds: number;
  readonly requests: number;
  readonly errors: number;
  readonly decisions: number;
  /** Seconds of the day that violated the SLO. */
  readonly violationSeconds: readonly number[];
  /** Decisions that acted on a proof (or acted unproven, as the safety net). */
  readonly proofs: readonly (DemoProof & { readonly status: string; readonly reason: string; readonly targetRps: number; readonly realizedAllP99Ms: number | null })[];
  /** Trials: before the day (calibration) and during it; their instance-seconds against live's. */
  readonly trials: { readonly count: number; readonly instanceSeconds: number; readonly cost: number; readonly shareOfLiveInstanceSeconds: number; readonly beforeDaySeconds: number };
  /** Decisions held for a proof, and type changes the proof chose. */
  readonly held: number;
  readonly typeChanges: number;
  /** Every service of the demo over the day (the first's figures the clients', the others' their gateway's). */
  readonly services: Record<string, DemoServiceResult>;
  /** Shadow instance-seconds of every service; pooled: one shadow pool shared across services (shadowPool.mode: shared), with what dedicated shadows would have used. */
  readonly shadowPool: DemoShadowResult;
  /** Where the loop read its traffic: the embedded gateway, or Prometheus (with how many times its data went missing during the day, and the CPU a request cost live, as Prometheus measured it). */
  readonly metrics: { readonly source: 'gateway' | 'prometheus'; readonly outages: number; readonly cpuMsPerRequest: number | null };
}

export interface DemoResult {
  strategies: Partial<Record<DemoStrategy, DemoStrategyResult>>;
  /** The last strategy's day, per service, and its shadow instance-seconds (`demo --json`'s "services" and "shadow"). */
  services?: Record<string, DemoServiceResult>;
  shadow?: DemoShadowResult;
  /** With `ab`: each arm's figures over the (last) day, side by side. */
  ab?: Record<string, ArmSummary>;
  /** The share of live's requests each arm received (shadow.ab.share). */
  abShare?: number;
  /** When the (last) day started (ms since the epoch): the arms' violationsAt are read against it. */
  dayStartedAt?: number;
  /** Every strategy's proven changes, in strategy order. */
  proofs: DemoProof[];
  details: Partial<Record<DemoStrategy, DemoDetails>>;
}

export function demoConfig(o: Pick<DemoOptions, 'configFile' | 'durationSeconds' | 'ab' | 'api' | 'sets'>, storePath: string): Config {
  return loadConfig({
    file: o.configFile ?? DEMO_CONFIG,
    sets: [`store.path=${storePath}`, `control.timeScale=${DAY / o.durationSeconds}`, 'gateway.listen=127.0.0.1:0', `api.listen=${o.api ?? '127.0.0.1:0'}`, ...(o.ab?.length ? [`services[0].shadow.ab.strategies=[${o.ab.join(',')}]`] : []), ...(o.sets ?? [])],
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Most live instances a demo's day may need: every instance is a process on this machine. */
export const DEMO_MAX_INSTANCES = 100;
/** Longest day (seconds): one day at real time, uncompressed; longer overflows nothing but is no demo. */
export const DEMO_MAX_DURATION_SECONDS = DAY;
/** Most earlier days a demo writes to its store (the forecaster keeps `forecast.historyDays`, 28 by default). */
export const DEMO_MAX_HISTORY_DAYS = 56;

/**
 * The demo's flags against what one machine and the demo's pool can carry, before anything starts:
 * `--peak-rps 1e9` had started 1.8 million live instances (the heap gave out, and the next demo found
 * the orphans). Throws SHADOWSCALE_E_USAGE naming the flag and the largest value that fits.
 */
export function checkDemoLoad(cfg: Config, o: Pick<DemoOptions, 'peakRps' | 'durationSeconds' | 'historyDays'>): void {
  if (o.durationSeconds > DEMO_MAX_DURATION_SECONDS) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--duration: expected at most ${DEMO_MAX_DURATION_SECONDS} seconds (a day at real time), got ${o.durationSeconds}`);
  const svc = cfg.services[0] as Config['services'][number];
  if (o.historyDays > DEMO_MAX_HISTORY_DAYS) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--history-days: expected at most ${DEMO_MAX_HISTORY_DAYS} (the forecaster keeps ${svc.forecast.historyDays} days), got ${o.historyDays}`);
  checkLoadFits(cfg, o.peakRps, '--peak-rps', 'the peak of the day');
}

/**
 * `rps` (with the first service's headroom) must fit its live pool on this machine: `pool.max`, and at most
 * DEMO_MAX_INSTANCES local processes. Throws SHADOWSCALE_E_USAGE naming `flag` and the largest rate that fits
 * (and `--set` for the pool when the command takes it: `settable`).
 */
export function checkLoadFits(cfg: Config, rps: number, flag: string, what: string, settable = true): void {
  const svc = cfg.services[0] as Config['services'][number];
  const type = cfg.instanceTypes[svc.instanceType] as Config['instanceTypes'][string];
  const perInstanceRps = maxRateAtSlo(type.slots, type.serviceTimeMs / 1000, svc.slo.latencyP99Ms / 1000);
  const headroom = 1 + svc.scaling.headroom;
  const cap = Math.min(svc.pool.max, DEMO_MAX_INSTANCES);
  const need = instancesFor(rps * headroom, perInstanceRps);
  if (need > cap) {
    const most = Math.floor((cap * perInstanceRps) / headroom);
    const fix = cap === svc.pool.max ? `the pool takes at most ${cap} (services[0].pool.max): give at most ${most}${settable ? `, or raise it with --set services[0].pool.max=N (N up to ${DEMO_MAX_INSTANCES})` : ''}` : `the demo runs at most ${DEMO_MAX_INSTANCES}, each a process on this machine: give at most ${most}`;
    throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `${flag} ${rps}: ${what} needs ${need} live instances of "${svc.instanceType}" (${perInstanceRps.toFixed(1)} requests/s each at the SLO, with ${Math.round(svc.scaling.headroom * 100)} % headroom); ${fix}`);
  }
}

/**
 * Stop what interrupted demos left behind (their demo process is gone): instances and temporary
 * directories. Every demo does this first; `shadowscale demo --clean` does only this.
 */
export async function cleanDemoLeftovers(): Promise<{ stopped: number; killed: number; removed: number }> {
  return removeLeftovers(findLeftovers());
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const log = o.onLog ?? (() => undefined);
  const swept = await cleanDemoLeftovers();
  if (swept.stopped + swept.removed > 0) log(`stopped ${swept.stopped} instance(s) and removed ${swept.removed} temporary director${swept.removed === 1 ? 'y' : 'ies'} left by an interrupted demo`);
  const mark = processMark();
  const result: DemoResult = { strategies: {}, proofs: [], details: {} };
  // What the trials of one strategy's day proved carries over to the next one's store: the same service
  // on the same machine, proven minutes ago (well within trials.freshSeconds).
  let proven: ExperimentRecord[] = [];
  for (const name of o.strategies) {
    o.signal?.throwIfAborted();
    const dir = throwawayDir(name, mark);
    let rt: Runtime | undefined;
    let prom: PrometheusServer | undefined;
    try {
      if (o.prometheus) {
        const pdir = join(dir, 'prometheus');
        mkdirSync(pdir);
        // Marked as the instances are (a demo's mark, an owner no store has, an id): an interrupted demo's
        // server is found and stopped with them (findLeftovers).
        prom = await startPrometheusServer({ binary: o.prometheus, dir: pdir, scrapeSeconds: 1, env: { [DEMO_ENV]: mark, SHADOWSCALE_OWNER: `demo-${mark}`, SHADOWSCALE_INSTANCE_ID: `prometheus-${name}` } });
        log(`[${name}] Prometheus ${prom.url} scrapes the run and its instances every second; the loop reads its traffic only from it`);
      }
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const run = runOne(name, o, dir, mark, (r) => (rt = r), proven, prom);
    try {
      const r = await abortable(run, o.signal);
      result.strategies[name] = r.result;
      result.details[name] = r.details;
      result.services = r.details.services;
      result.shadow = r.details.shadowPool;
      if (r.ab) {
        result.ab = r.ab;
        result.dayStartedAt = r.dayStartedAt;
        result.abShare = rt?.ab?.s.share;
      }
      proven = r.trials;
      for (const p of r.details.proofs) result.proofs.push({ at: p.at, candidate: p.candidate, verdict: p.verdict, predictedP99Ms: p.predictedP99Ms, realizedP99Ms: p.realizedP99Ms });
    } catch (err) {
      if (!o.signal?.aborted) throw err;
      // 1. Stop what the runtime knows; 2. anything else carrying this demo's mark (an instance
      // being started at the signal); 3. the directory.
      run.catch(() => undefined);
      const r = rt as Runtime | undefined;
      await r?.stop({ deleteInstances: true }).catch(() => undefined);
      const left = findLeftovers({ mark });
      const extra = await removeLeftovers({ instances: left.instances, directories: [dir] });
      throw new DemoInterrupted({ stopped: extra.stopped + (r ? r.stoppedInstances : 0), removed: extra.removed });
    } finally {
      await prom?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return result;
}

/** `p`, or a rejection as soon as `signal` aborts. */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

/** The configuration keys of the Prometheus variant: the loop reads from `url` (a 3 s rate window over 1 s scrapes). */
export function prometheusSets(url: string): string[] {
  return ['metrics.source=prometheus', `metrics.prometheus.url=${url}`, 'metrics.prometheus.rangeSeconds=3', 'metrics.prometheus.stalenessSeconds=5', 'metrics.prometheus.timeoutMs=500', 'metrics.prometheus.retries=1', 'metrics.prometheus.backfillHistory=false'];
}

async function runOne(name: DemoStrategy, o: DemoOptions, dir: string, mark: string, started: (rt: Runtime) => void, proven: readonly ExperimentRecord[], prom: PrometheusServer | undefined): Promise<{ result: DemoStrategyResult; details: DemoDetails; trials: ExperimentRecord[]; ab?: Record<string, ArmSummary>; dayStartedAt: number }> {
  const log = o.onLog ?? (() => undefined);
  const cfg = demoConfig({ ...o, sets: [...(o.sets ?? []), ...(prom ? prometheusSets(prom.url) : [])] }, join(dir, 'store.db'));
  checkDemoLoad(cfg, o);
  let outages = 0;
  if (proven.length) {
    const store = Store.open({ path: cfg.store.path });
    try {
      for (const e of proven) {
        store.startExperiment({ id: e.id, service: e.service, kind: e.kind, startedAt: e.startedAt, config: e.config });
        store.finishExperiment(e.id, e.finishedAt as number, e.verdict as string, e.details);
      }
    } finally {
      store.close();
    }
    log(`[${name}] ${proven.length} trial(s) of the previous day in the store: their proofs stand`);
  }
  const svc = cfg.services[0] as Config['services'][number];
  const type = cfg.instanceTypes[svc.instanceType] as Config['instanceTypes'][string];
  const perInstanceRps = maxRateAtSlo(type.slots, type.serviceTimeMs / 1000, svc.slo.latencyP99Ms / 1000);
  const D = o.durationSeconds;
  const rate = (t: number): number => o.peakRps * dayShape(t / D);
  const initial = Math.max(svc.pool.min, instancesFor(rate(0) * (1 + svc.scaling.headroom), perInstanceRps));
  const ticks: TickReport[] = [];
  /** The latest tick of every other service (for the status line). */
  const others = new Map<string, TickReport>();
  let lastDecision = '';
  let t0 = 0;
  const rt = await Runtime.start({
    cfg,
    strategy: name as StrategyName,
    initialInstances: initial,
    autoTick: false,
    instanceEnv: { [DEMO_ENV]: mark },
    onTick: (r) => {
      ticks.push(r);
      if (r.service !== svc.name) {
        others.set(r.service, r);
        return;
      }
      if (r.decision) lastDecision = `${r.decision.reason} ${r.decision.current}→${r.decision.desired}${r.decision.instanceType ? ` ${r.decision.instanceType}` : ''}${r.decision.driver ? ` (${r.decision.driver})` : ''}${r.decision.proof ? ` · proof ${r.decision.proof.status}${r.decision.proof.trial ? ` (${r.decision.proof.trial.replace(/^.*-trial-/, '')})` : ''}` : ''}`;
      const t = Math.max(0, (r.at - t0) / 1000);
      const arms = rt.ab ? ` · A/B ${Object.entries(rt.ab.sizes()).map(([n, k]) => `${n} ${k}`).join(' ')}` : '';
      o.onStatus?.(
        `[${name.padEnd(10)} ${t.toFixed(0).padStart(4)}/${D}s] ${r.liveRps.toFixed(0).padStart(4)} req/s · live ${r.live.ready}${r.live.requested > r.live.ready ? ` (+${r.live.requested - r.live.ready} starting)` : ''} · shadow ${r.shadow.ready}${r.trials.running ? ` · trial ${r.trials.running}` : ''} · ${r.instanceType} · p99 ${Number.isFinite(r.liveP99Ms) ? r.liveP99Ms.toFixed(0) : '-'} ms · forecast ≤ ${Number.isFinite(r.forecastUpper) ? r.forecastUpper.toFixed(0) : '-'} · ${lastDecision}${arms}${[...others.values()].map((x) => ` · ${x.service} ${x.live.ready}${x.live.requested > x.live.ready ? ` (+${x.live.requested - x.live.ready})` : ''} p99 ${Number.isFinite(x.liveP99Ms) ? x.liveP99Ms.toFixed(0) : '-'} ms`).join('')}`,
      );
    },
    onEvent: (e: LoopEvent) => {
      if (e.kind === 'metrics_missing' && t0 > 0 && e.at >= t0) outages++;
      if (e.kind !== 'decision' && e.kind !== 'sampling' && e.kind !== 'ab_decision') log(`[${name}] ${e.kind}: ${e.detail}`);
    },
  });
  started(rt);
  const blocked = rt.apiUrl ? blockedPortNote(rt.apiUrl) : undefined;
  if (rt.apiUrl) log(`[${name}] dashboard ${rt.apiUrl}/ (API ${rt.apiUrl}/api/v1)${blocked ? `; ${blocked}` : ''}`);
  const stopScraping = prom ? keepScrapeTargets(prom, rt.apiUrl, rt.provider) : undefined;
  try {
    o.signal?.throwIfAborted();
    // 1. The night's pool and the shadow, warm before the day starts.
    log(`[${name}] starting ${initial} live instance(s) and the shadow`);
    const shadowCount = shadowSize(svc.shadow.fraction, initial, type.slots, (cfg.instanceTypes[svc.shadow.instanceType ?? svc.instanceType] as { slots: number }).slots);
    await Promise.all([
      ...Array.from({ length: initial }, (_, k) => rt.provider.create({ id: `${svc.name}-live-init-${k}`, service: svc.name, pool: 'live', instanceType: svc.instanceType })),
      ...Array.from({ length: shadowCount }, (_, k) => rt.provider.create({ id: `${svc.name}-shadow-init-${k}`, service: svc.name, pool: 'shadow', instanceType: svc.shadow.instanceType ?? svc.instanceType })),
    ]);
    // The proofs a service that has run for a while has in its store: every type of the catalogue proven
    // on trial instances of its own, while the pool warms up.
    const calibrating = Date.now();
    const calibration = rt.gate?.calibrate({ instanceType: svc.instanceType, count: initial });
    if (rt.gate) log(`[${name}] proving ${Object.keys(rt.gate.s.types).join(', ')} on trial instances before the day`);
    // The other services (web's dependencies) start their own pools and shadows: their loops tick from now on.
    const otherServices = cfg.services.slice(1);
    if (otherServices.length > 0) rt.startTicking(undefined, otherServices.map((x) => x.name));
    const deadline = Date.now() + cfg.provider.readyTimeoutSeconds * 1000;
    const othersReady = async (): Promise<boolean> => {
      for (const x of otherServices) {
        const mine = (await rt.provider.list({ service: x.name })).filter((i) => i.state === 'ready');
        if (mine.filter((i) => i.pool === 'live').length < x.pool.min || mine.filter((i) => i.pool === 'shadow').length < 1) return false;
      }
      return true;
    };
    while ((await rt.provider.list()).some((i) => i.state !== 'ready' && i.labels.trial === undefined) || !(await othersReady())) {
      if (Date.now() > deadline) throw new Error('the initial instances did not become ready');
      await sleep(50);
    }
    await Promise.all([sleep(type.warmupSeconds * 1000), calibration]);
    const beforeDaySeconds = (Date.now() - calibrating) / 1000;

    // 2. Earlier days, from the same profile with their own noise.
    t0 = Math.ceil((Date.now() + 200) / 1000) * 1000;
    const rng = createRng(o.seed + 1000);
    const history = [];
    for (let day = o.historyDays; day >= 1; day--) {
      for (let i = 0; i < D; i++) history.push({ ts: t0 - day * D * 1000 + i * 1000, service: svc.name, pool: 'live', metric: 'rps', value: rng.poisson(rate(i)) });
    }
    rt.store.addSamples(history);
    log(`[${name}] ${o.historyDays} earlier days (${history.length} points) in the store; the day starts`);

    // 3. The day.
    await sleep(t0 - Date.now());
    // The arms' figures are the day's, like live's.
    rt.ab?.resetFigures();
    await rt.tick();
    const load = startLoad({ url: rt.listen, rate, durationSeconds: D, seed: o.seed, startAt: t0, timeoutMs: 10_000 });
    rt.startTicking();
    const seconds = await load.done;
    await rt.pauseTicking();
    const ab = rt.ab?.summary();

    // 4. Score.
    const slo = svc.slo;
    const violated: number[] = [];
    const { requests, errors, latencies: everything } = totals(seconds);
    for (const s of seconds) {
      if (s.requests === 0) continue;
      const p99 = percentile(s.latencies, 0.99);
      if (s.errors / s.requests > slo.errorRate || p99 > slo.latencyP99Ms || (s.latencies.length === 0 && s.errors > 0)) violated.push(s.second);
    }
    const during = ticks.filter((r) => r.at >= t0 && r.service === svc.name);
    let instanceSeconds = 0;
    let shadowSeconds = 0;
    let dedicatedSeconds = 0;
    for (let k = 1; k < during.length; k++) {
      const dt = ((during[k] as TickReport).at - (during[k - 1] as TickReport).at) / 1000;
      instanceSeconds += (during[k - 1] as TickReport).live.requested * dt;
      shadowSeconds += (during[k - 1] as TickReport).shadow.requested * dt;
      dedicatedSeconds += (during[k - 1] as TickReport).shadow.dedicated * dt;
    }
    // Capacity for the ramp: the scale-ups that brought the pool to what the ramp's top needs (in requests/s
    // at the SLO, so that a move to another type counts by what it carries), counted from the first of
    // them: walk back from the one reaching that need through scale-ups closer together than lead +
    // period (one reaction).
    const rampAt = t0 / 1000 + RAMP.start * D;
    const rampNeedRps = instancesFor(rate(RAMP.end * D), perInstanceRps) * perInstanceRps;
    const capOf = (t: string): number => {
      const x = cfg.instanceTypes[t] ?? type;
      return maxRateAtSlo(x.slots, x.serviceTimeMs / 1000, svc.slo.latencyP99Ms / 1000);
    };
    let liveType = svc.instanceType;
    let capacity = initial * capOf(liveType);
    const ups: { decision: { at: number }; capacity: number }[] = [];
    // Every decision of the run, read once; the day's are those from t0 on.
    const decisions = rt.store.decisions({ service: svc.name, limit: 100_000 });
    const today = decisions.filter((d) => d.decision.at * 1000 >= t0);
    for (const d of decisions) {
      if (d.decision.instanceType) liveType = d.decision.instanceType;
      const c = d.target * capOf(liveType);
      if (c > capacity + 1e-9 && d.decision.at * 1000 >= t0) ups.push({ decision: d.decision, capacity: c });
      capacity = c;
    }
    let k = ups.findIndex((d) => d.capacity >= rampNeedRps - 1e-9);
    const gap = type.provisioningSeconds + type.warmupSeconds + svc.scaling.periodSeconds;
    while (k > 0 && (ups[k] as (typeof ups)[number]).decision.at - (ups[k - 1] as (typeof ups)[number]).decision.at <= gap) k--;
    const firstUp = k >= 0 ? ups[k] : undefined;
    // Proofs: every decision of the day that changed the pool, with the proof it acted on.
    const dayEnd = t0 / 1000 + D;
    const acted = today.filter((d) => (d.act || d.decision.instanceType !== undefined) && d.decision.proof);
    const secondsAt = (from: number, to: number, maxRps = Number.POSITIVE_INFINITY): number[] =>
      seconds.filter((x) => x.second >= Math.floor(from - t0 / 1000) && x.second < Math.ceil(to - t0 / 1000) && x.requests <= maxRps).flatMap((x) => x.latencies);
    // A change takes effect when its new instances are ready and warm (a scale-in at once); production's
    // p99 is then measured until the next change takes effect, at most 60 s.
    const effects = acted.map((d) => {
      const p = d.decision.proof as NonNullable<typeof d.decision.proof>;
      const up = d.target > d.decision.current || d.decision.instanceType !== undefined;
      const t = cfg.instanceTypes[p.candidate.instanceType] ?? type;
      return d.decision.at + (up ? t.provisioningSeconds + t.warmupSeconds : 0);
    });
    const proofs: DemoDetails['proofs'][number][] = acted.map((d, k) => {
      const p = d.decision.proof as NonNullable<typeof d.decision.proof>;
      const effect = effects[k] as number;
      const next = Math.min(...effects.slice(k + 1).filter((e) => e > effect), Number.POSITIVE_INFINITY);
      const to = Math.min(effect + 60, next, dayEnd);
      // The proof's claim: this configuration holds the SLO up to its target rate. Seconds when the load
      // went beyond it (a forecast's miss, not the proof's) are left out of the realized p99.
      const within = to - effect >= 1 ? secondsAt(effect, to, p.numbers.targetRps) : [];
      const lat = to - effect >= 1 ? secondsAt(effect, to) : [];
      return {
        at: Math.round((d.decision.at - t0 / 1000) * 10) / 10,
        candidate: `${p.candidate.instanceType}×${p.candidate.count}`,
        verdict: p.verdict,
        predictedP99Ms: p.numbers.predictedP99Ms !== undefined ? Math.round(p.numbers.predictedP99Ms * 10) / 10 : null,
        realizedP99Ms: within.length >= 100 ? Math.round(percentile(within, 0.99) * 10) / 10 : null,
        realizedAllP99Ms: lat.length >= 100 ? Math.round(percentile(lat, 0.99) * 10) / 10 : null,
        targetRps: Math.round(p.numbers.targetRps as number),
        status: p.status,
        reason: d.boundReason ?? d.decision.reason,
      };
    });
    // The other services: their figures per tick at their own gateway; their lead towards what the ramp's
    // top needs of them (the calls web makes per request, at their capacity per instance).
    const services: Record<string, DemoServiceResult> = {};
    let shadowAll = shadowSeconds;
    let dedicatedAll = dedicatedSeconds;
    for (const x of otherServices) {
      const xt = cfg.instanceTypes[x.instanceType] as Config['instanceTypes'][string];
      const xCap = maxRateAtSlo(xt.slots, xt.serviceTimeMs / 1000, x.slo.latencyP99Ms / 1000);
      const per = svc.dependencies.map((d) => (typeof d === 'string' ? { service: d, perRequest: 1 } : d)).find((d) => d.service === x.name)?.perRequest ?? 1;
      const xTicks = ticks.filter((r) => r.at >= t0 && r.service === x.name);
      let xInstanceSeconds = 0;
      let xViolation = 0;
      for (let k = 1; k < xTicks.length; k++) {
        const prev = xTicks[k - 1] as TickReport;
        const cur = xTicks[k] as TickReport;
        const dt = (cur.at - prev.at) / 1000;
        xInstanceSeconds += prev.live.requested * dt;
        shadowAll += prev.shadow.requested * dt;
        dedicatedAll += prev.shadow.dedicated * dt;
        if (cur.liveRequests > 0 && (cur.liveP99Ms > x.slo.latencyP99Ms || cur.liveErrorRate > x.slo.errorRate)) xViolation += dt;
      }
      const xNeed = instancesFor(rate(RAMP.end * D) * per, xCap) * xCap;
      const xDecisions = rt.store.decisions({ service: x.name, limit: 100_000 });
      const xUps: { at: number; capacity: number }[] = [];
      let xCapacity = Number.NaN;
      for (const d of xDecisions) {
        const c = d.target * xCap;
        if (Number.isFinite(xCapacity) && c > xCapacity + 1e-9 && d.decision.at * 1000 >= t0) xUps.push({ at: d.decision.at, capacity: c });
        xCapacity = c;
      }
      let j = xUps.findIndex((u) => u.capacity >= xNeed - 1e-9);
      const xGap = xt.provisioningSeconds + xt.warmupSeconds + x.scaling.periodSeconds;
      while (j > 0 && (xUps[j] as { at: number }).at - (xUps[j - 1] as { at: number }).at <= xGap) j--;
      const xFirst = j >= 0 ? xUps[j] : undefined;
      const xStats = await rt.service(x.name)?.gateway.stats();
      services[x.name] = {
        sloViolationSeconds: Math.round(xViolation),
        p99Ms: xStats && xStats.traffic.pools.live.requests > 0 ? Math.round(xStats.traffic.pools.live.latencyMs.p99 * 10) / 10 : null,
        instanceSeconds: Math.round(xInstanceSeconds),
        scaleUpLeadSeconds: xFirst ? Math.round((rampAt - xFirst.at) * 10) / 10 : null,
        requiredLeadSeconds: xt.provisioningSeconds + xt.warmupSeconds,
        dependencyAhead: xDecisions.filter((d) => d.decision.at * 1000 >= t0 && d.boundReason === 'dependency_ahead').length,
        deltaVerdicts: verdictCounts(xTicks),
      };
    }
    const cost = rt.gate?.cost();
    const stats = await rt.gateway.stats();
    const tickMs = during.map((r) => r.tickMs);
    const result: DemoStrategyResult = {
      sloViolationSeconds: violated.length,
      p99Ms: Math.round(percentile(everything, 0.99) * 10) / 10,
      instanceSeconds: Math.round(instanceSeconds),
      maxInstances: Math.max(initial, ...during.map((r) => r.live.requested)),
      scaleUpLeadSeconds: firstUp ? Math.round((rampAt - firstUp.decision.at) * 10) / 10 : null,
      shadow: { mirrored: stats.mirror.mirrored, dropped: stats.mirror.dropped },
    };
    const perService = {
      services: {
        [svc.name]: { sloViolationSeconds: violated.length, p99Ms: Math.round(percentile(everything, 0.99) * 10) / 10, instanceSeconds: Math.round(instanceSeconds), scaleUpLeadSeconds: firstUp ? Math.round((rampAt - firstUp.decision.at) * 10) / 10 : null, requiredLeadSeconds: type.provisioningSeconds + type.warmupSeconds, dependencyAhead: today.filter((d) => d.boundReason === 'dependency_ahead').length, deltaVerdicts: verdictCounts(during) },
        ...services,
      },
      // The services' shadow instance-seconds, and what dedicated shadows (each its fraction of its live pool, plus what trials borrow) would have used at the same ticks.
      shadowPool: { pooled: cfg.shadowPool.mode === 'shared', instanceSeconds: Math.round(shadowAll), dedicatedEstimateInstanceSeconds: Math.round(dedicatedAll) },
    };
    const details: DemoDetails = {
      requiredLeadSeconds: type.provisioningSeconds + type.warmupSeconds,
      sloLatencyMs: svc.slo.latencyP99Ms,
      rampStartSecond: RAMP.start * D,
      perInstanceRps,
      tickMs: { p50: percentile(tickMs, 0.5), p99: percentile(tickMs, 0.99), max: Math.max(...tickMs) },
      shadowInstanceSeconds: Math.round(shadowSeconds),
      requests,
      errors,
      decisions: today.length,
      violationSeconds: violated,
      proofs,
      trials: { count: cost?.trials ?? 0, instanceSeconds: Math.round(cost?.trialInstanceSeconds ?? 0), cost: cost?.trialCost ?? 0, shareOfLiveInstanceSeconds: instanceSeconds > 0 ? (cost?.trialInstanceSeconds ?? 0) / instanceSeconds : 0, beforeDaySeconds: Math.round(beforeDaySeconds * 10) / 10 },
      held: today.filter((d) => d.boundReason === 'proof_pending' || d.boundReason === 'proof_failed').length,
      typeChanges: today.filter((d) => d.boundReason === 'proven_type_change').length,
      ...perService,
      metrics: { source: prom ? 'prometheus' : 'gateway', outages, cpuMsPerRequest: cpuPerRequest(during) },
    };
    return { result, details, trials: rt.store.experiments().filter((e) => e.kind === 'trial' && e.finishedAt !== null && e.verdict !== 'aborted'), ...(ab ? { ab } : {}), dayStartedAt: t0 };
  } finally {
    stopScraping?.();
    await rt.stop({ deleteInstances: true });
  }
}

/** CPU ms per live request over the ticks that measured CPU and served requests (null: none did). */
function cpuPerRequest(ticks: readonly TickReport[]): number | null {
  let ms = 0;
  let requests = 0;
  for (const t of ticks) {
    if (t.cpu?.liveMsPerRequest === undefined || t.liveRequests <= 0) continue;
    ms += t.cpu.liveMsPerRequest * t.liveRequests;
    requests += t.liveRequests;
  }
  return requests > 0 ? Math.round((ms / requests) * 100) / 100 : null;
}
