// The data plane: every request goes to one live member (power of two choices) and, when sampled,
// a copy goes to the shadow pool through the Mirror, which can never delay or fail the live request.
//
// 1. Pick a healthy live member (503 `no_healthy_upstream` when none).
// 2. Stream the request body to it; when the request is sampled, keep a copy of the body up to the
//    mirror's size cap and hand it to the mirror once the body has arrived.
// 3. Stream the response back without hop-by-hop fields. Upstream failures answer 502
//    (`upstream_unreachable`, `upstream_reset`) or 504 (`upstream_timeout`), named in
//    `x-shadowscale-reason`; consecutive failures eject a member for a while (passive ejection).
// Malformed requests are answered 400 by the HTTP parser and never reach an upstream.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';
import { Pool, errors as undiciErrors } from 'undici';
import { pickTwoChoices, type Member } from './balancer.js';
import { forwardHeaders, responseHeaders } from './headers.js';
import { TrafficMetrics } from './metrics.js';
import { Mirror, type MirroredRequest, type MirrorOptions } from './mirror.js';

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
  /** Injected randomness (tests pass a seeded generator). */
  readonly random?: () => number;
  /** Injected clock for ejection (ms). */
  readonly now?: () => number;
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
}

export interface GatewayStats {
  requests: number;
  errors: Record<string, number>;
}

export interface Gateway {
  readonly server: Server;
  readonly members: LiveMember[];
  readonly mirror: Mirror;
  readonly metrics: TrafficMetrics;
  readonly stats: GatewayStats;
  /** Add a live member at runtime (weight 1 by default; an id when a coordinator assigns it); returns it. */
  addLive(url: string, weight?: number, id?: string): LiveMember;
  /** Drain a live member: no new requests; it is removed once its in-flight requests finish. */
  removeLive(id: string): Promise<boolean>;
  listen(port: number, host?: string): Promise<AddressInfo>;
  close(): Promise<void>;
}

const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'TRACE']);

export function createGateway(o: GatewayOptions): Gateway {
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
  const metrics = new TrafficMetrics(now);
  const mirror = new Mirror({ targets: o.shadow ?? [], ...o.mirror }, random, (r) => metrics.observe('shadow', r));
  const stats: GatewayStats = { requests: 0, errors: {} };

  const fail = (res: ServerResponse, status: number, reason: string): void => {
    stats.errors[reason] = (stats.errors[reason] ?? 0) + 1;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-shadowscale-reason': reason, connection: 'close' });
    res.end(`${status} ${reason}\n`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    stats.requests++;
    const t = now();
    for (const m of members) m.healthy = m.checkOk && m.ejectedUntil <= t;
    const member = pickTwoChoices(members, random);
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const client = req.socket.remoteAddress;
    const headers = forwardHeaders(req.headers, client, 'http');
    if (!member) {
      req.resume();
      return fail(res, 503, 'no_healthy_upstream');
    }

    // The request body reaches the live upstream through a tap that counts it and, for a sampled
    // request, keeps a copy (up to the mirror's cap) for the shadow. A tap in the pipe (rather than
    // a 'data' listener) keeps backpressure and loses no chunk before undici starts reading.
    const key = mirror.keyOf(req.headers, client);
    const sampled = mirror.sample(method, key);
    const copy = sampled && mirror.mode !== 'metadata';
    const orderKey = key ?? path;
    const deliver = !copy ? undefined : mirror.isMutation(method) ? mirror.reserve(orderKey) : (r: MirroredRequest | undefined) => r && mirror.submit(r);
    const chunks: Buffer[] = [];
    let bytesIn = 0;
    let tooBig = false;
    const bodyDone = (): void => deliver?.({ method, path, headers, body: !tooBig && chunks.length ? Buffer.concat(chunks) : undefined, oversized: tooBig, orderKey });
    const hasBody = !BODYLESS.has(method) || req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    let body: Transform | undefined;
    if (hasBody) {
      body = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          bytesIn += chunk.length;
          if (copy && !tooBig) {
            if (bytesIn > mirror.maxBodyBytes) {
              tooBig = true;
              chunks.length = 0;
            } else chunks.push(chunk);
          }
          cb(null, chunk);
        },
        flush(cb) {
          bodyDone();
          cb();
        },
      });
      req.pipe(body);
      req.on('aborted', () => deliver?.(undefined));
    } else {
      req.resume();
      bodyDone();
    }

    member.outstanding++;
    member.requests++;
    let status = 0;
    // Response bytes on the wire (headers included): one request at a time per HTTP/1.1 connection.
    const socket = res.socket;
    const written0 = socket?.bytesWritten ?? 0;
    try {
      // undici writes the upstream body straight into the client response (no intermediate stream).
      await member.pool.stream({ method: method as 'GET', path, headers, body }, ({ statusCode, headers: h }) => {
        member.failures = 0;
        status = statusCode;
        res.writeHead(statusCode, responseHeaders(h));
        return res;
      });
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || code === 'UND_ERR_CONNECT_TIMEOUT') {
        fail(res, 504, 'upstream_timeout');
      } else if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') {
        fail(res, 502, 'upstream_unreachable');
      } else if (res.writableEnded || code === 'ERR_STREAM_PREMATURE_CLOSE') {
        // The client went away: nothing to answer.
        stats.errors.client_closed = (stats.errors.client_closed ?? 0) + 1;
        return;
      } else {
        fail(res, 502, 'upstream_reset');
      }
      if (++member.failures >= ejectAfter) {
        member.ejectedUntil = now() + ejectFor;
        member.failures = 0;
      }
    } finally {
      member.outstanding--;
      const bytesOut = (socket?.bytesWritten ?? written0) - written0;
      const durationMs = now() - t;
      const mutation = mirror.isMutation(method);
      metrics.observe('live', { method, path, status, durationMs, bytesIn, bytesOut, mutation });
      if (sampled && mirror.mode === 'metadata') {
        const q = path.indexOf('?');
        mirror.record({ at: t, method, route: q < 0 ? path : path.slice(0, q), headerNames: Object.keys(req.headers), requestBytes: bytesIn, status, responseBytes: bytesOut, durationMs });
      }
    }
  };

  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    void handle(req, res);
  });
  server.on('clientError', (_err, socket) => {
    stats.errors.bad_request = (stats.errors.bad_request ?? 0) + 1;
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });

  return {
    server,
    members,
    mirror,
    metrics,
    stats,
    addLive: (url, weight = 1, id) => {
      const m = makeMember(url, weight, id);
      members.push(m);
      return m;
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
    listen: (port, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve(server.address() as AddressInfo));
      }),
    close: async () => {
      if (timer) clearInterval(timer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all([...members.map((m) => m.pool.destroy()), mirror.close()]);
    },
  };
}
