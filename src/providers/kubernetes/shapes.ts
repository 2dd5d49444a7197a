// The shapes the Kubernetes provider gives its objects, pure (no API calls, no clock reads): which
// Deployment an instance's group is, what that Deployment looks like when shadowscale creates it from the
// live pod template, which pods belong to a group, and what state a pod is in (docs/design/kubernetes.md).
//
// A group is (service, pool, instance type, labels: version, trial, arm …). The live group of the live type
// and base version is the user's own Deployment; every other group is a Deployment shadowscale creates,
// owned by the live one (garbage-collected with it), whose pods carry `shadowscale.dev/*` labels. A shadow
// group's pods lose the live selector's labels, so the live Service never selects them; a live group of
// another type or version keeps them (its pods serve live traffic) and is told apart by its group label.
import type { V1Deployment, V1Pod, V1Toleration } from '@kubernetes/client-node';
import { urlHost } from '../../core/address.js';
import type { InstanceState, PoolKind } from '../provider.js';

export const LABEL = {
  service: 'shadowscale.dev/service',
  pool: 'shadowscale.dev/pool',
  type: 'shadowscale.dev/type',
  group: 'shadowscale.dev/group',
  /** What a group's pods are for: live, shadow (the mirror's target), trial, arm (an A/B arm). */
  role: 'shadowscale.dev/role',
  /** A pod taken out of its Deployment (and its Service) on its way out; deleted by whoever sees it. */
  released: 'shadowscale.dev/released',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

export const ANNOTATION = {
  /** The instance id a pod was claimed for (create's idempotency key). */
  instance: 'shadowscale.dev/instance',
  /** The instance's labels (version, trial, arm …) as JSON: label values could not hold them all. */
  labels: 'shadowscale.dev/labels',
  /** The group's key, on a Deployment shadowscale created. */
  group: 'shadowscale.dev/group-key',
  /** The ReplicaSet's tie-break among pods equally far along: the lowest cost goes first on a scale-in. */
  deletionCost: 'controller.kubernetes.io/pod-deletion-cost',
} as const;

/** What an instance type is on Kubernetes: container resources and where its pods may run. */
export interface TypeShape {
  readonly requests?: Readonly<Record<string, string>>;
  readonly limits?: Readonly<Record<string, string>>;
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly tolerations?: readonly V1Toleration[];
}

/** A version of the service: the image (and environment) its container runs instead of the live template's. */
export interface VersionShape {
  readonly image?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export interface Group {
  readonly service: string;
  readonly pool: PoolKind;
  readonly instanceType: string;
  /** The instance's labels (the `version` label among them), as the Provider spec gives them. */
  readonly labels: Readonly<Record<string, string>>;
}

/** What a group's pods are for: a trial's and an arm's are shadow-pool pods the mirror must not reach. */
export function groupRole(g: Group): 'live' | 'shadow' | 'trial' | 'arm' {
  if (g.labels.trial !== undefined) return 'trial';
  if (g.labels.ab !== undefined) return 'arm';
  return g.pool;
}

/** A stable key of a group: its fields with the labels sorted. */
export function groupKey(g: Group): string {
  const labels = Object.keys(g.labels)
    .sort()
    .map((k) => [k, g.labels[k]]);
  return JSON.stringify([g.service, g.pool, g.instanceType, labels]);
}

/** FNV-1a (32 bits) in 8 hex digits: short, stable names for groups. */
export function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Whether a group is the user's own Deployment: the live pool, of the live type, on the base version, no role. */
export function isLiveBase(g: Group, liveType: string): boolean {
  return g.pool === 'live' && g.instanceType === liveType && Object.keys(g.labels).length === 0;
}

/** The name of the Deployment shadowscale creates for a group (within the 63 characters a label value may take). */
export function groupDeploymentName(liveDeployment: string, g: Group): string {
  return `${liveDeployment.slice(0, 36)}-ss-${g.pool}-${shortHash(groupKey(g))}`;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** Whether `v` may be a label value (≤ 63 characters, alphanumeric at both ends). */
export const labelValueOk = (v: string): boolean => v.length <= 63 && LABEL_VALUE.test(v);

const withoutKeys = (o: Readonly<Record<string, string>> | undefined, keys: readonly string[]): Record<string, string> => Object.fromEntries(Object.entries(o ?? {}).filter(([k]) => !keys.includes(k)));

/**
 * The Deployment of a group, made from the live Deployment's pod template: replicas 0 (the provider scales
 * it), selected by its group label only, resources and scheduling of the instance type, the version's image.
 */
export function groupDeployment(live: V1Deployment, g: Group, o: { readonly name: string; readonly shape: TypeShape; readonly version?: VersionShape; readonly container?: string }): V1Deployment {
  const liveName = live.metadata?.name ?? '';
  const selector = live.spec?.selector.matchLabels ?? {};
  const key = groupKey(g);
  const hash = shortHash(key);
  const ours = { [LABEL.service]: g.service, [LABEL.pool]: g.pool, [LABEL.role]: groupRole(g), [LABEL.type]: g.instanceType, [LABEL.group]: hash, [LABEL.managedBy]: 'shadowscale' };
  const template = live.spec?.template ?? {};
  // A shadow's pods must never be selected by the live Service: the live selector's labels go.
  const podLabels: Record<string, string> = { ...(g.pool === 'shadow' ? withoutKeys(template.metadata?.labels, Object.keys(selector)) : { ...template.metadata?.labels }), ...ours };
  delete podLabels['pod-template-hash'];
  const podSpec = template.spec ?? { containers: [] };
  const target = o.container ?? podSpec.containers[0]?.name;
  const containers = podSpec.containers.map((c) => {
    if (c.name !== target) return c;
    const env = o.version?.env ? [...(c.env ?? []).filter((e) => !(e.name in (o.version?.env ?? {}))), ...Object.entries(o.version.env).map(([name, value]) => ({ name, value }))] : c.env;
    return { ...c, ...(o.version?.image ? { image: o.version.image } : {}), ...(env ? { env } : {}), resources: { ...(o.shape.requests ? { requests: { ...o.shape.requests } } : {}), ...(o.shape.limits ? { limits: { ...o.shape.limits } } : {}) } };
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: o.name,
      namespace: live.metadata?.namespace,
      labels: ours,
      annotations: { [ANNOTATION.group]: key, [ANNOTATION.labels]: JSON.stringify(g.labels) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: liveName, uid: live.metadata?.uid ?? '', controller: false, blockOwnerDeletion: false }],
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { [LABEL.group]: hash } },
      template: {
        metadata: { labels: podLabels, annotations: { ...template.metadata?.annotations, [ANNOTATION.labels]: JSON.stringify(g.labels) } },
        spec: {
          ...podSpec,
          containers,
          ...(o.shape.nodeSelector ? { nodeSelector: { ...podSpec.nodeSelector, ...o.shape.nodeSelector } } : {}),
          ...(o.shape.tolerations ? { tolerations: [...(podSpec.tolerations ?? []), ...o.shape.tolerations] } : {}),
        },
      },
    },
  };
}

/**
 * The Deployment whose ReplicaSet controls a pod that is none of ours and not released: its ReplicaSet's
 * name is the Deployment's and the pod's template hash.
 */
/**
 * The URL an instance is reached at: its pod's IP and the service's port, or '' before it has an IP. An
 * IPv6 pod (a dual-stack or IPv6 cluster) needs brackets: http://fd00::5:8080 is no URL.
 */
export function podUrl(pod: V1Pod, port: number): string {
  const ip = pod.status?.podIP;
  if (!ip) return '';
  return `http://${urlHost(ip)}:${port}`;
}

export function deploymentOfPod(pod: V1Pod): string | undefined {
  const labels = pod.metadata?.labels ?? {};
  if (labels[LABEL.group] !== undefined || labels[LABEL.released] !== undefined) return undefined;
  const hash = labels['pod-template-hash'];
  const rs = pod.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'ReplicaSet');
  return hash !== undefined && rs !== undefined && rs.name.endsWith(`-${hash}`) ? rs.name.slice(0, -hash.length - 1) : undefined;
}

/**
 * The merge patch that takes a pod out of its Deployment and out of the live Service: the live selector's
 * labels and the group label removed, the released mark added, conditional on the pod's resourceVersion.
 */
export function releasePatch(pod: V1Pod, liveSelector: Readonly<Record<string, string>>): { metadata: { resourceVersion?: string; labels: Record<string, string | null> } } {
  const labels = pod.metadata?.labels ?? {};
  const remove = [...Object.keys(liveSelector), LABEL.group, 'pod-template-hash'].filter((k) => labels[k] !== undefined);
  return { metadata: { resourceVersion: pod.metadata?.resourceVersion, labels: { ...Object.fromEntries(remove.map((k) => [k, null])), [LABEL.released]: 'true' } } };
}

/** Container waiting reasons that mean the instance will not come up by waiting. */
export const FAILING_REASONS = new Set(['CrashLoopBackOff', 'ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

export interface PodStateOptions {
  readonly now: number;
  /** A pod not ready this long after it was created has failed to start. */
  readonly readyTimeoutMs: number;
  /** Container restarts from which a pod is reported failed (a crash loop the kubelet has not yet backed off). */
  readonly crashRestarts: number;
}

/** The state of an instance from its pod's status (the Provider contract's four states). */
export function podState(pod: V1Pod, o: PodStateOptions): { state: InstanceState; failure?: string; readyAt?: number } {
  if (pod.metadata?.deletionTimestamp || pod.metadata?.labels?.[LABEL.released] !== undefined) return { state: 'draining' };
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return { state: 'failed', failure: `pod ${phase === 'Failed' ? 'failed' : 'exited'}${pod.status?.reason ? `: ${pod.status.reason}` : ''}` };
  for (const c of pod.status?.containerStatuses ?? []) {
    const waiting = c.state?.waiting?.reason;
    if (waiting && FAILING_REASONS.has(waiting)) return { state: 'failed', failure: `container ${c.name}: ${waiting} (${c.restartCount} restarts)` };
    if (c.restartCount >= o.crashRestarts) return { state: 'failed', failure: `container ${c.name} restarted ${c.restartCount} times` };
  }
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') {
    const at = ready.lastTransitionTime ? new Date(ready.lastTransitionTime as unknown as string).getTime() : o.now;
    return { state: 'ready', readyAt: Number.isFinite(at) ? at : o.now };
  }
  const created = pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp as unknown as string).getTime() : o.now;
  if (o.now - created > o.readyTimeoutMs) return { state: 'failed', failure: `not ready ${Math.round((o.now - created) / 1000)} s after it was created (limit ${o.readyTimeoutMs / 1000} s)` };
  return { state: 'starting' };
}
