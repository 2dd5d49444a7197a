// The Provider interface: where instances come from (local child processes, Kubernetes, a fake for
// tests). The control loop only speaks this interface. Contracts, per method:
//
// - create(spec): starts an instance carrying the spec's labels. Idempotent by `spec.id`: creating an id
//   that exists returns the existing instance (no second process or pod). Resolves once the instance is
//   registered (state "starting"); readiness is observed through `list`/`get` (state "ready").
// - list(filter): every instance this provider manages (adopted ones included), optionally filtered by
//   service and pool. Instances that died are reported with state "failed" until deleted.
// - get(id): one instance, or undefined.
// - delete(id): drains (stop routing via the `beforeStop` hook, let in-flight requests finish), stops
//   (SIGTERM, then SIGKILL after the grace period, or the platform's equivalent) and forgets the
//   instance. An unknown id rejects with ProviderError `not_found` ("already gone"): callers that only
//   want it gone may treat that as success.
// - resize(id, instanceType): vertical scaling by replacement: a new instance of the other type is
//   created and becomes ready, then the old one is deleted (drained). Resolves with the new instance.
//
// Every failure is a ProviderError with a stable code.

export type PoolKind = 'live' | 'shadow';

/** The label naming the version of the service an instance runs (absent: "base"). */
export const VERSION_LABEL = 'version';
/** The version of an instance that names none: the provider's command and the type's env as they are. */
export const BASE_VERSION = 'base';
export const versionOf = (i: { readonly labels: Readonly<Record<string, string>> }): string => i.labels[VERSION_LABEL] ?? BASE_VERSION;
/** Labels that put an instance on `version` (none for base, so unversioned instances stay as they were). */
export const versionLabels = (version: string): Record<string, string> => (version === BASE_VERSION ? {} : { [VERSION_LABEL]: version });

export type InstanceState = 'starting' | 'ready' | 'draining' | 'failed';

export interface InstanceSpec {
  /** Idempotency key and identity; the provider generates one when absent. */
  readonly id?: string;
  readonly service: string;
  readonly pool: PoolKind;
  readonly instanceType: string;
  /** Extra labels (kept with the instance and reported by list). */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface Instance {
  readonly id: string;
  readonly service: string;
  readonly pool: PoolKind;
  readonly instanceType: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Base URL once known (local: as soon as the port is assigned). */
  readonly url: string;
  readonly state: InstanceState;
  /** ms since the epoch. */
  readonly createdAt: number;
  readonly readyAt?: number;
  /** Why a failed instance failed (exit code, signal, health). */
  readonly failure?: string;
}

export interface ListFilter {
  readonly service?: string;
  readonly pool?: PoolKind;
}

/**
 * `forbidden`: the platform refused the call (Kubernetes RBAC); `conflict`: another writer kept changing the
 * object after the provider's retries; `unavailable`: the platform did not answer (network, 5xx, timeout).
 */
export type ProviderErrorCode = 'not_found' | 'unknown_instance_type' | 'start_failed' | 'not_ready' | 'capacity' | 'invalid' | 'forbidden' | 'conflict' | 'unavailable';

export class ProviderError extends Error {
  constructor(
    readonly code: ProviderErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

export const isProviderError = (e: unknown, code?: ProviderErrorCode): e is ProviderError => e instanceof ProviderError && (code === undefined || e.code === code);

export interface Provider {
  readonly name: string;
  create(spec: InstanceSpec): Promise<Instance>;
  list(filter?: ListFilter): Promise<Instance[]>;
  get(id: string): Promise<Instance | undefined>;
  delete(id: string): Promise<void>;
  resize(id: string, instanceType: string): Promise<Instance>;
  /**
   * Chaos (a trial losing an instance): stop it abruptly, with no drain (SIGKILL for a process), so that it
   * fails as a crash would; it is then reported `failed` and the caller deletes it. `not_found` if unknown.
   */
  kill(id: string): Promise<void>;
  /**
   * Report a scaling decision where the platform keeps such things (Kubernetes: an Event on the service's
   * Deployment, as the HPA reports a rescale). Optional; best effort.
   */
  announce?(service: string, e: { readonly reason: string; readonly message: string; readonly warning?: boolean }): Promise<void>;
  /** Stop watching (the instances keep running: a restarted control plane adopts them). */
  close(): Promise<void>;
}

/** A closed-set reason as an Event reason (UpperCamelCase, as Kubernetes' are): utilization_above_target -> UtilizationAboveTarget. */
export const eventReason = (reason: string): string => reason.replace(/(^|_)([a-z0-9])/g, (_m, _s: string, c: string) => c.toUpperCase());

export function matches(i: Instance, f: ListFilter | undefined): boolean {
  return (!f?.service || i.service === f.service) && (!f?.pool || i.pool === f.pool);
}
