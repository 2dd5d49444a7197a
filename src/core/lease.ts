// Leader election on a coordination.k8s.io Lease (issue 15: two replicas of shadowscale, one acting). Pure:
// the lease as last read, when this replica last saw it change and the time now in, what to do out. As
// client-go's leaderelection does, expiry is judged by this replica's own clock from the moment it observed
// the record change (holder or renew time), never by comparing the other replica's timestamps with its own
// (clocks differ); the holder stops acting once it could not renew for `renewDeadlineSeconds`, which is
// shorter than the lease, so that it has stopped before anyone else may take over.

export interface LeaseRecord {
  readonly holder: string | undefined;
  /** The holder's renew time as it wrote it (ISO), compared only for change. */
  readonly renewTime: string | undefined;
  readonly leaseDurationSeconds: number;
  readonly transitions: number;
}

export interface LeaseSettings {
  readonly identity: string;
  readonly leaseDurationSeconds: number;
  /** How long the holder keeps acting without a successful renew (< leaseDurationSeconds). */
  readonly renewDeadlineSeconds: number;
}

export type LeaseAction =
  | { readonly kind: 'create' }
  | { readonly kind: 'renew' }
  | { readonly kind: 'take_over'; readonly transitions: number }
  | { readonly kind: 'wait'; readonly holder: string; readonly expiresInSeconds: number };

/**
 * What to do with the lease: `record` undefined when it does not exist; `observedAt` (ms, this replica's
 * clock) when this replica last saw the record change.
 */
export function leaseAction(record: LeaseRecord | undefined, observedAt: number, now: number, s: LeaseSettings): LeaseAction {
  if (!record) return { kind: 'create' };
  if (record.holder === s.identity) return { kind: 'renew' };
  // Released (no holder) or expired by this replica's own clock.
  const duration = record.leaseDurationSeconds > 0 ? record.leaseDurationSeconds : s.leaseDurationSeconds;
  const expiresIn = (observedAt + duration * 1000 - now) / 1000;
  if (!record.holder || expiresIn <= 0) return { kind: 'take_over', transitions: record.transitions + 1 };
  return { kind: 'wait', holder: record.holder, expiresInSeconds: expiresIn };
}

/** Whether the holder may still act: it renewed within the deadline (ms on its own clock). */
export const stillLeading = (lastRenewAt: number, now: number, s: LeaseSettings): boolean => now - lastRenewAt < s.renewDeadlineSeconds * 1000;
