// One shadow pool shared by several services (shadowPool.mode: shared; docs/design/services.md). The
// pool is a capacity in worker slots (its size in instances of its instance type); every service's
// shadow instances and trial instances take their type's slots from it. Pure: what each service has
// and asks in, what it is granted and whether a trial fits out.
//
// 1. Delta analysis keeps a minimum: every service is granted its minimum shadow instances first.
// 2. Trials borrow: the slots of running (admitted) trial instances are held.
// 3. What is left goes to the extra shadow instances callers' trials borrow of their dependencies, one
//    instance at a time to each service in turn (by name), while it fits.
// 4. A trial is admitted when everything granted or running, plus it, fits the capacity.

export interface PoolMember {
  readonly service: string;
  /** Slots of one of its shadow instances. */
  readonly slotsPerShadow: number;
  /** Shadow instances delta analysis keeps, whatever else asks. */
  readonly minimum: number;
  /** Extra shadow instances its callers' trials borrow of it (their load at its shadows' capacity). */
  readonly borrowed: number;
  /** Shadow instances it has now (running or starting). */
  readonly shadows: number;
  /** Slots its running (admitted) trial instances hold. */
  readonly trialSlots: number;
}

export interface PoolAllocation {
  /** Shadow instances each service is granted (its minimum at least). */
  readonly grants: Readonly<Record<string, number>>;
  /** Slots in use or held: per service the larger of its shadows and its grant, plus trial slots. */
  readonly usedSlots: number;
  /** Capacity minus used (negative while a service shrinks to its grant). */
  readonly freeSlots: number;
}

/** Slots the members' minimums take: the least capacity a pool for them can have. */
export const minimumSlots = (members: readonly Pick<PoolMember, 'slotsPerShadow' | 'minimum'>[]): number => members.reduce((a, m) => a + m.minimum * m.slotsPerShadow, 0);

const usage = (members: readonly PoolMember[], grants: Readonly<Record<string, number>>): number => members.reduce((a, m) => a + Math.max(m.shadows, grants[m.service] ?? m.minimum) * m.slotsPerShadow + m.trialSlots, 0);

export function allocatePool(capacitySlots: number, members: readonly PoolMember[]): PoolAllocation {
  const sorted = [...members].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  const grants: Record<string, number> = {};
  let left = capacitySlots;
  for (const m of sorted) {
    grants[m.service] = m.minimum;
    left -= m.minimum * m.slotsPerShadow + m.trialSlots;
  }
  const extra = new Map(sorted.map((m) => [m.service, 0]));
  for (let moved = true; moved; ) {
    moved = false;
    for (const m of sorted) {
      const given = extra.get(m.service) as number;
      if (given < m.borrowed && m.slotsPerShadow <= left) {
        extra.set(m.service, given + 1);
        grants[m.service] = (grants[m.service] as number) + 1;
        left -= m.slotsPerShadow;
        moved = true;
      }
    }
  }
  const usedSlots = usage(members, grants);
  return { grants, usedSlots, freeSlots: capacitySlots - usedSlots };
}

export interface TrialAdmission {
  readonly ok: boolean;
  /** Slots the pool would use with the trial (and the borrowed shadows it brings). */
  readonly needSlots: number;
  readonly capacitySlots: number;
}

/**
 * Whether `service`'s trials holding `trialSlots` (the running ones and the one about to start) fit, with
 * its dependencies' borrowed shadow instances becoming `borrowedAfter` (service -> instances; others as
 * they are). Every member counts the larger of what it has and its minimum plus what it borrows.
 */
export function admitTrials(capacitySlots: number, members: readonly PoolMember[], service: string, trialSlots: number, borrowedAfter: Readonly<Record<string, number>> = {}): TrialAdmission {
  let needSlots = 0;
  for (const m of members) {
    const borrowed = borrowedAfter[m.service] ?? m.borrowed;
    needSlots += Math.max(m.shadows, m.minimum + borrowed) * m.slotsPerShadow + (m.service === service ? trialSlots : m.trialSlots);
  }
  return { ok: needSlots <= capacitySlots, needSlots, capacitySlots };
}
