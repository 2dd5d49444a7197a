// The request mix a trial replays, from a recording (`gateway --mode metadata --record FILE`): the
// recorded methods, routes and body sizes, bounded so that no recording can exhaust memory.
//
// 1. At most `maxRequests`, taken evenly across the recording (its mix over time, not its first minutes).
// 2. Bodies of the recorded size (their content is never recorded), each capped at `maxBodyBytes`, and
//    all of them together at `maxTotalBytes`: past it, bodies are dropped, the requests kept.

import type { MixRequest } from '../gateway/loadgen.js';
import type { RecordedRequest } from '../gateway/replay.js';

export const MIX_LIMITS = { maxRequests: 10_000, maxBodyBytes: 64 * 1024, maxTotalBytes: 64 * 1024 * 1024 } as const;

export function mixFromRecording(recs: readonly RecordedRequest[], limits: { maxRequests: number; maxBodyBytes: number; maxTotalBytes: number } = MIX_LIMITS): { mix: MixRequest[]; bodyBytes: number; bodiesDropped: number } {
  const n = Math.min(recs.length, limits.maxRequests);
  const mix: MixRequest[] = [];
  let bodyBytes = 0;
  let bodiesDropped = 0;
  // One shared buffer per size: the mix holds views, not copies.
  const bodies = new Map<number, Buffer>();
  for (let i = 0; i < n; i++) {
    const r = recs[Math.floor((i * recs.length) / n)] as RecordedRequest;
    const size = Math.min(r.requestBytes, limits.maxBodyBytes);
    if (size > 0 && !bodies.has(size) && bodyBytes + size > limits.maxTotalBytes) {
      bodiesDropped++;
      mix.push({ method: r.method, path: r.route });
      continue;
    }
    let body: Buffer | undefined;
    if (size > 0) {
      body = bodies.get(size);
      if (!body) {
        body = Buffer.alloc(size, 0x61);
        bodies.set(size, body);
        bodyBytes += size;
      }
    }
    mix.push(body ? { method: r.method, path: r.route, body } : { method: r.method, path: r.route });
  }
  return { mix, bodyBytes, bodiesDropped };
}
