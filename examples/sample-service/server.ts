// The sample service: a real HTTP service with real capacity limits, so that more instances really
// means more capacity, even on a 2-core machine. Requests wait (they do not burn CPU):
// 1. A request takes one of SLOTS worker slots, or waits in a bounded queue (503 `queue_full` beyond it).
// 2. It is served in a time drawn from SERVICE_TIME_DIST with mean SERVICE_TIME_MS, multiplied during
//    the first COLD_START_SECONDS by a factor falling linearly from COLD_START_FACTOR to 1 (a cache/JIT
//    warm-up).
// 3. In MODE=kv, PUT/POST/DELETE /kv/KEY are mutations of an in-memory store (versioned), GET /kv/KEY
//    reads it, and /state/snapshot copies the whole state out (GET) or in (PUT) to sync a shadow. A
//    mutation carrying `x-shadowscale-seq: ORIGIN.N` (the gateway's stamp) is remembered as applied;
//    GET /state/snapshot?since=ORIGIN:N[,…] also lists the stamps from N on that the state contains
//    (`applied`), for the versioned sync. GET /state/digest: a SHA-256 of the version and the entries.
//    STATE_WRITES=refuse answers every PUT /state/snapshot 503 (a copy-in that fails, for tests).
// 4. A "version" (VERSION, echoed in `x-version` and /healthz) may misbehave, for rollouts: from
//    DEGRADE_AFTER_SECONDS of uptime on, service times are multiplied by SLOWDOWN and ERROR_RATE of the
//    requests get a 500 (a slow version, a failing one, or one that fails only after a while).
// 5. With CALLS_PER_REQUEST above 0, a request outside MODE=kv's /kv/ paths also calls each dependency
//    its control plane named (SHADOWSCALE_DEPENDENCY_NAME_URL, and _HOST for the Host field) that many times
//    on average, after its own service time and with its slot released (an asynchronous service): the same
//    method, path and body, naming itself in `x-shadowscale-caller` (SHADOWSCALE_SERVICE). A dependency that
//    fails (5xx or no answer) makes it answer 502 `dependency_failed`.
// /healthz, /stats and /metrics (Prometheus' text format: the process' CPU seconds, memory and event-loop
// figures, and the requests it served, rejected and mutated) answer at once (no slot). SIGTERM: stop accepting, finish what was accepted, exit.
//
// Configuration by environment (the local provider passes PORT and the instance type's values):
//   PORT (required), SLOTS=4, SERVICE_TIME_MS=25, SERVICE_TIME_DIST=exponential|constant|lognormal,
//   SERVICE_TIME_CV=1 (lognormal), QUEUE_LIMIT=200, COLD_START_SECONDS=0, COLD_START_FACTOR=3,
//   STARTUP_DELAY_MS=0 (boot time before listening), MODE=stateless|kv, SEED=1, HOST=127.0.0.1,
//   SHADOWSCALE_INSTANCE_ID (echoed in `x-instance-id`), VERSION=v1, SLOWDOWN=1, ERROR_RATE=0,
//   DEGRADE_AFTER_SECONDS=0, CALLS_PER_REQUEST=0, STATE_WRITES=accept|refuse.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { createRng } from '../../src/core/random.js';

interface Settings {
  port: number;
  host: string;
  slots: number;
  serviceTimeMs: number;
  dist: 'exponential' | 'constant' | 'lognormal';
  cv: number;
  queueLimit: number;
  coldStartSeconds: number;
  coldStartFactor: number;
  startupDelayMs: number;
  mode: 'stateless' | 'kv';
  seed: number;
  instanceId: string;
  version: string;
  slowdown: number;
  errorRate: number;
  degradeAfterSeconds: number;
  callsPerRequest: number;
  stateWrites: 'accept' | 'refuse';
  service: string;
}

function fail(message: string): never {
  process.stderr.write(`sample-service: ${message}\n`);
  process.exit(2);
}

function readSettings(env: NodeJS.ProcessEnv): Settings {
  const num = (name: string, def: number | undefined, ok: (n: number) => boolean, what: string): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      if (def === undefined) fail(`${name}: expected ${what}, but it is not set`);
      return def;
    }
    const n = Number(raw);
    if (!ok(n)) fail(`${name}: expected ${what}, got "${raw}"`);
    return n;
  };
  const choice = <T extends string>(name: string, values: readonly T[], def: T): T => {
    const raw = env[name] ?? def;
    if (!(values as readonly string[]).includes(raw)) fail(`${name}: expected one of ${values.join(', ')}, got "${raw}"`);
    return raw as T;
  };
  const int = (n: number): boolean => Number.isInteger(n);
  return {
    port: num('PORT', undefined, (n) => int(n) && n >= 0 && n <= 65535, 'a port number (0-65535)'),
    host: env.HOST ?? '127.0.0.1',
    slots: num('SLOTS', 4, (n) => int(n) && n >= 1, 'a positive integer'),
    serviceTimeMs: num('SERVICE_TIME_MS', 25, (n) => Number.isFinite(n) && n > 0, 'a positive number of ms'),
    dist: choice('SERVICE_TIME_DIST', ['exponential', 'constant', 'lognormal'] as const, 'exponential'),
    cv: num('SERVICE_TIME_CV', 1, (n) => Number.isFinite(n) && n > 0, 'a positive number'),
    queueLimit: num('QUEUE_LIMIT', 200, (n) => int(n) && n >= 0, 'an integer >= 0'),
    coldStartSeconds: num('COLD_START_SECONDS', 0, (n) => Number.isFinite(n) && n >= 0, 'a number of seconds >= 0'),
    coldStartFactor: num('COLD_START_FACTOR', 3, (n) => Number.isFinite(n) && n >= 1, 'a number >= 1'),
    startupDelayMs: num('STARTUP_DELAY_MS', 0, (n) => Number.isFinite(n) && n >= 0, 'a number of ms >= 0'),
    mode: choice('MODE', ['stateless', 'kv'] as const, 'stateless'),
    seed: num('SEED', 1, (n) => int(n) && n >= 0, 'an integer >= 0'),
    instanceId: env.SHADOWSCALE_INSTANCE_ID ?? `sample-${process.pid}`,
    // A "version" of the service, for rollouts (docs/design/switchover.md): its name, and how it misbehaves.
    version: env.VERSION ?? 'v1',
    slowdown: num('SLOWDOWN', 1, (n) => Number.isFinite(n) && n >= 1, 'a number >= 1'),
    errorRate: num('ERROR_RATE', 0, (n) => Number.isFinite(n) && n >= 0 && n <= 1, 'a number between 0 and 1'),
    degradeAfterSeconds: num('DEGRADE_AFTER_SECONDS', 0, (n) => Number.isFinite(n) && n >= 0, 'a number of seconds >= 0'),
    callsPerRequest: num('CALLS_PER_REQUEST', 0, (n) => Number.isFinite(n) && n >= 0 && n <= 100, 'a number between 0 and 100'),
    stateWrites: choice('STATE_WRITES', ['accept', 'refuse'] as const, 'accept'),
    service: env.SHADOWSCALE_SERVICE ?? 'sample',
  };
}

const s = readSettings(process.env);
const rng = createRng(s.seed);

/** The dependencies its control plane named (SHADOWSCALE_DEPENDENCY_NAME_URL and _HOST), each with a connection pool. */
const dependencies = Object.entries(process.env)
  .filter(([k, v]) => /^SHADOWSCALE_DEPENDENCY_[A-Z0-9_]+_URL$/.test(k) && v)
  .map(([k, v]) => {
    const name = k.slice('SHADOWSCALE_DEPENDENCY_'.length, -'_URL'.length);
    const url = new URL(v as string);
    return { name, origin: url.origin, prefix: url.pathname.replace(/\/+$/, ''), host: process.env[`SHADOWSCALE_DEPENDENCY_${name}_HOST`], pool: new Pool(url.origin, { connections: 32 }) };
  });
const callCounts = { calls: 0, failed: 0 };

/** Call every dependency `callsPerRequest` times on average (the fraction drawn); the first failure, or undefined. */
async function callDependencies(method: string, url: string, body: string): Promise<string | undefined> {
  if (s.callsPerRequest <= 0 || dependencies.length === 0) return undefined;
  const whole = Math.floor(s.callsPerRequest);
  const n = whole + (s.callsPerRequest > whole && rng.next() < s.callsPerRequest - whole ? 1 : 0);
  const calls: Promise<string | undefined>[] = [];
  for (const d of dependencies) {
    for (let k = 0; k < n; k++) {
      callCounts.calls++;
      calls.push(
        d.pool
          .request({ method: method as 'GET', path: `${d.prefix}${url}`, headers: { 'x-shadowscale-caller': s.service, ...(d.host ? { host: d.host } : {}) }, ...(body && method !== 'GET' && method !== 'HEAD' ? { body } : {}), headersTimeout: 30_000, bodyTimeout: 30_000 })
          .then(async (r) => {
            await r.body.dump();
            return r.statusCode >= 500 ? `${d.name.toLowerCase()} answered ${r.statusCode}` : undefined;
          })
          .catch((err: Error) => `${d.name.toLowerCase()}: ${err.message}`),
      );
    }
  }
  const failed = (await Promise.all(calls)).find((x) => x !== undefined);
  if (failed) callCounts.failed++;
  return failed;
}
const started = performance.now();

/** Service time of one request (ms), cold start included. */
function serviceTime(): number {
  let t: number;
  if (s.dist === 'constant') t = s.serviceTimeMs;
  else if (s.dist === 'exponential') t = -Math.log(1 - rng.next()) * s.serviceTimeMs;
  else {
    // Lognormal with the given mean and coefficient of variation.
    const sigma2 = Math.log(1 + s.cv * s.cv);
    t = Math.exp(Math.log(s.serviceTimeMs) - sigma2 / 2 + Math.sqrt(sigma2) * rng.normal());
  }
  return t * coldFactor() * (degraded() ? s.slowdown : 1);
}

/** Whether this version misbehaves yet (SLOWDOWN, ERROR_RATE): from DEGRADE_AFTER_SECONDS of uptime on. */
function degraded(): boolean {
  return (performance.now() - started) / 1000 >= s.degradeAfterSeconds;
}

function coldFactor(): number {
  if (s.coldStartSeconds <= 0) return 1;
  const age = (performance.now() - started) / 1000;
  return age >= s.coldStartSeconds ? 1 : s.coldStartFactor - (s.coldStartFactor - 1) * (age / s.coldStartSeconds);
}

let busy = 0;
const queue: (() => void)[] = [];
const counts = { served: 0, rejected: 0, mutations: 0 };
const store = new Map<string, string>();
let version = 0;
/** Stamps of the mutations applied, per origin, in the order applied (the most recent APPLIED_KEPT). */
const applied = new Map<string, number[]>();
const APPLIED_KEPT = 1_000_000;

function remember(stamp: string | string[] | undefined): void {
  const h = Array.isArray(stamp) ? stamp[0] : stamp;
  const dot = h ? h.lastIndexOf('.') : -1;
  if (!h || dot <= 0) return;
  const n = Number(h.slice(dot + 1));
  if (!Number.isInteger(n)) return;
  const origin = h.slice(0, dot);
  const list = applied.get(origin) ?? [];
  list.push(n);
  if (list.length > APPLIED_KEPT) list.splice(0, list.length - APPLIED_KEPT);
  applied.set(origin, list);
}

/** `since=ORIGIN:N,…`: the stamps from N on (per origin) the state contains. */
function appliedSince(query: string): Record<string, number[]> | undefined {
  const since = new URLSearchParams(query).get('since');
  if (since === null) return undefined;
  const out: Record<string, number[]> = {};
  for (const part of since.split(',').filter(Boolean)) {
    const i = part.lastIndexOf(':');
    const origin = part.slice(0, i);
    const from = Number(part.slice(i + 1));
    out[origin] = (applied.get(origin) ?? []).filter((n) => n >= from);
  }
  return out;
}

function digest(): string {
  const h = createHash('sha256').update(String(version));
  for (const k of [...store.keys()].sort()) h.update(`\0${k}\0${store.get(k) as string}`);
  return h.digest('hex');
}

function release(): void {
  const next = queue.shift();
  if (next) next();
  else busy--;
}

/** Take a slot (or a queue place); false when the queue is full. */
function acquire(): Promise<void> | false {
  if (busy < s.slots) {
    busy++;
    return Promise.resolve();
  }
  if (queue.length >= s.queueLimit) return false;
  return new Promise((resolve) => queue.push(resolve));
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-instance-id': s.instanceId, 'x-version': s.version });
  res.end(text);
};

// The metrics registry, made at the first scrape (an instance nobody scrapes pays nothing): the CPU and
// memory counters are the process' own since it started, so nothing is lost by starting late.
let registry: Promise<import('prom-client').Registry> | undefined;
function metricsRegistry(): Promise<import('prom-client').Registry> {
  registry ??= import('prom-client').then(({ Registry, Counter, collectDefaultMetrics }) => {
    const r = new Registry();
    collectDefaultMetrics({ register: r });
    for (const [name, key, help] of [
      ['sample_service_served_total', 'served', 'Requests served'],
      ['sample_service_rejected_total', 'rejected', 'Requests rejected (queue full)'],
      ['sample_service_mutations_total', 'mutations', 'Mutations applied (MODE=kv)'],
    ] as const) {
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          this.reset();
          this.inc(counts[key]);
        },
      });
    }
    return r;
  });
  return registry;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const [path = '/', query = ''] = (req.url ?? '/').split('?') as [string?, string?];
  const method = req.method ?? 'GET';
  if (path === '/healthz') return json(res, 200, { ok: true, instance: s.instanceId, version: s.version, coldFactor: coldFactor() });
  if (path === '/stats') return json(res, 200, { instance: s.instanceId, slots: s.slots, busy, queued: queue.length, ...counts, dependencyCalls: callCounts.calls, dependencyFailures: callCounts.failed, version, uptimeSeconds: (performance.now() - started) / 1000, coldFactor: coldFactor() });
  if (path === '/metrics' && method === 'GET') {
    const r = await metricsRegistry();
    const text = await r.metrics();
    res.writeHead(200, { 'content-type': r.contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  if (path === '/state/snapshot') {
    if (s.mode !== 'kv') return json(res, 404, { error: 'state snapshots exist in MODE=kv only' });
    if (method === 'GET') {
      const since = appliedSince(query);
      return json(res, 200, { version, entries: Object.fromEntries(store), ...(since ? { applied: since } : {}) });
    }
    if (method === 'PUT') {
      if (s.stateWrites === 'refuse') return json(res, 503, { error: 'state writes refused (STATE_WRITES=refuse)' });
      let snap: { version?: unknown; entries?: unknown };
      try {
        snap = JSON.parse(await readBody(req)) as typeof snap;
      } catch (err) {
        return json(res, 400, { error: `body: expected a JSON snapshot {version, entries} (${(err as Error).message})` });
      }
      if (typeof snap.version !== 'number' || !snap.entries || typeof snap.entries !== 'object' || Array.isArray(snap.entries)) return json(res, 400, { error: 'body: expected {"version": number, "entries": {key: string}}' });
      store.clear();
      for (const [k, v] of Object.entries(snap.entries as Record<string, unknown>)) store.set(k, String(v));
      version = snap.version;
      return json(res, 200, { version, keys: store.size });
    }
    return json(res, 405, { error: `${method} /state/snapshot: expected GET or PUT` });
  }
  if (path === '/state/digest') {
    if (s.mode !== 'kv') return json(res, 404, { error: 'state digests exist in MODE=kv only' });
    return json(res, 200, { digest: digest(), version, keys: store.size });
  }

  const slot = acquire();
  if (slot === false) {
    counts.rejected++;
    req.resume();
    res.writeHead(503, { 'content-type': 'text/plain', 'x-instance-id': s.instanceId, 'retry-after': '1' });
    res.end('queue_full\n');
    return;
  }
  const arrived = performance.now();
  // A plain request's answer waits for its dependency calls, made with the slot released.
  let answer: { waitedMs: number; servedMs: number; body: string } | undefined;
  await slot;
  const waitedMs = performance.now() - arrived;
  try {
    const body = method === 'GET' || method === 'HEAD' ? '' : await readBody(req);
    const ms = serviceTime();
    await new Promise((r) => setTimeout(r, ms));
    counts.served++;
    // A failing version answers 500 to this share of its requests (no draw unless it fails at all: the seeded service times stay as they were).
    if (s.errorRate > 0 && degraded() && rng.next() < s.errorRate) return json(res, 500, { error: 'injected_failure', version: s.version });
    const kv = /^\/kv\/(.+)$/.exec(path);
    if (s.mode === 'kv' && kv) {
      const key = decodeURIComponent(kv[1] as string);
      if (method === 'GET') return store.has(key) ? json(res, 200, { key, value: store.get(key), version }) : json(res, 404, { key, version });
      if (method === 'PUT' || method === 'POST') {
        store.set(key, body);
        remember(req.headers['x-shadowscale-seq']);
        counts.mutations++;
        return json(res, 200, { key, version: ++version });
      }
      if (method === 'DELETE') {
        store.delete(key);
        remember(req.headers['x-shadowscale-seq']);
        counts.mutations++;
        return json(res, 200, { key, version: ++version });
      }
    }
    answer = { waitedMs, servedMs: ms, body };
  } finally {
    release();
  }
  if (!answer) return;
  const failed = await callDependencies(method, req.url ?? '/', answer.body);
  if (failed) return json(res, 502, { error: 'dependency_failed', detail: failed });
  return json(res, 200, { instance: s.instanceId, waitedMs: answer.waitedMs, servedMs: answer.servedMs });
}

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  handle(req, res).catch((err: unknown) => {
    if (!res.headersSent) json(res, 500, { error: String(err) });
    else res.destroy();
  });
});

setTimeout(() => {
  server.listen(s.port, s.host, () => {
    const addr = server.address();
    process.stdout.write(`${JSON.stringify({ listening: typeof addr === 'object' && addr ? addr.port : s.port, instance: s.instanceId })}\n`);
  });
}, s.startupDelayMs);

// Graceful stop: no new connections or requests; what was accepted (slots and queue) finishes.
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  const done = setInterval(() => {
    if (busy === 0 && queue.length === 0) {
      server.closeAllConnections();
      clearInterval(done);
    }
  }, 20);
});
