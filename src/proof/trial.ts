// A trial on the shadow (the proof gate's second step, docs/design/proof.md): one throwaway instance of
// a candidate's type, warmed, then driven open-loop at rising per-instance rates; the verdict and the
// capacity at the SLO come from core/verdict.ts. Live traffic is never touched: the trial instance is
// driven directly, not through the gateway, and is never a mirror target.
//
// 1. The experiment is recorded before any instance exists, naming the instance id it will create, so
//    that a kill -9 at any later point leaves a record that recoverTrials() finishes: the instance is
//    deleted and the experiment closed as "aborted". No orphan, and no verdict that was not measured.
// 2. Create the instance (pool "shadow", label `trial`), wait until it is ready, then for its warm-up.
// 3. Each step runs long enough for `minSamplesPerStep` answers at its rate (bounded by min/max seconds).
//    A failed step ends the trial: higher rates would only fail too.
// 4. The verdict and its numbers are written to the experiment; the instance is deleted whatever happened.
//
// Chaos (N+1 redundancy): a trial of `instances` instances behind a gateway of its own (the real balancer
// and its ejection) loses one of them `afterSeconds` into its target step: killed with no drain
// (`kind: kill`), or made slow, every request to it delayed by `delayMs` on the trial's balancer
// (`kind: latency`, a fault injection as Envoy's; the instance itself is untouched). The target step is
// then judged on the answers from `recoverySeconds` after the fault to the step's end: the others carry
// the load. "N instances still meet the SLO within S seconds of losing one".

import type { Weighted } from '../core/delta.js';
import { trialVerdict, type StepMeasurement, type TrialVerdict, type VerdictSettings } from '../core/verdict.js';
import { createGateway, type Gateway } from '../gateway/gateway.js';
import { startLoad, totals, type MixRequest, type SecondStats } from '../gateway/loadgen.js';
import type { ExperimentQuery, ExperimentRecord } from '../metrics/store.js';
import { BASE_VERSION, isProviderError, versionLabels, type Instance, type Provider } from '../providers/provider.js';
import { writeSnapshot } from '../providers/snapshot.js';

export interface TrialPlan {
  /** Unique per trial: the experiment's id, and the prefix of its instance's id. */
  readonly id: string;
  readonly service: string;
  readonly instanceType: string;
  /** The candidate's rate per instance (requests/s): the step at fraction 1. */
  readonly perInstanceRps: number;
  /** Fractions of perInstanceRps, driven in rising order. */
  readonly stepFractions: readonly number[];
  readonly minSamplesPerStep: number;
  readonly minStepSeconds: number;
  readonly maxStepSeconds: number;
  /** After readiness, before the first step (the type's warm-up). */
  readonly warmupSeconds: number;
  /** Request path driven when there is no mix. */
  readonly path: string;
  /** Recorded requests to replay, one drawn per arrival (a recording's routes, methods and sizes). */
  readonly mix?: readonly MixRequest[];
  readonly seed: number;
  /** Instances of the type, behind a gateway of the trial's own (default 1: driven directly). Rates stay per instance. */
  readonly instances?: number;
  /** Chaos: one instance killed (or slowed by `delayMs`) `afterSeconds` into the target step; the step is judged from `recoverySeconds` after the fault. */
  readonly chaos?: ChaosPlan;
  /** Stateful services: a live instance's state snapshot, PUT to /state/snapshot of every trial instance before warm-up. */
  readonly state?: string;
  /** The version of the service the trial instances run (a rollout's capacity trial); default: base. */
  readonly version?: string;
}

export interface ChaosPlan {
  /** kill (default): SIGKILL, no drain. latency: every request to the instance delayed by `delayMs`. */
  readonly kind?: 'kill' | 'latency';
  readonly afterSeconds: number;
  readonly recoverySeconds: number;
  readonly delayMs?: number;
}

export const DEFAULT_STEPS = [0.5, 1, 1.2] as const;

/** What the trial needs of the store (the Store implements it). */
export interface ExperimentLog {
  startExperiment(e: { id: string; service: string; kind: string; startedAt: number; config: unknown }): void;
  finishExperiment(id: string, finishedAt: number, verdict: string, details: unknown): void;
  experiments(q?: ExperimentQuery): ExperimentRecord[];
}

export interface TrialDeps {
  readonly provider: Provider;
  readonly log: ExperimentLog;
  readonly readyTimeoutMs: number;
  /** How long a trial instance may take to answer the state copy-in (`shadow.syncTimeoutSeconds`); default 30 s. */
  readonly stateTimeoutMs?: number;
  readonly now?: () => number;
  /** Told after each step (progress for humans). */
  readonly onStep?: (index: number, m: StepMeasurement) => void;
  /** Aborts the trial: its instance is deleted and the experiment closed as "aborted". */
  readonly signal?: AbortSignal;
}

export interface ChaosResult {
  readonly kind: 'kill' | 'latency';
  /** The instance killed, or slowed. */
  readonly killed: string;
  /** latency: the delay injected on every request to it (ms). */
  readonly delayMs?: number;
  /** Seconds into the target step. */
  readonly atSeconds: number;
  readonly recoverySeconds: number;
  /** Requests answered with an error between the kill and the end of the recovery window. */
  readonly errorsWhileRecovering: number;
}

export interface TrialResult extends TrialVerdict {
  readonly id: string;
  readonly instanceType: string;
  readonly perInstanceRps: number;
  /** The trial instance could not be started or did not become ready. */
  readonly unhealthy?: string;
  /** What each step measured (for the verdicts of other rates on the same type). */
  readonly measurements: readonly StepMeasurement[];
  readonly chaos?: ChaosResult;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason as Error);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export const trialInstanceId = (trialId: string, k = 0): string => `${trialId}-i${k}`;

/** Weighted latencies from raw ones, rounded to 0.1 ms. */
function weighted(latencies: readonly number[]): Weighted {
  const m = new Map<number, number>();
  for (const l of latencies) {
    const v = Math.round(l * 10) / 10;
    m.set(v, (m.get(v) ?? 0) + 1);
  }
  return [...m];
}

/** Open-loop Poisson arrivals at `rate` (requests/s in all) for `seconds`; per second. */
async function drive(url: string, path: string, mix: readonly MixRequest[] | undefined, rate: number, seconds: number, seed: number, signal: AbortSignal | undefined): Promise<readonly SecondStats[]> {
  return startLoad({ url, path, ...(mix ? { mix } : {}), rate: () => rate, durationSeconds: seconds, seed, timeoutMs: 10_000, connections: 256, ...(signal ? { signal } : {}) }).done;
}

/** A step's measurement per instance from its seconds (all, or from `from` on). */
function measure(seconds: readonly SecondStats[], perInstanceRps: number, instances: number, from = 0): StepMeasurement {
  const kept = seconds.filter((x) => x.second >= from);
  const t = totals(kept);
  // The achieved rate is what was sent over the step (arrivals are scheduled within it; answers may come later).
  return { targetRps: perInstanceRps, achievedRps: t.requests / Math.max(1, kept.length) / instances, latencyMs: weighted(t.latencies), errors: t.errors };
}

export async function runTrial(plan: TrialPlan, deps: TrialDeps, settings: VerdictSettings): Promise<TrialResult> {
  // Every step's rate must be a positive number: a zero base made the fractions NaN, and the load's pump
  // then ran forever, deaf to signals.
  if (!(plan.perInstanceRps > 0 && Number.isFinite(plan.perInstanceRps)) || !plan.stepFractions.every((f) => f > 0 && Number.isFinite(f))) {
    throw new RangeError(`trial ${plan.id}: expected a positive rate per instance and positive step fractions, got ${plan.perInstanceRps} and [${plan.stepFractions.join(', ')}]`);
  }
  const now = deps.now ?? Date.now;
  const { provider, log, signal } = deps;
  const n = Math.max(1, Math.floor(plan.instances ?? 1));
  const ids = Array.from({ length: n }, (_, k) => trialInstanceId(plan.id, k));
  // 1. On record before anything exists.
  // The record names sizes, never the live state or the replayed bodies.
  log.startExperiment({ id: plan.id, service: plan.service, kind: 'trial', startedAt: now(), config: { ...plan, mix: plan.mix ? { requests: plan.mix.length } : undefined, state: plan.state !== undefined ? { bytes: Buffer.byteLength(plan.state) } : undefined, instanceId: ids[0], instanceIds: ids } });
  let verdict: TrialResult | undefined;
  let aborted = false;
  let gateway: Gateway | undefined;
  const unhealthy = (why: string): TrialResult => ({ id: plan.id, instanceType: plan.instanceType, perInstanceRps: plan.perInstanceRps, verdict: 'inconclusive', reason: 'shadow_unhealthy', unhealthy: why, steps: [], capacityAtSloRps: {}, measurements: [] });
  try {
    // 2. The instances, ready and warm.
    const insts: Instance[] = [];
    try {
      const deadline = now() + deps.readyTimeoutMs;
      for (const i of await Promise.all(ids.map((id) => provider.create({ id, service: plan.service, pool: 'shadow', instanceType: plan.instanceType, labels: { trial: plan.id, ...versionLabels(plan.version ?? BASE_VERSION) } })))) {
        let inst: Instance | undefined = i;
        while ((inst = await provider.get(i.id))?.state === 'starting') {
          if (now() > deadline) break;
          await sleep(50, signal);
        }
        if (inst?.state !== 'ready') return (verdict = unhealthy(`trial instance ${i.id} is ${inst?.state ?? 'gone'}${inst?.failure ? ` (${inst.failure})` : ''}`));
        insts.push(inst);
      }
    } catch (err) {
      if (signal?.aborted) throw err;
      return (verdict = unhealthy((err as Error).message));
    }
    // Stateful: the trial starts from live's state (its mirrored writes then apply to it, as on a shadow).
    if (plan.state !== undefined) {
      for (const i of insts) {
        try {
          await writeSnapshot(i, plan.state, { ...(signal ? { signal } : {}), ...(deps.stateTimeoutMs !== undefined ? { timeoutMs: deps.stateTimeoutMs } : {}) });
        } catch (err) {
          if (signal?.aborted) throw err;
          return (verdict = unhealthy(`state copy into ${i.id}: ${(err as Error).message}`));
        }
      }
    }
    let url = (insts[0] as Instance).url;
    if (n > 1) {
      // The trial's own balancer: never the live gateway.
      gateway = createGateway({ live: [], requestTimeoutMs: 10_000 });
      for (const i of insts) gateway.addLive(i.url, 1, i.id);
      url = `http://127.0.0.1:${(await gateway.listen(0, '127.0.0.1')).port}`;
    }
    await sleep(plan.warmupSeconds * 1000, signal);
    // 3. The steps, rising; a failed one ends the trial.
    const measured: StepMeasurement[] = [];
    const fractions = [...plan.stepFractions].sort((a, b) => a - b);
    const targetStep = fractions.findIndex((f) => Math.abs(f - 1) < 1e-9);
    let chaos: ChaosResult | undefined;
    for (let k = 0; k < fractions.length; k++) {
      signal?.throwIfAborted();
      const rate = (fractions[k] as number) * plan.perInstanceRps;
      const seconds = Math.min(plan.maxStepSeconds, Math.max(plan.minStepSeconds, Math.ceil(plan.minSamplesPerStep / (rate * n))));
      let m: StepMeasurement;
      if (plan.chaos && n > 1 && k === (targetStep >= 0 ? targetStep : fractions.length - 1)) {
        // Long enough for the kill, the recovery and the step's answers after it.
        const c = plan.chaos;
        const from = Math.ceil(c.afterSeconds + c.recoverySeconds);
        const victim = insts[n - 1] as Instance;
        const kind = c.kind ?? 'kill';
        const g = gateway as Gateway;
        const fault = setTimeout(() => (kind === 'kill' ? void provider.kill(victim.id).catch(() => undefined) : g.setDelay(victim.id, c.delayMs ?? 0)), c.afterSeconds * 1000);
        const per = await drive(url, plan.path, plan.mix, rate * n, from + seconds, plan.seed + k, signal).finally(() => clearTimeout(fault));
        g.setDelay(victim.id, 0);
        m = measure(per, rate, n, from);
        const during = per.filter((x) => x.second >= Math.floor(c.afterSeconds) && x.second < from);
        chaos = { kind, killed: victim.id, ...(kind === 'latency' ? { delayMs: c.delayMs ?? 0 } : {}), atSeconds: c.afterSeconds, recoverySeconds: c.recoverySeconds, errorsWhileRecovering: during.reduce((a, x) => a + x.errors, 0) };
      } else m = measure(await drive(url, plan.path, plan.mix, rate * n, seconds, plan.seed + k, signal), rate, n);
      // Interrupted during the step (the load stopped at the signal): its measurement is partial, and no
      // verdict is drawn from it.
      signal?.throwIfAborted();
      measured.push(m);
      deps.onStep?.(k, m);
      const partial = trialVerdict(measured, plan.perInstanceRps, settings);
      if (partial.steps[partial.steps.length - 1]?.verdict === 'fail') break;
    }
    const v = trialVerdict(measured, plan.perInstanceRps, settings);
    return (verdict = { id: plan.id, instanceType: plan.instanceType, perInstanceRps: plan.perInstanceRps, ...v, measurements: measured, ...(chaos ? { chaos } : {}) });
  } catch (err) {
    aborted = true;
    throw err;
  } finally {
    // 4. Whatever happened: the instances go, the experiment is closed.
    await gateway?.close();
    const gone = await Promise.allSettled(ids.map((id) => provider.delete(id).catch((e: unknown) => (isProviderError(e, 'not_found') ? undefined : Promise.reject(e)))));
    const details = verdict ? { ...verdict, measurements: undefined } : { aborted: true };
    log.finishExperiment(plan.id, now(), aborted || !verdict ? 'aborted' : verdict.verdict, details);
    // A delete that failed (other than already gone) is the trial's error, after the record is closed.
    await Promise.all(gone.map((g) => (g.status === 'rejected' ? Promise.reject(g.reason as Error) : undefined)));
  }
}

/**
 * Finish the trials a crash left open: their instances are deleted (already gone is fine) and the
 * experiments closed as "aborted", so no unfinished trial ever counts as a proof. Returns their ids.
 */
export async function recoverTrials(log: ExperimentLog, provider: Provider, now: () => number = Date.now): Promise<string[]> {
  const open = log.experiments({ kind: 'trial', open: true });
  for (const e of open) {
    const c = e.config as { instanceId?: string; instanceIds?: string[] } | null;
    const ids = c?.instanceIds ?? [c?.instanceId ?? trialInstanceId(e.id)];
    for (const id of ids) await provider.delete(id).catch((err: unknown) => (isProviderError(err, 'not_found') ? undefined : Promise.reject(err)));
    log.finishExperiment(e.id, now(), 'aborted', ids.length === 1 ? { recovered: true, instance: ids[0] } : { recovered: true, instances: ids });
  }
  return open.map((e) => e.id);
}
