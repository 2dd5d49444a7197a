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
import { pipeline } from 'node:stream/promises';
import { Pool, errors as undiciErrors } from 'undici';
import { pickTwoChoices, type Member } from './balancer.js';
import { forwardHeaders, responseHeaders } from './headers.js';
import { Mirror, type MirrorOptions } from './mirror.js';

export interface GatewayOptions {
  readonly live: readonly string[];
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
}

export interface LiveMember extends Member {
  readonly pool: Pool;
  failures: number;
  ejectedUntil: number;
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
  readonly stats: GatewayStats;
  listen(port: number, host?: string): Promise<AddressInfo>;
  close(): Promise<void>;
}

const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'TRACE']);

export function createGateway(o: GatewayOptions): Gateway {
  if (o.live.length === 0) throw new RangeError('a gateway needs at least one live upstream');
  const timeout = o.requestTimeoutMs ?? 30_000;
  const random = o.random ?? Math.random;
  const now = o.now ?? Date.now;
  const ejectAfter = o.ejectAfterFailures ?? 5;
  const ejectFor = o.ejectForMs ?? 10_000;
  const members: LiveMember[] = o.live.map((url, i) => ({
    id: `live-${i}`,
    url,
    weight: 1,
    outstanding: 0,
    healthy: true,
    failures: 0,
    ejectedUntil: 0,
    requests: 0,
    pool: new Pool(url, { connections: 256, headersTimeout: timeout, bodyTimeout: timeout, keepAliveTimeout: 30_000 }),
  }));
  const mirror = new Mirror({ targets: o.shadow ?? [], ...o.mirror }, random);
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
    for (const m of members) if (!m.healthy && m.ejectedUntil <= t) m.healthy = true;
    const member = pickTwoChoices(members, random);
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const client = req.socket.remoteAddress;
    const headers = forwardHeaders(req.headers, client, 'http');
    if (!member) {
      req.resume();
      return fail(res, 503, 'no_healthy_upstream');
    }

    // Mirror: a copy of the body (up to the cap) for a sampled request, handed over once complete.
    const key = mirror.keyOf(req.headers, client);
    const sampled = mirror.sample(method, key);
    // Metadata mode: count the request's bytes now, record with the response below.
    let requestBytes = 0;
    if (sampled && mirror.mode === 'metadata') req.on('data', (c: Buffer) => (requestBytes += c.length));
    if (sampled && mirror.mode !== 'metadata') {
      const orderKey = key ?? path;
      const deliver = mirror.isMutation(method) ? mirror.reserve(orderKey) : (r: Parameters<typeof mirror.submit>[0] | undefined) => r && mirror.submit(r);
      const chunks: Buffer[] = [];
      let size = 0;
      let tooBig = false;
      req.on('data', (c: Buffer) => {
        if (tooBig) return;
        size += c.length;
        if (size > mirror.maxBodyBytes) {
          tooBig = true;
          chunks.length = 0;
        } else chunks.push(c);
      });
      req.on('end', () => deliver({ method, path, headers, body: !tooBig && chunks.length ? Buffer.concat(chunks) : undefined, oversized: tooBig, orderKey }));
      req.on('aborted', () => deliver(undefined));
    }

    member.outstanding++;
    member.requests++;
    const hasBody = !BODYLESS.has(method) || req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    try {
      const up = await member.pool.request({ method: method as 'GET', path, headers, body: hasBody ? req : undefined });
      member.failures = 0;
      res.writeHead(up.statusCode, responseHeaders(up.headers));
      let responseBytes = 0;
      if (sampled && mirror.mode === 'metadata') up.body.on('data', (c: Buffer) => (responseBytes += c.length));
      await pipeline(up.body, res);
      if (sampled && mirror.mode === 'metadata') {
        const q = path.indexOf('?');
        mirror.record({ at: t, method, route: q < 0 ? path : path.slice(0, q), headerNames: Object.keys(req.headers), requestBytes, status: up.statusCode, responseBytes, durationMs: now() - t });
      }
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
        member.healthy = false;
        member.ejectedUntil = now() + ejectFor;
        member.failures = 0;
      }
    } finally {
      member.outstanding--;
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
    stats,
    listen: (port, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve(server.address() as AddressInfo));
      }),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all([...members.map((m) => m.pool.destroy()), mirror.close()]);
    },
  };
}
