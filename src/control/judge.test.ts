import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DELTA } from '../core/delta.js';
import type { IntervalPool } from '../gateway/metrics.js';
import { judgeGroups, mergeIntervals, type GroupWindow } from './judge.js';

/** One interval of `requests` requests whose latencies spread evenly over mean ± 40 %, `errors` of them failed. */
function pool(requests: number, meanMs: number, errors = 0): IntervalPool {
  const buckets: [number, number][] = [];
  const steps = 9;
  for (let k = 0; k < steps && requests > 0; k++) {
    const count = Math.floor(requests / steps) + (k < requests % steps ? 1 : 0);
    if (count > 0) buckets.push([meanMs * (0.6 + (0.8 * k) / (steps - 1)), count]);
  }
  return { requests, mutations: 0, errors, bytesIn: 0, bytesOut: 0, latencyMs: { p50: meanMs, p90: meanMs * 1.3, p99: meanMs * 1.4, p999: meanMs * 1.4, max: meanMs * 1.4 }, buckets };
}

/** A step of one tick: one old and one new instance. */
const step = (old: IntervalPool, neu: IntervalPool): GroupWindow => ({ oldWindow: [old], newWindow: [neu], oldReady: [1], newReady: [1] });

describe('judgeGroups: new instances against old over a switchover step', () => {
  // standard: 4 slots, 50 ms; large: 16 slots, 25 ms (the loop tests' types). Loads are per instance over 10 s.
  const base = { slots: 4, serviceTime: 0.05, delta: DEFAULT_DELTA, expectedNewShare: () => 0.5 };
  const large = { newModel: { slots: 16, serviceTime: 0.025 } };
  const rows: { name: string; w: GroupWindow; lastChance?: boolean; extra?: object; verdict: string; metric?: string }[] = [
    { name: 'no traffic at all, steps left: not judged yet', w: step(pool(0, 50), pool(0, 50)), verdict: 'insufficient_data' },
    { name: 'no traffic at all, last chance: a quiet service, nothing against the new group', w: step(pool(0, 50), pool(0, 50)), lastChance: true, verdict: 'pass' },
    { name: 'a few requests in all, last chance: too few to call routing around', w: step(pool(20, 50), pool(0, 50)), lastChance: true, verdict: 'pass' },
    { name: 'the balancer routes around the new group (1 % of its expected share), last chance', w: step(pool(400, 50), pool(4, 50)), lastChance: true, verdict: 'degraded' },
    { name: 'same load, same latency', w: step(pool(200, 52), pool(200, 52)), verdict: 'pass' },
    { name: 'same load, the new group twice as slow', w: step(pool(200, 52), pool(200, 104)), verdict: 'degraded', metric: 'latency' },
    { name: 'same load, 10 % errors on the new group', w: step(pool(400, 52), pool(400, 52, 40)), verdict: 'degraded', metric: 'errors' },
    { name: 'another type at its own model (large: 25 ms) against standard at its model', w: step(pool(200, 52), pool(200, 26)), extra: large, verdict: 'pass' },
    { name: 'another type as slow as the old one: twice its model, judged by its own model', w: step(pool(200, 52), pool(200, 52)), extra: large, verdict: 'degraded', metric: 'latency' },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const got = judgeGroups(r.w, 10, { ...base, ...(r.extra ?? {}), lastChance: r.lastChance ?? false });
      assert.equal(got.verdict, r.verdict, JSON.stringify(got.numbers));
      assert.equal(got.metric, r.metric);
    });
  }

  it('names its numbers after the groups (new, old), never live and shadow', () => {
    const got = judgeGroups(step(pool(200, 52), pool(200, 104)), 10, { ...base, lastChance: false });
    assert.ok(Object.keys(got.numbers).length > 0);
    for (const k of Object.keys(got.numbers)) assert.doesNotMatch(k, /^(live|shadow)/);
    assert.ok((got.numbers.newMedianMs ?? 0) > (got.numbers.oldMedianMs ?? 0));
  });

  it('mergeIntervals adds requests and errors and merges the histograms', () => {
    const m = mergeIntervals([pool(9, 10, 1), pool(9, 10, 2)]);
    assert.equal(m.requests, 18);
    assert.equal(m.errors, 3);
    assert.equal(m.latencyMs.reduce((a, [, c]) => a + c, 0), 18);
    assert.equal(m.latencyMs.length, 9, 'equal values share a bucket');
  });
});
