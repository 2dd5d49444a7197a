// Integration tests: the forecasting engine end to end: augurs MSTL (real WASM), worker threads,
// the CLI's single and multi-series outputs, and forecast-eval.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MstlForecaster, mstlPeriods } from '../../src/forecast/augurs.js';
import { rollingOptionsOf } from '../../src/forecast/evaluate.js';
import { runJobs } from '../../src/forecast/pool.js';
import type { ForecastOutput } from '../../src/forecast/run.js';
import { fixture, runCli, tempDir } from '../helpers.js';

const NASA = fixture('nasa-http-1995/nasa_http_1995_2weeks_per_minute.csv');

describe('augurs MSTL+ETS', () => {
  it('derives periods from the step: a day, and a week with two weeks of history', () => {
    assert.deepEqual(mstlPeriods(100, 300), []);
    assert.deepEqual(mstlPeriods(600, 300), [288]);
    assert.deepEqual(mstlPeriods(4032, 300), [288, 2016]);
    assert.deepEqual(mstlPeriods(4032, 7), [], 'a step that does not divide a day has no daily period');
  });
  it('forecasts a seasonal series from the real WASM module, imputing a missing point', () => {
    const y = Float64Array.from({ length: 3 * 288 }, (_, i) => 100 + 40 * Math.sin((2 * Math.PI * i) / 288));
    y[500] = Number.NaN;
    const f = new MstlForecaster().forecast({ start: 0, step: 300, values: y }, 288, 0.8);
    assert.equal(f.mean.length, 288);
    for (let h = 0; h < 288; h += 37) {
      const truth = 100 + 40 * Math.sin((2 * Math.PI * (3 * 288 + h)) / 288);
      assert.ok(Math.abs((f.mean[h] as number) - truth) < 5, `h=${h}: ${f.mean[h]} vs ${truth}`);
      assert.ok((f.lower[h] as number) <= (f.mean[h] as number) && (f.mean[h] as number) <= (f.upper[h] as number));
    }
  });
  it('rejects a history with fewer than 3 finite values', () => {
    assert.throws(() => new MstlForecaster().forecast({ start: 0, step: 60, values: [1, Number.NaN] }, 2, 0.8), /at least 3/);
  });
});

describe('worker pool', () => {
  it('runs jobs on threads and returns results in job order, errors isolated', async () => {
    const jobs = [NASA, fixture('bad/empty.csv'), fixture('nab/ec2_cpu_utilization_825cc2.csv')].map((file) => ({ trace: { file, model: 'fast-seasonal' as const, seasonality: 'auto' as const, horizon: 4, level: 0.8 } }));
    const r = await runJobs<ForecastOutput>(jobs, { threads: 2 });
    assert.equal(r.length, 3);
    assert.ok(r[0]?.ok && r[0].output.points.length === 4 && r[0].output.step === 60);
    assert.ok(r[1] && !r[1].ok && r[1].code === 'SHADOWSCALE_E_TRACE_FORMAT');
    assert.ok(r[2]?.ok && r[2].output.step === 300);
  });
});

describe('shadowscale forecast (engine)', () => {
  it('weights the candidates by backtest and reports their scores and weights', async () => {
    const r = await runCli(['forecast', '--input', NASA, '--horizon', '60', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const f = JSON.parse(r.stdout) as ForecastOutput;
    assert.equal(f.points.length, 60);
    assert.ok(f.backtest && f.backtest.length === 8, JSON.stringify(f.backtest));
    assert.deepEqual(f.backtest.map((b) => b.model), ['persistence', 'seasonal-naive-daily', 'seasonal-naive-weekly', 'fast-seasonal', 'fast-seasonal-log', 'smoothed-level', 'lag-regression', 'analog']);
    assert.ok(Math.abs(f.backtest.reduce((s, b) => s + b.weight, 0) - 1) < 1e-9);
    const top = f.backtest.reduce((a, b) => (b.weight > a.weight ? b : a));
    // One candidate with all the weight names the model; a mix is a combination.
    if (top.weight === 1) assert.ok(f.model.startsWith(top.model.replace(/-(daily|weekly)$/, '')) || top.model === 'persistence', `${f.model} vs ${top.model}`);
    else assert.equal(f.model, 'combination');
    for (const p of f.points) assert.ok(p.lower >= 0 && p.lower <= p.mean && p.mean <= p.upper, JSON.stringify(p));
  });
  it('--model mstl-ets runs augurs from the CLI', async () => {
    const r = await runCli(['forecast', '--input', fixture('nab/ec2_cpu_utilization_825cc2.csv'), '--horizon', '12', '--model', 'mstl-ets', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as ForecastOutput).model, 'mstl-ets');
  });
  it('a directory or repeated --input prints JSON Lines in input order, one per series, with its name', async () => {
    const r = await runCli(['forecast', '--input', fixture('nab'), '--input', NASA, '--horizon', '3', '--duplicates', 'mean', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as ForecastOutput);
    assert.deepEqual(
      lines.map((l) => l.series?.split('/').pop()),
      ['ec2_cpu_utilization_825cc2.csv', 'ec2_request_latency_system_failure.csv', 'speed_7578.csv', 'nasa_http_1995_2weeks_per_minute.csv'],
    );
    for (const l of lines) assert.equal(l.points.length, 3);
  });
  it('one bad file among several: the others are forecast, its line carries the error, exit 2', async () => {
    const r = await runCli(['forecast', '--input', NASA, '--input', fixture('bad/non-numeric.csv'), '--horizon', '2', '--json']);
    assert.equal(r.code, 2);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { error?: { code: string } });
    assert.equal(lines.length, 2);
    assert.equal(lines[1]?.error?.code, 'SHADOWSCALE_E_TRACE_FORMAT');
    assert.match(r.stderr, /non-numeric\.csv:3/);
  });
  it('--chart draws the history, the forecast and its interval (SVG) beside the unchanged JSON; one series only; a bad path exits 2 before any work', async (t) => {
    const dir = tempDir(t);
    const chart = join(dir, 'f.svg');
    const args = ['forecast', '--input', NASA, '--horizon', '30', '--model', 'seasonal-naive', '--json'];
    const plain = await runCli(args);
    const drawn = await runCli([...args, '--chart', chart]);
    assert.equal(drawn.code, 0, drawn.stderr);
    assert.equal(drawn.stdout, plain.stdout);
    const svg = readFileSync(chart, 'utf8');
    assert.match(svg, /^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    assert.match(svg, /nasa_http_1995_2weeks_per_minute\.csv \[value\]/);
    assert.match(svg, /model seasonal-naive-(daily|weekly), 30 point\(s\) ahead at 60 s, 80 % interval shaded; history: the last 1440 of 20160 points/);
    assert.equal([...svg.matchAll(/<polygon /g)].length, 1);
    for (const [extra, msg] of [
      [['--input', fixture('nab/speed_7578.csv'), '--chart', chart], /--chart draws one series: give one --input file \(got 2 series\)/],
      [['--chart', join(dir, 'no', 'f.svg')], /--chart .*f\.svg: its folder .*no does not exist/],
    ] as const) {
      const r = await runCli([...args, ...extra]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, msg);
    }
  });
  const odd: [name: string, rows: string, note: string][] = [
    ['constant.csv', Array.from({ length: 50 }, (_, i) => `${i * 60},5`).join('\n'), 'constant'],
    ['zeros.csv', Array.from({ length: 50 }, (_, i) => `${i * 60},0`).join('\n'), 'all zero'],
    ['negative.csv', Array.from({ length: 50 }, (_, i) => `${i * 60},${-10 - (i % 3)}`).join('\n'), 'negative'],
    ['three.csv', '0,1\n60,2\n120,3', 'three points'],
    ['gappy.csv', '0,1\n60,2\n600,3\n660,4', 'a gap'],
  ];
  for (const [name, rows, note] of odd) {
    it(`never prints NaN and never fails on an odd series: ${note}`, async (t) => {
      const file = join(tempDir(t), name);
      writeFileSync(file, `time,value\n${rows}\n`);
      for (const model of ['auto', 'fast-seasonal-log', 'seasonal-naive']) {
        const r = await runCli(['forecast', '--input', file, '--horizon', '5', '--model', model, '--json']);
        assert.equal(r.code, 0, `${model}: ${r.stderr}`);
        const f = JSON.parse(r.stdout) as ForecastOutput;
        for (const p of f.points) for (const v of [p.mean, p.lower, p.upper]) assert.ok(Number.isFinite(v), `${model}: ${JSON.stringify(p)}`);
      }
    });
  }
});

describe('shadowscale forecast-eval', () => {
  it('reports the MAE ratio to the better seasonal naive and the coverage, per series and overall', async () => {
    const r = await runCli(['forecast-eval', '--input', NASA, '--input', fixture('nab/ec2_cpu_utilization_825cc2.csv'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { summary: { geometricMeanMaeRatio: number; coverage: number; evaluated: number }; series: { maeRatio: number; horizon: number; seasonalNaiveDailyMae: number }[] };
    assert.equal(out.summary.evaluated, 2);
    assert.deepEqual(out.series.map((s) => s.horizon), [60, 12], 'one hour of points by default');
    assert.ok(out.summary.geometricMeanMaeRatio < 1, 'better than seasonal naive on these series');
    assert.ok(out.summary.coverage > 0.6 && out.summary.coverage < 0.95);
  });
  it('--horizon-seconds evaluates at the lead time and persistence joins the baselines', async () => {
    const r = await runCli(['forecast-eval', '--input', NASA, '--horizon-seconds', '135', '--origins', '6', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { summary: { geometricMeanMaeRatioBestBaseline: number }; series: { horizon: number; mae: number; persistenceMae: number; seasonalNaiveDailyMae: number; seasonalNaiveWeeklyMae: number; maeRatio: number; maeRatioBestBaseline: number }[] };
    const s = out.series[0] as (typeof out.series)[number];
    assert.equal(s.horizon, 3, '135 s of one-minute points, rounded up');
    assert.ok(s.persistenceMae > 0);
    const best = Math.min(s.persistenceMae, s.seasonalNaiveDailyMae, s.seasonalNaiveWeeklyMae);
    assert.ok(Math.abs(s.maeRatioBestBaseline - s.mae / best) < 1e-9);
    assert.equal(out.summary.geometricMeanMaeRatioBestBaseline, s.maeRatioBestBaseline);
  });
  it('regression: a seasonal naive asked for on a history too short for its season says what it forecast with', async (t) => {
    const dir = tempDir(t);
    const short = join(dir, 'three-days.csv');
    writeFileSync(short, readFileSync(NASA, 'utf8').split('\n').slice(0, 3 * 1440 + 1).join('\n'));
    const cases: { name: string; args: string[]; note: RegExp | null }[] = [
      { name: 'weekly on three days', args: ['--input', short, '--model', 'seasonal-naive-weekly'], note: /note: .*three-days\.csv: --model seasonal-naive-weekly needs two weeks of history .* so it forecast with seasonal-naive-daily/ },
      { name: 'daily on three days is what was asked', args: ['--input', short, '--model', 'seasonal-naive-daily'], note: null },
      { name: 'weekly on two weeks is what was asked', args: ['--input', NASA, '--model', 'seasonal-naive-weekly'], note: null },
      { name: 'a directory of series says it per series', args: ['--input', dir, '--model', 'seasonal-naive-weekly'], note: /note: .*three-days\.csv: --model seasonal-naive-weekly needs two weeks/ },
    ];
    for (const c of cases) {
      const r = await runCli(['forecast', '--horizon', '3', '--json', ...c.args]);
      assert.equal(r.code, 0, `${c.name}: ${r.stderr}`);
      if (c.note) assert.match(r.stderr, c.note, c.name);
      else assert.doesNotMatch(r.stderr, /note:/, c.name);
    }
  });
  it('regression: more --origins than a series holds says so on stderr, and the table names the origins used', async () => {
    const cases: { name: string; args: string[]; note: RegExp | null }[] = [
      { name: 'asked for more than it holds', args: ['--origins', '1000000'], note: /note: 1 of 1 series holds fewer origins than the 1000000 asked \(fewest: \d+, .*nasa/ },
      { name: 'the default (20) says nothing', args: [], note: null },
    ];
    for (const c of cases) {
      const r = await runCli(['forecast-eval', '--input', NASA, '--horizon', '60', '--model', 'persistence', ...c.args]);
      assert.equal(r.code, 0, `${c.name}: ${r.stderr}`);
      assert.match(r.stdout, /\(\d+ origins, \d+ points, horizon 60\)/, c.name);
      if (c.note) assert.match(r.stderr, c.note, c.name);
      else assert.doesNotMatch(r.stderr, /note:/, c.name);
    }
  });
  it('rollingOptionsOf: the origins a request gives on a series (what bench:forecast-reference scores other forecasters on)', () => {
    const series = (step: number, n: number) => ({ start: 0, step, values: new Float64Array(n) });
    const cases = [
      { name: '5-minute points, 120 s ahead, an hour apart', series: series(300, 10 * 288), r: { horizonSeconds: 120, origins: 60, strideSeconds: 3600, level: 0.8 }, want: { horizon: 1, stride: 12, minHistory: 576, maxHistory: 8064 } },
      { name: '30-second points, 120 s ahead', series: series(30, 8 * 2880), r: { horizonSeconds: 120, origins: 60, strideSeconds: 3600, level: 0.8 }, want: { horizon: 4, stride: 120, minHistory: 5760, maxHistory: 80640 } },
      { name: 'default: an hour ahead, a quarter of a day apart, half a short series as history', series: series(60, 1000), r: { origins: 8, level: 0.8 }, want: { horizon: 60, stride: 360, minHistory: 500, maxHistory: 40320 } },
      { name: 'a stride shorter than the horizon is the horizon', series: series(60, 10000), r: { horizon: 30, origins: 8, strideSeconds: 60, level: 0.8 }, want: { horizon: 30, stride: 30, minHistory: 2880, maxHistory: 40320 } },
    ];
    for (const c of cases) {
      const o = rollingOptionsOf(c.series, c.r);
      assert.deepEqual({ horizon: o.horizon, stride: o.stride, minHistory: o.minHistory, maxHistory: o.maxHistory }, c.want, c.name);
      assert.equal(o.origins, c.r.origins, c.name);
    }
  });
  it('--horizon and --horizon-seconds together are a usage error', async () => {
    const r = await runCli(['forecast-eval', '--input', NASA, '--horizon', '3', '--horizon-seconds', '135']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /pass one/);
  });
  it('regression: augurs failing to fit (AutoETS "no model found" on an irregular traffic series) is a model failure, exit 1, not a crash', async () => {
    const r = await runCli(['forecast-eval', '--input', fixture('nab/speed_7578.csv'), '--model', 'mstl-ets', '--json']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /augurs MSTL\+ETS could not fit this series: .*no model found \[SHADOWSCALE_E_MODEL_FAILED\]/);
    const out = JSON.parse(r.stdout) as { series: { error?: { code: string } }[] };
    assert.equal(out.series[0]?.error?.code, 'SHADOWSCALE_E_MODEL_FAILED');
  });
  it('regression: a horizon longer than the series holds is a usage error naming the longest it can take (was a ratio of Infinity over 0 points, exit 0)', async () => {
    const speed = fixture('nab/speed_7578.csv');
    const r = await runCli(['forecast-eval', '--input', speed, '--horizon-seconds', '1e12', '--json']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /speed_7578\.csv: \d+ points \(step \d+s\) leave no forecast origin \d+ points ahead: .* at most \d+ points here; shorten --horizon or --horizon-seconds \[SHADOWSCALE_E_USAGE\]/);
    const out = JSON.parse(r.stdout) as { summary: { evaluated: number }; series: { error?: { code: string } }[] };
    assert.equal(out.summary.evaluated, 0);
    assert.equal(out.series[0]?.error?.code, 'SHADOWSCALE_E_USAGE');
    // The longest horizon it names is accepted: one origin, scored.
    const most = Number(/at most (\d+) points/.exec(r.stderr)?.[1]);
    const ok = await runCli(['forecast-eval', '--input', speed, '--model', 'persistence', '--horizon', String(most), '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const row = (JSON.parse(ok.stdout) as { series: { origins: number; points: number }[] }).series[0];
    assert.equal(row?.origins, 1);
    assert.ok((row?.points ?? 0) > 0);
  });
  it('rejects a directory with no CSV', async (t) => {
    const r = await runCli(['forecast-eval', '--input', tempDir(t)]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no CSV files found/);
  });
});
