// Unit tests (table): learned call ratios, which ratio propagation uses, the floor callers put on a
// dependency, and dependency cycles.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dependencyCycle, dependencyFloor, learnWindow, usedRatio, type LearnedRatio } from './dependencies.js';

describe('learnWindow', () => {
  const rows: { note: string; prev?: LearnedRatio; calls: number; requests: number; want: LearnedRatio | undefined }[] = [
    { note: 'the first window is the ratio', calls: 40, requests: 20, want: { perRequest: 2, windows: 1, callerRequests: 20 } },
    { note: 'too few caller requests: nothing learned', calls: 5, requests: 10, want: undefined },
    { note: 'too few: the previous stands', prev: { perRequest: 1, windows: 4, callerRequests: 400 }, calls: 0, requests: 5, want: { perRequest: 1, windows: 4, callerRequests: 400 } },
    { note: 'later windows move it by alpha', prev: { perRequest: 1, windows: 1, callerRequests: 100 }, calls: 200, requests: 100, want: { perRequest: 1.3, windows: 2, callerRequests: 200 } },
    { note: 'NaN counts are ignored', calls: Number.NaN, requests: 100, want: undefined },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const got = learnWindow(r.prev, r.calls, r.requests);
      if (r.want === undefined) assert.equal(got, undefined);
      else {
        assert.ok(got);
        assert.ok(Math.abs(got.perRequest - r.want.perRequest) < 1e-9);
        assert.equal(got.windows, r.want.windows);
        assert.equal(got.callerRequests, r.want.callerRequests);
      }
    });
  }
});

describe('usedRatio', () => {
  const trusted: LearnedRatio = { perRequest: 2, windows: 5, callerRequests: 1000 };
  const young: LearnedRatio = { perRequest: 2, windows: 2, callerRequests: 1000 };
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
