// `shadowscale prove`: configurations proven on throwaway instances.

import type { Command } from 'commander';
import { loadConfig, serviceByName } from '../../config/load.js';
import { type Config } from '../../config/schema.js';
import { ShadowscaleError } from '../../core/errors.js';
import { loadRecording } from '../../gateway/replay.js';
import { DEMO_ENV, withThrowawayStore } from '../../control/leftovers.js';
import { mixFromRecording } from '../../proof/mix.js';
import { checkSomethingToProve, prove } from '../../proof/prove.js';
import { startLocalProvider } from '../../control/runtime.js';
import { type Io, positiveNumber, positiveInteger, collect } from '../options.js';

export function registerProve(program: Command, io: Io): void {
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
      // Nothing starts unless there is something to prove.
      checkSomethingToProve({ rateRps: opts.rate as number, headroom: svc.scaling.headroom, sloLatencyMs: svc.slo.latencyP99Ms, types, minInstances: svc.pool.min, maxInstances: svc.pool.max, spotShare: svc.scaling.spot?.share ?? 0 });
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
  
}
