// `shadowscale run`: the long-running process.

import type { Command } from 'commander';
import { loadConfig, serviceByName } from '../../config/load.js';
import { Runtime } from '../../control/runtime.js';
import { blockedPortNote } from '../../api/server.js';
import { resolve } from 'node:path';
import { type Io, collect, hostPort, hostPortText } from '../options.js';

export function registerRun(program: Command, io: Io): void {
  program
    .command('run')
    .description('the long-running process: one gateway (routing by Host and path prefix), and a shadow pool and control loop per service of the configuration; instances outlive it and are adopted by the next run')
    .requiredOption('--config <file>', 'YAML configuration file')
    .option('--service <name>', 'supervise only this service (default: every service of the configuration)')
    .option('--set <path=value>', 'set any configuration key, e.g. store.path=/var/lib/shadowscale.db (repeatable)', collect, [])
    .option('--api <host:port>', 'address of the REST API, the dashboard and /metrics (or api.listen; default 127.0.0.1:0, any free port)', hostPort('--api'))
    .option('--stop-instances', 'on exit, drain and stop the instances instead of leaving them for the next run')
    .option('--json', 'print the addresses as one JSON line; events as JSON lines on stderr')
    .action(async (opts: Record<string, unknown>) => {
      const api = opts.api as { host: string; port: number } | undefined;
      const cfg = loadConfig({ file: opts.config as string, env: io.env, flags: {}, sets: [...(opts.set as string[]), ...(api ? [`api.listen=${hostPortText(api)}`] : [])] });
      const only = opts.service === undefined ? undefined : serviceByName(cfg, opts.service as string).name;
      const names = only !== undefined ? [only] : cfg.services.map((s) => s.name);
      const tty = io.stderrIsTty && !opts.json;
      // SIGINT/SIGTERM/SIGHUP from the very start: one arriving while the runtime starts stops it once
      // started (with --stop-instances, its instances too) instead of killing the process half-way. SIGHUP
      // (a closed terminal, a dropped SSH session) had ended the process where it stood.
      const stopRequested = new Promise<undefined>((done) => {
        for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => done(undefined));
      });
      // The loop stopped acting for good (the store failed): stop and exit non-zero with its error.
      let fatal: (err: Error) => void = () => undefined;
      const failed = new Promise<Error>((r) => (fatal = r));
      let arms: (() => string) | undefined;
      const rt = await Runtime.start({
        cfg,
        ...(only !== undefined ? { service: only } : {}),
        env: io.env,
        onFatal: (err) => fatal(err),
        onTick: (r) => {
          if (!tty) return;
          const ab = arms?.() ?? '';
          const d = r.decision ? `${r.decision.reason} ${r.decision.current}→${r.decision.desired}${r.decision.instanceType ? ` ${r.decision.instanceType}` : ''}` : '';
          const p = r.proof ? ` · proof ${r.proof.status} ${r.proof.candidate.instanceType}×${r.proof.candidate.count}${r.proof.trial ? ` (${r.proof.trial})` : ''}` : '';
          io.err(`\r\x1b[2K${names.length > 1 ? `${r.service}: ` : ''}${r.liveRps.toFixed(0)} req/s · live ${r.live.ready}/${r.live.requested} ${r.instanceType} · shadow ${r.shadow.ready}${r.trials.running ? ` · trials ${r.trials.running}` : ''} · p99 ${Number.isFinite(r.liveP99Ms) ? r.liveP99Ms.toFixed(0) : '-'} ms · target ${r.target} ${d}${p}${ab}`);
        },
        onEvent: (e) => {
          if ((e.kind === 'decision' || e.kind === 'ab_decision') && !opts.json) return;
          io.err(opts.json ? `${JSON.stringify(e)}\n` : `${tty ? '\r\x1b[2K' : ''}${names.length > 1 && e.service ? `${e.service} ` : ''}${e.kind}: ${e.detail}\n`);
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
      // "service": the first (the only one unless the configuration has several); "services": every one supervised.
      const where = { service: names[0], services: names, listen: rt.listen, admin: rt.admin ?? null, api: rt.apiUrl ?? null, dashboard: rt.apiUrl ? `${rt.apiUrl}/` : null, store: resolve(cfg.store.path), pid: process.pid };
      const blocked = rt.apiUrl ? blockedPortNote(rt.apiUrl) : undefined;
      if (blocked) io.err(`shadowscale: ${blocked}\n`);
      io.out(opts.json ? `${JSON.stringify(where)}\n` : `shadowscale run: ${names.join(', ')} on ${where.listen}${where.admin ? `, admin ${where.admin}` : ''}, store ${where.store}\ndashboard ${where.dashboard} (API ${where.api}/api/v1, metrics ${where.api}/metrics)${rt.api?.auth.open ? '; no API token configured: loopback only, every local user is admin' : ''}\n`);
      // SIGUSR1 reopens gateway.mirror.recordFile by its name (logrotate moves it away, then signals).
      const record = cfg.gateway.mirror.recordFile;
      const said = (kind: 'record_reopened' | 'record_reopen_failed', detail: string): void =>
        io.err(opts.json ? `${JSON.stringify({ at: Date.now(), kind, file: record, detail })}\n` : `${tty ? '\r\x1b[2K' : ''}shadowscale: gateway.mirror.recordFile ${record}: ${detail}\n`);
      const reopen = (): void => {
        rt.reopenRecords().then(
          () => said('record_reopened', 'reopened'),
          (err: unknown) => said('record_reopen_failed', `cannot reopen it (${err instanceof Error ? err.message : String(err)}); the records go on to the file already open`),
        );
      };
      if (record) process.on('SIGUSR1', reopen);
      const why = await Promise.race([failed, stopRequested]);
      process.off('SIGUSR1', reopen);
      abSummary();
      if (why) {
        const left = (await rt.provider.list()).length;
        await rt.stop();
        io.err(`${tty ? '\r\x1b[2K' : ''}shadowscale run: the loop stopped acting and run exits; ${left} instance(s) left running for the next run to adopt\n`);
        throw why;
      }
      await rt.stop({ deleteInstances: Boolean(opts.stopInstances) });
    });
  
}
