// The data plane: every request goes to one live member (power of two choices) and, when sampled,
// a copy goes to the shadow pool through the Mirror, which can never delay or fail the live request.
//
// 1. Pick a healthy live member (503 `no_healthy_upstream` when none).
// 2. Stream the request body to it; when the request is sampled, keep a copy of the body up to the
//    mirror's size cap and hand it to the mirror once the body has arrived.
// 3. Stream the response back without hop-by-hop fields. Upstream failures answer 502
//    (`upstream_unreachable`, `upstream_reset`) or 504 (`upstream_timeout`), named in
//    `x-shadowscale-reason`; consecutive failures eject a member for a while (passive ejection).
// Malformed requests, and requests whose target or Host cannot be forwarded, are answered 400 by the
// front end and never reach an upstream or count against a member (see target.ts).

import { STATUS_CODES } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import { pickTwoChoices, type Member } from './balancer.js';
import { forwardHeaders, headerRecord, responseHeaders } from './headers.js';
import { CLIENT_ABORTED, FrontServer, type FrontRequest, type FrontResponse } from './http1.js';
import { listenOn } from './listen.js';
import { TrafficMetrics } from './metrics.js';
import { Mirror, SEQ_HEADER, type MirroredRequest, type MirrorOptions } from './mirror.js';

/** Remove every occurrence of a header (lower-case name) from a flat [name, value, ...] list, in place. */
function stripHeader(headers: string[], name: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) if ((headers[i] as string).toLowerCase() === name) headers.splice(i, 2);
}

/** A live member given with its weight and, when a coordinator assigns them (the cluster), its id. */
export interface MemberSpec {
  readonly url: string;
  readonly weight?: number;
  readonly id?: string;
}

export interface GatewayOptions {
  readonly live: readonly (string | MemberSpec)[];
  readonly shadow?: readonly string[];
  readonly mirror?: Partial<Omit<MirrorOptions, 'targets'>>;
  /** Upstream response-header and body-idle timeout (ms). */
  readonly requestTimeoutMs?: number;
  /** Consecutive failures that eject a live member, and for how long (ms). */
  readonly ejectAfterFailures?: number;
  readonly ejectForMs?: number;
  /** Route classes measured (first path segments, e.g. "/api"); learned from the live pool's answers when absent. */
  readonly routes?: readonly string[];
  /** Measure each live member apart per interval (IntervalView.members), for switchovers; off: nothing more on the request path. */
  readonly measureMembers?: boolean;
  /** Injected randomness (tests pass a seeded generator). */
  readonly random?: () => number;
  /** Injected wall clock (ms) for ejection and record times; latencies use the monotonic clock. */
  readonly now?: () => number;
  /**
   * Answer mutations (POST, PUT, PATCH, DELETE) 200 without forwarding them, counted in `stats.absorbed`:
   * the shadow router's part for a stateful service, whose shadow's state follows live's (its sync and its
   * mirrored writes): a caller's shadow or trial repeats writes live made, which would apply twice.
   */
  readonly absorbMutations?: boolean;
  /** Active health checks of the live members: GET `path` every `intervalMs`; 2xx/3xx is healthy. */
  readonly healthCheck?: { readonly path: string; readonly intervalMs: number; readonly timeoutMs?: number };
}

export interface LiveMember extends Member {
  readonly pool: Pool;
  /** The last active health check passed (true without health checks). */
  checkOk: boolean;
  /** Passive ejection after consecutive failures: not routed to until then (ms). */
  ejectedUntil: number;
  failures: number;
  requests: number;
  /**
   * Fault injection (as Envoy's fault filter delays): every request routed to this member waits this
   * long before it is sent, and the wait is part of its measured latency. 0 in normal operation; the
   * proof's chaos trials (src/proof/trial.ts) set it on their own gateway, never on the live one.
   */
  delayMs: number;
}

export interface GatewayStats {
  requests: number;
  errors: Record<string, number>;
  /**
   * Requests by calling service (the `x-shadowscale-caller` field a service sets on its calls to its
   * dependencies): at most CALLERS_KEPT names of service form, then "other". What dependency ratios are learned from.
   */
  callers: Record<string, number>;
  /** Mutations answered without forwarding (GatewayOptions.absorbMutations). */
  absorbed: number;
}

/** The field a calling service names itself in, and how many distinct callers a gateway counts apart. */
export const CALLER_HEADER = 'x-shadowscale-caller';
export const CALLERS_KEPT = 64;
const CALLER_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The caller a request names (the first x-shadowscale-caller field), or undefined. */
function callerOf(raw: readonly string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as string;
    if (n.length === CALLER_HEADER.length && n.toLowerCase() === CALLER_HEADER) return raw[i + 1];
  }
  return undefined;
}

/** One service's data plane without a listener of its own: a front end (its own, or a routed one) hands it requests. */
export interface ServiceGateway {
  readonly members: LiveMember[];
  readonly mirror: Mirror;
  readonly metrics: TrafficMetrics;
  readonly stats: GatewayStats;
  /** Add a live member at runtime (weight 1 by default; an id when a coordinator assigns it); returns it. */
  addLive(url: string, weight?: number, id?: string): LiveMember;
  /** Drain a live member: no new requests; it is removed once its in-flight requests finish. */
  removeLive(id: string): Promise<boolean>;
  /** Fault injection: delay every request to member `id` by `ms` (0 ends it); false when unknown. */
  setDelay(id: string, ms: number): boolean;
  /** Serve one request (what a front end calls). */
  handle(req: FrontRequest, res: FrontResponse): void;
  /** Tell it a request the front end refused (malformed): counted in its stats. */
  refused(reason: string): void;
  /** Stop its health checks and close its upstream connections and mirror. */
  close(): Promise<void>;
}

/** What a gateway offers its owner whether it has a listener of its own or sits behind a routed front end. */
export type GatewayCore = Omit<ServiceGateway, 'handle' | 'refused'>;

/** A service's gateway with its own front end (one service per listener). */
export interface Gateway extends GatewayCore {
  readonly server: Server;
  /** Listen; an address that cannot be listened on is SHADOWSCALE_E_USAGE naming `what` (e.g. "--listen"). */
  listen(port: number, host?: string, what?: string): Promise<AddressInfo>;
  close(): Promise<void>;
}

interface ExchangeContext {
  readonly metrics: TrafficMetrics;
  readonly mirror: Mirror;
  readonly stats: GatewayStats;
  readonly now: () => number;
  readonly fail: (res: FrontResponse, status: number, reason: string) => void;
  readonly ejectAfter: number;
  readonly ejectFor: number;
}

const CLIENT_CLOSED = new Error('client closed the connection');

/**
 * One proxied request, as undici's dispatch handler: the live upstream's answer is written to the client
 * as it arrives (paused while the client's socket is full); the outcome is measured once.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private status = 0;
  private finished = false;
  private clientGone = false;
  /** undici refused the request before sending it: no upstream saw it, so it is not live traffic. */
  private unsent = false;
  /** The exchange failed (before or during the response): an error of the live pool. */
  private failed = false;
  private abortUpstream: ((err: Error) => void) | undefined;
  private resumeUpstream: () => void = () => undefined;
  /** Latency is timed on the monotonic clock (sub-millisecond, as the mirror times the shadow). */
  private readonly started = performance.now();

  constructor(
    private readonly c: ExchangeContext,
    private readonly member: LiveMember,
    private readonly req: FrontRequest,
    private readonly res: FrontResponse,
    private readonly t: number,
    private readonly mutation: boolean,
    private readonly sampled: boolean,
      /** A stateful service's mutation stamp: settled (for the versioned sync) once live has answered. */
    private readonly seq?: number,
  ) {
    if (mutation) c.metrics.liveMutationsOpen++;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.clientGone) abort(CLIENT_CLOSED);
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    this.status = statusCode;
    if (this.res.ended) return false;
    this.res.writeHead(statusCode, statusText, responseHeaders(raw));
    this.resumeUpstream = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.ended) return true;
    const ok = this.res.write(chunk);
    if (!ok) this.res.onDrain(this.resumeUpstream);
    return ok;
  }

  onComplete(): void {
    // Only a whole response clears the member's failures: one that resets in the middle of its
    // bodies keeps counting towards ejection.
    this.member.failures = 0;
    this.res.end();
    this.done();
  }

  onError(err: Error): void {
    if (this.res.ended || this.clientGone) return this.done();
    const code = (err as { code?: string }).code ?? '';
    if (code === CLIENT_ABORTED || (err.cause as { code?: string } | undefined)?.code === CLIENT_ABORTED) {
      // The client's body broke off (it closed, or the front end refused a malformed body and answered
      // it): nothing the member did. Not a member failure, not live traffic.
      this.unsent = true;
      this.clientGone = true;
      this.abortUpstream?.(CLIENT_CLOSED);
      return this.done();
    }
    if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') {
      // undici refused to send the request as it is (the front end's checks should have caught it):
      // the client's fault, never the member's.
      this.unsent = true;
      this.c.fail(this.res, 400, 'unforwardable_request');
      return this.done();
    }
    this.failed = true;
    if (this.res.headersSent) {
      // The response had started: the client's copy is cut short (the connection is closed so that it
      // cannot take it for whole). A failure of the member and of the live pool.
      this.c.fail(this.res, 502, err instanceof undiciErrors.BodyTimeoutError ? 'upstream_timeout_mid_body' : 'upstream_reset_mid_body');
    } else if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || code === 'UND_ERR_CONNECT_TIMEOUT') this.c.fail(this.res, 504, 'upstream_timeout');
    else if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') this.c.fail(this.res, 502, 'upstream_unreachable');
    else this.c.fail(this.res, 502, 'upstream_reset');
    const m = this.member;
    if (++m.failures >= this.c.ejectAfter) {
      m.ejectedUntil = this.c.now() + this.c.ejectFor;
      m.failures = 0;
    }
    this.done();
  }

  /** The client went away: nothing to answer; stop the upstream exchange. */
  clientAborted(): void {
    this.clientGone = true;
    const errors = this.c.stats.errors;
    errors.client_closed = (errors.client_closed ?? 0) + 1;
    this.abortUpstream?.(CLIENT_CLOSED);
    this.done();
  }

  private done(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.mutation) this.c.metrics.liveMutationsOpen--;
    this.c.mirror.settleStamp(this.seq, 'live');
    this.member.outstanding--;
    const { req, res, c } = this;
    const path = req.url;
    if (this.unsent) return;
    const durationMs = performance.now() - this.started;
    c.metrics.observe('live', { method: req.method, path, status: this.status, failed: this.failed, durationMs, bytesIn: req.bodyBytes, bytesOut: res.bytesWritten, mutation: this.mutation }, this.member.id);
    if (this.sampled && c.mirror.mode === 'metadata') {
      const q = path.indexOf('?');
      const headerNames: string[] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headerNames.push((req.rawHeaders[i] as string).toLowerCase());
      c.mirror.record({ at: this.t, method: req.method, route: q < 0 ? path : path.slice(0, q), headerNames, requestBytes: req.bodyBytes, status: this.status, responseBytes: res.bytesWritten, durationMs });
    }
  }
}

export function createGateway(o: GatewayOptions): Gateway {
  const g = createServiceGateway(o);
  const front = new FrontServer(g.handle, { keepAliveTimeoutMs: 65_000, onRefused: g.refused });
  const server = front.server;
  return {
    server,
    members: g.members,
    mirror: g.mirror,
    metrics: g.metrics,
    stats: g.stats,
    addLive: g.addLive,
    setDelay: g.setDelay,
    removeLive: g.removeLive,
    listen: (port, host = '127.0.0.1', what = 'listen address') => listenOn(server, port, host, what),
    close: async () => {
      await front.close();
      await g.close();
    },
  };
}

export function createServiceGateway(o: GatewayOptions): ServiceGateway {
  const timeout = o.requestTimeoutMs ?? 30_000;
  const random = o.random ?? Math.random;
  const now = o.now ?? Date.now;
  const ejectAfter = o.ejectAfterFailures ?? 5;
  const ejectFor = o.ejectForMs ?? 10_000;
  let nextId = 0;
  const makeMember = (url: string, weight = 1, id?: string): LiveMember => ({
    id: id ?? `live-${nextId++}`,
    url,
    weight,
    outstanding: 0,
    healthy: true,
    checkOk: true,
    failures: 0,
    ejectedUntil: 0,
    requests: 0,
    delayMs: 0,
    pool: new Pool(url, { connections: 256, headersTimeout: timeout, bodyTimeout: timeout, keepAliveTimeout: 30_000 }),
  });
  const draining = new Map<LiveMember, Promise<boolean>>();
  const members: LiveMember[] = o.live.map((x) => (typeof x === 'string' ? makeMember(x) : makeMember(x.url, x.weight, x.id)));

  // Active health checks: a member that fails its check stops receiving traffic until it passes.
  const check = async (m: LiveMember): Promise<void> => {
    try {
      const r = await m.pool.request({ method: 'GET', path: o.healthCheck?.path ?? '/', headersTimeout: o.healthCheck?.timeoutMs ?? 2000, bodyTimeout: o.healthCheck?.timeoutMs ?? 2000 });
      await r.body.dump();
      m.checkOk = r.statusCode < 400;
    } catch {
      m.checkOk = false;
    }
  };
  const timer = o.healthCheck ? setInterval(() => void Promise.all(members.map(check)), o.healthCheck.intervalMs) : undefined;
  timer?.unref();
  const metrics = new TrafficMetrics(now, o.routes, o.measureMembers ?? false);
  const mirror = new Mirror({ targets: o.shadow ?? [], ...o.mirror }, random, (r) => metrics.observe('shadow', r));
  const stateful = o.mirror?.stateful === true;
  // Caller names come from clients: a null-prototype record, so "constructor" is a name like any other.
  const stats: GatewayStats = { requests: 0, errors: {}, callers: Object.create(null) as Record<string, number>, absorbed: 0 };
  let callerNames = 0;
  const countCaller = (raw: readonly string[]): void => {
    const c = callerOf(raw);
    if (c === undefined) return;
    const known = Object.hasOwn(stats.callers, c);
    const name = known ? c : CALLER_NAME.test(c) && callerNames < CALLERS_KEPT ? c : 'other';
    if (!known && name === c) callerNames++;
    stats.callers[name] = (stats.callers[name] ?? 0) + 1;
  };

  const fail = (res: FrontResponse, status: number, reason: string): void => {
    stats.errors[reason] = (stats.errors[reason] ?? 0) + 1;
    if (res.headersSent) res.destroy();
    else res.send(status, STATUS_CODES[status] ?? '', ['content-type', 'text/plain; charset=utf-8', 'x-shadowscale-reason', reason], `${status} ${reason}\n`);
  };
  const ctx: ExchangeContext = { metrics, mirror, stats, now, fail, ejectAfter, ejectFor };

  const handle = (req: FrontRequest, res: FrontResponse): void => {
    stats.requests++;
    countCaller(req.rawHeaders);
    const t = now();
    for (const m of members) m.healthy = m.checkOk && m.ejectedUntil <= t;
    const member = pickTwoChoices(members, random);
    const { method, url: path, remoteAddress: client } = req;
    if (o.absorbMutations && mirror.isMutation(method)) {
      stats.absorbed++;
      return res.send(200, 'OK', ['content-type', 'text/plain; charset=utf-8', 'x-shadowscale-reason', 'mutation_absorbed'], 'mutation_absorbed\n');
    }
    if (!member) return fail(res, 503, 'no_healthy_upstream');
    const headers = forwardHeaders(req.rawHeaders, client, 'http');
    const mutation = mirror.isMutation(method);
    // A stateful service's mutations carry their sequence number to live and to the shadow (versioned sync).
    // A client's own x-shadowscale-seq never passes: only the gateway numbers mutations.
    if (stateful) stripHeader(headers, SEQ_HEADER);
    const stamp = mutation && stateful ? mirror.stamp() : undefined;
    if (stamp) headers.push(SEQ_HEADER, stamp.header);

    // A sampled request goes to the mirror once its body has arrived; the front end's tap sees each
    // body chunk on its way to the live upstream and keeps a copy up to the mirror's cap.
    const key = mirror.keyOf(req.rawHeaders, client);
    const sampled = mirror.sample(method, key);
    // The A/B arms' sample is drawn apart from the shadow's; a request may go to both.
    const toArms = mirror.sampleArms(method, key);
    if ((sampled || toArms) && mirror.mode !== 'metadata') {
      const orderKey = key ?? path;
      const deliver = mutation ? mirror.reserve(orderKey, stamp?.seq) : (r: MirroredRequest | undefined) => r && mirror.submit(r);
      const mirrored = headerRecord(headers);
      const to = { toShadow: sampled, toArms };
      if (!req.body) deliver({ method, path, headers: mirrored, body: undefined, orderKey, ...to });
      else {
        const chunks: Buffer[] = [];
        let size = 0;
        let tooBig = false;
        req.tap = {
          chunk: (c) => {
            if (tooBig) return;
            size += c.length;
            if (size > mirror.maxBodyBytes) {
              tooBig = true;
              chunks.length = 0;
            } else chunks.push(c);
          },
          end: () => deliver({ method, path, headers: mirrored, body: !tooBig && chunks.length ? Buffer.concat(chunks) : undefined, oversized: tooBig, orderKey, ...to }),
          abort: () => deliver(undefined),
        };
      }
    } else mirror.settleStamp(stamp?.seq, 'mirror');
    member.outstanding++;
    member.requests++;
    const ex = new Exchange(ctx, member, req, res, t, mutation, sampled, stamp?.seq);
    req.onAbort = () => ex.clientAborted();
    if (member.delayMs > 0) {
      const body = req.body;
      setTimeout(() => member.pool.dispatch({ method, path, headers, body }, ex), member.delayMs);
    } else member.pool.dispatch({ method, path, headers, body: req.body }, ex);
  };

  return {
    handle,
    refused: (reason) => {
      stats.errors[reason] = (stats.errors[reason] ?? 0) + 1;
    },
    members,
    mirror,
    metrics,
    stats,
    addLive: (url, weight = 1, id) => {
      const m = makeMember(url, weight, id);
      members.push(m);
      return m;
    },
    setDelay: (id, ms) => {
      const m = members.find((x) => x.id === id);
      if (!m) return false;
      m.delayMs = Math.max(0, ms);
      return true;
    },
    removeLive: (id) => {
      const m = members.find((x) => x.id === id);
      if (!m) return Promise.resolve(false);
      // Idempotent: a second drain of the same member waits for the first.
      let d = draining.get(m);
      if (!d) {
        m.weight = 0;
        d = (async () => {
          while (m.outstanding > 0) await new Promise((r) => setTimeout(r, 10));
          const i = members.indexOf(m);
          if (i >= 0) members.splice(i, 1);
          await m.pool.close().catch(() => undefined);
          draining.delete(m);
          return true;
        })();
        draining.set(m, d);
      }
      return d;
    },
    close: async () => {
      if (timer) clearInterval(timer);
      await Promise.all([...members.map((m) => m.pool.destroy()), mirror.close()]);
    },
  };
}
