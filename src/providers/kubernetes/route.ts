// Traffic through the cluster's routing (issue 15), the shapes, pure: a service's HTTPRoute (`traffic: gateway-api`:
// weighted backendRefs for live and for what takes part of its traffic, warming or switchover targets; a
// RequestMirror filter to the shadow's Service at the sampling controller's rate), or its Istio VirtualService
// (`traffic: istio`: weighted destinations, `mirror` + `mirrorPercentage`), and the Service that selects the
// shadow's pods (role shadow: never a trial's or an arm's).
import type { V1OwnerReference, V1Service } from '@kubernetes/client-node';
import { LABEL } from './shapes.js';

export const GATEWAY_API = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' } as const;
export const ISTIO = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' } as const;

export interface RouteBackend {
  /** A Service in the route's namespace. */
  readonly service: string;
  readonly port: number;
  /** Relative weight (0 takes no traffic). */
  readonly weight: number;
}

export interface RouteSpec {
  readonly name: string;
  readonly namespace: string;
  /** The Gateway(s) the route attaches to. */
  readonly parentRefs: readonly { readonly name: string; readonly namespace?: string; readonly sectionName?: string }[];
  readonly hostnames?: readonly string[];
  /** Requests under this path prefix (default "/"). */
  readonly pathPrefix?: string;
  readonly backends: readonly RouteBackend[];
  /** The shadow's Service and the fraction of requests mirrored to it (0: no mirror filter). */
  readonly mirror?: { readonly service: string; readonly port: number; readonly rate: number };
  /** The live Deployment that owns the route (garbage-collected with it). */
  readonly owner?: { readonly name: string; readonly uid: string };
}

/** Finest mirror fraction written: 1 in 10,000 requests. */
export const MIRROR_DENOMINATOR = 10_000;

/**
 * The RequestMirror filter: `percent` when the rate is a whole percentage (standard since Gateway API v1.3),
 * otherwise `fraction` (numerator over 10,000).
 */
export function mirrorFilter(service: string, port: number, rate: number): Record<string, unknown> {
  const r = Math.min(1, Math.max(0, rate));
  const percent = r * 100;
  const share = Math.abs(percent - Math.round(percent)) < 1e-9 ? { percent: Math.round(percent) } : { fraction: { numerator: Math.round(r * MIRROR_DENOMINATOR), denominator: MIRROR_DENOMINATOR } };
  return { type: 'RequestMirror', requestMirror: { backendRef: { name: service, port }, ...share } };
}

/** A route's metadata: its name, shadowscale's label, owned by the live Deployment (collected with it). */
function routeMetadata(s: RouteSpec): Record<string, unknown> {
  return {
    name: s.name,
    namespace: s.namespace,
    labels: { [LABEL.managedBy]: 'shadowscale' },
    ...(s.owner ? { ownerReferences: [ownerReference(s.owner)] } : {}),
  };
}

/** An owner reference to the live Deployment (not the controller: the Deployment's own controllers ignore it). */
function ownerReference(owner: { readonly name: string; readonly uid: string }): V1OwnerReference {
  return { apiVersion: 'apps/v1', kind: 'Deployment', name: owner.name, uid: owner.uid, controller: false, blockOwnerDeletion: false };
}

/** The HTTPRoute of a service. */
export function httpRoute(s: RouteSpec): Record<string, unknown> & { spec: Record<string, unknown> } {
  const filters = s.mirror && s.mirror.rate > 0 ? [mirrorFilter(s.mirror.service, s.mirror.port, s.mirror.rate)] : [];
  return {
    apiVersion: `${GATEWAY_API.group}/${GATEWAY_API.version}`,
    kind: 'HTTPRoute',
    metadata: routeMetadata(s),
    spec: {
      parentRefs: s.parentRefs.map((p) => ({ group: GATEWAY_API.group, kind: 'Gateway', name: p.name, ...(p.namespace ? { namespace: p.namespace } : {}), ...(p.sectionName ? { sectionName: p.sectionName } : {}) })),
      ...(s.hostnames && s.hostnames.length > 0 ? { hostnames: [...s.hostnames] } : {}),
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: s.pathPrefix ?? '/' } }],
          ...(filters.length > 0 ? { filters } : {}),
          backendRefs: s.backends.map((b) => ({ group: '', kind: 'Service', name: b.service, port: b.port, weight: Math.round(b.weight) })),
        },
      ],
    },
  };
}

/** The Service of a service's shadow: its role-shadow pods (trials and arms never get mirrored requests). */
export function shadowService(o: { readonly name: string; readonly namespace: string; readonly service: string; readonly port: number; readonly targetPort: number; readonly owner?: { readonly name: string; readonly uid: string } }): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels: { [LABEL.managedBy]: 'shadowscale', [LABEL.service]: o.service, [LABEL.role]: 'shadow' },
      ...(o.owner ? { ownerReferences: [ownerReference(o.owner)] } : {}),
    },
    spec: { selector: { [LABEL.service]: o.service, [LABEL.role]: 'shadow' }, ports: [{ name: 'http', port: o.port, targetPort: o.targetPort, protocol: 'TCP' }] },
  };
}

/**
 * Whether the route `existing` already says what `want` says (parents, hostnames, rules), compared after the
 * API server's defaults: the writer skips a write that would change nothing.
 */
export function routeSays(existing: { spec?: Record<string, unknown> } | undefined, want: { spec: Record<string, unknown> }): boolean {
  if (!existing?.spec) return false;
  type Mirror = { backendRef?: { name?: string; port?: number }; percent?: number; fraction?: { numerator?: number; denominator?: number } };
  type Rule = { matches?: { path?: { type?: string; value?: string } }[]; filters?: { type?: string; requestMirror?: Mirror }[]; backendRefs?: { name: string; port?: number; weight?: number }[] };
  const norm = (spec: Record<string, unknown>): string =>
    JSON.stringify({
      parents: ((spec.parentRefs as { name: string; namespace?: string; sectionName?: string }[] | undefined) ?? []).map((p) => [p.name, p.namespace ?? '', p.sectionName ?? '']),
      hostnames: spec.hostnames ?? [],
      rules: ((spec.rules as Rule[] | undefined) ?? []).map((r) => ({
        matches: (r.matches ?? []).map((m) => [m.path?.type, m.path?.value]),
        filters: (r.filters ?? []).map((f) => [f.type, f.requestMirror?.backendRef?.name, f.requestMirror?.backendRef?.port, f.requestMirror?.percent, f.requestMirror?.fraction?.numerator, f.requestMirror?.fraction?.denominator]),
        backends: (r.backendRefs ?? []).map((b) => [b.name, b.port, b.weight ?? 1]),
      })),
    });
  return norm(existing.spec) === norm(want.spec);
}

/**
 * Weights as whole percentages summing to 100 (Istio requires it of a route's destinations): shares of the
 * total, rounded by largest remainder; all zero: everything on the first.
 */
export function percentWeights(weights: readonly number[]): number[] {
  const w = weights.map((x) => (Number.isFinite(x) && x > 0 ? x : 0));
  const total = w.reduce((a, b) => a + b, 0);
  if (w.length === 0) return [];
  if (total === 0) return w.map((_, i) => (i === 0 ? 100 : 0));
  const exact = w.map((x) => (100 * x) / total);
  const out = exact.map(Math.floor);
  let left = 100 - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    out[i] = (out[i] as number) + 1;
    left--;
  }
  return out;
}

/**
 * The Istio VirtualService of a service: its hosts (the route's hostnames, or the live Service for traffic
 * inside the mesh), the gateways it binds to (`namespace/name`; none: the mesh's sidecars), one HTTP route
 * under the path prefix with the weighted destinations, and the mirror to the shadow's Service with its
 * percentage (a double: 0.01 % steps are expressible).
 */
export function virtualService(s: RouteSpec): Record<string, unknown> & { spec: Record<string, unknown> } {
  const weights = percentWeights(s.backends.map((b) => b.weight));
  const mirror = s.mirror && s.mirror.rate > 0 ? s.mirror : undefined;
  const hosts = s.hostnames && s.hostnames.length > 0 ? [...s.hostnames] : [s.backends[0]?.service ?? s.name];
  return {
    apiVersion: `${ISTIO.group}/${ISTIO.version}`,
    kind: 'VirtualService',
    metadata: routeMetadata(s),
    spec: {
      hosts,
      ...(s.parentRefs.length > 0 ? { gateways: s.parentRefs.map((p) => (p.namespace ? `${p.namespace}/${p.name}` : p.name)) } : {}),
      http: [
        {
          match: [{ uri: { prefix: s.pathPrefix ?? '/' } }],
          route: s.backends.map((b, i) => ({ destination: { host: b.service, port: { number: b.port } }, weight: weights[i] })),
          ...(mirror ? { mirror: { host: mirror.service, port: { number: mirror.port } }, mirrorPercentage: { value: Math.round(Math.min(1, mirror.rate) * MIRROR_DENOMINATOR) / (MIRROR_DENOMINATOR / 100) } } : {}),
        },
      ],
    },
  };
}

/** Whether the VirtualService `existing` already says what `want` says (hosts, gateways, the HTTP routes). */
export function virtualServiceSays(existing: { spec?: Record<string, unknown> } | undefined, want: { spec: Record<string, unknown> }): boolean {
  if (!existing?.spec) return false;
  type Dest = { destination?: { host?: string; port?: { number?: number } }; weight?: number };
  type Http = { match?: { uri?: { prefix?: string } }[]; route?: Dest[]; mirror?: { host?: string; port?: { number?: number } }; mirrorPercentage?: { value?: number } };
  const norm = (spec: Record<string, unknown>): string =>
    JSON.stringify({
      hosts: spec.hosts ?? [],
      gateways: spec.gateways ?? [],
      http: ((spec.http as Http[] | undefined) ?? []).map((h) => ({
        match: (h.match ?? []).map((m) => m.uri?.prefix),
        route: (h.route ?? []).map((d) => [d.destination?.host, d.destination?.port?.number, d.weight ?? 0]),
        mirror: h.mirror ? [h.mirror.host, h.mirror.port?.number, h.mirrorPercentage?.value] : null,
      })),
    });
  return norm(existing.spec) === norm(want.spec);
}
