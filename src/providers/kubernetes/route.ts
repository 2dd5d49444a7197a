// Traffic through the Gateway API (issue 15, `traffic: gateway-api`), the shapes, pure: the HTTPRoute of a
// service (weighted backendRefs for live and for what takes part of its traffic: warming, switchover
// targets; a RequestMirror filter to the shadow's Service at the sampling controller's rate) and the
// Service that selects the shadow's pods (role shadow: never a trial's or an arm's).
import type { V1Service } from '@kubernetes/client-node';
import { LABEL } from './shapes.js';

export const GATEWAY_API = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' } as const;

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

/** The HTTPRoute of a service. */
export function httpRoute(s: RouteSpec): Record<string, unknown> & { spec: Record<string, unknown> } {
  const filters = s.mirror && s.mirror.rate > 0 ? [mirrorFilter(s.mirror.service, s.mirror.port, s.mirror.rate)] : [];
  return {
    apiVersion: `${GATEWAY_API.group}/${GATEWAY_API.version}`,
    kind: 'HTTPRoute',
    metadata: {
      name: s.name,
      namespace: s.namespace,
      labels: { [LABEL.managedBy]: 'shadowscale' },
      ...(s.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: s.owner.name, uid: s.owner.uid, controller: false, blockOwnerDeletion: false }] } : {}),
    },
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
      ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: o.owner.name, uid: o.owner.uid, controller: false, blockOwnerDeletion: false }] } : {}),
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
