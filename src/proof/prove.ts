// `shadowscale prove`: the proof procedure stand-alone (docs/design/proof.md). For a rate, the
// candidates of every instance type (core/candidates), one trial per type whose steps cover each
// candidate's per-instance rate and a sweep around the type's modelled capacity, the verdict of every
// candidate from the same measurements (core/verdict), and the cheapest configuration that passed.
//
// 1. Candidates from the rate (plus the service's headroom), the types and the pool bounds.
// 2. Per type: the rates to drive are every candidate's per-instance rate and 0.8, 1, 1.2, 1.4 times the
//    model's capacity at the SLO (so that the measured capacity is interpolated, not guessed). One
//    trial drives them in rising order and stops at the first that fails.
// 3. Each candidate's verdict is core/verdict's for its own rate over that trial's steps; the type's
//    measured capacity is the rate where the measured p99 crosses the SLO.
// 4. The chosen configuration is the cheapest candidate that passed (none when none did).

import { candidates, type CandidateList, type CandidateType, type Dropped } from '../core/candidates.js';
import { ShadowscaleError } from '../core/errors.js';
import { maxRateAtSlo } from '../core/capacity.js';
import { answersPerStep, DEFAULT_VERDICT, trialVerdict, type StepMeasurement, type StepVerdict, type VerdictSettings } from '../core/verdict.js';
import type { MixRequest } from '../gateway/loadgen.js';
import type { Provider } from '../providers/provider.js';
import { runTrial, type ExperimentLog } from './trial.js';

export interface ProveType extends CandidateType {
  readonly warmupSeconds: number;
}

export interface ProveOptions {
  readonly service: string;
  readonly rateRps: number;
  readonly headroom: number;
  readonly sloLatencyMs: number;
  readonly sloErrorRate: number;
  readonly types: readonly ProveType[];
  readonly minInstances: number;
  readonly maxInstances: number;
  readonly spotShare?: number;
  readonly samplesPerStep: number;
  readonly maxStepSeconds: number;
  readonly path: string;
  /** Recorded requests to replay in every trial (instead of GET `path`). */
  readonly mix?: readonly MixRequest[];
  readonly seed: number;
  readonly readyTimeoutMs: number;
  readonly provider: Provider;
  readonly log: ExperimentLog;
  readonly signal?: AbortSignal;
  readonly onStep?: (type: string, index: number, total: number, m: StepMeasurement) => void;
  readonly now?: () => number;
  /** N+1 redundancy: the chosen configuration loses one instance and must meet the SLO within this many seconds. */
  readonly chaosRecoverySeconds?: number;
  /** The loss is injected latency on one instance (every request to it delayed this long, ms) instead of a kill. */
  readonly chaosDelayMs?: number;
}

/** The chosen configuration after losing one instance (prove --chaos). */
export interface RedundancyProof {
  /** How the instance was lost: killed, or slowed by `delayMs` on every request. */
  readonly fault: 'kill' | 'latency';
  readonly delayMs?: number;
  readonly instanceType: string;
  readonly count: number;
  readonly survivors: number;
  /** What each survivor carries after the loss (requests/s). */
  readonly perSurvivorRps: number;
  /** Instances the trial ran (the count, at most 3, driven so that the survivors carry perSurvivorRps). */
  readonly trialInstances: number;
  readonly recoverySeconds: number;
  readonly p99Ms: number | null;
  readonly errorsWhileRecovering: number;
  readonly verdict: StepVerdict;
}

export interface ProvenCandidate {
  readonly instanceType: string;
  readonly count: number;
  readonly perInstanceRps: number;
  /** Measured on the type's trial: the rate per instance where p99 reaches the SLO (null when the steps did not straddle it). */
  readonly capacityAtSloRps: number | null;
  readonly p99Ms: number | null;
  readonly errorRate: number | null;
  readonly costPerHour: number;
  readonly verdict: StepVerdict;
}

export interface ProveResult {
  readonly rate: number;
  readonly candidates: ProvenCandidate[];
  readonly chosen: { readonly instanceType: string; readonly count: number; readonly costPerHour: number } | null;
  /** Per type: the model's capacity and the measured one (an estimate, or a bound). */
  readonly types: Record<string, { modelCapacityAtSloRps: number; measured: { estimate?: number; atLeast?: number; atMost?: number }; trial: string; verdictReason?: string }>;
  readonly dropped: readonly Dropped[];
  readonly redundancy?: RedundancyProof | null;
}

type CandidateOptions = Pick<ProveOptions, 'rateRps' | 'headroom' | 'sloLatencyMs' | 'types' | 'minInstances' | 'maxInstances' | 'spotShare'>;

/** Step 1: the configurations to prove; nothing runs yet, so the current configuration is none (0 of the first type). */
export function proveCandidates(o: CandidateOptions): CandidateList {
  const first = o.types[0];
  return candidates({ peakRps: o.rateRps, headroom: o.headroom, sloLatencySeconds: o.sloLatencyMs / 1000, types: o.types, current: { instanceType: first?.name ?? '', count: 0 }, minInstances: o.minInstances, maxInstances: o.maxInstances, ...(o.spotShare !== undefined ? { spotShare: o.spotShare } : {}), maxCandidates: 4 * o.types.length });
}

/**
 * Throws SHADOWSCALE_E_USAGE when no configuration is left to prove (every type needs more instances than
 * the pool allows, or cannot meet the SLO at all), naming each type's reason: before, `prove` started its
 * store and provider, tried nothing and printed an empty table with exit 0.
 */
export function checkSomethingToProve(o: CandidateOptions): void {
  const list = proveCandidates(o);
  if (list.candidates.length > 0) return;
  const why = list.dropped.map((d) =>
    d.reason === 'above_max'
      ? `${d.instanceType} needs ${d.numbers.needed} instances (${(d.numbers.capacityAtSloRps as number).toFixed(1)} requests/s each at the SLO), above the pool's max of ${d.numbers.maxInstances}`
      : d.reason === 'slo_infeasible'
        ? `${d.instanceType} cannot meet the SLO at any rate (service time ${d.numbers.serviceTimeMs} ms against ${d.numbers.sloMs} ms)`
        : `${d.instanceType}: ${d.reason}`,
  );
  throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--rate ${o.rateRps}: nothing to prove at ${list.targetRps.toPrecision(4)} requests/s with headroom: ${why.join('; ')}. Lower --rate, raise pool.max (--set), or add a larger instance type`);
}

export async function prove(o: ProveOptions): Promise<ProveResult> {
  const now = o.now ?? Date.now;
  const settings: VerdictSettings = { ...DEFAULT_VERDICT, sloLatencyMs: o.sloLatencyMs, sloErrorRate: o.sloErrorRate };
  // 1. The candidates.
  const list = proveCandidates(o);
  const out: ProvenCandidate[] = [];
  const types: ProveResult['types'] = {};
  for (const t of o.types) {
    const mine = list.candidates.filter((c) => c.instanceType === t.name);
    if (mine.length === 0) continue;
    o.signal?.throwIfAborted();
    // 2. The rates to drive: every candidate's, and a sweep around the modelled capacity.
    const cap = maxRateAtSlo(t.slots, t.serviceTimeSeconds, o.sloLatencyMs / 1000);
    // In thousandths of a request/s, at least one: a candidate's rate that rounded to 0 made every step's rate NaN.
    const rates = [...new Set([...mine.map((c) => c.perInstanceRps), ...[0.8, 1, 1.2, 1.4].map((f) => f * cap)].map((r) => Math.max(0.001, Math.round(r * 1000) / 1000)))].sort((a, b) => a - b);
    const base = rates[0] as number;
    const id = `prove-${t.name}-${now().toString(36)}`;
    const trial = await runTrial(
      {
        id,
        service: o.service,
        instanceType: t.name,
        perInstanceRps: base,
        stepFractions: rates.map((r) => r / base),
        minSamplesPerStep: answersPerStep(o.samplesPerStep, o.sloErrorRate),
        minStepSeconds: 2,
        maxStepSeconds: o.maxStepSeconds,
        warmupSeconds: t.warmupSeconds,
        path: o.path,
        ...(o.mix ? { mix: o.mix } : {}),
        seed: o.seed,
      },
      { provider: o.provider, log: o.log, readyTimeoutMs: o.readyTimeoutMs, now, ...(o.signal ? { signal: o.signal } : {}), onStep: (k, m) => o.onStep?.(t.name, k, rates.length, m) },
      settings,
    );
    const measured = trial.capacityAtSloRps;
    types[t.name] = { modelCapacityAtSloRps: cap, measured, trial: id, ...(trial.reason ? { verdictReason: trial.reason } : {}) };
    // 3. Every candidate of the type, judged at its own rate on the same measurements.
    for (const c of mine) {
      const v = trialVerdict(trial.measurements, c.perInstanceRps, settings);
      const atRate = v.steps.find((s) => Math.abs(s.numbers.targetRps - c.perInstanceRps) <= 1e-3 * c.perInstanceRps);
      out.push({
        instanceType: t.name,
        count: c.count,
        perInstanceRps: c.perInstanceRps,
        capacityAtSloRps: measured.estimate ?? null,
        p99Ms: atRate ? atRate.numbers.p99Ms : null,
        errorRate: atRate ? atRate.numbers.errorRate : null,
        costPerHour: c.costPerHour,
        verdict: trial.unhealthy ? 'inconclusive' : v.verdict,
      });
    }
  }
  // 4. The cheapest that passed.
  const passed = out.filter((c) => c.verdict === 'pass').sort((a, b) => a.costPerHour - b.costPerHour || a.count - b.count);
  const best = passed[0];
  const base = { rate: o.rateRps, candidates: out, chosen: best ? { instanceType: best.instanceType, count: best.count, costPerHour: best.costPerHour } : null, types, dropped: list.dropped };
  if (o.chaosRecoverySeconds === undefined) return base;
  // 5. Chaos: the chosen configuration loses one instance (killed, or slowed: a gray failure the balancer
  //    must route around). A trial of n = min(count, 3) instances is driven
  //    so that its n - 1 survivors carry what production's count - 1 would: rate x count / (count - 1) each.
  if (!best || best.count < 2) return { ...base, redundancy: null };
  const t = o.types.find((x) => x.name === best.instanceType) as ProveType;
  const n = Math.min(best.count, 3);
  const perSurvivor = (best.perInstanceRps * best.count) / (best.count - 1);
  const perInstance = (perSurvivor * (n - 1)) / n;
  const trial = await runTrial(
    { id: `prove-chaos-${t.name}-${now().toString(36)}`, service: o.service, instanceType: t.name, perInstanceRps: perInstance, stepFractions: [1], minSamplesPerStep: o.samplesPerStep, minStepSeconds: 2, maxStepSeconds: o.maxStepSeconds, warmupSeconds: t.warmupSeconds, path: o.path, ...(o.mix ? { mix: o.mix } : {}), seed: o.seed + 7, instances: n, chaos: { afterSeconds: 1, recoverySeconds: o.chaosRecoverySeconds, ...(o.chaosDelayMs !== undefined ? { kind: 'latency' as const, delayMs: o.chaosDelayMs } : {}) } },
    { provider: o.provider, log: o.log, readyTimeoutMs: o.readyTimeoutMs, now, ...(o.signal ? { signal: o.signal } : {}), onStep: (k, m) => o.onStep?.(`${t.name} chaos`, k, 1, m) },
    settings,
  );
  const step = trial.steps[0];
  return {
    ...base,
    redundancy: { fault: o.chaosDelayMs !== undefined ? 'latency' : 'kill', ...(o.chaosDelayMs !== undefined ? { delayMs: o.chaosDelayMs } : {}), instanceType: t.name, count: best.count, survivors: best.count - 1, perSurvivorRps: perSurvivor, trialInstances: n, recoverySeconds: o.chaosRecoverySeconds, p99Ms: step ? step.numbers.p99Ms : null, errorsWhileRecovering: trial.chaos?.errorsWhileRecovering ?? 0, verdict: trial.unhealthy ? 'inconclusive' : trial.verdict },
  };
}
