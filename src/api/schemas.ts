// The API's request schemas (zod): they validate every request (unknown fields and parameters are
// errors) and generate the OpenAPI document served at /openapi.json. Messages say what was expected.

import { z } from 'zod';
import { describeValue } from '../core/errors.js';
import { REASONS, SCALING_MODES } from '../core/reasons.js';
import { LONGEST_OCCURRENCE, RECURRENCES } from '../core/events.js';

type Check = { error: (iss: { input?: unknown }) => string };
const expect = (what: string): Check => ({ error: (iss) => `expected ${what}, got ${describeValue(iss.input)}` });

/** Most decisions one page returns. */
export const MAX_PAGE = 1000;
/** Longest bounds override (7 days). */
export const MAX_OVERRIDE_SECONDS = 7 * 86_400;
/** Highest instance count an override may name. */
export const MAX_INSTANCES = 10_000;

/** A time in a query: an ISO 8601 date-time, or milliseconds since the epoch. Parsed to ms. */
const time = (what: string) =>
  z
    .string(expect(`${what} as an ISO 8601 date-time or milliseconds since the epoch`))
    .transform((v, ctx) => {
      const ms = /^\d{1,15}$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : Number.NaN;
      if (!Number.isFinite(ms)) {
        ctx.addIssue({ code: 'custom', message: `expected ${what} as an ISO 8601 date-time or milliseconds since the epoch, got ${describeValue(v)}`, input: v });
        return z.NEVER;
      }
      return ms;
    })
    .meta({ description: `${what}: an ISO 8601 date-time or milliseconds since the epoch` });

const intIn = (lo: number, hi: number, what: string) =>
  z
    .string(expect(what))
    .regex(/^\d{1,9}$/, expect(what))
    .transform(Number)
    .refine((n) => n >= lo && n <= hi, expect(what));

const reasonNames = Object.keys(REASONS) as [string, ...string[]];

export const serviceParams = z.strictObject({ service: z.string(expect('a service name')).min(1, expect('a service name')).max(200, expect('a service name of at most 200 characters')) });

export const decisionsQuery = z.strictObject({
  since: time('since').optional(),
  until: time('until').optional(),
  reason: z
    .string(expect('reasons separated by commas'))
    .transform((v, ctx) => {
      const names = v.split(',').map((x) => x.trim()).filter(Boolean);
      for (const n of names) {
        if (!(n in REASONS)) {
          ctx.addIssue({ code: 'custom', message: `expected reasons among ${reasonNames.join(', ')}, got ${describeValue(n)}`, input: v });
          return z.NEVER;
        }
      }
      return names;
    })
    .optional()
    .meta({ description: 'Only decisions with one of these reasons (comma-separated; the strategy\'s, or the bound\'s or gate\'s that replaced it)' }),
  before: intIn(1, Number.MAX_SAFE_INTEGER, 'a positive decision sequence number (the previous page\'s "next")').optional(),
  limit: intIn(1, MAX_PAGE, `a page size from 1 to ${MAX_PAGE}`).optional(),
  full: z.enum(['true', 'false'], expect('"true" or "false"')).optional().meta({ description: 'Also every configuration the proof gate considered and dropped (GET …/decisions/{seq} always has them)' }),
});

export const decisionParams = z.strictObject({
  service: serviceParams.shape.service,
  seq: intIn(1, Number.MAX_SAFE_INTEGER, 'a decision sequence number'),
});

export const rangeQuery = z.strictObject({
  since: time('since').optional(),
  until: time('until').optional(),
  resolution: z.enum(['auto', '1', '60', '3600'], expect('one of "auto", "1", "60", "3600" (seconds)')).optional(),
  points: intIn(10, 50_000, 'a number of points from 10 to 50000').optional().meta({ description: 'Timeline: at most about this many points (buckets of whole resolution steps, averaged); default 2000' }),
});

/** Known events: their occurrences within [since, until] (at most 31 days apart) are listed when both are given. */
export const eventsQuery = z
  .strictObject({ since: time('since').optional(), until: time('until').optional() })
  .refine((q) => (q.since === undefined) === (q.until === undefined), { message: 'expected since and until together (the span whose occurrences to list), or neither', path: ['since'] })
  .refine((q) => q.since === undefined || q.until === undefined || (q.since < q.until && q.until - q.since <= 31 * 86_400_000), { message: 'expected since before until, at most 31 days apart', path: ['since'] });

/** Routes that take no parameter: any is an error. */
export const noQuery = z.strictObject({});

export const limitQuery = z.strictObject({
  limit: intIn(1, MAX_PAGE, `a count from 1 to ${MAX_PAGE}`).optional(),
});

const note = z.string(expect('a note of at most 200 characters')).max(200, expect('a note of at most 200 characters')).optional();

export const noteBody = z.strictObject({ note }, expect('a JSON object')).meta({ description: 'An optional note kept with the decision' });

export const modeBody = z.strictObject({
  mode: z.enum(SCALING_MODES as [string, ...string[]], expect(`one of ${SCALING_MODES.map((m) => `"${m}"`).join(', ')}`)),
  note,
}, expect('a JSON object with mode'));

const count = (what: string) => z.number(expect(`${what}: an integer from 0 to ${MAX_INSTANCES}`)).int(expect(`${what}: an integer from 0 to ${MAX_INSTANCES}`)).min(0, expect(`${what}: an integer from 0 to ${MAX_INSTANCES}`)).max(MAX_INSTANCES, expect(`${what}: an integer from 0 to ${MAX_INSTANCES}`));

export const boundsBody = z
  .strictObject({
    min: count('min').optional(),
    max: count('max').optional(),
    seconds: z.number(expect(`seconds: a number from 1 to ${MAX_OVERRIDE_SECONDS}`)).min(1, expect(`seconds: a number from 1 to ${MAX_OVERRIDE_SECONDS}`)).max(MAX_OVERRIDE_SECONDS, expect(`seconds: a number from 1 to ${MAX_OVERRIDE_SECONDS}`)),
    note,
  }, expect('a JSON object with seconds and min, max or both'))
  .refine((b) => b.min !== undefined || b.max !== undefined, { message: 'expected min, max or both' })
  .refine((b) => b.min === undefined || b.max === undefined || b.min <= b.max, { message: 'expected min <= max', path: ['min'] });

export const rolloutBody = z.strictObject(
  {
    to: z.string(expect('a version name')).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, expect('a version name of letters, digits, "_", "." or "-" (at most 63)')),
    note,
  },
  expect('a JSON object with to'),
);

export const rolloutParams = z.strictObject({
  service: serviceParams.shape.service,
  id: z.string(expect('a rollout id')).min(1, expect('a rollout id')).max(200, expect('a rollout id of at most 200 characters')),
});

export const proofBody = z.strictObject(
  {
    instanceType: z.string(expect('an instance type name')).min(1, expect('an instance type name')).max(200, expect('an instance type name')).optional(),
    perInstanceRps: z.number(expect('a rate per instance from 0.1 to 100000 req/s')).min(0.1, expect('a rate per instance from 0.1 to 100000 req/s')).max(100_000, expect('a rate per instance from 0.1 to 100000 req/s')).optional(),
    note,
  },
  expect('a JSON object'),
);

/** Most events declared at run time per service. */
export const MAX_DECLARED_EVENTS = 100;
/** How far ahead an event may be declared (400 days: next year's holiday). */
export const MAX_EVENT_AHEAD_DAYS = 400;

const isoTime = (what: string) =>
  z
    .string(expect(`${what} as an ISO 8601 date-time with its zone, e.g. 2026-12-24T10:00:00Z`))
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/, expect(`${what} as an ISO 8601 date-time with its zone, e.g. 2026-12-24T10:00:00Z`))
    .transform((v, ctx) => {
      const ms = Date.parse(v);
      if (!Number.isFinite(ms)) {
        ctx.addIssue({ code: 'custom', message: `expected ${what} as an ISO 8601 date-time with its zone, got ${describeValue(v)}`, input: v });
        return z.NEVER;
      }
      return ms;
    });

export const eventBody = z
  .strictObject(
    {
      name: z.string(expect('an event name')).min(1, expect('an event name')).max(200, expect('an event name of at most 200 characters')),
      start: isoTime('start'),
      end: isoTime('end'),
      recurrence: z.enum(RECURRENCES, expect(`one of ${RECURRENCES.join(', ')}`)).default('none'),
      multiplier: z.number(expect('a number from 0.001 to 1000')).min(0.001, expect('a number from 0.001 to 1000')).max(1000, expect('a number from 0.001 to 1000')).optional(),
      note,
    },
    expect('a JSON object with name, start, end and multiplier'),
  )
  // Only a yearly event may leave its size out: `run` learns it from the last occurrence in the store's hourly
  // history. Any other would change no forecast (daily and weekly ones are part of the seasons the models fit).
  .refine((b) => b.multiplier !== undefined || b.recurrence === 'yearly', { message: 'expected a number from 0.001 to 1000 (only a yearly event may leave it out: its size is learned from its last occurrence)', path: ['multiplier'] })
  .refine((b) => b.end > b.start, { message: 'expected end after start', path: ['end'] })
  .refine((b) => b.end - b.start <= LONGEST_OCCURRENCE[b.recurrence].seconds * 1000, { message: 'expected an occurrence no longer than its recurrence\'s period (a day, a week, 365 days): it would overlap the next', path: ['end'] });

export const eventParams = z.strictObject({
  service: serviceParams.shape.service,
  id: z.string(expect('an event id')).min(1, expect('an event id')).max(200, expect('an event id of at most 200 characters')),
});

export const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
