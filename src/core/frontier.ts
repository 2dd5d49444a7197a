// Cost-SLO frontiers: which runs of a strategy are undominated, and what it costs at a given SLO
// attainment. Pure; used by the backtest's sweep and by tune. Design: docs/design/frontier.md

import { round } from './stats.js';

export interface CostPoint {
  readonly cost: number;
  readonly sloAttainment: number;
}

/** The undominated points, cheapest first (attainment rising with cost). */
export function paretoFrontier<P extends CostPoint>(points: readonly P[]): P[] {
  const sorted = [...points].sort((a, b) => a.cost - b.cost || b.sloAttainment - a.sloAttainment);
  const out: P[] = [];
  for (const x of sorted) if (out.length === 0 || x.sloAttainment > (out[out.length - 1] as P).sloAttainment) out.push(x);
  return out;
}

/**
 * Cost at attainment `a` on a frontier (cheapest first): linear between the last point below `a` and
 * the first point at or above it; the first point's cost when even it reaches `a`; null when none does.
 */
export function costAt(frontier: readonly CostPoint[], a: number): number | null {
  const i = frontier.findIndex((x) => x.sloAttainment >= a - 1e-12);
  if (i < 0) return null;
  const hi = frontier[i] as CostPoint;
  if (i === 0) return hi.cost;
  const lo = frontier[i - 1] as CostPoint;
  const t = (a - lo.sloAttainment) / (hi.sloAttainment - lo.sloAttainment);
  return round(lo.cost + t * (hi.cost - lo.cost), 4);
}
