// A run on Kubernetes (provider.kind kubernetes): the provider of a configuration (the services' Deployments,
// the instance types as resources and scheduling, the versions' images) and the leader election that lets
// only one replica of shadowscale act (docs/design/kubernetes.md).
import { hostname } from 'node:os';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Config, ServiceConfig } from '../config/schema.js';
import type { Store } from '../metrics/store.js';
import type { InstanceEvent } from '../providers/local.js';
import { recordInstanceEvents } from './instance-events.js';
import type { Instance } from '../providers/provider.js';
import { kubeConfig } from '../providers/kubernetes/client.js';
import { LeaderElector } from '../providers/kubernetes/lease.js';
import { KubernetesProvider } from '../providers/kubernetes/provider.js';
import type { TypeShape } from '../providers/kubernetes/shapes.js';
import type { ServiceTraffic } from '../providers/kubernetes/traffic.js';

type KubernetesSettings = NonNullable<Config['provider']['kubernetes']>;

/** The cluster's client: a kubeconfig file when named, else the pod's service account, KUBECONFIG or ~/.kube/config. */
export function clusterConfig(k: KubernetesSettings): KubeConfig {
  if (!k.kubeconfig) return kubeConfig();
  const kc = new KubeConfig();
  kc.loadFromFile(k.kubeconfig);
  return kc;
}

/** This replica's name in the election: configured, else the pod's name, else host and pid. */
export function replicaIdentity(k: KubernetesSettings, env: NodeJS.ProcessEnv = process.env): string {
  return k.leaderElection.identity ?? env.POD_NAME ?? `${hostname()}-${process.pid}`;
}

export async function startKubernetesProvider(
  cfg: Config,
  store: Store,
  services: readonly ServiceConfig[],
  o: { readonly kc: KubeConfig; readonly identity: string; readonly beforeStop?: (i: Instance) => Promise<void>; readonly onInstanceEvent?: (e: InstanceEvent) => void; readonly now?: () => number },
): Promise<KubernetesProvider> {
  const k = cfg.provider.kubernetes as KubernetesSettings;
  return KubernetesProvider.start({
    kubeConfig: o.kc,
    namespace: k.namespace,
    services: Object.fromEntries(services.map((s) => [s.name, { deployment: k.deployments[s.name] ?? s.name, instanceType: s.instanceType, ...(k.port !== undefined ? { port: k.port } : {}), ...(k.container ? { container: k.container } : {}) }])),
    instanceTypes: Object.fromEntries(Object.keys(cfg.instanceTypes).map((t) => [t, (k.types[t] ?? {}) as TypeShape])),
    versions: k.versions,
    readyTimeoutMs: cfg.provider.readyTimeoutSeconds * 1000,
    graceSeconds: cfg.provider.graceSeconds,
    identity: o.identity,
    ...(o.beforeStop ? { beforeStop: o.beforeStop } : {}),
    onEvent: recordInstanceEvents(store, o.onInstanceEvent),
    ...(o.now ? { now: o.now } : {}),
  });
}

/** The leader election of the replicas (undefined when disabled: this replica always acts). */
export function startElection(k: KubernetesSettings, kc: KubeConfig, identity: string, onChange: (leading: boolean, detail: string) => void): LeaderElector | undefined {
  const le = k.leaderElection;
  if (!le.enabled) return undefined;
  const elector = new LeaderElector(kc.makeApiClient(CoordinationV1Api), { namespace: k.namespace, name: le.lease, identity, leaseDurationSeconds: le.leaseDurationSeconds, renewDeadlineSeconds: le.renewDeadlineSeconds, renewEverySeconds: Math.max(0.2, le.renewDeadlineSeconds / 3), retryEverySeconds: le.retrySeconds, onChange });
  elector.start();
  return elector;
}

/** The routing settings of traffic.kind gateway-api or istio, as the route writer takes them. */
export function routeSettings(t: Config['traffic']): { parentRefs: ServiceTraffic['parentRefs']; services: NonNullable<Config['traffic']['gatewayApi']>['services'] } | undefined {
  if (t.kind === 'gateway-api' && t.gatewayApi) return t.gatewayApi;
  if (t.kind === 'istio') {
    const i = t.istio ?? { gateways: [], services: {} };
    // An Istio gateway is NAME or NAMESPACE/NAME.
    const parentRefs = i.gateways.map((g) => {
      const k = g.indexOf('/');
      return k > 0 ? { namespace: g.slice(0, k), name: g.slice(k + 1) } : { name: g };
    });
    return { parentRefs, services: i.services };
  }
  return undefined;
}

/** A service's route settings (traffic.kind gateway-api or istio): its Gateways, its routes' hosts and prefix, its Services. */
export function routeService(svc: ServiceConfig, ga: NonNullable<ReturnType<typeof routeSettings>>, owner: { readonly name: string; readonly uid: string }): ServiceTraffic {
  const own = ga.services[svc.name] ?? {};
  const hosts = svc.routes.map((r) => r.host).filter((h): h is string => h !== undefined);
  const prefix = svc.routes.find((r) => r.pathPrefix !== undefined)?.pathPrefix;
  return {
    ...(own.route ? { route: own.route } : {}),
    parentRefs: ga.parentRefs,
    ...(hosts.length > 0 ? { hostnames: [...new Set(hosts)] } : {}),
    ...(prefix ? { pathPrefix: prefix } : {}),
    liveService: own.liveService ?? svc.name,
    port: own.port ?? 80,
    ...(own.targetPort !== undefined ? { targetPort: own.targetPort } : {}),
    owner,
  };
}
