// A recording fake Provider for tests of the control loop: it keeps instances in memory, records every
// call, can fail the next call of a method with a chosen error, and makes instances ready after a
// configurable number of `tick()`s (or at once). It follows the interface's contracts (idempotent
// create, `not_found` on unknown ids, resize by replacement), so tests of callers mean something.

import { matches, ProviderError, type Instance, type InstanceSpec, type ListFilter, type Provider } from './provider.js';

export interface FakeCall {
  readonly method: 'create' | 'list' | 'get' | 'delete' | 'resize' | 'kill';
  readonly args: readonly unknown[];
}

type Method = FakeCall['method'];

export class FakeProvider implements Provider {
  readonly name = 'fake';
  readonly calls: FakeCall[] = [];
  private readonly instances = new Map<string, Instance & { ticksToReady: number }>();
  private readonly nextErrors = new Map<Method, Error>();
  private seq = 0;

  constructor(
    private readonly o: { instanceTypes: readonly string[]; readyAfterTicks?: number; now?: () => number } = { instanceTypes: ['standard'] },
  ) {}

  /** The next call of `method` rejects with `error` (once). */
  failNext(method: Method, error: Error): void {
    this.nextErrors.set(method, error);
  }

  /** Advance time: starting instances become ready after `readyAfterTicks` ticks. */
  tick(): void {
    const now = this.now();
    for (const [id, i] of this.instances) {
      if (i.state === 'starting' && --i.ticksToReady <= 0) this.instances.set(id, { ...i, state: 'ready', readyAt: now });
    }
  }

  /** Mark an instance failed (a crash). */
  async kill(id: string): Promise<void> {
    this.record('kill', [id]);
    if (!this.instances.has(id)) throw new ProviderError('not_found', `no instance "${id}" (already gone)`);
    this.crash(id, 'killed');
  }

  crash(id: string, why = 'crashed'): void {
    const i = this.instances.get(id);
    if (i) this.instances.set(id, { ...i, state: 'failed', failure: why });
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private record(method: Method, args: unknown[]): void {
    this.calls.push({ method, args });
    const err = this.nextErrors.get(method);
    if (err) {
      this.nextErrors.delete(method);
      throw err;
    }
  }

  private view(i: Instance & { ticksToReady: number }): Instance {
    const rest: Instance & { ticksToReady?: number } = { ...i };
    delete rest.ticksToReady;
    return rest;
  }

  async create(spec: InstanceSpec): Promise<Instance> {
    this.record('create', [spec]);
    if (!this.o.instanceTypes.includes(spec.instanceType)) throw new ProviderError('unknown_instance_type', `unknown instance type "${spec.instanceType}" (have: ${this.o.instanceTypes.join(', ')})`);
    const id = spec.id ?? `fake-${++this.seq}`;
    const existing = this.instances.get(id);
    if (existing) return this.view(existing);
    const ticks = this.o.readyAfterTicks ?? 0;
    const i = { id, service: spec.service, pool: spec.pool, instanceType: spec.instanceType, labels: { ...spec.labels }, url: `http://${id}.fake.invalid`, state: ticks > 0 ? ('starting' as const) : ('ready' as const), createdAt: this.now(), ticksToReady: ticks, ...(ticks > 0 ? {} : { readyAt: this.now() }) };
    this.instances.set(id, i);
    return this.view(i);
  }

  async list(filter?: ListFilter): Promise<Instance[]> {
    this.record('list', [filter]);
    return [...this.instances.values()].filter((i) => matches(i, filter)).map((i) => this.view(i));
  }

  async get(id: string): Promise<Instance | undefined> {
    this.record('get', [id]);
    const i = this.instances.get(id);
    return i && this.view(i);
  }

  async delete(id: string): Promise<void> {
    this.record('delete', [id]);
    if (!this.instances.delete(id)) throw new ProviderError('not_found', `no instance "${id}" (already gone)`);
  }

  async resize(id: string, instanceType: string): Promise<Instance> {
    this.record('resize', [id, instanceType]);
    const old = this.instances.get(id);
    if (!old) throw new ProviderError('not_found', `no instance "${id}" (already gone)`);
    if (!this.o.instanceTypes.includes(instanceType)) throw new ProviderError('unknown_instance_type', `unknown instance type "${instanceType}" (have: ${this.o.instanceTypes.join(', ')})`);
    const id2 = `fake-${++this.seq}`;
    const next = { ...old, id: id2, instanceType, url: `http://${id2}.fake.invalid`, state: 'ready' as const, createdAt: this.now(), readyAt: this.now(), ticksToReady: 0 };
    this.instances.set(id2, next);
    this.instances.delete(id);
    return this.view(next);
  }

  async close(): Promise<void> {}
}
