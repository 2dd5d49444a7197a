import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeltaVerdict } from './delta.js';
import { capacityPlan, DEFAULT_ROLLOUT, judgeShadowWindow, NO_JUDGEMENT, type MeasuredCapacity } from './rollout.js';

describe('rollout: the new version judged on the shadow', () => {
  const cases: { name: string; windows: DeltaVerdict[]; outcomes: string[] }[] = [
    { name: 'three passes in a row move on', windows: ['pass', 'pass', 'pass'], outcomes: ['wait', 'wait', 'passed'] },
    { name: 'two degraded windows in a row stop it', windows: ['pass', 'degraded', 'degraded'], outcomes: ['wait', 'wait', 'failed'] },
    { name: 'a pass between two degraded windows resets them', windows: ['degraded', 'pass', 'degraded', 'pass', 'pass', 'pass'], outcomes: ['wait', 'wait', 'wait', 'wait', 'wait', 'passed'] },
    { name: 'a degraded window resets the passes', windows: ['pass', 'pass', 'degraded', 'pass', 'pass', 'pass'], outcomes: ['wait', 'wait', 'wait', 'wait', 'wait', 'passed'] },
    { name: 'six windows in a row without enough traffic: nothing is proven', windows: ['insufficient_data', 'insufficient_data', 'incomparable_load', 'insufficient_data', 'insufficient_data', 'insufficient_data'], outcomes: ['wait', 'wait', 'wait', 'wait', 'wait', 'no_traffic'] },
    { name: 'inconclusive windows keep the passes so far', windows: ['pass', 'pass', 'insufficient_data', 'pass'], outcomes: ['wait', 'wait', 'wait', 'passed'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      let j = NO_JUDGEMENT;
      const seen: string[] = [];
      for (const w of c.windows) {
        const r = judgeShadowWindow(j, w, w === 'degraded' ? 'latency' : undefined, DEFAULT_ROLLOUT);
        j = r.state;
        seen.push(r.outcome);
      }
      assert.deepEqual(seen, c.outcomes);
    });
  }
  it('a degraded window names what failed', () => {
    assert.equal(judgeShadowWindow(NO_JUDGEMENT, 'degraded', 'errors', DEFAULT_ROLLOUT).state.metric, 'errors');
  });
});

describe('rollout: capacity plan', () => {
  const base = { currentRps: 40, target: 4, minInstances: 1, maxInstances: 10 };
  const cases: { name: string; measured: MeasuredCapacity; target?: number; ok: boolean; count?: number; perInstanceRps?: number; why?: RegExp }[] = [
    { name: 'passes at the current rate: same count', measured: { verdict: 'pass', atLeast: 48 }, ok: true, count: 4, perInstanceRps: 40 },
    { name: 'faster: capacity never assumed to grow', measured: { verdict: 'pass', estimate: 80 }, ok: true, count: 4, perInstanceRps: 40 },
    { name: '10 % slower: one more instance', measured: { verdict: 'fail', estimate: 36 }, ok: true, count: 5, perInstanceRps: 36 },
    { name: 'exactly the accepted loss', measured: { verdict: 'fail', estimate: 30 }, ok: true, count: 6, perInstanceRps: 30 },
    { name: 'more than the accepted loss stops it', measured: { verdict: 'fail', estimate: 20 }, ok: false, why: /50 % below/ },
    { name: 'a count above pool.max stops it', measured: { verdict: 'fail', estimate: 32 }, target: 9, ok: false, why: /above pool.max/ },
    { name: 'nothing measured stops it', measured: { verdict: 'inconclusive' }, ok: false, why: /no rate/ },
    { name: 'pass with nothing above: the current rate', measured: { verdict: 'pass' }, ok: true, count: 4, perInstanceRps: 40 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = capacityPlan({ ...base, ...(c.target !== undefined ? { target: c.target } : {}), measured: c.measured }, DEFAULT_ROLLOUT);
      assert.equal(r.ok, c.ok);
      if (r.ok) {
        assert.equal(r.count, c.count);
        assert.equal(r.perInstanceRps, c.perInstanceRps);
      } else assert.match(r.why, c.why as RegExp);
    });
  }
});
