// Unit tests (table): what a strategy observes of a pool (the live loop and the A/B arms both use it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { meanOf, observeWindow, trimWindow, weightedQuantile, type WindowPoint } from './observe.js';

const pt = (at: number, requests: number, meanMs: number, ready: number): WindowPoint => ({ at, requests, latencySumMs: requests * meanMs, ready });

describe('observeWindow', () => {
  const rows: { note: string; window: WindowPoint[]; now: number; dt: number; slots: number; readyNow: number; want: { demandRps: number; utilization: number; meanReady: number } }[] = [
    // 3 ticks of 1 s, 100 requests each at 40 ms, 2 instances of 4 slots: 100 req/s x 0.04 s = 4 busy of 8.
    { note: "Little's law over the window", window: [pt(1000, 100, 40, 2), pt(2000, 100, 40, 2), pt(3000, 100, 40, 2)], now: 3000, dt: 1, slots: 4, readyNow: 2, want: { demandRps: 100, utilization: 0.5, meanReady: 2 } },
    { note: 'capped at 1 when overloaded', window: [pt(1000, 1000, 400, 1)], now: 1000, dt: 1, slots: 4, readyNow: 1, want: { demandRps: 1000, utilization: 1, meanReady: 1 } },
    { note: 'ready but idle: 0', window: [pt(1000, 0, 0, 2)], now: 1000, dt: 1, slots: 4, readyNow: 2, want: { demandRps: 0, utilization: 0, meanReady: 2 } },
    { note: 'nothing ready: unknown', window: [pt(1000, 0, 0, 0)], now: 1000, dt: 1, slots: 4, readyNow: 0, want: { demandRps: 0, utilization: Number.NaN, meanReady: 0 } },
    { note: 'an empty window: the ready count now, demand 0', window: [], now: 1000, dt: 1, slots: 4, readyNow: 3, want: { demandRps: 0, utilization: 0, meanReady: 3 } },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const got = observeWindow(r.window, r.now, r.dt, r.slots, r.readyNow);
      assert.ok(Math.abs(got.demandRps - r.want.demandRps) < 1e-9, `demand ${got.demandRps}`);
      assert.ok(Number.isNaN(r.want.utilization) ? Number.isNaN(got.utilization) : Math.abs(got.utilization - r.want.utilization) < 1e-9, `utilization ${got.utilization}`);
      assert.equal(got.meanReady, r.want.meanReady);
    });
  }
  it('trimWindow drops the points at or before now - window', () => {
    const w = [pt(1000, 1, 1, 1), pt(2000, 1, 1, 1), pt(3000, 1, 1, 1)];
    trimWindow(w, 4000, 2000);
    assert.deepEqual(w.map((p) => p.at), [3000]);
  });
});

describe('weightedQuantile and meanOf', () => {
  const rows: { note: string; b: [number, number][]; q: number; want: number }[] = [
    { note: 'p99 of 100 samples is the 99th', b: [[1, 98], [5, 1], [9, 1]], q: 0.99, want: 5 },
    { note: 'p50 with weights', b: [[1, 1], [2, 1], [3, 2]], q: 0.5, want: 2 },
    { note: 'p100 is the largest', b: [[1, 1], [7, 1]], q: 1, want: 7 },
    { note: 'empty: NaN', b: [], q: 0.99, want: Number.NaN },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const got = weightedQuantile(r.b, r.q);
      if (Number.isNaN(r.want)) assert.ok(Number.isNaN(got));
      else assert.equal(got, r.want);
    });
  }
  it('meanOf weights its buckets', () => {
    assert.deepEqual(meanOf([[10, 1], [20, 3]]), { mean: 17.5, n: 4 });
    assert.ok(Number.isNaN(meanOf([]).mean));
  });
});
