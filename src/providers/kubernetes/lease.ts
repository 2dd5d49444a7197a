// Leader election for two (or more) replicas of shadowscale on a coordination.k8s.io Lease (issue 15;
// docs/design/kubernetes.md). The decision is src/core/lease.ts; this reads and writes the Lease through
// @kubernetes/client-node, every write conditional on the resourceVersion read (a conflict means another
// replica wrote first: this one read again at its next step, it never overwrites).
import { ApiException, V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { leaseAction, stillLeading, type LeaseRecord, type LeaseSettings } from '../../core/lease.js';

export interface ElectorOptions extends LeaseSettings {
  readonly namespace: string;
  /** The Lease's name (one per shadowscale installation). */
  readonly name: string;
  /** Seconds between renewals while leading. */
  readonly renewEverySeconds: number;
  /** Seconds between attempts while not leading. */
  readonly retryEverySeconds: number;
  /** ms; injected in tests. */
  readonly now?: () => number;
  /** Told when this replica starts or stops leading. */
  readonly onChange?: (leading: boolean, detail: string) => void;
}

const status = (e: unknown): number | undefined => (e instanceof ApiException ? e.code : undefined);

export class LeaderElector {
  private observed: { holder: string | undefined; renewTime: string | undefined; at: number } | undefined;
  private lastRenewAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private isLeading = false;
  /** Lease writes that lost to another replica's (409), and other failed calls. */
  conflicts = 0;
  failures = 0;

  constructor(
    private readonly api: CoordinationV1Api,
    private readonly o: ElectorOptions,
  ) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  get leading(): boolean {
    return this.isLeading && stillLeading(this.lastRenewAt, this.now(), this.o);
  }

  private set(leading: boolean, detail: string): void {
    if (leading === this.isLeading) return;
    this.isLeading = leading;
    this.o.onChange?.(leading, detail);
  }

  /** One round: read the Lease, then create, renew, take over or wait. Whether this replica leads after it. */
  async step(): Promise<boolean> {
    const now = this.now();
    let lease: V1Lease | undefined;
    try {
      lease = await this.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
    } catch (e) {
      if (status(e) !== 404) {
        this.failures++;
        this.set(this.leading, 'the lease could not be read');
        return this.leading;
      }
    }
    const spec = lease?.spec;
    const record: LeaseRecord | undefined = lease ? { holder: spec?.holderIdentity || undefined, renewTime: spec?.renewTime ? new Date(spec.renewTime).toISOString() : undefined, leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0, transitions: spec?.leaseTransitions ?? 0 } : undefined;
    if (!this.observed || this.observed.holder !== record?.holder || this.observed.renewTime !== record?.renewTime) this.observed = { holder: record?.holder, renewTime: record?.renewTime, at: now };
    const action = leaseAction(record, this.observed.at, now, this.o);
    const stamp = new V1MicroTime(now);
    try {
      if (action.kind === 'create') {
        await this.api.createNamespacedLease({ namespace: this.o.namespace, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name, namespace: this.o.namespace }, spec: { holderIdentity: this.o.identity, leaseDurationSeconds: this.o.leaseDurationSeconds, acquireTime: stamp, renewTime: stamp, leaseTransitions: 0 } } });
      } else if (action.kind === 'renew' || action.kind === 'take_over') {
        const body: V1Lease = {
          ...lease,
          spec: {
            ...spec,
            holderIdentity: this.o.identity,
            leaseDurationSeconds: this.o.leaseDurationSeconds,
            renewTime: stamp,
            ...(action.kind === 'take_over' ? { acquireTime: stamp, leaseTransitions: action.transitions } : {}),
          },
        };
        await this.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body });
      } else {
        this.set(false, `${action.holder} leads (its lease expires in ${action.expiresInSeconds.toFixed(1)} s unless renewed)`);
        return false;
      }
      this.lastRenewAt = now;
      this.set(true, action.kind === 'renew' ? 'renewed' : action.kind === 'create' ? 'created the lease' : `took the lease over (transition ${action.transitions})`);
    } catch (e) {
      if (status(e) === 409) this.conflicts++;
      else this.failures++;
      // Lost the race, or the API failed: lead only while the last renewal is within the deadline.
      this.set(this.leading, status(e) === 409 ? 'another replica wrote the lease first' : `the lease could not be written: ${(e as Error).message}`);
    }
    return this.leading;
  }

  /** Step on a timer until stopped: renewing while leading, retrying otherwise. */
  start(): void {
    const loop = async (): Promise<void> => {
      if (this.stopped) return;
      this.running = this.step().then(() => undefined);
      await this.running;
      if (this.stopped) return;
      this.timer = setTimeout(() => void loop(), (this.isLeading ? this.o.renewEverySeconds : this.o.retryEverySeconds) * 1000);
    };
    void loop();
  }

  /**
   * Stop stepping. `release`: a leader hands the lease back (no holder, so another replica takes it at its
   * next attempt instead of waiting for it to expire); without it (a crash, say) the lease runs out.
   */
  async stop(o: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    if (o.release && this.isLeading) {
      try {
        const lease = await this.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
        if (lease.spec?.holderIdentity === this.o.identity) await this.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: { ...lease, spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: new V1MicroTime(this.now()) } } });
      } catch {
        // the lease runs out instead
      }
    }
    this.set(false, o.release ? 'released the lease' : 'stopped');
  }
}
