// `shadowscale backtest`: a trace through the simulator for each strategy, and with --sweep the cost-SLO frontier.

import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { ShadowscaleError } from '../../core/errors.js';
import { basename } from 'node:path';
import { availableParallelism } from 'node:os';
import { STRATEGY_NAMES, type StrategyName } from '../../core/reasons.js';
import { prepareBacktest, runBacktest, type BacktestReport } from '../../sim/backtest.js';
import { frontierSvg } from '../../sim/frontier-chart.js';
import type { MinuteRecord } from '../../sim/simulator.js';
import { timelineSvg } from '../../sim/timeline-chart.js';
import { isAbsoluteTime } from '../../sim/trace.js';
import { runSweepParallel, type SweepReport, type SweptStrategy } from '../../sim/sweep.js';
import { type Io, positiveNumber, positiveInteger, strategyList, addConfigOptions, configFrom, addTraceOptions, loadTraceFrom, reportGaps, checkOutputFile, writeOutputFile } from '../options.js';
import { renderSweep, renderBacktest } from '../render.js';

export function registerBacktest(program: Command, io: Io): void {
  addConfigOptions(
    addTraceOptions(program.command('backtest').description('replay a trace through the simulator for each strategy, against the oracle'))
      .addOption(new Option('--peak-rps <rps>', 'scale the trace so its maximum is this many requests/s').default(1000).argParser(positiveNumber('a positive number of requests/s')))
      .addOption(new Option('--strategy <name|all>', `strategies to run: ${STRATEGY_NAMES.join(', ')} (comma-separated) or all`).default(['reactive', 'predictive', 'hybrid', 'oracle'], 'all').argParser(strategyList))
      .option('--sweep', "also run each strategy over a range of its own knob (reactive: target utilization; predictive, hybrid: the SLO policy's attainment target) and report its cost-SLO frontier and its cost at equal attainment")
      .option('--chart <file.svg>', 'with --sweep: write the frontier chart (SVG) to this file')
      .option('--timeline <file.svg>', "draw the demand, each strategy's capacity and its violated minutes over the trace (SVG) in this file")
      .option('--threads <n>', 'with --sweep: worker threads for its runs (default: all cores)', positiveInteger)
      .option('--json', 'print one JSON object on stdout'),
  ).action(async (opts: Record<string, unknown>) => {
    const { cfg, service } = configFrom(opts, io);
    if (opts.chart !== undefined && !opts.sweep) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--chart draws the frontier: it needs --sweep');
    if (opts.chart !== undefined) checkOutputFile('--chart', opts.chart as string);
    const timeline = opts.timeline as string | undefined;
    if (timeline !== undefined) checkOutputFile('--timeline', timeline);
    const trace = await loadTraceFrom(opts);
    reportGaps(trace, io);
    const strategies = opts.strategy as StrategyName[];
    const bar = !opts.json && io.stderrIsTty ? new cliProgress.SingleBar({ format: ' {strategy} [{bar}] {percentage}%', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(100, 0, { strategy: strategies[0] });
    const base = { config: cfg, service, peakRps: opts.peakRps as number };
    const prepared = prepareBacktest(trace, { ...base, recordMinutes: timeline !== undefined });
    const minutes: Partial<Record<StrategyName, readonly MinuteRecord[]>> = {};
    const report: BacktestReport & { frontier?: SweepReport['frontier']; costAtAttainment?: SweepReport['costAtAttainment'] } = runBacktest(trace, {
      ...base,
      strategies,
      onProgress: bar ? (name, done) => bar.update(Math.round(done * 100), { strategy: name.padEnd(10) }) : undefined,
      ...(timeline !== undefined ? { onMinutes: (name: StrategyName, m: readonly MinuteRecord[]) => (minutes[name] = m) } : {}),
    }, prepared);
    if (timeline !== undefined) {
      const perInstanceRps = report.settings.perInstanceRpsAtSlo as number;
      writeOutputFile('--timeline', timeline, timelineSvg({ title: `${basename(trace.file)} [${trace.column}] at --peak-rps ${base.peakRps}`, perInstanceRps, absoluteTime: isAbsoluteTime(trace.timeFormat), minutes }));
    }
    let sweep: SweepReport | undefined;
    if (opts.sweep) {
      const swept = strategies.filter((x): x is SweptStrategy => x !== 'oracle');
      bar?.update(0, { strategy: 'sweep     ' });
      const threads = (opts.threads as number | undefined) ?? availableParallelism();
      sweep = await runSweepParallel({ ...base, strategies: swept, threads, onProgress: bar ? (done, total) => bar.update(Math.round((done / total) * 100)) : undefined }, prepared);
      report.frontier = sweep.frontier;
      report.costAtAttainment = sweep.costAtAttainment;
      if (opts.chart !== undefined) writeOutputFile('--chart', opts.chart as string, frontierSvg(`${basename(trace.file)} [${trace.column}]`, sweep.points, sweep.frontier, sweep.oracle.cost));
    }
    bar?.stop();
    if (opts.json) io.out(`${JSON.stringify(report)}\n`);
    else io.out(renderBacktest(report) + (sweep ? renderSweep(sweep) : ''));
  });
  
}
