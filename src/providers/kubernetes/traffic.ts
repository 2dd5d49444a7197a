// The route writers: keep each service's route saying what the control loop wants (weighted backends; the
// mirror to the shadow's Service at the sampling controller's rate) and the shadow's Service in place. One
// writer, two routes: the Gateway API's HTTPRoute (`traffic: gateway-api`, GatewayApiTraffic) and Istio's
// VirtualService (`traffic: istio`, IstioTraffic). The routes of the namespace are read from a watch cache
// (`start`), so a route that already says it costs no call; a write happens only when the route would
// change, conditional on the resourceVersion read (a conflict is read again from the API and retried, never
// overwritten). Errors are the Provider contract's (providerError).
import { ApiException, CoreV1Api, CustomObjectsApi, makeInformer, type KubeConfig, type KubernetesObject, type ListWatch } from '@kubernetes/client-node';
import { ProviderError } from '../provider.js';
import { CONFLICT_BUDGET_MS, pauseAfterConflict, retryConflict } from './conflict.js';
import { providerError } from './provider.js';
import { GATEWAY_API, httpRoute, ISTIO, routeSays, shadowService, virtualService, virtualServiceSays, type RouteBackend, type RouteSpec } from './route.js';

export interface ServiceTraffic {
  /** The route's name (default: the service's). */
  readonly route?: string;
  /** The Gateways the route attaches to (Istio: its `gateways`; none: the mesh). */
  readonly parentRefs: RouteSpec['parentRefs'];
  readonly hostnames?: readonly string[];
  readonly pathPrefix?: string;
  /** The live Service and its port. */
  readonly liveService: string;
  readonly port: number;
  /** The container port the shadow's pods answer on (default: port). */
  readonly targetPort?: number;
  /** The live Deployment that owns the route and the shadow's Service. */
  readonly owner?: { readonly name: string; readonly uid: string };
}

export interface TrafficState {
  /** Backends beside live (warming instances' and a switchover's Services) with their weights; live gets `liveWeight`. */
  readonly extra?: readonly RouteBackend[];
  readonly liveWeight?: number;
  /** Fraction of requests mirrored to the shadow (the sampling controller's rate). */
  readonly mirrorRate: number;
}

const statusOf = (e: unknown): number | undefined => (e instanceof ApiException ? e.code : undefined);

/** What a route writer writes: the resource, its shape and how to tell it already says what is wanted. */
interface RouteFlavour {
  readonly api: { readonly group: string; readonly version: string; readonly plural: string };
  readonly kind: string;
  build(spec: RouteSpec): Record<string, unknown> & { spec: Record<string, unknown> };
  says(existing: { spec?: Record<string, unknown> } | undefined, want: { spec: Record<string, unknown> }): boolean;
}

const FLAVOURS = {
  'gateway-api': { api: GATEWAY_API, kind: 'HTTPRoute', build: httpRoute, says: routeSays },
  istio: { api: ISTIO, kind: 'VirtualService', build: virtualService, says: virtualServiceSays },
} as const satisfies Record<string, RouteFlavour>;

/** A service's route, as the loop's traffic control writes it. */
export interface RouteWriter {
  /** Make the service's route say `state`; whether it was written. */
  apply(service: string, state: TrafficState): Promise<boolean>;
  readonly kind: string;
}

export class RouteTraffic implements RouteWriter {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly shadowReady = new Set<string>();
  private routes: ListWatch<KubernetesObject & { spec?: Record<string, unknown> }> | undefined;
  /** Writes made (creates and replaces), for tests and benchmarks. */
  writes = 0;

  private readonly flavour: RouteFlavour;

  constructor(
    private readonly kc: KubeConfig,
    private readonly namespace: string,
    private readonly services: Readonly<Record<string, ServiceTraffic>>,
    private readonly conflictBudgetMs = CONFLICT_BUDGET_MS,
    flavour: keyof typeof FLAVOURS = 'gateway-api',
  ) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.flavour = FLAVOURS[flavour];
  }

  /** The resource written: HTTPRoute or VirtualService. */
  get kind(): string {
    return this.flavour.kind;
  }

  /** Watch the namespace's routes (a cache the applies read); without it every apply reads the route. */
  async start(): Promise<void> {
    const ns = this.namespace;
    const list = async () => (await this.custom.listNamespacedCustomObject({ group: this.flavour.api.group, version: this.flavour.api.version, namespace: ns, plural: this.flavour.api.plural })) as { apiVersion?: string; kind?: string; metadata: { resourceVersion?: string }; items: (KubernetesObject & { spec?: Record<string, unknown> })[] };
    try {
      await list();
    } catch (e) {
      throw providerError(e, `list ${this.flavour.kind}s in namespace "${ns}"`);
    }
    const inf = makeInformer(this.kc, `/apis/${this.flavour.api.group}/${this.flavour.api.version}/namespaces/${ns}/${this.flavour.api.plural}`, list) as ListWatch<KubernetesObject & { spec?: Record<string, unknown> }>;
    inf.on('error', () => {
      if (this.routes) setTimeout(() => void inf.start().catch(() => undefined), 500).unref();
    });
    this.routes = inf;
    await inf.start();
  }

  async close(): Promise<void> {
    const inf = this.routes;
    this.routes = undefined;
    await inf?.stop();
  }

  /** The shadow's Service of `service` (its name in the route's mirror filter). */
  static shadowServiceName(service: string): string {
    return `${service}-ss-shadow`;
  }

  private spec(service: string, state: TrafficState): RouteSpec {
    const t = this.services[service];
    if (!t) throw new ProviderError('invalid', `unknown service "${service}" (have: ${Object.keys(this.services).join(', ')})`);
    return {
      name: t.route ?? service,
      namespace: this.namespace,
      parentRefs: t.parentRefs,
      ...(t.hostnames ? { hostnames: t.hostnames } : {}),
      ...(t.pathPrefix ? { pathPrefix: t.pathPrefix } : {}),
      backends: [{ service: t.liveService, port: t.port, weight: state.liveWeight ?? 1 }, ...(state.extra ?? [])],
      mirror: { service: RouteTraffic.shadowServiceName(service), port: t.port, rate: state.mirrorRate },
      ...(t.owner ? { owner: t.owner } : {}),
    };
  }

  private async ensureShadowService(service: string): Promise<void> {
    if (this.shadowReady.has(service)) return;
    const t = this.services[service] as ServiceTraffic;
    const name = RouteTraffic.shadowServiceName(service);
    try {
      await this.core.createNamespacedService({ namespace: this.namespace, body: shadowService({ name, namespace: this.namespace, service, port: t.port, targetPort: t.targetPort ?? t.port, ...(t.owner ? { owner: t.owner } : {}) }) });
      this.writes++;
    } catch (e) {
      if (statusOf(e) !== 409) throw providerError(e, `create Service "${name}"`);
    }
    this.shadowReady.add(service);
  }

  /** Make the service's route say `state`; whether it was written. */
  async apply(service: string, state: TrafficState): Promise<boolean> {
    const want = this.flavour.build(this.spec(service, state));
    const name = (want.metadata as { name: string }).name;
    if (state.mirrorRate > 0) await this.ensureShadowService(service);
    const ref = { group: this.flavour.api.group, version: this.flavour.api.version, namespace: this.namespace, plural: this.flavour.api.plural, name };
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      let existing: { metadata?: { resourceVersion?: string }; spec?: Record<string, unknown> } | undefined;
      // The cache first; after a conflict (the cache is behind another writer), the API.
      if (this.routes && attempt === 0) existing = this.routes.get(name, this.namespace);
      else {
        try {
          existing = (await this.custom.getNamespacedCustomObject(ref)) as typeof existing;
        } catch (e) {
          if (statusOf(e) !== 404) throw providerError(e, `read ${this.flavour.kind} "${name}"`);
        }
      }
      if (this.flavour.says(existing, want)) return false;
      try {
        if (existing) await this.custom.replaceNamespacedCustomObject({ ...ref, body: { ...want, metadata: { ...(want.metadata as object), resourceVersion: existing.metadata?.resourceVersion } } });
        else await this.custom.createNamespacedCustomObject({ group: ref.group, version: ref.version, namespace: ref.namespace, plural: ref.plural, body: want });
        this.writes++;
        return true;
      } catch (e) {
        if (statusOf(e) === 409 && retryConflict(Date.now() - started, this.conflictBudgetMs)) {
          await pauseAfterConflict(attempt);
          continue;
        }
        throw providerError(e, `${existing ? 'update' : 'create'} ${this.flavour.kind} "${name}"`);
      }
    }
  }
}

/** The Gateway API's HTTPRoute writer (`traffic: gateway-api`). */
export class GatewayApiTraffic extends RouteTraffic {
  constructor(kc: KubeConfig, namespace: string, services: Readonly<Record<string, ServiceTraffic>>, conflictBudgetMs = CONFLICT_BUDGET_MS) {
    super(kc, namespace, services, conflictBudgetMs, 'gateway-api');
  }
}

/** Istio's VirtualService writer (`traffic: istio`). */
export class IstioTraffic extends RouteTraffic {
  constructor(kc: KubeConfig, namespace: string, services: Readonly<Record<string, ServiceTraffic>>, conflictBudgetMs = CONFLICT_BUDGET_MS) {
    super(kc, namespace, services, conflictBudgetMs, 'istio');
  }
}
