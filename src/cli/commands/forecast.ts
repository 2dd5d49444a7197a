// `shadowscale forecast` and `shadowscale forecast-eval`.

import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { basename } from 'node:path';
import { ShadowscaleError, type ErrorCode } from '../../core/errors.js';
import type { Seasonality } from '../../core/forecast.js';
import type { EvalOutput } from '../../forecast/evaluate.js';
import { type ModelName } from '../../forecast/models.js';
import { runJobs } from '../../forecast/pool.js';
import { forecastOf, type ForecastOutput } from '../../forecast/run.js';
import { forecastSvg } from '../../forecast/forecast-chart.js';
import { isAbsoluteTime, toSeries, type DuplicatePolicy } from '../../sim/trace.js';
import { targetPercent } from '../render.js';
import { type Io, positiveNumber, positiveInteger, MAX_HORIZON, horizonPoints, openFraction, addTraceOptions, autoOptions, addModelOptions, isDirectory, expandInputs, eventsFrom, loadTraceFrom, reportGaps, fmt, checkOutputFile, writeOutputFile } from '../options.js';

export function registerForecast(program: Command, io: Io): void {
  addModelOptions(
    addTraceOptions(program.command('forecast').description('forecast traces with a calibrated prediction interval; several inputs (or a directory) run in parallel and print JSON Lines'), true),
    'model, or auto: chosen per series by a rolling-origin backtest',
  )
    .option('--horizon <points>', `number of points to forecast after the last row (at most ${MAX_HORIZON})`, horizonPoints)
    .option('--horizon-seconds <s>', 'seconds to forecast after the last row instead of points, rounded up to whole points of each series', positiveNumber('a positive number of seconds'))
    .option('--level <fraction>', 'central prediction interval level', openFraction, 0.8)
    .option('--json', 'print JSON (one object, or JSON Lines for several inputs)')
    .option('--chart <file.svg>', 'one input only: also draw the end of the history, the forecast and its interval (SVG) in this file')
    .action(async (opts: Record<string, unknown>) => {
      const files = expandInputs(opts.input as string[]);
      // One file given as such: a plain forecast (a directory, even of one CSV, prints JSON Lines).
      const single = files.length === 1 && !isDirectory((opts.input as string[])[0] as string);
      const chart = opts.chart as string | undefined;
      if (chart !== undefined) {
        if (!single) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--chart draws one series: give one --input file (got ${files.length === 1 ? 'a directory' : `${files.length} series`})`);
        checkOutputFile('--chart', chart);
      }
      if (opts.horizon !== undefined && opts.horizonSeconds !== undefined) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--horizon and --horizon-seconds both say how far ahead: pass one');
      if (opts.horizon === undefined && opts.horizonSeconds === undefined) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', 'how far ahead: give --horizon POINTS or --horizon-seconds SECONDS');
      const request = { model: opts.model as ModelName, seasonality: opts.seasonality as Seasonality, horizon: opts.horizon as number | undefined, horizonSeconds: opts.horizonSeconds as number | undefined, level: opts.level as number, events: eventsFrom(opts, io), auto: autoOptions(opts) };
      const traceOpts = { column: opts.column as string | undefined, step: opts.step as number | undefined, duplicates: opts.duplicates as DuplicatePolicy };
      if (single) {
        const trace = await loadTraceFrom({ ...opts, input: files[0] });
        reportGaps(trace, io);
        const series = toSeries(trace);
        const out = forecastOf(series, request, isAbsoluteTime(trace.timeFormat));
        out.history.gaps = trace.gaps.length;
        out.history.duplicatesMerged = trace.duplicatesMerged;
        noteFallback(trace.file, request.model, out.model, series, io);
        if (chart !== undefined) {
          const pick = (k: 'mean' | 'lower' | 'upper'): number[] => out.points.map((p) => p[k]);
          writeOutputFile('--chart', chart, forecastSvg(`${basename(trace.file)} [${trace.column}]`, series, { model: out.model, level: out.level, mean: pick('mean'), lower: pick('lower'), upper: pick('upper') }, isAbsoluteTime(trace.timeFormat)));
        }
        if (opts.json) io.out(`${JSON.stringify(out)}\n`);
        else io.out(`model ${out.model}, step ${out.step}s, ${targetPercent(out.level)} interval\n${out.points.map((p) => `${p.timestamp}  ${fmt(p.mean)}  [${fmt(p.lower)}, ${fmt(p.upper)}]`).join('\n')}\n`);
        return;
      }
      // Several series: JSON Lines in input order, one object per series (with its error if it failed).
      const pending = new Map<number, string>();
      let nextOut = 0;
      let failed = 0;
      let firstFailure: ErrorCode | undefined;
      await runJobs<ForecastOutput>(
        files.map((file) => ({ trace: { file, ...traceOpts, ...request } })),
        {
          threads: opts.threads as number | undefined,
          onResult: (i, r) => {
            const series = files[i] as string;
            if (!r.ok) {
              failed++;
              firstFailure ??= r.code;
              io.err(`shadowscale: ${r.message} [${r.code}]\n`);
            }
            if (r.ok) noteFallback(series, request.model, r.output.model, undefined, io);
            pending.set(i, JSON.stringify(r.ok ? { series, ...r.output } : { series, error: { code: r.code, message: r.message } }));
            while (pending.has(nextOut)) {
              io.out(`${pending.get(nextOut)}\n`);
              pending.delete(nextOut++);
            }
          },
        },
      );
      if (firstFailure) throw new ShadowscaleError(firstFailure, `${failed} of ${files.length} series could not be forecast (see above)`);
    });
  
  addModelOptions(
    addTraceOptions(program.command('forecast-eval').description('rolling-origin evaluation: MAE against the better of daily/weekly seasonal naive, and interval coverage'), true),
    'model to evaluate',
  )
    .option('--horizon <points>', `points ahead (default: one hour of points; at most ${MAX_HORIZON})`, horizonPoints)
    .option('--horizon-seconds <s>', 'seconds ahead instead of points, e.g. the lead time the scaling policy forecasts over (rounded up to whole points)', positiveNumber('a positive number of seconds'))
    .option('--origins <k>', 'forecast origins per series', positiveInteger, 20)
    .option('--stride-seconds <s>', 'seconds between origins (default: a quarter of a day, at least the horizon)', positiveNumber('a positive number of seconds'))
    .option('--level <fraction>', 'central prediction interval level', openFraction, 0.8)
    .option('--json', 'print one JSON object')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      if (opts.horizon !== undefined && opts.horizonSeconds !== undefined) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--horizon and --horizon-seconds both say how far ahead: pass one');
      const originsAsked = cmd.getOptionValueSource('origins') === 'cli';
      const files = expandInputs(opts.input as string[]);
      const events = eventsFrom(opts, io);
      // Progress for a person at a terminal (a rolling-origin evaluation of many series takes minutes).
      const bar = !opts.json && io.stderrIsTty ? new cliProgress.SingleBar({ format: ' forecast-eval [{bar}] {value}/{total} series', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
      bar?.start(files.length, 0);
      const results = await runJobs<EvalOutput>(
        files.map((file) => ({
          evaluate: {
            file,
            column: opts.column as string | undefined,
            step: opts.step as number | undefined,
            duplicates: opts.duplicates as DuplicatePolicy,
            model: opts.model as ModelName,
            seasonality: opts.seasonality as Seasonality,
            events,
            horizon: opts.horizon as number | undefined,
            horizonSeconds: opts.horizonSeconds as number | undefined,
            origins: opts.origins as number,
            strideSeconds: opts.strideSeconds as number | undefined,
            level: opts.level as number,
            auto: autoOptions(opts),
          },
        })),
        { threads: opts.threads as number | undefined, ...(bar ? { onResult: () => bar.increment() } : {}) },
      );
      bar?.stop();
      const rows = results.map((r, i) => ({ series: files[i] as string, ...(r.ok ? r.output : { error: { code: r.code, message: r.message } }) }));
      const ok = results.flatMap((r) => (r.ok && Number.isFinite(r.output.maeRatio) && r.output.maeRatio > 0 ? [r.output] : []));
      const summary = {
        series: files.length,
        evaluated: ok.length,
        geometricMeanMaeRatio: ok.length ? Math.exp(ok.reduce((s, x) => s + Math.log(x.maeRatio), 0) / ok.length) : null,
        geometricMeanMaeRatioBestBaseline: ok.length ? Math.exp(ok.reduce((s, x) => s + Math.log(Math.max(1e-12, x.maeRatioBestBaseline)), 0) / ok.length) : null,
        coverage: ok.length ? ok.reduce((s, x) => s + x.coverage * x.points, 0) / ok.reduce((s, x) => s + x.points, 0) : null,
      };
      if (opts.json) io.out(`${JSON.stringify({ model: opts.model, level: opts.level, summary, series: rows })}\n`);
      else {
        io.out(`${rows.map((r) => ('error' in r ? (r.error.message.startsWith(r.series) ? r.error.message : `${r.series}: ${r.error.message}`) : `${r.series}  MAE ratio ${r.maeRatio.toFixed(3)} (best baseline incl. persistence ${r.maeRatioBestBaseline.toFixed(3)})  coverage ${r.coverage.toFixed(3)}  (${r.origins} origins, ${r.points} points, horizon ${r.horizon})`)).join('\n')}\n`);
        io.out(`geometric mean MAE ratio ${summary.geometricMeanMaeRatio?.toFixed(3) ?? '-'} (against the best baseline incl. persistence ${summary.geometricMeanMaeRatioBestBaseline?.toFixed(3) ?? '-'}), coverage ${summary.coverage?.toFixed(3) ?? '-'} over ${summary.evaluated} series\n`);
      }
      // Asked for more origins than a series holds: its figures rest on fewer points than asked for.
      const short = originsAsked ? rows.flatMap((r) => ('error' in r || r.origins >= (opts.origins as number) ? [] : [r])) : [];
      if (short.length) {
        const fewest = short.reduce((a, b) => (b.origins < a.origins ? b : a));
        io.err(`shadowscale: note: ${short.length} of ${rows.length} series ${short.length === 1 ? 'holds' : 'hold'} fewer origins than the ${opts.origins as number} asked (fewest: ${fewest.origins}, ${fewest.series}): each origin needs its history before it and the horizon after it, spaced --stride-seconds apart\n`);
      }
      for (const r of results) if (!r.ok) io.err(`shadowscale: ${r.message} [${r.code}]\n`);
      const failure = results.find((r) => !r.ok);
      if (failure && !failure.ok) throw new ShadowscaleError(failure.code, `${results.filter((r) => !r.ok).length} of ${files.length} series could not be evaluated (see above)`);
    });
  
}

/** What a seasonal naive needs of the history (chooseSeason in src/core/forecast.ts). */
const SEASON_NEEDS: Partial<Record<ModelName, string>> = { 'seasonal-naive-daily': 'a day of history at points under 12 hours apart', 'seasonal-naive-weekly': 'two weeks of history (a day for the daily season)' };

/** A seasonal naive asked for on a history too short for its season falls back (documented); say so, not only in `model`. */
function noteFallback(file: string, asked: ModelName, used: string, series: { values: ArrayLike<number>; step: number } | undefined, io: Io): void {
  const needs = SEASON_NEEDS[asked];
  if (needs === undefined || used === asked) return;
  const span = series ? ` (${series.values.length} points of ${series.step} s)` : '';
  io.err(`shadowscale: note: ${file}: --model ${asked} needs ${needs}; this series${span} does not have it, so it forecast with ${used}\n`);
}
