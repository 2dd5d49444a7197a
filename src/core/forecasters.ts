// The forecaster a strategy runs on, built from plain settings (shared by the simulator and the live loop).

import { FastSeasonalForecaster } from './fast-seasonal.js';
import { SeasonalNaiveForecaster, type Forecaster, type Seasonality } from './forecast.js';

export const FORECAST_MODELS = ['fast-seasonal', 'fast-seasonal-log', 'seasonal-naive'] as const;
export type ForecastModel = (typeof FORECAST_MODELS)[number];

export interface ForecasterSettings {
  readonly model: ForecastModel;
  readonly seasonality: Seasonality;
  /** Points the fast model may extend its fit by before refitting (append-only callers). */
  readonly reuseFitPoints: number;
}

export function buildForecaster(s: ForecasterSettings): Forecaster {
  if (s.model === 'seasonal-naive') return new SeasonalNaiveForecaster({ seasonality: s.seasonality });
  return new FastSeasonalForecaster({ seasonality: s.seasonality, transform: s.model === 'fast-seasonal-log' ? 'log' : 'none', reuseFitPoints: s.reuseFitPoints });
}
