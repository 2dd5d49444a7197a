// The loop's gateway when traffic goes through the cluster's routing (`traffic.kind: gateway-api`, or `istio`):
// the cluster's Gateway (or mesh) routes by the HTTPRoute (or VirtualService) shadowscale writes, so the
// control is a view of what that route says (docs/design/kubernetes.md):
// - the mirror rate is the route's RequestMirror to the shadow's Service (setRate writes the route);
// - live membership is the live Service's selection of ready pods (a released pod leaves it): members are
//   recorded, not pushed anywhere; per-member weights cannot be expressed by one Service and are recorded only;
// - the shadow's targets are its Service's selection of the role-shadow pods;
// - measurements come from Prometheus (intervalFrom wraps this control), the embedded gateway seeing none of it;
// - what only the embedded gateway can do (A/B arms, feeding a warm pool, a stateful shadow's versioned sync,
//   recording requests for replay) is refused by the configuration and throws here.
import type { GatewayControl, MemberView, StatsView } from '../gateway/control.js';
import { TrafficMetrics } from '../gateway/metrics.js';
import type { RouteWriter } from '../providers/kubernetes/traffic.js';

const unsupported = (what: string): Error => new Error(`${what} needs the embedded gateway (traffic.kind embedded): a route of the cluster cannot express it`);

export function routeControl(traffic: RouteWriter, service: string, initialRate: number): GatewayControl {
  const members = new Map<string, MemberView>();
  let rate = initialRate;
  let shadows: readonly string[] = [];
  const zero = new TrafficMetrics();
  return {
    metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', text: '' }),
    stats: async (): Promise<StatsView> => ({
      traffic: zero.snapshot(),
      mirror: { sampled: 0, mirrored: 0, dropped: 0, failed: 0, inFlight: 0, queued: 0, armSampled: 0, armSent: 0, armFailed: 0, armDropped: 0, warmSent: 0, warmFailed: 0, warmDropped: 0, rate },
      live: [...members.values()],
      errors: {},
      callers: {},
      workers: 0,
    }),
    members: async () => [...members.values()],
    addLive: async (url, weight, id) => {
      const m: MemberView = { id: id ?? url, url, weight, healthy: true, outstanding: 0, requests: 0 };
      members.set(m.id, m);
      return m;
    },
    setWeight: async (id, weight) => {
      const m = members.get(id);
      if (!m) return undefined;
      const next = { ...m, weight };
      members.set(id, next);
      return next;
    },
    drain: (id) => members.delete(id),
    drainAndWait: async (id) => members.delete(id),
    setRate: async (r) => {
      await traffic.apply(service, { mirrorRate: r });
      rate = r;
      return r;
    },
    metadata: async () => ({ records: [], total: 0, recordDropped: 0 }),
    recentRequests: async () => [],
    interval: async () => {
      throw new Error(`traffic routed by a ${traffic.kind} is measured by Prometheus (metrics.source prometheus)`);
    },
    setShadowTargets: async (urls) => {
      shadows = [...urls];
    },
    shadowTargets: async () => shadows,
    setArmTargets: async (urls) => {
      if (urls.length > 0) throw unsupported('A/B arms in the shadow');
    },
    setWarmTargets: async (urls) => {
      if (urls.length > 0) throw unsupported('feeding warming instances');
    },
    beginSync: async () => {
      throw unsupported("a stateful shadow's sync");
    },
    finishSync: async () => {
      throw unsupported("a stateful shadow's sync");
    },
    abortSync: async () => 0,
    reopenRecord: async () => false,
  };
}
