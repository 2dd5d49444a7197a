// Jobs on worker threads, one at a time to whichever worker is free, results in job order. Shared by the
// forecast engine (one series per job), the parallel sweep (one knob value per job) and tune (one batch of
// settings per stage of its search, on workers kept across the stages).

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
 * Workers loaded from `script` that stay up across batches of jobs (they keep what `init` gave them and
 * whatever they cache). Each message to a worker is `{ ...job, id }` (after `init` if given); each answer
 * must carry the same `id`, and the rest of it is the result. A worker that errors rejects the batch it
 * was running; `close` terminates them all.
 */
export class WorkerPool<J extends object, R> {
  private readonly workers: Worker[];

  constructor(script: URL, threads: number, init?: unknown) {
    this.workers = Array.from({ length: Math.max(1, threads) }, () => {
      const w = new Worker(script);
      if (init !== undefined) w.postMessage(init);
      return w;
    });
  }

  get size(): number {
    return this.workers.length;
  }

  /** Runs `jobs` (one batch at a time per pool) and returns their results in job order. */
  async run(jobs: readonly J[], onResult?: (index: number, result: R) => void): Promise<R[]> {
    const results: R[] = new Array(jobs.length);
    let next = 0;
    await Promise.all(
      this.workers.slice(0, Math.max(1, Math.min(this.workers.length, jobs.length))).map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const done = (): void => {
              w.off('message', onMessage);
              w.off('error', onError);
            };
            const send = (): void => {
              if (next >= jobs.length) {
                done();
                resolve();
                return;
              }
              const id = next++;
              w.postMessage({ ...jobs[id], id });
            };
            const onMessage = (m: { id: number }): void => {
              const { id, ...r } = m;
              results[id] = r as R;
              onResult?.(id, r as R);
              send();
            };
            const onError = (err: Error): void => {
              done();
              reject(err);
            };
            w.on('message', onMessage);
            w.on('error', onError);
            send();
          }),
      ),
    );
    return results;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * Runs `jobs` on `threads` workers loaded from `script` (at most one per job), then terminates them,
 * whether the run succeeded or not. A worker that errors rejects the whole run.
 */
export async function onWorkers<J extends object, R>(script: URL, jobs: readonly J[], o: PoolOptions<R>): Promise<R[]> {
  const pool = new WorkerPool<J, R>(script, Math.max(1, Math.min(o.threads, jobs.length)), o.init);
  try {
    return await pool.run(jobs, o.onResult);
  } finally {
    await pool.close();
  }
}
