// A real Kubernetes control plane for the tests (issue 15): etcd, kube-apiserver and kube-controller-manager
// built from their Go modules by scripts/kube-bins.sh (.ci/run builds them; SHADOWSCALE_KUBE_BIN names the
// directory), on loopback ports in a temporary directory, with RBAC on and static tokens. No kubelet: a node
// simulator (nodes.ts) binds pods to its nodes and marks them running and ready after a start delay, as kwok
// does. Everything is stopped when the test ends.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { parseAllDocuments } from 'yaml';
import { freePort, missingComponent, ROOT, tempDir, until } from '../helpers.js';

export interface Cluster {
  /** https://127.0.0.1:PORT of the API server. */
  readonly server: string;
  /** A token of system:masters (the cluster's administrator). */
  readonly adminToken: string;
  /** The directory the binaries and the Gateway API CRDs are in. */
  readonly bin: string;
  /** A kubeconfig file for `token` (default: the administrator's). */
  kubeconfig(token?: string): string;
  /** Raw API call as the administrator (or `token`): status and parsed body. */
  api(method: string, path: string, body?: unknown, token?: string, contentType?: string): Promise<{ status: number; body: unknown }>;
  /** Stop the controller manager (a test of what happens without it) or start it again. */
  stopControllers(): Promise<void>;
  startControllers(): Promise<void>;
}

/** The directory of the built binaries, or undefined (with CI=true a missing one fails the suite). */
export function kubeBin(t: { skip: (why: string) => void }): string | undefined {
  const dir = process.env.SHADOWSCALE_KUBE_BIN;
  const ok = dir !== undefined && ['kube-apiserver', 'kube-controller-manager', 'etcd'].every((b) => existsSync(join(dir, b)));
  if (ok) return dir;
  return missingComponent(t, `the Kubernetes control plane is not built (SHADOWSCALE_KUBE_BIN=${dir ?? 'unset'}; \`export SHADOWSCALE_KUBE_BIN=$(scripts/kube-bins.sh)\`, as .ci/run does)`);
}

const insecure = new Agent({ connect: { rejectUnauthorized: false } });

/** Keep a child's last 200 chunks of output in `logs`. */
function keepOutput(child: ChildProcess, logs: string[]): void {
  const keep = (d: Buffer): void => {
    logs.push(d.toString());
    if (logs.length > 200) logs.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
}

function start(bin: string, args: string[], logs: string[]): ChildProcess {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  keepOutput(child, logs);
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * Start a child on ports freePort found and wait until `ready`. Another process of the suite (files run in
 * parallel) can take such a port before the child binds it (CI: etcd exited on "bind: address already in
 * use"): a child that exits with that is started again on new ports, up to three times. Returns the ports.
 */
async function startOnFreePorts(label: string, count: number, launch: (ports: number[], logs: string[]) => ChildProcess, ready: (ports: number[]) => Promise<boolean>, timeoutMs: number, logs: string[]): Promise<number[]> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (let k = 0; k < count; k++) ports.push(await freePort());
    const own: string[] = [];
    const child = launch(ports, own);
    const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
    try {
      // A probe is cut at 2 s: whatever holds a port may accept the connection and never answer.
      const probe = (): Promise<boolean> => Promise.race([ready(ports), new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref())]);
      await until(label, async () => gone() || (await probe()), timeoutMs);
    } catch (e) {
      await stop(child);
      throw new Error(`${(e as Error).message}: ${own.join('').slice(-2000)}`, { cause: e });
    } finally {
      logs.push(...own);
    }
    if (!gone()) {
      keepOutput(child, logs);
      return ports;
    }
    if (attempt < 3 && own.join('').includes('address already in use')) continue;
    throw new Error(`${label}: the process exited: ${own.join('').slice(-2000)}`);
  }
}

/** Start a control plane for this test (stopped when it ends); undefined when the binaries are missing (skipped). */
export async function startCluster(t: { skip: (why: string) => void; after: (fn: () => Promise<void> | void) => void }): Promise<Cluster | undefined> {
  const bin = kubeBin(t);
  if (!bin) return undefined;
  const dir = tempDir(t as Parameters<typeof tempDir>[0]);
  const logs: string[] = [];
  const procs: { etcd?: ChildProcess; apiserver?: ChildProcess; controllers?: ChildProcess } = {};
  t.after(async () => {
    await stop(procs.controllers);
    await stop(procs.apiserver);
    await stop(procs.etcd);
  });
  const health = async (client: number): Promise<string | undefined> => ((await request(`http://127.0.0.1:${client}/health`).then(async (r) => (await r.body.json()) as { health?: string }).catch(() => ({ health: undefined }))) as { health?: string }).health;
  const [client] = await startOnFreePorts(
    'etcd healthy',
    2,
    ([client, peer], out) => (procs.etcd = start(join(bin, 'etcd'), ['--name', 'test', '--data-dir', join(dir, `etcd-${client}`), '--listen-client-urls', `http://127.0.0.1:${client}`, '--advertise-client-urls', `http://127.0.0.1:${client}`, '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `test=http://127.0.0.1:${peer}`, '--log-level', 'error', '--quota-backend-bytes', String(512 * 1024 * 1024)], out)),
    async ([client]) => (await health(client as number)) === 'true',
    30_000,
    logs,
  );
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  writeFileSync(join(dir, 'sa.pub'), publicKey);
  writeFileSync(join(dir, 'sa.key'), privateKey);
  const adminToken = randomBytes(24).toString('hex');
  const controllerToken = randomBytes(24).toString('hex');
  // The controller manager runs its controllers with its own credentials (no per-controller service accounts): an administrator here.
  writeFileSync(join(dir, 'tokens.csv'), `${adminToken},admin,admin-uid,"system:masters"\n${controllerToken},system:kube-controller-manager,kcm-uid,"system:masters"\n`);
  mkdirSync(join(dir, 'certs'));
  const apiserverArgs = (secure: number): string[] => [
    `--etcd-servers=http://127.0.0.1:${client}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${secure}`,
    `--cert-dir=${join(dir, 'certs')}`,
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--anonymous-auth=false',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--v=1',
  ];
  const apiAt = async (server: string, method: string, path: string, body?: unknown, token = adminToken, contentType = 'application/json'): Promise<{ status: number; body: unknown }> => {
    const r = await request(`${server}${path}`, { method: method as 'GET', dispatcher: insecure, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': contentType } : {}) }, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
    const text = await r.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (readyz answers text)
    }
    return { status: r.statusCode, body: parsed };
  };
  const [secure] = await startOnFreePorts(
    'kube-apiserver ready',
    1,
    ([secure], out) => (procs.apiserver = start(join(bin, 'kube-apiserver'), apiserverArgs(secure as number), out)),
    async ([secure]) => (await apiAt(`https://127.0.0.1:${secure}`, 'GET', '/readyz').catch(() => ({ status: 0 }))).status === 200,
    60_000,
    logs,
  );
  const server = `https://127.0.0.1:${secure}`;
  const api = (method: string, path: string, body?: unknown, token = adminToken, contentType = 'application/json'): Promise<{ status: number; body: unknown }> => apiAt(server, method, path, body, token, contentType);
  const kubeconfig = (token = adminToken): string => {
    const file = join(dir, `kubeconfig-${token.slice(0, 8)}.yaml`);
    writeFileSync(file, `apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true\nusers:\n- name: user\n  user:\n    token: ${token}\ncontexts:\n- name: test\n  context: { cluster: test, user: user, namespace: default }\ncurrent-context: test\n`);
    return file;
  };
  const kcmConfig = kubeconfig(controllerToken);
  const startControllers = async (): Promise<void> => {
    procs.controllers = start(join(bin, 'kube-controller-manager'), [
      `--kubeconfig=${kcmConfig}`,
      '--controllers=deployment-controller,replicaset-controller,garbage-collector-controller,serviceaccount-controller,namespace-controller',
      '--leader-elect=false',
      '--use-service-account-credentials=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${await freePort()}`,
      `--authentication-kubeconfig=${kcmConfig}`,
      `--authorization-kubeconfig=${kcmConfig}`,
      `--service-account-private-key-file=${join(dir, 'sa.key')}`,
      '--concurrent-deployment-syncs=10',
      '--concurrent-replicaset-syncs=10',
      '--kube-api-qps=100',
      '--kube-api-burst=200',
      '--v=1',
    ], logs);
  };
  await startControllers();
  // The default namespace's service account (the ServiceAccount admission plugin waits for it before pods are admitted).
  await until('the default service account', async () => (await api('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200, 60_000).catch((e: Error) => {
    throw new Error(`${e.message}: ${logs.join('').slice(-3000)}`);
  });
  return {
    server,
    adminToken,
    bin,
    kubeconfig,
    api,
    stopControllers: async () => {
      await stop(procs.controllers);
      procs.controllers = undefined;
    },
    startControllers,
  };
}

/** The Gateway API's standard CRDs (HTTPRoute among them), from the binaries' directory. */
export function gatewayApiCrds(bin: string): string[] {
  const d = join(bin, 'gateway-api-crds');
  return readdirSync(d)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(d, f));
}

/** Istio's VirtualService CRD (from the istio.io/api module, scripts/kube-bins.sh), as the real validation of traffic: istio. */
export async function installIstioVirtualService(c: Cluster): Promise<void> {
  const dir = readdirSync(c.bin).find((d) => d.startsWith('istio-crds-'));
  assert.ok(dir, `no Istio CRDs in ${c.bin}: run scripts/kube-bins.sh`);
  for (const doc of parseAllDocuments(readFileSync(join(c.bin, dir, 'customresourcedefinitions.gen.yaml'), 'utf8'))) {
    const crd = doc.toJS() as { kind?: string; metadata: { name: string } } | null;
    if (crd?.kind !== 'CustomResourceDefinition' || crd.metadata.name !== 'virtualservices.networking.istio.io') continue;
    const r = await c.api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    assert.ok(r.status === 201, `${crd.metadata.name}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  }
  await until('virtualservices served', async () => (await c.api('GET', '/apis/networking.istio.io/v1/namespaces/default/virtualservices')).status === 200, 30_000);
}

/** Apply deploy/kubernetes/rbac.yaml in `namespace` as the administrator. */
export async function applyRbac(c: Cluster, namespace: string): Promise<void> {
  const paths: Record<string, string> = { ServiceAccount: `/api/v1/namespaces/${namespace}/serviceaccounts`, Role: `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, RoleBinding: `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings` };
  for (const doc of parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'kubernetes', 'rbac.yaml'), 'utf8'))) {
    const o = doc.toJS() as { kind: string; subjects?: { namespace?: string }[] };
    const path = paths[o.kind];
    assert.ok(path, `rbac.yaml has a ${o.kind}: the test applies ServiceAccount, Role and RoleBinding`);
    if (o.subjects) for (const s of o.subjects) s.namespace = namespace;
    const r = await c.api('POST', path, o);
    assert.equal(r.status, 201, `${o.kind}: ${JSON.stringify(r.body).slice(0, 300)}`);
  }
}

/** A token of service account `name` (TokenRequest), as a pod of it would mount. */
export async function saToken(c: Cluster, namespace: string, name: string): Promise<string> {
  const r = await c.api('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
  assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 300));
  return (r.body as { status: { token: string } }).status.token;
}

/** Install the Gateway API's standard-channel CRDs and wait until HTTPRoutes are served. */
export async function installGatewayApi(c: Cluster): Promise<void> {
  for (const file of gatewayApiCrds(c.bin)) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const crd = doc.toJS() as { kind?: string; metadata: { name: string } } | null;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      const r = await c.api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      assert.ok(r.status === 201, `${crd.metadata.name}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    }
  }
  await until('httproutes served', async () => (await c.api('GET', '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes')).status === 200, 30_000);
}
