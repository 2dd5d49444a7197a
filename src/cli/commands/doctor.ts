// `shadowscale doctor`: a store and the instance processes of this host, checked.

import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { doctor } from '../../control/doctor.js';
import { ShadowscaleError } from '../../core/errors.js';
import { type Io, collect } from '../options.js';

export function registerDoctor(program: Command, io: Io): void {
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
      // Exit 3 when it found problems (0 when none), so a script or a cron job can act on the verdict.
      const verdict = (): void => {
        if (!r.ok) throw new ShadowscaleError('SHADOWSCALE_E_DOCTOR_PROBLEMS', `${r.problems.length} problem(s) found${opts.json ? ' (problems in the JSON)' : ' (listed above)'}`);
      };
      if (opts.json) {
        io.out(`${JSON.stringify(r)}\n`);
        verdict();
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
      verdict();
    });
  
}
