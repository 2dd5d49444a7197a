// Price catalog and billing: per-second billing of instance time, split into reserved, spot and
// on-demand. Reserved capacity is paid whether used or not (a commitment).

import { oracleSchedule } from './strategy.js';

export interface Prices {
  readonly onDemandPerHour: number;
  readonly spotPerHour: number;
  readonly reservedPerHour: number;
}

export interface PurchasePlan {
  /** Instances covered by a reservation (paid for the whole period). */
  readonly reservedInstances: number;
  /** Fraction of the instances above the reservation bought as spot. */
  readonly spotShare: number;
}

export interface Usage {
  /** Seconds covered by the bill. */
  readonly seconds: number;
  /** Instance-seconds used, all kinds together. */
  readonly instanceSeconds: number;
  /** Instance-seconds that ran on reserved capacity. */
  readonly reservedSeconds: number;
  /** Instance-seconds that ran as spot. */
  readonly spotSeconds: number;
}

export interface Bill {
  readonly total: number;
  readonly reserved: number;
  readonly spot: number;
  readonly onDemand: number;
  readonly instanceHours: number;
}

export function bill(usage: Usage, prices: Prices, plan: PurchasePlan): Bill {
  const reserved = (plan.reservedInstances * usage.seconds * prices.reservedPerHour) / 3600;
  const spot = (usage.spotSeconds * prices.spotPerHour) / 3600;
  const onDemandSeconds = Math.max(0, usage.instanceSeconds - usage.reservedSeconds - usage.spotSeconds);
  const onDemand = (onDemandSeconds * prices.onDemandPerHour) / 3600;
  return { total: reserved + spot + onDemand, reserved, spot, onDemand, instanceHours: usage.instanceSeconds / 3600 };
}

/**
 * Whether the n-th instance launched above the reservation (0-based) is bought as spot: spreads
 * the spot share evenly over launches (share 0.25: every fourth launch).
 */
export function isSpotLaunch(n: number, share: number): boolean {
  if (share <= 0) return false;
  if (share >= 1) return true;
  return Math.floor((n + 1) * share) > Math.floor(n * share);
}

/**
 * What the oracle would have run over a recorded demand: `demand[k]` requests/s over the k-th step of
 * `stepSeconds`, served at `perInstanceRps` per warm instance, with instances requested `leadSeconds`
 * before they are warm, within [min, max]. Returns the instances of its cheapest schedule per step
 * (oracleSchedule on steps instead of seconds; non-finite demand counts as none).
 */
export function oracleInstances(demand: ArrayLike<number>, stepSeconds: number, perInstanceRps: number, leadSeconds: number, min: number, max: number): Int32Array {
  if (!(stepSeconds > 0) || !(perInstanceRps > 0) || demand.length === 0) return new Int32Array(demand.length);
  const need = new Int32Array(demand.length);
  for (let k = 0; k < demand.length; k++) {
    const d = demand[k] as number;
    need[k] = Math.min(max, Math.max(min, Number.isFinite(d) && d > 0 ? Math.ceil(d / perInstanceRps - 1e-9) : 0));
  }
  return oracleSchedule(need, Math.ceil(leadSeconds / stepSeconds - 1e-9), min);
}
