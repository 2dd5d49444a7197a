// `shadowscale proofs`: the historical performance model a store holds (docs/design/proof.md). Per
// instance type, what its trials measured over time (each step's rate, verdict and p99), what the fresh
// ones prove now, and what the proof gate did with it: decisions by proof status, trial cost.

import { typeEvidence } from '../core/gate.js';
import type { ExperimentRecord } from '../metrics/store.js';
import { trialEvidence } from './gate.js';

export interface ProofsReport {
  readonly service: string;
  readonly freshSeconds: number;
  readonly types: Record<
    string,
    {
      /** What the fresh trials prove now (0 and null: nothing). */
      readonly provenRps: number;
      readonly failedRps: number | null;
      readonly capacityAtSloRps: number | null;
      readonly ageSeconds: number | null;
      readonly trials: readonly { readonly id: string; readonly finishedAt: string; readonly verdict: string; readonly fresh: boolean; readonly capacityAtSloRps: number | null; readonly steps: readonly { readonly rps: number; readonly verdict: string; readonly p99Ms: number }[] }[];
    }
  >;
  /** Decisions by the status of their proof (`none`: recorded without one). */
  readonly decisions: Record<string, number>;
  readonly trials: { readonly finished: number; readonly aborted: number; readonly open: number; readonly instanceSeconds: number };
}

/** `decisions`: the service's decisions counted by the status of their proof (the store keeps the counts). */
export function proofsReport(service: string, experiments: readonly ExperimentRecord[], decisions: Readonly<Record<string, number>>, now: number, freshSeconds: number): ProofsReport {
  const mine = experiments.filter((e) => e.kind === 'trial' && e.service === service);
  const evidence = mine.map((e) => trialEvidence(e, service)).filter((e) => e !== undefined);
  const current = typeEvidence(evidence, now / 1000, freshSeconds);
  const types: Record<string, ProofsReport['types'][string]> = {};
  for (const t of [...new Set(evidence.map((e) => e.instanceType))].sort()) {
    const e = current.get(t);
    types[t] = {
      provenRps: e?.provenRps ?? 0,
      failedRps: e && Number.isFinite(e.failedRps) ? e.failedRps : null,
      capacityAtSloRps: e?.capacityAtSloRps ?? null,
      ageSeconds: e ? e.ageSeconds : null,
      trials: evidence
        .filter((x) => x.instanceType === t)
        .map((x) => ({
          id: x.id,
          finishedAt: new Date(x.finishedAt * 1000).toISOString(),
          verdict: mine.find((m) => m.id === x.id)?.verdict ?? 'unknown',
          fresh: now / 1000 - x.finishedAt <= freshSeconds,
          capacityAtSloRps: x.capacityAtSloRps ?? null,
          steps: x.steps.map((s) => ({ rps: s.targetRps, verdict: s.verdict, p99Ms: s.p99Ms })),
        })),
    };
  }
  const byStatus: Record<string, number> = Object.fromEntries(Object.entries(decisions).sort(([a], [b]) => (a < b ? -1 : 1)));
  let seconds = 0;
  for (const e of mine) if (e.finishedAt !== null) seconds += (e.finishedAt - e.startedAt) / 1000;
  return {
    service,
    freshSeconds,
    types,
    decisions: byStatus,
    trials: { finished: evidence.length, aborted: mine.filter((e) => e.verdict === 'aborted').length, open: mine.filter((e) => e.finishedAt === null).length, instanceSeconds: Math.round(seconds * 10) / 10 },
  };
}
