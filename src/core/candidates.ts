// Candidate configurations for a decision (the proof gate's first step, docs/design/proof.md): what
// could serve the forecast peak of the decision window, each with its cost and the per-instance rate
// production would see under it, ranked by cost. Pure: numbers in, a list and its reasons out.
//
// 1. The target rate is the forecast peak plus headroom.
// 2. Per instance type of the catalogue: its capacity at the SLO (M/M/c, capacity.ts). A type that cannot
//    meet the SLO even idle is dropped (`slo_infeasible`). The model's count is the fewest instances that
//    carry the target; above the pool's max it is dropped (`above_max`), below the min it is raised to it.
// 3. One count below the model's is a candidate too (`below_model`): the model is conservative for
//    service times less variable than exponential, and a trial can show that fewer suffice.
// 4. Keeping the current configuration is a candidate (`keep`) when it carries the target by the model or
//    is what a trial may show enough; a scale-in also gets every count between the model's and the current
//    one, so that the proof picks the smallest that holds.
// 5. Cost per hour: on-demand, with the allowed spot share bought as spot (spread over launches as the
//    simulator buys it). Ranked by cost, then by count; duplicates removed; at most `maxCandidates`.

import { maxRateAtSlo } from './capacity.js';
import { isSpotLaunch, type Prices } from './cost.js';

export interface CandidateType {
  readonly name: string;
  readonly slots: number;
  readonly serviceTimeSeconds: number;
  readonly prices: Prices;
}

export interface CandidateInput {
  /** Forecast upper bound at the peak of the decision window (requests/s). */
  readonly peakRps: number;
  readonly headroom: number;
  readonly sloLatencySeconds: number;
  /** The instance types a candidate may use (the current one included). */
  readonly types: readonly CandidateType[];
  readonly current: { readonly instanceType: string; readonly count: number };
  readonly minInstances: number;
  readonly maxInstances: number;
  /** Share of instances that may be spot (0 when not allowed). */
  readonly spotShare?: number;
  readonly maxCandidates?: number;
}

/** How a candidate differs from the current configuration. */
export type CandidateKind = 'keep' | 'scale_up' | 'scale_in' | 'type_change';
/** Where its count stands against the capacity model's. */
export type ModelFit = 'at_model' | 'below_model' | 'above_model';
/** Why a configuration is not a candidate. */
export type DropReason = 'slo_infeasible' | 'above_max' | 'under_capacity' | 'over_limit';

export interface Candidate {
  readonly instanceType: string;
  readonly count: number;
  readonly kind: CandidateKind;
  readonly model: ModelFit;
  /** Instances bought as spot. */
  readonly spot: number;
  readonly costPerHour: number;
  /** The rate each instance would see at the target (requests/s). */
  readonly perInstanceRps: number;
  /** The capacity model's rate per instance at the SLO (requests/s). */
  readonly capacityAtSloRps: number;
  /** perInstanceRps / capacityAtSloRps: above 1, the model says the SLO breaks. */
  readonly load: number;
}

export interface Dropped {
  readonly instanceType: string;
  readonly count: number;
  readonly reason: DropReason;
  readonly numbers: Readonly<Record<string, number>>;
}

export interface CandidateList {
  /** Peak plus headroom (requests/s). */
  readonly targetRps: number;
  /** Cheapest first. */
  readonly candidates: readonly Candidate[];
  readonly dropped: readonly Dropped[];
}

/** Cost per hour of `count` instances with `share` of them bought as spot. */
export function costPerHour(count: number, prices: Prices, share: number): { cost: number; spot: number } {
  let spot = 0;
  for (let n = 0; n < count; n++) if (isSpotLaunch(n, share)) spot++;
  return { cost: spot * prices.spotPerHour + (count - spot) * prices.onDemandPerHour, spot };
}

export function candidates(i: CandidateInput): CandidateList {
  const target = Math.max(0, i.peakRps) * (1 + i.headroom);
  const share = Math.min(1, Math.max(0, i.spotShare ?? 0));
  const out: Candidate[] = [];
  const dropped: Dropped[] = [];
  const seen = new Set<string>();
  const add = (t: CandidateType, count: number, capacity: number, modelCount: number): void => {
    const key = `${t.name}×${count}`;
    if (seen.has(key) || count < 1) return;
    seen.add(key);
    const isCurrent = t.name === i.current.instanceType;
    const kind: CandidateKind = !isCurrent ? 'type_change' : count === i.current.count ? 'keep' : count > i.current.count ? 'scale_up' : 'scale_in';
    const { cost, spot } = costPerHour(count, t.prices, share);
    const perInstance = target / count;
    out.push({ instanceType: t.name, count, kind, model: count === modelCount ? 'at_model' : count < modelCount ? 'below_model' : 'above_model', spot, costPerHour: cost, perInstanceRps: perInstance, capacityAtSloRps: capacity, load: capacity > 0 ? perInstance / capacity : Number.POSITIVE_INFINITY });
  };
  for (const t of i.types) {
    const capacity = maxRateAtSlo(t.slots, t.serviceTimeSeconds, i.sloLatencySeconds);
    if (!(capacity > 0)) {
      dropped.push({ instanceType: t.name, count: 0, reason: 'slo_infeasible', numbers: { serviceTimeMs: t.serviceTimeSeconds * 1000, sloMs: i.sloLatencySeconds * 1000 } });
      continue;
    }
    // The fewest that carry the target by the model (the small tolerance keeps 3.0000000001 at 3).
    const needed = target > 0 ? Math.ceil(target / capacity - 1e-9) : 0;
    const modelCount = Math.max(i.minInstances, needed, 1);
    if (modelCount > i.maxInstances) {
      dropped.push({ instanceType: t.name, count: modelCount, reason: 'above_max', numbers: { needed: modelCount, maxInstances: i.maxInstances, capacityAtSloRps: capacity, targetRps: target } });
      // One below the model may still be worth a trial if it is within the bounds.
      if (modelCount - 1 <= i.maxInstances && modelCount - 1 >= Math.max(1, i.minInstances)) add(t, modelCount - 1, capacity, modelCount);
      continue;
    }
    add(t, modelCount, capacity, modelCount);
    if (modelCount - 1 >= Math.max(1, i.minInstances)) add(t, modelCount - 1, capacity, modelCount);
    if (t.name === i.current.instanceType) {
      const cur = i.current.count;
      if (cur > modelCount) {
        // A scale-in: every count from the model's up to the current one (the proof picks the smallest that holds).
        for (let c = modelCount + 1; c <= Math.min(cur, i.maxInstances); c++) add(t, c, capacity, modelCount);
      } else if (cur > 0 && cur < modelCount - 1) {
        // Keeping too few is named; none running (as for `prove`) is no configuration to keep.
        dropped.push({ instanceType: t.name, count: cur, reason: 'under_capacity', numbers: { needed: modelCount, current: cur, capacityAtSloRps: capacity, targetRps: target, load: target / Math.max(1, cur) / capacity } });
      }
    }
  }
  out.sort((a, b) => a.costPerHour - b.costPerHour || a.count - b.count || a.instanceType.localeCompare(b.instanceType));
  const limit = i.maxCandidates ?? 12;
  for (const c of out.slice(limit)) dropped.push({ instanceType: c.instanceType, count: c.count, reason: 'over_limit', numbers: { costPerHour: c.costPerHour, maxCandidates: limit } });
  return { targetRps: target, candidates: out.slice(0, limit), dropped };
}
