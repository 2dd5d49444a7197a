// For the forecasters' unit tests: one forecast per origin at the end of a series, scored against the
// last value (persistence), with the interval's coverage.

import type { Forecaster } from './forecast.js';

/** MAE of `f` and of the last value over `origins` forecasts `horizon` points ahead at the end of `values`, and the coverage. */
export function scoreAgainstLast(f: Forecaster, values: Float64Array, step: number, horizon: number, origins: number): { model: number; last: number; inside: number } {
  let model = 0;
  let last = 0;
  let inside = 0;
  for (let at = values.length - origins - horizon; at < values.length - horizon; at++) {
    const fc = f.forecast({ start: 0, step, values: values.subarray(0, at) }, horizon, 0.8);
    const y = values[at + horizon - 1] as number;
    model += Math.abs(y - (fc.mean[horizon - 1] as number));
    last += Math.abs(y - (values[at - 1] as number));
    if (y >= (fc.lower[horizon - 1] as number) && y <= (fc.upper[horizon - 1] as number)) inside++;
  }
  return { model: model / origins, last: last / origins, inside: inside / origins };
}
