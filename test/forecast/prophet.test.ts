// Integration tests: augurs Prophet (real WASM and the wasmstan optimizer) with known events and regressors.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { FastSeasonalForecaster } from '../../src/core/fast-seasonal.js';
import { createRng } from '../../src/core/random.js';
import { ProphetForecaster, type KnownEvent } from '../../src/forecast/prophet.js';
import type { EvalOutput } from '../../src/forecast/evaluate.js';
import type { ForecastOutput } from '../../src/forecast/run.js';
import { runCli, tempDir } from '../helpers.js';

const T0 = Date.UTC(2026, 0, 5) / 1000; // a Monday, 00:00 UTC
const HOUR = 3600;
const DAY = 86400;
/** Hourly demand for `days` days: a daily cycle, plus +200 from 10:00 to 14:00 on every Wednesday (the campaign). */
function hourly(days: number): Float64Array {
  const rng = createRng(5);
  return Float64Array.from({ length: days * 24 }, (_, i) => {
    const day = Math.floor(i / 24);
    const hour = i % 24;
    const campaign = day % 7 === 2 && hour >= 10 && hour < 14 ? 200 : 0;
    return 100 + 30 * Math.sin((2 * Math.PI * hour) / 24) + campaign + 3 * rng.normal();
  });
}
const campaign: KnownEvent = { name: 'campaign', start: T0 + 2 * DAY + 10 * HOUR, end: T0 + 2 * DAY + 14 * HOUR, recurrence: 'weekly' };

describe('ProphetForecaster', () => {
  it('forecasts a known recurring campaign that a model without events misses', () => {
    const y = hourly(30);
    // 23 days of history: the forecast day (day 23, 23 % 7 == 2) is a Wednesday, with the campaign.
    const historyDays = 23;
    const history = { start: T0, step: HOUR, values: y.subarray(0, historyDays * 24) };
    const p = new ProphetForecaster([campaign]).forecast(history, 24, 0.8);
    const fast = new FastSeasonalForecaster().forecast(history, 24, 0.8);
    const truth = y.subarray(historyDays * 24, historyDays * 24 + 24);
    const mae = (f: Float64Array) => f.reduce((s, v, h) => s + Math.abs(v - (truth[h] as number)), 0) / 24;
    assert.ok(mae(p.mean) < 0.5 * mae(fast.mean), `prophet ${mae(p.mean)} vs fast ${mae(fast.mean)}`);
    assert.ok((p.mean[11] as number) > 250, `the campaign hour is forecast high: ${p.mean[11]}`);
    for (let h = 0; h < 24; h++) assert.ok((p.lower[h] as number) <= (p.mean[h] as number) && (p.mean[h] as number) <= (p.upper[h] as number));
  });
  it('uses external regressors with their future values', () => {
    const rng = createRng(9);
    const n = 24 * 10;
    const x = Float64Array.from({ length: n + 12 }, (_, i) => (Math.floor(i / 7) % 3) * 50);
    const y = Float64Array.from({ length: n }, (_, i) => 20 + 2 * (x[i] as number) + rng.normal());
    const f = new ProphetForecaster([], [{ name: 'price', history: x.subarray(0, n), future: x.subarray(n) }]).forecast({ start: T0, step: HOUR, values: y }, 12, 0.8);
    for (let h = 0; h < 12; h++) assert.ok(Math.abs((f.mean[h] as number) - (20 + 2 * (x[n + h] as number))) < 10, `h=${h}: ${f.mean[h]}`);
  });
  it('rejects a history with fewer than 3 finite values', () => {
    assert.throws(() => new ProphetForecaster().forecast({ start: T0, step: HOUR, values: [1, Number.NaN, 2] }, 2, 0.8), /at least 3/);
  });
});

describe('shadowscale forecast with configured events', () => {
  /** Hourly demand from T0 as a CSV (23 days of `hourly` by default), and a configuration with the one event given (YAML flow mapping). */
  const files = (t: TestContext, event: string, values: ArrayLike<number> = hourly(23)): { csv: string; cfg: string } => {
    const dir = tempDir(t);
    const csv = join(dir, 'demand.csv');
    writeFileSync(csv, `timestamp,rps\n${Array.from(values, (v, i) => `${new Date((T0 + i * HOUR) * 1000).toISOString()},${v.toFixed(3)}`).join('\n')}\n`);
    const cfg = join(dir, 'c.yaml');
    writeFileSync(cfg, `services:\n  - name: shop\n    events:\n      - ${event}\n`);
    return { csv, cfg };
  };
  it('the pipeline considers Prophet for a service with events, and --model prophet uses them', async (t) => {
    const { csv, cfg } = files(t, '{ name: campaign, start: "2026-01-07T10:00:00Z", end: "2026-01-07T14:00:00Z", recurrence: weekly }');
    const auto = await runCli(['forecast', '--input', csv, '--horizon', '24', '--config', cfg, '--json']);
    assert.equal(auto.code, 0, auto.stderr);
    const a = JSON.parse(auto.stdout) as ForecastOutput;
    assert.ok(a.backtest?.some((b) => b.model === 'prophet'), JSON.stringify(a.backtest));
    const p = await runCli(['forecast', '--input', csv, '--horizon', '24', '--config', cfg, '--model', 'prophet', '--json']);
    assert.equal(p.code, 0, p.stderr);
    const f = JSON.parse(p.stdout) as ForecastOutput;
    assert.equal(f.model, 'prophet');
    assert.ok((f.points[11]?.mean as number) > 250, `campaign hour: ${f.points[11]?.mean}`);
  });
  it('an event of declared size: every model forecasts it (the history fitted without it), x3 over the occurrence and unchanged outside', async (t) => {
    // The history ends with 23:00 on 2026-01-27, so the forecast's points are 00:00 to 11:00 on the 28th; a
    // launch at x3 from 03:00 to 06:00 is points 3 to 5.
    const { csv, cfg } = files(t, '{ name: launch, start: "2026-01-28T03:00:00Z", end: "2026-01-28T06:00:00Z", multiplier: 3 }');
    const mean = async (config: string[]): Promise<number[]> => {
      const r = await runCli(['forecast', '--input', csv, '--horizon', '12', '--model', 'fast-seasonal', ...config, '--json']);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as ForecastOutput).points.map((p) => p.mean);
    };
    const [plain, declared] = await Promise.all([mean([]), mean(['--config', cfg])]);
    const ratio = declared.map((d, i) => Math.round((d / (plain[i] as number)) * 1000) / 1000);
    assert.deepEqual(ratio, [1, 1, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1]);
  });
  it('forecast-eval scores the model with the declared size, as the strategies see it; the baselines stay blind to it', async (t) => {
    // A daily cycle, and a one-off launch at x3 from 06:00 to 12:00 on the last day (2026-01-27); 24 origins an
    // hour apart score the last day one hour ahead, six of them inside the launch.
    const rng = createRng(11);
    const launch = (i: number): boolean => i >= 22 * 24 + 6 && i < 22 * 24 + 12;
    const values = Float64Array.from({ length: 23 * 24 }, (_, i) => (100 + 50 * Math.sin((2 * Math.PI * (i % 24)) / 24) + 2 * rng.normal()) * (launch(i) ? 3 : 1));
    const { csv, cfg } = files(t, '{ name: launch, start: "2026-01-27T06:00:00Z", end: "2026-01-27T12:00:00Z", multiplier: 3 }', values);
    const evalOf = async (config: string[]): Promise<EvalOutput & { series: string }> => {
      const r = await runCli(['forecast-eval', '--input', csv, '--horizon', '1', '--origins', '24', '--stride-seconds', '3600', '--model', 'fast-seasonal', ...config, '--json']);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { series: (EvalOutput & { series: string })[] }).series[0] as EvalOutput & { series: string };
    };
    const [plain, declared] = await Promise.all([evalOf([]), evalOf(['--config', cfg])]);
    assert.equal(plain.sizedEvents, undefined);
    assert.equal(declared.sizedEvents, 1);
    assert.equal(declared.points, 24);
    // The same baselines, and the launch forecast instead of missed: a fraction of the error.
    assert.deepEqual([declared.seasonalNaiveDailyMae, declared.persistenceMae], [plain.seasonalNaiveDailyMae, plain.persistenceMae]);
    assert.ok(declared.mae < 0.3 * plain.mae, `declared ${declared.mae}, plain ${plain.mae}`);
  });
  it('a history of zeros (a service not yet called) forecasts zero, with nothing from the wasm on stderr', async (t) => {
    // augurs panics on it and the wasm writes "Exception thrown" to stderr; Prophet's fit there is zero.
    const { csv, cfg } = files(t, '{ name: campaign, start: "2026-01-07T10:00:00Z", end: "2026-01-07T14:00:00Z", recurrence: weekly }', new Float64Array(24 * 3));
    for (const model of ['prophet', 'auto']) {
      const r = await runCli(['forecast', '--input', csv, '--horizon', '6', '--config', cfg, '--model', model, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '', model);
      const f = JSON.parse(r.stdout) as ForecastOutput;
      assert.deepEqual(f.points.map((p) => [p.mean, p.lower, p.upper]), Array.from({ length: 6 }, () => [0, 0, 0]), model);
    }
  });
});
