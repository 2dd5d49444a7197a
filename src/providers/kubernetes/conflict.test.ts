// Unit tests (tables): the conflict retry policy's pauses and budget, pure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conflictPause, retryConflict } from './conflict.js';

describe('conflictPause', () => {
  const cases: { attempt: number; random: number; want: number }[] = [
    { attempt: 0, random: 1, want: 10 },
    { attempt: 0, random: 0.5, want: 5 },
    { attempt: 0, random: 0, want: 1 }, // never a zero pause
    { attempt: 3, random: 1, want: 80 },
    { attempt: 5, random: 1, want: 250 }, // capped
    { attempt: 1000, random: 1, want: 250 }, // no overflow on long storms
    { attempt: 4, random: 0.25, want: 40 },
  ];
  for (const c of cases) {
    it(`attempt ${c.attempt}, random ${c.random} → ${c.want} ms`, () => {
      assert.equal(conflictPause(c.attempt, () => c.random), c.want);
    });
  }
});

describe('retryConflict', () => {
  const cases: { elapsed: number; budget?: number; want: boolean }[] = [
    { elapsed: 0, want: true },
    { elapsed: 29_999, want: true },
    { elapsed: 30_000, want: false },
    { elapsed: 500, budget: 500, want: false },
    { elapsed: 0, budget: 0, want: false }, // a budget of 0: no retries
  ];
  for (const c of cases) {
    it(`${c.elapsed} ms of ${c.budget ?? 'the default'} → ${c.want}`, () => {
      assert.equal(retryConflict(c.elapsed, c.budget), c.want);
    });
  }
});
