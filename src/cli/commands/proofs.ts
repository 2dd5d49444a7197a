// `shadowscale proofs`: what the trials on the shadow measured (the store's performance model).

import type { Command } from 'commander';
import { loadConfig, serviceByName } from '../../config/load.js';
import { ShadowscaleError } from '../../core/errors.js';
import { existsSync } from 'node:fs';
import { proofsReport } from '../../proof/report.js';
import { Store } from '../../metrics/store.js';
import { resolve } from 'node:path';
import { type Io, collect } from '../options.js';

export function registerProofs(program: Command, io: Io): void {
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
        r = proofsReport(svc.name, store.experiments({ service: svc.name, kind: 'trial' }), store.proofStatusCounts(svc.name), Date.now(), svc.scaling.trials.freshSeconds);
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
  
}
