// One front end for several services (issue 16): the listener parses each request once, the route table
// (routes.ts) picks the service by Host and path prefix, and that service's gateway (its own members,
// mirror, metrics and stats) serves it. A request no route takes is answered 404 `no_route`; a malformed
// one is refused by the front end before any service sees it (counted here, not against a service).

import { STATUS_CODES } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { FrontServer, type FrontRequest, type FrontResponse } from './http1.js';
import { listenOn } from './listen.js';
import type { ServiceGateway } from './gateway.js';
import { RouteTable, type RouteMatch } from './routes.js';

export interface RoutedService {
  readonly name: string;
  readonly routes: readonly RouteMatch[];
  readonly gateway: ServiceGateway;
}

export interface RoutedGateway {
  readonly server: Server;
  /** Requests refused before routing (malformed) and requests no route took, by reason. */
  readonly errors: Record<string, number>;
  listen(port: number, host?: string, what?: string): Promise<AddressInfo>;
  /** Close the listener, then every service's gateway. */
  close(): Promise<void>;
}

/** The Host field's value (the first), or undefined. */
function hostOf(raw: readonly string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).length === 4 && (raw[i] as string).toLowerCase() === 'host') return raw[i + 1];
  return undefined;
}

export function createRoutedGateway(services: readonly RoutedService[]): RoutedGateway {
  const table = new RouteTable(services.map((s) => ({ service: s.name, routes: s.routes, target: s.gateway })));
  const errors: Record<string, number> = {};
  const handle = (req: FrontRequest, res: FrontResponse): void => {
    const m = table.match(hostOf(req.rawHeaders), req.url);
    if (m) return m.target.handle(req, res);
    errors.no_route = (errors.no_route ?? 0) + 1;
    res.send(404, STATUS_CODES[404] ?? '', ['content-type', 'text/plain; charset=utf-8', 'x-shadowscale-reason', 'no_route'], '404 no_route\n');
  };
  const front = new FrontServer(handle, {
    keepAliveTimeoutMs: 65_000,
    onRefused: (reason) => {
      errors[reason] = (errors[reason] ?? 0) + 1;
    },
  });
  return {
    server: front.server,
    errors,
    listen: (port, host = '127.0.0.1', what = 'listen address') => listenOn(front.server, port, host, what),
    close: async () => {
      await front.close();
      await Promise.all(services.map((s) => s.gateway.close()));
    },
  };
}
