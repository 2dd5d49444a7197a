// bench:kubernetes — reconciles against a real kube-apiserver (issue 15). Writes bench/results/kubernetes.md.
// The tests' control plane (etcd, kube-apiserver, kube-controller-manager built by scripts/kube-bins.sh; the
// node simulator runs the pods) with the Gateway API CRDs; N user Deployments (default 100), one
// KubernetesProvider and one GatewayApiTraffic for all of them in this process, as the ServiceAccount of
// deploy/kubernetes/rbac.yaml. A reconcile of a service: read its instances (the provider's watch cache),
// create or delete what differs from the desired live and shadow counts, and make its HTTPRoute say the
// mirror rate (a read of the route; a write only when it changes).
// 1. Steady state: every service at its desired counts; T ticks, each reconciling all N concurrently.
//    Measured: each reconcile's duration (p50, p99, max) and each tick's wall time (every service in one tick).
// 2. Scaling: each tick, a tenth of the services gets one more live instance (and one less the tick after):
//    the reconciles that act, and the ticks they are in.
// Usage: SHADOWSCALE_KUBE_BIN=$(scripts/kube-bins.sh) npm run bench:kubernetes -- [--services N] [--ticks T] [--out FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from '../dist/src/gateway/loadgen.js';
import { kubeConfig } from '../dist/src/providers/kubernetes/client.js';
import { KubernetesProvider } from '../dist/src/providers/kubernetes/provider.js';
import { GatewayApiTraffic } from '../dist/src/providers/kubernetes/traffic.js';
import { applyRbac, installGatewayApi, saToken, startCluster } from '../dist/test/kubernetes/cluster.js';
import { startNodes } from '../dist/test/kubernetes/nodes.js';
import { args, machine, table } from './lib.mjs';

const a = args();
const n = Number(a.services ?? 100);
const ticks = Number(a.ticks ?? 30);
const out = a.out ?? 'bench/results/kubernetes.md';
const cleanups = [];
const t = { skip: (why) => { throw new Error(why); }, after: (fn) => cleanups.push(fn) };
const log = (s) => process.stderr.write(`${s}\n`);
const f1 = (x) => x.toFixed(1);

const c = await startCluster(t);
try {
  const sim = await startNodes(c, { startDelayMs: 300, pollMs: 200, count: 4 });
  cleanups.push(() => sim.stop());
  await installGatewayApi(c);
  await applyRbac(c, 'default');
  const token = await saToken(c, 'default', 'shadowscale');
  const names = Array.from({ length: n }, (_, i) => `svc${i}`);
  for (const name of names) {
    const r = await c.api('POST', '/apis/apps/v1/namespaces/default/deployments', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name }, spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'sample-service:1', ports: [{ containerPort: 8080 }] }] } } } });
    if (r.status !== 201) throw new Error(`${name}: ${r.status}`);
  }
  const kc = kubeConfig({ server: c.server, token });
  const services = Object.fromEntries(names.map((s) => [s, { deployment: s, instanceType: 'small' }]));
  const provider = await KubernetesProvider.start({ kubeConfig: kc, namespace: 'default', services, instanceTypes: { small: { requests: { cpu: '100m' } } }, graceSeconds: 1 });
  cleanups.push(() => provider.close());
  const traffic = new GatewayApiTraffic(kc, 'default', Object.fromEntries(names.map((s) => [s, { parentRefs: [{ name: 'public' }], hostnames: [`${s}.bench`], liveService: s, port: 80, targetPort: 8080 }])));
  await traffic.start();
  cleanups.push(() => traffic.close());
  const desired = new Map(names.map((s) => [s, { live: 2, shadow: 1 }]));
  let seq = 0;
  const reconcile = async (s) => {
    const t0 = performance.now();
    const mine = await provider.list({ service: s });
    let acted = 0;
    for (const pool of ['live', 'shadow']) {
      const have = mine.filter((i) => i.pool === pool && i.state !== 'failed' && i.state !== 'draining');
      const want = desired.get(s)[pool];
      const work = [];
      for (let k = have.length; k < want; k++) work.push(provider.create({ id: `${s}-${pool}-${++seq}`, service: s, pool, instanceType: 'small' }));
      for (const i of have.slice(want)) work.push(provider.delete(i.id));
      acted += work.length;
      await Promise.all(work);
    }
    const wrote = await traffic.apply(s, { mirrorRate: 0.1 });
    return { ms: performance.now() - t0, acted, wrote };
  };

  // Bring every service to its counts.
  const t0 = Date.now();
  await Promise.all(names.map(reconcile));
  for (;;) {
    const all = await provider.list();
    if (all.filter((i) => i.state === 'ready').length === n * 3) break;
    if (Date.now() - t0 > 600_000) throw new Error('not ready in 10 min');
    await sleep(500);
  }
  const setup = (Date.now() - t0) / 1000;
  log(`${n} services at 2 live + 1 shadow, all ready after ${setup.toFixed(1)} s`);

  // 1. Steady state.
  const steady = [];
  const steadyTicks = [];
  let steadyWrites = 0;
  for (let k = 0; k < ticks; k++) {
    const start = performance.now();
    const rs = await Promise.all(names.map(reconcile));
    steadyTicks.push(performance.now() - start);
    for (const r of rs) {
      steady.push(r.ms);
      steadyWrites += r.acted + (r.wrote ? 1 : 0);
    }
    await sleep(Math.max(0, 1000 - (performance.now() - start)));
  }
  log(`steady: reconcile p99 ${f1(percentile(steady, 0.99))} ms, tick max ${f1(Math.max(...steadyTicks))} ms`);
  // One service at a time: a reconcile's own duration, not shared with 99 others on the one event loop.
  const alone = [];
  for (let k = 0; k < 5; k++) for (const s of names) alone.push((await reconcile(s)).ms);
  log(`steady, one at a time: reconcile p99 ${f1(percentile(alone, 0.99))} ms`);

  // 2. Scaling: a tenth of the services one up, then back down.
  const acting = [];
  const scalingTicks = [];
  for (let k = 0; k < 10; k++) {
    const movers = names.filter((_, i) => i % 10 === k % 10);
    for (const s of movers) desired.get(s).live = k % 2 === 0 ? 3 : 2;
    const start = performance.now();
    const rs = await Promise.all(names.map(reconcile));
    scalingTicks.push(performance.now() - start);
    for (const r of rs) if (r.acted > 0) acting.push(r.ms);
    for (const s of movers) desired.get(s).live = 2;
    await sleep(Math.max(0, 1000 - (performance.now() - start)));
  }
  log(`scaling: acting reconcile p99 ${f1(percentile(acting, 0.99))} ms, tick max ${f1(Math.max(...scalingTicks))} ms`);

  const md = `# bench:kubernetes — reconciles against a real kube-apiserver

Command: \`SHADOWSCALE_KUBE_BIN=$(scripts/kube-bins.sh) npm run bench:kubernetes -- --services ${n} --ticks ${ticks}\` (bench/kubernetes.mjs)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}

The tests' control plane on this machine: etcd 3.6.4, kube-apiserver and kube-controller-manager v1.34.4 built from
their Go modules (scripts/kube-bins.sh), the Gateway API v1.4.1 standard CRDs, the node simulator running the pods
(4 nodes). ${n} user Deployments; one \`KubernetesProvider\` and one \`GatewayApiTraffic\` in this process for all of
them, with a token of the ServiceAccount bound to deploy/kubernetes/rbac.yaml. Everything shares the machine's two
cores: the API server, etcd, the controllers, the simulator and this process.

A **reconcile** of a service: its instances from the provider's watch cache; creates and deletes for what differs from
the desired live and shadow counts (each create claims a pod, raising the Deployment's replicas through the \`scale\`
subresource when none is free; each delete releases its pod, lowers the replicas and deletes it); its HTTPRoute made to
say the mirror rate (read from the writer's watch of the routes; a write only when it would change). A **tick** reconciles every service
concurrently, once a second; a reconcile's duration then includes waiting for the others on the one event loop, so the
steady state is also measured one service at a time.

Setup: ${n} services to 2 live + 1 shadow instances (${n * 3} pods, ${n} shadow Deployments, ${n} HTTPRoutes and shadow
Services), all ready after ${setup.toFixed(1)} s.

## Steady state (${ticks} ticks, nothing to change)

${table(['figure', 'value', 'target'], [
  ['reconciles, one service at a time', String(alone.length), ''],
  ['reconcile p50, one at a time', `${f1(percentile(alone, 0.5))} ms`, ''],
  ['reconcile p99, one at a time', `${f1(percentile(alone, 0.99))} ms`, '≤ 100 ms'],
  [`reconciles, all ${n} services of a tick at once`, String(steady.length), ''],
  ['reconcile p50, all at once', `${f1(percentile(steady, 0.5))} ms`, ''],
  ['reconcile p99, all at once', `${f1(percentile(steady, 0.99))} ms`, '≤ 100 ms'],
  ['reconcile max, all at once', `${f1(Math.max(...steady))} ms`, ''],
  [`tick (all ${n} services) p50`, `${f1(percentile(steadyTicks, 0.5))} ms`, ''],
  [`tick (all ${n} services) max`, `${f1(Math.max(...steadyTicks))} ms`, '≤ 1000 ms'],
  ['writes at steady state', String(steadyWrites), '0'],
])}

## Scaling (10 ticks; each tick a tenth of the services one live instance up, the next tick back down)

${table(['figure', 'value'], [
  ['reconciles that acted', String(acting.length)],
  ['acting reconcile p50', `${f1(percentile(acting, 0.5))} ms`],
  ['acting reconcile p99', `${f1(percentile(acting, 0.99))} ms`],
  ['tick max', `${f1(Math.max(...scalingTicks))} ms`],
])}

An acting reconcile waits for what it does: a create resolves once a pod of the ReplicaSet is claimed (the scale write,
the deployment and ReplicaSet controllers, the pod's creation), a delete once the pod is released, the replicas lowered
and the pod gone. The loop runs them in the background of its tick; the figures above are their whole duration.
`;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, md);
  log(`wrote ${out}`);
} finally {
  for (const fn of cleanups.reverse()) await fn();
}
process.exit(0);
