// `shadowscale status` and `shadowscale decisions`: read the API of a running `run` (the same handlers
// the dashboard reads). The API is found by --api, SHADOWSCALE_API_URL, or the store of --config (a
// running `run` keeps its API's address there).

import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { z } from 'zod';
import { type Dispatcher, getGlobalDispatcher, interceptors, request } from 'undici';
import { loadConfig } from '../../config/load.js';
import { ERROR_CODES, ShadowscaleError, type ErrorCode } from '../../core/errors.js';
import { Store } from '../../metrics/store.js';
import { pidAlive } from '../../providers/local.js';
import { ENV_ADMIN_TOKEN, ENV_READ_TOKEN } from '../../api/auth.js';
import { type Io, collect, positiveInteger } from '../options.js';

/** A time for --since/--until: an ISO 8601 date-time, or a duration back from now (30s, 15m, 2h, 7d). */
export function sinceArg(v: string, now = Date.now()): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(v.trim());
  const t = m ? now - Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'] * 1000 : /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(t)) throw new InvalidArgumentError(`expected an ISO 8601 date-time or a duration back from now (e.g. 30s, 15m, 2h, 7d), got "${v}"`);
  // 99999999999d went back past any date (an internal error printing it); the API counts from 1970.
  if (!(t >= 0)) throw new InvalidArgumentError(`expected a time from 1970-01-01 on (a duration back from now of at most ${Math.floor(now / 86_400_000)}d), got "${v}"`);
  return t;
}

export function addApiOptions(cmd: Command, serviceHelp = 'service (default: every service for status, the first for decisions)'): Command {
  return cmd
    .option('--api <url>', 'base URL of the API of a running `shadowscale run` (or SHADOWSCALE_API_URL)')
    .option('--config <file>', "configuration of the running `run`: its store says where the API listens")
    .option('--set <path=value>', 'set any configuration key, e.g. store.path=/var/lib/shadowscale.db (repeatable)', collect, [])
    .option('--token <token>', `bearer token (or ${ENV_READ_TOKEN} / ${ENV_ADMIN_TOKEN})`)
    .option('--service <name>', serviceHelp)
    .option('--json', 'print the API\'s JSON');
}

export function apiBase(opts: Record<string, unknown>, io: Io): string {
  const given = (opts.api as string | undefined) ?? io.env.SHADOWSCALE_API_URL;
  if (given) {
    let u: URL;
    try {
      u = new URL(given);
    } catch {
      throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--api: expected an http:// URL, got "${given}"`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--api: expected an http:// URL, got "${given}"`);
    if (u.search || u.hash) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--api: expected the API's base URL, without a ?query or #fragment, got "${given}"`);
    if (u.username || u.password) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--api: expected the API's base URL without user:password@ (a token goes in --token or ${ENV_ADMIN_TOKEN}), got "${given}"`);
    return apiBaseOf(u);
  }
  if (opts.config === undefined && (opts.set as string[]).length === 0) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', '--api: where is the running `run`? Give --api URL, SHADOWSCALE_API_URL, or --config FILE (its store keeps the address)');
  const cfg = loadConfig({ file: opts.config as string | undefined, env: io.env, sets: opts.set as string[] });
  const path = resolve(cfg.store.path);
  const meta = Store.metaAt(path, 'api');
  if (!meta) throw new ShadowscaleError('SHADOWSCALE_E_API_UNREACHABLE', `store ${path}: no running \`shadowscale run\` recorded its API there (is it running with this configuration?)`);
  const recorded = JSON.parse(meta) as { url: string; pid: number };
  // A run killed with SIGKILL leaves its address behind.
  if (!pidAlive(recorded.pid)) throw new ShadowscaleError('SHADOWSCALE_E_API_UNREACHABLE', `store ${path}: the run that served its API at ${recorded.url} (pid ${recorded.pid}) is gone`);
  return recorded.url;
}

/**
 * The base the API's paths (/api/v1/...) are appended to: the origin and any path prefix an API behind a
 * proxy has (http://host/shadowscale/), trailing slashes dropped. The API's own path (.../api/v1) is taken
 * for the base it is under.
 */
export function apiBaseOf(u: URL): string {
  // Only /api/v1: a proxy's prefix may well be /api itself.
  const path = u.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  return `${u.origin}${path}`;
}

/** GET a path of the API; its error answers become the same errors here (code and message). */
function get<T>(base: string, path: string, shape: z.ZodType<T>, opts: Record<string, unknown>, io: Io): Promise<T> {
  return call<T>(base, 'GET', path, undefined, shape, opts, io);
}

// fetch followed redirects (an API moved behind a proxy); undici's request follows none by itself. Its
// redirect interceptor drops the Authorization header on a redirect to another origin, as fetch does.
let following: Dispatcher | undefined;
const MAX_REDIRECTIONS = 5;

/**
 * A request to the API (a body is sent as JSON; POSTs use the admin token); error answers become the same
 * errors here. A successful answer must have `shape` (what these commands read of it): JSON from another
 * server at --api had ended in an internal error ("cannot read properties of undefined").
 */
export async function call<T>(base: string, method: 'GET' | 'POST' | 'DELETE', path: string, payload: unknown, shape: z.ZodType<T>, opts: Record<string, unknown>, io: Io): Promise<T> {
  const token = (opts.token as string | undefined) ?? (method === 'GET' ? (io.env[ENV_READ_TOKEN] ?? io.env[ENV_ADMIN_TOKEN]) : io.env[ENV_ADMIN_TOKEN]);
  // undici's request, not fetch: fetch refuses the ports browsers block (6000, 6665-6669, 10080, ...), where
  // `run --api` listens all the same ("bad port").
  let status: number;
  let text: string | undefined;
  try {
    const res = await request(`${base}${path}`, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(payload !== undefined ? { body: JSON.stringify(payload) } : {}), signal: AbortSignal.timeout(10_000), dispatcher: (following ??= getGlobalDispatcher().compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTIONS }))) });
    status = res.statusCode;
    text = await res.body.text().catch(() => undefined);
  } catch (err) {
    const e = err as Error & { code?: string };
    // undici's words for a Location naming the URL it came from blame a Client or Pool we do not use.
    const loop = /^Redirect loop detected/.test(e.message) ? /Cannot redirect to (\S+?)\.?(?:\s|$)/.exec(e.message)?.[1] : undefined;
    const why = e.name === 'TimeoutError' ? 'no answer in 10 s' : loop !== undefined ? `a redirect loop at ${loop}` : e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message;
    throw new ShadowscaleError('SHADOWSCALE_E_API_UNREACHABLE', `${base}: cannot reach the API (${why})`);
  }
  let body: (T & { error?: { code: string; message: string } }) | undefined;
  try {
    body = text === undefined ? undefined : (JSON.parse(text) as T & { error?: { code: string; message: string } });
  } catch {
    body = undefined;
  }
  if (status < 200 || status > 299) {
    const code = body?.error?.code;
    if (code && code in ERROR_CODES) throw new ShadowscaleError(code as ErrorCode, `${base}${path}: ${body?.error?.message ?? `HTTP ${status}`}`);
    throw new ShadowscaleError('SHADOWSCALE_E_API_UNREACHABLE', `${base}${path}: HTTP ${status}${status >= 300 && status < 400 ? ` (a redirect not followed: more than ${MAX_REDIRECTIONS} in a row, or no Location)` : ''}`);
  }
  if (body === undefined) throw new ShadowscaleError('SHADOWSCALE_E_API_UNREACHABLE', `${base}${path}: not a JSON answer`);
  const parsed = shape.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ShadowscaleError('SHADOWSCALE_E_API_UNREACHABLE', `${base}${path}: not an answer of the shadowscale API (${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'unexpected shape'}); is ${base} the API of a \`shadowscale run\`?`);
  }
  return parsed.data;
}

// What `status`, `decisions` and `rollout` read of the API's answers (docs/reference/api.md); the rest passes.
const num = z.number();
const poolView = z.looseObject({ requested: num, starting: num, ready: num, warming: num });
const serviceView = z.looseObject({
  name: z.string(),
  strategy: z.string(),
  mode: z.string(),
  paused: z.boolean(),
  acting: z.boolean(),
  target: num,
  instanceType: z.string(),
  bounds: z.looseObject({ min: num, max: num }),
  boundsOverride: z.looseObject({ min: num.optional(), max: num.optional(), until: z.string() }).nullable(),
  live: poolView,
  shadow: poolView,
  trials: z.looseObject({ running: num }),
  lastTick: z.looseObject({ at: z.string(), liveRps: num.nullable(), liveP99Ms: num.nullable(), forecast: z.looseObject({ mean: num, lower: num, upper: num }).nullable() }).nullable(),
});
export const servicesAnswer = z.looseObject({ services: z.array(serviceView) });
const decisionView = z.looseObject({
  seq: num,
  at: z.string(),
  reason: z.string(),
  current: num,
  target: num,
  boundReason: z.string().nullable(),
  wouldHave: z.looseObject({ why: z.string(), target: num }).nullable(),
  operator: z.looseObject({ by: z.string() }).optional(),
});
const eventsAnswer = z.looseObject({ events: z.array(z.looseObject({ name: z.string(), multiplier: z.number().nullable(), learned: z.looseObject({ multiplier: z.number() }).nullable().optional(), used: z.boolean(), next: z.looseObject({ start: z.string(), end: z.string() }).nullable() })) });
const decisionsAnswer = z.looseObject({ service: z.string(), decisions: z.array(decisionView), next: num.nullable() });

const f = (x: number | null | undefined, d = 0): string => (x === null || x === undefined ? '-' : x.toFixed(d));

export function registerStatus(program: Command, io: Io): void {
  addApiOptions(program.command('status').description("the state of a running `shadowscale run`, from its API: mode, pools, target, bounds, the latest tick")).action(async (opts: Record<string, unknown>) => {
    const base = apiBase(opts, io);
    const services = opts.service ? [await get(base, `/api/v1/services/${encodeURIComponent(opts.service as string)}`, serviceView, opts, io)] : (await get(base, '/api/v1/services', servicesAnswer, opts, io)).services;
    if (opts.json) {
      io.out(`${JSON.stringify({ api: base, services })}\n`);
      return;
    }
    // The nearest known event the forecasts use, per service (the text only; --json prints the services as the API does).
    const coming = await Promise.all(
      services.map(async (s) => {
        const events = (await get(base, `/api/v1/services/${encodeURIComponent(s.name)}/events`, eventsAnswer, opts, io)).events.filter((e) => e.used && e.next);
        return events.sort((a, b) => Date.parse(a.next?.start ?? '') - Date.parse(b.next?.start ?? ''))[0];
      }),
    );
    const lines = services.map((s, i) => {
      const t = s.lastTick;
      const state = s.paused ? 'PAUSED' : s.mode === 'forecast-only' ? 'FORECAST-ONLY' : 'acting';
      const e = coming[i];
      return [
        `${s.name}: ${state}, ${s.strategy}, target ${s.target} × ${s.instanceType} (bounds ${s.bounds.min}-${s.bounds.max}${s.boundsOverride ? `, overridden until ${s.boundsOverride.until}` : ''})`,
        `  live ${s.live.ready} ready (${s.live.warming} warming, ${s.live.starting} starting) of ${s.live.requested}; shadow ${s.shadow.ready} ready of ${s.shadow.requested}; trials ${s.trials.running}`,
        t ? `  at ${t.at}: ${f(t.liveRps, 1)} req/s, p99 ${f(t.liveP99Ms, 1)} ms${t.forecast ? `, forecast ${f(t.forecast.mean, 1)} [${f(t.forecast.lower, 1)}, ${f(t.forecast.upper, 1)}]` : ''}` : '  no tick yet',
        ...(e?.next ? [`  next known event: ${e.name} x${e.multiplier ?? `${e.learned?.multiplier.toFixed(2)} (learned)`} from ${e.next.start} to ${e.next.end}`] : []),
      ].join('\n');
    });
    io.out(`${base}\n${lines.join('\n')}\n`);
  });

  addApiOptions(program.command('decisions').description('the decisions of a running `shadowscale run`, newest first, from its API (with their reasons and numbers)'))
    .option('--since <time>', 'only decisions from this time: ISO 8601, or a duration back from now (30s, 15m, 2h, 7d)', (v: string) => sinceArg(v))
    .option('--until <time>', 'only decisions before this time: ISO 8601, or a duration back from now', (v: string) => sinceArg(v))
    .option('--before <seq>', 'only decisions older than this sequence number (the next page: what the last one printed as more)', positiveInteger)
    .option('--reason <names>', 'only decisions with these reasons (comma-separated; docs/reference/reasons.md)')
    .option('--limit <n>', 'at most this many (default 50; up to 1000)', positiveInteger, 50)
    .action(async (opts: Record<string, unknown>) => {
      if (opts.since !== undefined && opts.until !== undefined && !((opts.since as number) < (opts.until as number))) {
        throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--since: expected a time before --until (${new Date(opts.until as number).toISOString()}), got ${new Date(opts.since as number).toISOString()}`);
      }
      const base = apiBase(opts, io);
      const service = (opts.service as string | undefined) ?? (await get(base, '/api/v1/services', servicesAnswer, opts, io)).services[0]?.name;
      if (!service) throw new ShadowscaleError('SHADOWSCALE_E_NOT_FOUND', `${base}: the run has no service`);
      const q = new URLSearchParams({ limit: String(Math.min(1000, opts.limit as number)) });
      if (opts.since !== undefined) q.set('since', String(Math.round(opts.since as number)));
      if (opts.until !== undefined) q.set('until', String(Math.round(opts.until as number)));
      if (opts.before !== undefined) q.set('before', String(opts.before));
      if (opts.reason !== undefined) q.set('reason', opts.reason as string);
      const page = await get(base, `/api/v1/services/${encodeURIComponent(service)}/decisions?${q}`, decisionsAnswer, opts, io);
      if (opts.json) {
        io.out(`${JSON.stringify(page)}\n`);
        return;
      }
      const rows = page.decisions.map((d) => `${String(d.seq).padStart(6)}  ${d.at}  ${(d.boundReason ?? d.reason).padEnd(26)} ${String(d.current).padStart(4)} -> ${String(d.wouldHave?.target ?? d.target).padEnd(4)} ${d.wouldHave ? `would have set ${d.wouldHave.target} (${d.wouldHave.why})` : d.operator ? `by ${d.operator.by}` : `target ${d.target}`}`);
      io.out(`${service}: ${page.decisions.length} decision(s)${page.next !== null ? ` (more: --before ${page.next})` : ''}\n   seq  at                        reason                     from -> to\n${rows.join('\n')}\n`);
    });
}
