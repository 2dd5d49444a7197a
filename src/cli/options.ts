// Flags, parsers and helpers the commands share.

import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, OVERRIDES, serviceByName } from '../config/load.js';
import { parseHostPort, urlHost, type Config, type ServiceConfig } from '../config/schema.js';
import { knownEvents, serviceModel } from '../config/derive.js';
import { ShadowscaleError } from '../core/errors.js';
import { CALIBRATIONS, COMBINATIONS, DEFAULT_VARIANT, type AutoOptions, type Calibration, type Combination } from '../core/auto-forecast.js';
import { MAX_HORIZON, MODEL_NAMES } from '../forecast/names.js';
import { eventOccurrences, sizedEvents, type KnownEvent } from '../core/events.js';
import { accessSync, constants, readdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { STRATEGY_NAMES, type StrategyName } from '../core/reasons.js';
import { DUPLICATE_POLICIES, loadTrace, type DuplicatePolicy, type Trace } from '../sim/trace.js';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  stderrIsTty: boolean;
}

/**
 * Whether stdout and stderr still have a reader. A reader that goes away (`| head`, a log shipper that
 * died) fails the next write with EPIPE, an 'error' event that would end the process where it stands: a
 * demo then left its instances running, a run stopped scaling. The output is dropped instead and the
 * command goes on to its end (its clean-up included).
 */
const gone = { out: false, err: false };
let streamsGuarded = false;
function guardStreams(): void {
  if (streamsGuarded) return;
  streamsGuarded = true;
  process.stdout.on('error', () => (gone.out = true));
  process.stderr.on('error', () => (gone.err = true));
}

export const defaultIo = (): Io => {
  guardStreams();
  return {
    out: (t) => void (gone.out || process.stdout.write(t)),
    err: (t) => void (gone.err || process.stderr.write(t)),
    env: process.env,
    stderrIsTty: Boolean(process.stderr.isTTY),
  };
};

export function positiveNumber(what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected ${what}, got "${v}"`);
    return n;
  };
}
/**
 * Requests/s a trace may be scaled to with --peak-rps. A billion is far past any one service; beyond it the
 * simulation's counts lose their precision (at 1e100 the oracle reported one instance for the whole trace).
 */
export const MAX_PEAK_RPS = 1e9;
export function peakRpsArg(v: string): number {
  const n = positiveNumber('a positive number of requests/s')(v);
  if (n > MAX_PEAK_RPS) throw new InvalidArgumentError(`expected at most ${MAX_PEAK_RPS.toLocaleString('en-US')} requests/s, got "${v}"`);
  return n;
}

/**
 * On stderr, when the peak needs more instances at the SLO than the pool's maximum: every strategy is then
 * capped at the maximum and misses the SLO at the peak whatever it does, so the comparison says nothing of
 * the strategies (before, it printed attainments near 0 % without a word why).
 */
export function reportCappedPeak(cfg: Config, service: ServiceConfig, peakRps: number, io: Io, source: string): void {
  const m = serviceModel(cfg, service);
  const need = Math.ceil(peakRps / m.perInstanceRps - 1e-9);
  if (!(need > m.bounds.maxInstances)) return;
  const at = `services[${cfg.services.indexOf(service)}].pool.max`;
  io.err(`${source}: the peak, ${+peakRps.toPrecision(6)} req/s, needs ${need.toLocaleString('en-US')} instances at the SLO (${m.perInstanceRps.toFixed(1)} req/s each) and ${at} is ${m.bounds.maxInstances}: every strategy is capped there and misses the SLO at the peak, whatever it does (raise it with --set ${at}=N, or lower the peak).\n`);
}

/**
 * On stderr, the service's known events that change nothing in a replay of this trace: one without a
 * multiplier (the strategies use only sized events) or one with no occurrence within the trace (its times are
 * the trace's clock: a trace of relative times starts at 1970-01-01).
 */
export function reportEvents(cfg: Config, service: ServiceConfig, trace: Trace, io: Io): void {
  if (trace.times.length === 0) return;
  const from = trace.times[0] as number;
  const to = (trace.times[trace.times.length - 1] as number) + trace.step;
  const i = cfg.services.indexOf(service);
  knownEvents(service).forEach((e, j) => {
    const at = `services[${i}].events[${j}] (${e.name})`;
    if (sizedEvents([e]).length === 0) io.err(`${at}: no multiplier (or 1), so the strategies plan without it; give its size as multiplier to scale ahead of it${e.recurrence === 'yearly' && e.multiplier === undefined ? " (`run` learns a yearly event's size from its last occurrence in the store's hourly history; a replay has none)" : ''}\n`);
    else if (eventOccurrences(e, from, to).length === 0) io.err(`${at}: no occurrence between ${new Date(from * 1000).toISOString()} and ${new Date(to * 1000).toISOString()}, the trace's first and last times: it changes nothing in this replay\n`);
  });
}

export function positiveInteger(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${v}"`);
  return n;
}
export { MAX_HORIZON };
export function horizonPoints(v: string): number {
  const n = positiveInteger(v);
  if (n > MAX_HORIZON) throw new InvalidArgumentError(`expected at most ${MAX_HORIZON} points, got "${v}"`);
  return n;
}
/** Worker threads (or gateway worker processes) a command may start: four per core, at least 16. Each holds its own heap; more only add memory. */
export const MAX_THREADS = Math.max(16, 4 * availableParallelism());
function atMostThreads(v: string, what: string): number {
  const n = positiveInteger(v);
  if (n > MAX_THREADS) throw new InvalidArgumentError(`expected ${what === 'worker processes' ? '"auto" or ' : ''}at most ${MAX_THREADS} ${what} (four per core, at least 16; this machine has ${availableParallelism()} cores, and each holds its own heap), got "${v}"`);
  return n;
}
export function threadCount(v: string): number {
  return atMostThreads(v, 'worker threads');
}
export function workerCount(v: string): number {
  // 1,000 gateway workers took longer than a minute to fork before anything was served.
  return v === 'auto' ? availableParallelism() : atMostThreads(v, 'worker processes');
}
/**
 * A whole number of milliseconds from 1 to `max`, for a flag that reaches a timer: node's timers take at
 * most 2^31 - 1 ms and fire at once beyond (a health check every millisecond). `max` is the configuration
 * key's own maximum, so the flag and the key agree.
 */
export function millisAtMost(max: number) {
  return (v: string): number => {
    const n = positiveInteger(v);
    if (n > max) throw new InvalidArgumentError(`expected at most ${max} ms, got "${v}"`);
    return n;
  };
}
/** A positive number of seconds up to `max`, for a flag that reaches a timer (see `millisAtMost`). */
export function secondsAtMost(max: number) {
  const positive = positiveNumber('a positive number of seconds');
  return (v: string): number => {
    const n = positive(v);
    if (n > max) throw new InvalidArgumentError(`expected at most ${max} seconds, got "${v}"`);
    return n;
  };
}
export function urlPath(v: string): string {
  if (!v.startsWith('/')) throw new InvalidArgumentError(`expected a path starting with "/", got "${v}"`);
  return v;
}
export function openFraction(v: string): number {
  const n = Number(v);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`expected a number strictly between 0 and 1, got "${v}"`);
  return n;
}
export function fraction(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError(`expected a number between 0 and 1, got "${v}"`);
  return n;
}
export function hostPort(flag: string) {
  return (v: string): { host: string; port: number } => {
    const hp = parseHostPort(v);
    if (!hp) throw new InvalidArgumentError(`${flag}: expected HOST:PORT (e.g. 127.0.0.1:8080, port 0 for any), got "${v}"`);
    return hp;
  };
}
/** HOST:PORT back as text (IPv6 hosts in brackets). */
export const hostPortText = (hp: { host: string; port: number }): string => `${urlHost(hp.host)}:${hp.port}`;

export function urlList(flag: string) {
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
export function strategyList(v: string): StrategyName[] {
  if (v === 'all') return [...STRATEGY_NAMES];
  const names = v.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(STRATEGY_NAMES as readonly string[]).includes(n)) throw new InvalidArgumentError(`expected one of ${STRATEGY_NAMES.join(', ')} or all (comma-separated), got "${n}"`);
  }
  return names as StrategyName[];
}
export const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function addConfigOptions(cmd: Command): Command {
  cmd.option('--config <file>', 'YAML configuration file (default: built-in defaults)');
  cmd.option('--service <name>', 'service of the configuration to use (default: the first)');
  for (const o of OVERRIDES) cmd.option(o.flag, `${o.description} (env ${o.env})`);
  cmd.option('--set <path=value>', 'set any configuration key, e.g. services[0].slo.errorRate=0.01 (repeatable)', collect, []);
  return cmd;
}

export function configFrom(opts: Record<string, unknown>, io: Io) {
  const flags: Record<string, string | undefined> = {};
  for (const o of OVERRIDES) {
    const v = opts[o.key];
    if (v !== undefined) flags[o.key] = String(v);
  }
  const cfg = loadConfig({ file: opts.config as string | undefined, env: io.env, flags, sets: opts.set as string[] });
  return { cfg, service: serviceByName(cfg, opts.service as string | undefined) };
}

/** --input (one file, or repeatable files/directories), --column, --step, --duplicates. */
export function addTraceOptions(cmd: Command, several = false, inputHelp?: string): Command {
  if (several) cmd.requiredOption('--input <file|dir>', 'CSV trace, or a directory of them (repeatable)', collect, []);
  // With inputHelp, --input is optional: the command has another source (tune's --store).
  else if (inputHelp) cmd.option('--input <file>', inputHelp);
  else cmd.requiredOption('--input <file>', 'CSV trace (time column by name: timestamp, time, period, date)');
  return cmd
    .option('--column <name>', 'value column (default: the first non-time column)')
    .option('--step <seconds>', 'spacing of rows when a file has no time column', positiveNumber('a positive number of seconds'))
    .addOption(new Option('--duplicates <policy>', 'rows repeating the previous time: error, or merge them (mean, sum, first, last)').choices(DUPLICATE_POLICIES).default('error'));
}

/** The pipeline's variant from --combine / --calibration (the defaults when absent). */
export function autoOptions(opts: Record<string, unknown>): AutoOptions {
  return { ...(opts.combine !== undefined ? { combine: opts.combine as Combination } : {}), ...(opts.calibration !== undefined ? { calibration: opts.calibration as Calibration } : {}) };
}

/** --model, --seasonality, --threads, and --config/--service for known events, for the forecasting commands. */
export function addModelOptions(cmd: Command, modelHelp: string): Command {
  return cmd
    .option('--config <file>', "configuration whose service's events (campaigns, holidays) the forecast knows about")
    .option('--service <name>', 'service of the configuration (default: the first)')
    .addOption(new Option('--model <name>', modelHelp).choices(MODEL_NAMES).default('auto'))
    .addOption(new Option('--seasonality <kind>', 'seasons to use').choices(['auto', 'daily', 'weekly', 'none']).default('auto'))
    .addOption(new Option('--combine <how>', `model auto: how the backtest weights the candidates (default ${DEFAULT_VARIANT.combine})`).choices(COMBINATIONS))
    .addOption(new Option('--calibration <how>', `model auto: how the backtest calibrates the interval (default ${DEFAULT_VARIANT.calibration})`).choices(CALIBRATIONS))
    .option('--threads <n>', 'worker threads for several inputs (default: all cores)', threadCount);
}


/**
 * Checks, before any work, that the file a flag names can be written: its folder exists and takes writes,
 * and the path itself is not a folder. A long run must not end in an internal error at its last step.
 */
export function checkOutputFile(flag: string, path: string): void {
  const bad = (why: string): ShadowscaleError => new ShadowscaleError('SHADOWSCALE_E_USAGE', `${flag} ${path}: ${why}`);
  if (path === '') throw bad('expected a file name');
  if (isDirectory(path)) throw bad('a directory; name a file');
  const dir = dirname(resolve(path));
  if (!isDirectory(dir)) throw bad(`its folder ${dir} does not exist`);
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw bad(`its folder ${dir} does not take writes (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Writes a file a flag named (checked by checkOutputFile first); a failure names the flag and the cause. */
export function writeOutputFile(flag: string, path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (err) {
    throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `${flag} ${path}: cannot write it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

export function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Files named by --input: a file as is, a directory as every .csv below it (sorted). */
export function expandInputs(inputs: string[]): string[] {
  const out: string[] = [];
  // Each directory once, by its real path: a symbolic link back up the tree had repeated every series
  // until the path grew too long (dozens of copies of one forecast).
  const seen = new Set<string>();
  const walk = (dir: string): void => {
    const real = realpathSync(dir);
    if (seen.has(real)) return;
    seen.add(real);
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
export function eventsFrom(opts: Record<string, unknown>, io: Io): KnownEvent[] {
  if (opts.config === undefined) return [];
  const cfg = loadConfig({ file: opts.config as string, env: io.env });
  return knownEvents(serviceByName(cfg, opts.service as string | undefined));
}

export function loadTraceFrom(opts: Record<string, unknown>): Promise<Trace> {
  return loadTrace(opts.input as string, { column: opts.column as string | undefined, step: opts.step as number | undefined, duplicates: opts.duplicates as DuplicatePolicy });
}

/** Gaps and merged rows always go to stderr (never stdout, which may hold JSON). */
export function reportGaps(trace: Trace, io: Io): void {
  if (trace.duplicatesMerged > 0) io.err(`${trace.file}: merged ${trace.duplicatesMerged} row(s) that repeated the previous row's time (--duplicates).\n`);
  if (trace.gaps.length === 0) return;
  const missing = trace.gaps.reduce((s, g) => s + g.missingPoints, 0);
  const biggest = trace.gaps.reduce((a, b) => (b.to - b.from > a.to - a.from ? b : a));
  const msg = `${trace.file}: ${trace.gaps.length} gap(s), ${missing} missing point(s) at step ${trace.step}s; largest after ${biggest.afterLine > 0 ? `line ${biggest.afterLine}` : new Date(biggest.from * 1000).toISOString()} (${((biggest.to - biggest.from) / 3600).toFixed(1)} h). Gaps are skipped, not filled.\n`;
  io.err(msg);
}

export function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2);
}
