// `shadowscale tune`: the cheapest policy settings that meet the attainment target on a trace.

import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { type SweptStrategy } from '../../sim/sweep.js';
import { tune } from '../../sim/tune.js';
import { writeServiceSettings } from '../../config/write.js';
import { type Io, positiveNumber, openFraction, addConfigOptions, configFrom, addTraceOptions, loadTraceFrom, reportGaps } from '../options.js';
import { renderTune } from '../render.js';

export function registerTune(program: Command, io: Io): void {
  addConfigOptions(
    addTraceOptions(program.command('tune').description("search the scaling policy's settings on a trace: the cheapest that meet the SLO attainment target, with the frontier of every run"))
      .addOption(new Option('--peak-rps <rps>', 'scale the trace so its maximum is this many requests/s').default(1000).argParser(positiveNumber('a positive number of requests/s')))
      .addOption(new Option('--strategy <name>', "strategy to tune (default: the service's scaling.strategy)").choices(['reactive', 'predictive', 'hybrid']))
      .option('--slo-attainment <fraction>', "attainment the settings must reach on the trace (default: the service's slo.attainment)", openFraction)
      .option('--write <config.yaml>', 'write the chosen settings into this configuration file, in place (comments kept), when they meet the target')
      .option('--json', 'print one JSON object on stdout'),
  ).action(async (opts: Record<string, unknown>) => {
    const { cfg, service } = configFrom(opts, io);
    const trace = await loadTraceFrom(opts);
    reportGaps(trace, io);
    const strategy = (opts.strategy as SweptStrategy | undefined) ?? service.scaling.strategy;
    const target = (opts.sloAttainment as number | undefined) ?? service.slo.attainment;
    const bar = !opts.json && io.stderrIsTty ? new cliProgress.SingleBar({ format: ' tune [{bar}] {value}/{total} runs', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(1, 0);
    const report = tune(trace, { config: cfg, service, peakRps: opts.peakRps as number, strategy, target, onProgress: bar ? (done, total) => { bar.setTotal(total); bar.update(done); } : undefined });
    bar?.stop();
    let written: string | null = null;
    if (opts.write !== undefined && report.meetsTarget) {
      writeServiceSettings(opts.write as string, service.name, report.best.settings);
      written = opts.write as string;
    }
    if (opts.json) io.out(`${JSON.stringify({ ...report, written })}\n`);
    else io.out(renderTune(report, written));
    if (opts.write !== undefined && !report.meetsTarget) io.err(`shadowscale: nothing written to ${opts.write as string}: no setting tried reached ${(target * 100).toFixed(2)} % on this trace\n`);
  });
  
}
