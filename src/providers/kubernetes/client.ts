// A client of the Kubernetes API (@kubernetes/client-node): from explicit settings (a server and a token,
// as the tests and a configuration name them), or as the library finds it (in-cluster service account,
// KUBECONFIG, ~/.kube/config).
import { KubeConfig } from '@kubernetes/client-node';

export interface ClusterAccess {
  /** https://HOST:PORT of the API server. */
  readonly server: string;
  /** A bearer token (a service account's). */
  readonly token: string;
  /** PEM of the CA that signed the server's certificate; without it (tests' self-signed servers) skipTLSVerify. */
  readonly caData?: string;
  readonly skipTLSVerify?: boolean;
  readonly namespace?: string;
}

export function kubeConfig(access?: ClusterAccess): KubeConfig {
  const kc = new KubeConfig();
  if (!access) {
    kc.loadFromDefault();
    return kc;
  }
  kc.loadFromOptions({
    clusters: [{ name: 'cluster', server: access.server, skipTLSVerify: access.skipTLSVerify ?? access.caData === undefined, ...(access.caData ? { caData: Buffer.from(access.caData).toString('base64') } : {}) }],
    users: [{ name: 'user', token: access.token }],
    contexts: [{ name: 'context', cluster: 'cluster', user: 'user', namespace: access.namespace ?? 'default' }],
    currentContext: 'context',
  });
  return kc;
}
