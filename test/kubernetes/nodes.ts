// A node simulator for the tests' control plane (no kubelet, no scheduler), doing what kwok does: it
// registers ready nodes, binds every unscheduled pod to one of them (pods/binding, as the scheduler would),
// marks a bound pod Running and Ready after a start delay (pods/status, as the kubelet would), and finishes
// the deletion of a pod marked for deletion (the kubelet's part of a graceful delete). A pod whose
// `shadowscale.test/crash` annotation is "true", or whose image's tag is `crash`, is reported crash-looping instead (waiting, CrashLoopBackOff,
// restarts counted), as a container that exits at start would be.
//
// With `exec`, the simulator is a kubelet that runs something: each pod's first container becomes a real
// process (the given command, e.g. the sample service) listening on the pod's IP (a loopback address of
// its own, 127.A.B.x) and container port, with the container's environment; the pod is Running at once
// and Ready when the process answers its health check (a readiness probe); a deleted pod's process gets
// SIGTERM; a process that exits makes its pod Failed.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Cluster } from './cluster.js';

export interface NodeSimulator {
  readonly nodes: readonly string[];
  /** Pods bound so far. */
  readonly bound: () => number;
  stop(): Promise<void>;
}

interface Pod {
  metadata: { name: string; namespace: string; uid: string; creationTimestamp: string; deletionTimestamp?: string; annotations?: Record<string, string>; resourceVersion: string };
  spec: { nodeName?: string; containers: { name: string; image?: string; env?: { name: string; value?: string }[]; ports?: { containerPort: number }[] }[] };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

export interface ExecOptions {
  /** argv of a container's process (given HOST and PORT). */
  readonly command: readonly string[];
  /** The readiness probe's path. */
  readonly healthPath?: string;
}

export async function startNodes(c: Cluster, o: { count?: number; startDelayMs?: number; pollMs?: number; exec?: ExecOptions } = {}): Promise<NodeSimulator> {
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
  // Pods' addresses: a loopback /24 of this simulator's own, so two simulators' processes never share one.
  const net = `127.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
  const procs = new Map<string, { child: ChildProcess; url: string; ready: boolean; exited?: number | null }>();
  const boundAt = new Map<string, number>();
  let stopped = false;
  const pass = async (): Promise<void> => {
    const list = await c.api('GET', '/api/v1/pods');
    if (list.status !== 200) return;
    for (const p of (list.body as { items: Pod[] }).items) {
      const path = `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`;
      if (p.metadata.deletionTimestamp) {
        const proc = procs.get(p.metadata.uid);
        if (proc) {
          procs.delete(p.metadata.uid);
          proc.child.kill('SIGTERM');
        }
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
      const proc = procs.get(p.metadata.uid);
      if (proc && o.exec) {
        // The readiness probe, then an exit: Ready, or Failed.
        if (proc.exited !== undefined) {
          if (p.status?.phase !== 'Failed') await c.api('PATCH', `${path}/status`, { status: { phase: 'Failed', reason: 'Error', message: `exited with ${proc.exited}` } }, undefined, 'application/merge-patch+json');
          continue;
        }
        if (!proc.ready) {
          const ok = await fetch(`${proc.url}${o.exec.healthPath ?? '/healthz'}`, { signal: AbortSignal.timeout(500) }).then((r) => r.ok, () => false);
          if (ok) {
            proc.ready = true;
            const now = new Date().toISOString();
            await c.api('PATCH', `${path}/status`, { status: { conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now }, { type: 'Initialized', status: 'True', lastTransitionTime: now }, { type: 'ContainersReady', status: 'True', lastTransitionTime: now }, { type: 'Ready', status: 'True', lastTransitionTime: now }] } }, undefined, 'application/merge-patch+json');
          }
        }
        continue;
      }
      if (!nodes.includes(p.spec.nodeName) || p.status?.phase === 'Running') continue;
      const since = boundAt.get(p.metadata.uid) ?? Date.parse(p.metadata.creationTimestamp);
      if (Date.now() - since < startDelayMs) continue;
      const now = new Date().toISOString();
      const crash = p.metadata.annotations?.['shadowscale.test/crash'] === 'true' || p.spec.containers.some((k) => k.image?.endsWith(':crash'));
      // With exec, Ready waits for the process's health check (the readiness probe, next passes).
      const ready = crash || o.exec ? 'False' : 'True';
      const containerStatuses = p.spec.containers.map((k) => ({
        name: k.name,
        image: k.image ?? 'sim',
        imageID: 'sim',
        ready: ready === 'True',
        started: !crash,
        restartCount: crash ? 3 : 0,
        state: crash ? { waiting: { reason: 'CrashLoopBackOff', message: 'back-off restarting failed container' } } : { running: { startedAt: now } },
        ...(crash ? { lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: now, finishedAt: now } } } : {}),
      }));
      const podIp = `${o.exec ? net : '127.0.0'}.${ip}`;
      if (o.exec && !crash) {
        const k = p.spec.containers[0];
        const port = k?.ports?.[0]?.containerPort ?? 8080;
        const env = Object.fromEntries((k?.env ?? []).map((e) => [e.name, e.value ?? '']));
        const child = spawn(o.exec.command[0] as string, o.exec.command.slice(1), { env: { ...process.env, ...env, HOST: podIp, PORT: String(port) }, stdio: 'ignore' });
        const entry: { child: ChildProcess; url: string; ready: boolean; exited?: number | null } = { child, url: `http://${podIp}:${port}`, ready: false };
        child.on('exit', (code) => (entry.exited = code));
        procs.set(p.metadata.uid, entry);
      }
      await c.api(
        'PATCH',
        `${path}/status`,
        { status: { phase: crash ? 'Pending' : 'Running', podIP: podIp, podIPs: [{ ip: podIp }], hostIP: '127.0.0.1', startTime: now, conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now }, { type: 'Initialized', status: 'True', lastTransitionTime: now }, { type: 'ContainersReady', status: ready, lastTransitionTime: now }, { type: 'Ready', status: ready, lastTransitionTime: now }], containerStatuses } },
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
      for (const p of procs.values()) p.child.kill('SIGKILL');
    },
  };
}
