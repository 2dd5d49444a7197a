// deploy/kubernetes (issue 15): the kustomization's resources exist and every manifest is accepted by a real
// kube-apiserver; the ConfigMap's configuration is a valid shadowscale configuration for provider.kind
// kubernetes; the Deployment runs as the ServiceAccount of rbac.yaml (which the provider, traffic and run
// tests prove sufficient), with the probes `run` answers. (The image itself is not built here: no container
// engine on these machines.)
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { ROOT, tempDir } from '../helpers.js';
import { startCluster } from './cluster.js';

const DIR = join(ROOT, 'deploy', 'kubernetes');
const PATHS: Record<string, string> = {
  ServiceAccount: '/api/v1/namespaces/default/serviceaccounts',
  Role: '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles',
  RoleBinding: '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings',
  ConfigMap: '/api/v1/namespaces/default/configmaps',
  Deployment: '/apis/apps/v1/namespaces/default/deployments',
  Service: '/api/v1/namespaces/default/services',
};

interface Manifest {
  kind: string;
  metadata: { name: string };
  subjects?: { namespace?: string }[];
  data?: Record<string, string>;
  spec?: { template?: { spec: { serviceAccountName?: string; containers: { args: string[]; readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } }; env: { name: string }[] }[] } } };
}

describe('deploy/kubernetes', () => {
  it('every manifest of the kustomization is accepted by a real API server; the configuration is valid; the Deployment runs as the ServiceAccount of rbac.yaml', async (t) => {
    const kustomization = parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    const docs: Manifest[] = [];
    for (const r of kustomization.resources) {
      assert.ok(existsSync(join(DIR, r)), `${r} exists`);
      for (const d of parseAllDocuments(readFileSync(join(DIR, r), 'utf8'))) docs.push(d.toJS() as Manifest);
    }
    const byKind = (kind: string): Manifest[] => docs.filter((d) => d.kind === kind);
    assert.deepEqual(['ServiceAccount', 'Role', 'RoleBinding', 'ConfigMap', 'Deployment', 'Service'].filter((k) => byKind(k).length === 0), []);

    // The configuration in the ConfigMap.
    const dir = tempDir(t);
    const file = join(dir, 'shadowscale.yaml');
    writeFileSync(file, byKind('ConfigMap')[0]?.data?.['shadowscale.yaml'] ?? '');
    const cfg = loadConfig({ file });
    assert.equal(cfg.provider.kind, 'kubernetes');
    assert.equal(cfg.provider.kubernetes?.leaderElection.enabled, true);
    // The Deployment: the ServiceAccount of rbac.yaml, the run command on the mounted config, the probes run answers, its identity.
    const pod = byKind('Deployment')[0]?.spec?.template?.spec;
    assert.equal(pod?.serviceAccountName, byKind('ServiceAccount')[0]?.metadata.name);
    const k = pod?.containers[0];
    assert.deepEqual(k?.args, ['run', '--config', '/etc/shadowscale/shadowscale.yaml']);
    assert.deepEqual([k?.readinessProbe.httpGet.path, k?.livenessProbe.httpGet.path], ['/readyz', '/healthz']);
    assert.ok(k?.env.some((e) => e.name === 'POD_NAME'));

    const c = await startCluster(t);
    if (!c) return;
    for (const d of docs) {
      if (d.subjects) for (const s of d.subjects) s.namespace = 'default';
      const r = await c.api('POST', PATHS[d.kind] as string, d);
      assert.equal(r.status, 201, `${d.kind} ${d.metadata.name}: ${JSON.stringify(r.body).slice(0, 400)}`);
    }
  });
});
