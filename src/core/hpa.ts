// The Kubernetes HPA rule as free functions over plain numbers, following
// pkg/controller/podautoscaler (replica_calculator.go for the count, horizontal.go for behaviors).
// Design: docs/design/strategies.md#reactive

export interface HpaScalingPolicy {
  readonly type: 'Pods' | 'Percent';
  readonly value: number;
  readonly periodSeconds: number;
}

export interface HpaScalingRules {
  readonly stabilizationWindowSeconds: number;
  readonly selectPolicy: 'Max' | 'Min' | 'Disabled';
  readonly policies: readonly HpaScalingPolicy[];
}

/** Defaults of autoscaling/v2 HorizontalPodAutoscalerBehavior (API reference). */
export const DEFAULT_SCALE_UP: HpaScalingRules = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodSeconds: 60 },
    { type: 'Percent', value: 100, periodSeconds: 60 },
  ],
};
export const DEFAULT_SCALE_DOWN: HpaScalingRules = {
  stabilizationWindowSeconds: 300,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
};

export interface ReplicaCountInput {
  /** Replicas the scale target currently asks for (ready + not ready). */
  readonly currentReplicas: number;
  readonly readyReplicas: number;
  /** Mean utilization of the ready replicas (e.g. 0.72). */
  readonly utilization: number;
  readonly targetUtilization: number;
  readonly tolerance: number;
}

export interface ReplicaCount {
  readonly replicas: number;
  readonly usageRatio: number;
  readonly withinTolerance: boolean;
}

/**
 * replica_calculator's count for a utilization metric:
 * 1. usageRatio = utilization / target over the ready replicas.
 * 2. No not-ready replicas (or scaling down): within tolerance -> current, else ceil(ratio x ready).
 * 3. Scaling up with not-ready replicas: count them at 0 % utilization and recompute the ratio over
 *    all replicas; if that falls within tolerance or flips direction, keep current.
 */
export function hpaReplicaCount(input: ReplicaCountInput): ReplicaCount {
  const { currentReplicas, readyReplicas, tolerance } = input;
  // Kubernetes works in whole percent (utilization is truncated, the target is an integer).
  const utilization = Math.trunc(input.utilization * 100 + 1e-9);
  const targetUtilization = Math.round(input.targetUtilization * 100);
  const usageRatio = utilization / targetUtilization;
  const unready = Math.max(0, currentReplicas - readyReplicas);
  const rebalanceUnready = unready > 0 && usageRatio > 1;
  if (!rebalanceUnready) {
    if (Math.abs(1 - usageRatio) <= tolerance) return { replicas: currentReplicas, usageRatio, withinTolerance: true };
    return { replicas: Math.ceil(usageRatio * readyReplicas), usageRatio, withinTolerance: false };
  }
  const total = readyReplicas + unready;
  const newRatio = (utilization * readyReplicas) / (targetUtilization * total);
  if (Math.abs(1 - newRatio) <= tolerance || newRatio < 1) {
    return { replicas: currentReplicas, usageRatio: newRatio, withinTolerance: true };
  }
  const replicas = Math.ceil(newRatio * total);
  return { replicas: Math.max(replicas, currentReplicas), usageRatio: newRatio, withinTolerance: false };
}

export interface ScaleEvent {
  readonly at: number;
  readonly change: number;
}

/** Sum of changes within the last `periodSeconds` (exclusive of older events). */
export function changeInPeriod(events: readonly ScaleEvent[], now: number, periodSeconds: number): number {
  let sum = 0;
  for (const e of events) if (e.at > now - periodSeconds) sum += e.change;
  return sum;
}

/** horizontal.go calculateScaleUpLimitWithScalingRules. */
export function scaleUpLimit(current: number, up: readonly ScaleEvent[], down: readonly ScaleEvent[], rules: HpaScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  let result = rules.selectPolicy === 'Max' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  for (const p of rules.policies) {
    const start = current - changeInPeriod(up, now, p.periodSeconds) + changeInPeriod(down, now, p.periodSeconds);
    const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = rules.selectPolicy === 'Max' ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

/** horizontal.go calculateScaleDownLimitWithBehaviors. */
export function scaleDownLimit(current: number, up: readonly ScaleEvent[], down: readonly ScaleEvent[], rules: HpaScalingRules, now: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  let result = rules.selectPolicy === 'Max' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  for (const p of rules.policies) {
    const start = current - changeInPeriod(up, now, p.periodSeconds) + changeInPeriod(down, now, p.periodSeconds);
    const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = rules.selectPolicy === 'Max' ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

export interface Recommendation {
  readonly at: number;
  readonly replicas: number;
}

/**
 * horizontal.go stabilizeRecommendationWithBehaviors: the lowest recommendation within the
 * scale-up window bounds an increase, the highest within the scale-down window bounds a decrease.
 * `recommendations` must include the current one.
 */
export function stabilize(current: number, desired: number, recommendations: readonly Recommendation[], now: number, upWindow: number, downWindow: number): number {
  let up = desired;
  let down = desired;
  for (const r of recommendations) {
    if (r.at > now - upWindow) up = Math.min(up, r.replicas);
    if (r.at > now - downWindow) down = Math.max(down, r.replicas);
  }
  let result = current;
  if (result < up) result = up;
  if (result > down) result = down;
  return result;
}
