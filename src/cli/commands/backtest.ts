// `shadowscale backtest`: a trace through the simulator for each strategy, and with --sweep the cost-SLO frontier.

import { Command, Option } from 'commander';
import { knownEvents } from '../../config/derive.js';
import cliProgress from 'cli-progress';
import { ShadowscaleError } from '../../core/errors.js';
import { basename } from 'node:path';
import { availableParallelism } from 'node:os';
import { STRATEGY_NAMES, type StrategyName } from '../../core/reasons.js';
import { prepareBacktest, runBacktest, type BacktestReport } from '../../sim/backtest.js';
import { frontierSvg } from '../../sim/frontier-chart.js';
import type { MinuteRecord } from '../../sim/simulator.js';
import { timelineSvg } from '../../sim/timeline-chart.js';
import { detectTimeFormat, isAbsoluteTime, parseTimeAs, type Trace } from '../../sim/trace.js';
import { runSweepParallel, type SweepReport, type SweptStrategy } from '../../sim/sweep.js';
import { type Io, peakRpsArg, reportCappedPeak, reportEvents, threadCount, strategyList, addConfigOptions, configFrom, addTraceOptions, loadTraceFrom, reportGaps, checkOutputFile, writeOutputFile } from '../options.js';
import { renderSweep, renderBacktest } from '../render.js';

export function registerBacktest(program: Command, io: Io): void {
  addConfigOptions(
    addTraceOptions(program.command('backtest').description('replay a trace through the simulator for each strategy, against the oracle'))
      .addOption(new Option('--peak-rps <rps>', 'scale the trace so its maximum is this many requests/s').default(1000).argParser(peakRpsArg))
      .addOption(new Option('--strategy <name|all>', `strategies to run: ${STRATEGY_NAMES.join(', ')} (comma-separated) or all`).default(['reactive', 'predictive', 'hybrid', 'oracle'], 'all').argParser(strategyList))
      .option('--sweep', "also run each strategy over a range of its own knob (reactive: target utilization; predictive, hybrid: the SLO policy's attainment target) and report its cost-SLO frontier and its cost at equal attainment")
      .option('--chart <file.svg>', 'with --sweep: write the frontier chart (SVG) to this file')
      .option('--timeline <file.svg>', "draw the demand, each strategy's capacity and its violated minutes over the trace (SVG) in this file")
      .option('--timeline-range <from..to>', 'with --timeline: draw only this stretch, e.g. 1995-07-13..1995-07-15T12:00 (UTC) or, for a trace without absolute times, seconds from its first row such as 86400..172800; the whole trace is still simulated')
      .option('--threads <n>', 'with --sweep: worker threads for its runs (default: all cores)', threadCount)
      .option('--json', 'print one JSON object on stdout'),
  ).action(async (opts: Record<string, unknown>) => {
    const { cfg, service } = configFrom(opts, io);
    if (opts.chart !== undefined && !opts.sweep) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--chart draws the frontier: it needs --sweep');
    // The oracle has no knob: a sweep of it alone printed empty frontiers and drew an empty chart.
    if (opts.sweep && (opts.strategy as StrategyName[]).every((x) => x === 'oracle')) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--sweep runs reactive, predictive or hybrid over its knob; the oracle has none: add one of them to --strategy');
    if (opts.chart !== undefined) checkOutputFile('--chart', opts.chart as string);
    const timeline = opts.timeline as string | undefined;
    if (timeline !== undefined) checkOutputFile('--timeline', timeline);
    if (opts.timelineRange !== undefined && timeline === undefined) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--timeline-range narrows the timeline: it needs --timeline FILE.svg');
    const trace = await loadTraceFrom(opts);
    reportGaps(trace, io);
    reportCappedPeak(cfg, service, opts.peakRps as number, io, `--peak-rps ${opts.peakRps as number}`);
    reportEvents(cfg, service, trace, io);
    const range = opts.timelineRange !== undefined ? timelineRange(opts.timelineRange as string, trace) : undefined;
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
      const shown = range ? Object.fromEntries(Object.entries(minutes).map(([name, m]) => [name, m.filter((r) => r.at >= range.from && r.at < range.to)])) : minutes;
      writeOutputFile('--timeline', timeline, timelineSvg({ title: `${basename(trace.file)} [${trace.column}] at --peak-rps ${base.peakRps}${range ? `, ${opts.timelineRange as string}` : ''}`, perInstanceRps, absoluteTime: isAbsoluteTime(trace.timeFormat), minutes: shown, events: knownEvents(service) }));
    }
    let sweep: SweepReport | undefined;
    if (opts.sweep) {
      const swept = strategies.filter((x): x is SweptStrategy => x !== 'oracle');
      bar?.update(0, { strategy: 'sweep     ' });
      const threads = (opts.threads as number | undefined) ?? availableParallelism();
      sweep = await runSweepParallel({ ...base, strategies: swept, threads, onProgress: bar ? (done, total) => bar.update(Math.round((done / total) * 100)) : undefined }, prepared);
      report.frontier = sweep.frontier;
      report.costAtAttainment = sweep.costAtAttainment;
      if (opts.chart !== undefined) writeOutputFile('--chart', opts.chart as string, frontierSvg(`${basename(trace.file)} [${trace.column}]`, sweep.points, sweep.frontier, sweep.oracle.cost, sweep.costAtAttainment));
    }
    bar?.stop();
    if (opts.json) io.out(`${JSON.stringify(report)}\n`);
    else io.out(renderBacktest(report) + (sweep ? renderSweep(sweep) : ''));
  });
  
}

/**
 * `--timeline-range FROM..TO` in the trace's seconds: UTC dates or times for a trace with absolute times,
 * seconds from the first row otherwise. It must overlap the trace by at least a minute.
 */
export function timelineRange(text: string, trace: Trace): { from: number; to: number } {
  const bad = (why: string): ShadowscaleError => new ShadowscaleError('SHADOWSCALE_E_USAGE', `--timeline-range ${text}: ${why}`);
  const parts = text.split('..');
  if (parts.length !== 2 || parts.some((x) => x.trim() === '')) throw bad('expected FROM..TO, e.g. 1995-07-13..1995-07-15T12:00');
  const absolute = isAbsoluteTime(trace.timeFormat);
  const first = trace.times[0] as number;
  const [from, to] = parts.map((x) => {
    const s = x.trim();
    const t = absolute ? parseTimeAs(s, detectTimeFormat(s)) : /^[+-]?(\d+\.?\d*|\.\d+)$/.test(s) ? first + Number(s) : Number.NaN;
    if (!Number.isFinite(t)) throw bad(absolute ? `"${s}" is not a UTC date or time like 1995-07-13 or 1995-07-13T06:00` : `"${s}" is not a number of seconds from the first row (this trace has no absolute times)`);
    return t;
  }) as [number, number];
  if (!(from < to)) throw bad('FROM must come before TO');
  const end = (trace.times[trace.times.length - 1] as number) + trace.step;
  if (to <= first + 60 || from >= end - 60) throw bad(`the trace runs from ${absolute ? new Date(first * 1000).toISOString() : '0'} to ${absolute ? new Date(end * 1000).toISOString() : String(end - first)}: the range must overlap it by a minute at least`);
  return { from, to };
}

