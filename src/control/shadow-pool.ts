// The shared shadow pool of a run (shadowPool.mode: shared; docs/design/services.md): every service's
// loop asks it for its shadow size each tick, and every service's proof gate asks it before a trial
// starts. The arithmetic is src/core/shadow-pool.ts; this keeps what each service has and holds.
import { admitTrials, allocatePool, type PoolMember } from '../core/shadow-pool.js';

export interface SharedPoolSettings {
  /** Instances of `instanceType` the pool holds. */
  readonly size: number;
  readonly instanceType: string;
  /** Worker slots of one instance of `instanceType`. */
  readonly unitSlots: number;
  readonly minPerService: number;
}

export interface SharedPoolView {
  readonly mode: 'shared';
  readonly size: number;
  readonly instanceType: string;
  readonly capacitySlots: number;
  readonly usedSlots: number;
  readonly freeSlots: number;
  readonly services: readonly { readonly service: string; readonly granted: number; readonly shadows: number; readonly borrowed: number; readonly trialSlots: number; readonly slotsPerShadow: number }[];
  /** Times a trial was told to wait because the pool had no room (since the start; once per check). */
  readonly trialWaits: number;
}

interface Member {
  slotsPerShadow: number;
  shadows: number;
  borrowed: number;
  trialSlots: number;
}

export class SharedShadowPool {
  readonly capacitySlots: number;
  private readonly members = new Map<string, Member>();
  private waits = 0;

  constructor(readonly s: SharedPoolSettings) {
    this.capacitySlots = s.size * s.unitSlots;
  }

  /** A service of the run and the slots of one of its shadow instances (before its first tick). */
  register(service: string, slotsPerShadow: number): void {
    this.members.set(service, { slotsPerShadow, shadows: 0, borrowed: 0, trialSlots: 0 });
  }

  private list(): PoolMember[] {
    return [...this.members].map(([service, m]) => ({ service, slotsPerShadow: m.slotsPerShadow, minimum: this.s.minPerService, borrowed: m.borrowed, shadows: m.shadows, trialSlots: m.trialSlots }));
  }

  /** A loop's tick: the shadow instances it has and those its callers' trials borrow; its size. */
  grant(service: string, shadows: number, borrowed: number): number {
    const m = this.members.get(service);
    if (!m) return this.s.minPerService;
    m.shadows = shadows;
    m.borrowed = borrowed;
    return allocatePool(this.capacitySlots, this.list()).grants[service] ?? this.s.minPerService;
  }

  /**
   * A service's trials now hold `trialSlots` (the running ones and the one about to start), and its
   * dependencies' shadows would borrow `borrowedAfter` instances. Less than it holds is always granted (a
   * trial ended); more is granted only when everything fits: otherwise why it waits, and nothing changes.
   */
  holdTrials(service: string, trialSlots: number, borrowedAfter: Readonly<Record<string, number>> = {}): string | undefined {
    const m = this.members.get(service);
    if (!m) return undefined;
    if (trialSlots > m.trialSlots) {
      const a = admitTrials(this.capacitySlots, this.list(), service, trialSlots, borrowedAfter);
      if (!a.ok) {
        this.waits++;
        return `the shared shadow pool (${this.s.size} x ${this.s.instanceType}, ${a.capacitySlots} slots) has no room: ${a.needSlots} slots with this trial`;
      }
    }
    m.trialSlots = trialSlots;
    // Lent at once (the dependencies' loops tell the same at their next tick): a check before then counts them.
    for (const [dep, n] of Object.entries(borrowedAfter)) {
      const d = this.members.get(dep);
      if (d) d.borrowed = n;
    }
    return undefined;
  }

  view(): SharedPoolView {
    const members = this.list();
    const a = allocatePool(this.capacitySlots, members);
    return {
      mode: 'shared',
      size: this.s.size,
      instanceType: this.s.instanceType,
      capacitySlots: this.capacitySlots,
      usedSlots: a.usedSlots,
      freeSlots: a.freeSlots,
      services: members.map((m) => ({ service: m.service, granted: a.grants[m.service] ?? m.minimum, shadows: m.shadows, borrowed: m.borrowed, trialSlots: m.trialSlots, slotsPerShadow: m.slotsPerShadow })),
      trialWaits: this.waits,
    };
  }
}
