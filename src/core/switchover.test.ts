import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkShiftSettings, DEFAULT_SHIFT, shiftWeights, startShift, stepShift, type ShiftCheck, type ShiftSettings, type ShiftState } from './switchover.js';

const S: ShiftSettings = { stepWeight: 25, maxWeight: 100, intervalSeconds: 10, threshold: 2, maxInconclusive: 3 };

/** Run a sequence of (time, check) through a switchover started at 0; the weights and actions seen. */
function run(steps: [number, ShiftCheck | undefined][], s = S): { weights: number[]; actions: string[]; state: ShiftState } {
  let { state, action } = startShift(0, s);
  const weights = [state.weight];
  const actions = [action.kind];
  for (const [t, check] of steps) {
    ({ state, action } = stepShift(state, t, check, s));
    weights.push(state.weight);
    actions.push(action.kind);
  }
  return { weights, actions, state };
}

describe('switchover: steps, checks, rollback', () => {
  const cases: { name: string; steps: [number, ShiftCheck | undefined][]; weights: number[]; actions: string[]; phase: string; reason: string }[] = [
    { name: 'every check passes: four steps, then promoted', steps: [[10, 'pass'], [20, 'pass'], [30, 'pass'], [40, 'pass']], weights: [25, 50, 75, 100, 100], actions: ['set_weight', 'set_weight', 'set_weight', 'set_weight', 'promote'], phase: 'completed', reason: 'promoted' },
    { name: 'before the interval ends nothing moves', steps: [[5, 'pass'], [9.9, 'degraded']], weights: [25, 25, 25], actions: ['set_weight', 'hold', 'hold'], phase: 'shifting', reason: 'waiting' },
    { name: 'no check yet at the interval: wait', steps: [[12, undefined]], weights: [25, 25], actions: ['set_weight', 'hold'], phase: 'shifting', reason: 'waiting' },
    { name: 'one failed check holds the weight another interval, a pass moves on', steps: [[10, 'degraded'], [20, 'pass']], weights: [25, 25, 50], actions: ['set_weight', 'hold', 'set_weight'], phase: 'shifting', reason: 'step_passed' },
    { name: 'threshold failed checks in a row roll back', steps: [[10, 'pass'], [20, 'degraded'], [30, 'degraded']], weights: [25, 50, 50, 0], actions: ['set_weight', 'set_weight', 'hold', 'rollback'], phase: 'rolled_back', reason: 'rolled_back_on_checks' },
    { name: 'failures not in a row do not add up', steps: [[10, 'degraded'], [20, 'pass'], [30, 'degraded'], [40, 'pass']], weights: [25, 25, 50, 50, 75], actions: ['set_weight', 'hold', 'set_weight', 'hold', 'set_weight'], phase: 'shifting', reason: 'step_passed' },
    { name: 'an unhealthy new instance rolls back at once, mid-interval', steps: [[3, 'unhealthy']], weights: [25, 0], actions: ['set_weight', 'rollback'], phase: 'rolled_back', reason: 'rolled_back_unhealthy' },
    { name: 'too little traffic: inconclusive steps hold, and maxInconclusive of them count as a failed check', steps: [[10, 'insufficient_data'], [20, 'insufficient_data'], [30, 'incomparable_load'], [40, 'insufficient_data'], [50, 'insufficient_data'], [60, 'insufficient_data']], weights: [25, 25, 25, 25, 25, 25, 0], actions: ['set_weight', 'hold', 'hold', 'hold', 'hold', 'hold', 'rollback'], phase: 'rolled_back', reason: 'rolled_back_on_checks' },
    { name: 'a pass resets the inconclusive count', steps: [[10, 'insufficient_data'], [20, 'insufficient_data'], [30, 'pass'], [40, 'insufficient_data'], [50, 'insufficient_data']], weights: [25, 25, 25, 50, 50, 50], actions: ['set_weight', 'hold', 'hold', 'set_weight', 'hold', 'hold'], phase: 'shifting', reason: 'inconclusive' },
    { name: 'a finished switchover stays finished', steps: [[3, 'unhealthy'], [20, 'pass']], weights: [25, 0, 0], actions: ['set_weight', 'rollback', 'hold'], phase: 'rolled_back', reason: 'rolled_back_unhealthy' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = run(c.steps);
      assert.deepEqual(r.weights, c.weights);
      assert.deepEqual(r.actions, c.actions);
      assert.equal(r.state.phase, c.phase);
      assert.equal(r.state.reason, c.reason);
    });
  }

  it('maxWeight below 100 promotes from there; a step never passes it', () => {
    const r = run([[10, 'pass'], [20, 'pass'], [30, 'pass']], { ...S, stepWeight: 30, maxWeight: 50 });
    assert.deepEqual(r.weights, [30, 50, 100, 100]);
    assert.deepEqual(r.actions, ['set_weight', 'set_weight', 'promote', 'hold']);
  });

  it('rollback comes one interval after the first failed check with threshold 2 (the rollback target: interval + 1 s)', () => {
    let { state } = startShift(100, S);
    ({ state } = stepShift(state, 110, 'degraded', S));
    const firstFailed = 110;
    const r = stepShift(state, 120, 'degraded', S);
    assert.equal(r.action.kind, 'rollback');
    assert.ok(120 - firstFailed <= S.intervalSeconds + 1);
  });

  it('settings are checked, naming the field', () => {
    assert.equal(checkShiftSettings(DEFAULT_SHIFT), undefined);
    const bad: [Partial<ShiftSettings>, RegExp][] = [
      [{ stepWeight: 0 }, /^stepWeight: expected a percent in \(0, 100\], got 0$/],
      [{ maxWeight: 10 }, /^maxWeight: expected a percent from stepWeight \(25\) to 100, got 10$/],
      [{ intervalSeconds: -1 }, /^intervalSeconds/],
      [{ threshold: 1.5 }, /^threshold: expected an integer >= 1/],
      [{ maxInconclusive: 0 }, /^maxInconclusive/],
    ];
    for (const [change, message] of bad) assert.match(checkShiftSettings({ ...DEFAULT_SHIFT, ...change }) ?? '', message);
  });
});

describe('switchover: balancer weights', () => {
  const cases: [string, 'add' | 'replace', number, number, number, { old: number; new: number }][] = [
    ['scale-out at 25 %: the new at a quarter of a full weight', 'add', 4, 2, 25, { old: 1, new: 0.25 }],
    ['scale-out promoted: everyone equal', 'add', 4, 2, 100, { old: 1, new: 1 }],
    ['replace 2 by 2 at 25 %: the new group gets a quarter of the traffic', 'replace', 2, 2, 25, { old: 1, new: 1 / 3 }],
    ['replace 2 by 1 at 50 %: half the traffic to the one new instance', 'replace', 2, 1, 50, { old: 1, new: 2 }],
    ['replace at 100 %: the old get nothing', 'replace', 3, 2, 100, { old: 0, new: 1 }],
    ['rolled back (0 %): the new get nothing', 'replace', 3, 2, 0, { old: 1, new: 0 }],
  ];
  for (const [name, mode, o, n, w, want] of cases) {
    it(name, () => {
      const got = shiftWeights(mode, o, n, w);
      assert.ok(Math.abs(got.old - want.old) < 1e-12 && Math.abs(got.new - want.new) < 1e-12, JSON.stringify(got));
      if (mode === 'replace' && w > 0 && w < 100) {
        const share = (n * got.new) / (n * got.new + o * got.old);
        assert.ok(Math.abs(share - w / 100) < 1e-12, `new share ${share}`);
      }
    });
  }
});
