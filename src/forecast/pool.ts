// Runs forecast jobs on worker threads (one per core by default) and returns the results in job order.

import { availableParallelism } from 'node:os';
import { onWorkers } from '../threads/pool.js';
import type { ErrorCode } from '../core/errors.js';
import type { WorkerJob } from './worker.js';

export type JobResult<T> = { ok: true; output: T } | { ok: false; code: ErrorCode; message: string };

type Job = WorkerJob extends infer J ? (J extends { id: number } ? Omit<J, 'id'> : never) : never;

export async function runJobs<T>(jobs: readonly Job[], options: { threads?: number; onResult?: (index: number, r: JobResult<T>) => void } = {}): Promise<JobResult<T>[]> {
  return onWorkers<Job, JobResult<T>>(new URL('./worker.js', import.meta.url), jobs, { threads: options.threads ?? availableParallelism(), ...(options.onResult ? { onResult: options.onResult } : {}) });
}
