// Runs forecast jobs on worker threads (one per core by default) and returns the results in job order.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ErrorCode } from '../core/errors.js';
import type { WorkerJob } from './worker.js';

export type JobResult<T> = { ok: true; output: T } | { ok: false; code: ErrorCode; message: string };

type Job = WorkerJob extends infer J ? (J extends { id: number } ? Omit<J, 'id'> : never) : never;

export async function runJobs<T>(jobs: readonly Job[], options: { threads?: number; onResult?: (index: number, r: JobResult<T>) => void } = {}): Promise<JobResult<T>[]> {
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), jobs.length));
  const results: JobResult<T>[] = new Array(jobs.length);
  let next = 0;
  const workers = Array.from({ length: threads }, () => new Worker(new URL('./worker.js', import.meta.url)));
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
            w.on('message', (m: { id: number } & JobResult<T>) => {
              const { id, ...r } = m;
              results[id] = r as JobResult<T>;
              options.onResult?.(id, results[id] as JobResult<T>);
              send();
            });
            w.on('error', reject);
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
