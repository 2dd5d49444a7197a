// `shadowscale tune`: the cheapest policy settings that meet the attainment target on a trace.

import { Command, Option } from 'commander';
import { ShadowscaleError } from '../../core/errors.js';
import { demandHistory } from '../../control/history.js';
import cliProgress from 'cli-progress';
import { type SweptStrategy } from '../../sim/sweep.js';
import { tune, type TuneRun } from '../../sim/tune.js';
import { tuneSvg } from '../../sim/frontier-chart.js';
import { basename } from 'node:path';
import { availableParallelism } from 'node:os';
import { checkServiceWritable, writeServiceSettings } from '../../config/write.js';
import { type Io, peakRpsArg, reportCappedPeak, reportEvents, threadCount, openFraction, addConfigOptions, configFrom, addTraceOptions, loadTraceFrom, reportGaps, checkOutputFile, writeOutputFile } from '../options.js';
import { renderTune, targetPercent } from '../render.js';

export function registerTune(program: Command, io: Io): void {
  addConfigOptions(
    addTraceOptions(
      program.command('tune').description("search the scaling policy's settings on a trace, or on the demand a store recorded: the cheapest that meet the SLO attainment target, with the frontier of every run"),
      false,
      'CSV trace (time column by name: timestamp, time, period, date); or --store',
    )
      .option('--store <file>', "instead of --input: the demand the store of a `shadowscale run` recorded for --service (minute means of the live pool's requests/s, as far back as its minute rollups go); read without taking the store")
      .addOption(new Option('--peak-rps <rps>', 'scale the trace so its maximum is this many requests/s (default: 1000 with --input; with --store the recorded rates, unscaled)').argParser(peakRpsArg))
      .addOption(new Option('--strategy <name>', "strategy to tune (default: the service's scaling.strategy)").choices(['reactive', 'predictive', 'hybrid']))
      .option('--slo-attainment <fraction>', "attainment the settings must reach on the trace (default: the service's slo.attainment)", openFraction)
      .option('--write <config.yaml>', 'write the chosen settings into this configuration file, in place (comments kept), when they meet the target')
      .option('--chart <file.svg>', 'draw every run, the frontier, the default and the chosen settings against the target (SVG) in this file')
      .option('--threads <n>', "worker threads for each stage's runs (default: all cores); the result is the same for any number", threadCount)
      .option('--json', 'print one JSON object on stdout'),
  ).action(async (opts: Record<string, unknown>) => {
    const { cfg, service } = configFrom(opts, io);
    const store = opts.store as string | undefined;
    const chart = opts.chart as string | undefined;
    if (chart !== undefined) checkOutputFile('--chart', chart);
    // A search takes minutes on a month of demand: a --write it cannot do is said before, not after.
    if (opts.write !== undefined) checkServiceWritable(opts.write as string, service.name);
    if (opts.input !== undefined && store !== undefined) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--input and --store both say what to replay: pass one');
    if (opts.input === undefined && store === undefined) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', 'what to replay: give --input FILE (a CSV trace) or --store FILE (the demand a `shadowscale run` recorded)');
    if (store !== undefined) for (const flag of ['column', 'step'] as const) if (opts[flag] !== undefined) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--${flag} reads a CSV trace (--input); the store's history is one series at one-minute steps`);
    const trace = store !== undefined ? demandHistory(store, service.name) : await loadTraceFrom(opts);
    reportGaps(trace, io);
    reportEvents(cfg, service, trace, io);
    if (store !== undefined && !(trace.stats.max > 0)) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--store ${store}: the recorded demand of "${service.name}" is zero throughout (${trace.stats.rows} minutes): nothing to size capacity for`);
    const span = trace.times.length ? ((trace.times[trace.times.length - 1] as number) - (trace.times[0] as number) + trace.step) / 86400 : 0;
    // The SLO policy reads its errors by hour of the day and its daily peak from three days on.
    if (span < 3) io.err(`${trace.file}: ${(span * 24).toFixed(1)} h of ${store !== undefined ? 'recorded demand' : 'demand'}; the policy reads its errors by hour of the day and the daily peak from three days on, so settings tuned on less may not hold\n`);
    const peakRps = (opts.peakRps as number | undefined) ?? (store !== undefined ? trace.stats.max : 1000);
    reportCappedPeak(cfg, service, peakRps, io, opts.peakRps !== undefined ? `--peak-rps ${peakRps}` : store !== undefined ? `--store ${store}` : 'the default --peak-rps 1000');
    const strategy = (opts.strategy as SweptStrategy | undefined) ?? service.scaling.strategy;
    const target = (opts.sloAttainment as number | undefined) ?? service.slo.attainment;
    // Attainment is counted in whole minutes: a target finer than one minute of the trace means none violated.
    const minutes = Math.round((trace.stats.rows * trace.step) / 60);
    if ((1 - target) * minutes < 1) io.err(`${trace.file}: ${+(target * 100).toPrecision(8)} % of ${minutes.toLocaleString('en-US')} minutes allows ${+((1 - target) * minutes).toPrecision(2)} violated minutes: on this trace the target means none violated\n`);
    const bar = !opts.json && io.stderrIsTty ? new cliProgress.SingleBar({ format: ' tune [{bar}] {value}/{total} runs', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(1, 0);
    const runs: TuneRun[] = [];
    const threads = (opts.threads as number | undefined) ?? availableParallelism();
    const report = await tune(trace, { config: cfg, service, peakRps, strategy, target, threads, onRun: (r) => runs.push(r), onProgress: bar ? (done, total) => { bar.setTotal(total); bar.update(done); } : undefined });
    bar?.stop();
    if (chart !== undefined) writeOutputFile('--chart', chart, tuneSvg(`tune ${strategy} on ${basename(trace.file)} [${trace.column}]`, strategy, runs, report.frontier, report.best, report.default, report.oracle.cost, target));
    let written: string | null = null;
    if (opts.write !== undefined && report.meetsTarget) {
      writeServiceSettings(opts.write as string, service.name, report.best.settings);
      written = opts.write as string;
    }
    if (opts.json) io.out(`${JSON.stringify({ ...report, written })}\n`);
    else io.out(renderTune(report, written));
    // Asked to write and could not: a script (`tune --write cfg && deploy`) must see it.
    if (opts.write !== undefined && !report.meetsTarget) throw new ShadowscaleError('SHADOWSCALE_E_TUNE_TARGET_MISSED', `nothing written to ${opts.write as string}: no setting tried reached ${targetPercent(target)} on this demand (the best: ${(report.best.sloAttainment * 100).toFixed(3)} %)`);
  });
  
}
