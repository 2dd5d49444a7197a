// The sampling controller: the shadow sees more of the traffic while load changes fast (so delta
// analysis and the capacity model get data when it matters) and returns to the base rate when load
// is stable. Pure: rates and times in, the next rate and why out.

export interface SamplingSettings {
  /** Rate while load is stable. */
  readonly baseRate: number;
  readonly minRate: number;
  readonly maxRate: number;
  /** Load changing faster than this (relative change per second) counts as fast. */
  readonly fastChangePerSecond: number;
  /** Multiplier on the current rate per tick of fast change. */
  readonly raiseFactor: number;
  /** Fraction of the excess over the base rate kept per second of stable load. */
  readonly decayPerSecond: number;
}

export const DEFAULT_SAMPLING: Omit<SamplingSettings, 'baseRate' | 'minRate' | 'maxRate'> = { fastChangePerSecond: 0.05, raiseFactor: 2, decayPerSecond: 0.9 };

export type SamplingReason = 'load_changing' | 'load_stable' | 'no_load_data';

export interface SamplingDecision {
  readonly rate: number;
  readonly reason: SamplingReason;
  readonly numbers: Readonly<Record<string, number>>;
}

/**
 * 1. Relative change of the load per second between two observations `dt` seconds apart.
 * 2. Fast: multiply the rate by `raiseFactor` (at least the base rate x the factor), up to maxRate.
 * 3. Stable: decay the excess over the base rate geometrically.
 */
export function nextSamplingRate(current: number, loadBefore: number, loadNow: number, dtSeconds: number, s: SamplingSettings): SamplingDecision {
  const clamp = (r: number): number => Math.min(s.maxRate, Math.max(s.minRate, r));
  if (!(dtSeconds > 0) || !Number.isFinite(loadBefore) || !Number.isFinite(loadNow)) return { rate: clamp(current), reason: 'no_load_data', numbers: {} };
  const change = Math.abs(loadNow - loadBefore) / Math.max(loadBefore, loadNow, 1e-9) / dtSeconds;
  if (change > s.fastChangePerSecond) {
    return { rate: clamp(Math.max(current, s.baseRate) * s.raiseFactor), reason: 'load_changing', numbers: { changePerSecond: change, threshold: s.fastChangePerSecond } };
  }
  const rate = current > s.baseRate ? s.baseRate + (current - s.baseRate) * s.decayPerSecond ** dtSeconds : s.baseRate;
  return { rate: clamp(rate), reason: 'load_stable', numbers: { changePerSecond: change, threshold: s.fastChangePerSecond } };
}
