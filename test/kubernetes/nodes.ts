// A node simulator for the tests' control plane (no kubelet, no scheduler), doing what kwok does: it
// registers ready nodes, binds every unscheduled pod to one of them (pods/binding, as the scheduler would),
// marks a bound pod Running and Ready after a start delay (pods/status, as the kubelet would), and finishes
// the deletion of a pod marked for deletion (the kubelet's part of a graceful delete). A pod whose
// `shadowscale.test/crash` annotation is "true", or whose image's tag is `crash`, is reported crash-looping instead (waiting, CrashLoopBackOff,
// restarts counted), as a container that exits at start would be.
import type { Cluster } from './cluster.js';

export interface NodeSimulator {
  readonly nodes: readonly string[];
  /** Pods bound so far. */
  readonly bound: () => number;
  stop(): Promise<void>;
}

interface Pod {
  metadata: { name: string; namespace: string; uid: string; creationTimestamp: string; deletionTimestamp?: string; annotations?: Record<string, string>; resourceVersion: string };
  spec: { nodeName?: string; containers: { name: string; image?: string }[] };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

export async function startNodes(c: Cluster, o: { count?: number; startDelayMs?: number; pollMs?: number } = {}): Promise<NodeSimulator> {
  const count = o.count ?? 2;
  const startDelayMs = o.startDelayMs ?? 500;
  const nodes = Array.from({ length: count }, (_, i) => `sim-${i}`);
  for (const name of nodes) {
    const r = await c.api('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, type: 'simulated' } } });
    if (r.status !== 201 && r.status !== 409) throw new Error(`node ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    const now = new Date().toISOString();
    const s = await c.api('PATCH', `/api/v1/nodes/${name}/status`, { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'simulated', lastHeartbeatTime: now, lastTransitionTime: now }], capacity: { cpu: '64', memory: '256Gi', pods: '500' }, allocatable: { cpu: '64', memory: '256Gi', pods: '500' }, addresses: [{ type: 'InternalIP', address: '127.0.0.1' }] } }, undefined, 'application/merge-patch+json');
    if (s.status !== 200) throw new Error(`node ${name} status: ${s.status} ${JSON.stringify(s.body)}`);
  }
  let bound = 0;
  let next = 0;
  let ip = 2;
  const boundAt = new Map<string, number>();
  let stopped = false;
  const pass = async (): Promise<void> => {
    const list = await c.api('GET', '/api/v1/pods');
    if (list.status !== 200) return;
    for (const p of (list.body as { items: Pod[] }).items) {
      const path = `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`;
      if (p.metadata.deletionTimestamp) {
        await c.api('DELETE', path, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid: p.metadata.uid } });
        boundAt.delete(p.metadata.uid);
        continue;
      }
      if (!p.spec.nodeName) {
        const node = nodes[next++ % nodes.length] as string;
        const r = await c.api('POST', `${path}/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: p.metadata.name, namespace: p.metadata.namespace }, target: { apiVersion: 'v1', kind: 'Node', name: node } });
        if (r.status === 201) {
          bound++;
          boundAt.set(p.metadata.uid, Date.now());
        }
        continue;
      }
      if (!nodes.includes(p.spec.nodeName) || p.status?.phase === 'Running') continue;
      const since = boundAt.get(p.metadata.uid) ?? Date.parse(p.metadata.creationTimestamp);
      if (Date.now() - since < startDelayMs) continue;
      const now = new Date().toISOString();
      const crash = p.metadata.annotations?.['shadowscale.test/crash'] === 'true' || p.spec.containers.some((k) => k.image?.endsWith(':crash'));
      const containerStatuses = p.spec.containers.map((k) => ({
        name: k.name,
        image: k.image ?? 'sim',
        imageID: 'sim',
        ready: !crash,
        started: !crash,
        restartCount: crash ? 3 : 0,
        state: crash ? { waiting: { reason: 'CrashLoopBackOff', message: 'back-off restarting failed container' } } : { running: { startedAt: now } },
        ...(crash ? { lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: now, finishedAt: now } } } : {}),
      }));
      const ready = crash ? 'False' : 'True';
      await c.api(
        'PATCH',
        `${path}/status`,
        { status: { phase: crash ? 'Pending' : 'Running', podIP: `127.0.0.${ip}`, podIPs: [{ ip: `127.0.0.${ip}` }], hostIP: '127.0.0.1', startTime: now, conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now }, { type: 'Initialized', status: 'True', lastTransitionTime: now }, { type: 'ContainersReady', status: ready, lastTransitionTime: now }, { type: 'Ready', status: ready, lastTransitionTime: now }], containerStatuses } },
        undefined,
        'application/merge-patch+json',
      );
      if (!crash) ip = ip >= 254 ? 2 : ip + 1;
      // A crash-looping pod keeps its status (phase Pending) and is not patched again.
      if (crash) boundAt.set(p.metadata.uid, Number.POSITIVE_INFINITY);
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await pass().catch(() => undefined);
      await new Promise((r) => setTimeout(r, o.pollMs ?? 150));
    }
  })();
  return {
    nodes,
    bound: () => bound,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}
