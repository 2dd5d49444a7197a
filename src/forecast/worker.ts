// Worker thread: forecasts the traces it is sent, one message per job, and answers with the result
// or the error (code and message), so one bad file never stops the others.

import { parentPort } from 'node:worker_threads';
import { isShadowscaleError } from '../core/errors.js';
import { forecastOf, forecastTrace, type ForecastRequest, type TraceRequest } from './run.js';
import type { Series } from '../core/forecast.js';
import { evaluateTrace, type EvalRequest } from './evaluate.js';

export type WorkerJob = { id: number; trace: TraceRequest } | { id: number; series: Series; request: ForecastRequest; absoluteTime: boolean } | { id: number; evaluate: EvalRequest };

parentPort?.on('message', async (job: WorkerJob) => {
  try {
    const output = 'trace' in job ? await forecastTrace(job.trace) : 'evaluate' in job ? await evaluateTrace(job.evaluate) : forecastOf(job.series, job.request, job.absoluteTime);
    parentPort?.postMessage({ id: job.id, ok: true, output });
  } catch (err) {
    const code = isShadowscaleError(err) ? err.code : 'SHADOWSCALE_E_INTERNAL';
    parentPort?.postMessage({ id: job.id, ok: false, code, message: err instanceof Error ? err.message : String(err) });
  }
});
