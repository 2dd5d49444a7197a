// Which service a request belongs to when one gateway front end serves several (issue 16): each service
// names the Hosts and path prefixes it answers (services[].routes). As the Gateway API's HTTPRoute
// precedence has it, the Host decides first: routes naming the request's Host (exactly, case-insensitive,
// port ignored) are tried before routes for any Host; among them the longest path prefix wins, whole
// segments only ("/api" matches "/api" and "/api/x", not "/apix"). Pure: no I/O.

export interface RouteMatch {
  /** The Host it answers (lower case, no port); undefined: any Host. */
  readonly host?: string | undefined;
  /** A path prefix like "/api" (whole segments); "/" or undefined: every path. */
  readonly pathPrefix?: string | undefined;
}

export interface ServiceRoutes<T> {
  readonly service: string;
  /** Empty: every request no other route takes (at most one service may have none). */
  readonly routes: readonly RouteMatch[];
  readonly target: T;
}

/** Two routes that would take the same requests: named for the configuration's error. */
export interface RouteOverlap {
  readonly first: { readonly service: string; readonly index: number };
  readonly second: { readonly service: string; readonly index: number };
  readonly match: string;
}

interface Entry<T> {
  readonly host: string | undefined;
  readonly prefix: string;
  readonly target: T;
  readonly service: string;
}

const normPrefix = (p: string | undefined): string => (p === undefined || p === '/' ? '' : p.replace(/\/+$/, ''));
const normHost = (h: string | undefined): string | undefined => (h === undefined ? undefined : h.toLowerCase().replace(/:\d+$/, ''));
const describe = (host: string | undefined, prefix: string): string => `${host ?? '*'}${prefix || '/'}`;

/** Routes that take the same requests (the same Host, or both any Host, and the same prefix); empty when none. */
export function routeOverlaps(services: readonly { readonly service: string; readonly routes: readonly RouteMatch[] }[]): RouteOverlap[] {
  const seen = new Map<string, { service: string; index: number }>();
  const out: RouteOverlap[] = [];
  for (const s of services) {
    const routes = s.routes.length > 0 ? s.routes : [{}];
    routes.forEach((r, index) => {
      const key = describe(normHost(r.host), normPrefix(r.pathPrefix));
      const first = seen.get(key);
      if (first) out.push({ first, second: { service: s.service, index: s.routes.length > 0 ? index : -1 }, match: key });
      else seen.set(key, { service: s.service, index: s.routes.length > 0 ? index : -1 });
    });
  }
  return out;
}

/** A compiled route table: `match` runs per request and allocates nothing but the Host's lower-casing. */
export class RouteTable<T> {
  private readonly entries: Entry<T>[];

  constructor(services: readonly ServiceRoutes<T>[]) {
    const overlaps = routeOverlaps(services);
    if (overlaps.length > 0) {
      const o = overlaps[0] as RouteOverlap;
      throw new Error(`routes overlap: ${o.match} is routed to both "${o.first.service}" and "${o.second.service}"`);
    }
    const entries: Entry<T>[] = [];
    for (const s of services) {
      const routes = s.routes.length > 0 ? s.routes : [{}];
      for (const r of routes) entries.push({ host: normHost(r.host), prefix: normPrefix(r.pathPrefix), target: s.target, service: s.service });
    }
    // Host routes before any-Host ones; the longest prefix first within each.
    entries.sort((a, b) => (a.host === undefined ? 1 : 0) - (b.host === undefined ? 1 : 0) || b.prefix.length - a.prefix.length);
    this.entries = entries;
  }

  /** The service for a request's Host field value (may carry a port; undefined when absent) and target path. */
  match(host: string | undefined, path: string): { readonly service: string; readonly target: T } | undefined {
    let h: string | undefined;
    if (host !== undefined) {
      const colon = host.lastIndexOf(':');
      // "[::1]:8080" and "example.com:8080" lose the port; "[::1]" keeps its brackets.
      h = (colon > host.lastIndexOf(']') ? host.slice(0, colon) : host).toLowerCase();
    }
    const q = path.search(/[?#]/);
    const p = q < 0 ? path : path.slice(0, q);
    for (const e of this.entries) {
      if (e.host !== undefined && e.host !== h) continue;
      if (e.prefix === '' || (p.startsWith(e.prefix) && (p.length === e.prefix.length || p.charCodeAt(e.prefix.length) === 47))) return e;
    }
    return undefined;
  }
}
