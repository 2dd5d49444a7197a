// The gateway on several cores: node:cluster worker processes share the listening socket, each runs
// the whole data plane (its own upstream pools, mirror and measurement), and the primary keeps the
// state that must be the same everywhere (live members with their ids and weights, the mirror rate).
//
// - Changes go to the primary's state first, then to every worker; a worker that (re)starts is
//   given the current state, so a crashed worker comes back configured as the others.
// - Reads ask every worker for its report and merge them (counts add, HDR histograms merge exactly).
// - Per-key mutation order is kept within a worker, i.e. per client connection; requests of one key
//   arriving on different connections may be mirrored by different workers. Strict per-key order
//   across connections needs one worker (the default).

import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { fromWire, mergeReports, type GatewayControl, type MemberView, type MetadataView, type ReplayWire, type SyncRelease, type WorkerReport } from './control.js';
import type { ReplayRequest } from './mirror.js';
import type { GatewayOptions, MemberSpec } from './gateway.js';
import { intervalView, type IntervalView, type TrafficDump } from './metrics.js';

/** Gateway options that can cross a process boundary (no injected functions). */
export type PortableGatewayOptions = Omit<GatewayOptions, 'random' | 'now' | 'live'>;

/** What a worker is started with (in its environment, as JSON). */
export interface WorkerInit {
  readonly options: PortableGatewayOptions;
  readonly members: readonly Required<MemberSpec>[];
  readonly rate: number;
  readonly shadow: readonly string[];
  /** A/B arms (src/proof/ab.ts). */
  readonly arms: readonly string[];
  readonly host: string;
  readonly port: number;
}

export const WORKER_ENV = 'SHADOWSCALE_GATEWAY_WORKER';

export type WorkerCommand =
  | { op: 'report' }
  | { op: 'metadata' }
  | { op: 'recent' }
  | { op: 'add'; member: Required<MemberSpec> }
  | { op: 'weight'; id: string; weight: number }
  | { op: 'drain'; id: string; wait?: boolean }
  | { op: 'rate'; rate: number }
  | { op: 'interval' }
  | { op: 'shadow'; urls: readonly string[] }
  | { op: 'arms'; urls: readonly string[] }
  | { op: 'warm'; urls: readonly string[] }
  | { op: 'syncBegin'; url: string }
  | { op: 'syncFinish'; url: string; applied: Readonly<Record<string, readonly number[]>> }
  | { op: 'syncAbort'; url: string }
  | { op: 'reopenRecord' }
  | { op: 'close' };

export interface WorkerRequest {
  readonly type: 'shadowscale-gateway';
  readonly seq: number;
  readonly command: WorkerCommand;
}

export type WorkerReply = { type: 'shadowscale-gateway'; seq: number; ok: true; result: unknown } | { type: 'shadowscale-gateway'; seq: number; ok: false; error: string };

const RPC_TIMEOUT_MS = 5000;

export interface ClusterOptions {
  readonly workers: number;
  readonly host: string;
  readonly port: number;
  readonly live: readonly string[];
  readonly options: PortableGatewayOptions;
  /** Told when a worker exits unexpectedly (it is restarted). */
  readonly onWorkerExit?: (info: { pid: number | undefined; code: number | null; signal: string | null }) => void;
}

export class ClusterGateway implements GatewayControl {
  private readonly workers = new Set<Worker>();
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private seq = 0;
  private state: { url: string; weight: number; id: string }[];
  private nextId: number;
  private rate: number;
  private shadow: readonly string[];
  private arms: readonly string[] = [];
  private port: number;
  private stopping = false;
  /** Workers restarted after an unexpected exit. */
  restarts = 0;

  private constructor(private readonly o: ClusterOptions) {
    this.state = o.live.map((url, i) => ({ url, weight: 1, id: `live-${i}` }));
    this.nextId = o.live.length;
    this.rate = o.options.mirror?.rate ?? 0.1;
    this.shadow = o.options.shadow ?? [];
    this.port = o.port;
  }

  /**
   * Fork the workers and resolve once all of them listen (on the same port). A restarted worker joins
   * the same socket; with port 0, only a restart after every worker died at once gets a new port.
   */
  static async start(o: ClusterOptions): Promise<ClusterGateway> {
    if (!cluster.isPrimary) throw new Error('ClusterGateway.start must run in the primary process');
    if (!(Number.isInteger(o.workers) && o.workers >= 1)) throw new RangeError(`workers must be a positive integer, got ${o.workers}`);
    cluster.setupPrimary({ exec: fileURLToPath(new URL('./cluster-worker.js', import.meta.url)), args: [], silent: false });
    const c = new ClusterGateway(o);
    cluster.on('message', c.messageListener);
    cluster.on('exit', c.exitListener);
    // Every worker listens with the same arguments, so they share one socket (with port 0, one free port).
    try {
      const ports = await Promise.all(Array.from({ length: o.workers }, () => c.fork()));
      c.port = ports[0] as number;
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  get address(): { host: string; port: number } {
    return { host: this.o.host, port: this.port };
  }

  get workerCount(): number {
    return this.workers.size;
  }

  /** Worker process ids (for operators and tests). */
  get pids(): number[] {
    return [...this.workers].flatMap((w) => (w.process.pid === undefined ? [] : [w.process.pid]));
  }

  private fork(): Promise<number> {
    const init: WorkerInit = { options: this.o.options, members: this.state, rate: this.rate, shadow: this.shadow, arms: this.arms, host: this.o.host, port: this.o.port };
    const w = cluster.fork({ [WORKER_ENV]: JSON.stringify(init) });
    this.workers.add(w);
    return new Promise((resolve, reject) => {
      const failed = (code: number | null): void => reject(new Error(`gateway worker exited with code ${code} before listening`));
      w.once('exit', failed);
      w.once('listening', (addr) => {
        w.off('exit', failed);
        resolve(addr.port);
      });
    });
  }

  private readonly messageListener = (w: Worker, msg: WorkerReply): void => {
    if (this.workers.has(w)) this.onReply(msg);
  };
  private readonly exitListener = (w: Worker, code: number | null, signal: string | null): void => {
    if (this.workers.has(w)) this.onExit(w, code, signal);
  };

  private onReply(msg: WorkerReply): void {
    if (!msg || msg.type !== 'shadowscale-gateway') return;
    const p = this.pending.get(msg.seq);
    if (!p) return;
    this.pending.delete(msg.seq);
    clearTimeout(p.timer);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(msg.error));
  }

  private onExit(w: Worker, code: number | null, signal: string | null): void {
    this.workers.delete(w);
    if (this.stopping) return;
    this.restarts++;
    this.o.onWorkerExit?.({ pid: w.process.pid, code, signal });
    // Restart with the current state; a little later when crashes repeat, so a crash loop cannot spin.
    setTimeout(() => void this.fork().then((p) => (this.port = p), () => undefined), Math.min(5000, 100 * this.restarts)).unref();
  }

  private call<T>(w: Worker, command: WorkerCommand): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`gateway worker ${w.process.pid} did not answer "${command.op}" within ${RPC_TIMEOUT_MS} ms`));
      }, RPC_TIMEOUT_MS);
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject, timer });
      const request: WorkerRequest = { type: 'shadowscale-gateway', seq, command };
      w.send(request);
    });
  }

  /** Every connected worker's answer (workers that exit meanwhile are left out). */
  private async all<T>(command: WorkerCommand): Promise<T[]> {
    const live = [...this.workers].filter((w) => w.isConnected());
    const settled = await Promise.allSettled(live.map((w) => this.call<T>(w, command)));
    const ok = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (ok.length === 0 && live.length > 0) throw (settled.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason as Error;
    return ok;
  }

  /** Each worker's own report (for operators and tests); `stats` merges them. */
  reports(): Promise<WorkerReport[]> {
    return this.all<WorkerReport>({ op: 'report' });
  }

  private async merged() {
    return mergeReports(await this.reports(), Date.now);
  }

  async metrics(): Promise<{ contentType: string; text: string }> {
    const { metrics } = await this.merged();
    return { contentType: metrics.registry.contentType, text: await metrics.registry.metrics() };
  }

  async stats() {
    return (await this.merged()).stats;
  }

  async members(): Promise<MemberView[]> {
    const views = (await this.merged()).stats.live;
    // The primary's list is authoritative (a draining member may still be in a worker's report).
    return this.state.map((m) => views.find((v) => v.id === m.id) ?? { ...m, healthy: true, outstanding: 0, requests: 0 });
  }

  async addLive(url: string, weight: number, id?: string): Promise<MemberView> {
    const member = { url, weight, id: id ?? `live-${this.nextId++}` };
    this.state.push(member);
    await this.all({ op: 'add', member });
    return { ...member, healthy: true, outstanding: 0, requests: 0 };
  }

  async setWeight(id: string, weight: number): Promise<MemberView | undefined> {
    const m = this.state.find((x) => x.id === id);
    if (!m) return undefined;
    m.weight = weight;
    await this.all({ op: 'weight', id, weight });
    return (await this.members()).find((x) => x.id === id);
  }

  drain(id: string): boolean {
    const i = this.state.findIndex((x) => x.id === id);
    if (i < 0) return false;
    this.state.splice(i, 1);
    void this.all({ op: 'drain', id }).catch(() => undefined);
    return true;
  }

  async drainAndWait(id: string): Promise<boolean> {
    const i = this.state.findIndex((x) => x.id === id);
    if (i >= 0) this.state.splice(i, 1);
    // Every worker drains its own connections to the member; the member is gone once all have.
    const done = await this.all<boolean>({ op: 'drain', id, wait: true });
    return i >= 0 || done.some(Boolean);
  }

  async setRate(rate: number): Promise<number> {
    const applied = await this.all<number>({ op: 'rate', rate });
    this.rate = applied[0] ?? rate;
    return this.rate;
  }

  async interval(): Promise<IntervalView> {
    const parts = await this.all<{ dump: TrafficDump; mirrorPending: number; liveMutationsOpen: number }>({ op: 'interval' });
    return { ...intervalView(parts.map((p) => p.dump)), mirrorPending: parts.reduce((a, p) => a + p.mirrorPending, 0), liveMutationsOpen: parts.reduce((a, p) => a + p.liveMutationsOpen, 0) };
  }

  async setShadowTargets(urls: readonly string[]): Promise<void> {
    this.shadow = [...urls];
    await this.all({ op: 'shadow', urls });
  }

  shadowTargets(): Promise<readonly string[]> {
    return Promise.resolve(this.shadow);
  }

  async setArmTargets(urls: readonly string[]): Promise<void> {
    this.arms = [...urls];
    await this.all({ op: 'arms', urls });
  }

  async setWarmTargets(urls: readonly string[]): Promise<void> {
    await this.all({ op: 'warm', urls });
  }

  async beginSync(url: string): Promise<Record<string, number>> {
    return Object.assign({}, ...(await this.all<Record<string, number>>({ op: 'syncBegin', url }))) as Record<string, number>;
  }

  async finishSync(url: string, applied: Readonly<Record<string, readonly number[]>>): Promise<SyncRelease> {
    const parts = await this.all<SyncRelease>({ op: 'syncFinish', url, applied });
    return { released: parts.reduce((n, p) => n + p.released, 0), skipped: parts.reduce((n, p) => n + p.skipped, 0), overflowed: parts.some((p) => p.overflowed) };
  }

  async abortSync(url: string): Promise<number> {
    return (await this.all<number>({ op: 'syncAbort', url })).reduce((a, b) => a + b, 0);
  }

  /** Every worker reopens its record file; one that cannot is an error (the others have reopened). */
  async reopenRecord(): Promise<boolean> {
    const live = [...this.workers].filter((w) => w.isConnected());
    const settled = await Promise.allSettled(live.map((w) => this.call<boolean>(w, { op: 'reopenRecord' })));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason as Error;
    return settled.some((s) => s.status === 'fulfilled' && s.value);
  }

  async metadata(): Promise<MetadataView> {
    const parts = await this.all<MetadataView>({ op: 'metadata' });
    const limit = this.o.options.mirror?.metadataLimit ?? 10_000;
    const records = parts.flatMap((p) => p.records).sort((a, b) => a.at - b.at);
    return { records: records.slice(Math.max(0, records.length - limit)), total: parts.reduce((s, p) => s + p.total, 0), recordDropped: parts.reduce((s, p) => s + p.recordDropped, 0) };
  }

  async recentRequests(): Promise<ReplayRequest[]> {
    return fromWire(await this.all<ReplayWire[]>({ op: 'recent' }));
  }

  /** Close every worker (each finishes its in-flight requests), then stop. */
  async close(): Promise<void> {
    this.stopping = true;
    const exits = [...this.workers].map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
    await this.all({ op: 'close' }).catch(() => undefined);
    const killer = setTimeout(() => {
      for (const w of this.workers) w.process.kill('SIGKILL');
    }, 10_000);
    await Promise.all(exits);
    clearTimeout(killer);
    cluster.off('message', this.messageListener);
    cluster.off('exit', this.exitListener);
  }
}
