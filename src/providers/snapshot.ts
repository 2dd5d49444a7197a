// The state API of a stateful instance (the sample service's MODE=kv, and any service that offers it):
// GET /state/snapshot copies its state out, PUT /state/snapshot copies it in. Used to sync a new shadow
// from live (control/loop.ts) and to start trial instances from live's state (proof/trial.ts).

import { request } from 'undici';

/**
 * How long an instance may take to answer a state request (`shadow.syncTimeoutSeconds`): until its headers
 * (for a PUT, counted once the body is sent: the time to apply it) and between two chunks of its body.
 */
export const DEFAULT_SYNC_TIMEOUT_MS = 30_000;

export interface StateRequestOptions {
  readonly signal?: AbortSignal;
  /** Default DEFAULT_SYNC_TIMEOUT_MS. */
  readonly timeoutMs?: number;
}

const timeouts = (o: StateRequestOptions) => {
  const ms = o.timeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS;
  return { headersTimeout: ms, bodyTimeout: ms, ...(o.signal ? { signal: o.signal } : {}) };
};

/**
 * An instance's state snapshot; throws when it does not answer 200 (the caller names the instance). With
 * `since` (per origin, the lowest mutation stamp that may still reach the shadow), the snapshot also says
 * which stamped mutations from there on it contains (`applied`), when the service keeps them.
 */
export async function readSnapshot(i: { readonly url: string }, o: StateRequestOptions & { readonly since?: Readonly<Record<string, number>> } = {}): Promise<string> {
  const since = o.since;
  const q = since && Object.keys(since).length ? `?since=${encodeURIComponent(Object.entries(since).map(([o, n]) => `${o}:${n}`).join(','))}` : '';
  const r = await request(`${i.url}/state/snapshot${q}`, timeouts(o));
  const body = await r.body.text();
  if (r.statusCode !== 200) throw new Error(`GET /state/snapshot answered ${r.statusCode}`);
  return body;
}

/** Copy a snapshot into an instance; throws when it does not answer 200 (the caller names the instance). */
export async function writeSnapshot(i: { readonly url: string }, body: string, o: StateRequestOptions = {}): Promise<void> {
  const r = await request(`${i.url}/state/snapshot`, { method: 'PUT', body, headers: { 'content-type': 'application/json' }, ...timeouts(o) });
  await r.body.dump();
  if (r.statusCode !== 200) throw new Error(`PUT /state/snapshot answered ${r.statusCode}`);
}

/** The stamps a snapshot says it contains (per origin), or undefined when the service does not say. */
export function appliedOf(body: string): Record<string, number[]> | undefined {
  try {
    const a = (JSON.parse(body) as { applied?: unknown }).applied;
    if (!a || typeof a !== 'object' || Array.isArray(a)) return undefined;
    const out: Record<string, number[]> = {};
    for (const [o, list] of Object.entries(a as Record<string, unknown>)) if (Array.isArray(list)) out[o] = list.filter((n): n is number => Number.isInteger(n));
    return out;
  } catch {
    return undefined;
  }
}

/** An instance's state digest (GET /state/digest), or undefined when it has none. */
export async function readDigest(i: { readonly url: string }, o: StateRequestOptions = {}): Promise<{ digest: string; version: number; keys: number } | undefined> {
  const r = await request(`${i.url}/state/digest`, timeouts(o));
  const body = await r.body.text();
  if (r.statusCode !== 200) return undefined;
  const d = JSON.parse(body) as { digest?: unknown; version?: unknown; keys?: unknown };
  return typeof d.digest === 'string' ? { digest: d.digest, version: Number(d.version), keys: Number(d.keys) } : undefined;
}
