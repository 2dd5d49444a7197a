// The REST API, the dashboard's files and /metrics, served by `run` and `demo` (fastify). Requests are
// validated by the zod schemas of schemas.ts, which also generate the OpenAPI document at
// /openapi.json. Every error answers { error: { code, message } } with a code of the error registry;
// unknown fields and parameters are errors; bodies are bounded. Reference: docs/reference/api.md.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { Config } from '../config/schema.js';
import { answerClientError } from '../gateway/admin.js';
import { urlHost } from '../core/address.js';
import { ERROR_CODES, isShadowscaleError, ShadowscaleError, type ErrorCode } from '../core/errors.js';
import type { ScalingMode } from '../core/reasons.js';
import type { Store } from '../metrics/store.js';
import type { Provider } from '../providers/provider.js';
import { allows, Auth, type Principal, type Role } from './auth.js';
import type { RunMetrics } from './metrics.js';
import type { EdgeView } from '../control/dependencies.js';
import type { SharedPoolView } from '../control/shadow-pool.js';
import { boundsBody, decisionParams, decisionsQuery, eventBody, eventParams, eventsQuery, limitQuery, MAX_DECLARED_EVENTS, MAX_EVENT_AHEAD_DAYS, modeBody, noQuery, noteBody, proofBody, rangeQuery, rolloutBody, rolloutParams, serviceParams } from './schemas.js';
import { costView, decisionView, deltaView, eventsView, experimentsView, instancesView, resolutionFor, rolloutJson, rolloutsView, serviceView, timelineView, type ApiService, type ViewDeps } from './views.js';

export interface ApiOptions {
  readonly cfg: Config;
  readonly store: Store;
  readonly provider: Provider;
  readonly services: readonly ApiService[];
  readonly metrics: RunMetrics;
  /** More Prometheus text appended to /metrics (the gateway's own metrics). */
  readonly extraMetrics?: () => Promise<string>;
  /** The dependency graph's edges (declared, learned and used ratios); absent when no service depends on another. */
  readonly dependencies?: () => readonly EdgeView[];
  /** The shared shadow pool (shadowPool.mode: shared); undefined: dedicated shadows. */
  readonly shadowPool?: () => SharedPoolView;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly host: string;
  /** Whether this replica leads (provider.kind kubernetes); /readyz answers 503 while it follows. */
  readonly leading?: () => boolean;
  /**
   * The services whose live pool has not yet had a healthy member in the gateway since this process started
   * (a service at zero instances by its bounds is not waited for); /readyz answers 503 until none is left.
   */
  readonly waiting?: () => Promise<readonly string[]>;
  readonly now?: () => number;
}

export interface ApiServer {
  readonly app: FastifyInstance;
  readonly auth: Auth;
  /** Base URL once listening. */
  url: string;
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route: public (no token), read, or admin. */
    role?: Role | 'public';
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const require = createRequire(import.meta.url);

/** The dashboard's files (web/ and uPlot's build), read once: served from memory. */
function staticFiles(): Map<string, { type: string; body: Buffer }> {
  const web = join(ROOT, 'web');
  const uplot = dirname(require.resolve('uplot/package.json'));
  const files = new Map<string, { type: string; body: Buffer }>();
  const add = (url: string, file: string, type: string): void => {
    try {
      files.set(url, { type, body: readFileSync(file) });
    } catch {
      // A file missing from the package: its URL answers 404.
    }
  };
  add('/', join(web, 'index.html'), 'text/html; charset=utf-8');
  add('/app.js', join(web, 'app.js'), 'text/javascript; charset=utf-8');
  add('/style.css', join(web, 'style.css'), 'text/css; charset=utf-8');
  add('/assets/uplot.js', join(uplot, 'dist', 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8');
  add('/assets/uplot.css', join(uplot, 'dist', 'uPlot.min.css'), 'text/css; charset=utf-8');
  return files;
}

function errorReply(reply: FastifyReply, code: ErrorCode, message: string, headers: Record<string, string> = {}): FastifyReply {
  for (const [k, v] of Object.entries(headers)) void reply.header(k, v);
  return reply.code(ERROR_CODES[code].httpStatus).type('application/json').send({ error: { code, message } });
}

/** "body.mode", "query.limit", "params.service" from a validation issue. */
function where(context: string | undefined, path: string): string {
  const ctx = context === 'querystring' ? 'query' : (context ?? 'request');
  const rest = path.replace(/^\//, '').split('/').filter(Boolean).join('.');
  return rest ? `${ctx}.${rest}` : ctx;
}

/** Routes by method and path pattern, to tell 405 from 404. */
type RouteKey = { method: string; pattern: RegExp };

export async function createApi(o: ApiOptions): Promise<ApiServer> {
  const now = o.now ?? Date.now;
  const auth = new Auth(o.cfg.api.tokens, o.env, o.host);
  const byName = new Map(o.services.map((s) => [s.name, s]));
  const deps: ViewDeps = { cfg: o.cfg, store: o.store, provider: o.provider, now };
  const files = staticFiles();
  const routes: RouteKey[] = [];

  const app = Fastify({
    logger: false,
    bodyLimit: o.cfg.api.maxBodyBytes,
    // Malformed URLs (bad percent-encoding) answer in the registry's shape too.
    frameworkErrors: (err, _req, reply) => {
      void errorReply(reply, 'SHADOWSCALE_E_API_QUERY', `url: ${err.message}`);
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // Requests node's parser refuses (an unknown method, a malformed head): the same shape.
    clientErrorHandler: answerClientError,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'shadowscale API', version: '1', description: 'The operator API of `shadowscale run`: services, decisions, forecasts against demand, proofs, instances, live vs shadow, cost; pause, mode and bounds. Errors answer { error: { code, message } } with a code of docs/reference/errors.md.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: auth.open ? [] : [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  app.addHook('onRoute', (r) => {
    const pattern = new RegExp(`^${r.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z]+/g, '[^/]+')}/?$`);
    for (const m of [r.method].flat()) routes.push({ method: m, pattern });
  });

  app.addHook('onRequest', async (req, reply) => {
    const role = req.routeOptions.config.role ?? 'admin';
    if (role === 'public') return;
    const p = auth.authenticate(req.headers.authorization);
    if (p instanceof ShadowscaleError) return errorReply(reply, p.code, p.message, { 'www-authenticate': 'Bearer realm="shadowscale"' });
    if (!allows(p, role)) return errorReply(reply, 'SHADOWSCALE_E_API_FORBIDDEN', `${req.method} ${req.routeOptions.url}: needs an admin token; "${p.name}" is read-only`);
    req.principal = p;
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(path) && r.method !== 'HEAD').map((r) => r.method))];
    if (allowed.length) return errorReply(reply, 'SHADOWSCALE_E_METHOD_NOT_ALLOWED', `${req.method} ${path}: not allowed (allowed: ${allowed.join(', ')})`, { allow: allowed.join(', ') });
    return errorReply(reply, 'SHADOWSCALE_E_NOT_FOUND', `${req.method} ${path}: no such resource (see /openapi.json)`);
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issue = err.validation[0];
      const context = err.validationContext;
      const code: ErrorCode = context === 'body' ? 'SHADOWSCALE_E_API_INPUT' : 'SHADOWSCALE_E_API_QUERY';
      const keys = (issue?.params as { keys?: string[] } | undefined)?.keys;
      // Unknown fields: name them.
      if (issue?.keyword === 'unrecognized_keys' && keys?.length) return errorReply(reply, code, `${where(context, `${issue.instancePath}/${keys[0]}`)}: unknown ${context === 'body' ? 'field' : 'parameter'}`);
      return errorReply(reply, code, `${where(context, issue?.instancePath ?? '')}: ${issue?.message ?? 'invalid'}`);
    }
    if (isShadowscaleError(err)) return errorReply(reply, err.code, err.message);
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return errorReply(reply, 'SHADOWSCALE_E_API_BODY_TOO_LARGE', `body: expected at most ${o.cfg.api.maxBodyBytes} bytes (api.maxBodyBytes)`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return errorReply(reply, 'SHADOWSCALE_E_API_MEDIA_TYPE', `content-type: expected application/json, got ${JSON.stringify(req.headers['content-type'] ?? '')}`);
      default:
        break;
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return errorReply(reply, 'SHADOWSCALE_E_API_INPUT', `body: ${err.message}`);
    return errorReply(reply, 'SHADOWSCALE_E_INTERNAL', `${req.method} ${req.routeOptions.url ?? req.url}: ${err.message}`);
  });

  const service = (name: string): ApiService => {
    const s = byName.get(name);
    if (!s) throw new ShadowscaleError('SHADOWSCALE_E_NOT_FOUND', `params.service: no service "${name}" (have: ${[...byName.keys()].join(', ')})`);
    return s;
  };
  const range = (q: { since?: number; until?: number }, defaultSeconds: number): { since: number; until: number } => {
    const until = q.until ?? now();
    const since = q.since ?? until - defaultSeconds * 1000;
    if (since >= until) throw new ShadowscaleError('SHADOWSCALE_E_API_QUERY', `query.since: expected a time before until (${new Date(until).toISOString()}), got ${new Date(since).toISOString()}`);
    return { since, until };
  };
  const by = (req: FastifyRequest): string => req.principal?.name ?? 'unknown';

  // Public: health, the API's description, the dashboard's files.
  app.get('/healthz', { config: { role: 'public' }, schema: { hide: true } }, async () => ({ ok: true }));
  // Readiness: a replica that follows (another holds the Lease) takes no traffic and acts on nothing; one that
  // has just started (or taken over) takes none until every service's live pool has a healthy member, which its
  // gateway would otherwise answer with 503 no_healthy_upstream (as Envoy listens once its clusters are warm).
  app.get('/readyz', { config: { role: 'public' }, schema: { hide: true } }, async (_req, reply) => {
    const leading = o.leading?.() ?? true;
    const waiting = leading && o.waiting ? await o.waiting() : [];
    const ok = leading && waiting.length === 0;
    return reply.code(ok ? 200 : 503).send({ ok, leading, waiting });
  });
  app.get('/openapi.json', { config: { role: 'public' }, schema: { hide: true } }, async () => app.swagger());
  for (const [url, f] of files) app.get(url, { config: { role: 'public' }, schema: { hide: true } }, async (_req, reply) => reply.type(f.type).header('cache-control', 'no-cache').send(f.body));

  app.get('/metrics', { config: { role: 'read' }, schema: { hide: true } }, async (_req, reply) => {
    const text = (await o.metrics.registry.metrics()) + (o.extraMetrics ? await o.extraMetrics() : '');
    return reply.type(o.metrics.registry.contentType).send(text);
  });

  const read = { config: { role: 'read' as const } };
  const admin = { config: { role: 'admin' as const } };
  const tag = (summary: string, tags = ['read']) => ({ summary, tags });

  app.get('/api/v1/services', { ...read, schema: { ...tag('Every service with its mode, pools, target and latest tick'), querystring: noQuery } }, async () => ({ services: await Promise.all(o.services.map((s) => serviceView(s, deps))) }));

  app.get('/api/v1/dependencies', { ...read, schema: { ...tag('The dependency graph among the services of this run: per edge the declared calls per request (or instance ratio), the ratio learned from traffic (x-shadowscale-caller), the one scaling ahead uses and why, and the calls seen'), querystring: noQuery } }, async () => ({ edges: o.dependencies?.() ?? [] }));
  app.get('/api/v1/shadow-pool', { ...read, schema: { ...tag("The shadow capacity of this run: dedicated (each service's shadow sized by its shadow.fraction), or the shared pool: its capacity in worker slots, what is used, and per service the shadow instances granted and held, those its callers' trials borrow and its trials' slots"), querystring: noQuery } }, async () => o.shadowPool?.() ?? { mode: 'dedicated' });

  app.get('/api/v1/services/:service', { ...read, schema: { ...tag('One service: mode, pause, bounds, pools (requested, ready, warming, shadow), A/B arms, latest tick'), params: serviceParams, querystring: noQuery } }, async (req) => serviceView(service(req.params.service), deps));

  app.get('/api/v1/services/:service/decisions', { ...read, schema: { ...tag('Decisions with reason and numbers, newest first; filter by time and reason; page with before=next'), params: serviceParams, querystring: decisionsQuery } }, async (req) => {
    const s = service(req.params.service);
    const q = req.query;
    const page = o.store.decisionsPage({ service: s.name, ...(q.since !== undefined ? { since: q.since } : {}), ...(q.until !== undefined ? { until: q.until } : {}), ...(q.reason ? { reasons: q.reason } : {}), ...(q.before !== undefined ? { before: q.before } : {}), limit: q.limit ?? 100 });
    return { service: s.name, decisions: page.decisions.map((r) => decisionView(r, q.full === 'true')), next: page.next };
  });

  app.get('/api/v1/services/:service/decisions/:seq', { ...read, schema: { ...tag('One decision in full: reason, numbers, and its proof with every configuration considered'), params: decisionParams, querystring: noQuery } }, async (req) => {
    const s = service(req.params.service);
    const r = o.store.decision(s.name, req.params.seq);
    if (!r) throw new ShadowscaleError('SHADOWSCALE_E_NOT_FOUND', `params.seq: no decision ${req.params.seq} of service "${s.name}"`);
    return decisionView(r);
  });

  app.get('/api/v1/services/:service/timeline', { ...read, schema: { ...tag('Demand against the forecast (mean and interval), instances (live, ready, desired, shadow), live and shadow latency, as columns on one time axis; and the forecast ahead'), params: serviceParams, querystring: rangeQuery } }, async (req) => {
    const s = service(req.params.service);
    const r = range(req.query, 3600);
    return timelineView(s, deps, r.since, r.until, resolutionFor(r.until - r.since, req.query.resolution, o.store), req.query.points);
  });

  app.get('/api/v1/services/:service/cost', { ...read, schema: { ...tag('Cost of live, shadow and trials, of what decisions would have done, and of the oracle on the recorded demand'), params: serviceParams, querystring: rangeQuery } }, async (req) => {
    const s = service(req.params.service);
    const r = range(req.query, 86_400);
    return costView(s, deps, r.since, r.until, resolutionFor(r.until - r.since, req.query.resolution, o.store));
  });

  app.get('/api/v1/services/:service/instances', { ...read, schema: { ...tag('Instances of the service (live, shadow, trials, arms) with their recent events'), params: serviceParams, querystring: limitQuery } }, async (req) => {
    const s = service(req.params.service);
    return { service: s.name, ...instancesView(s, deps, await o.provider.list({ service: s.name }), req.query.limit ?? 200) };
  });

  app.get('/api/v1/services/:service/experiments', { ...read, schema: { ...tag('Proofs (trials on the shadow) and A/B experiments with their verdicts, and what the fresh trials prove now'), params: serviceParams, querystring: limitQuery } }, async (req) => ({ service: req.params.service, ...experimentsView(service(req.params.service), deps, req.query.limit ?? 100) }));

  app.get('/api/v1/services/:service/delta', { ...read, schema: { ...tag('Live vs shadow: the latest delta analyses (normalised by per-instance load) with their verdicts and numbers'), params: serviceParams, querystring: noQuery } }, async (req) => deltaView(service(req.params.service)));

  // Changes (admin): each is recorded as a decision before it applies, and answers with its sequence number.
  const changed = async (s: ApiService, seq: number | undefined) => ({ seq: seq ?? null, service: await serviceView(s, deps) });
  app.post('/api/v1/services/:service/pause', { ...admin, schema: { ...tag('Pause acting: decisions go on and are recorded as what would have been done', ['admin']), params: serviceParams, querystring: noQuery, body: noteBody.nullish() } }, async (req) => {
    const s = service(req.params.service);
    return changed(s, s.loop.pause(by(req), req.body?.note));
  });
  app.post('/api/v1/services/:service/resume', { ...admin, schema: { ...tag('Resume acting', ['admin']), params: serviceParams, querystring: noQuery, body: noteBody.nullish() } }, async (req) => {
    const s = service(req.params.service);
    return changed(s, s.loop.resume(by(req), req.body?.note));
  });
  app.put('/api/v1/services/:service/mode', { ...admin, schema: { ...tag('Set the mode: act, or forecast-only (decide and record, never act)', ['admin']), params: serviceParams, querystring: noQuery, body: modeBody } }, async (req) => {
    const s = service(req.params.service);
    return changed(s, s.loop.setMode(req.body.mode as ScalingMode, by(req), req.body.note));
  });
  app.put('/api/v1/services/:service/bounds', { ...admin, schema: { ...tag('Override the pool bounds (min, max) for a window of seconds', ['admin']), params: serviceParams, querystring: noQuery, body: boundsBody } }, async (req) => {
    const s = service(req.params.service);
    const b = req.body as z.output<typeof boundsBody>;
    const configured = s.loop.configuredBounds;
    const min = b.min ?? configured.minInstances;
    const max = b.max ?? configured.maxInstances;
    if (min > max) throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body.${b.min !== undefined ? 'min' : 'max'}: min ${min} would be above max ${max} (the configured ${b.min !== undefined ? 'max' : 'min'}); give both`);
    return changed(s, s.loop.overrideBounds({ ...(b.min !== undefined ? { min: b.min } : {}), ...(b.max !== undefined ? { max: b.max } : {}), until: now() + b.seconds * 1000 }, by(req), b.note));
  });
  app.delete('/api/v1/services/:service/bounds', { ...admin, schema: { ...tag('Remove the bounds override', ['admin']), params: serviceParams, querystring: noQuery, body: noteBody.nullish() } }, async (req) => {
    const s = service(req.params.service);
    return changed(s, s.loop.clearBounds(by(req), req.body?.note));
  });

  app.get('/api/v1/services/:service/events', { ...read, schema: { ...tag("Known events: the configuration's (events[]) and those declared at run time, each with its next occurrence, whether the strategies' forecasts use it (a multiplier), and with since and until its occurrences within that span"), params: serviceParams, querystring: eventsQuery } }, async (req) => {
    const q = req.query as z.output<typeof eventsQuery>;
    return eventsView(service(req.params.service), deps, q.since !== undefined && q.until !== undefined ? { since: q.since, until: q.until } : undefined);
  });
  app.post('/api/v1/services/:service/events', { ...admin, schema: { ...tag("Declare a known event at run time (a campaign announced today): from the next refit the strategies' forecasts fit the history without it and have it, and capacity is added a lead time before it starts (reason known_event). A yearly event may leave out its multiplier: its size is then learned from its last occurrence in the store's hourly history (used when it is a lift)", ['admin']), params: serviceParams, querystring: noQuery, body: eventBody } }, async (req, reply) => {
    const s = service(req.params.service);
    const b = req.body as z.output<typeof eventBody>;
    const t = now();
    if (b.recurrence === 'none' && b.end <= t) throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body.end: ${new Date(b.end).toISOString()} has passed: a one-off event that is over changes no forecast`);
    if (b.start > t + MAX_EVENT_AHEAD_DAYS * 86_400_000) throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body.start: expected at most ${MAX_EVENT_AHEAD_DAYS} days ahead, got ${new Date(b.start).toISOString()}`);
    if (deps.store.declaredEvents(s.name).length >= MAX_DECLARED_EVENTS) throw new ShadowscaleError('SHADOWSCALE_E_CONFLICT', `service "${s.name}" has ${MAX_DECLARED_EVENTS} events declared at run time, the most it keeps: remove some first (DELETE .../events/ID)`);
    const r = s.loop.declareEvent({ name: b.name, start: b.start, end: b.end, recurrence: b.recurrence, multiplier: b.multiplier ?? null }, by(req), b.note);
    const event = eventsView(s, deps).events.find((e) => e.id === r.id);
    return reply.code(201).send({ seq: r.seq, event });
  });
  app.delete('/api/v1/services/:service/events/:id', { ...admin, schema: { ...tag('Remove a known event declared at run time (those of the configuration stay until it changes)', ['admin']), params: eventParams, querystring: noQuery, body: noteBody.nullish() } }, async (req) => {
    const s = service(req.params.service);
    const seq = s.loop.removeEvent(req.params.id, by(req), req.body?.note);
    if (seq === undefined) throw new ShadowscaleError('SHADOWSCALE_E_NOT_FOUND', `no event "${req.params.id}" declared at run time for service "${req.params.service}" (GET .../events lists them; the configuration's have no id)`);
    return { seq };
  });

  app.post('/api/v1/services/:service/proofs', { ...admin, schema: { ...tag('Start a proof: a trial on the shadow of an instance type (default: the live pool\'s) around a rate per instance (default: the capacity the strategies plan with), within the trial budget', ['admin']), params: serviceParams, querystring: noQuery, body: proofBody.nullish() } }, async (req) => {
    const s = service(req.params.service);
    const r = s.loop.requestProof(by(req), { ...(req.body?.instanceType !== undefined ? { instanceType: req.body.instanceType } : {}), ...(req.body?.perInstanceRps !== undefined ? { perInstanceRps: req.body.perInstanceRps } : {}), ...(req.body?.note ? { note: req.body.note } : {}) });
    return { seq: r.seq, proof: { instanceType: r.instanceType, perInstanceRps: r.perInstanceRps }, service: await serviceView(s, deps) };
  });

  app.get('/api/v1/services/:service/rollouts', { ...read, schema: { ...tag('Version rollouts, newest first: the one under way (phase shadow, capacity or shifting) and the finished ones with their outcome (completed, stopped_in_shadow, rolled_back), why, and the figures'), params: serviceParams, querystring: limitQuery } }, async (req) => rolloutsView(service(req.params.service), deps, req.query.limit ?? 100));
  app.get('/api/v1/services/:service/rollouts/:id', { ...read, schema: { ...tag('One rollout'), params: rolloutParams, querystring: noQuery } }, async (req) => {
    const r = rolloutsView(service(req.params.service), deps, 100_000).rollouts.find((x) => x.id === req.params.id);
    if (!r) throw new ShadowscaleError('SHADOWSCALE_E_NOT_FOUND', `no rollout "${req.params.id}" for service "${req.params.service}"`);
    return r;
  });
  app.post('/api/v1/services/:service/rollouts', { ...admin, schema: { ...tag('Start a version rollout: the shadow runs the new version first (delta analysis, a capacity trial), then traffic shifts to it in steps with automatic rollback', ['admin']), params: serviceParams, querystring: noQuery, body: rolloutBody } }, async (req, reply) => {
    const s = service(req.params.service);
    const v = s.loop.startRollout(req.body.to, by(req) + (req.body.note ? ` (${req.body.note})` : ''));
    return reply.code(202).send({ rollout: rolloutJson(v), service: await serviceView(s, deps) });
  });

  const server: ApiServer = {
    app,
    auth,
    url: '',
    close: () => app.close(),
  };
  return server;
}

/** Listen on host:port (port 0: any free port); resolves with the base URL. */
/**
 * The ports browsers refuse to fetch (the Fetch standard's "bad ports", https://fetch.spec.whatwg.org/#port-blocking):
 * an API listening on one serves curl, Prometheus and `shadowscale status`, but its dashboard opens in no browser.
 */
export const BROWSER_BLOCKED_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** A note for the operator when the API's port is one browsers refuse (undefined otherwise). */
export function blockedPortNote(apiUrl: string): string | undefined {
  const port = Number(new URL(apiUrl).port);
  return BROWSER_BLOCKED_PORTS.has(port) ? `note: browsers refuse port ${port} (the Fetch standard's blocked ports), so the dashboard at ${apiUrl}/ opens in none; the API, /metrics and \`shadowscale status\` reach it. Another port serves the dashboard (--api or api.listen)` : undefined;
}

export async function listenApi(api: ApiServer, host: string, port: number): Promise<string> {
  try {
    await api.app.listen({ host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `api.listen: cannot listen on ${host}:${port} (${code}); choose another address (--api HOST:PORT)`, { cause: err });
    throw err;
  }
  const addr = api.app.server.address();
  const p = typeof addr === 'object' && addr ? addr.port : port;
  api.url = `http://${urlHost(host)}:${p}`;
  return api.url;
}
