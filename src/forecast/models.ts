// Named forecasters for the CLI and the benchmarks, and the default pipeline.

import { AnalogForecaster } from '../core/analog.js';
import { AutoForecaster, type AutoOptions } from '../core/auto-forecast.js';
import { FastSeasonalForecaster } from '../core/fast-seasonal.js';
import { SeasonalNaiveForecaster, type Forecaster, type Seasonality } from '../core/forecast.js';
import { LagRegressionForecaster } from '../core/lag-regression.js';
import { SmoothedLevelForecaster } from '../core/smoothed-level.js';
import { MstlForecaster } from './augurs.js';
import { ProphetForecaster, type KnownEvent } from './prophet.js';
import type { ModelName } from './names.js';

export { MODEL_NAMES, type ModelName } from './names.js';

/**
 * The candidates the default pipeline combines (weights from a rolling-origin backtest, per series):
 * the three baselines (persistence, daily and weekly seasonal naive), the fast model, plain and in
 * log space, the smoothed level, the lag regression and the analog (short horizons: both decline
 * more than 12 points ahead); with known events, Prophet (which models them as holidays) joins them.
 */
export function defaultCandidates(seasonality: Seasonality = 'auto', events: readonly KnownEvent[] = []): Forecaster[] {
  const c: Forecaster[] = [
    new SeasonalNaiveForecaster({ seasonality: 'none' }),
    new SeasonalNaiveForecaster({ seasonality: seasonality === 'auto' ? 'daily' : seasonality }),
    new SeasonalNaiveForecaster({ seasonality: seasonality === 'auto' ? 'weekly' : seasonality }),
    new FastSeasonalForecaster({ seasonality }),
    new FastSeasonalForecaster({ seasonality, transform: 'log' }),
    new SmoothedLevelForecaster(),
    new LagRegressionForecaster(),
    new AnalogForecaster(),
  ];
  if (events.length) c.push(new ProphetForecaster(events));
  return c;
}

/**
 * The default pipeline over the default candidates. Its anchor (what `--combine anchored` and `graded` keep
 * without clear evidence against it) is the analog: the best single model at the lead time on
 * either family of the shared traces (bench/results/forecast-accuracy.md).
 */
export function defaultPipeline(seasonality: Seasonality = 'auto', events: readonly KnownEvent[] = [], auto: AutoOptions = {}): AutoForecaster {
  return new AutoForecaster(defaultCandidates(seasonality, events), { anchor: 'analog', ...auto });
}

export function forecasterByName(name: ModelName, seasonality: Seasonality = 'auto', events: readonly KnownEvent[] = [], auto: AutoOptions = {}): Forecaster {
  switch (name) {
    case 'auto':
      return defaultPipeline(seasonality, events, auto);
    case 'persistence':
      return new SeasonalNaiveForecaster({ seasonality: 'none' });
    case 'prophet':
      return new ProphetForecaster(events);
    case 'fast-seasonal':
      return new FastSeasonalForecaster({ seasonality });
    case 'fast-seasonal-log':
      return new FastSeasonalForecaster({ seasonality, transform: 'log' });
    case 'smoothed-level':
      return new SmoothedLevelForecaster();
    case 'lag-regression':
      return new LagRegressionForecaster();
    case 'analog':
      return new AnalogForecaster();
    case 'seasonal-naive':
      return new SeasonalNaiveForecaster({ seasonality });
    case 'seasonal-naive-daily':
      return new SeasonalNaiveForecaster({ seasonality: 'daily' });
    case 'seasonal-naive-weekly':
      return new SeasonalNaiveForecaster({ seasonality: 'weekly' });
    case 'mstl-ets':
      return new MstlForecaster();
  }
}
