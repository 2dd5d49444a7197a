// The HTTPRoute writer (`traffic: gateway-api`): keeps each service's HTTPRoute saying what the control
// loop wants (weighted backends; the mirror to the shadow's Service at the sampling controller's rate) and
// the shadow's Service in place. The routes of the namespace are read from a watch cache (`start`), so a
// route that already says it costs no call; a write happens only when the route would change, conditional
// on the resourceVersion read (a conflict is read again from the API and retried, never overwritten).
// Errors are the Provider contract's (providerError).
import { ApiException, CoreV1Api, CustomObjectsApi, makeInformer, type KubeConfig, type KubernetesObject, type ListWatch } from '@kubernetes/client-node';
import { ProviderError } from '../provider.js';
import { providerError } from './provider.js';
import { GATEWAY_API, httpRoute, routeSays, shadowService, type RouteBackend, type RouteSpec } from './route.js';

export interface ServiceTraffic {
  /** The HTTPRoute's name (default: the service's). */
  readonly route?: string;
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

export class GatewayApiTraffic {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly shadowReady = new Set<string>();
  private routes: ListWatch<KubernetesObject & { spec?: Record<string, unknown> }> | undefined;
  /** Writes made (creates and replaces), for tests and benchmarks. */
  writes = 0;

  constructor(
    private readonly kc: KubeConfig,
    private readonly namespace: string,
    private readonly services: Readonly<Record<string, ServiceTraffic>>,
    private readonly conflictRetries = 20,
  ) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** Watch the namespace's HTTPRoutes (a cache the applies read); without it every apply reads the route. */
  async start(): Promise<void> {
    const ns = this.namespace;
    const list = async () => (await this.custom.listNamespacedCustomObject({ group: GATEWAY_API.group, version: GATEWAY_API.version, namespace: ns, plural: GATEWAY_API.plural })) as { apiVersion?: string; kind?: string; metadata: { resourceVersion?: string }; items: (KubernetesObject & { spec?: Record<string, unknown> })[] };
    try {
      await list();
    } catch (e) {
      throw providerError(e, `list HTTPRoutes in namespace "${ns}"`);
    }
    const inf = makeInformer(this.kc, `/apis/${GATEWAY_API.group}/${GATEWAY_API.version}/namespaces/${ns}/${GATEWAY_API.plural}`, list) as ListWatch<KubernetesObject & { spec?: Record<string, unknown> }>;
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
      mirror: { service: GatewayApiTraffic.shadowServiceName(service), port: t.port, rate: state.mirrorRate },
      ...(t.owner ? { owner: t.owner } : {}),
    };
  }

  private async ensureShadowService(service: string): Promise<void> {
    if (this.shadowReady.has(service)) return;
    const t = this.services[service] as ServiceTraffic;
    const name = GatewayApiTraffic.shadowServiceName(service);
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
    const want = httpRoute(this.spec(service, state));
    const name = (want.metadata as { name: string }).name;
    if (state.mirrorRate > 0) await this.ensureShadowService(service);
    const ref = { group: GATEWAY_API.group, version: GATEWAY_API.version, namespace: this.namespace, plural: GATEWAY_API.plural, name };
    for (let attempt = 0; ; attempt++) {
      let existing: { metadata?: { resourceVersion?: string }; spec?: Record<string, unknown> } | undefined;
      // The cache first; after a conflict (the cache is behind another writer), the API.
      if (this.routes && attempt === 0) existing = this.routes.get(name, this.namespace);
      else {
        try {
          existing = (await this.custom.getNamespacedCustomObject(ref)) as typeof existing;
        } catch (e) {
          if (statusOf(e) !== 404) throw providerError(e, `read HTTPRoute "${name}"`);
        }
      }
      if (routeSays(existing, want)) return false;
      try {
        if (existing) await this.custom.replaceNamespacedCustomObject({ ...ref, body: { ...want, metadata: { ...(want.metadata as object), resourceVersion: existing.metadata?.resourceVersion } } });
        else await this.custom.createNamespacedCustomObject({ group: ref.group, version: ref.version, namespace: ref.namespace, plural: ref.plural, body: want });
        this.writes++;
        return true;
      } catch (e) {
        if (statusOf(e) === 409 && attempt < this.conflictRetries) {
          await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * Math.min(attempt + 1, 5)));
          continue;
        }
        throw providerError(e, `${existing ? 'update' : 'create'} HTTPRoute "${name}"`);
      }
    }
  }
}
