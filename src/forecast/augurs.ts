// augurs (Rust/WASM) models behind the Forecaster interface. On Node 20 the packages' default
// `init()` fails (it fetches the .wasm by URL), so each submodule is initialised synchronously from
// the bytes of its own *_bg.wasm file, once per thread. Every model object is freed after use.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as mstl from '@bsull/augurs/mstl';
import { ShadowscaleError } from '../core/errors.js';
import { DAY, WEEK, type Forecast, type Forecaster, type Series } from '../core/forecast.js';

/** The bytes of an augurs submodule's own .wasm file (next to its .js in the package). */
export function augursWasm(submodule: 'mstl' | 'prophet'): Buffer {
  return readFileSync(fileURLToPath(new URL(`${submodule}_bg.wasm`, import.meta.resolve(`@bsull/augurs/${submodule}`))));
}

let mstlReady = false;

function initMstl(): void {
  if (mstlReady) return;
  mstl.initSync({ module: augursWasm('mstl') });
  mstlReady = true;
}

/** Seasonal periods (in steps) from the series' step: a day, and a week with two weeks of history. */
export function mstlPeriods(n: number, step: number): number[] {
  const daily = DAY / step;
  const periods: number[] = [];
  if (Number.isInteger(daily) && daily >= 2 && n >= 2 * daily) periods.push(daily);
  if (periods.length && n >= (2 * WEEK) / step) periods.push(WEEK / step);
  return periods;
}

/** augurs MSTL decomposition with an AutoETS trend model; missing points imputed by augurs. */
export class MstlForecaster implements Forecaster {
  readonly name = 'mstl-ets';

  forecast(history: Series, horizon: number, level: number): Forecast {
    if (!Number.isInteger(horizon) || horizon < 1) throw new RangeError(`horizon must be a positive integer, got ${horizon}`);
    initMstl();
    const y = Float64Array.from(history.values as ArrayLike<number>);
    const finite = y.filter(Number.isFinite);
    if (finite.length < 3) throw new RangeError('MSTL needs at least 3 finite history values');
    const model = mstl.MSTL.ets(mstlPeriods(y.length, history.step), { impute: true });
    try {
      let f: mstl.Forecast;
      try {
        model.fit(y);
        f = model.predict(horizon, level);
      } catch (err) {
        // augurs throws strings such as "Fit error: trend model error: no model found".
        throw new ShadowscaleError('SHADOWSCALE_E_MODEL_FAILED', `augurs MSTL+ETS could not fit this series: ${err instanceof Error ? err.message : String(err)}`);
      }
      const mean = Float64Array.from(f.point);
      const lower = Float64Array.from(f.intervals?.lower ?? f.point);
      const upper = Float64Array.from(f.intervals?.upper ?? f.point);
      return { model: this.name, start: history.start + y.length * history.step, step: history.step, level, mean, lower, upper };
    } finally {
      model.free();
    }
  }
}
