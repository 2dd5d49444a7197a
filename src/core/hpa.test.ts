// Unit tests: the Kubernetes HPA rule (replica_calculator.go and horizontal.go behaviors), as tables.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, hpaReplicaCount, scaleDownLimit, scaleUpLimit, stabilize } from './hpa.js';

describe('hpaReplicaCount', () => {
  const rows: [current: number, ready: number, util: number, want: number, note: string][] = [
    [4, 4, 0.6, 4, 'at target'],
    [4, 4, 0.64, 4, 'ratio 1.067: inside the tolerance, no change'],
    [4, 4, 0.555, 4, 'ratio 0.917 (55 %, truncated to whole percent): inside the tolerance'],
    [4, 4, 0.67, 5, 'just past tolerance: ceil(4 x 1.117) = 5'],
    [4, 4, 0.9, 6, 'ceil(4 x 1.5) = 6'],
    [4, 4, 0.3, 2, 'ceil(4 x 0.5) = 2'],
    [4, 4, 0, 0, 'idle: 0 before min/max clamping'],
    [10, 10, 1.0, 17, 'saturated: ceil(10 x 1.667) = 17'],
    [6, 4, 0.9, 6, 'scale-up with 2 not-ready at 0 %: ratio 4x0.9/(6x0.6)=1.0, within tolerance, keep 6'],
    [5, 4, 0.9, 6, 'scale-up with 1 not-ready at 0 %: ratio 3.6/3 = 1.2, ceil(1.2 x 5) = 6'],
    [8, 4, 0.9, 8, 'scale-up with not-ready flipping the direction: keep current'],
    [6, 4, 0.3, 2, 'scale-down ignores not-ready: ceil(0.5 x 4) = 2'],
  ];
  for (const [current, ready, util, want, note] of rows) {
    it(note, () => assert.equal(hpaReplicaCount({ currentReplicas: current, readyReplicas: ready, utilization: util, targetUtilization: 0.6, tolerance: 0.1 }).replicas, want));
  }
  it('a ratio exactly at the tolerance edge is no change (|1 - 75/50| = 0.5 <= 0.5)', () => {
    assert.equal(hpaReplicaCount({ currentReplicas: 4, readyReplicas: 4, utilization: 0.75, targetUtilization: 0.5, tolerance: 0.5 }).replicas, 4);
    assert.equal(hpaReplicaCount({ currentReplicas: 4, readyReplicas: 4, utilization: 0.76, targetUtilization: 0.5, tolerance: 0.5 }).replicas, 7);
  });
});

describe('behaviors', () => {
  it('default scale-up allows max(+4, x2) per 60 s', () => {
    assert.equal(scaleUpLimit(1, [], [], DEFAULT_SCALE_UP, 0), 5, '1 -> 5 (+4 beats x2)');
    assert.equal(scaleUpLimit(10, [], [], DEFAULT_SCALE_UP, 0), 20, '10 -> 20 (x2 beats +4)');
  });
  it('counts scale-ups inside the period against the limit', () => {
    // 10 -> 20 happened 30 s ago: the period started at 10, so the limit is still 20.
    assert.equal(scaleUpLimit(20, [{ at: 70, change: 10 }], [], DEFAULT_SCALE_UP, 100), 20);
    // ... and 61 s later the event has left the 60 s period: 40 allowed.
    assert.equal(scaleUpLimit(20, [{ at: 70, change: 10 }], [], DEFAULT_SCALE_UP, 131), 40);
  });
  it('default scale-down allows 100 % per 15 s', () => {
    assert.equal(scaleDownLimit(10, [], [], DEFAULT_SCALE_DOWN, 0), 0);
    assert.equal(scaleDownLimit(10, [], [{ at: 90, change: 5 }], { ...DEFAULT_SCALE_DOWN, policies: [{ type: 'Percent', value: 50, periodSeconds: 15 }] }, 100), 7, 'period start 15, 50 % -> 7 (trunc)');
    assert.equal(scaleDownLimit(10, [], [], { ...DEFAULT_SCALE_DOWN, policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }] }, 0), 8);
  });
  it('Disabled holds the current count', () => {
    assert.equal(scaleUpLimit(3, [], [], { ...DEFAULT_SCALE_UP, selectPolicy: 'Disabled' }, 0), 3);
    assert.equal(scaleDownLimit(3, [], [], { ...DEFAULT_SCALE_DOWN, selectPolicy: 'Disabled' }, 0), 3);
  });
  it('Min picks the most conservative policy', () => {
    assert.equal(scaleUpLimit(10, [], [], { ...DEFAULT_SCALE_UP, selectPolicy: 'Min' }, 0), 14);
  });
  const stab: [current: number, desired: number, recent: number[], want: number, note: string][] = [
    [8, 4, [8, 6, 5], 8, 'scale-down held at the highest recommendation of the 300 s window'],
    [8, 4, [5, 6, 4], 6, 'scale-down to the window maximum'],
    [4, 9, [5, 5], 9, 'scale-up is not stabilized by default (0 s window)'],
  ];
  for (const [current, desired, recent, want, note] of stab) {
    it(note, () => {
      const recs = [...recent.map((r, i) => ({ at: 1000 - 30 * (recent.length - i), replicas: r })), { at: 1000, replicas: desired }];
      assert.equal(stabilize(current, desired, recs, 1000, 0, 300), want);
    });
  }
  it('recommendations older than the window no longer hold a scale-down', () => {
    assert.equal(stabilize(8, 4, [{ at: 600, replicas: 8 }, { at: 1000, replicas: 4 }], 1000, 0, 300), 4);
  });
});
