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

import type { Weighted } from '../core/delta.js';
import { trialVerdict, type StepMeasurement, type TrialVerdict, type VerdictSettings } from '../core/verdict.js';
import { startLoad, totals, type MixRequest } from '../gateway/loadgen.js';
import type { ExperimentRecord } from '../metrics/store.js';
import { isProviderError, type Instance, type Provider } from '../providers/provider.js';

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
}

export const DEFAULT_STEPS = [0.5, 1, 1.2] as const;

/** What the trial needs of the store (the Store implements it). */
export interface ExperimentLog {
  startExperiment(e: { id: string; service: string; kind: string; startedAt: number; config: unknown }): void;
  finishExperiment(id: string, finishedAt: number, verdict: string, details: unknown): void;
  experiments(): ExperimentRecord[];
}

export interface TrialDeps {
  readonly provider: Provider;
  readonly log: ExperimentLog;
  readonly readyTimeoutMs: number;
  readonly now?: () => number;
  /** Told after each step (progress for humans). */
  readonly onStep?: (index: number, m: StepMeasurement) => void;
  /** Aborts the trial: its instance is deleted and the experiment closed as "aborted". */
  readonly signal?: AbortSignal;
}

export interface TrialResult extends TrialVerdict {
  readonly id: string;
  readonly instanceType: string;
  readonly perInstanceRps: number;
  /** The trial instance could not be started or did not become ready. */
  readonly unhealthy?: string;
  /** What each step measured (for the verdicts of other rates on the same type). */
  readonly measurements: readonly StepMeasurement[];
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

export const trialInstanceId = (trialId: string): string => `${trialId}-i0`;

/** Weighted latencies from raw ones, rounded to 0.1 ms. */
function weighted(latencies: readonly number[]): Weighted {
  const m = new Map<number, number>();
  for (const l of latencies) {
    const v = Math.round(l * 10) / 10;
    m.set(v, (m.get(v) ?? 0) + 1);
  }
  return [...m];
}

/** One step: open-loop Poisson arrivals at `rate` for `seconds` against the instance. */
async function driveStep(url: string, path: string, mix: readonly MixRequest[] | undefined, rate: number, seconds: number, seed: number): Promise<StepMeasurement> {
  const t = totals(await startLoad({ url, path, ...(mix ? { mix } : {}), rate: () => rate, durationSeconds: seconds, seed, timeoutMs: 10_000, connections: 256 }).done);
  // The achieved rate is what was sent over the step (arrivals are scheduled within it; answers may come later).
  return { targetRps: rate, achievedRps: t.requests / seconds, latencyMs: weighted(t.latencies), errors: t.errors };
}

export async function runTrial(plan: TrialPlan, deps: TrialDeps, settings: VerdictSettings): Promise<TrialResult> {
  const now = deps.now ?? Date.now;
  const { provider, log, signal } = deps;
  const instanceId = trialInstanceId(plan.id);
  // 1. On record before anything exists.
  log.startExperiment({ id: plan.id, service: plan.service, kind: 'trial', startedAt: now(), config: { ...plan, mix: plan.mix ? { requests: plan.mix.length } : undefined, instanceId } });
  let verdict: TrialResult | undefined;
  let aborted = false;
  try {
    // 2. The instance, ready and warm.
    let inst: Instance | undefined;
    try {
      inst = await provider.create({ id: instanceId, service: plan.service, pool: 'shadow', instanceType: plan.instanceType, labels: { trial: plan.id } });
      const deadline = now() + deps.readyTimeoutMs;
      while ((inst = await provider.get(instanceId))?.state === 'starting') {
        if (now() > deadline) break;
        await sleep(50, signal);
      }
    } catch (err) {
      if (signal?.aborted) throw err;
      return (verdict = { id: plan.id, instanceType: plan.instanceType, perInstanceRps: plan.perInstanceRps, verdict: 'inconclusive', reason: 'shadow_unhealthy', unhealthy: (err as Error).message, steps: [], capacityAtSloRps: {}, measurements: [] });
    }
    if (inst?.state !== 'ready') {
      return (verdict = { id: plan.id, instanceType: plan.instanceType, perInstanceRps: plan.perInstanceRps, verdict: 'inconclusive', reason: 'shadow_unhealthy', unhealthy: `the trial instance is ${inst?.state ?? 'gone'}${inst?.failure ? ` (${inst.failure})` : ''}`, steps: [], capacityAtSloRps: {}, measurements: [] });
    }
    await sleep(plan.warmupSeconds * 1000, signal);
    // 3. The steps, rising; a failed one ends the trial.
    const measured: StepMeasurement[] = [];
    const fractions = [...plan.stepFractions].sort((a, b) => a - b);
    for (let k = 0; k < fractions.length; k++) {
      signal?.throwIfAborted();
      const rate = (fractions[k] as number) * plan.perInstanceRps;
      const seconds = Math.min(plan.maxStepSeconds, Math.max(plan.minStepSeconds, Math.ceil(plan.minSamplesPerStep / rate)));
      const m = await driveStep(inst.url, plan.path, plan.mix, rate, seconds, plan.seed + k);
      measured.push(m);
      deps.onStep?.(k, m);
      const partial = trialVerdict(measured, plan.perInstanceRps, settings);
      if (partial.steps[partial.steps.length - 1]?.verdict === 'fail') break;
    }
    const v = trialVerdict(measured, plan.perInstanceRps, settings);
    return (verdict = { id: plan.id, instanceType: plan.instanceType, perInstanceRps: plan.perInstanceRps, ...v, measurements: measured });
  } catch (err) {
    aborted = true;
    throw err;
  } finally {
    // 4. Whatever happened: the instance goes, the experiment is closed.
    await provider.delete(instanceId).catch((e: unknown) => (isProviderError(e, 'not_found') ? undefined : Promise.reject(e)));
    const details = verdict ? { ...verdict, measurements: undefined } : { aborted: true };
    log.finishExperiment(plan.id, now(), aborted || !verdict ? 'aborted' : verdict.verdict, details);
  }
}

/**
 * Finish the trials a crash left open: their instances are deleted (already gone is fine) and the
 * experiments closed as "aborted", so no unfinished trial ever counts as a proof. Returns their ids.
 */
export async function recoverTrials(log: ExperimentLog, provider: Provider, now: () => number = Date.now): Promise<string[]> {
  const open = log.experiments().filter((e) => e.kind === 'trial' && e.finishedAt === null);
  for (const e of open) {
    const id = (e.config as { instanceId?: string } | null)?.instanceId ?? trialInstanceId(e.id);
    await provider.delete(id).catch((err: unknown) => (isProviderError(err, 'not_found') ? undefined : Promise.reject(err)));
    log.finishExperiment(e.id, now(), 'aborted', { recovered: true, instance: id });
  }
  return open.map((e) => e.id);
}
