// Unit tests (table): the live-vs-shadow mutation delta and the demand forecast writes imply.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mutationDelta, writeDemandFloor, type MutationWindow } from './mutations.js';

const w = (expected: number, shadow: number, pending?: number, open?: number): MutationWindow => ({ live: expected, expected, shadow, ...(pending !== undefined ? { pending } : {}), ...(open !== undefined ? { open } : {}) });

describe('mutationDelta', () => {
  const rows: { note: string; windows: MutationWindow[]; verdict: string; lag: number }[] = [
    { note: 'every copy answered: in step', windows: [w(100, 100), w(100, 100), w(100, 100), w(100, 100)], verdict: 'in_step', lag: 0 },
    { note: 'a steady backlog (copies in flight) does not grow: in step', windows: [w(100, 90), w(100, 100), w(100, 100), w(100, 100)], verdict: 'in_step', lag: 10 },
    { note: 'a backlog catching up: in step', windows: [w(100, 60), w(100, 110), w(100, 110), w(100, 110)], verdict: 'in_step', lag: 10 },
    { note: 'one copy in ten lost, three windows: widening', windows: [w(100, 100), w(100, 90), w(100, 90), w(100, 90)], verdict: 'widening', lag: 30 },
    { note: 'lost, but only for two windows: in step', windows: [w(100, 100), w(100, 100), w(100, 90), w(100, 90)], verdict: 'in_step', lag: 20 },
    { note: 'regression (CI, two gateway workers): the offset a sync leaves (73 copies the snapshot had, skipped) plus one copy of jitter a window: in step', windows: [w(617, 544), w(617, 616), w(617, 616), w(617, 616)], verdict: 'in_step', lag: 76 },
    { note: 'the same offset, and then one copy in ten lost: widening', windows: [w(617, 544), w(617, 555), w(617, 555), w(617, 555)], verdict: 'widening', lag: 259 },
    { note: 'growing but below 5 % of a window: in step', windows: [w(1000, 1000), w(1000, 999), w(1000, 999), w(1000, 999)], verdict: 'in_step', lag: 3 },
    { note: 'the shadow stopped answering: widening', windows: [w(50, 50), w(50, 0), w(50, 0), w(50, 0)], verdict: 'widening', lag: 150 },
    { note: 'too few writes in a window: insufficient data', windows: [w(100, 100), w(100, 0), w(10, 0), w(100, 0)], verdict: 'insufficient_data', lag: 210 },
    { note: 'too few windows: insufficient data', windows: [w(100, 0), w(100, 0), w(100, 0)], verdict: 'insufficient_data', lag: 300 },
    { note: 'no windows', windows: [], verdict: 'insufficient_data', lag: 0 },
    { note: 'a burst the shadow works through: the growing backlog is queued in the mirror, not lost: in step', windows: [w(100, 100, 0), w(2000, 1000, 1000), w(2000, 1000, 2000), w(2000, 1000, 3000)], verdict: 'in_step', lag: 0 },
    { note: 'copies dropped at a full queue (the pending count stays at its limit): widening', windows: [w(100, 100, 0), w(100, 50, 4), w(100, 50, 4), w(100, 50, 4)], verdict: 'widening', lag: 146 },
    { note: 'regression (CI, 64 writers): read low by 50 copies the shadow answered before live counted them, the lag rises from -50 to 10 in three windows; within the first reading\'s 64 open mutations: in step', windows: [w(473, 523, 0, 64), w(473, 453, 0, 64), w(473, 453, 0, 64), w(473, 453, 0, 64)], verdict: 'in_step', lag: 10 },
    { note: 'the same reading error, and one copy in ten lost: widening', windows: [w(473, 523, 0, 64), w(473, 426, 0, 64), w(473, 426, 0, 64), w(473, 426, 0, 64)], verdict: 'widening', lag: 91 },
    { note: 'open mutations at the last window only do not hide a loss (reading low there understates the growth): widening', windows: [w(100, 100, 0, 0), w(100, 90, 0, 0), w(100, 90, 0, 0), w(100, 90, 0, 50)], verdict: 'widening', lag: 30 },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const got = mutationDelta(r.windows);
      assert.equal(got.verdict, r.verdict);
      assert.equal(got.lag, r.lag);
    });
  }
});

describe('writeDemandFloor', () => {
  const rows: { note: string; writes: number; perWrite: number; per: number; headroom: number; floor: number }[] = [
    { note: 'writes at the requests per write, with headroom', writes: 20, perWrite: 5, per: 50, headroom: 0.15, floor: 3 },
    { note: 'exactly at capacity', writes: 10, perWrite: 5, per: 50, headroom: 0, floor: 1 },
    { note: 'no writes forecast: nothing', writes: 0, perWrite: 5, per: 50, headroom: 0.15, floor: 0 },
    { note: 'a missing figure (NaN) adds nothing', writes: Number.NaN, perWrite: 5, per: 50, headroom: 0.15, floor: 0 },
    { note: 'no capacity figure: nothing', writes: 10, perWrite: 5, per: 0, headroom: 0.15, floor: 0 },
  ];
  for (const r of rows) {
    it(r.note, () => assert.equal(writeDemandFloor({ writesUpperRps: r.writes, requestsPerWrite: r.perWrite, perInstanceRps: r.per, headroom: r.headroom }).floor, r.floor));
  }
});
