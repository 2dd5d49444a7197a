// The proof gate (the third step of proof before change, docs/design/proof.md): whether a scaling
// decision may act, from what fresh trials on the shadow showed, and which configuration the proof
// chooses. Pure: trial results and a decision in, a decision with its proof attached out.
//
// 1. Evidence per instance type, from the fresh trials (finished within `freshSeconds`): the highest rate
//    per instance at which a trial passed with no lower step failing (`provenRps`) and the lowest at
//    which one failed (`failedRps`). A newer trial overrides an older one where they disagree.
// 2. A candidate (type x count) carrying `targetRps` is proven when its rate per instance is at most the
//    type's provenRps, failed when at least its failedRps, and unproven in between (a trial at its rate
//    would settle it: the gate asks for one).
// 3. Mode `required`: a change acts only on a proven candidate.
//    - Scale-in: the smallest proven count between the strategy's and the current one; none proven: hold.
//    - Scale-up: the strategy's count when proven, else the smallest proven larger count within the
//      bounds (the proof chose it); else hold, unless live is already over its target: the reactive
//      safety net never waits, it acts and says `unproven_emergency`.
//    - Type change: when the cheapest proven candidate of the catalogue is of another type and saves at
//      least `minTypeSaving` of the cheapest proven configuration of the current type, and the decision is
//      settled (proven or no change), does not grow the pool and is not an emergency.
//    With `redundancy` (N+1), a count is proven only when it also holds the load after losing one
//    instance: chaos trials give the rate per survivor that held (countProof); one instance never does.
//    `advisory`: the strategy's decision acts unchanged; the proof records what the trials say of it.
//    `off`: no proof.

import type { CandidateList } from './candidates.js';
import type { Decision, Reason } from './reasons.js';
import type { StepVerdict } from './verdict.js';

export type ProofMode = 'required' | 'advisory' | 'off';
export const PROOF_MODES: readonly ProofMode[] = ['required', 'advisory', 'off'];

/** One finished trial's steps (rates per instance), as the store keeps them. */
export interface TrialEvidence {
  readonly id: string;
  readonly instanceType: string;
  /** Seconds. */
  readonly finishedAt: number;
  readonly steps: readonly { readonly targetRps: number; readonly verdict: StepVerdict; readonly p99Ms: number }[];
  /** The trial's measured capacity at the SLO, when its steps straddled it. */
  readonly capacityAtSloRps?: number;
  /**
   * A chaos trial (N+1 redundancy) of `instances` instances that lost one mid-step: its steps' rates are
   * per trial instance, and what it proves is the rate per survivor, rate x instances / (instances - 1).
   */
  readonly chaos?: { readonly instances: number };
  /** The version of the service the trial ran (absent: base); only the live version's trials prove anything. */
  readonly version?: string;
}

/** What the fresh trials of one instance type showed. */
export interface TypeEvidence {
  readonly instanceType: string;
  /** Highest rate per instance proven to hold the SLO (0: none). */
  readonly provenRps: number;
  /** Lowest rate per instance shown to break it (Infinity: none). */
  readonly failedRps: number;
  readonly provenBy?: string;
  readonly failedBy?: string;
  /** Age of the newest fresh trial (s). */
  readonly ageSeconds: number;
  /** Age of the trial that proved provenRps (s); the evidence expires with it. */
  readonly provenAgeSeconds: number;
  readonly capacityAtSloRps?: number;
  /** Measured p99 per step rate of the fresh trials, rising in rate (newest wins on a tie). */
  readonly points: readonly { readonly rps: number; readonly p99Ms: number }[];
  readonly trials: number;
  /** Chaos trials: the highest rate per survivor that held the SLO after losing an instance (0: none), the lowest that did not. */
  readonly redundantRps: number;
  readonly redundantFailedRps: number;
  readonly redundantBy?: string;
  readonly redundantFailedBy?: string;
}

/** One trial on its own: its proven and failed rates. */
function trialRange(t: TrialEvidence): { proven: number; failed: number } {
  const steps = [...t.steps].sort((a, b) => a.targetRps - b.targetRps);
  let proven = 0;
  let failed = Number.POSITIVE_INFINITY;
  for (const s of steps) {
    if (s.verdict === 'fail') {
      failed = s.targetRps;
      break;
    }
    if (s.verdict === 'pass') proven = s.targetRps;
  }
  return { proven, failed };
}

/** Evidence per type from the trials that finished within `freshSeconds` of `now` (seconds). */
export function typeEvidence(trials: readonly TrialEvidence[], now: number, freshSeconds: number): Map<string, TypeEvidence> {
  const out = new Map<string, TypeEvidence>();
  const fresh = trials.filter((t) => now - t.finishedAt <= freshSeconds && t.finishedAt <= now + 1e-9).sort((a, b) => a.finishedAt - b.finishedAt);
  for (const t of fresh) {
    const prev = out.get(t.instanceType);
    if (t.chaos) {
      // Redundancy evidence, apart from the steady rates: per survivor, the newer trial winning.
      const n = Math.max(2, t.chaos.instances);
      const r = trialRange({ ...t, steps: t.steps.map((x) => ({ ...x, targetRps: (x.targetRps * n) / (n - 1) })) });
      let red = prev?.redundantRps ?? 0;
      let redFailed = prev?.redundantFailedRps ?? Number.POSITIVE_INFINITY;
      let redBy = prev?.redundantBy;
      let redFailedBy = prev?.redundantFailedBy;
      if (r.proven > 0 && r.proven >= red) [red, redBy] = [r.proven, t.id];
      if (redFailed <= r.proven) [redFailed, redFailedBy] = [Number.POSITIVE_INFINITY, undefined];
      if (r.failed < Number.POSITIVE_INFINITY) {
        if (r.failed <= redFailed) [redFailed, redFailedBy] = [r.failed, t.id];
        if (red >= r.failed) [red, redBy] = [r.proven, r.proven > 0 ? t.id : undefined];
      }
      const base: TypeEvidence = prev ?? { instanceType: t.instanceType, provenRps: 0, failedRps: Number.POSITIVE_INFINITY, ageSeconds: now - t.finishedAt, provenAgeSeconds: Number.POSITIVE_INFINITY, points: [], trials: 0, redundantRps: 0, redundantFailedRps: Number.POSITIVE_INFINITY };
      const next: { -readonly [K in keyof TypeEvidence]: TypeEvidence[K] } = { ...base, trials: base.trials + 1, redundantRps: red, redundantFailedRps: redFailed };
      delete next.redundantBy;
      delete next.redundantFailedBy;
      out.set(t.instanceType, { ...next, ...(redBy ? { redundantBy: redBy } : {}), ...(redFailedBy ? { redundantFailedBy: redFailedBy } : {}) });
      continue;
    }
    const r = trialRange(t);
    let proven = prev?.provenRps ?? 0;
    let failed = prev?.failedRps ?? Number.POSITIVE_INFINITY;
    let provenBy = prev?.provenBy;
    let failedBy = prev?.failedBy;
    let provenAt = prev ? now - prev.provenAgeSeconds : Number.NEGATIVE_INFINITY;
    // The newer trial wins where they disagree: a pass above an older failure clears it, a failure at
    // or below an older pass lowers the proven rate to what this trial passed.
    if (r.proven > 0 && r.proven >= proven) {
      proven = r.proven;
      provenBy = t.id;
      provenAt = t.finishedAt;
    }
    if (failed <= r.proven) {
      failed = Number.POSITIVE_INFINITY;
      failedBy = undefined;
    }
    if (r.failed < Number.POSITIVE_INFINITY) {
      if (r.failed <= failed) {
        failed = r.failed;
        failedBy = t.id;
      }
      if (proven >= r.failed) {
        proven = r.proven;
        provenBy = r.proven > 0 ? t.id : undefined;
        provenAt = t.finishedAt;
      }
    }
    const points = new Map<number, number>();
    for (const p of prev?.points ?? []) points.set(p.rps, p.p99Ms);
    for (const s of t.steps) if (Number.isFinite(s.p99Ms)) points.set(s.targetRps, s.p99Ms);
    out.set(t.instanceType, {
      instanceType: t.instanceType,
      provenRps: proven,
      failedRps: failed,
      ...(provenBy ? { provenBy } : {}),
      ...(failedBy ? { failedBy } : {}),
      ageSeconds: now - t.finishedAt,
      provenAgeSeconds: proven > 0 ? now - provenAt : Number.POSITIVE_INFINITY,
      ...(t.capacityAtSloRps !== undefined ? { capacityAtSloRps: t.capacityAtSloRps } : prev?.capacityAtSloRps !== undefined ? { capacityAtSloRps: prev.capacityAtSloRps } : {}),
      points: [...points].sort((a, b) => a[0] - b[0]).map(([rps, p99Ms]) => ({ rps, p99Ms })),
      trials: (prev?.trials ?? 0) + 1,
      redundantRps: prev?.redundantRps ?? 0,
      redundantFailedRps: prev?.redundantFailedRps ?? Number.POSITIVE_INFINITY,
      ...(prev?.redundantBy ? { redundantBy: prev.redundantBy } : {}),
      ...(prev?.redundantFailedBy ? { redundantFailedBy: prev.redundantFailedBy } : {}),
    });
  }
  return out;
}

export type CandidateProof = 'pass' | 'fail' | 'unproven';

/** What the evidence says of `perInstanceRps` on a type. */
export function proofOf(e: TypeEvidence | undefined, perInstanceRps: number): CandidateProof {
  if (!e) return 'unproven';
  const tol = 1e-9 * Math.max(1, perInstanceRps);
  if (e.provenRps > 0 && perInstanceRps <= e.provenRps + tol) return 'pass';
  if (perInstanceRps >= e.failedRps - tol) return 'fail';
  return 'unproven';
}

/**
 * What the evidence says of `count` instances carrying `targetRps`: proofOf at targetRps / count, and with
 * `redundancy` also after losing one (targetRps / (count - 1) per survivor, against the chaos trials'
 * redundantRps). One instance is never redundant. Failed if either fails; proven only if both pass.
 */
export function countProof(e: TypeEvidence | undefined, targetRps: number, count: number, redundancy: boolean): CandidateProof {
  const steady = proofOf(e, count > 0 ? targetRps / count : Number.POSITIVE_INFINITY);
  if (!redundancy || steady === 'fail') return steady;
  if (count < 2) return 'fail';
  const survivor = targetRps / (count - 1);
  const tol = 1e-9 * Math.max(1, survivor);
  const red: CandidateProof = !e ? 'unproven' : e.redundantRps > 0 && survivor <= e.redundantRps + tol ? 'pass' : survivor >= e.redundantFailedRps - tol ? 'fail' : 'unproven';
  if (red === 'fail') return 'fail';
  return steady === 'pass' && red === 'pass' ? 'pass' : 'unproven';
}

/** The p99 the trials measured at the lowest step at or above `perInstanceRps` (the prediction for it). */
export function predictedP99(e: TypeEvidence | undefined, perInstanceRps: number): number | undefined {
  return e?.points.find((p) => p.rps >= perInstanceRps * (1 - 1e-9))?.p99Ms;
}

export type ProofStatus = 'proven' | 'pending' | 'failed' | 'unproven_emergency' | 'unproven' | 'no_change';

/** A proof as a decision carries it. */
export interface DecisionProof {
  readonly mode: ProofMode;
  readonly status: ProofStatus;
  /** The configuration the decision acts on (or would have, while it waits). */
  readonly candidate: { readonly instanceType: string; readonly count: number; readonly perInstanceRps: number };
  readonly verdict: CandidateProof;
  /** The trial whose measurement decided (passed or failed the candidate's rate). */
  readonly trial?: string;
  readonly numbers: Readonly<Record<string, number>>;
  /** Every configuration considered, cheapest first, with what the proof said of it. */
  readonly considered: readonly { readonly instanceType: string; readonly count: number; readonly costPerHour: number; readonly perInstanceRps: number; readonly proof: CandidateProof }[];
  readonly dropped: readonly { readonly instanceType: string; readonly count: number; readonly reason: string }[];
}

export interface GateInput {
  readonly mode: ProofMode;
  /** The strategy's decision after the action bounds. */
  readonly decision: Decision;
  readonly instanceType: string;
  /** Requests/s the decided pool must carry: the forecast peak of the decision window (or the demand) plus headroom. */
  readonly targetRps: number;
  readonly evidence: ReadonlyMap<string, TypeEvidence>;
  /** Live is over its utilization target now: the reactive safety net does not wait. */
  readonly emergency: boolean;
  readonly minInstances: number;
  readonly maxInstances: number;
  readonly maxStepUp: number;
  /** Cost per hour of `count` instances of a type. */
  readonly costOf: (instanceType: string, count: number) => number;
  /** The catalogue's candidates for targetRps (core/candidates), for a type the proof may choose. */
  readonly catalogue?: CandidateList;
  /** Least saving (fraction of the current type's cost) for which a proven type change is worth it. */
  readonly minTypeSaving: number;
  /** A type change is under way or not allowed now. */
  readonly typeChangeBlocked?: boolean;
  /** N+1: a count is proven only when it also holds the load after losing one instance (chaos trials). */
  readonly redundancy?: boolean;
}

export interface GateOutcome {
  readonly decision: Decision;
  /**
   * A trial that would settle the decision: the type and the rate per instance to prove; with `survivorRps`,
   * a chaos trial (the steady rate is proven; what is missing is `count` instances losing one, each
   * survivor then carrying survivorRps).
   */
  readonly want?: { readonly instanceType: string; readonly perInstanceRps: number; readonly survivorRps?: number; readonly count?: number };
}

export function gate(i: GateInput): GateOutcome {
  const d = i.decision;
  if (i.mode === 'off') return { decision: d };
  const current = d.current;
  const rate = (n: number): number => (n > 0 ? i.targetRps / n : Number.POSITIVE_INFINITY);
  const ev = i.evidence.get(i.instanceType);
  const redundancy = i.redundancy ?? false;
  const verdictAt = (type: string, n: number): CandidateProof => countProof(i.evidence.get(type), i.targetRps, n, redundancy);
  const considered: DecisionProof['considered'][number][] = [];
  const note = (n: number, type: string): void => {
    if (!considered.some((c) => c.instanceType === type && c.count === n)) considered.push({ instanceType: type, count: n, costPerHour: i.costOf(type, n), perInstanceRps: rate(n), proof: verdictAt(type, n) });
  };
  const numbers = (n: number, type = i.instanceType): Record<string, number> => {
    const e = i.evidence.get(type);
    const p = predictedP99(e, rate(n));
    return {
      targetRps: i.targetRps,
      perInstanceRps: rate(n),
      provenRps: e?.provenRps ?? 0,
      failedRps: e?.failedRps ?? Number.POSITIVE_INFINITY,
      evidenceAgeSeconds: e?.ageSeconds ?? Number.POSITIVE_INFINITY,
      ...(p !== undefined ? { predictedP99Ms: p } : {}),
      ...(e?.capacityAtSloRps !== undefined ? { measuredCapacityRps: e.capacityAtSloRps } : {}),
      ...(redundancy ? { survivorRps: n > 1 ? i.targetRps / (n - 1) : Number.POSITIVE_INFINITY, redundantRps: e?.redundantRps ?? 0, redundantFailedRps: e?.redundantFailedRps ?? Number.POSITIVE_INFINITY } : {}),
    };
  };
  const proof = (status: ProofStatus, n: number, type = i.instanceType): DecisionProof => {
    const e = i.evidence.get(type);
    const v = verdictAt(type, n);
    // The trial that decided: with redundancy, the chaos trial when the steady rate alone would pass.
    const steady = proofOf(e, rate(n));
    const trial = v === 'pass' ? (redundancy ? (e?.redundantBy ?? e?.provenBy) : e?.provenBy) : v === 'fail' ? (steady === 'fail' ? e?.failedBy : (e?.redundantFailedBy ?? e?.failedBy)) : undefined;
    const list = [...considered].sort((a, b) => a.costPerHour - b.costPerHour || a.count - b.count);
    return { mode: i.mode, status, candidate: { instanceType: type, count: n, perInstanceRps: rate(n) }, verdict: v, ...(trial ? { trial } : {}), numbers: numbers(n, type), considered: list, dropped: (i.catalogue?.dropped ?? []).map((x) => ({ instanceType: x.instanceType, count: x.count, reason: x.reason })) };
  };
  const withProof = (desired: number, reason: Reason, p: DecisionProof, instanceType?: string): Decision => {
    const changed = desired !== d.desired || reason !== d.reason;
    return { ...d, desired, reason, ...(instanceType ? { instanceType } : {}), numbers: changed ? { ...d.numbers, strategyDesired: d.desired } : d.numbers, proof: p };
  };
  // The first unproven count on the way from `from` (inclusive) by `step` to `to`: the trial to ask for.
  const firstUnproven = (from: number, to: number, step: 1 | -1): number | undefined => {
    for (let n = from; step > 0 ? n <= to : n >= to; n += step) if (verdictAt(i.instanceType, n) === 'unproven') return n;
    return undefined;
  };
  const wantFor = (n: number | undefined): GateOutcome['want'] => {
    if (n === undefined || !Number.isFinite(rate(n))) return undefined;
    // The steady rate first; once it passes, the chaos trial of losing one.
    if (redundancy && n >= 2 && proofOf(i.evidence.get(i.instanceType), rate(n)) === 'pass') return { instanceType: i.instanceType, perInstanceRps: rate(n), survivorRps: i.targetRps / (n - 1), count: n };
    return { instanceType: i.instanceType, perInstanceRps: rate(n) };
  };

  if (i.mode === 'advisory') {
    note(d.desired, i.instanceType);
    const v = verdictAt(i.instanceType, d.desired);
    const status: ProofStatus = d.desired === current ? 'no_change' : v === 'pass' ? 'proven' : v === 'fail' ? 'failed' : 'unproven';
    const want = d.desired !== current && v === 'unproven' ? wantFor(d.desired) : undefined;
    return { decision: withProof(d.desired, d.reason, proof(status, d.desired)), ...(want ? { want } : {}) };
  }

  // required
  let outcome: GateOutcome;
  if (d.desired < current) {
    for (let n = d.desired; n <= current; n++) note(n, i.instanceType);
    let chosen: number | undefined;
    for (let n = d.desired; n < current && chosen === undefined; n++) if (verdictAt(i.instanceType, n) === 'pass') chosen = n;
    if (chosen !== undefined) outcome = { decision: withProof(chosen, chosen === d.desired ? d.reason : 'proven_count', proof('proven', chosen)) };
    else {
      const ask = firstUnproven(d.desired, current - 1, 1);
      const failed = ask === undefined;
      const want = wantFor(ask);
      outcome = { decision: withProof(current, failed ? 'proof_failed' : 'proof_pending', proof(failed ? 'failed' : 'pending', ask ?? d.desired)), ...(want ? { want } : {}) };
    }
  } else if (d.desired > current) {
    const top = Math.min(i.maxInstances, current + i.maxStepUp);
    for (let n = d.desired; n <= Math.max(d.desired, Math.min(top, d.desired + 2)); n++) note(n, i.instanceType);
    let chosen: number | undefined;
    for (let n = d.desired; n <= Math.max(d.desired, top) && chosen === undefined; n++) if (verdictAt(i.instanceType, n) === 'pass') chosen = n;
    if (chosen !== undefined && chosen !== d.desired) note(chosen, i.instanceType);
    if (chosen !== undefined) outcome = { decision: withProof(chosen, chosen === d.desired ? d.reason : 'proven_count', proof('proven', chosen)) };
    else {
      const ask = firstUnproven(d.desired, Math.max(d.desired, top), 1);
      const want = wantFor(ask ?? d.desired);
      if (i.emergency) outcome = { decision: withProof(d.desired, 'unproven_emergency', proof('unproven_emergency', d.desired)), ...(want ? { want } : {}) };
      else {
        const failed = ask === undefined;
        outcome = { decision: withProof(current, failed ? 'proof_failed' : 'proof_pending', proof(failed ? 'failed' : 'pending', ask ?? d.desired)), ...(want && !failed ? { want } : {}) };
      }
    }
  } else {
    note(current, i.instanceType);
    outcome = { decision: withProof(current, d.reason, proof('no_change', current)) };
  }

  // A cheaper proven type: only from a settled configuration that does not grow (not while waiting, not
  // in an emergency, not on a rising load), compared with the cheapest proven configuration of the current
  // type (the same comparison from either side, so that the saving margin keeps the pool from flapping).
  const settled = outcome.decision.proof?.status;
  const growing = outcome.decision.desired > current;
  if (i.catalogue && !i.emergency && !i.typeChangeBlocked && !growing && (settled === 'proven' || settled === 'no_change') && ev) {
    const n = outcome.decision.desired;
    const provenHere = i.catalogue.candidates.filter((c) => c.instanceType === i.instanceType && c.count >= i.minInstances && verdictAt(c.instanceType, c.count) === 'pass').map((c) => c.costPerHour);
    if (verdictAt(i.instanceType, n) === 'pass') provenHere.push(i.costOf(i.instanceType, n));
    const here = provenHere.length ? Math.min(...provenHere) : Number.NaN;
    const best = i.catalogue.candidates
      .filter((c) => c.instanceType !== i.instanceType && c.count >= i.minInstances && c.count <= i.maxInstances && verdictAt(c.instanceType, c.count) === 'pass')
      .sort((a, b) => a.costPerHour - b.costPerHour || a.count - b.count)[0];
    for (const c of i.catalogue.candidates) note(c.count, c.instanceType);
    // The current type's configuration must itself be proven for the saving to be a fair comparison.
    if (best && Number.isFinite(here) && best.costPerHour <= here * (1 - i.minTypeSaving)) {
      return { decision: withProof(best.count, 'proven_type_change', { ...proof('proven', best.count, best.instanceType), numbers: { ...numbers(best.count, best.instanceType), currentCostPerHour: here, costPerHour: best.costPerHour } }, best.instanceType) };
    }
    // The proof record lists the catalogue too.
    return { ...outcome, decision: { ...outcome.decision, proof: { ...(outcome.decision.proof as DecisionProof), considered: [...considered].sort((a, b) => a.costPerHour - b.costPerHour || a.count - b.count) } } };
  }
  return outcome;
}
