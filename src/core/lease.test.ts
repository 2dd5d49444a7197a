// Unit tests (table): what a replica does with the leader Lease.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leaseAction, stillLeading, type LeaseRecord } from './lease.js';

const S = { identity: 'a', leaseDurationSeconds: 15, renewDeadlineSeconds: 10 };
const rec = (holder: string | undefined, transitions = 0): LeaseRecord => ({ holder, renewTime: '2026-12-03T00:00:00Z', leaseDurationSeconds: 15, transitions });

describe('leaseAction', () => {
  const rows: { note: string; record?: LeaseRecord; observedAt: number; now: number; want: string; transitions?: number }[] = [
    { note: 'no lease: create it', observedAt: 0, now: 0, want: 'create' },
    { note: 'ours: renew', record: rec('a'), observedAt: 0, now: 60_000, want: 'renew' },
    { note: "another's, seen changing 5 s ago: wait", record: rec('b'), observedAt: 0, now: 5_000, want: 'wait' },
    { note: "another's, unchanged for the lease's 15 s: take it over, one more transition", record: rec('b', 3), observedAt: 0, now: 15_000, want: 'take_over', transitions: 4 },
    { note: 'released (no holder): take it over at once', record: rec(undefined, 1), observedAt: 0, now: 1, want: 'take_over', transitions: 2 },
    { note: "the record's own duration counts (30 s)", record: { ...rec('b'), leaseDurationSeconds: 30 }, observedAt: 0, now: 20_000, want: 'wait' },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const got = leaseAction(r.record, r.observedAt, r.now, S);
      assert.equal(got.kind, r.want);
      if (got.kind === 'take_over') assert.equal(got.transitions, r.transitions);
    });
  }
});

describe('stillLeading', () => {
  it('within the renew deadline only', () => {
    assert.equal(stillLeading(0, 9_999, S), true);
    assert.equal(stillLeading(0, 10_000, S), false);
  });
});
