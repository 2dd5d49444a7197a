// augurs Prophet (with the wasmstan optimizer) behind the Forecaster interface, for series with known
// events: each configured event (name, start, end, recurrence) becomes a Prophet holiday whose
// occurrences cover the history and the forecast window; external regressors are supported with
// their values over the history and the forecast window.

import * as prophet from '@bsull/augurs/prophet';
import { optimizer } from '@bsull/augurs-prophet-wasmstan';
import { ShadowscaleError } from '../core/errors.js';
import { augursWasm } from './augurs.js';
import { DAY, type Forecast, type Forecaster, type Series } from '../core/forecast.js';
import { eventOccurrences, type KnownEvent } from '../core/events.js';

// The events' types and occurrences are the core's (the strategies' forecasts use them too).
export { eventOccurrences, type KnownEvent };
import { sortedQuantile } from '../core/stats.js';

let ready = false;

function initProphet(): void {
  if (ready) return;
  prophet.initSync({ module: augursWasm('prophet') });
  ready = true;
}

export interface Regressor {
  readonly name: string;
  /** One value per history point (NaN where the target is missing is fine). */
  readonly history: ArrayLike<number>;
  /** One value per forecast point. */
  readonly future: ArrayLike<number>;
}

export class ProphetForecaster implements Forecaster {
  readonly name = 'prophet';

  constructor(
    private readonly events: readonly KnownEvent[] = [],
    private readonly regressors: readonly Regressor[] = [],
  ) {}

  forecast(history: Series, horizon: number, level: number): Forecast {
    if (!Number.isInteger(horizon) || horizon < 1) throw new RangeError(`horizon must be a positive integer, got ${horizon}`);
    initProphet();
    const { start, step } = history;
    const n = history.values.length;
    const ds: bigint[] = [];
    const y: number[] = [];
    const keep: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = history.values[i] as number;
      if (Number.isFinite(v)) {
        ds.push(BigInt(Math.round(start + i * step)));
        y.push(v);
        keep.push(i);
      }
    }
    if (y.length < 3) throw new RangeError('Prophet needs at least 3 finite history values');
    // augurs scales the history by its largest magnitude and fails on a history of zeros (a panic in the
    // wasm, with a line of its own on stderr). Prophet's fit there is zero: the data are zero and every
    // prior is centred on zero, so the most likely trend, seasons, holidays and regressor weights are zero.
    if (y.every((v) => v === 0)) {
      const zeros = new Float64Array(horizon);
      return { model: this.name, start: start + n * step, step, level, mean: zeros, lower: zeros.slice(), upper: zeros.slice() };
    }
    const end = start + (n + horizon) * step;
    const holidays = new Map<string, prophet.ProphetHoliday>();
    for (const e of this.events) {
      const occurrences = eventOccurrences(e, start, end);
      if (occurrences.length) holidays.set(e.name, { occurrences: [...(holidays.get(e.name)?.occurrences ?? []), ...occurrences] });
    }
    const spanDays = (n * step) / DAY;
    const model = new prophet.Prophet({
      optimizer,
      holidays,
      // Seasons from the step and the span, never auto-detected (that misfires on 5-minute data).
      dailySeasonality: { type: 'manual', enabled: step < DAY && spanDays >= 2 },
      weeklySeasonality: { type: 'manual', enabled: spanDays >= 14 },
      yearlySeasonality: { type: 'manual', enabled: spanDays >= 730 },
      uncertaintySamples: 0,
    });
    try {
      for (const r of this.regressors) model.addRegressor(r.name);
      const x = (pick: (r: Regressor) => number[]) => new Map(this.regressors.map((r) => [r.name, pick(r)]));
      let future: prophet.ProphetPredictions;
      let inSample: prophet.ProphetPredictions;
      try {
        model.fit({ ds: BigInt64Array.from(ds), y: Float64Array.from(y), ...(this.regressors.length ? { x: x((r) => keep.map((i) => r.history[i] as number)) } : {}) });
        inSample = model.predict(null);
        const fds = Array.from({ length: horizon }, (_, h) => start + (n + h) * step);
        future = model.predict({ ds: fds, ...(this.regressors.length ? { x: x((r) => Array.from(r.future)) } : {}) });
      } catch (err) {
        // The first line only: a panic in the wasm brings its stack of wasm frames along.
        const why = (err instanceof Error ? err.message : String(err)).split('\n')[0]?.trim();
        throw new ShadowscaleError('SHADOWSCALE_E_MODEL_FAILED', `augurs Prophet could not fit this series: ${why}`);
      }
      // The interval: in-sample residual quantiles around the point forecast (the pipeline widens it
      // from its backtest when that shows larger errors).
      const res = Float64Array.from(y, (v, i) => v - (inSample.yhat.point[i] as number)).sort();
      const qLo = sortedQuantile(res, (1 - level) / 2);
      const qHi = sortedQuantile(res, (1 + level) / 2);
      const mean = Float64Array.from(future.yhat.point);
      const lower = Float64Array.from(mean, (m) => m + Math.min(0, qLo));
      const upper = Float64Array.from(mean, (m) => m + Math.max(0, qHi));
      return { model: this.name, start: start + n * step, step, level, mean, lower, upper };
    } finally {
      model.free();
    }
  }
}
