// `shadowscale rollout --config FILE --service NAME --to VERSION`: start a version rollout on a running
// `shadowscale run` (its API, found as `status` finds it) and follow it to its outcome: each phase and step
// on stderr for humans, the final record on stdout with --json. Exit 0 when it completed, 3 when it was
// stopped in the shadow or rolled back (live runs the version before it), 2 for bad input.

import type { Command } from 'commander';
import { ShadowscaleError } from '../../core/errors.js';
import { type Io, positiveNumber, secondsAtMost } from '../options.js';
import { z } from 'zod';
import { addApiOptions, apiBase, call, servicesAnswer } from './status.js';

const num = z.number();
/** What `rollout` reads of a rollout's JSON (docs/reference/api.md); the rest passes. */
const rolloutJson = z.looseObject({
  id: z.string(),
  from: z.string(),
  to: z.string(),
  phase: z.string(),
  outcome: z.string().nullable(),
  stop: z.string().optional(),
  why: z.string().optional(),
  shadow: z.looseObject({ passed: num, failed: num, inconclusive: num }),
  capacity: z.looseObject({ perInstanceRps: num.optional(), ratio: num, count: num.optional() }).optional(),
  shift: z.looseObject({ weight: num, checks: num, failedChecks: num, newInstances: num }).optional(),
  newInstanceP99Ms: num.optional(),
  oldInstanceP99Ms: num.optional(),
  rollbackSeconds: num.optional(),
});
type RolloutJson = z.infer<typeof rolloutJson>;

/** One line per change a human would want to see. */
function progressLine(r: RolloutJson): string {
  if (r.outcome) return `${r.id}: ${r.outcome}${r.stop ? ` (${r.stop})` : ''}${r.why ? `: ${r.why}` : ''}`;
  if (r.phase === 'shadow') return `${r.id}: shadow runs ${r.to}: ${r.shadow.passed} window(s) passed, ${r.shadow.failed} worse, ${r.shadow.inconclusive} inconclusive`;
  if (r.phase === 'capacity') return `${r.id}: a trial measures ${r.to}'s capacity`;
  if (r.shift) return `${r.id}: shifting: ${r.to} takes ${r.shift.weight} % (${r.shift.checks} check(s), ${r.shift.failedChecks} failed)`;
  return `${r.id}: ${r.capacity?.count ?? '?'} instance(s) of ${r.to} starting beside ${r.from}`;
}

export function registerRollout(program: Command, io: Io): void {
  addApiOptions(program.command('rollout').description('roll a new version out through the shadow on a running `shadowscale run`: judged on the shadow, its capacity measured, then traffic shifted in steps with automatic rollback'), 'the service to roll out (may be left out when the run has one service)')
    .requiredOption('--to <version>', "the version to roll out (a name in the instance type's versions, or base)")
    .option('--no-wait', 'start it and return (the rollout goes on in the run)')
    .option('--poll <seconds>', 'how often to look at its progress (at most 3600)', secondsAtMost(3600), 1)
    .option('--timeout <seconds>', 'stop following after this long (the rollout goes on)', positiveNumber('a positive number of seconds'), 3600)
    .action(async (opts: Record<string, unknown>) => {
      const base = apiBase(opts, io);
      let service = opts.service as string | undefined;
      if (service === undefined) {
        // A rollout changes what serves live traffic: with several services, which one is never guessed
        // (the first had been taken).
        const names = (await call(base, 'GET', '/api/v1/services', undefined, servicesAnswer, opts, io)).services.map((s) => s.name);
        if (names.length > 1) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--service: the run at ${base} has ${names.length} services (${names.join(', ')}); name the one to roll out`);
        service = names[0];
      }
      if (!service) throw new ShadowscaleError('SHADOWSCALE_E_NOT_FOUND', `${base}: the run has no service`);
      const path = `/api/v1/services/${encodeURIComponent(service)}/rollouts`;
      const started = await call(base, 'POST', path, { to: opts.to }, z.looseObject({ rollout: rolloutJson }), opts, io);
      let r = started.rollout;
      if (!opts.json) io.err(`${progressLine(r)}\n`);
      if (opts.wait !== false) {
        const deadline = Date.now() + (opts.timeout as number) * 1000;
        let last = progressLine(r);
        while (!r.outcome && Date.now() < deadline) {
          await new Promise((res) => setTimeout(res, (opts.poll as number) * 1000));
          r = await call(base, 'GET', `${path}/${encodeURIComponent(r.id)}`, undefined, rolloutJson, opts, io);
          const line = progressLine(r);
          if (line !== last && !opts.json) io.err(`${line}\n`);
          last = line;
        }
      }
      if (opts.json) io.out(`${JSON.stringify({ service, ...r })}\n`);
      else if (r.outcome === 'completed') io.out(`${service}: ${r.to} is live (${r.from} drained)${r.newInstanceP99Ms !== undefined ? `; p99 during the shift: new ${r.newInstanceP99Ms.toFixed(1)} ms, old ${r.oldInstanceP99Ms?.toFixed(1) ?? '-'} ms` : ''}\n`);
      else if (!r.outcome) io.out(`${service}: rollout ${r.id} is ${r.phase}; follow it with \`shadowscale rollout\`'s API: ${base}${path}/${r.id}\n`);
      if (r.outcome && r.outcome !== 'completed') throw new ShadowscaleError('SHADOWSCALE_E_ROLLOUT_NOT_COMPLETED', `rollout ${r.id} of ${service} to ${r.to}: ${r.outcome}${r.stop ? ` (${r.stop})` : ''}${r.why ? `: ${r.why}` : ''}; live runs ${r.from}`);
    });
}
