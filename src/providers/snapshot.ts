// The state API of a stateful instance (the sample service's MODE=kv, and any service that offers it):
// GET /state/snapshot copies its state out, PUT /state/snapshot copies it in. Used to sync a new shadow
// from live (control/loop.ts) and to start trial instances from live's state (proof/trial.ts).

import { request } from 'undici';

const TIMEOUTS = { headersTimeout: 5000, bodyTimeout: 5000 } as const;

/**
 * An instance's state snapshot; throws when it does not answer 200 (the caller names the instance). With
 * `since` (per origin, the lowest mutation stamp that may still reach the shadow), the snapshot also says
 * which stamped mutations from there on it contains (`applied`), when the service keeps them.
 */
export async function readSnapshot(i: { readonly url: string }, signal?: AbortSignal, since?: Readonly<Record<string, number>>): Promise<string> {
  const q = since && Object.keys(since).length ? `?since=${encodeURIComponent(Object.entries(since).map(([o, n]) => `${o}:${n}`).join(','))}` : '';
  const r = await request(`${i.url}/state/snapshot${q}`, { ...TIMEOUTS, ...(signal ? { signal } : {}) });
  const body = await r.body.text();
  if (r.statusCode !== 200) throw new Error(`GET /state/snapshot answered ${r.statusCode}`);
  return body;
}

/** Copy a snapshot into an instance; throws when it does not answer 200 (the caller names the instance). */
export async function writeSnapshot(i: { readonly url: string }, body: string, signal?: AbortSignal): Promise<void> {
  const r = await request(`${i.url}/state/snapshot`, { method: 'PUT', body, headers: { 'content-type': 'application/json' }, ...TIMEOUTS, ...(signal ? { signal } : {}) });
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
export async function readDigest(i: { readonly url: string }, signal?: AbortSignal): Promise<{ digest: string; version: number; keys: number } | undefined> {
  const r = await request(`${i.url}/state/digest`, { ...TIMEOUTS, ...(signal ? { signal } : {}) });
  const body = await r.body.text();
  if (r.statusCode !== 200) return undefined;
  const d = JSON.parse(body) as { digest?: unknown; version?: unknown; keys?: unknown };
  return typeof d.digest === 'string' ? { digest: d.digest, version: Number(d.version), keys: Number(d.keys) } : undefined;
}
