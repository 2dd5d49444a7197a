// Worker thread of the parallel sweep and of tune: receives the prepared workload once, then runs one
// knob value (the sweep) or one set of settings (tune) per message with its own forecast cache (forecasts
// depend only on the demand history, so every worker computes the same ones), and answers with the run's
// frontier point or summary, or its error.

import { parentPort } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import type { Forecast } from '../core/forecast.js';
import type { Prepared } from './backtest.js';
import { runWith, sweepPoint, type SweptStrategy } from './sweep.js';
import { runSummary } from './tune.js';

export type SweepWorkerMessage =
  | { kind: 'init'; config: Config; serviceIndex: number; prepared: Pick<Prepared, 'workload' | 'initial' | 'oracleCost'> }
  | { kind: 'run'; id: number; name: SweptStrategy; knob: number }
  | { kind: 'settings'; id: number; strategy: SweptStrategy; settings: Readonly<Record<string, number | string>> };

let state: { config: Config; serviceIndex: number; prepared: Pick<Prepared, 'workload' | 'initial' | 'oracleCost'> } | undefined;
const cache = new Map<number, Forecast | undefined>();

parentPort?.on('message', (m: SweepWorkerMessage) => {
  if (m.kind === 'init') {
    state = { config: m.config, serviceIndex: m.serviceIndex, prepared: m.prepared };
    return;
  }
  try {
    if (!state) throw new Error('sweep worker: run before init');
    const service = state.config.services[state.serviceIndex];
    if (!service) throw new Error(`sweep worker: no service ${state.serviceIndex}`);
    if (m.kind === 'settings') parentPort?.postMessage({ id: m.id, ok: true, summary: runSummary(runWith(state.prepared, state.config, service, m.strategy, m.settings, cache)) });
    else parentPort?.postMessage({ id: m.id, ok: true, point: sweepPoint(state.prepared, state.config, service, m.name, m.knob, cache) });
  } catch (err) {
    parentPort?.postMessage({ id: m.id, ok: false, message: err instanceof Error ? err.message : String(err) });
  }
});
