// Mirroring a sample of live traffic to the shadow pool, isolated from live traffic:
// 1. `sample` decides per request (random, or consistent by a key's hash; mutations always when asked);
// 2. `submit` (and `reserve` for mutations, which holds the request's place in its key's order from
//    its arrival) never block or throw: they enqueue within a bound, or drop and count;
// 3. a fixed number of senders (its own connection limit) deliver with a short timeout; failures
//    and timeouts are counted, never retried; mutations sharing a key are delivered in arrival order.
// Scrubbed mode takes out every credential and the client's identity (scrub.ts); metadata mode sends
// nothing. docs/reference/mirroring.md says what a shadow receives in each mode.

import { randomBytes } from 'node:crypto';
import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { fieldValue } from './headers.js';
import type { Observation } from './metrics.js';
import { Scrubber } from './scrub.js';
import { MIRROR_DEFAULTS } from './mirror-defaults.js';

export { MIRROR_DEFAULTS } from './mirror-defaults.js';

export type MirrorMode = 'full' | 'scrubbed' | 'metadata';

export interface MirrorOptions {
  readonly targets: readonly string[];
  /** Fraction of requests mirrored (0..1); can be changed at runtime within [minRate, maxRate]. */
  readonly rate: number;
  readonly minRate: number;
  readonly maxRate: number;
  /** Consistent sampling key: a header name, or "client-address"; random sampling when absent. */
  readonly key?: string;
  readonly mirrorMutations: boolean;
  readonly mutationMethods: readonly string[];
  readonly mode: MirrorMode;
  /** Scrubbed mode: headers removed, and field names redacted (query, JSON, form), on top of the defaults. */
  readonly scrubHeaders: readonly string[];
  readonly redactJsonFields: readonly string[];
  /** Scrubbed mode: names the defaults would redact that are not secret here. */
  readonly keepFields: readonly string[];
  /** Scrubbed mode: the client's address is dropped, or X-Forwarded-For becomes a keyed hash. */
  readonly clientAddress: 'drop' | 'hash';
  readonly maxBodyBytes: number;
  readonly queueLimit: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  /** Metadata records kept (the most recent). */
  readonly metadataLimit: number;
  /** Metadata mode: also append every record to this JSON Lines file (replayable). */
  readonly recordFile?: string;
  /** The service a record names in the file (`run`, whose services share `gateway.mirror.recordFile`). */
  readonly recordService?: string;
  /**
   * A/B arms in the shadow (src/proof/ab.ts): the fraction of requests, sampled on their own, that every
   * arm receives (the same requests to each arm). 0: no arms.
   */
  readonly armRate: number;
  /**
   * Stateful shadows (shadow.sync: snapshot): every mutation reaches every shadow target (not one of them
   * in turn), and the gateway stamps each live mutation with `x-shadowscale-seq: ORIGIN.N` for the
   * versioned sync (beginSync / finishSync).
   */
  readonly stateful: boolean;
}

/** The header carrying a mutation's sequence number (ORIGIN.N) to live and to the shadow. */
export const SEQ_HEADER = 'x-shadowscale-seq';
/** Mutations one syncing shadow may have waiting; beyond it the sync is abandoned (and retried). */
export const SYNC_BUFFER_LIMIT = 200_000;


/**
 * Each arm's delivery: its own connections, many, so that a slow arm queues at its own balancer (where
 * it is measured) rather than in the mirror, and at most `inFlight` requests outstanding (past it, a
 * request is dropped for that arm and counted).
 */
export const ARM_LIMITS = { connections: 512, inFlight: 4096, timeoutMs: 30_000 } as const;

/** Per warming target: connections, copies in flight (beyond: dropped), answer timeout. */
export const WARM_LIMITS = { connections: 16, inFlight: 256, timeoutMs: 30_000 } as const;

export interface MirroredRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer | undefined;
  /** The body was larger than the cap and was not kept: the request is dropped, not mirrored. */
  readonly oversized?: boolean;
  /** Ordering key for mutations (the sampling key's value, or the path). */
  readonly orderKey: string;
  /** Where it goes: the shadow pool (default true) and every A/B arm (default false). */
  readonly toShadow?: boolean;
  readonly toArms?: boolean;
}

/** What metadata mode records of a sampled request (nothing is forwarded). */
export interface RequestMetadata {
  readonly at: number;
  readonly method: string;
  /** Path without the query string. */
  readonly route: string;
  readonly headerNames: readonly string[];
  readonly requestBytes: number;
  readonly status: number;
  /** Response bytes on the wire (status line and headers included). */
  readonly responseBytes: number;
  readonly durationMs: number;
}

/**
 * The recent mirrored requests kept for the proof gate's trials to replay (src/proof): the newest
 * `requests`, each as sent to the shadow (scrubbed in scrubbed mode), with its body when at most
 * `maxBodyBytes`, and all bodies together at most `bodyBytes` (past it the oldest lose theirs). With
 * request targets bounded by node's 16 KiB header limit, the ring holds at most 2,000 x 16 KiB of paths
 * and 16 MiB of bodies: under 64 MiB whatever the traffic.
 */
export const REPLAY_LIMITS = { requests: 2000, bodyBytes: 16 << 20, maxBodyBytes: 64 << 10 } as const;

/** A request to replay: what the load generator sends. */
export interface ReplayRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: Buffer;
}

export interface MirrorStats {
  sampled: number;
  mirrored: number;
  /** Not sent: queue full, body over the cap, or unredactable body. */
  dropped: number;
  /** Sent but failed or timed out at the shadow. */
  failed: number;
  inFlight: number;
  /** Waiting to be sent (ordered mutations and the queue). */
  queued: number;
  /** A/B arms: requests sampled for the arms, copies sent (one per arm), failed, and dropped (an arm far behind). */
  armSampled: number;
  armSent: number;
  armFailed: number;
  armDropped: number;
  /** Warming targets (new live instances before they take client requests, the warm pool): copies sent, failed, dropped (a target far behind). */
  warmSent: number;
  warmFailed: number;
  warmDropped: number;
}

export const MIRROR_COUNTERS = ['sampled', 'mirrored', 'dropped', 'failed', 'inFlight', 'queued', 'armSampled', 'armSent', 'armFailed', 'armDropped', 'warmSent', 'warmFailed', 'warmDropped'] as const;

/** A target that gets copies beside the shadow (an A/B arm, a warming instance): its own connections, its copies in flight. */
interface SideTarget {
  readonly url: string;
  readonly pool: Pool;
  inFlight: number;
}

/**
 * One copy to a side target, its answer discarded: at most `limit` in flight (beyond, dropped); `done` is
 * told once whether it was sent (answered), failed or dropped.
 */
function sendCopy(a: SideTarget, r: MirroredRequest, limit: number, done: (outcome: 'sent' | 'failed' | 'dropped') => void): void {
  if (a.inFlight >= limit) return done('dropped');
  a.inFlight++;
  let settled = false;
  const settle = (ok: boolean): void => {
    if (settled) return;
    settled = true;
    a.inFlight--;
    done(ok ? 'sent' : 'failed');
  };
  try {
    a.pool.dispatch({ method: r.method, path: r.path, headers: r.headers, body: r.body ?? null }, { onConnect: () => undefined, onHeaders: () => true, onData: () => true, onComplete: () => settle(true), onError: () => settle(false) });
  } catch {
    settle(false);
  }
}

/** Side targets for `urls`: kept ones keep their connections, new ones get theirs, removed ones are destroyed (their queued copies dropped). */
function replaceTargets(old: readonly SideTarget[], urls: readonly string[], limits: { readonly connections: number; readonly timeoutMs: number }, connectTimeout: number): SideTarget[] {
  const keep = new Map(old.map((a) => [a.url, a]));
  const next = [...new Set(urls)];
  for (const [url, a] of keep) if (!next.includes(url)) void a.pool.destroy().catch(() => undefined);
  return next.map((url) => keep.get(url) ?? { url, pool: new Pool(url, { connections: limits.connections, headersTimeout: limits.timeoutMs, bodyTimeout: limits.timeoutMs, connectTimeout }), inFlight: 0 });
}

/** FNV-1a, 32 bit: a stable hash for consistent sampling. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A mirrored mutation's sequence number under `origin` (its x-shadowscale-seq), if it carries one. */
export function seqOf(r: { readonly headers: Readonly<Record<string, string | string[] | undefined>> }, origin: string): number | undefined {
  const v = r.headers[SEQ_HEADER];
  const h = Array.isArray(v) ? v[0] : v;
  if (!h || !h.startsWith(`${origin}.`)) return undefined;
  const n = Number(h.slice(origin.length + 1));
  return Number.isInteger(n) ? n : undefined;
}

export class Mirror {
  private readonly o: MirrorOptions;
  private rate: number;
  private pools: Pool[];
  private targets: string[];
  private next = 0;
  private readonly queue: MirroredRequest[] = [];
  private readonly keyChains = new Map<string, Promise<void>>();
  private readonly stats: MirrorStats = { sampled: 0, mirrored: 0, dropped: 0, failed: 0, inFlight: 0, queued: 0, armSampled: 0, armSent: 0, armFailed: 0, armDropped: 0, warmSent: 0, warmFailed: 0, warmDropped: 0 };
  private arms: SideTarget[] = [];
  private warm: SideTarget[] = [];
  private nextWarm = 0;
  private readonly scrubber: Scrubber;
  private readonly replay: ReplayRequest[] = [];
  private replayHead = 0;
  private replayBytes = 0;
  /** The oldest `replayStripped` kept requests have lost their bodies (stripping goes oldest first). */
  private replayStripped = 0;
  private closed = false;
  private readonly keyLower: string;
  private readonly records: RequestMetadata[] = [];
  private recordHead = 0;
  private recorded = 0;
  private recordDropped = 0;
  private recordStream: WriteStream | undefined;
  /** This process's mutation stamps: ORIGIN.N, N from 1 (a cluster's workers each have their own origin). */
  readonly origin = randomBytes(6).toString('hex');
  private seq = 0;
  /**
   * Stamped mutations not settled on both sides: live has not answered yet (it may apply it after a
   * snapshot is read), or the mirror has not sent nor dropped it yet. With the copy once the mirror sent it:
   * a shadow whose sync begins now never got that copy, and must.
   */
  private readonly pending = new Map<number, { live: boolean; mirror: boolean; sent?: MirroredRequest }>();
  /** Shadows being synced: their mutations wait here until the snapshot is in (finishSync). */
  private readonly syncing = new Map<string, { buffer: MirroredRequest[]; overflowed: boolean }>();

  constructor(
    options: Partial<MirrorOptions> & { targets: readonly string[] },
    private readonly random: () => number = Math.random,
    /** Told of every delivered request (the shadow pool's measurement). */
    private readonly onResult?: (o: Observation) => void,
  ) {
    this.o = { ...MIRROR_DEFAULTS, ...options };
    if (!(this.o.rate >= 0 && this.o.rate <= 1)) throw new RangeError(`mirror rate must be within 0..1, got ${this.o.rate}`);
    this.rate = this.o.rate;
    this.targets = [...this.o.targets];
    this.pools = this.targets.map((t) => this.newPool(t, this.targets.length));
    this.scrubber = new Scrubber({ headers: this.o.scrubHeaders, fields: this.o.redactJsonFields, keep: this.o.keepFields, clientAddress: this.o.clientAddress });
    this.keyLower = (this.o.key ?? '').toLowerCase();
    // Opened here, synchronously: a path that cannot take records (a directory, no permission) fails
    // the start instead of every record being dropped later.
    this.recordStream = this.o.recordFile ? createWriteStream('', { fd: openSync(this.o.recordFile, 'a') }) : undefined;
    // A recording error (disk full, ...) must not reach live traffic: count the lines lost instead.
    this.recordStream?.on('error', () => undefined);
  }

  private newPool(target: string, targets: number): Pool {
    const perTarget = Math.max(1, Math.ceil(this.o.concurrency / Math.max(1, targets)));
    return new Pool(target, { connections: perTarget, headersTimeout: this.o.timeoutMs, bodyTimeout: this.o.timeoutMs, connectTimeout: this.o.timeoutMs });
  }

  /**
   * Replace the shadow targets at runtime (the shadow pool manager). Kept targets keep their
   * connections; requests in flight to a removed target finish or fail and are counted.
   */
  setTargets(targets: readonly string[]): void {
    const keep = new Map(this.targets.map((t, i) => [t, this.pools[i] as Pool]));
    const next = [...new Set(targets)];
    this.pools = next.map((t) => keep.get(t) ?? this.newPool(t, next.length));
    // A shadow removed while it was being synced: nothing to sync any more.
    for (const url of [...this.syncing.keys()]) if (!next.includes(url)) this.syncing.delete(url);
    // Destroyed, not closed: close() would still deliver the queued copies, to whatever listens on that address
    // next (a local instance's port is reused: a new shadow would get mutations meant for a dead one, twice).
    for (const [t, pool] of keep) if (!next.includes(t)) void pool.destroy().catch(() => undefined);
    this.targets = next;
  }

  getTargets(): readonly string[] {
    return this.targets;
  }

  /** The next mutation stamp (the gateway puts it on the live request and the mirrored copy). */
  stamp(): { header: string; seq: number } {
    const seq = ++this.seq;
    this.pending.set(seq, { live: false, mirror: false });
    return { header: `${this.origin}.${seq}`, seq };
  }

  /**
   * One side of a stamped mutation is settled: `live` once live answered (or failed), `mirror` once the
   * mirror sent its copy (`sent`), dropped it, or never had it. Forgotten when both are.
   */
  settleStamp(seq: number | undefined, side: 'live' | 'mirror', sent?: MirroredRequest): void {
    if (seq === undefined) return;
    const p = this.pending.get(seq);
    if (!p) return;
    p[side] = true;
    if (sent) p.sent = sent;
    if (p.live && p.mirror) this.pending.delete(seq);
  }

  /**
   * Start the versioned sync of a shadow (before it becomes a target): from now on its mutations wait in
   * a buffer. Returns, per origin, the lowest sequence number that may still reach it: the snapshot read
   * next must say which mutations from there on it already contains.
   */
  beginSync(url: string): Record<string, number> {
    // Copies already sent elsewhere of mutations live may still apply: held for this shadow too (the
    // snapshot may not have them). Those not sent yet arrive through send() and are held there.
    const held = [...this.pending].filter(([, p]) => p.sent !== undefined).sort((a, b) => a[0] - b[0]).map(([, p]) => p.sent as MirroredRequest);
    this.syncing.set(url, { buffer: held, overflowed: false });
    let since = this.seq + 1;
    for (const q of this.pending.keys()) if (q < since) since = q;
    return { [this.origin]: since };
  }

  /**
   * The snapshot is in: the buffered mutations go to the shadow in their keys' order, except those the
   * snapshot already contains (`applied`, per origin). A buffer that overflowed releases nothing (the
   * caller syncs again).
   */
  finishSync(url: string, applied: Readonly<Record<string, readonly number[]>>): { released: number; skipped: number; overflowed: boolean } {
    const st = this.syncing.get(url);
    this.syncing.delete(url);
    if (!st) return { released: 0, skipped: 0, overflowed: false };
    if (st.overflowed) return { released: 0, skipped: 0, overflowed: true };
    const contained = new Set(applied[this.origin] ?? []);
    const byKey = new Map<string, MirroredRequest[]>();
    let skipped = 0;
    for (const r of st.buffer) {
      const n = seqOf(r, this.origin);
      if (n !== undefined && contained.has(n)) {
        skipped++;
        continue;
      }
      const list = byKey.get(r.orderKey) ?? [];
      list.push(r);
      byKey.set(r.orderKey, list);
    }
    const pool = this.pools[this.targets.indexOf(url)];
    let released = 0;
    if (pool) {
      for (const list of byKey.values()) {
        released += list.length;
        // One key's mutations one after the other (their arrival order); keys in parallel.
        void list.reduce<Promise<void>>((prev, r) => prev.then(() => new Promise<void>((resolve) => this.deliver(pool, r, resolve))), Promise.resolve());
      }
    }
    return { released, skipped, overflowed: false };
  }

  /** Give a sync up: its buffer is dropped. */
  abortSync(url: string): number {
    const n = this.syncing.get(url)?.buffer.length ?? 0;
    this.syncing.delete(url);
    return n;
  }

  /** Replace the A/B arms (one URL each: the arm's own balancer). Kept arms keep their connections. */
  setArms(urls: readonly string[]): void {
    this.arms = replaceTargets(this.arms, urls, ARM_LIMITS, this.o.timeoutMs);
  }

  /**
   * Replace the warming targets: instances that get a copy of sampled reads (never mutations: they hold
   * no copy of live's state), answers discarded and not measured, so they are warm before they serve.
   */
  setWarmTargets(urls: readonly string[]): void {
    this.warm = replaceTargets(this.warm, urls, WARM_LIMITS, this.o.timeoutMs);
  }

  getWarmTargets(): readonly string[] {
    return this.warm.map((a) => a.url);
  }

  get mode(): MirrorMode {
    return this.o.mode;
  }

  get maxBodyBytes(): number {
    return this.o.maxBodyBytes;
  }

  /** Change the sampling rate at runtime (the sampling controller); clamped to the configured bounds. */
  setRate(rate: number): number {
    this.rate = Math.min(this.o.maxRate, Math.max(this.o.minRate, rate));
    return this.rate;
  }

  getRate(): number {
    return this.rate;
  }

  isMutation(method: string): boolean {
    return this.o.mutationMethods.includes(method.toUpperCase());
  }

  /** The value requests are sampled (and mutations ordered) by, if a key is configured. */
  keyOf(fields: readonly string[], clientAddress: string | undefined): string | undefined {
    if (!this.o.key) return undefined;
    if (this.o.key === 'client-address') return clientAddress;
    return fieldValue(fields, this.keyLower);
  }

  /** Whether this request goes to the shadow. */
  sample(method: string, key: string | undefined): boolean {
    // Metadata mode records locally and needs no shadow targets. A stateful service's mutations are taken
    // even with none: a shadow whose sync begins before live has answered one must get it.
    if (this.pools.length === 0 && this.warm.length === 0 && this.o.mode !== 'metadata' && !(this.o.stateful && this.o.mirrorMutations && this.isMutation(method))) return false;
    const take = (this.o.mirrorMutations && this.isMutation(method)) || (key !== undefined ? fnv1a(key) / 4294967296 < this.rate : this.random() < this.rate);
    if (take) this.stats.sampled++;
    return take;
  }

  /**
   * Whether this request goes to the A/B arms: a draw of its own (so the arms' share does not depend on
   * the shadow's rate), by the key's hash when a key is configured (salted: another draw than the
   * shadow's); mutations always when mutations are mirrored. Metadata mode forwards nothing.
   */
  sampleArms(method: string, key: string | undefined): boolean {
    if (this.arms.length === 0 || this.o.mode === 'metadata' || this.closed) return false;
    const take = (this.o.mirrorMutations && this.isMutation(method)) || (key !== undefined ? fnv1a(`ab:${key}`) / 4294967296 < this.o.armRate : this.random() < this.o.armRate);
    if (take) this.stats.armSampled++;
    return take;
  }

  /**
   * For a sampled mutation: take its place in its key's order now (at arrival); call the returned
   * function once its body has arrived (or with undefined to give the place up). Never blocks.
   */
  reserve(orderKey: string, seq?: number): (req: MirroredRequest | undefined) => void {
    let fill: (r: MirroredRequest | undefined) => void = () => undefined;
    const ready = new Promise<MirroredRequest | undefined>((resolve) => (fill = resolve));
    if (this.closed || this.o.mode === 'metadata' || this.stats.queued + this.queue.length + this.stats.inFlight >= this.o.queueLimit) {
      this.stats.dropped++;
      this.settleStamp(seq, 'mirror');
      return () => undefined;
    }
    const prev = this.keyChains.get(orderKey) ?? Promise.resolve();
    this.stats.queued++;
    // Mutations with the same key go one after the other, in arrival order.
    const chained = prev.then(async () => {
      const req = await ready;
      this.stats.queued--;
      const prepared = req && this.prepare(req);
      if (!prepared || prepared.toShadow === false) this.settleStamp(seq, 'mirror');
      if (!prepared) {
        if (req?.toShadow !== false) this.stats.dropped++;
        if (req?.toArms) this.stats.armDropped += this.arms.length;
        return;
      }
      // The next mutation of the key waits until this one has reached the shadow and every arm.
      await Promise.all([prepared.toShadow !== false ? new Promise<void>((resolve) => this.send(prepared, resolve)) : undefined, prepared.toArms ? this.sendArms(prepared) : undefined]);
    });
    this.keyChains.set(orderKey, chained);
    void chained.then(() => {
      if (this.keyChains.get(orderKey) === chained) this.keyChains.delete(orderKey);
    });
    return fill;
  }

  /** Enqueue a sampled request (not a mutation: see `reserve`); never blocks or throws. */
  submit(req: MirroredRequest): void {
    if (this.closed || this.o.mode === 'metadata') return;
    const prepared = this.prepare(req);
    if (prepared?.toArms) void this.sendArms(prepared);
    else if (!prepared && req.toArms) this.stats.armDropped += this.arms.length;
    if (req.toShadow === false) return;
    if (!prepared || this.stats.queued + this.queue.length + this.stats.inFlight >= this.o.queueLimit) {
      this.stats.dropped++;
      return;
    }
    this.queue.push(prepared);
    this.pump();
  }

  /** Metadata mode: keep the record of a sampled request (a ring of the most recent). */
  record(m: RequestMetadata): void {
    this.recorded++;
    if (this.recordStream) {
      // Bounded: when the file cannot keep up, records are dropped and counted, never queued without limit.
      if (this.recordStream.writableLength < 8 << 20 && !this.recordStream.errored) this.recordStream.write(`${JSON.stringify(this.o.recordService === undefined ? m : { service: this.o.recordService, ...m })}\n`);
      else this.recordDropped++;
    }
    if (this.records.length < this.o.metadataLimit) this.records.push(m);
    else {
      this.records[this.recordHead] = m;
      this.recordHead = (this.recordHead + 1) % this.o.metadataLimit;
    }
  }

  /** The kept metadata records, oldest first, and how many were recorded in all. */
  metadata(): { records: RequestMetadata[]; total: number; recordDropped: number } {
    return { records: [...this.records.slice(this.recordHead), ...this.records.slice(0, this.recordHead)], total: this.recorded, recordDropped: this.recordDropped };
  }

  /** Keep a request as sent to the shadow for replay (bounded: REPLAY_LIMITS). */
  private remember(r: MirroredRequest): void {
    const body = r.body && r.body.length > 0 && r.body.length <= REPLAY_LIMITS.maxBodyBytes ? r.body : undefined;
    const item: ReplayRequest = body ? { method: r.method, path: r.path, body } : { method: r.method, path: r.path };
    if (this.replay.length < REPLAY_LIMITS.requests) this.replay.push(item);
    else {
      this.replayBytes -= this.replay[this.replayHead]?.body?.length ?? 0;
      this.replay[this.replayHead] = item;
      this.replayHead = (this.replayHead + 1) % REPLAY_LIMITS.requests;
      if (this.replayStripped > 0) this.replayStripped--;
    }
    this.replayBytes += body?.length ?? 0;
    // Over the byte budget: the oldest requests lose their bodies (they are still replayed, bodiless).
    while (this.replayBytes > REPLAY_LIMITS.bodyBytes && this.replayStripped < this.replay.length) {
      const i = (this.replayHead + this.replayStripped) % this.replay.length;
      const old = this.replay[i] as ReplayRequest;
      if (old.body) {
        this.replayBytes -= old.body.length;
        this.replay[i] = { method: old.method, path: old.path };
      }
      this.replayStripped++;
    }
  }

  /** The kept requests, oldest first, and their bodies' bytes. */
  recent(): { requests: ReplayRequest[]; bodyBytes: number } {
    return { requests: [...this.replay.slice(this.replayHead), ...this.replay.slice(0, this.replayHead)], bodyBytes: this.replayBytes };
  }

  snapshot(): Readonly<MirrorStats> & { rate: number } {
    return { ...this.stats, queued: this.stats.queued + this.queue.length, rate: this.rate };
  }

  /**
   * Reopen the record file by its name (after logrotate moved it away: the records go on in the file now at
   * that path, as nginx's USR1). False without a record file; throws when the path cannot be opened, and
   * the records go on to the file already open.
   */
  reopenRecord(): boolean {
    const file = this.o.recordFile;
    if (!file || this.closed) return false;
    const fd = openSync(file, 'a');
    const old = this.recordStream;
    this.recordStream = createWriteStream('', { fd });
    this.recordStream.on('error', () => undefined);
    // What the old stream holds still goes to the moved file, then it closes.
    old?.end();
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    const flushed = this.recordStream ? new Promise<void>((resolve) => (this.recordStream as WriteStream).end(() => resolve())) : Promise.resolve();
    await Promise.all([...this.pools.map((p) => p.destroy()), ...this.arms.map((a) => a.pool.destroy()), ...this.warm.map((a) => a.pool.destroy()), flushed]);
  }

  private prepare(req: MirroredRequest): MirroredRequest | undefined {
    if (req.oversized || (req.body && req.body.length > this.o.maxBodyBytes)) return undefined;
    if (this.o.mode === 'full') {
      if (req.toShadow !== false) this.remember(req);
      return req;
    }
    const sc = this.scrubber;
    const headers = sc.headers(req.headers);
    let body = req.body;
    if (body && body.length) {
      const scrubbed = sc.body(body, String(req.headers['content-type'] ?? ''));
      // A body that claims JSON or a form but cannot be parsed cannot be told safe: not mirrored.
      if (!scrubbed) return undefined;
      if (scrubbed.changed) {
        body = scrubbed.body;
        headers['content-length'] = String(body.length);
      }
    }
    const prepared = { ...req, path: sc.path(req.path), headers, body };
    if (req.toShadow !== false) this.remember(prepared);
    return prepared;
  }

  /**
   * Deliver one request to every arm, at once (arrivals stay open-loop; each arm's balancer queues and
   * measures). Resolves when every copy has ended, whatever the outcome; never retried.
   */
  private sendArms(r: MirroredRequest): Promise<void> {
    const count = { sent: 'armSent', failed: 'armFailed', dropped: 'armDropped' } as const;
    return Promise.all(this.arms.map((a) => new Promise<void>((resolve) => sendCopy(a, r, ARM_LIMITS.inFlight, (outcome) => {
      this.stats[count[outcome]]++;
      resolve();
    })))).then(() => undefined);
  }

  /** A sampled read to the next warming target, fire and forget (bounded per target; never waits). */
  private sendWarm(r: MirroredRequest): void {
    if (this.warm.length === 0) return;
    const count = { sent: 'warmSent', failed: 'warmFailed', dropped: 'warmDropped' } as const;
    sendCopy(this.warm[this.nextWarm++ % this.warm.length] as SideTarget, r, WARM_LIMITS.inFlight, (outcome) => this.stats[count[outcome]]++);
  }

  private pump(): void {
    while (this.stats.inFlight < this.o.concurrency && this.queue.length > 0) {
      this.send(this.queue.shift() as MirroredRequest);
    }
  }

  /**
   * Deliver one request; `done` is told when it has ended, whatever the outcome. A stateful service's
   * mutation goes to every shadow target (a syncing one buffers it), anything else to one in turn.
   */
  private send(r: MirroredRequest, done?: () => void): void {
    if (!this.isMutation(r.method)) this.sendWarm(r);
    const mutation = this.o.stateful && this.isMutation(r.method);
    // Every shadow being synced holds a stateful mutation, a target already or not yet (its sync begins
    // before it becomes one).
    if (mutation) {
      for (const st of this.syncing.values()) {
        if (st.buffer.length >= SYNC_BUFFER_LIMIT) st.overflowed = true;
        else st.buffer.push(r);
      }
    }
    const pools = mutation ? this.pools.filter((_, i) => !this.syncing.has(this.targets[i] as string)) : this.pools;
    // Kept (with the copy) until live has answered too: a sync beginning meanwhile holds it for its shadow.
    this.settleStamp(seqOf(r, this.origin), 'mirror', mutation ? r : undefined);
    if (pools.length === 0) {
      if (!mutation || this.syncing.size === 0) this.stats.dropped++;
      done?.();
      return;
    }
    if (!mutation) return this.deliver(this.pools[this.next++ % this.pools.length] as Pool, r, done);
    let left = pools.length;
    const one = (): void => {
      if (--left === 0) done?.();
    };
    for (const pool of pools) this.deliver(pool, r, one);
  }

  /** Send one request to one shadow target, counted; `done` when it has ended. */
  private deliver(pool: Pool, r: MirroredRequest, done?: () => void): void {
    this.stats.inFlight++;
    const t0 = performance.now();
    let status = 0;
    let bytesOut = 0;
    let settled = false;
    const settle = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      if (ok && status < 500) this.stats.mirrored++;
      else this.stats.failed++;
      this.stats.inFlight--;
      this.onResult?.({ method: r.method, path: r.path, status, durationMs: performance.now() - t0, bytesIn: r.body?.length ?? 0, bytesOut, mutation: this.isMutation(r.method) });
      done?.();
      // Never from inside undici's callback: its error path fails every queued request of a client and
      // then asserts that the client is empty, so a request dispatched from onError (to the same client,
      // e.g. a shadow that just went away) trips that assertion and throws out of the socket's handler.
      queueMicrotask(() => this.pump());
    };
    // The dispatch API: the answer is counted as it arrives and dropped, with no stream or promise per request.
    try {
      pool.dispatch(
        { method: r.method, path: r.path, headers: r.headers, body: r.body ?? null },
        {
          onConnect: () => undefined,
          onHeaders: (statusCode) => {
            status = statusCode;
            return true;
          },
          onData: (chunk) => {
            bytesOut += chunk.length;
            return true;
          },
          onComplete: () => settle(true),
          onError: () => settle(false),
        },
      );
    } catch {
      settle(false);
    }
  }
}
