// Jobs on worker threads, one at a time to whichever worker is free, results in job order. Shared by the
// forecast engine (one series per job) and the parallel sweep (one knob value per job).

import { Worker } from 'node:worker_threads';

export interface PoolOptions<R> {
  /** Worker threads (at most one per job). */
  readonly threads: number;
  /** Sent to every worker once, before its first job (e.g. a prepared workload). */
  readonly init?: unknown;
  /** Each result as it arrives, with its job's index. */
  readonly onResult?: (index: number, result: R) => void;
}

/**
 * Runs `jobs` on `threads` workers loaded from `script`. Each message to a worker is
 * `{ ...job, id }` (after `init` if given); each answer must carry the same `id`, and the rest of it
 * is the result. A worker that errors rejects the whole run; the workers are terminated either way.
 */
export async function onWorkers<J extends object, R>(script: URL, jobs: readonly J[], o: PoolOptions<R>): Promise<R[]> {
  const threads = Math.max(1, Math.min(o.threads, jobs.length));
  const results: R[] = new Array(jobs.length);
  let next = 0;
  const workers = Array.from({ length: threads }, () => new Worker(script));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const send = (): void => {
              if (next >= jobs.length) return resolve();
              const id = next++;
              w.postMessage({ ...jobs[id], id });
            };
            w.on('message', (m: { id: number }) => {
              const { id, ...r } = m;
              results[id] = r as R;
              o.onResult?.(id, r as R);
              send();
            });
            w.on('error', reject);
            if (o.init !== undefined) w.postMessage(o.init);
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
