// The state API of a stateful instance (the sample service's MODE=kv, and any service that offers it):
// GET /state/snapshot copies its state out, PUT /state/snapshot copies it in. Used to sync a new shadow
// from live (control/loop.ts) and to start trial instances from live's state (proof/trial.ts).

import { request } from 'undici';

const TIMEOUTS = { headersTimeout: 5000, bodyTimeout: 5000 } as const;

/** An instance's state snapshot; throws when it does not answer 200 (the caller names the instance). */
export async function readSnapshot(i: { readonly url: string }, signal?: AbortSignal): Promise<string> {
  const r = await request(`${i.url}/state/snapshot`, { ...TIMEOUTS, ...(signal ? { signal } : {}) });
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
