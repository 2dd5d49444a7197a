// The `shadowscale` command. With --json, stdout holds only the JSON; progress and logs go to stderr.
// Exit codes: 0 success, 2 bad usage or bad input, 1 internal failure.

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { configJsonSchema, loadConfig, OVERRIDES, serviceByName } from '../config/load.js';
import { parseHostPort, type Config } from '../config/schema.js';
import { isShadowscaleError, ShadowscaleError, type ErrorCode } from '../core/errors.js';
import { CALIBRATIONS, COMBINATIONS, DEFAULT_VARIANT, type AutoOptions, type Calibration, type Combination } from '../core/auto-forecast.js';
import type { Seasonality } from '../core/forecast.js';
import type { EvalOutput } from '../forecast/evaluate.js';
import { MODEL_NAMES, type ModelName } from '../forecast/models.js';
import { runJobs } from '../forecast/pool.js';
import type { KnownEvent } from '../forecast/prophet.js';
import { forecastOf, type ForecastOutput } from '../forecast/run.js';
import { closeSync, existsSync, openSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminServer } from '../gateway/admin.js';
import { ClusterGateway, type PortableGatewayOptions } from '../gateway/cluster.js';
import { localControl, type GatewayControl } from '../gateway/control.js';
import { checkListen, listenOn } from '../gateway/listen.js';
import { createGateway } from '../gateway/gateway.js';
import type { MirrorMode } from '../gateway/mirror.js';
import { loadRecording, replay } from '../gateway/replay.js';
import { cleanDemoLeftovers, DemoInterrupted, demoConfig, runDemo, type DemoStrategy } from '../control/demo.js';
import { doctor } from '../control/doctor.js';
import { DEMO_ENV, interruptible, withThrowawayStore } from '../control/leftovers.js';
import { mixFromRecording } from '../proof/mix.js';
import { prove } from '../proof/prove.js';
import { proofsReport } from '../proof/report.js';
import { Store } from '../metrics/store.js';
import { Runtime, startLocalProvider } from '../control/runtime.js';
import { basename, join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { STRATEGY_NAMES, type StrategyName } from '../core/reasons.js';
import { prepareBacktest, runBacktest, type BacktestReport } from '../sim/backtest.js';
import { frontierSvg } from '../sim/frontier-chart.js';
import { runSweepParallel, type SweepReport, type SweptStrategy } from '../sim/sweep.js';
import { tune, type TuneReport, type TuneRun } from '../sim/tune.js';
import { writeServiceSettings } from '../config/write.js';
import { DUPLICATE_POLICIES, isAbsoluteTime, loadTrace, toSeries, type DuplicatePolicy, type Trace } from '../sim/trace.js';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  stderrIsTty: boolean;
}

const defaultIo = (): Io => ({
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
  stderrIsTty: Boolean(process.stderr.isTTY),
});

function positiveNumber(what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected ${what}, got "${v}"`);
    return n;
  };
}
function positiveInteger(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${v}"`);
  return n;
}
/** Most points a forecast gives (a week of minutes is 10,080; more is a typo, and would not fit in memory). */
const MAX_HORIZON = 100_000;
function horizonPoints(v: string): number {
  const n = positiveInteger(v);
  if (n > MAX_HORIZON) throw new InvalidArgumentError(`expected at most ${MAX_HORIZON} points, got "${v}"`);
  return n;
}
function workerCount(v: string): number {
  if (v === 'auto') return availableParallelism();
  return positiveInteger(v);
}
function openFraction(v: string): number {
  const n = Number(v);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`expected a number strictly between 0 and 1, got "${v}"`);
  return n;
}
function fraction(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError(`expected a number between 0 and 1, got "${v}"`);
  return n;
}
function hostPort(flag: string) {
  return (v: string): { host: string; port: number } => {
    const hp = parseHostPort(v);
    if (!hp) throw new InvalidArgumentError(`${flag}: expected HOST:PORT (e.g. 127.0.0.1:8080, port 0 for any), got "${v}"`);
    return hp;
  };
}
function urlList(flag: string) {
  return (v: string): string[] =>
    v.split(',').map((u) => {
      let url: URL;
      try {
        url = new URL(u.trim());
      } catch {
        throw new InvalidArgumentError(`${flag}: expected http:// or https:// URLs separated by commas, got "${u}"`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`${flag}: expected http:// or https:// URLs separated by commas, got "${u}"`);
      return url.origin;
    });
}
function strategyList(v: string): StrategyName[] {
  if (v === 'all') return [...STRATEGY_NAMES];
  const names = v.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(STRATEGY_NAMES as readonly string[]).includes(n)) throw new InvalidArgumentError(`expected one of ${STRATEGY_NAMES.join(', ')} or all (comma-separated), got "${n}"`);
  }
  return names as StrategyName[];
}
const collect = (v: string, prev: string[]): string[] => [...prev, v];

function addConfigOptions(cmd: Command): Command {
  cmd.option('--config <file>', 'YAML configuration file (default: built-in defaults)');
  cmd.option('--service <name>', 'service of the configuration to use (default: the first)');
  for (const o of OVERRIDES) cmd.option(o.flag, `${o.description} (env ${o.env})`);
  cmd.option('--set <path=value>', 'set any configuration key, e.g. services[0].slo.errorRate=0.01 (repeatable)', collect, []);
  return cmd;
}

function configFrom(opts: Record<string, unknown>, io: Io) {
  const flags: Record<string, string | undefined> = {};
  for (const o of OVERRIDES) {
    const v = opts[o.key];
    if (v !== undefined) flags[o.key] = String(v);
  }
  const cfg = loadConfig({ file: opts.config as string | undefined, env: io.env, flags, sets: opts.set as string[] });
  return { cfg, service: serviceByName(cfg, opts.service as string | undefined) };
}

/** --input (one file, or repeatable files/directories), --column, --step, --duplicates. */
function addTraceOptions(cmd: Command, several = false): Command {
  if (several) cmd.requiredOption('--input <file|dir>', 'CSV trace, or a directory of them (repeatable)', collect, []);
  else cmd.requiredOption('--input <file>', 'CSV trace (time column by name: timestamp, time, period, date)');
  return cmd
    .option('--column <name>', 'value column (default: the first non-time column)')
    .option('--step <seconds>', 'spacing of rows when a file has no time column', positiveNumber('a positive number of seconds'))
    .addOption(new Option('--duplicates <policy>', 'rows repeating the previous time: error, or merge them (mean, sum, first, last)').choices(DUPLICATE_POLICIES).default('error'));
}

/** --model, --seasonality, --threads, and --config/--service for known events, for the forecasting commands. */
/** The pipeline's variant from --combine / --calibration (the defaults when absent). */
function autoOptions(opts: Record<string, unknown>): AutoOptions {
  return { ...(opts.combine !== undefined ? { combine: opts.combine as Combination } : {}), ...(opts.calibration !== undefined ? { calibration: opts.calibration as Calibration } : {}) };
}

function addModelOptions(cmd: Command, modelHelp: string): Command {
  return cmd
    .option('--config <file>', "configuration whose service's events (campaigns, holidays) the forecast knows about")
    .option('--service <name>', 'service of the configuration (default: the first)')
    .addOption(new Option('--model <name>', modelHelp).choices(MODEL_NAMES).default('auto'))
    .addOption(new Option('--seasonality <kind>', 'seasons to use').choices(['auto', 'daily', 'weekly', 'none']).default('auto'))
    .addOption(new Option('--combine <how>', `model auto: how the backtest weights the candidates (default ${DEFAULT_VARIANT.combine})`).choices(COMBINATIONS))
    .addOption(new Option('--calibration <how>', `model auto: how the backtest calibrates the interval (default ${DEFAULT_VARIANT.calibration})`).choices(CALIBRATIONS))
    .option('--threads <n>', 'worker threads for several inputs (default: all cores)', positiveInteger);
}

export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const program = new Command('shadowscale')
    .description('Predictive autoscaling, proven on a shadow copy of the service first.')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  addConfigOptions(
    addTraceOptions(program.command('backtest').description('replay a trace through the simulator for each strategy, against the oracle'))
      .addOption(new Option('--peak-rps <rps>', 'scale the trace so its maximum is this many requests/s').default(1000).argParser(positiveNumber('a positive number of requests/s')))
      .addOption(new Option('--strategy <name|all>', `strategies to run: ${STRATEGY_NAMES.join(', ')} (comma-separated) or all`).default(['reactive', 'predictive', 'hybrid', 'oracle'], 'all').argParser(strategyList))
      .option('--sweep', "also run each strategy over a range of its own knob (reactive: target utilization; predictive, hybrid: the SLO policy's attainment target) and report its cost-SLO frontier and its cost at equal attainment")
      .option('--chart <file.svg>', 'with --sweep: write the frontier chart (SVG) to this file')
      .option('--threads <n>', 'with --sweep: worker threads for its runs (default: all cores)', positiveInteger)
      .option('--json', 'print one JSON object on stdout'),
  ).action(async (opts: Record<string, unknown>) => {
    const { cfg, service } = configFrom(opts, io);
    if (opts.chart !== undefined && !opts.sweep) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--chart draws the frontier: it needs --sweep');
    const trace = await loadTraceFrom(opts);
    reportGaps(trace, io);
    const strategies = opts.strategy as StrategyName[];
    const bar = !opts.json && io.stderrIsTty ? new cliProgress.SingleBar({ format: ' {strategy} [{bar}] {percentage}%', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(100, 0, { strategy: strategies[0] });
    const base = { config: cfg, service, peakRps: opts.peakRps as number };
    const prepared = prepareBacktest(trace, base);
    const report: BacktestReport & { frontier?: SweepReport['frontier']; costAtAttainment?: SweepReport['costAtAttainment'] } = runBacktest(trace, {
      ...base,
      strategies,
      onProgress: bar ? (name, done) => bar.update(Math.round(done * 100), { strategy: name.padEnd(10) }) : undefined,
    }, prepared);
    let sweep: SweepReport | undefined;
    if (opts.sweep) {
      const swept = strategies.filter((x): x is SweptStrategy => x !== 'oracle');
      bar?.update(0, { strategy: 'sweep     ' });
      const threads = (opts.threads as number | undefined) ?? availableParallelism();
      sweep = await runSweepParallel({ ...base, strategies: swept, threads, onProgress: bar ? (done, total) => bar.update(Math.round((done / total) * 100)) : undefined }, prepared);
      report.frontier = sweep.frontier;
      report.costAtAttainment = sweep.costAtAttainment;
      if (opts.chart) writeFileSync(opts.chart as string, frontierSvg(`${basename(trace.file)} [${trace.column}]`, sweep.points, sweep.frontier, sweep.oracle.cost));
    }
    bar?.stop();
    if (opts.json) io.out(`${JSON.stringify(report)}\n`);
    else io.out(renderBacktest(report) + (sweep ? renderSweep(sweep) : ''));
  });

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

  addModelOptions(
    addTraceOptions(program.command('forecast').description('forecast traces with a calibrated prediction interval; several inputs (or a directory) run in parallel and print JSON Lines'), true),
    'model, or auto: chosen per series by a rolling-origin backtest',
  )
    .requiredOption('--horizon <points>', `number of points to forecast after the last row (at most ${MAX_HORIZON})`, horizonPoints)
    .option('--level <fraction>', 'central prediction interval level', openFraction, 0.8)
    .option('--json', 'print JSON (one object, or JSON Lines for several inputs)')
    .action(async (opts: Record<string, unknown>) => {
      const files = expandInputs(opts.input as string[]);
      const request = { model: opts.model as ModelName, seasonality: opts.seasonality as Seasonality, horizon: opts.horizon as number, level: opts.level as number, events: eventsFrom(opts, io), auto: autoOptions(opts) };
      const traceOpts = { column: opts.column as string | undefined, step: opts.step as number | undefined, duplicates: opts.duplicates as DuplicatePolicy };
      if (files.length === 1 && !isDirectory((opts.input as string[])[0] as string)) {
        const trace = await loadTraceFrom({ ...opts, input: files[0] });
        reportGaps(trace, io);
        const out = forecastOf(toSeries(trace), request, isAbsoluteTime(trace.timeFormat));
        out.history.gaps = trace.gaps.length;
        out.history.duplicatesMerged = trace.duplicatesMerged;
        if (opts.json) io.out(`${JSON.stringify(out)}\n`);
        else io.out(`model ${out.model}, step ${out.step}s, ${(out.level * 100).toFixed(0)} % interval\n${out.points.map((p) => `${p.timestamp}  ${fmt(p.mean)}  [${fmt(p.lower)}, ${fmt(p.upper)}]`).join('\n')}\n`);
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
    .action(async (opts: Record<string, unknown>) => {
      if (opts.horizon !== undefined && opts.horizonSeconds !== undefined) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--horizon and --horizon-seconds both say how far ahead: pass one');
      const files = expandInputs(opts.input as string[]);
      const events = eventsFrom(opts, io);
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
        { threads: opts.threads as number | undefined },
      );
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
        io.out(`${rows.map((r) => ('error' in r ? `${r.series}: ${r.error.message}` : `${r.series}  MAE ratio ${r.maeRatio.toFixed(3)} (best baseline incl. persistence ${r.maeRatioBestBaseline.toFixed(3)})  coverage ${r.coverage.toFixed(3)}  (${r.points} points, horizon ${r.horizon})`)).join('\n')}\n`);
        io.out(`geometric mean MAE ratio ${summary.geometricMeanMaeRatio?.toFixed(3) ?? '-'} (against the best baseline incl. persistence ${summary.geometricMeanMaeRatioBestBaseline?.toFixed(3) ?? '-'}), coverage ${summary.coverage?.toFixed(3) ?? '-'} over ${summary.evaluated} series\n`);
      }
      for (const r of results) if (!r.ok) io.err(`shadowscale: ${r.message} [${r.code}]\n`);
      const failure = results.find((r) => !r.ok);
      if (failure && !failure.ok) throw new ShadowscaleError(failure.code, `${results.filter((r) => !r.ok).length} of ${files.length} series could not be evaluated (see above)`);
    });

  program
    .command('gateway')
    .description('run the data plane: proxy to the live pool, mirror a sample to the shadow pool, admin API on its own port')
    .option('--config <file>', 'YAML configuration file: its `gateway` section, and the sampling of `--service` (flags win)')
    .option('--service <name>', "service whose shadow.sampling the gateway applies (default: gateway.service, else the first)")
    .option('--set <path=value>', 'set any configuration key, e.g. gateway.mirror.timeoutMs=500 (repeatable)', collect, [])
    .option('--listen <host:port>', 'address to serve traffic on (port 0: any free port; default 127.0.0.1:8080)', hostPort('--listen'))
    .option('--live <url,...>', 'live upstream base URLs, comma-separated (or gateway.live)', urlList('--live'))
    .option('--shadow <url,...>', 'shadow upstream base URLs, comma-separated', urlList('--shadow'))
    .option('--sample <fraction>', 'fraction of requests mirrored to the shadow (mutations always; default 0.1)', fraction)
    .addOption(new Option('--mode <mode>', 'what the shadow receives (default scrubbed)').choices(['full', 'scrubbed', 'metadata']))
    .option('--key <header|client-address>', 'consistent sampling key (default: random sampling)')
    .option('--admin <host:port>', 'address of the admin API (metrics, stats, runtime changes)', hostPort('--admin'))
    .option('--workers <n|auto>', 'worker processes sharing the port (auto: one per core; default 1)', workerCount)
    .option('--health-path <path>', 'active health check path on the live members (off when absent)')
    .option('--health-interval-ms <ms>', 'active health check interval (default 5000)', positiveInteger)
    .option('--timeout-ms <ms>', 'upstream response timeout (default 30000)', positiveInteger)
    .option('--record <file>', 'with --mode metadata: append the sampled requests\' metadata to this JSON Lines file (input for replay)')
    .option('--json', 'print the listening addresses as one JSON line')
    .action(async (opts: Record<string, unknown>) => {
      const cfg = loadConfig({ file: opts.config as string | undefined, env: io.env, flags: {}, sets: opts.set as string[] });
      const gw = cfg.gateway;
      const sampling = serviceByName(cfg, (opts.service as string | undefined) ?? gw.service).shadow.sampling;
      const listen = (opts.listen as { host: string; port: number } | undefined) ?? hostPort('gateway.listen')(gw.listen);
      const live = (opts.live as string[] | undefined) ?? gw.live.map((u) => new URL(u).origin);
      if (live.length === 0) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--live: expected at least one live upstream URL (the flag, or gateway.live in --config)');
      const mode = (opts.mode as MirrorMode | undefined) ?? sampling.mode;
      const record = (opts.record as string | undefined) ?? gw.mirror.recordFile;
      if (record && mode !== 'metadata') throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--record: records are made in metadata mode; add --mode metadata');
      if (record) {
        try {
          closeSync(openSync(record, 'a'));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? '';
          throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--record ${record}: cannot append records to it (${code === 'EISDIR' ? 'a directory; name a file' : code || String(err)})`);
        }
      }
      const key = (opts.key as string | undefined) ?? sampling.key;
      const healthPath = (opts.healthPath as string | undefined) ?? gw.healthCheck?.path;
      const options: PortableGatewayOptions = {
        shadow: (opts.shadow as string[] | undefined) ?? gw.shadow.map((u) => new URL(u).origin),
        mirror: {
          rate: (opts.sample as number | undefined) ?? sampling.rate,
          mode,
          mirrorMutations: sampling.mirrorMutations,
          scrubHeaders: sampling.scrubHeaders,
          redactJsonFields: sampling.redactJsonFields,
          keepFields: sampling.keepFields,
          clientAddress: sampling.clientAddress,
          minRate: gw.mirror.minRate,
          maxRate: gw.mirror.maxRate,
          maxBodyBytes: gw.mirror.maxBodyBytes,
          queueLimit: gw.mirror.queueLimit,
          concurrency: gw.mirror.concurrency,
          timeoutMs: gw.mirror.timeoutMs,
          ...(key ? { key } : {}),
          ...(record ? { recordFile: record } : {}),
        },
        requestTimeoutMs: (opts.timeoutMs as number | undefined) ?? gw.timeoutMs,
        ejectAfterFailures: gw.ejectAfterFailures,
        ejectForMs: gw.ejectForMs,
        ...(gw.routes ? { routes: gw.routes } : {}),
        ...(healthPath ? { healthCheck: { path: healthPath, intervalMs: (opts.healthIntervalMs as number | undefined) ?? gw.healthCheck?.intervalMs ?? 5000, timeoutMs: gw.healthCheck?.timeoutMs ?? 2000 } } : {}),
      };
      const workers = (opts.workers as number | undefined) ?? gw.workers;
      let control: GatewayControl;
      let port: number;
      let close: () => Promise<void>;
      const listenWhat = opts.listen ? '--listen' : 'gateway.listen';
      if (workers > 1) {
        await checkListen(listen.host, listen.port, listenWhat);
        const c = await ClusterGateway.start({ workers, host: listen.host, port: listen.port, live, options, onWorkerExit: (w) => io.err(`shadowscale: gateway worker ${w.pid} exited (code ${w.code}, signal ${w.signal}); restarting it\n`) });
        control = c;
        port = c.address.port;
        close = () => c.close();
      } else {
        const g = createGateway({ ...options, live });
        port = (await g.listen(listen.port, listen.host, listenWhat)).port;
        control = localControl(g);
        close = () => g.close();
      }
      let admin: Server | undefined;
      let adminUrl: string | undefined;
      const adminAddr = (opts.admin as { host: string; port: number } | undefined) ?? (gw.admin ? hostPort('gateway.admin')(gw.admin) : undefined);
      if (adminAddr) {
        admin = createAdminServer(control);
        try {
          await listenOn(admin, adminAddr.port, adminAddr.host, opts.admin ? '--admin' : 'gateway.admin');
        } catch (err) {
          await close();
          throw err;
        }
        adminUrl = `http://${adminAddr.host}:${(admin.address() as AddressInfo).port}`;
      }
      const where = { listen: `http://${listen.host}:${port}`, admin: adminUrl ?? null, workers };
      io.out(opts.json ? `${JSON.stringify(where)}\n` : `gateway listening on ${where.listen} (${workers} worker${workers > 1 ? 's' : ''})${adminUrl ? `, admin on ${adminUrl}` : ''}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      admin?.closeAllConnections();
      await Promise.all([close(), new Promise<void>((resolve) => (admin ? admin.close(() => resolve()) : resolve()))]);
    });

  program
    .command('run')
    .description('the long-running process: gateway, shadow pool and control loop for a service of the configuration; instances outlive it and are adopted by the next run')
    .requiredOption('--config <file>', 'YAML configuration file')
    .option('--service <name>', 'service to run (default: gateway.service, else the first)')
    .option('--set <path=value>', 'set any configuration key, e.g. store.path=/var/lib/shadowscale.db (repeatable)', collect, [])
    .option('--stop-instances', 'on exit, drain and stop the instances instead of leaving them for the next run')
    .option('--json', 'print the addresses as one JSON line; events as JSON lines on stderr')
    .action(async (opts: Record<string, unknown>) => {
      const cfg = loadConfig({ file: opts.config as string, env: io.env, flags: {}, sets: opts.set as string[] });
      const svc = serviceByName(cfg, (opts.service as string | undefined) ?? cfg.gateway.service);
      const tty = io.stderrIsTty && !opts.json;
      // SIGINT/SIGTERM from the very start: one arriving while the runtime starts stops it once started
      // (with --stop-instances, its instances too) instead of killing the process half-way.
      const stopRequested = new Promise<undefined>((done) => {
        process.once('SIGINT', () => done(undefined));
        process.once('SIGTERM', () => done(undefined));
      });
      // The loop stopped acting for good (the store failed): stop and exit non-zero with its error.
      let fatal: (err: Error) => void = () => undefined;
      const failed = new Promise<Error>((r) => (fatal = r));
      let arms: (() => string) | undefined;
      const rt = await Runtime.start({
        cfg,
        service: svc.name,
        onFatal: (err) => fatal(err),
        onTick: (r) => {
          if (!tty) return;
          const ab = arms?.() ?? '';
          const d = r.decision ? `${r.decision.reason} ${r.decision.current}→${r.decision.desired}${r.decision.instanceType ? ` ${r.decision.instanceType}` : ''}` : '';
          const p = r.proof ? ` · proof ${r.proof.status} ${r.proof.candidate.instanceType}×${r.proof.candidate.count}${r.proof.trial ? ` (${r.proof.trial})` : ''}` : '';
          io.err(`\r\x1b[2K${r.liveRps.toFixed(0)} req/s · live ${r.live.ready}/${r.live.requested} ${r.instanceType} · shadow ${r.shadow.ready}${r.trials.running ? ` · trials ${r.trials.running}` : ''} · p99 ${Number.isFinite(r.liveP99Ms) ? r.liveP99Ms.toFixed(0) : '-'} ms · target ${r.target} ${d}${p}${ab}`);
        },
        onEvent: (e) => {
          if ((e.kind === 'decision' || e.kind === 'ab_decision') && !opts.json) return;
          io.err(opts.json ? `${JSON.stringify(e)}\n` : `${tty ? '\r\x1b[2K' : ''}${e.kind}: ${e.detail}\n`);
        },
        onInstanceEvent: (e) => io.err(opts.json ? `${JSON.stringify({ ...e, kind: `instance_${e.kind}` })}\n` : `${tty ? '\r\x1b[2K' : ''}instance ${e.instance} (${e.pool}): ${e.kind}${e.detail ? `, ${e.detail}` : ''}\n`),
      });
      const ab = rt.ab;
      if (ab) arms = () => ` · A/B ${Object.entries(ab.sizes()).map(([n, k]) => `${n} ${k}`).join(' ')}`;
      // The A/B's figures when the run ends (they are also kept in the store's "ab" experiment).
      const abSummary = (): void => {
        if (!ab) return;
        const sum = ab.summary();
        if (opts.json) io.err(`${JSON.stringify({ at: Date.now(), kind: 'ab_summary', arms: sum })}\n`);
        else for (const [n, a] of Object.entries(sum)) io.err(`${tty ? '\r\x1b[2K' : ''}A/B arm ${n}: ${a.sloViolationSeconds} violation s, p99 ${a.p99Ms} ms, ${a.instanceSeconds} instance-s, ${a.actions} action(s), ${a.requests} requests, ${a.errors} errors\n`);
      };
      const where = { service: svc.name, listen: rt.listen, admin: rt.admin ?? null, store: resolve(cfg.store.path), pid: process.pid };
      io.out(opts.json ? `${JSON.stringify(where)}\n` : `shadowscale run: ${svc.name} on ${where.listen}${where.admin ? `, admin ${where.admin}` : ''}, store ${where.store}\n`);
      const why = await Promise.race([failed, stopRequested]);
      abSummary();
      if (why) {
        const left = (await rt.provider.list()).length;
        await rt.stop();
        io.err(`${tty ? '\r\x1b[2K' : ''}shadowscale run: the loop stopped acting and run exits; ${left} instance(s) left running for the next run to adopt\n`);
        throw why;
      }
      await rt.stop({ deleteInstances: Boolean(opts.stopInstances) });
    });

  program
    .command('demo')
    .description('the whole loop on this machine: sample-service instances, gateway, shadow pool, control loop, and a compressed day of load with a steep ramp')
    .option('--duration <seconds>', 'length of the compressed day, per strategy', positiveInteger, 120)
    .addOption(new Option('--strategy <name>', 'strategy to run; both = reactive, then hybrid, on the same load').choices(['reactive', 'predictive', 'hybrid', 'both']).default('both'))
    .option('--peak-rps <rps>', 'requests/s at the peak of the day', positiveNumber('a positive number of requests/s'), 300)
    .option('--history-days <n>', 'earlier days the forecaster learns from', positiveInteger, 7)
    .option('--seed <n>', 'seed of the load and the history', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer >= 0, got "${v}"`);
      return n;
    }, 1)
    .option('--config <file>', 'demo configuration (default: examples/demo/demo.yaml)')
    .option('--ab <a,b>', 'A/B of strategies in the shadow during the day: one shadow arm per strategy (reactive, predictive, hybrid), each sized by its strategy on the same mirrored sample; live runs --strategy (both: the last arm)', (v: string) => {
      const names = v.split(',').map((x) => x.trim());
      for (const n of names) if (!['reactive', 'predictive', 'hybrid'].includes(n)) throw new InvalidArgumentError(`expected strategies among reactive, predictive, hybrid, got "${n}"`);
      if (names.length < 2 || new Set(names).size !== names.length) throw new InvalidArgumentError(`expected at least two distinct strategies, e.g. reactive,hybrid, got "${v}"`);
      return names;
    })
    .option('--clean', 'only stop the instances and remove the temporary directories that interrupted demos left behind (every demo does this first)')
    .option('--json', 'print the results as JSON')
    .action(async (opts: Record<string, unknown>) => {
      if (opts.clean) {
        const r = await cleanDemoLeftovers();
        if (opts.json) io.out(`${JSON.stringify(r)}\n`);
        else io.out(`stopped ${r.stopped} leftover instance(s) (${r.killed} needed SIGKILL), removed ${r.removed} temporary director${r.removed === 1 ? 'y' : 'ies'}\n`);
        return;
      }
      const duration = opts.duration as number;
      if (duration < 20) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--duration: expected at least 20 seconds (a day needs room for its ramp and the lead time), got ${duration}`);
      const ab = opts.ab as DemoStrategy[] | undefined;
      // With A/B arms, one day: live runs the chosen strategy, or the last arm's.
      const strategies: DemoStrategy[] = opts.strategy === 'both' ? (ab ? [ab[ab.length - 1] as DemoStrategy] : ['reactive', 'hybrid']) : [opts.strategy as DemoStrategy];
      if (opts.config || ab) demoConfig({ ...(opts.config ? { configFile: opts.config as string } : {}), durationSeconds: duration, ...(ab ? { ab } : {}) }, 'check.db');
      const tty = io.stderrIsTty;
      let lastPrinted = 0;
      // SIGINT/SIGTERM: the demo stops its instances and removes its directory, then exits 130/143.
      const interrupt = interruptible((sig) => io.err(`${tty ? '\r\x1b[2K' : ''}shadowscale demo: ${sig}, stopping the demo's instances\n`));
      let result: Awaited<ReturnType<typeof runDemo>>;
      try {
        result = await runDemo({
          signal: interrupt.signal,
          durationSeconds: duration,
          strategies,
          peakRps: opts.peakRps as number,
          seed: opts.seed as number,
          historyDays: opts.historyDays as number,
          ...(opts.config ? { configFile: opts.config as string } : {}),
          ...(ab ? { ab } : {}),
          onStatus: (line) => {
            if (tty) io.err(`\r\x1b[2K${line.slice(0, (process.stderr.columns || 160) - 1)}`);
            else if (Date.now() - lastPrinted >= 5000) {
              lastPrinted = Date.now();
              io.err(`${line}\n`);
            }
          },
          onLog: (line) => io.err(`${tty ? '\r\x1b[2K' : ''}${line}\n`),
        });
      } catch (err) {
        if (!(err instanceof DemoInterrupted)) throw err;
        io.err(`shadowscale demo: ${err.message}\n`);
        process.exit(interrupt.exitCode() ?? 143);
      } finally {
        interrupt.dispose();
      }
      if (tty) io.err('\r\x1b[2K');
      if (opts.json) {
        const abJson = result.ab ? Object.fromEntries(Object.entries(result.ab).map(([n, a]) => [n, { sloViolationSeconds: a.sloViolationSeconds, p99Ms: a.p99Ms, instanceSeconds: a.instanceSeconds, actions: a.actions }])) : undefined;
        io.out(`${JSON.stringify({ strategies: result.strategies, proofs: result.proofs, ...(abJson ? { ab: abJson } : {}) })}\n`);
        return;
      }
      const rows = Object.entries(result.strategies).map(([name, r]) => {
        const d = result.details[name as DemoStrategy];
        return `${name.padEnd(10)} ${String(r.sloViolationSeconds).padStart(11)} ${r.p99Ms.toFixed(1).padStart(8)} ${String(r.instanceSeconds).padStart(11)} ${String(d?.shadowInstanceSeconds ?? '-').padStart(10)} ${String(r.maxInstances).padStart(4)} ${(r.scaleUpLeadSeconds === null ? '-' : r.scaleUpLeadSeconds.toFixed(1)).padStart(7)} ${String(r.shadow.mirrored).padStart(9)} ${String(r.shadow.dropped).padStart(8)} ${d ? d.tickMs.p99.toFixed(1).padStart(12) : ''}`;
      });
      const proofLines = Object.entries(result.details).map(([name, d]) => {
        const passed = d.proofs.filter((p) => p.verdict === 'pass');
        const within = passed.filter((p) => p.realizedP99Ms !== null && p.realizedP99Ms <= (d.sloLatencyMs ?? Number.POSITIVE_INFINITY)).length;
        const measured = passed.filter((p) => p.realizedP99Ms !== null).length;
        return `${name.padEnd(10)} ${d.proofs.length} change(s) on a proof (${passed.length} proven, ${d.proofs.length - passed.length} unproven emergencies), ${within}/${measured} proven ones within the SLO in production; ${d.held} decision(s) held for a proof; ${d.typeChanges} type change(s); trials: ${d.trials.count}, ${d.trials.instanceSeconds} instance-s (${(100 * d.trials.shareOfLiveInstanceSeconds).toFixed(1)} % of live), ${d.trials.beforeDaySeconds} s of proving before the day`;
      });
      const any = Object.values(result.details)[0];
      io.out(
        `strategy   violation s   p99 ms  live inst-s  shadow i-s  max  lead s  mirrored  dropped  tick p99 ms\n${rows.join('\n')}\n` +
          (any ? `lead needed: ${any.requiredLeadSeconds} s (provisioning + warm-up); ramp at ${any.rampStartSecond} s; ${any.perInstanceRps.toFixed(1)} req/s per instance at the SLO\n` : '') +
          (proofLines.length ? `proofs:\n${proofLines.map((l) => `  ${l}`).join('\n')}\n` : '') +
          (result.ab
            ? `A/B in the shadow (each arm ${Math.round(100 * (result.abShare ?? 0))} % of live's requests, the same ones):\narm        violation s   p99 ms  inst-s  max  actions  requests  errors  violating ticks (s into the day)\n${Object.entries(result.ab)
                .map(([n, a]) => `${n.padEnd(10)} ${String(a.sloViolationSeconds).padStart(11)} ${a.p99Ms.toFixed(1).padStart(8)} ${String(a.instanceSeconds).padStart(7)} ${String(a.maxInstances).padStart(4)} ${String(a.actions).padStart(8)} ${String(a.requests).padStart(9)} ${String(a.errors).padStart(7)}  ${a.violationsAt.map((x) => ((x - (result.dayStartedAt ?? x)) / 1000).toFixed(0)).join(' ') || '-'}`)
                .join('\n')}\n`
            : ''),
      );
    });

  program
    .command('prove')
    .description('prove configurations for a rate on throwaway instances: per instance type, its measured capacity at the SLO and the verdict of each candidate count; then the cheapest that passed')
    .requiredOption('--config <file>', 'YAML configuration file (instance types, the service, the provider)')
    .option('--service <name>', 'service of the configuration (default: gateway.service, else the first)')
    .requiredOption('--rate <rps>', 'requests/s to prove a configuration for (the service headroom is added)', positiveNumber('a positive number of requests/s'))
    .option('--types <a,b>', 'instance types to try (default: every type of the configuration)', (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean))
    .option('--traffic <rec.jsonl>', 'recorded requests to replay in the trials (`gateway --mode metadata --record FILE`): their methods, routes and sizes, drawn at random; default GET /work')
    .option('--samples <n>', 'answers per step (at least 368 for a p99 bound)', positiveInteger, 800)
    .option('--max-step-seconds <s>', 'longest step', positiveNumber('a positive number of seconds'), 30)
    .option('--chaos <seconds>', 'N+1 redundancy: the chosen configuration then loses one instance (killed mid-step) and must meet the SLO from this many seconds after', positiveNumber('a positive number of seconds'))
    .option('--chaos-latency <ms>', 'with --chaos: the instance is not killed but slowed, every request to it delayed by this many ms on the trial balancer', positiveNumber('a positive number of milliseconds'))
    .option('--set <path=value>', 'set any configuration key (repeatable)', collect, [])
    .option('--json', 'print one JSON object')
    .action(async (opts: Record<string, unknown>) => {
      const cfg = loadConfig({ file: opts.config as string, env: io.env, sets: opts.set as string[] });
      const svc = serviceByName(cfg, (opts.service as string | undefined) ?? cfg.gateway.service);
      if (opts.chaos !== undefined && (opts.chaos as number) > 600) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--chaos: expected at most 600 seconds of recovery, got ${String(opts.chaos)}`);
      if (opts.chaosLatency !== undefined && opts.chaos === undefined) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--chaos-latency: expected together with --chaos SECONDS (the recovery the slowed configuration gets)');
      if (opts.chaosLatency !== undefined && (opts.chaosLatency as number) > 60_000) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--chaos-latency: expected at most 60000 ms, got ${String(opts.chaosLatency)}`);
      const names = (opts.types as string[] | undefined) ?? Object.keys(cfg.instanceTypes);
      for (const n of names) if (!(n in cfg.instanceTypes)) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--types: no instance type "${n}" in the configuration (have: ${Object.keys(cfg.instanceTypes).join(', ')})`);
      if ((opts.samples as number) < 368) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--samples: expected at least 368 (fewer answers cannot bound a p99 from above at 95 %), got ${String(opts.samples)}`);
      const types = names.map((n) => {
        const t = cfg.instanceTypes[n] as Config['instanceTypes'][string];
        return { name: n, slots: t.slots, serviceTimeSeconds: t.serviceTimeMs / 1000, prices: t.prices, warmupSeconds: t.warmupSeconds };
      });
      // The recording's requests, with bodies of their recorded sizes (bounded: src/proof/mix.ts).
      const mix = opts.traffic ? mixFromRecording(await loadRecording(opts.traffic as string)).mix : undefined;
      const tty = io.stderrIsTty && !opts.json;
      const r = await withThrowawayStore('prove', async (store, storePath, mark, signal) => {
        const provider = await startLocalProvider(cfg, store, storePath, { instanceEnv: { [DEMO_ENV]: mark } });
        try {
          return await prove({
            service: svc.name,
            rateRps: opts.rate as number,
            headroom: svc.scaling.headroom,
            sloLatencyMs: svc.slo.latencyP99Ms,
            sloErrorRate: svc.slo.errorRate,
            types,
            minInstances: svc.pool.min,
            maxInstances: svc.pool.max,
            spotShare: svc.scaling.spot?.share ?? 0,
            samplesPerStep: opts.samples as number,
            maxStepSeconds: opts.maxStepSeconds as number,
            path: '/work',
            ...(mix ? { mix } : {}),
            seed: 1,
            ...(opts.chaos !== undefined ? { chaosRecoverySeconds: opts.chaos as number } : {}),
            ...(opts.chaosLatency !== undefined ? { chaosDelayMs: opts.chaosLatency as number } : {}),
            readyTimeoutMs: cfg.provider.readyTimeoutSeconds * 1000,
            provider,
            log: store,
            signal,
            onStep: (type, k, total, m) => {
              if (opts.json) return;
              const n = m.latencyMs.reduce((x, [, c]) => x + c, 0);
              io.err(`${tty ? '\r\x1b[2K' : ''}[${type}] step ${k + 1}/${total}: ${m.achievedRps.toFixed(1)} req/s per instance, ${n} answers, ${m.errors} errors\n`);
            },
          });
        } finally {
          for (const i of await provider.list()) await provider.delete(i.id).catch(() => undefined);
          await provider.close();
        }
      });
      if (opts.json) {
        io.out(`${JSON.stringify({ rate: r.rate, candidates: r.candidates, chosen: r.chosen, ...(r.redundancy !== undefined ? { redundancy: r.redundancy } : {}) })}\n`);
        return;
      }
      const rows = r.candidates.map((c) => `${c.instanceType.padEnd(10)} ${String(c.count).padStart(5)} ${c.perInstanceRps.toFixed(1).padStart(9)} ${(c.capacityAtSloRps === null ? '-' : c.capacityAtSloRps.toFixed(1)).padStart(10)} ${(c.p99Ms === null ? '-' : c.p99Ms.toFixed(1)).padStart(7)} ${(c.errorRate === null ? '-' : (c.errorRate * 100).toFixed(2)).padStart(7)} ${c.costPerHour.toFixed(3).padStart(8)}  ${c.verdict}`);
      io.out(
        `type        count  req/s/in  cap@SLO   p99 ms  err %   $/hour  verdict\n${rows.join('\n')}\n` +
          Object.entries(r.types).map(([n, t]) => `${n}: model capacity ${t.modelCapacityAtSloRps.toFixed(1)} req/s per instance at the SLO, measured ${t.measured.estimate !== undefined ? t.measured.estimate.toFixed(1) : t.measured.atLeast !== undefined ? `at least ${t.measured.atLeast.toFixed(1)}` : t.measured.atMost !== undefined ? `at most ${t.measured.atMost.toFixed(1)}` : '-'}`).join('\n') +
          `\n${r.chosen ? `chosen: ${r.chosen.count} × ${r.chosen.instanceType} at ${r.chosen.costPerHour.toFixed(3)} per hour` : 'chosen: none (no candidate passed)'}\n` +
          (r.redundancy === undefined ? '' : r.redundancy === null ? 'redundancy: not tried (no chosen configuration of 2 or more instances)\n' : `redundancy: ${r.redundancy.survivors} × ${r.redundancy.instanceType} after losing one${r.redundancy.fault === 'latency' ? ` to ${r.redundancy.delayMs} ms of injected latency` : ''} (${r.redundancy.perSurvivorRps.toFixed(1)} req/s each, trial of ${r.redundancy.trialInstances}): p99 ${r.redundancy.p99Ms === null ? '-' : r.redundancy.p99Ms.toFixed(1)} ms from ${r.redundancy.recoverySeconds} s after the loss, ${r.redundancy.errorsWhileRecovering} error(s) before; ${r.redundancy.verdict}\n`),
      );
    });

  program
    .command('doctor')
    .description('check a store (integrity, owner, instance records) and list the instance processes on this host: adopted by the next run, left by a demo, or orphans; changes nothing')
    .option('--store <file>', 'the store to check (default: store.path of --config, if given)')
    .option('--config <file>', 'configuration whose store.path to check')
    .option('--set <path=value>', 'set any configuration key, e.g. store.path=/var/lib/shadowscale.db (repeatable)', collect, [])
    .option('--json', 'print one JSON object')
    .action((opts: Record<string, unknown>) => {
      let storePath = opts.store as string | undefined;
      if (storePath === undefined && (opts.config || (opts.set as string[]).length)) storePath = loadConfig({ file: opts.config as string | undefined, env: io.env, sets: opts.set as string[] }).store.path;
      const r = doctor(storePath !== undefined ? { storePath } : {});
      if (opts.json) {
        io.out(`${JSON.stringify(r)}\n`);
        return;
      }
      const lines = [
        r.ok ? 'no problem found' : `${r.problems.length} problem(s):`,
        ...r.problems.map((p) => `  ✗ ${p}`),
        ...r.notes.map((n) => `  · ${n}`),
        `${r.processes.length} shadowscale instance process(es) on this host${r.processes.length ? ':' : ''}`,
        ...r.processes.map((p) => `  pid ${String(p.pid).padEnd(7)} ${p.verdict.padEnd(13)} ${p.instance} (${p.service}, ${p.pool}, port ${p.port})`),
      ];
      io.out(`${lines.join('\n')}\n`);
    });

  program
    .command('proofs')
    .description("what the trials on the shadow measured, per instance type and over time (the store's historical performance model), what the fresh ones prove now, and the decisions by proof status; reads the store, changes nothing (a running `run` may own it)")
    .requiredOption('--config <file>', 'configuration (its store.path, the service, scaling.trials.freshSeconds)')
    .option('--service <name>', 'service of the configuration (default: gateway.service, else the first)')
    .option('--set <path=value>', 'set any configuration key (repeatable)', collect, [])
    .option('--json', 'print one JSON object')
    .action((opts: Record<string, unknown>) => {
      const cfg = loadConfig({ file: opts.config as string, env: io.env, sets: opts.set as string[] });
      const svc = serviceByName(cfg, (opts.service as string | undefined) ?? cfg.gateway.service);
      const path = resolve(cfg.store.path);
      if (!existsSync(path)) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `store.path: no store at ${path} (run \`shadowscale run\` with this configuration first)`);
      const store = Store.openReadOnly(path);
      let r: ReturnType<typeof proofsReport>;
      try {
        r = proofsReport(svc.name, store.experiments(), store.decisions({ service: svc.name, limit: 1_000_000 }), Date.now(), svc.scaling.trials.freshSeconds);
      } finally {
        store.close();
      }
      if (opts.json) {
        io.out(`${JSON.stringify(r)}\n`);
        return;
      }
      const f = (x: number | null, d = 1): string => (x === null ? '-' : x.toFixed(d));
      const lines = [`${svc.name}: ${r.trials.finished} finished trial(s), ${r.trials.aborted} aborted, ${r.trials.open} open; ${r.trials.instanceSeconds} trial instance-s; fresh for ${r.freshSeconds} s`];
      for (const [type, t] of Object.entries(r.types)) {
        lines.push(`${type}: proven up to ${f(t.provenRps)} req/s per instance, failed at ${f(t.failedRps)}, measured capacity at the SLO ${f(t.capacityAtSloRps)}${t.ageSeconds === null ? ' (no fresh trial)' : `, newest ${t.ageSeconds.toFixed(0)} s ago`}`);
        for (const x of t.trials) lines.push(`  ${x.finishedAt} ${x.id} ${x.verdict}${x.fresh ? '' : ' (stale)'}: ${x.steps.map((s) => `${s.rps.toFixed(1)} ${s.verdict} p99 ${s.p99Ms.toFixed(0)} ms`).join(' · ')}`);
      }
      lines.push(`decisions by proof: ${Object.entries(r.decisions).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
      io.out(`${lines.join('\n')}\n`);
    });

  program
    .command('replay')
    .description('open-loop replay of recorded traffic at N x speed or a target rate, with latency percentiles and errors')
    .requiredOption('--input <file>', 'JSON Lines recording ({at, method, route, requestBytes} per line, as `gateway --record` writes)')
    .requiredOption('--target <url>', 'base URL to send to', (v: string) => (urlList('--target')(v)[0] as string))
    .option('--speed <n>', 'time compression: 2 replays twice as fast (default 1)', positiveNumber('a positive number'))
    .option('--rate <rps>', 'scale the timing to this mean rate instead', positiveNumber('a positive number of requests/s'))
    .option('--duration <seconds>', 'stop after this long (the recording loops if shorter)', positiveNumber('a positive number of seconds'))
    .option('--json', 'print one JSON object')
    .action(async (opts: Record<string, unknown>) => {
      if (opts.speed !== undefined && opts.rate !== undefined) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--speed and --rate: give one of them, not both');
      const rec = await loadRecording(opts.input as string);
      const r = await replay(rec, { target: opts.target as string, speed: opts.speed as number | undefined, rate: opts.rate as number | undefined, durationSeconds: opts.duration as number | undefined, onProgress: opts.json ? undefined : (n) => io.stderrIsTty && io.err(`\rsent ${n}`) });
      if (opts.json) io.out(`${JSON.stringify(r)}\n`);
      else
        io.out(
          `sent ${r.sent} in ${r.durationSeconds.toFixed(1)} s (${r.achievedRate.toFixed(1)} req/s), ${r.errors} errors, ${r.skipped} skipped\n` +
            `latency ms: p50 ${r.latencyMs.p50.toFixed(2)}  p90 ${r.latencyMs.p90.toFixed(2)}  p99 ${r.latencyMs.p99.toFixed(2)}  p99.9 ${r.latencyMs.p999.toFixed(2)}  max ${r.latencyMs.max.toFixed(2)}\n`,
        );
    });

  const config = program.command('config').description('inspect the configuration');
  addConfigOptions(config.command('validate').description('validate the configuration and print it with all defaults filled in')).action((opts: Record<string, unknown>) => {
    const { cfg } = configFrom(opts, io);
    io.out(`${JSON.stringify(cfg, null, 2)}\n`);
  });
  config
    .command('schema')
    .description('print the JSON Schema of the configuration file (for editors)')
    .action(() => {
      io.out(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help shown because no command was given is an error (commander says so with a non-zero exit code).
      if (err.code === 'commander.help' && err.exitCode !== 0) return 2;
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    if (isShadowscaleError(err)) {
      io.err(`shadowscale: ${err.message} [${err.code}]\n`);
      return err.exitCode;
    }
    io.err(`shadowscale: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)} [SHADOWSCALE_E_INTERNAL]\n`);
    return 1;
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Files named by --input: a file as is, a directory as every .csv below it (sorted). */
function expandInputs(inputs: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (isDirectory(p)) walk(p);
      else if (name.endsWith('.csv')) out.push(p);
    }
  };
  for (const input of inputs) {
    if (isDirectory(input)) walk(input);
    else out.push(input);
  }
  if (out.length === 0) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--input ${inputs.join(' ')}: no CSV files found`);
  return out;
}

/** The known events of the configured service, in epoch seconds (none without --config). */
function eventsFrom(opts: Record<string, unknown>, io: Io): KnownEvent[] {
  if (opts.config === undefined) return [];
  const cfg = loadConfig({ file: opts.config as string, env: io.env });
  return serviceByName(cfg, opts.service as string | undefined).events.map((e) => ({ name: e.name, start: Date.parse(e.start) / 1000, end: Date.parse(e.end) / 1000, recurrence: e.recurrence }));
}

function loadTraceFrom(opts: Record<string, unknown>): Promise<Trace> {
  return loadTrace(opts.input as string, { column: opts.column as string | undefined, step: opts.step as number | undefined, duplicates: opts.duplicates as DuplicatePolicy });
}

/** Gaps and merged rows always go to stderr (never stdout, which may hold JSON). */
function reportGaps(trace: Trace, io: Io): void {
  if (trace.duplicatesMerged > 0) io.err(`${trace.file}: merged ${trace.duplicatesMerged} row(s) that repeated the previous row's time (--duplicates).\n`);
  if (trace.gaps.length === 0) return;
  const missing = trace.gaps.reduce((s, g) => s + g.missingPoints, 0);
  const biggest = trace.gaps.reduce((a, b) => (b.to - b.from > a.to - a.from ? b : a));
  const msg = `${trace.file}: ${trace.gaps.length} gap(s), ${missing} missing point(s) at step ${trace.step}s; largest after line ${biggest.afterLine} (${((biggest.to - biggest.from) / 3600).toFixed(1)} h). Gaps are skipped, not filled.\n`;
  io.err(msg);
}

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2);
}

export function renderTune(r: TuneReport, written: string | null): string {
  const fmt = (x: TuneRun): string => `cost ${x.cost.toFixed(2)} (${x.costRatioToOracle === null ? '-' : `${x.costRatioToOracle.toFixed(3)}x the oracle`}), attainment ${(x.sloAttainment * 100).toFixed(3)} %, ${x.sloViolationMinutes} violation min`;
  const settings = (x: TuneRun): string => Object.entries(x.settings).map(([k, v]) => `${k}=${v}`).join(' ');
  return [
    `tune ${r.strategy} for ${(r.target * 100).toFixed(2)} % attainment: ${r.runs} runs`,
    `  default  ${settings(r.default)}`,
    `           ${fmt(r.default)}`,
    `  ${r.meetsTarget ? 'best    ' : 'closest '} ${settings(r.best)}`,
    `           ${fmt(r.best)}${r.meetsTarget ? `; ${r.costRatioToDefault.toFixed(3)}x the default's cost` : ' (the target is not reached)'}`,
    'frontier (cost / oracle @ attainment):',
    ...r.frontier.map((x) => `  ${(x.costRatioToOracle ?? x.cost).toFixed(3)} @ ${(x.sloAttainment * 100).toFixed(3)} %  ${settings(x)}`),
    written ? `written to ${written}` : '',
    '',
  ].join('\n');
}

export function renderSweep(r: SweepReport): string {
  const lines = ['frontier (cost / oracle at SLO attainment, undominated points; knob in brackets):'];
  for (const [name, f] of Object.entries(r.frontier)) {
    lines.push(`  ${name.padEnd(10)} ${r.knobs[name as SweptStrategy]}: ${f.map((p) => `${(p.costRatioToOracle ?? p.cost).toFixed(3)} @ ${(p.sloAttainment * 100).toFixed(3)} % [${p.knob}]`).join(', ')}`);
  }
  lines.push('cost / oracle at equal attainment (interpolated on each frontier; - where not reached):');
  for (const [name, c] of Object.entries(r.costAtAttainment)) {
    lines.push(`  ${name.padEnd(10)} ${Object.entries(c).map(([a, v]) => `${(Number(a) * 100).toFixed(1)} %: ${v === null ? '-' : (v / r.oracle.cost).toFixed(3)}`).join('   ')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderBacktest(r: BacktestReport): string {
  const rows = Object.entries(r.strategies).map(([name, s]) => [
    name,
    s.cost.toFixed(2),
    s.costRatioToOracle === null ? '-' : `${s.costRatioToOracle.toFixed(3)}x`,
    s.instanceHours.toFixed(1),
    String(s.sloViolationMinutes),
    `${(s.sloAttainment * 100).toFixed(3)} %`,
    `${(s.overProvisioning * 100).toFixed(1)} %`,
    String(s.scalingActions),
    String(s.maxInstances),
  ]);
  const head = ['strategy', 'cost', 'vs oracle', 'inst-hours', 'SLO viol. min', 'attainment', 'over-prov.', 'actions', 'max inst.'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  const s = r.settings as { peakRps: number; perInstanceRpsAtSlo: number; leadTimeSeconds: number; slo: { latencyP99Ms: number } };
  return [
    `${r.input.file} (${r.input.column}, ${r.input.rows} rows, step ${r.input.step}s, ${(r.input.simulatedSeconds / 86400).toFixed(1)} days simulated)`,
    `peak ${s.peakRps} req/s, ${s.perInstanceRpsAtSlo.toFixed(1)} req/s per instance at p99 <= ${s.slo.latencyP99Ms} ms, lead time ${s.leadTimeSeconds}s`,
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
  ].join('\n');
}
