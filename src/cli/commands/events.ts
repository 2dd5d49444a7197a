// `shadowscale events`: the known events of a running `shadowscale run` (its API, found as `status` finds
// it): list them, declare one at run time (--add) or remove one declared so (--remove). Declared events are
// kept in the run's store and the strategies scale ahead of them (docs/design/strategies.md, Known events).

import type { Command } from 'commander';
import { z } from 'zod';
import { ShadowscaleError } from '../../core/errors.js';
import { RECURRENCES } from '../../core/events.js';
import { type Io, positiveNumber } from '../options.js';
import { addApiOptions, apiBase, call, servicesAnswer } from './status.js';

const eventView = z.looseObject({
  id: z.string().nullable(),
  source: z.string(),
  name: z.string(),
  start: z.string(),
  end: z.string(),
  recurrence: z.string(),
  multiplier: z.number().nullable(),
  learned: z.looseObject({ multiplier: z.number(), from: z.looseObject({ start: z.string() }) }).nullable().optional(),
  used: z.boolean(),
  next: z.looseObject({ start: z.string(), end: z.string() }).nullable(),
});
type EventView = z.infer<typeof eventView>;
const eventsAnswer = z.looseObject({ events: z.array(eventView) });


function line(e: EventView): string {
  const size = e.multiplier !== null ? `x${e.multiplier}${e.used ? '' : ' (changes nothing)'}` : e.learned ? `x${e.learned.multiplier.toFixed(2)} learned from the occurrence of ${e.learned.from.start}${e.used ? '' : ' (a drop: not used)'}` : e.recurrence === 'yearly' ? 'no multiplier, none learned yet (the store holds too little of its last occurrence and the weeks around it)' : 'no multiplier (Prophet only)';
  const when = e.recurrence === 'none' ? `${e.start} to ${e.end}` : `${e.recurrence} from ${e.start} to ${e.end}`;
  return `  ${e.name}: ${size}, ${when}; ${e.next ? `next ${e.next.start}` : 'no coming occurrence'} (${e.source === 'api' ? `declared at run time, ${e.id}` : 'configuration'})`;
}

export function registerEvents(program: Command, io: Io): void {
  addApiOptions(program.command('events').description("the known events of a running `shadowscale run` (the configuration's and those declared at run time), from its API; --add declares one at run time, --remove removes one declared so"), 'the service (default: every service to list; the only one to change)')
    .option('--add <name>', 'declare an event of this name (with --start, --end and --multiplier, or --recurrence yearly without one)')
    .option('--start <time>', 'with --add: when it starts, ISO 8601 with its zone (e.g. 2026-12-24T10:00:00Z)')
    .option('--end <time>', 'with --add: when it ends')
    .option('--multiplier <m>', 'with --add: demand during it over demand without it (0.001 to 1000); a yearly event may leave it out, and the run learns it from its last occurrence', positiveNumber('a positive number'))
    .option('--recurrence <r>', `with --add: ${RECURRENCES.join(', ')} (default none)`)
    .option('--note <text>', 'with --add or --remove: a note kept with the decision that records it')
    .option('--remove <id>', 'remove the event declared at run time with this id (the list prints it)')
    .action(async (opts: Record<string, unknown>) => {
      const add = opts.add as string | undefined;
      const remove = opts.remove as string | undefined;
      if (add !== undefined && remove !== undefined) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--add and --remove: give one of them');
      const withAdd = ['start', 'end', 'multiplier', 'recurrence'] as const;
      if (add === undefined) for (const k of withAdd) if (opts[k] !== undefined) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--${k} describes an event to declare: it needs --add NAME`);
      if (add !== undefined) for (const k of ['start', 'end'] as const) if (opts[k] === undefined) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--add ${add}: --${k} is missing`);
      // A yearly event may leave out its size: the run learns it from the last occurrence in its store.
      if (add !== undefined && opts.multiplier === undefined && opts.recurrence !== 'yearly') throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--add ${add}: --multiplier is missing (only a yearly event may leave it out: the run learns its size from its last occurrence)`);
      if (opts.recurrence !== undefined && !(RECURRENCES as readonly string[]).includes(opts.recurrence as string)) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--recurrence: expected one of ${RECURRENCES.join(', ')}, got "${opts.recurrence as string}"`);
      if (opts.note !== undefined && add === undefined && remove === undefined) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--note goes with the change it is kept with: --add or --remove');
      const base = apiBase(opts, io);
      const names = (await call(base, 'GET', '/api/v1/services', undefined, servicesAnswer, opts, io)).services.map((s) => s.name);
      let services = opts.service !== undefined ? [opts.service as string] : names;
      if (add !== undefined || remove !== undefined) {
        // A change is made to one service, never guessed among several.
        if (services.length > 1) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--service: the run at ${base} has ${services.length} services (${services.join(', ')}); name the one to change`);
        services = services.slice(0, 1);
      }
      if (services.length === 0) throw new ShadowscaleError('SHADOWSCALE_E_NOT_FOUND', `${base}: the run has no service`);
      const path = (s: string): string => `/api/v1/services/${encodeURIComponent(s)}/events`;
      const service = services[0] as string;
      const note = opts.note !== undefined ? { note: opts.note as string } : {};
      if (add !== undefined) {
        const r = await call(base, 'POST', path(service), { name: add, start: opts.start, end: opts.end, ...(opts.multiplier !== undefined ? { multiplier: opts.multiplier } : {}), ...(opts.recurrence !== undefined ? { recurrence: opts.recurrence } : {}), ...note }, z.looseObject({ seq: z.number(), event: eventView }), opts, io);
        if (opts.json) io.out(`${JSON.stringify({ service, ...r })}\n`);
        else io.out(`${service}: declared\n${line(r.event)}\n`);
        return;
      }
      if (remove !== undefined) {
        const r = await call(base, 'DELETE', `${path(service)}/${encodeURIComponent(remove)}`, opts.note !== undefined ? note : undefined, z.looseObject({ seq: z.number() }), opts, io);
        if (opts.json) io.out(`${JSON.stringify({ service, id: remove, ...r })}\n`);
        else io.out(`${service}: removed ${remove}\n`);
        return;
      }
      const all = await Promise.all(services.map(async (s) => ({ service: s, events: (await call(base, 'GET', path(s), undefined, eventsAnswer, opts, io)).events })));
      if (opts.json) io.out(`${JSON.stringify({ api: base, services: all })}\n`);
      else io.out(all.map((x) => `${x.service}: ${x.events.length} known event(s)${x.events.length ? `\n${x.events.map(line).join('\n')}` : ''}`).join('\n') + '\n');
    });
}
