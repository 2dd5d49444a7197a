// What the CLI's options check a forecast request against (the model names, the longest horizon), apart
// from the models themselves so that parsing a command line does not load the forecasting libraries.

export const MODEL_NAMES = ['auto', 'persistence', 'fast-seasonal', 'fast-seasonal-log', 'smoothed-level', 'lag-regression', 'analog', 'seasonal-naive', 'seasonal-naive-daily', 'seasonal-naive-weekly', 'mstl-ets', 'prophet'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/**
 * Most points a forecast gives (`--horizon`, or `--horizon-seconds` over the series' step): a week of minutes
 * is 10,080; more is a typo, and would not fit in memory.
 */
export const MAX_HORIZON = 100_000;
