// Per-second arrivals from a trace: values scaled so the trace maximum is `peakRps`, linearly
// interpolated between rows, optionally with seeded Poisson noise. Seconds inside a trace gap are
// marked inactive: they are neither simulated for cost nor scored (gaps are not invented).

import { createRng } from '../core/random.js';
import { ShadowscaleError } from '../core/errors.js';
import type { Trace } from './trace.js';

export interface Workload {
  /** Time of second 0 (seconds, epoch or trace-relative). */
  readonly start: number;
  /** Requests arriving in each second (realized counts when noisy, expected rate otherwise). */
  readonly arrivals: Float64Array;
  /** 1 where the trace has data for that second, 0 inside gaps. */
  readonly active: Uint8Array;
  /** Step of the source trace (seconds). */
  readonly traceStep: number;
  readonly scale: number;
  readonly peakRps: number;
  readonly activeSeconds: number;
}

/** Longest span the simulator takes (400 days of one-second steps, 277 MB of arrivals). */
export const MAX_SIMULATED_SECONDS = 400 * 86400;

export interface WorkloadOptions {
  readonly peakRps: number;
  readonly noise: 'poisson' | 'none';
  readonly seed: number;
}

export function buildWorkload(trace: Trace, options: WorkloadOptions): Workload {
  const { times, values, step } = trace;
  const n = values.length;
  if (!(trace.stats.max > 0)) {
    throw new ShadowscaleError('SHADOWSCALE_E_TRACE_FORMAT', `${trace.file}: column "${trace.column}" has no positive value (max ${trace.stats.max}); cannot scale it to --peak-rps`);
  }
  if (trace.stats.min < 0) {
    throw new ShadowscaleError('SHADOWSCALE_E_TRACE_FORMAT', `${trace.file}: column "${trace.column}" has negative values (min ${trace.stats.min}); a load trace needs values >= 0`);
  }
  const scale = options.peakRps / trace.stats.max;
  const start = Math.floor(times[0] as number);
  const end = Math.ceil((times[n - 1] as number) + step);
  // The simulator steps every second: a span beyond this is a trace in the wrong unit or with a wild
  // time, not a workload (and would not fit in memory).
  if (end - start > MAX_SIMULATED_SECONDS) {
    throw new ShadowscaleError('SHADOWSCALE_E_TRACE_FORMAT', `${trace.file}: the rows span ${((end - start) / 86400).toExponential(2)} days; the simulator steps every second and takes at most ${MAX_SIMULATED_SECONDS / 86400} days (check the time column's unit)`);
  }
  const total = end - start;
  const arrivals = new Float64Array(total);
  const active = new Uint8Array(total);
  const rng = createRng(options.seed);
  const gapLimit = 1.5 * step;
  let j = 0;
  let activeSeconds = 0;
  for (let i = 0; i < total; i++) {
    const t = start + i + 0.5;
    while (j + 1 < n && (times[j + 1] as number) <= t) j++;
    const t0 = times[j] as number;
    if (t < t0) continue;
    let rate: number;
    if (j + 1 < n) {
      const t1 = times[j + 1] as number;
      if (t1 - t0 > gapLimit) {
        // Inside a gap: only the step after the last row before it is covered.
        if (t >= t0 + step) continue;
        rate = values[j] as number;
      } else {
        rate = (values[j] as number) + (((values[j + 1] as number) - (values[j] as number)) * (t - t0)) / (t1 - t0);
      }
    } else {
      if (t >= t0 + step) continue;
      rate = values[j] as number;
    }
    rate *= scale;
    arrivals[i] = options.noise === 'poisson' ? rng.poisson(rate) : rate;
    active[i] = 1;
    activeSeconds++;
  }
  // Rows closer than a second, spanning less than one: no second of the simulator falls inside them.
  if (activeSeconds === 0) {
    throw new ShadowscaleError('SHADOWSCALE_E_TRACE_FORMAT', `${trace.file}: the ${n} row(s) cover ${n * step} s (step ${step} s); the simulator steps every second, so a trace must cover one second at least (check the time column's unit, or --step)`);
  }
  return { start, arrivals, active, traceStep: step, scale, peakRps: options.peakRps, activeSeconds };
}
