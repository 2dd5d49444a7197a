// The Kubernetes provider (issue 15): instances are pods of Deployments, read from a watch cache and
// changed through the API the way the HPA and the ReplicaSet controller expect (docs/design/kubernetes.md).
//
// - Groups. An instance's (service, pool, type, labels) is a group, and a group is a Deployment: the live
//   group of the live type and base version is the user's own Deployment; every other one (shadow, trials,
//   arms, another type or version of live) is a Deployment made from the live pod template
//   (shapes.ts: groupDeployment), owned by the live one.
// - create(spec) asks its group for one more pod: it claims a pod of the group that no instance holds (the
//   claim is an annotation written conditionally on the pod's resourceVersion, so two claims never take the
//   same pod), and if there is none it raises the group's replicas through the `scale` subresource,
//   conditionally on the Scale's resourceVersion (a conflict is read again and retried, never overwritten).
//   Concurrent creates of a group are served by one pump: one scale write for all of them. Idempotent by id:
//   a pod claimed for the id is returned. A crash between the scale and the claim leaves a pod no one holds:
//   once a caller has seen it (listed under its own name), it stays that instance and is never claimed, so
//   no instance changes its id under a caller; pods of a group a create waits on are not listed until claimed.
// - delete(id) takes the pod out first (its Service and its ReplicaSet: the live selector's labels and the
//   group label removed, conditionally on its resourceVersion), lowers the group's replicas by one, then
//   deletes the pod with its grace period. The ReplicaSet never picks which pod goes: the one named goes.
//   A released pod a crash left behind is deleted at start.
// - Claimed pods that go without a delete (evicted, preempted, killed, scaled away by another writer) are
//   reported `failed` until deleted; the ReplicaSet's replacement is a pod no one holds, claimed by a create
//   waiting on the group or else listed under its own name.
// - Readiness, crash loops and start failures come from the pod's status (shapes.ts: podState). Every
//   error is a ProviderError: 404 not_found, 403 forbidden, 409 conflict (after the retries), 400/422
//   invalid, anything else unavailable.
import { ApiException, AppsV1Api, CoreV1Api, makeInformer, PatchStrategy, setHeaderOptions, type KubeConfig, type ListWatch, type V1Deployment, type V1Pod, type V1Scale } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { InstanceEvent } from '../local.js';
import { matches, ProviderError, type Instance, type InstanceSpec, type ListFilter, type PoolKind, type Provider } from '../provider.js';
import { pauseAfterConflict, retryConflict } from './conflict.js';
import { ANNOTATION, deploymentOfPod, groupDeployment, groupDeploymentName, isLiveBase, LABEL, labelValueOk, podState, podUrl, releasePatch, type Group, type TypeShape, type VersionShape } from './shapes.js';

export interface KubernetesService {
  /** The user's Deployment that serves the service (its selector must be matchLabels). */
  readonly deployment: string;
  /** The instance type its pods are (the type of the live pool's base group). */
  readonly instanceType: string;
  /** The container port instances answer on (default: the container's first port). */
  readonly port?: number;
  /** The container the instance type's resources and a version's image apply to (default: the first). */
  readonly container?: string;
}

export interface KubernetesProviderOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly services: Readonly<Record<string, KubernetesService>>;
  readonly instanceTypes: Readonly<Record<string, TypeShape>>;
  /** Versions by name (the `version` label): the image and environment they run. */
  readonly versions?: Readonly<Record<string, VersionShape>>;
  /** A pod not ready this long after creation has failed to start (default 120 s). */
  readonly readyTimeoutMs?: number;
  /** Restarts from which a pod is failed (default 3). */
  readonly crashRestarts?: number;
  /** The grace period of a deleted pod (default 30 s). */
  readonly graceSeconds?: number;
  /** How long a create waits for a pod to claim (default 60 s). */
  readonly claimTimeoutMs?: number;
  /** How long conditional writes keep retrying conflicts (default 30 s), pausing with jittered backoff. */
  readonly conflictBudgetMs?: number;
  /** Who reports the Events (this replica). */
  readonly identity?: string;
  readonly beforeStop?: (i: Instance) => Promise<void>;
  readonly onEvent?: (e: InstanceEvent) => void;
  readonly now?: () => number;
}

const statusOf = (e: unknown): number | undefined => (e instanceof ApiException ? e.code : undefined);

/** A Kubernetes API error as the Provider contract's error. */
export function providerError(e: unknown, what: string): ProviderError {
  if (e instanceof ProviderError) return e;
  const code = statusOf(e);
  const body = e instanceof ApiException ? (e.body as unknown) : undefined;
  let detail = (e as Error).message;
  if (typeof body === 'string') {
    try {
      detail = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      detail = body;
    }
  } else if (body && typeof body === 'object' && 'message' in body) detail = String((body as { message: unknown }).message);
  const msg = `${what}: ${detail}`;
  if (code === 404) return new ProviderError('not_found', msg);
  if (code === 403 || code === 401) return new ProviderError('forbidden', msg);
  if (code === 409) return new ProviderError('conflict', msg);
  if (code === 400 || code === 422) return new ProviderError('invalid', msg);
  return new ProviderError('unavailable', msg);
}

interface Waiter {
  readonly id: string;
  readonly deadline: number;
  resolve(p: V1Pod): void;
  reject(e: Error): void;
}

const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const ms = (t: unknown): number => (t ? new Date(t as string).getTime() : Number.NaN);

export class KubernetesProvider implements Provider {
  readonly name = 'kubernetes';
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private pods!: ListWatch<V1Pod>;
  private deployments!: ListWatch<V1Deployment>;
  private readonly byDeployment = new Map<string, string>();
  private readonly claims = new Map<string, Waiter[]>();
  private readonly pumping = new Set<string>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly removing = new Map<string, Promise<void>>();
  private readonly killed = new Set<string>();
  private readonly tombstones = new Map<string, Instance>();
  /**
   * Pods no instance claimed that a caller has seen under their own name (listed while no create waited on
   * their group: a crash's leftover, an extra): they stay instances by that name and are never claimed, so an
   * instance never changes its id under a caller.
   */
  private readonly exposed = new Set<string>();
  private readonly lastState = new Map<string, string>();
  private readonly listeners = new Set<() => void>();
  private closed = false;

  private constructor(private readonly o: KubernetesProviderOptions) {
    this.core = o.kubeConfig.makeApiClient(CoreV1Api);
    this.apps = o.kubeConfig.makeApiClient(AppsV1Api);
    for (const [service, s] of Object.entries(o.services)) this.byDeployment.set(s.deployment, service);
  }

  /**
   * Check the settings, start the watch caches of pods and Deployments, and finish what a crash left:
   * released pods are deleted. Every service's Deployment must exist with a matchLabels selector.
   */
  static async start(o: KubernetesProviderOptions): Promise<KubernetesProvider> {
    for (const [name, s] of Object.entries(o.services)) {
      if (!labelValueOk(name)) throw new ProviderError('invalid', `service "${name}": not a valid label value (63 characters at most, letters, digits, "-", "_", "." inside)`);
      if (!o.instanceTypes[s.instanceType]) throw new ProviderError('unknown_instance_type', `service "${name}": unknown instance type "${s.instanceType}" (have: ${Object.keys(o.instanceTypes).join(', ')})`);
    }
    for (const t of [...Object.keys(o.instanceTypes), ...Object.keys(o.versions ?? {})]) if (!labelValueOk(t)) throw new ProviderError('invalid', `"${t}": an instance type or version must be a valid label value`);
    const p = new KubernetesProvider(o);
    // What the watches need, asked once directly: a refusal is an error here, not a watch that keeps retrying.
    try {
      await Promise.all([p.core.listNamespacedPod({ namespace: o.namespace, limit: 1 }), p.apps.listNamespacedDeployment({ namespace: o.namespace, limit: 1 })]);
    } catch (e) {
      throw providerError(e, `list pods and Deployments in namespace "${o.namespace}"`);
    }
    await p.watch();
    for (const [name, s] of Object.entries(o.services)) {
      const d = p.deployments.get(s.deployment, o.namespace);
      if (!d) throw new ProviderError('not_found', `service "${name}": no Deployment "${s.deployment}" in namespace "${o.namespace}"`);
      if (d.spec?.selector.matchExpressions?.length || !d.spec?.selector.matchLabels) throw new ProviderError('invalid', `service "${name}": Deployment "${s.deployment}" selects its pods with matchExpressions; shadowscale needs a matchLabels selector`);
    }
    for (const pod of p.pods.list(o.namespace)) if (pod.metadata?.labels?.[LABEL.released] !== undefined) await p.deletePod(pod, 0).catch(() => undefined);
    return p;
  }

  private async watch(): Promise<void> {
    const ns = this.o.namespace;
    this.pods = makeInformer<V1Pod>(this.o.kubeConfig, `/api/v1/namespaces/${ns}/pods`, () => this.core.listNamespacedPod({ namespace: ns })) as ListWatch<V1Pod>;
    this.deployments = makeInformer<V1Deployment>(this.o.kubeConfig, `/apis/apps/v1/namespaces/${ns}/deployments`, () => this.apps.listNamespacedDeployment({ namespace: ns })) as ListWatch<V1Deployment>;
    for (const inf of [this.pods, this.deployments] as ListWatch<never>[]) {
      // A watch that ends in an error is started again (as client-go's reflector does), unless closed.
      inf.on('error', () => {
        if (!this.closed) setTimeout(() => void inf.start().catch(() => undefined), 500).unref();
      });
      inf.on('change', () => this.changed());
    }
    this.pods.on('change', (pod: V1Pod) => this.observe(pod));
    this.pods.on('delete', (pod: V1Pod) => this.vanished(pod));
    try {
      await Promise.all([this.pods.start(), this.deployments.start()]);
    } catch (e) {
      this.closed = true;
      await Promise.all([this.pods.stop(), this.deployments.stop()]).catch(() => undefined);
      throw providerError(e, `watch pods and Deployments in namespace "${ns}"`);
    }
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private emit(kind: InstanceEvent['kind'], i: { id: string; service: string; pool: PoolKind }, detail?: string): void {
    this.o.onEvent?.({ at: this.now(), kind, instance: i.id, service: i.service, pool: i.pool, ...(detail ? { detail } : {}) });
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Resolves at the next change of the caches, or after `timeoutMs`. */
  private nextChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.listeners.add(done);
    });
  }

  private async until(what: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!what()) {
      if (this.closed || Date.now() >= deadline) return false;
      await this.nextChange(Math.min(250, deadline - Date.now()));
    }
    return true;
  }

  /** Report readiness and failures as they change. */
  private observe(pod: V1Pod): void {
    const i = this.view(pod);
    const uid = pod.metadata?.uid;
    if (!i || !uid) return;
    const before = this.lastState.get(uid);
    this.lastState.set(uid, i.state);
    if (before === i.state) return;
    if (i.state === 'ready') this.emit('ready', i);
    else if (i.state === 'failed') this.emit(before === 'ready' ? 'crashed' : 'unhealthy', i, i.failure);
  }

  /** A pod gone without a delete of ours: its instance is failed until deleted. */
  private vanished(pod: V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    this.lastState.delete(uid);
    const name = pod.metadata?.name ?? '';
    this.exposed.delete(name);
    if (this.removing.has(name)) return;
    // A pod no instance holds (a replacement the ReplicaSet took back, an extra) goes without a trace.
    const i = this.view(pod);
    if (!i || pod.metadata?.labels?.[LABEL.released] !== undefined || pod.metadata?.annotations?.[ANNOTATION.instance] === undefined) return;
    const why = this.killed.delete(name) ? 'killed' : 'pod deleted outside shadowscale (evicted, preempted, or scaled away by another writer)';
    this.tombstones.set(i.id, { ...i, state: 'failed', failure: why, url: i.url });
    this.emit('crashed', i, why);
  }

  private service(name: string): KubernetesService {
    const s = this.o.services[name];
    if (!s) throw new ProviderError('invalid', `unknown service "${name}" (have: ${Object.keys(this.o.services).join(', ')})`);
    return s;
  }

  private live(service: string): V1Deployment {
    const s = this.service(service);
    const d = this.deployments.get(s.deployment, this.o.namespace);
    if (!d) throw new ProviderError('not_found', `service "${service}": its Deployment "${s.deployment}" is gone`);
    return d;
  }

  /** The instance a pod is, or undefined for pods that are not shadowscale's to manage. */
  private view(pod: V1Pod): Instance | undefined {
    const md = pod.metadata ?? {};
    const labels = md.labels ?? {};
    let service: string | undefined;
    let pool: PoolKind;
    let instanceType: string;
    let instanceLabels: Record<string, string> = {};
    if (labels[LABEL.group] !== undefined || labels[LABEL.released] !== undefined) {
      service = labels[LABEL.service];
      if (!service || !this.o.services[service]) return undefined;
      pool = labels[LABEL.pool] === 'shadow' ? 'shadow' : 'live';
      instanceType = labels[LABEL.type] ?? this.service(service).instanceType;
      try {
        instanceLabels = JSON.parse(md.annotations?.[ANNOTATION.labels] ?? '{}') as Record<string, string>;
      } catch {
        instanceLabels = {};
      }
    } else {
      const deployment = deploymentOfPod(pod);
      service = deployment === undefined ? undefined : this.byDeployment.get(deployment);
      if (!service) return undefined;
      pool = 'live';
      instanceType = this.service(service).instanceType;
    }
    const s = this.service(service);
    const container = pod.spec?.containers.find((c) => c.name === s.container) ?? pod.spec?.containers[0];
    const port = s.port ?? container?.ports?.[0]?.containerPort ?? 80;
    const st = this.podState(pod);
    return {
      id: md.annotations?.[ANNOTATION.instance] ?? md.name ?? '',
      service,
      pool,
      instanceType,
      labels: instanceLabels,
      url: podUrl(pod, port),
      state: st.state,
      createdAt: ms(md.creationTimestamp) || this.now(),
      ...(st.readyAt !== undefined ? { readyAt: st.readyAt } : {}),
      ...(st.failure ? { failure: st.failure } : {}),
    };
  }

  private podState(pod: V1Pod): ReturnType<typeof podState> {
    return podState(pod, { now: this.now(), readyTimeoutMs: this.o.readyTimeoutMs ?? 120_000, crashRestarts: this.o.crashRestarts ?? 3 });
  }

  private podOf(id: string): V1Pod | undefined {
    let byName: V1Pod | undefined;
    for (const p of this.pods.list(this.o.namespace)) {
      if (p.metadata?.annotations?.[ANNOTATION.instance] === id) return p;
      if (p.metadata?.name === id && p.metadata.annotations?.[ANNOTATION.instance] === undefined) byName = p;
    }
    return byName;
  }

  /** The Deployment a pod's group is (undefined for a released pod). */
  private deploymentOf(pod: V1Pod): string | undefined {
    const labels = pod.metadata?.labels ?? {};
    const hash = labels[LABEL.group];
    if (hash !== undefined) return this.deployments.list(this.o.namespace).find((d) => d.spec?.selector.matchLabels?.[LABEL.group] === hash)?.metadata?.name;
    if (labels[LABEL.released] !== undefined) return undefined;
    const service = this.view(pod)?.service;
    return service ? this.service(service).deployment : undefined;
  }

  /** Pods of a group's Deployment that count towards its replicas (not on their way out). */
  private groupPods(deployment: string): V1Pod[] {
    const d = this.deployments.get(deployment, this.o.namespace);
    const hash = d?.spec?.selector.matchLabels?.[LABEL.group];
    return this.pods.list(this.o.namespace).filter((p) => {
      if (p.metadata?.deletionTimestamp || p.metadata?.labels?.[LABEL.released] !== undefined) return false;
      if (hash !== undefined) return p.metadata?.labels?.[LABEL.group] === hash;
      const i = this.view(p);
      return i !== undefined && this.byDeployment.get(deployment) === i.service && p.metadata?.labels?.[LABEL.group] === undefined;
    });
  }

  /** One writer per group at a time (the releases and scale writes of a group never interleave). */
  private async locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  /** Change a group's replicas by `delta`, conditionally on the Scale's resourceVersion, retried on conflicts. */
  private async scaleBy(deployment: string, delta: number): Promise<V1Scale> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      let scale: V1Scale;
      try {
        scale = await this.apps.readNamespacedDeploymentScale({ name: deployment, namespace: this.o.namespace });
        const replicas = Math.max(0, (scale.spec?.replicas ?? 0) + delta);
        return await this.apps.replaceNamespacedDeploymentScale({ name: deployment, namespace: this.o.namespace, body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: deployment, namespace: this.o.namespace, resourceVersion: scale.metadata?.resourceVersion }, spec: { replicas } } });
      } catch (e) {
        if (statusOf(e) === 409 && !this.closed && retryConflict(Date.now() - started, this.o.conflictBudgetMs)) {
          // Another writer changed it between the read and the write: read again after a jittered pause.
          await pauseAfterConflict(attempt);
          continue;
        }
        throw providerError(e, `scale Deployment "${deployment}" by ${delta > 0 ? '+' : ''}${delta}${statusOf(e) === 409 ? ` (conflicts for ${Math.round((Date.now() - started) / 1000)} s, ${attempt + 1} attempts)` : ''}`);
      }
    }
  }

  /** Until a group's Deployment has observed `replicas` and its ReplicaSets hold exactly that many pods. */
  private settled(deployment: string, replicas: number): Promise<boolean> {
    return this.until(() => {
      const d = this.deployments.get(deployment, this.o.namespace);
      const observed = (d?.status?.observedGeneration ?? 0) >= (d?.metadata?.generation ?? 0);
      return observed && d?.spec?.replicas === replicas && (d.status?.replicas ?? 0) === replicas && this.groupPods(deployment).length === replicas;
    }, 5000);
  }

  /** The group's Deployment, created from the live template if it does not exist yet. */
  private async ensureGroup(g: Group): Promise<string> {
    const s = this.service(g.service);
    if (isLiveBase(g, s.instanceType)) return s.deployment;
    const name = groupDeploymentName(s.deployment, g);
    if (this.deployments.get(name, this.o.namespace)) return name;
    const version = g.labels.version;
    if (version !== undefined && version !== 'base' && this.o.versions && !this.o.versions[version]) throw new ProviderError('invalid', `unknown version "${version}" (have: ${Object.keys(this.o.versions).join(', ')})`);
    const shape = this.o.instanceTypes[g.instanceType] as TypeShape;
    const body = groupDeployment(this.live(g.service), g, { name, shape, ...(version && this.o.versions?.[version] ? { version: this.o.versions[version] } : {}), ...(s.container ? { container: s.container } : {}) });
    try {
      await this.apps.createNamespacedDeployment({ namespace: this.o.namespace, body, fieldManager: 'shadowscale' });
    } catch (e) {
      if (statusOf(e) !== 409) throw providerError(e, `create Deployment "${name}"`);
    }
    await this.until(() => this.deployments.get(name, this.o.namespace) !== undefined, 10_000);
    return name;
  }

  async create(spec: InstanceSpec): Promise<Instance> {
    if (!this.o.instanceTypes[spec.instanceType]) throw new ProviderError('unknown_instance_type', `unknown instance type "${spec.instanceType}" (have: ${Object.keys(this.o.instanceTypes).join(', ')})`);
    this.service(spec.service);
    const id = spec.id ?? `${spec.service}-${spec.pool}-${randomBytes(4).toString('hex')}`;
    const held = this.podOf(id);
    if (held && held.metadata?.annotations?.[ANNOTATION.instance] === id) return this.view(held) as Instance;
    const deployment = await this.ensureGroup({ service: spec.service, pool: spec.pool, instanceType: spec.instanceType, labels: { ...spec.labels } });
    const pod = await new Promise<V1Pod>((resolve, reject) => {
      const q = this.claims.get(deployment) ?? [];
      q.push({ id, deadline: Date.now() + (this.o.claimTimeoutMs ?? 60_000), resolve, reject });
      this.claims.set(deployment, q);
      void this.pump(deployment);
    });
    const i = this.view(pod) as Instance;
    this.emit('created', i);
    return i;
  }

  /** Serve a group's waiting creates: claim pods no instance holds, and scale up once for the rest. */
  private async pump(deployment: string): Promise<void> {
    if (this.pumping.has(deployment)) return;
    this.pumping.add(deployment);
    try {
      for (;;) {
        const q = this.claims.get(deployment) ?? [];
        for (const w of q.filter((x) => Date.now() > x.deadline)) w.reject(new ProviderError('start_failed', `${w.id}: no pod of Deployment "${deployment}" to claim within ${(this.o.claimTimeoutMs ?? 60_000) / 1000} s (quota, admission, or no controller-manager?)`));
        const waiting = q.filter((x) => Date.now() <= x.deadline);
        this.claims.set(deployment, waiting);
        if (waiting.length === 0 || this.closed) {
          for (const w of waiting) w.reject(new ProviderError('unavailable', 'the provider was closed'));
          this.claims.delete(deployment);
          return;
        }
        await this.locked(deployment, async () => {
          const pods = this.groupPods(deployment);
          for (const w of [...waiting]) {
            const mine = pods.find((p) => p.metadata?.annotations?.[ANNOTATION.instance] === w.id);
            if (mine) this.settle(waiting, w, mine);
          }
          const claimable = (p: V1Pod): boolean => p.metadata?.annotations?.[ANNOTATION.instance] === undefined && !this.exposed.has(p.metadata?.name ?? '') && this.podState(p).state !== 'failed';
          const free = pods.filter(claimable);
          for (const p of free) {
            const w = waiting[0];
            if (!w) break;
            try {
              const claimed = await this.core.patchNamespacedPod({ name: p.metadata?.name ?? '', namespace: this.o.namespace, body: { metadata: { resourceVersion: p.metadata?.resourceVersion, annotations: { [ANNOTATION.instance]: w.id } } } }, MERGE);
              await this.until(() => this.pods.get(claimed.metadata?.name ?? '', this.o.namespace)?.metadata?.annotations?.[ANNOTATION.instance] === w.id, 5000);
              this.settle(waiting, w, claimed);
            } catch (e) {
              const code = statusOf(e);
              if (code === 409 || code === 404) continue; // changed or gone meanwhile: the next round sees it
              waiting.shift();
              w.reject(providerError(e, `claim pod "${p.metadata?.name}" for ${w.id}`));
            }
          }
          if (waiting.length === 0) return;
          // Pods to come (replicas the ReplicaSet has not made yet) and pods no one holds that a claim lost
          // to a concurrent change (claimed next round) serve the rest before any scale.
          const d = this.deployments.get(deployment, this.o.namespace);
          const replicas = d?.spec?.replicas ?? 0;
          const after = this.groupPods(deployment);
          const incoming = Math.max(0, replicas - after.length);
          const unheld = after.filter(claimable).length;
          const need = waiting.length - incoming - unheld;
          if (need > 0) {
            try {
              await this.scaleBy(deployment, need);
              await this.until(() => (this.deployments.get(deployment, this.o.namespace)?.spec?.replicas ?? 0) >= replicas + need, 5000);
            } catch (e) {
              for (const w of waiting.splice(0)) w.reject(e as Error);
            }
          }
        });
        if ((this.claims.get(deployment) ?? []).length > 0) await this.nextChange(500);
      }
    } finally {
      this.pumping.delete(deployment);
      if ((this.claims.get(deployment) ?? []).length > 0 && !this.closed) void this.pump(deployment);
    }
  }

  private settle(waiting: Waiter[], w: Waiter, pod: V1Pod): void {
    const k = waiting.indexOf(w);
    if (k >= 0) waiting.splice(k, 1);
    w.resolve(pod);
  }

  /**
   * Whether a pod is a caller's instance: claimed, or (no one claimed it) exposed under its own name unless it is
   * on its way out or a create of its group is about to claim it.
   */
  private visible(p: V1Pod): boolean {
    const md = p.metadata ?? {};
    if (md.annotations?.[ANNOTATION.instance] !== undefined) return true;
    const name = md.name ?? '';
    if (this.exposed.has(name)) return true;
    if (md.deletionTimestamp) return false;
    const deployment = this.deploymentOf(p);
    if (deployment && (this.claims.get(deployment)?.length ?? 0) > 0) return false;
    this.exposed.add(name);
    return true;
  }

  async list(filter?: ListFilter): Promise<Instance[]> {
    const out: Instance[] = [];
    for (const p of this.pods.list(this.o.namespace)) {
      const i = this.view(p);
      if (i && matches(i, filter) && this.visible(p)) out.push(i);
    }
    for (const t of this.tombstones.values()) if (matches(t, filter) && !out.some((i) => i.id === t.id)) out.push(t);
    return out;
  }

  async get(id: string): Promise<Instance | undefined> {
    const p = this.podOf(id);
    return (p && this.visible(p) && this.view(p)) || this.tombstones.get(id);
  }

  async delete(id: string): Promise<void> {
    if (this.tombstones.delete(id)) return;
    const pod = this.podOf(id);
    if (!pod) throw new ProviderError('not_found', `no instance "${id}" (already gone)`);
    const name = pod.metadata?.name ?? '';
    const running = this.removing.get(name);
    if (running) return running;
    const work = this.remove(pod).finally(() => this.removing.delete(name));
    this.removing.set(name, work);
    return work;
  }

  private async remove(pod: V1Pod): Promise<void> {
    const i = this.view(pod) as Instance;
    const name = pod.metadata?.name ?? '';
    this.emit('draining', i);
    if (i.state !== 'failed') await this.o.beforeStop?.(i).catch(() => undefined);
    const deployment = this.deploymentOf(pod);
    if (deployment) {
      await this.locked(deployment, async () => {
        const selector = this.live(i.service).spec?.selector.matchLabels ?? {};
        let current: V1Pod | undefined = pod;
        const started = Date.now();
        for (let attempt = 0; current && current.metadata?.labels?.[LABEL.released] === undefined; attempt++) {
          try {
            const body = releasePatch(current, selector);
            body.metadata.labels[LABEL.service] = i.service;
            body.metadata.labels[LABEL.pool] = i.pool;
            body.metadata.labels[LABEL.type] = i.instanceType;
            current = await this.core.patchNamespacedPod({ name, namespace: this.o.namespace, body }, MERGE);
          } catch (e) {
            const code = statusOf(e);
            if (code === 404) return; // gone meanwhile: its ReplicaSet replaces it, a pod no one holds
            if (code !== 409 || !retryConflict(Date.now() - started, this.o.conflictBudgetMs)) throw providerError(e, `release pod "${name}" of ${i.id}`);
            await pauseAfterConflict(attempt);
            current = await this.core.readNamespacedPod({ name, namespace: this.o.namespace }).catch(() => undefined);
          }
        }
        // The ReplicaSet replaces the released pod; lowering the replicas makes it take one pod back, chosen
        // by its ranking (unscheduled, pending, not ready first, then the lowest pod-deletion-cost). The
        // replacement is the newest and least advanced; a deletion cost far below the others settles ties,
        // so a claimed pod still starting is not the one taken.
        // Wait for that replacement (a controller manager under load takes seconds): scaled down before it
        // exists, the ReplicaSet would take back one of the pods it has, a claimed one still starting first.
        // The cache must first show the release: until it does, the released pod still counts as one of the
        // group's, the count below is met at once, and the scale-down races the replacement (seen in CI: the
        // ReplicaSet took back a claimed pod on a crowded node instead of the replacement).
        await this.until(() => {
          const seen = this.pods.get(name, this.o.namespace);
          return seen === undefined || seen.metadata?.labels?.[LABEL.released] !== undefined;
        }, 10_000);
        const replicas = this.deployments.get(deployment, this.o.namespace)?.spec?.replicas ?? 0;
        await this.until(() => this.groupPods(deployment).length >= replicas, 10_000);
        for (const r of this.groupPods(deployment).filter((x) => x.metadata?.annotations?.[ANNOTATION.instance] === undefined)) {
          await this.core.patchNamespacedPod({ name: r.metadata?.name ?? '', namespace: this.o.namespace, body: { metadata: { annotations: { [ANNOTATION.deletionCost]: '-1000000' } } } }, MERGE).catch(() => undefined);
        }
        const scaled = await this.scaleBy(deployment, -1);
        // Until the Deployment's controllers have caught up (a replacement the ReplicaSet made after the
        // release is the pod it takes back), no claim of this group may take that replacement.
        await this.settled(deployment, scaled.spec?.replicas ?? 0);
      });
    }
    await this.deletePod(pod, this.o.graceSeconds ?? 30);
    await this.until(() => this.pods.get(name, this.o.namespace) === undefined, ((this.o.graceSeconds ?? 30) + 5) * 1000);
    this.emit('deleted', i);
  }

  private async deletePod(pod: V1Pod, graceSeconds: number): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({ name: pod.metadata?.name ?? '', namespace: this.o.namespace, body: { gracePeriodSeconds: graceSeconds, preconditions: { uid: pod.metadata?.uid } } });
    } catch (e) {
      if (statusOf(e) !== 404 && statusOf(e) !== 409) throw providerError(e, `delete pod "${pod.metadata?.name}"`);
    }
  }

  async resize(id: string, instanceType: string): Promise<Instance> {
    const old = await this.get(id);
    if (!old) throw new ProviderError('not_found', `no instance "${id}" (already gone)`);
    if (!this.o.instanceTypes[instanceType]) throw new ProviderError('unknown_instance_type', `unknown instance type "${instanceType}" (have: ${Object.keys(this.o.instanceTypes).join(', ')})`);
    const next = await this.create({ service: old.service, pool: old.pool, instanceType, labels: old.labels });
    let state: Instance | undefined;
    await this.until(() => {
      const p = this.podOf(next.id);
      state = p && this.view(p);
      return state === undefined || state.state === 'ready' || state.state === 'failed';
    }, (this.o.readyTimeoutMs ?? 120_000) + 1000);
    if (state?.state !== 'ready') {
      await this.delete(next.id).catch(() => undefined);
      throw new ProviderError('start_failed', `resize ${id} to ${instanceType}: ${next.id} ${state?.failure ?? 'did not become ready'}`);
    }
    await this.delete(id);
    return state;
  }

  async kill(id: string): Promise<void> {
    const pod = this.podOf(id);
    if (!pod) throw new ProviderError('not_found', `no instance "${id}" (already gone)`);
    this.killed.add(pod.metadata?.name ?? '');
    await this.deletePod(pod, 0);
  }

  /** The service's live Deployment (what owns the objects made beside it: routes, Services). */
  owner(service: string): { readonly name: string; readonly uid: string } {
    const d = this.live(service);
    return { name: d.metadata?.name ?? '', uid: d.metadata?.uid ?? '' };
  }

  /**
   * A Kubernetes Event on the service's Deployment (as the HPA reports its rescales): `reason` in
   * UpperCamelCase, a Warning when `warning`.
   */
  async announce(service: string, e: { readonly reason: string; readonly message: string; readonly warning?: boolean }): Promise<void> {
    const d = this.live(service);
    const now = new Date(this.now());
    const name = d.metadata?.name ?? '';
    try {
      await this.core.createNamespacedEvent({
        namespace: this.o.namespace,
        body: {
          metadata: { name: `${name}.${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`, namespace: this.o.namespace },
          involvedObject: { apiVersion: 'apps/v1', kind: 'Deployment', name, namespace: this.o.namespace, uid: d.metadata?.uid },
          reason: e.reason,
          message: e.message.slice(0, 1024),
          type: e.warning ? 'Warning' : 'Normal',
          source: { component: 'shadowscale' },
          reportingComponent: 'shadowscale',
          reportingInstance: this.o.identity ?? 'shadowscale',
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      throw providerError(err, `record an Event on Deployment "${name}"`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.changed();
    await Promise.all([this.pods.stop(), this.deployments.stop()]).catch(() => undefined);
  }
}
