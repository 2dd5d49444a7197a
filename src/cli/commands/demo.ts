// `shadowscale demo`: the whole loop on this machine with a compressed day of load.

import { accessSync, constants, statSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ShadowscaleError } from '../../core/errors.js';
import { checkDemoLoad, cleanDemoLeftovers, DemoInterrupted, demoConfig, runDemo, type DemoStrategy } from '../../control/demo.js';
import { interruptible } from '../../control/leftovers.js';
import { runScenario, SCENARIOS, type ScenarioName } from '../../control/scenarios.js';
import { type Io, collect, hostPort, hostPortText, positiveNumber, positiveInteger } from '../options.js';

/**
 * Run `fn` with a signal that SIGINT/SIGTERM/SIGHUP abort: the demo (or scenario) stops its instances and removes
 * its directory, then the process exits 130/143.
 */
async function untilInterrupted<T>(io: Io, whose: string, clearLine: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const interrupt = interruptible((sig) => io.err(`${clearLine}shadowscale demo: ${sig}, stopping ${whose} instances\n`));
  try {
    return await fn(interrupt.signal);
  } catch (err) {
    if (!(err instanceof DemoInterrupted)) throw err;
    io.err(`shadowscale demo: ${err.message}\n`);
    process.exit(interrupt.exitCode() ?? 143);
  } finally {
    interrupt.dispose();
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function registerDemo(program: Command, io: Io): void {
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
    .option('--set <path=value>', 'set a key of the demo configuration, e.g. control.propagateDependencies=false (repeatable)', collect, [])
    .option('--ab <a,b>', 'A/B of strategies in the shadow during the day: one shadow arm per strategy (reactive, predictive, hybrid), each sized by its strategy on the same mirrored sample; live runs --strategy (both: the last arm)', (v: string) => {
      const names = v.split(',').map((x) => x.trim());
      for (const n of names) if (!['reactive', 'predictive', 'hybrid'].includes(n)) throw new InvalidArgumentError(`expected strategies among reactive, predictive, hybrid, got "${n}"`);
      if (names.length < 2 || new Set(names).size !== names.length) throw new InvalidArgumentError(`expected at least two distinct strategies, e.g. reactive,hybrid, got "${v}"`);
      return names;
    })
    .option('--api <host:port>', 'address of the dashboard and API during the demo (default 127.0.0.1:0, any free port)', hostPort('--api'))
    .addOption(new Option('--scenario <name>', 'run one switchover under steady client load instead of the day: scale-out (new instances warm, then ramp in), rollout-good (a new version goes live), rollout-slow (a slower version is stopped in the shadow), rollout-flaky (passes the shadow, fails during the shift: rolled back)').choices([...SCENARIOS]))
    .option('--rate <rps>', '--scenario: requests/s of client load', positiveNumber('a positive number of requests/s'), 120)
    .option('--prometheus [binary]', "the Prometheus variant: a real Prometheus (Debian's package; default /usr/bin/prometheus) scrapes the run and its instances every second, and the loop reads its traffic only from it")
    .option('--clean', 'only stop the instances and remove the temporary directories that interrupted demos left behind (every demo does this first)')
    .option('--json', 'print the results as JSON')
    .action(async (opts: Record<string, unknown>) => {
      if (opts.clean) {
        const r = await cleanDemoLeftovers();
        if (opts.json) io.out(`${JSON.stringify(r)}\n`);
        else io.out(`stopped ${r.stopped} leftover instance(s) (${r.killed} needed SIGKILL), removed ${r.removed} temporary director${r.removed === 1 ? 'y' : 'ies'}\n`);
        return;
      }
      if (opts.scenario) {
        const r = await untilInterrupted(io, "the scenario's", '', (signal) => runScenario({ scenario: opts.scenario as ScenarioName, rate: opts.rate as number, seed: opts.seed as number, ...(opts.config ? { configFile: opts.config as string } : {}), signal, onLog: (line) => io.err(`${line}\n`) }));
        if (opts.json) io.out(`${JSON.stringify(r)}\n`);
        else
          io.out(
            `${r.scenario}: ${r.outcome}\n  client requests ${r.clientRequests}, errors ${r.clientErrors}\n  p99 of the new instances ${r.newInstanceP99Ms === null ? '- (none served)' : `${r.newInstanceP99Ms.toFixed(1)} ms`}, of the warm ones ${r.warmInstanceP99Ms === null ? '-' : `${r.warmInstanceP99Ms.toFixed(1)} ms`}${r.rollbackSeconds !== null ? `\n  rolled back ${r.rollbackSeconds.toFixed(2)} s after the first failed check` : ''}\n`,
          );
        return;
      }
      const prometheus = opts.prometheus === undefined ? undefined : opts.prometheus === true ? '/usr/bin/prometheus' : (opts.prometheus as string);
      if (prometheus !== undefined && !isExecutable(prometheus)) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--prometheus: expected the path of a prometheus binary, ${prometheus} is not an executable file (Debian: apt-get install prometheus)`);
      const duration = opts.duration as number;
      if (duration < 20) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--duration: expected at least 20 seconds (a day needs room for its ramp and the lead time), got ${duration}`);
      const ab = opts.ab as DemoStrategy[] | undefined;
      // With A/B arms, one day: live runs the chosen strategy, or the last arm's.
      const strategies: DemoStrategy[] = opts.strategy === 'both' ? (ab ? [ab[ab.length - 1] as DemoStrategy] : ['reactive', 'hybrid']) : [opts.strategy as DemoStrategy];
      const sets = opts.set as string[];
      // The configuration and the load it must carry are checked before anything starts.
      checkDemoLoad(demoConfig({ ...(opts.config ? { configFile: opts.config as string } : {}), durationSeconds: duration, ...(ab ? { ab } : {}), sets }, 'check.db'), { peakRps: opts.peakRps as number, durationSeconds: duration, historyDays: opts.historyDays as number });
      const tty = io.stderrIsTty;
      let lastPrinted = 0;
      const result = await untilInterrupted(io, "the demo's", tty ? '\r\x1b[2K' : '', (signal) =>
        runDemo({
          signal,
          durationSeconds: duration,
          strategies,
          peakRps: opts.peakRps as number,
          seed: opts.seed as number,
          historyDays: opts.historyDays as number,
          ...(opts.config ? { configFile: opts.config as string } : {}),
          ...(ab ? { ab } : {}),
          sets,
          ...(prometheus ? { prometheus } : {}),
          ...(opts.api ? { api: hostPortText(opts.api as { host: string; port: number }) } : {}),
          onStatus: (line) => {
            if (tty) io.err(`\r\x1b[2K${line.slice(0, (process.stderr.columns || 160) - 1)}`);
            else if (Date.now() - lastPrinted >= 5000) {
              lastPrinted = Date.now();
              io.err(`${line}\n`);
            }
          },
          onLog: (line) => io.err(`${tty ? '\r\x1b[2K' : ''}${line}\n`),
        }),
      );
      if (tty) io.err('\r\x1b[2K');
      if (opts.json) {
        const abJson = result.ab ? Object.fromEntries(Object.entries(result.ab).map(([n, a]) => [n, { sloViolationSeconds: a.sloViolationSeconds, p99Ms: a.p99Ms, instanceSeconds: a.instanceSeconds, actions: a.actions }])) : undefined;
        const metrics = Object.fromEntries(Object.entries(result.details).map(([n, d]) => [n, d.metrics]));
        io.out(`${JSON.stringify({ strategies: result.strategies, proofs: result.proofs, ...(prometheus ? { metrics } : {}), ...(result.services ? { services: result.services } : {}), ...(result.shadow ? { shadow: result.shadow } : {}), ...(abJson ? { ab: abJson } : {}) })}\n`);
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
          (any?.metrics.source === 'prometheus' ? `metrics: the loop read its traffic only from Prometheus; ${Object.entries(result.details).map(([n, d]) => `${n}: ${d.metrics.outages} outage(s) during the day, ${d.metrics.cpuMsPerRequest === null ? 'no CPU measured' : `${d.metrics.cpuMsPerRequest} CPU ms per live request`}`).join('; ')}\n` : '') +
          (Object.keys(result.services ?? {}).length > 1
            ? `services (the ${Object.keys(result.strategies).at(-1)} day):\nservice    violation s   p99 ms  live inst-s  lead s  needed s  scaled ahead for callers\n${Object.entries(result.services ?? {})
                .map(([n, x]) => `${n.padEnd(10)} ${String(x.sloViolationSeconds).padStart(11)} ${(x.p99Ms === null ? '-' : x.p99Ms.toFixed(1)).padStart(8)} ${String(x.instanceSeconds).padStart(12)} ${(x.scaleUpLeadSeconds === null ? '-' : x.scaleUpLeadSeconds.toFixed(1)).padStart(7)} ${String(x.requiredLeadSeconds).padStart(9)}  ${x.dependencyAhead} decision(s)`)
                .join('\n')}\nshadow: ${result.shadow?.instanceSeconds ?? '-'} instance-s (${result.shadow?.pooled ? `one pool shared by the services; dedicated shadows: about ${result.shadow.dedicatedEstimateInstanceSeconds}` : 'a dedicated shadow per service'})\n`
            : '') +
          (proofLines.length ? `proofs:\n${proofLines.map((l) => `  ${l}`).join('\n')}\n` : '') +
          (result.ab
            ? `A/B in the shadow (each arm ${Math.round(100 * (result.abShare ?? 0))} % of live's requests, the same ones):\narm        violation s   p99 ms  inst-s  max  actions  requests  errors  violating ticks (s into the day)\n${Object.entries(result.ab)
                .map(([n, a]) => `${n.padEnd(10)} ${String(a.sloViolationSeconds).padStart(11)} ${a.p99Ms.toFixed(1).padStart(8)} ${String(a.instanceSeconds).padStart(7)} ${String(a.maxInstances).padStart(4)} ${String(a.actions).padStart(8)} ${String(a.requests).padStart(9)} ${String(a.errors).padStart(7)}  ${a.violationsAt.map((x) => ((x - (result.dayStartedAt ?? x)) / 1000).toFixed(0)).join(' ') || '-'}`)
                .join('\n')}\n`
            : ''),
      );
    });
  
}
