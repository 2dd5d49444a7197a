// Unit tests (table): grants of the shared shadow pool and trial admission.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admitTrials, allocatePool, minimumSlots, type PoolMember } from './shadow-pool.js';

const m = (service: string, o: Partial<PoolMember> = {}): PoolMember => ({ service, slotsPerShadow: 4, minimum: 1, borrowed: 0, shadows: 1, trialSlots: 0, ...o });

describe('allocatePool', () => {
  const rows: { note: string; capacity: number; members: PoolMember[]; grants: Record<string, number>; used: number }[] = [
    { note: 'minimums only', capacity: 16, members: [m('a'), m('b')], grants: { a: 1, b: 1 }, used: 8 },
    { note: 'borrowed shadows while they fit', capacity: 16, members: [m('a', { borrowed: 1 }), m('b')], grants: { a: 2, b: 1 }, used: 12 },
    { note: 'borrowed beyond the capacity: what fits', capacity: 16, members: [m('a', { borrowed: 5 }), m('b')], grants: { a: 3, b: 1 }, used: 16 },
    { note: 'held trial slots come before borrowed shadows', capacity: 16, members: [m('a', { borrowed: 2 }), m('b', { trialSlots: 8 })], grants: { a: 1, b: 1 }, used: 16 },
    { note: 'one instance in turn to each service', capacity: 24, members: [m('b', { borrowed: 3 }), m('a', { borrowed: 3 })], grants: { a: 3, b: 3 }, used: 24 },
    { note: 'in turn, by name, when only some fit', capacity: 20, members: [m('b', { borrowed: 3 }), m('a', { borrowed: 3 })], grants: { a: 3, b: 2 }, used: 20 },
    { note: 'a service shrinking counts what it has until it has shrunk', capacity: 16, members: [m('a', { shadows: 3 }), m('b')], grants: { a: 1, b: 1 }, used: 16 },
    { note: 'minimums above the capacity are still granted (validation refuses such a pool)', capacity: 4, members: [m('a'), m('b')], grants: { a: 1, b: 1 }, used: 8 },
    { note: 'bigger shadows take more slots', capacity: 16, members: [m('a', { slotsPerShadow: 8, borrowed: 1 }), m('b', { borrowed: 1 })], grants: { a: 1, b: 2 }, used: 16 },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const got = allocatePool(r.capacity, r.members);
      assert.deepEqual(got.grants, r.grants);
      assert.equal(got.usedSlots, r.used);
      assert.equal(got.freeSlots, r.capacity - r.used);
    });
  }
});

describe('admitTrials', () => {
  const rows: { note: string; capacity: number; members: PoolMember[]; service: string; trialSlots: number; borrowedAfter?: Record<string, number>; ok: boolean; need: number }[] = [
    { note: 'a trial that fits', capacity: 16, members: [m('a'), m('b')], service: 'a', trialSlots: 8, ok: true, need: 16 },
    { note: 'a trial that does not', capacity: 12, members: [m('a'), m('b')], service: 'a', trialSlots: 8, ok: false, need: 16 },
    { note: "its dependency's borrowed shadow counts", capacity: 16, members: [m('a'), m('b')], service: 'a', trialSlots: 4, borrowedAfter: { b: 2 }, ok: false, need: 20 },
    { note: 'its running trials are replaced, not added', capacity: 16, members: [m('a', { trialSlots: 4 }), m('b')], service: 'a', trialSlots: 8, ok: true, need: 16 },
    { note: "another service's trials count", capacity: 16, members: [m('a'), m('b', { trialSlots: 8 })], service: 'a', trialSlots: 4, ok: false, need: 20 },
    { note: 'shadows being removed still count', capacity: 16, members: [m('a', { shadows: 2 }), m('b')], service: 'a', trialSlots: 8, ok: false, need: 20 },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const got = admitTrials(r.capacity, r.members, r.service, r.trialSlots, r.borrowedAfter);
      assert.equal(got.ok, r.ok);
      assert.equal(got.needSlots, r.need);
    });
  }
});

describe('minimumSlots', () => {
  it('sums the minimums in slots', () => {
    assert.equal(minimumSlots([m('a'), m('b', { minimum: 2, slotsPerShadow: 8 })]), 20);
    assert.equal(minimumSlots([]), 0);
  });
});
