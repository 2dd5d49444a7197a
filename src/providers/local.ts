// The local provider: instances are child processes of a configured command, given PORT and the
// instance type's environment. A real backend (the development and demo default), not a mock.
//
// 1. create: pick a free port, spawn the command detached (its own process group, output to a log
//    file), and save its record (pid, port, labels) before anything else can happen, so a crash of
//    the control plane cannot orphan it. The environment carries SHADOWSCALE_OWNER (the store's id)
//    and the labels.
// 2. Watch: every `healthIntervalMs`, a starting instance becomes ready when its health check passes
//    (failed after `readyTimeoutMs`); a ready one fails after `unhealthyAfter` consecutive failed
//    checks. An exit (own child) or a vanished pid (adopted) is a crash: counted, reported, kept as
//    "failed" until deleted.
// 3. delete: "draining", the `beforeStop` hook (the gateway stops routing and lets in-flight requests
//    finish), SIGTERM to the process group, SIGKILL after `graceMs`, record removed.
// 4. start (adoption): records whose process is still alive and still ours (its /proc environ carries
//    the instance id) are adopted; dead ones are reported lost and removed. Then /proc is swept for
//    processes carrying this owner's mark without a record (a crash between spawn and save): they are
//    adopted from the labels in their environment. No orphans, no duplicates.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { BASE_VERSION, isProviderError, matches, ProviderError, VERSION_LABEL, type Instance, type InstanceSpec, type InstanceState, type ListFilter, type PoolKind, type Provider } from './provider.js';

/** What survives a restart of the control plane (the store keeps it). */
export interface InstanceRecord {
  readonly id: string;
  readonly service: string;
  readonly pool: PoolKind;
  readonly instanceType: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly pid: number;
  readonly port: number;
  readonly createdAt: number;
}

export interface InstanceRegistry {
  saveInstance(r: InstanceRecord): void;
  removeInstance(id: string): void;
  loadInstances(): InstanceRecord[];
}

export type InstanceEventKind = 'created' | 'ready' | 'crashed' | 'unhealthy' | 'draining' | 'deleted' | 'adopted' | 'lost';

export interface InstanceEvent {
  readonly at: number;
  readonly kind: InstanceEventKind;
  readonly instance: string;
  readonly service: string;
  readonly pool: PoolKind;
  readonly detail?: string;
}

export interface VersionSpec {
  readonly command?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export interface LocalProviderOptions {
  /** argv of an instance, e.g. [process.execPath, "dist/examples/sample-service/server.js"]. */
  readonly command: readonly string[];
  readonly cwd?: string;
  /** Environment of every instance (on top of this process's). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Environment an instance gets from its control plane by what it is (its service and pool), on top of
   * its type's: e.g. the addresses of its service's dependencies, the live ones' for live instances and
   * the shadow ones' for shadow and trial instances.
   */
  readonly envFor?: (spec: InstanceSpec) => Readonly<Record<string, string>>;
  /** Environment per instance type (e.g. SLOTS, SERVICE_TIME_MS). */
  readonly instanceTypes: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /**
   * Versions per instance type (the `version` label of a spec): a command in place of `command` and an
   * environment on top of the type's. No label, or "base": the command and the type's env as they are.
   */
  readonly versions?: Readonly<Record<string, Readonly<Record<string, VersionSpec>>>>;
  readonly registry: InstanceRegistry;
  /** Marks this control plane's processes (the store's id), for adoption and the orphan sweep. */
  readonly owner: string;
  /** Earlier marks of the same owner, still adopted (instances started before the store had an id). */
  readonly formerOwners?: readonly string[];
  readonly logDir: string;
  readonly host?: string;
  readonly healthPath?: string;
  readonly healthIntervalMs?: number;
  readonly readyTimeoutMs?: number;
  readonly unhealthyAfter?: number;
  readonly graceMs?: number;
  /** Called before an instance is stopped: stop routing to it and let in-flight requests finish. */
  readonly beforeStop?: (i: Instance) => Promise<void>;
  readonly onEvent?: (e: InstanceEvent) => void;
  readonly now?: () => number;
}

interface Managed {
  record: InstanceRecord;
  state: InstanceState;
  readyAt?: number;
  failure?: string;
  child?: ChildProcess;
  exited: Promise<void>;
  healthFailures: number;
}

const OWNER_ENV = 'SHADOWSCALE_OWNER';
const ID_ENV = 'SHADOWSCALE_INSTANCE_ID';

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The environment of a process, or undefined when it is gone or not readable. */
export function environOf(pid: number): Map<string, string> | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
    const env = new Map<string, string>();
    for (const kv of raw.split('\0')) {
      const i = kv.indexOf('=');
      if (i > 0) env.set(kv.slice(0, i), kv.slice(i + 1));
    }
    return env;
  } catch {
    return undefined;
  }
}

/** Fields of /proc/PID/stat from the third (state) on, or undefined when the process is gone. */
export function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Signal an instance: its whole process group (the command and its children), else the pid alone; gone is fine. */
export function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** Whether a process leads its process group (a spawned instance, not one of its children). */
export const groupLeader = (pid: number): boolean => Number(procStat(pid)?.[2]) === pid;

/** Whether a process runs: kill(0) answers (EPERM: another user's), and it is not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/** A process that carries a local provider's marks (an instance of some control plane). */
export interface MarkedProcess {
  readonly pid: number;
  /** SHADOWSCALE_OWNER: `shadowscale:store:<id>` (or the older `shadowscale:<path>`). */
  readonly owner: string;
  readonly instance: string;
  readonly service: string;
  readonly pool: string;
  readonly port: number;
  /** SHADOWSCALE_DEMO: the demo process that started it, if a demo did. */
  readonly demo: string | undefined;
  /** SHADOWSCALE_STORE: its store's path when it started, if its control plane said. */
  readonly store: string | undefined;
}

/** Every instance process (group leader) on this host that carries an owner mark, from /proc. */
export function markedProcesses(): MarkedProcess[] {
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return [];
  }
  const out: MarkedProcess[] = [];
  for (const pid of pids) {
    if (pid === process.pid) continue;
    const env = environOf(pid);
    const owner = env?.get(OWNER_ENV);
    const instance = env?.get(ID_ENV);
    if (!env || !owner || !instance || !groupLeader(pid)) continue;
    out.push({ pid, owner, instance, service: env.get('SHADOWSCALE_SERVICE') ?? 'unknown', pool: env.get('SHADOWSCALE_POOL') ?? 'unknown', port: Number(env.get('PORT')), demo: env.get('SHADOWSCALE_DEMO'), store: env.get('SHADOWSCALE_STORE') });
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/** Whether a recorded instance's process still runs and is that instance (not a reused pid). */
export function recordAlive(r: InstanceRecord): boolean {
  return pidAlive(r.pid) && environOf(r.pid)?.get(ID_ENV) === r.id;
}

export class LocalProvider implements Provider {
  readonly name = 'local';
  private readonly instances = new Map<string, Managed>();
  private readonly creating = new Map<string, Promise<Instance>>();
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private closed = false;
  /** Crashes seen (exits and vanished processes) since start. */
  crashes = 0;
  private readonly host: string;
  private readonly now: () => number;

  private constructor(private readonly o: LocalProviderOptions) {
    this.host = o.host ?? '127.0.0.1';
    this.now = o.now ?? Date.now;
    if (o.command.length === 0) throw new ProviderError('invalid', 'local provider: command must name a program');
    mkdirSync(o.logDir, { recursive: true });
  }

  /** Start the provider: adopt the instances of a previous run, then watch. */
  static async start(o: LocalProviderOptions): Promise<LocalProvider> {
    const p = new LocalProvider(o);
    p.adopt();
    p.timer = setInterval(() => void p.watch(), o.healthIntervalMs ?? 200);
    p.timer.unref();
    await p.watch();
    return p;
  }

  private emit(kind: InstanceEventKind, r: InstanceRecord, detail?: string): void {
    this.o.onEvent?.({ at: this.now(), kind, instance: r.id, service: r.service, pool: r.pool, ...(detail ? { detail } : {}) });
  }

  private ours(mark: string | undefined): boolean {
    return mark !== undefined && (mark === this.o.owner || (this.o.formerOwners?.includes(mark) ?? false));
  }

  private adopt(): void {
    for (const r of this.o.registry.loadInstances()) {
      const env = pidAlive(r.pid) ? environOf(r.pid) : undefined;
      if (env?.get(ID_ENV) === r.id && this.ours(env.get(OWNER_ENV))) {
        this.instances.set(r.id, { record: r, state: 'starting', healthFailures: 0, exited: this.exitOfPid(r.pid) });
        this.emit('adopted', r, `pid ${r.pid}`);
      } else {
        this.o.registry.removeInstance(r.id);
        this.emit('lost', r, `pid ${r.pid} is gone`);
      }
    }
    // Orphan sweep: our mark, no record.
    let pids: number[];
    try {
      pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
    } catch {
      return; // no /proc: nothing more to find
    }
    for (const pid of pids) {
      if (pid === process.pid) continue;
      const env = environOf(pid);
      const id = env?.get(ID_ENV);
      if (!env || !this.ours(env.get(OWNER_ENV)) || !id || this.instances.has(id)) continue;
      // Only the group leader (the spawned command) is the instance; its children are part of it.
      if (!groupLeader(pid)) continue;
      const pool = env.get('SHADOWSCALE_POOL') === 'shadow' ? 'shadow' : 'live';
      let labels: Record<string, string> = {};
      try {
        labels = JSON.parse(env.get('SHADOWSCALE_LABELS') ?? '{}') as Record<string, string>;
      } catch {
        // labels are informative only
      }
      const r: InstanceRecord = { id, service: env.get('SHADOWSCALE_SERVICE') ?? 'unknown', pool, instanceType: env.get('SHADOWSCALE_INSTANCE_TYPE') ?? 'unknown', labels, pid, port: Number(env.get('PORT')), createdAt: this.now() };
      this.o.registry.saveInstance(r);
      this.instances.set(id, { record: r, state: 'starting', healthFailures: 0, exited: this.exitOfPid(pid) });
      this.emit('adopted', r, `pid ${pid}, found without a record`);
    }
  }

  /** Resolves when a process that is not our child is gone. */
  private exitOfPid(pid: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setInterval(() => {
        if (!pidAlive(pid)) {
          clearInterval(t);
          resolve();
        }
      }, 50);
      t.unref();
    });
  }

  private view(m: Managed): Instance {
    const r = m.record;
    return { id: r.id, service: r.service, pool: r.pool, instanceType: r.instanceType, labels: r.labels, url: `http://${this.host}:${r.port}`, state: m.state, createdAt: r.createdAt, ...(m.readyAt !== undefined ? { readyAt: m.readyAt } : {}), ...(m.failure ? { failure: m.failure } : {}) };
  }

  private fail(m: Managed, why: string, kind: 'crashed' | 'unhealthy'): void {
    if (m.state === 'failed' || m.state === 'draining') return;
    m.state = 'failed';
    m.failure = why;
    if (kind === 'crashed') this.crashes++;
    this.emit(kind, m.record, why);
  }

  private async watch(): Promise<void> {
    await Promise.all(
      [...this.instances.values()].map(async (m) => {
        if (m.state === 'failed' || m.state === 'draining') return;
        if (!m.child && !pidAlive(m.record.pid)) return this.fail(m, `pid ${m.record.pid} vanished`, 'crashed');
        let ok: boolean;
        try {
          const r = await request(`http://${this.host}:${m.record.port}${this.o.healthPath ?? '/healthz'}`, { headersTimeout: 1000, bodyTimeout: 1000 });
          await r.body.dump();
          ok = r.statusCode < 400;
        } catch {
          ok = false;
        }
        // The instance may have been deleted or crashed while the check ran.
        if ((m.state as InstanceState) === 'failed' || (m.state as InstanceState) === 'draining' || !this.instances.has(m.record.id)) return;
        if (ok) {
          m.healthFailures = 0;
          if (m.state === 'starting') {
            m.state = 'ready';
            m.readyAt = this.now();
            this.emit('ready', m.record, `${m.readyAt - m.record.createdAt} ms after create`);
          }
        } else if (m.state === 'starting') {
          if (this.now() - m.record.createdAt > (this.o.readyTimeoutMs ?? 30_000)) this.fail(m, `not ready after ${this.o.readyTimeoutMs ?? 30_000} ms`, 'unhealthy');
        } else if (++m.healthFailures >= (this.o.unhealthyAfter ?? 3)) this.fail(m, `${m.healthFailures} consecutive failed health checks`, 'unhealthy');
      }),
    );
  }

  async create(spec: InstanceSpec): Promise<Instance> {
    const env = this.o.instanceTypes[spec.instanceType];
    if (!env) throw new ProviderError('unknown_instance_type', `unknown instance type "${spec.instanceType}" (have: ${Object.keys(this.o.instanceTypes).join(', ')})`);
    if (this.closed) throw new ProviderError('invalid', 'local provider: closed (no instance is started after close)');
    const version = spec.labels?.[VERSION_LABEL];
    const v = version === undefined || version === BASE_VERSION ? {} : this.o.versions?.[spec.instanceType]?.[version];
    if (!v) throw new ProviderError('invalid', `instance type "${spec.instanceType}" has no version "${version}" (have: ${[BASE_VERSION, ...Object.keys(this.o.versions?.[spec.instanceType] ?? {})].join(', ')})`);
    const id = spec.id ?? `${spec.service}-${spec.pool}-${this.now().toString(36)}-${(++this.seq).toString(36)}`;
    const existing = this.instances.get(id);
    if (existing) return this.view(existing);
    const pending = this.creating.get(id);
    if (pending) return pending;
    const p = this.spawnInstance(id, spec, { ...env, ...v.env }, v.command ?? this.o.command).finally(() => this.creating.delete(id));
    this.creating.set(id, p);
    return p;
  }

  private async spawnInstance(id: string, spec: InstanceSpec, typeEnv: Readonly<Record<string, string>>, command: readonly string[]): Promise<Instance> {
    const port = await freePort(this.host);
    // Closed while the port was found: start nothing that no one would watch or stop.
    if (this.closed) throw new ProviderError('invalid', 'local provider: closed (no instance is started after close)');
    const log = openSync(join(this.o.logDir, `${id}.log`), 'a');
    let child: ChildProcess;
    try {
      child = spawn(command[0] as string, command.slice(1), {
        cwd: this.o.cwd,
        detached: true,
        stdio: ['ignore', log, log],
        env: {
          ...process.env,
          ...this.o.env,
          ...typeEnv,
          ...this.o.envFor?.(spec),
          PORT: String(port),
          HOST: this.host,
          [ID_ENV]: id,
          [OWNER_ENV]: this.o.owner,
          SHADOWSCALE_SERVICE: spec.service,
          SHADOWSCALE_POOL: spec.pool,
          SHADOWSCALE_INSTANCE_TYPE: spec.instanceType,
          SHADOWSCALE_LABELS: JSON.stringify(spec.labels ?? {}),
        },
      });
    } finally {
      closeSync(log);
    }
    if (child.pid === undefined) {
      const err = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw new ProviderError('start_failed', `could not start ${command.join(' ')}: ${err.message}`);
    }
    child.unref();
    const record: InstanceRecord = { id, service: spec.service, pool: spec.pool, instanceType: spec.instanceType, labels: { ...spec.labels }, pid: child.pid, port, createdAt: this.now() };
    try {
      this.o.registry.saveInstance(record);
    } catch (err) {
      // Unrecorded, it would be an orphan no restart adopts: stop it now.
      signalGroup(child.pid, 'SIGKILL');
      throw new ProviderError('start_failed', `${id}: its record could not be saved, so it was stopped (${(err as Error).message})`);
    }
    const m: Managed = {
      record,
      state: 'starting',
      child,
      healthFailures: 0,
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    child.once('exit', (code, signal) => this.fail(m, `exited (code ${code}, signal ${signal})`, 'crashed'));
    this.instances.set(id, m);
    this.emit('created', record, `pid ${child.pid}, port ${port}`);
    return this.view(m);
  }

  async list(filter?: ListFilter): Promise<Instance[]> {
    return [...this.instances.values()].map((m) => this.view(m)).filter((i) => matches(i, filter));
  }

  async get(id: string): Promise<Instance | undefined> {
    const m = this.instances.get(id);
    return m && this.view(m);
  }

  async delete(id: string): Promise<void> {
    const m = this.instances.get(id);
    if (!m) throw new ProviderError('not_found', `no instance "${id}" (already gone)`);
    if (m.state === 'draining') return m.exited;
    const wasFailed = m.state === 'failed';
    m.state = 'draining';
    this.emit('draining', m.record);
    if (!wasFailed) await this.o.beforeStop?.(this.view(m)).catch(() => undefined);
    const pid = m.record.pid;
    const signal = (sig: NodeJS.Signals): void => signalGroup(pid, sig);
    signal('SIGTERM');
    const grace = this.o.graceMs ?? 10_000;
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      signal('SIGKILL');
    }, grace);
    // An adopted process's exit is polled on an unref'd timer: hold the event loop until it is seen, or a
    // short-lived caller (recovery at start, a test) would end with the delete still pending.
    const hold = setInterval(() => undefined, 1000);
    await m.exited;
    clearInterval(hold);
    clearTimeout(timer);
    this.instances.delete(id);
    this.o.registry.removeInstance(id);
    this.emit('deleted', m.record, killed ? `SIGKILL after ${grace} ms` : 'stopped');
  }

  async kill(id: string): Promise<void> {
    const m = this.instances.get(id);
    if (!m) throw new ProviderError('not_found', `no instance "${id}" (already gone)`);
    signalGroup(m.record.pid, 'SIGKILL');
    // Seen as a crash by the exit watch: state failed, the event recorded.
    const hold = setInterval(() => undefined, 1000);
    await m.exited;
    clearInterval(hold);
  }

  async resize(id: string, instanceType: string): Promise<Instance> {
    const old = this.instances.get(id);
    if (!old) throw new ProviderError('not_found', `no instance "${id}" (already gone)`);
    const next = await this.create({ service: old.record.service, pool: old.record.pool, instanceType, labels: old.record.labels });
    const deadline = this.now() + (this.o.readyTimeoutMs ?? 30_000) + 1000;
    for (;;) {
      const state = this.instances.get(next.id)?.state;
      if (state === 'ready') break;
      if (state !== 'starting' || this.now() > deadline) {
        await this.delete(next.id).catch((e: unknown) => (isProviderError(e, 'not_found') ? undefined : Promise.reject(e)));
        throw new ProviderError('not_ready', `resize of "${id}" to ${instanceType}: the new instance did not become ready (${state ?? 'gone'}); the old one keeps serving`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.delete(id);
    return (await this.get(next.id)) as Instance;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    // Instances keep running; the next start adopts them. This provider no longer manages them (a
    // delete after close is "not found", not a wait for an exit no listener will report).
    for (const m of this.instances.values()) m.child?.removeAllListeners('exit');
    this.instances.clear();
  }
}
