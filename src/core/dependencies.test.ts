// Unit tests (table): learned call ratios, which ratio propagation uses, the floor callers put on a
// dependency, and dependency cycles.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dependencyCycle, dependencyFloor, learnWindow, usedRatio, type LearnedRatio } from './dependencies.js';

describe('learnWindow', () => {
  const sums = (calls: number, requests: number, windows: number, callerRequests: number): LearnedRatio => ({ perRequest: calls / requests, windows, callerRequests, weightedCalls: calls, weightedRequests: requests });
  const rows: { note: string; prev?: LearnedRatio; calls: number; requests: number; want: LearnedRatio | undefined }[] = [
    { note: 'the first window is the ratio', calls: 40, requests: 20, want: sums(40, 20, 1, 20) },
    { note: 'too few caller requests: nothing learned', calls: 5, requests: 10, want: undefined },
    { note: 'too few: the previous stands', prev: sums(400, 400, 4, 400), calls: 0, requests: 5, want: sums(400, 400, 4, 400) },
    { note: 'later windows: the older sums decay by 1 - alpha before the window is added', prev: sums(100, 100, 1, 100), calls: 200, requests: 100, want: sums(270, 170, 2, 200) },
    { note: 'a thin window moves it by its traffic (20 requests at 1.5 against 1000 at 1)', prev: sums(1000, 1000, 5, 3000), calls: 30, requests: 20, want: sums(730, 720, 6, 3020) },
    { note: 'NaN counts are ignored', calls: Number.NaN, requests: 100, want: undefined },
    { note: 'infinite counts are ignored', prev: sums(100, 100, 1, 100), calls: Number.POSITIVE_INFINITY, requests: 100, want: sums(100, 100, 1, 100) },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const got = learnWindow(r.prev, r.calls, r.requests);
      if (r.want === undefined) assert.equal(got, undefined);
      else {
        assert.ok(got);
        for (const k of ['perRequest', 'weightedCalls', 'weightedRequests'] as const) assert.ok(Math.abs(got[k] - r.want[k]) < 1e-9, `${k}: ${got[k]} against ${r.want[k]}`);
        assert.equal(got.windows, r.want.windows);
        assert.equal(got.callerRequests, r.want.callerRequests);
      }
    });
  }

  // Two calls per caller request, made as the request arrives; a window counts a request when it finishes,
  // so the calls of requests still in flight at a window's end are in that window and their requests in the
  // next. Each window's own ratio swings with what is in flight (1.43 to 3.33 here) and their mean is biased
  // high (2.32: a ratio's mean is above the ratio of the means); summed, neighbouring windows cancel.
  it('the calls of requests still in flight at a window edge cancel between windows, without bias', () => {
    const arrivals = [100, 100, 100, 100, 100, 100, 100, 100];
    const inFlightAtEnd = [40, 0, 30, 5, 40, 0, 35, 20];
    let learned: LearnedRatio | undefined;
    let before = 0;
    const own: number[] = [];
    const got: number[] = [];
    arrivals.forEach((a, i) => {
      const finished = a + before - (inFlightAtEnd[i] ?? 0);
      before = inFlightAtEnd[i] ?? 0;
      own.push((2 * a) / finished);
      learned = learnWindow(learned, 2 * a, finished);
      got.push(learned?.perRequest ?? Number.NaN);
    });
    const mean = (xs: number[]): number => xs.reduce((x, y) => x + y, 0) / xs.length;
    assert.ok(mean(own) > 2.3, `the windows' own ratios average ${mean(own)}`);
    const settled = got.slice(1);
    assert.ok(settled.every((x) => Math.abs(x - 2) < 0.15 * 2), `learned ${settled.join(', ')}`);
    assert.ok(Math.abs(mean(settled) - 2) < 0.03 * 2, `learned on average ${mean(settled)}`);
  });
});

describe('usedRatio', () => {
  const trusted: LearnedRatio = { perRequest: 2, windows: 5, callerRequests: 1000, weightedCalls: 600, weightedRequests: 300 };
  const young: LearnedRatio = { perRequest: 2, windows: 2, callerRequests: 1000, weightedCalls: 1600, weightedRequests: 800 };
  const rows: { note: string; edge: { perRequest?: number; ratio?: number }; learned?: LearnedRatio; want: { perRequest?: number; ratio?: number; source: string } }[] = [
    { note: 'declared and learned agree: declared', edge: { perRequest: 1.9 }, learned: trusted, want: { perRequest: 1.9, source: 'declared' } },
    { note: 'they disagree by more than 25 %: learned', edge: { perRequest: 1 }, learned: trusted, want: { perRequest: 2, source: 'learned' } },
    { note: 'learned too young: declared', edge: { perRequest: 1 }, learned: young, want: { perRequest: 1, source: 'declared' } },
    { note: 'nothing declared: learned', edge: {}, learned: trusted, want: { perRequest: 2, source: 'learned' } },
    { note: 'nothing declared or learned: one call per request', edge: {}, want: { perRequest: 1, source: 'default' } },
    { note: 'an instance ratio stays as declared', edge: { ratio: 0.5 }, learned: trusted, want: { ratio: 0.5, source: 'declared' } },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const got = usedRatio({ from: 'a', to: 'b', ...r.edge }, r.learned);
      assert.equal(got.source, r.want.source);
      assert.equal(got.perRequest, r.want.perRequest);
      assert.equal(got.ratio, r.want.ratio);
    });
  }
});

describe('dependencyFloor', () => {
  const per = (perRequest: number) => ({ perRequest, ratio: undefined, source: 'declared' as const });
  const rows: { note: string; callers: { expectedRps: number; target: number; used: { perRequest: number | undefined; ratio: number | undefined; source: 'declared' } }[]; holdRps?: number; want: { floor: number; rps: number } }[] = [
    { note: 'expected demand times calls per request, at the dependency capacity with headroom', callers: [{ expectedRps: 100, target: 4, used: per(2) }], want: { floor: 5, rps: 200 } },
    { note: "its reactive rule holds an instance lower (25 req/s): at that rate", callers: [{ expectedRps: 100, target: 4, used: per(2) }], holdRps: 25, want: { floor: 8, rps: 200 } },
    { note: 'a hold above its capacity with headroom changes nothing', callers: [{ expectedRps: 100, target: 4, used: per(2) }], holdRps: 60, want: { floor: 5, rps: 200 } },
    { note: 'two callers add up', callers: [{ expectedRps: 100, target: 4, used: per(1) }, { expectedRps: 50, target: 2, used: per(2) }], want: { floor: 5, rps: 200 } },
    { note: 'an instance ratio of the caller target', callers: [{ expectedRps: 10, target: 7, used: { perRequest: undefined, ratio: 0.5, source: 'declared' } }], want: { floor: 4, rps: 0 } },
    { note: 'no demand: no floor', callers: [{ expectedRps: 0, target: 1, used: per(1) }], want: { floor: 0, rps: 0 } },
    { note: 'missing data (NaN) adds nothing', callers: [{ expectedRps: Number.NaN, target: 3, used: per(1) }], want: { floor: 0, rps: 0 } },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const got = dependencyFloor(r.callers.map((c, i) => ({ service: `c${i}`, ...c })), { perInstanceRps: 50, headroom: 0.25, ...(r.holdRps !== undefined ? { holdRps: r.holdRps } : {}) });
      assert.equal(got.floor, r.want.floor);
      assert.equal(got.rps, r.want.rps);
      assert.equal(got.numbers.floor, r.want.floor);
    });
  }
});

describe('dependencyCycle', () => {
  const rows: { note: string; edges: [string, string][]; want: string[] | undefined }[] = [
    { note: 'a chain', edges: [['a', 'b'], ['b', 'c']], want: undefined },
    { note: 'a diamond', edges: [['a', 'b'], ['a', 'c'], ['b', 'd'], ['c', 'd']], want: undefined },
    { note: 'a cycle of two', edges: [['a', 'b'], ['b', 'a']], want: ['a', 'b', 'a'] },
    { note: 'a cycle after a chain', edges: [['x', 'a'], ['a', 'b'], ['b', 'c'], ['c', 'a']], want: ['a', 'b', 'c', 'a'] },
  ];
  for (const r of rows) it(r.note, () => assert.deepEqual(dependencyCycle(r.edges.map(([from, to]) => ({ from, to }))), r.want));
});
