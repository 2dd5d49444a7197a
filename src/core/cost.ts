// Price catalog and billing: per-second billing of instance time, split into reserved, spot and
// on-demand. Reserved capacity is paid whether used or not (a commitment).

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
