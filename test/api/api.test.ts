// Integration tests of the REST API served by a real `run` runtime (local provider, sample-service
// instances, gateway and API on port 0): reads, operator changes recorded as decisions, forecast-only
// mode, bounds overrides, errors with stable codes, tokens and roles, /metrics through promtool, and
// the CLI's status and decisions commands against it.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { Runtime } from '../../src/control/runtime.js';
import { blockedPortNote } from '../../src/api/server.js';
import { Store } from '../../src/metrics/store.js';
import { createServer } from 'node:http';
import { component, prefixProxy, promtoolCheck, runCli, serve, smallRunConfig, tempDir, until } from '../helpers.js';

const config = (dir: string, extra = ''): string => smallRunConfig(dir, { tickSeconds: 0.2, periodSeconds: 0.4, extra });

type Json = Record<string, unknown> & { error?: { code: string; message: string } };
async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Json; headers: Headers }> {
  const res = await fetch(`${base}${path}`, { method, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
  const text = await res.text();
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch {
    json = { text };
  }
  return { status: res.status, json, headers: res.headers };
}

const liveReady = async (rt: Runtime): Promise<number> => (await rt.provider.list({ pool: 'live' })).filter((i) => i.state === 'ready').length;

describe('REST API of a running loop', () => {
  it('serves state, decisions, timeline, cost; pause, bounds and forecast-only are recorded and act (or do not) as they say', async (t) => {
    const dir = tempDir(t);
    const file = config(dir);
    const started = Date.now();
    const rt = await Runtime.start({ cfg: loadConfig({ file }), env: {} });
    t.after(() => rt.stop({ deleteInstances: true }));
    const api = rt.apiUrl as string;
    assert.match(api, /^http:\/\/127\.0\.0\.1:\d+$/);
    await until('one live instance ready and some decisions', async () => (await liveReady(rt)) === 1 && ((await call(api, 'GET', '/api/v1/services/web/decisions')).json.decisions as unknown[]).length >= 3);

    const svc = (await call(api, 'GET', '/api/v1/services/web')).json;
    assert.equal(svc.mode, 'act');
    assert.equal(svc.paused, false);
    assert.equal(svc.acting, true);
    assert.deepEqual(svc.bounds, { min: 1, max: 3 });
    assert.equal((svc.live as { ready: number }).ready, 1);
    const list = (await call(api, 'GET', '/api/v1/services')).json.services as { name: string }[];
    assert.deepEqual(list.map((s) => s.name), ['web']);

    // Pages: newest first, the cursor continues where the page ended, no decision twice.
    const p1 = (await call(api, 'GET', '/api/v1/services/web/decisions?limit=2')).json as { decisions: { seq: number; reason: string }[]; next: number };
    assert.equal(p1.decisions.length, 2);
    assert.ok((p1.decisions[0] as { seq: number }).seq > (p1.decisions[1] as { seq: number }).seq);
    assert.equal(p1.next, (p1.decisions[1] as { seq: number }).seq);
    const p2 = (await call(api, 'GET', `/api/v1/services/web/decisions?limit=2&before=${p1.next}`)).json as { decisions: { seq: number }[] };
    assert.ok(p2.decisions.every((d) => d.seq < p1.next));
    const one = (await call(api, 'GET', `/api/v1/services/web/decisions/${p1.next}`)).json as { seq: number; reason: string };
    assert.deepEqual([one.seq, one.reason], [p1.next, p1.decisions[1]?.reason]);

    // Pause, then hold min at 2 for a minute: decisions say what they would have done, the pool stays at 1.
    const paused = await call(api, 'POST', '/api/v1/services/web/pause', { note: 'maintenance' });
    assert.equal(paused.status, 200, JSON.stringify(paused.json));
    assert.equal((paused.json.service as { paused: boolean }).paused, true);
    const bounds = await call(api, 'PUT', '/api/v1/services/web/bounds', { min: 2, seconds: 60 });
    assert.equal(bounds.status, 200, JSON.stringify(bounds.json));
    assert.equal(((bounds.json.service as { bounds: { min: number } }).bounds).min, 2);
    await until('a decision that would have scaled to 2', async () => {
      const d = (await call(api, 'GET', '/api/v1/services/web/decisions?limit=1&reason=min_instances')).json.decisions as { wouldHave: { why: string; target: number } | null; target: number }[];
      return d[0]?.wouldHave?.why === 'paused' && d[0].wouldHave.target === 2 && d[0].target === 1;
    });
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(await liveReady(rt), 1, 'paused: no action');
    assert.equal((await rt.provider.list({ pool: 'live' })).length, 1);

    // The operator's changes are decisions with who made them.
    const ops = (await call(api, 'GET', '/api/v1/services/web/decisions?reason=operator_paused,operator_bounds')).json.decisions as { reason: string; operator: { by: string; note?: string; min?: number } }[];
    assert.deepEqual(ops.map((d) => d.reason), ['operator_bounds', 'operator_paused']);
    assert.equal(ops[1]?.operator.by, 'loopback');
    assert.equal(ops[1]?.operator.note, 'maintenance');
    assert.equal(ops[0]?.operator.min, 2);

    // Resume: the held minimum acts.
    const resumed = await call(api, 'POST', '/api/v1/services/web/resume');
    assert.equal(resumed.status, 200, JSON.stringify(resumed.json));
    await until('two live instances ready after resume', async () => (await liveReady(rt)) === 2);

    // Forecast-only: the bounds override removed, the loop would scale in to 1 but does not.
    const fo = await call(api, 'PUT', '/api/v1/services/web/mode', { mode: 'forecast-only' });
    assert.equal(fo.status, 200, JSON.stringify(fo.json));
    const cleared = await call(api, 'DELETE', '/api/v1/services/web/bounds');
    assert.equal(cleared.status, 200);
    assert.equal(cleared.json.service && (cleared.json.service as { boundsOverride: unknown }).boundsOverride, null);
    await until('a decision that would have scaled in', async () => {
      const d = (await call(api, 'GET', '/api/v1/services/web/decisions?limit=1')).json.decisions as { wouldHave: { why: string; target: number } | null; current: number }[];
      return d[0]?.wouldHave?.why === 'forecast-only' && d[0].wouldHave.target < d[0].current;
    });
    await new Promise((r) => setTimeout(r, 800));
    assert.equal((await rt.provider.list({ pool: 'live' })).filter((i) => i.state !== 'draining').length, 2, 'forecast-only: no action');
    const st = (await call(api, 'GET', '/api/v1/services/web')).json;
    assert.equal(st.mode, 'forecast-only');
    assert.equal(st.notActing, 'forecast-only');

    // Timeline and cost read the recorded series.
    const tl = (await call(api, 'GET', `/api/v1/services/web/timeline?resolution=1&since=${started}`)).json as Record<string, unknown[]> & { bucketSeconds: number };
    assert.equal(tl.bucketSeconds, 1);
    assert.ok((tl.t as number[]).length >= 3, JSON.stringify(tl.t));
    for (const k of ['demand', 'liveInstances', 'desired', 'shadowInstances', 'forecastUpper']) assert.equal(tl[k]?.length, tl.t?.length, k);
    // Decided (and would-have) targets over time: 1, then 2 for over a second (buckets of a second average
    // the ticks in them, so some bucket is at least half 2s).
    assert.ok((tl.desired as (number | null)[]).includes(1) && (tl.desired as number[]).some((x) => x >= 1.5), JSON.stringify(tl.desired));
    // Long ranges come in at most `points` buckets of whole resolution steps.
    const coarse = (await call(api, 'GET', '/api/v1/services/web/timeline?since=0&points=50')).json as { resolution: number; bucketSeconds: number; t: number[] };
    assert.equal(coarse.resolution, 3600);
    assert.ok(coarse.bucketSeconds % 3600 === 0 && coarse.t.length <= 2, JSON.stringify(coarse));
    const cost = (await call(api, 'GET', '/api/v1/services/web/cost?resolution=1')).json as { live: { instanceSeconds: number }; oracle: { instanceSeconds: number }; shadow: { instanceSeconds: number } };
    assert.ok(cost.live.instanceSeconds > 0 && cost.shadow.instanceSeconds > 0 && cost.oracle.instanceSeconds > 0, JSON.stringify(cost));
    const inst = (await call(api, 'GET', '/api/v1/services/web/instances')).json as { instances: { pool: string; events: unknown[] }[] };
    assert.ok(inst.instances.some((i) => i.pool === 'shadow') && inst.instances.some((i) => i.events.length > 0));
    assert.equal((await call(api, 'GET', '/api/v1/services/web/experiments')).status, 200);
    assert.equal((await call(api, 'GET', '/api/v1/services/web/delta')).status, 200);

    // A restart resumes the operator's state from the store: the mode (the config unchanged), not a pause (resumed).
    // Retention in between removes every decision it may (all older than a millisecond): the operator's stay.
    await rt.stop();
    const between = Store.open({ path: loadConfig({ file }).store.path, retention: { decisionsSeconds: 0.001 } });
    const pruned = between.prune(Date.now() + 10).decisions;
    const left = between.decisions({ service: 'web' }).map((d) => d.decision.reason);
    between.close();
    assert.ok(pruned > 0, 'retention removed decisions');
    assert.ok(left.includes('operator_mode') && left.includes('operator_resumed'), left.join(', '));
    const rt2 = await Runtime.start({ cfg: loadConfig({ file }), env: {} });
    t.after(() => rt2.stop({ deleteInstances: true }));
    const again = (await call(rt2.apiUrl as string, 'GET', '/api/v1/services/web')).json;
    assert.equal(again.mode, 'forecast-only');
    assert.equal(again.paused, false);

    // /metrics: the control plane's metrics and the gateway's, valid for promtool.
    await until('a tick of the restarted loop', () => rt2.loop.state().lastTick !== undefined);
    const metrics = await (await fetch(`${rt2.apiUrl}/metrics`)).text();
    for (const name of ['shadowscale_instances{', 'shadowscale_desired_instances{', 'shadowscale_decisions_total{', 'shadowscale_acting{', 'shadowscale_tick_duration_seconds_bucket{', 'shadowscale_cost_per_hour{', 'shadowscale_gateway_requests_total', 'shadowscale_experiments_total']) assert.ok(metrics.includes(name), name);
    assert.match(metrics, /shadowscale_decisions_total\{service="web",reason="operator_mode",acted="false"\} 1/);
    const promtool = component(t, '/usr/bin/promtool', 'prometheus');
    if (promtool) assert.deepEqual(await promtoolCheck(promtool, metrics), []);

    // The CLI reads the same API (found through the store of --config).
    const status = await runCli(['status', '--config', file, '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { services: { mode: string }[] }).services[0]?.mode, 'forecast-only');
    const human = await runCli(['status', '--api', rt2.apiUrl as string]);
    assert.match(human.stdout, /web: FORECAST-ONLY, reactive, target \d+ × small/);
    const ds = await runCli(['decisions', '--api', rt2.apiUrl as string, '--reason', 'operator_mode', '--json']);
    assert.equal(ds.code, 0, ds.stderr);
    assert.equal((JSON.parse(ds.stdout) as { decisions: { reason: string }[] }).decisions[0]?.reason, 'operator_mode');
    const badReason = await runCli(['decisions', '--api', rt2.apiUrl as string, '--reason', 'nope']);
    assert.equal(badReason.code, 2);
    assert.match(badReason.stderr, /query\.reason: expected reasons among .*got "nope" \[SHADOWSCALE_E_API_QUERY\]/);
    // Paging back: the human page names the next one (--before SEQ), which starts past it; --until bounds it.
    const seqs = async (args: string[]): Promise<number[]> => {
      const r = await runCli(['decisions', '--api', rt2.apiUrl as string, '--json', ...args]);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { decisions: { seq: number }[] }).decisions.map((d) => d.seq);
    };
    const first = await runCli(['decisions', '--api', rt2.apiUrl as string, '--until', '0s', '--limit', '2']);
    const next = Number(/\(more: --before (\d+)\)/.exec(first.stdout)?.[1]);
    assert.ok(next > 0, first.stdout);
    const older = await seqs(['--before', String(next), '--limit', '3']);
    assert.ok(older.length > 0 && older.every((q) => q < next), older.join(', '));
    assert.deepEqual(await seqs(['--until', '1970-01-02T00:00:00Z']), []);
    for (const [args, message] of [
      [['--since', '0s', '--until', '1m'], /--since: expected a time before --until/],
      [['--until', '99999999999d'], /--until <time>' argument '99999999999d' is invalid\. expected a time from 1970-01-01 on/],
      [['--before', '0'], /--before <seq>' argument '0' is invalid/],
    ] as const) {
      const r = await runCli(['decisions', '--api', rt2.apiUrl as string, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.doesNotMatch(r.stderr, /internal error/);
    }
    // Behind a proxy under a path prefix (an ingress at /ss/): the CLI keeps the prefix (it kept only the
    // origin, and reached the proxy's root); the API's own path in the URL is taken for its base.
    const proxy = await prefixProxy(t, '/ss', rt2.apiUrl as string);
    // A prefix named /api is a prefix, not the API's own path.
    const apiPrefix = await prefixProxy(t, '/api', rt2.apiUrl as string);
    const viaApi = await runCli(['status', '--api', `${apiPrefix}/api`, '--json']);
    assert.equal(viaApi.code, 0, viaApi.stderr);
    assert.equal((JSON.parse(viaApi.stdout) as { api: string }).api, `${apiPrefix}/api`);
    for (const base of [`${proxy}/ss/`, `${proxy}/ss`, `${proxy}/ss/api/v1`]) {
      const viaProxy = await runCli(['status', '--api', base, '--json']);
      assert.equal(viaProxy.code, 0, `${base}: ${viaProxy.stderr}`);
      const got = JSON.parse(viaProxy.stdout) as { api: string; services: { name: string; mode: string }[] };
      assert.deepEqual([got.api, got.services.map((s) => `${s.name} ${s.mode}`)], [`${proxy}/ss`, ['web forecast-only']], base);
    }
    const proxied = await runCli(['decisions', '--api', `${proxy}/ss/`, '--reason', 'operator_mode', '--json']);
    assert.equal(proxied.code, 0, proxied.stderr);
    assert.equal((JSON.parse(proxied.stdout) as { decisions: { reason: string }[] }).decisions[0]?.reason, 'operator_mode');
    for (const [base, message] of [
      [`${proxy}/ss/?v=1`, /--api: expected the API's base URL, without a \?query or #fragment, got ".*\/ss\/\?v=1"/],
      [`${proxy}/ss/#top`, /--api: expected the API's base URL, without a \?query or #fragment/],
      [(rt2.apiUrl as string).replace('http://', 'http://me:pw@'), /--api: expected the API's base URL without user:password@ \(a token goes in --token or SHADOWSCALE_API_TOKEN\)/],
    ] as const) {
      const r = await runCli(['status', '--api', base]);
      assert.equal(r.code, 2, `${base}: ${r.stderr}`);
      assert.match(r.stderr, message, base);
    }
  });

  it('known events: the configuration\'s listed, one declared at run time kept, recorded and removed', async (t) => {
    const dir = tempDir(t);
    const sets = ['services[0].events[0].name=sale', 'services[0].events[0].start=2026-01-02T09:00:00Z', 'services[0].events[0].end=2026-01-02T10:00:00Z', 'services[0].events[0].recurrence=yearly', 'services[0].events[0].multiplier=2', 'services[0].events[1].name=holiday', 'services[0].events[1].start=2026-12-25T00:00:00Z', 'services[0].events[1].end=2026-12-26T00:00:00Z'];
    const rt = await Runtime.start({ cfg: loadConfig({ file: config(dir), sets }), env: {}, autoTick: false });
    t.after(() => rt.stop({ deleteInstances: true }));
    const api = rt.apiUrl as string;
    type Ev = { id: string | null; source: string; name: string; start: string; end: string; recurrence: string; multiplier: number | null; learned: unknown; used: boolean; next: { start: string; end: string } | null; by?: string; note?: string | null };
    const list = async (): Promise<Ev[]> => (await call(api, 'GET', '/api/v1/services/web/events')).json.events as Ev[];
    const configured = await list();
    assert.deepEqual(configured.map((e) => [e.source, e.name, e.multiplier, e.learned, e.used, e.id]), [['config', 'sale', 2, null, true, null], ['config', 'holiday', null, null, false, null]]);
    // A yearly event's next occurrence is the coming 2 January at 09:00.
    assert.match(configured[0]?.next?.start ?? '', /^\d{4}-01-02T09:00:00\.000Z$/);
    assert.ok(Date.parse(configured[0]?.next?.end ?? '') > Date.now());
    // With a span, the occurrences within it (what the dashboard bands): the sale's of 2026 in its first week, none
    // of the holiday; without a span, no list.
    const spanned = (await call(api, 'GET', '/api/v1/services/web/events?since=2026-01-01T00:00:00Z&until=2026-01-08T00:00:00Z')).json.events as (Ev & { occurrences?: { start: string }[] })[];
    assert.deepEqual(spanned.map((e) => (e.occurrences ?? []).map((o) => o.start)), [['2026-01-02T09:00:00.000Z'], []]);
    assert.equal((configured[0] as { occurrences?: unknown }).occurrences, undefined);
    for (const [query, message] of [
      ['since=2026-01-01T00:00:00Z', /^query\.since: expected since and until together/],
      ['since=2026-01-08T00:00:00Z&until=2026-01-01T00:00:00Z', /^query\.since: expected since before until, at most 31 days apart/],
      ['since=2026-01-01T00:00:00Z&until=2026-03-01T00:00:00Z', /^query\.since: expected since before until, at most 31 days apart/],
    ] as const) {
      const r = await call(api, 'GET', `/api/v1/services/web/events?${query}`);
      assert.equal(r.status, 400, query);
      assert.match(r.json.error?.message ?? '', message, query);
    }

    const start = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 3_600_000).toISOString();
    const end = new Date(Date.parse(start) + 7_200_000).toISOString();
    const made = await call(api, 'POST', '/api/v1/services/web/events', { name: 'launch', start, end, multiplier: 4, note: 'from marketing' });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    const ev = made.json.event as Ev;
    assert.deepEqual([ev.source, ev.name, ev.start, ev.end, ev.recurrence, ev.multiplier, ev.used, ev.next, ev.by, ev.note], ['api', 'launch', start, end, 'none', 4, true, { start, end }, 'loopback', 'from marketing']);
    assert.match(ev.id ?? '', /^ev-/);
    assert.deepEqual((await list()).map((e) => e.name), ['sale', 'holiday', 'launch']);
    // status names the nearest one the forecasts use (the launch, within hours; the sale is next January).
    const status = await runCli(['status', '--api', api]);
    assert.equal(status.code, 0, status.stderr);
    assert.ok(status.stdout.includes(`  next known event: launch x4 from ${start} to ${end}\n`), status.stdout);
    // Kept in the store (a restart reads it back), and the loop's forecasts read it with the configured ones (the holiday, of no size and no past occurrence in the store, changes nothing).
    assert.deepEqual(rt.store.declaredEvents('web').map((e) => e.id), [ev.id]);
    const loop = rt.services[0]?.loop;
    assert.deepEqual(loop?.knownEvents().map((e) => [e.name, e.multiplier]), [['sale', 2], ['holiday', undefined], ['launch', 4]]);

    // A yearly event may come without a size: kept as such, recorded with multiplier null, and the forecasts
    // have it with the size its last occurrence shows (none yet: this store has no history of it).
    const yearly = await call(api, 'POST', '/api/v1/services/web/events', { name: 'black-friday', start, end, recurrence: 'yearly' });
    assert.equal(yearly.status, 201, JSON.stringify(yearly.json));
    const bf = yearly.json.event as Ev;
    assert.deepEqual([bf.source, bf.recurrence, bf.multiplier, bf.learned, bf.used], ['api', 'yearly', null, null, false]);
    assert.deepEqual(rt.store.declaredEvents('web').map((e) => [e.name, e.multiplier]), [['launch', 4], ['black-friday', null]]);
    assert.deepEqual(loop?.knownEvents().map((e) => [e.name, e.multiplier]), [['sale', 2], ['holiday', undefined], ['launch', 4], ['black-friday', undefined]]);
    const bfRecord = (await call(api, 'GET', '/api/v1/services/web/decisions?reason=operator_event')).json.decisions as { operator: { event?: { id: string; multiplier: number | null } }; numbers: Record<string, number> }[];
    assert.deepEqual([bfRecord[0]?.operator.event?.id, bfRecord[0]?.operator.event?.multiplier, bfRecord[0]?.numbers.multiplier], [bf.id, null, undefined]);
    assert.equal((await call(api, 'DELETE', `/api/v1/services/web/events/${bf.id}`)).status, 200);

    const gone = await call(api, 'DELETE', `/api/v1/services/web/events/${ev.id}`, { note: 'postponed' });
    assert.equal(gone.status, 200, JSON.stringify(gone.json));
    assert.deepEqual((await list()).map((e) => e.name), ['sale', 'holiday']);
    const again = await call(api, 'DELETE', `/api/v1/services/web/events/${ev.id}`);
    assert.equal(again.status, 404);
    const ops = (await call(api, 'GET', '/api/v1/services/web/decisions?reason=operator_event,operator_event_removed')).json.decisions as { reason: string; operator: { by: string; note?: string; event?: { id: string; multiplier: number } } }[];
    assert.deepEqual(ops.map((d) => [d.reason, d.operator.event?.id, d.operator.note]).filter((d) => d[1] === ev.id), [['operator_event_removed', ev.id, 'postponed'], ['operator_event', ev.id, 'from marketing']]);

    // The same through the CLI: declare, list, remove; bad flags are exit 2 before anything is sent.
    const added = await runCli(['events', '--api', api, '--add', 'sale2', '--start', start, '--end', end, '--multiplier', '2.5', '--json']);
    assert.equal(added.code, 0, added.stderr);
    const id = (JSON.parse(added.stdout) as { event: Ev }).event.id as string;
    const listed = await runCli(['events', '--api', api]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^web: 3 known event\(s\)\n {2}sale: x2, yearly from 2026-01-02T09:00:00\.000Z to 2026-01-02T10:00:00\.000Z; next \d{4}-01-02T09:00:00\.000Z \(configuration\)\n {2}holiday: no multiplier \(Prophet only\), .*\n {2}sale2: x2\.5, .* \(declared at run time, ev-/);
    const removed = await runCli(['events', '--api', api, '--remove', id, '--note', 'done']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, `web: removed ${id}\n`);
    // A yearly one without --multiplier: the run learns its size; until it has, the list says so.
    const learning = await runCli(['events', '--api', api, '--add', 'bf', '--start', start, '--end', end, '--recurrence', 'yearly']);
    assert.equal(learning.code, 0, learning.stderr);
    assert.match(learning.stdout, /^web: declared\n {2}bf: no multiplier, none learned yet \(the store holds too little of its last occurrence and the weeks around it\), yearly from /);
    const bfId = /\(declared at run time, (ev-[^)]+)\)/.exec(learning.stdout)?.[1] as string;
    assert.equal((await runCli(['events', '--api', api, '--remove', bfId])).code, 0);
    for (const [args, message] of [
      [['--start', start], /--start describes an event to declare: it needs --add NAME/],
      [['--add', 'x', '--start', start, '--end', end], /--add x: --multiplier is missing \(only a yearly event may leave it out/],
      [['--add', 'x', '--start', start, '--end', end, '--recurrence', 'weekly'], /--add x: --multiplier is missing/],
      [['--add', 'x', '--start', start, '--end', end, '--multiplier', '2', '--recurrence', 'hourly'], /--recurrence: expected one of none, daily, weekly, yearly, got "hourly"/],
      [['--remove', 'ev-none'], /no event "ev-none" declared at run time for service "web"/],
      [['--add', 'x', '--start', end, '--end', start, '--multiplier', '2'], /body\.end: expected end after start/],
    ] as const) {
      const r = await runCli(['events', '--api', api, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.deepEqual((await list()).map((e) => e.name), ['sale', 'holiday']);
  });

  it('answers bad requests with a 4xx and a stable code, changing nothing', async (t) => {
    const soon = { name: 'campaign', start: new Date(Date.now() + 3_600_000).toISOString(), end: new Date(Date.now() + 7_200_000).toISOString(), multiplier: 3 };
    const dir = tempDir(t);
    const rt = await Runtime.start({ cfg: loadConfig({ file: config(dir, 'api: { maxBodyBytes: 1024 }\n') }), env: {}, autoTick: false });
    t.after(() => rt.stop({ deleteInstances: true }));
    const api = rt.apiUrl as string;
    const cases: [string, string, unknown, number, string, RegExp, Record<string, string>?][] = [
      ['PUT', '/api/v1/services/web/mode', { mode: 'sometimes' }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.mode: expected one of "act", "forecast-only", got "sometimes"$/],
      ['PUT', '/api/v1/services/web/mode', { mode: 'act', force: true }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.force: unknown field$/],
      ['PUT', '/api/v1/services/web/mode', '{"mode": ', 400, 'SHADOWSCALE_E_API_INPUT', /^body: /],
      ['PUT', '/api/v1/services/web/mode', `{"mode":"act","note":"${'x'.repeat(2000)}"}`, 413, 'SHADOWSCALE_E_API_BODY_TOO_LARGE', /at most 1024 bytes/],
      ['PUT', '/api/v1/services/web/mode', '<mode/>', 415, 'SHADOWSCALE_E_API_MEDIA_TYPE', /content-type: expected application\/json/, { 'content-type': 'application/xml' }],
      ['PUT', '/api/v1/services/web/bounds', { min: 3, max: 2, seconds: 60 }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.min: expected min <= max$/],
      ['PUT', '/api/v1/services/web/bounds', { min: 5, seconds: 60 }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.min: min 5 would be above max 3/],
      ['PUT', '/api/v1/services/web/bounds', { seconds: 60 }, 400, 'SHADOWSCALE_E_API_INPUT', /^body: expected min, max or both$/],
      ['PUT', '/api/v1/services/web/bounds', { max: 2, seconds: 1e9 }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.seconds: expected seconds: a number from 1 to 604800, got 1000000000$/],
      ['PUT', '/api/v1/services/web/bounds', { max: 2.5, seconds: 10 }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.max: expected max: an integer/],
      ['GET', '/api/v1/services/web/decisions?limit=0', undefined, 400, 'SHADOWSCALE_E_API_QUERY', /^query\.limit: expected a page size from 1 to 1000, got 0$/],
      ['GET', '/api/v1/services/web/decisions?limit=5&limit=6', undefined, 400, 'SHADOWSCALE_E_API_QUERY', /^query\.limit: expected a page size from 1 to 1000, got a list$/],
      ['GET', '/api/v1/services/web/decisions?since=yesterday', undefined, 400, 'SHADOWSCALE_E_API_QUERY', /^query\.since: expected since as an ISO 8601 date-time/],
      ['GET', '/api/v1/services/web/decisions?colour=red', undefined, 400, 'SHADOWSCALE_E_API_QUERY', /^query\.colour: unknown parameter$/],
      ['GET', '/api/v1/services/web/timeline?since=2030-01-01T00:00:00Z&until=2029-01-01T00:00:00Z', undefined, 400, 'SHADOWSCALE_E_API_QUERY', /^query\.since: expected a time before until/],
      ['GET', '/api/v1/services/nope', undefined, 404, 'SHADOWSCALE_E_NOT_FOUND', /^params\.service: no service "nope" \(have: web\)$/],
      ['GET', '/api/v1/nothing', undefined, 404, 'SHADOWSCALE_E_NOT_FOUND', /^GET \/api\/v1\/nothing: no such resource/],
      ['DELETE', '/api/v1/services/web/mode', undefined, 405, 'SHADOWSCALE_E_METHOD_NOT_ALLOWED', /allowed: PUT/],
      ['GET', '/api/v1/services/%E0%A4%A', undefined, 400, 'SHADOWSCALE_E_API_QUERY', /^url: /],
      ['GET', '/api/v1/services/web/decisions/0', undefined, 400, 'SHADOWSCALE_E_API_QUERY', /^params\.seq: expected a decision sequence number, got 0$/],
      ['GET', '/api/v1/services/web/decisions/123456', undefined, 404, 'SHADOWSCALE_E_NOT_FOUND', /^params\.seq: no decision 123456 of service "web"$/],
      ['GET', '/api/v1/services/web/decisions?full=yes', undefined, 400, 'SHADOWSCALE_E_API_QUERY', /^query\.full: expected "true" or "false", got "yes"$/],
      ['POST', '/api/v1/services/web/proofs', {}, 409, 'SHADOWSCALE_E_CONFLICT', /^scaling\.proof is off: no trials run/],
      ['POST', '/api/v1/services/web/proofs', { perInstanceRps: -1 }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.perInstanceRps: expected a rate per instance from 0\.1 to 100000 req\/s, got -1$/],
      ['POST', '/api/v1/services/web/events', { ...soon, end: soon.start }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.end: expected end after start$/],
      ['POST', '/api/v1/services/web/events', { ...soon, multiplier: 0 }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.multiplier: expected a number from 0\.001 to 1000, got 0$/],
      ['POST', '/api/v1/services/web/events', { name: 'x', start: soon.start, end: soon.end }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.multiplier: expected a number from 0\.001 to 1000 \(only a yearly event may leave it out/],
      ['POST', '/api/v1/services/web/events', { name: 'x', start: soon.start, end: soon.end, recurrence: 'daily' }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.multiplier: expected a number from 0\.001 to 1000 \(only a yearly event may leave it out/],
      ['POST', '/api/v1/services/web/events', { ...soon, recurrence: 'yearly', multiplier: null }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.multiplier: expected a number from 0\.001 to 1000/],
      ['POST', '/api/v1/services/web/events', { ...soon, start: '2030-01-01 10:00' }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.start: expected start as an ISO 8601 date-time with its zone/],
      ['POST', '/api/v1/services/web/events', { ...soon, recurrence: 'hourly' }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.recurrence: expected one of none, daily, weekly, yearly/],
      ['POST', '/api/v1/services/web/events', { ...soon, end: new Date(Date.parse(soon.start) + 2 * 86_400_000).toISOString(), recurrence: 'daily' }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.end: expected an occurrence no longer than its recurrence's period/],
      ['POST', '/api/v1/services/web/events', { ...soon, start: '2020-01-01T10:00:00Z', end: '2020-01-01T12:00:00Z' }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.end: 2020-01-01T12:00:00\.000Z has passed/],
      ['POST', '/api/v1/services/web/events', { ...soon, start: '2099-01-01T10:00:00Z', end: '2099-01-01T12:00:00Z' }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.start: expected at most 400 days ahead/],
      ['POST', '/api/v1/services/web/events', { ...soon, colour: 'red' }, 400, 'SHADOWSCALE_E_API_INPUT', /^body\.colour: unknown field$/],
      ['DELETE', '/api/v1/services/web/events/ev-none', undefined, 404, 'SHADOWSCALE_E_NOT_FOUND', /^no event "ev-none" declared at run time for service "web"/],
    ];
    for (const [method, path, body, status, code, message, headers] of cases) {
      const r = await call(api, method, path, body, headers);
      assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error?.code, code, `${method} ${path}`);
      assert.match(r.json.error?.message ?? '', message, `${method} ${path}`);
      if (status === 405) assert.equal(r.headers.get('allow'), 'PUT');
    }
    // Nothing changed: no operator decision, the mode and bounds as configured.
    const st = (await call(api, 'GET', '/api/v1/services/web')).json;
    assert.equal(st.mode, 'act');
    assert.equal(st.boundsOverride, null);
    assert.equal(((await call(api, 'GET', '/api/v1/services/web/decisions')).json.decisions as unknown[]).length, 0);
    // The CLI: no address to go by, or the address of a run that is gone.
    const nowhere = await runCli(['status']);
    assert.equal(nowhere.code, 2);
    assert.match(nowhere.stderr, /--api: where is the running `run`\? Give --api URL, SHADOWSCALE_API_URL, or --config FILE/);
    const gone = join(dir, 'gone.db');
    const s = Store.open({ path: gone });
    s.setMeta('api', JSON.stringify({ url: 'http://127.0.0.1:9', pid: 2 ** 22 + 7 }));
    const stale = await runCli(['status', '--set', `store.path=${gone}`]);
    s.close();
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /the run that served its API at http:\/\/127\.0\.0\.1:9 \(pid 4194311\) is gone \[SHADOWSCALE_E_API_UNREACHABLE\]/);
    const down = await runCli(['decisions', '--api', 'http://127.0.0.1:9']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /http:\/\/127\.0\.0\.1:9: cannot reach the API .*\[SHADOWSCALE_E_API_UNREACHABLE\]/);
    // A port browsers block (the Fetch standard's "bad ports": 6000, 6665-6669, 10080, ...): `run --api`
    // listens there, and the CLI reaches it (fetch refused it, "bad port").
    const blocked = createServer((_q, res) => res.setHeader('content-type', 'application/json').end('{"services":[]}'));
    let port: number | undefined;
    for (const p of [6665, 6666, 6667, 6668, 6669, 10080, 6000]) {
      port = await new Promise<number | undefined>((r) => {
        blocked.once('error', () => r(undefined));
        blocked.listen(p, '127.0.0.1', () => r(p));
      });
      if (port !== undefined) break;
    }
    assert.ok(port !== undefined, 'one of the blocked ports is free');
    t.after(() => new Promise<void>((r) => blocked.close(() => r())));
    const onBlocked = await runCli(['status', '--api', `http://127.0.0.1:${port}`, '--json']);
    assert.equal(onBlocked.code, 0, onBlocked.stderr);
    assert.deepEqual(JSON.parse(onBlocked.stdout), { api: `http://127.0.0.1:${port}`, services: [] });
    // Redirects are followed, as fetch did (an API moved behind a proxy): the token goes along within the
    // origin and is dropped on the way to another one; a loop ends with the last answer named.
    const seen: { path: string; auth: string | undefined }[] = [];
    const target = await serve(t, createServer((q, res) => {
      seen.push({ path: q.url as string, auth: q.headers.authorization });
      res.setHeader('content-type', 'application/json').end('{"services":[]}');
    }));
    const mover = await serve(t, createServer((q, res) => {
      seen.push({ path: q.url as string, auth: q.headers.authorization });
      const u = q.url as string;
      if (u === '/api/v1/services') res.writeHead(301, { location: '/moved/api/v1/services' }).end();
      else if (u === '/moved/api/v1/services') res.writeHead(307, { location: `${target}/elsewhere${u}` }).end();
      else res.writeHead(302, { location: `/hop${u}` }).end();
    }));
    const moved = await runCli(['status', '--api', mover, '--token', 's3cret', '--json']);
    assert.equal(moved.code, 0, moved.stderr);
    assert.deepEqual(JSON.parse(moved.stdout), { api: mover, services: [] });
    assert.deepEqual(seen, [
      { path: '/api/v1/services', auth: 'Bearer s3cret' },
      { path: '/moved/api/v1/services', auth: 'Bearer s3cret' },
      { path: '/elsewhere/moved/api/v1/services', auth: undefined },
    ]);
    const loop = await runCli(['decisions', '--api', mover, '--service', 'web']);
    assert.equal(loop.code, 1, loop.stderr);
    assert.match(loop.stderr, /\/api\/v1\/services\/web\/decisions.*: HTTP 302 \(a redirect not followed: more than 5 in a row, or no Location\) \[SHADOWSCALE_E_API_UNREACHABLE\]/);
    const selfLoop = await serve(t, createServer((q, res) => res.writeHead(302, { location: q.url as string }).end()));
    const self = await runCli(['status', '--api', selfLoop]);
    assert.equal(self.code, 1, self.stderr);
    assert.match(self.stderr, /cannot reach the API \(a redirect loop at http:\/\/127\.0\.0\.1:\d+\) \[SHADOWSCALE_E_API_UNREACHABLE\]/);
    // `rollout` without --service on a run with several: refused, nothing started (the first had been taken).
    const posts: string[] = [];
    const svc = (name: string): unknown => ({ name, strategy: 'hybrid', mode: 'act', paused: false, acting: true, target: 1, instanceType: 'small', bounds: { min: 1, max: 3 }, boundsOverride: null, live: { requested: 1, starting: 0, ready: 1, warming: 0 }, shadow: { requested: 1, starting: 0, ready: 1, warming: 0 }, trials: { running: 0 }, lastTick: null });
    const two = await serve(t, createServer((q, res) => {
      if (q.method !== 'GET') posts.push(`${q.method} ${q.url}`);
      res.setHeader('content-type', 'application/json').end(JSON.stringify({ services: [svc('web'), svc('store')] }));
    }));
    const guess = await runCli(['rollout', '--api', two, '--to', 'v2']);
    assert.equal(guess.code, 2, guess.stderr);
    assert.match(guess.stderr, /--service: the run at http:\/\/127\.0\.0\.1:\d+ has 2 services \(web, store\); name the one to roll out \[SHADOWSCALE_E_USAGE\]/);
    assert.deepEqual(posts, []);
    // Another server's JSON at --api (a wrong port) was an internal error reading its fields.
    const foreign = await serve(t, createServer((_q, res) => res.setHeader('content-type', 'application/json').end('{"status":"UP"}')));
    for (const args of [['status'], ['decisions'], ['rollout', '--to', 'v2']]) {
      const r = await runCli([...args, '--api', foreign]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /\/api\/v1\/services: not an answer of the shadowscale API \(services: .*\); is http:\/\/127\.0\.0\.1:\d+ the API of a `shadowscale run`\? \[SHADOWSCALE_E_API_UNREACHABLE\]/, args[0]);
    }
    // The OpenAPI document describes the routes and their parameters, from the same schemas.
    const doc = (await call(api, 'GET', '/openapi.json')).json as { openapi: string; paths: Record<string, Record<string, { parameters?: { name: string }[]; requestBody?: unknown }>> };
    assert.match(doc.openapi, /^3\./);
    assert.deepEqual(doc.paths['/api/v1/services/{service}/decisions']?.get?.parameters?.map((p) => p.name).sort(), ['before', 'full', 'limit', 'reason', 'service', 'since', 'until']);
    assert.ok(doc.paths['/api/v1/services/{service}/bounds']?.put?.requestBody);
  });

  it('is not ready until the live pool has a healthy member, then ready for good; a pool that may stay empty is not waited for', async (t) => {
    // The instance takes 1.5 s to listen: until then the gateway answers 503 no_healthy_upstream, and
    // /readyz (a load balancer's or the kubelet's probe) says so instead of sending clients there.
    const dir = tempDir(t);
    const file = config(dir);
    writeFileSync(file, readFileSync(file, 'utf8').replace('provisioningSeconds: 0.1', 'provisioningSeconds: 1.5'));
    const rt = await Runtime.start({ cfg: loadConfig({ file }), env: {} });
    t.after(() => rt.stop({ deleteInstances: true }));
    const api = rt.apiUrl as string;
    const early = await call(api, 'GET', '/readyz');
    assert.deepEqual([early.status, early.json], [503, { ok: false, leading: true, waiting: ['web'] }]);
    const refused = await fetch(`${rt.listen}/work`);
    assert.deepEqual([refused.status, refused.headers.get('x-shadowscale-reason')], [503, 'no_healthy_upstream']);
    await refused.text();
    await until('ready', async () => (await call(api, 'GET', '/readyz')).status === 200, 15_000);
    const served = await fetch(`${rt.listen}/work`);
    assert.equal(served.status, 200, 'ready means the gateway serves');
    await served.text();
    assert.deepEqual((await call(api, 'GET', '/readyz')).json, { ok: true, leading: true, waiting: [] });
    // Latched: the member leaves (drained behind the paused loop's back); the gateway answers 503 again, and
    // the run stays ready: the loop replaces lost members, and a probe that flapped would not serve anyone.
    await rt.pauseTicking();
    for (const m of await rt.gateway.members()) await rt.gateway.drainAndWait(m.id);
    const lost = await fetch(`${rt.listen}/work`);
    assert.equal(lost.status, 503);
    await lost.text();
    assert.equal((await call(api, 'GET', '/readyz')).status, 200);

    // min 0 and nothing to serve: no instance is coming, so there is nothing to wait for.
    const dir0 = tempDir(t);
    const file0 = config(dir0);
    writeFileSync(file0, readFileSync(file0, 'utf8').replace('pool: { min: 1', 'pool: { min: 0'));
    const rt0 = await Runtime.start({ cfg: loadConfig({ file: file0 }), env: {} });
    t.after(() => rt0.stop({ deleteInstances: true }));
    assert.deepEqual((await call(rt0.apiUrl as string, 'GET', '/readyz')).json, { ok: true, leading: true, waiting: [] });
  });

  it('names a port browsers refuse, where the dashboard would open in none', () => {
    const cases: [string, boolean][] = [
      ['http://127.0.0.1:6000', true],
      ['http://127.0.0.1:6667', true],
      ['http://[::1]:10080', true],
      ['http://127.0.0.1:8080', false],
      ['http://127.0.0.1:45123', false],
    ];
    for (const [url, blocked] of cases) {
      const note = blockedPortNote(url);
      if (blocked) assert.match(note ?? '', new RegExp(`browsers refuse port ${new URL(url).port} .*the dashboard at ${url.replace(/[[\]]/g, '\\$&')}/ opens in none`), url);
      else assert.equal(note, undefined, url);
    }
  });

  it('with tokens: read-only and admin roles; without a token the API refuses; a non-loopback address needs a token', async (t) => {
    const dir = tempDir(t);
    const admin = 'admin-token-0123456789';
    const reader = 'read-token-0123456789ab';
    const rt = await Runtime.start({ cfg: loadConfig({ file: config(dir, `api: { tokens: [{ name: ops, role: admin, fromEnv: OPS_TOKEN }, { name: grafana, role: read, value: ${reader} }] }\n`) }), env: { OPS_TOKEN: admin }, autoTick: false });
    t.after(() => rt.stop({ deleteInstances: true }));
    const api = rt.apiUrl as string;
    const bearer = (x: string) => ({ authorization: `Bearer ${x}` });
    const none = await call(api, 'GET', '/api/v1/services');
    assert.equal(none.status, 401);
    assert.equal(none.json.error?.code, 'SHADOWSCALE_E_API_UNAUTHORIZED');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="shadowscale"');
    assert.equal((await call(api, 'GET', '/api/v1/services', undefined, bearer('wrong-token-0123456789'))).status, 401);
    assert.equal((await call(api, 'GET', '/api/v1/services', undefined, bearer(reader))).status, 200);
    assert.equal((await call(api, 'GET', '/metrics', undefined, bearer(reader))).status, 200);
    assert.equal((await call(api, 'GET', '/metrics')).status, 401);
    const forbidden = await call(api, 'POST', '/api/v1/services/web/pause', {}, bearer(reader));
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.json.error?.message ?? '', /needs an admin token; "grafana" is read-only/);
    const ok = await call(api, 'POST', '/api/v1/services/web/pause', {}, bearer(admin));
    assert.equal(ok.status, 200);
    const d = (await call(api, 'GET', '/api/v1/services/web/decisions', undefined, bearer(reader))).json.decisions as { operator: { by: string } }[];
    assert.equal(d[0]?.operator.by, 'ops');
    // Public: the page, the API's description, health.
    for (const p of ['/', '/openapi.json', '/healthz', '/assets/uplot.js']) assert.equal((await call(api, 'GET', p)).status, 200, p);
    // The CLI passes its token.
    const cli = await runCli(['status', '--api', api], { SHADOWSCALE_API_READ_TOKEN: reader });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /web: PAUSED/);
    const noToken = await runCli(['status', '--api', api]);
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /\[SHADOWSCALE_E_API_UNAUTHORIZED\]/);

    // No token and a non-loopback address: refused at start, naming api.listen.
    const open = await runCli(['run', '--config', config(tempDir(t)), '--api', '0.0.0.0:0']);
    assert.equal(open.code, 2);
    assert.match(open.stderr, /api\.listen: 0\.0\.0\.0 is not a loopback address and no API token is configured/);
  });

  it('starts a proof on request: a trial of the asked type and rate, recorded as a decision', async (t) => {
    const dir = tempDir(t);
    const file = config(dir);
    const cfg = loadConfig({ file, sets: ['services[0].scaling.proof=advisory', 'services[0].scaling.trials.samplesPerStep=368', 'services[0].scaling.trials.maxStepSeconds=5', 'services[0].scaling.trials.budgetShare=1'] });
    const rt = await Runtime.start({ cfg, env: {} });
    t.after(() => rt.stop({ deleteInstances: true }));
    const api = rt.apiUrl as string;
    const trials = async () => ((await call(api, 'GET', '/api/v1/services/web/experiments')).json.experiments as { id: string; kind: string; verdict: string | null; config: { perInstanceRps?: number } }[]).filter((e) => e.kind === 'trial');
    // The gate's own calibration first; a request while a trial of the type runs is refused, saying why.
    await until('the calibration trial finished', async () => (await trials()).some((e) => e.verdict !== null), 60_000);
    await until('no trial running', async () => (await trials()).every((e) => e.verdict !== null), 60_000);
    const before = (await trials()).length;
    const asked = await call(api, 'POST', '/api/v1/services/web/proofs', { perInstanceRps: 55.5, note: 'check before the sale' });
    assert.equal(asked.status, 200, JSON.stringify(asked.json));
    assert.deepEqual(asked.json.proof, { instanceType: 'small', perInstanceRps: 55.5 });
    const again = await call(api, 'POST', '/api/v1/services/web/proofs', { instanceType: 'nope' });
    assert.equal(again.status, 400);
    assert.match(again.json.error?.message ?? '', /^body\.instanceType: "nope" is not a type the gate proves \(have: small/);
    await until('the requested trial ran', async () => (await trials()).length > before && (await trials()).slice(before).some((e) => e.config.perInstanceRps === 55.5 && e.verdict !== null), 60_000);
    const d = (await call(api, 'GET', '/api/v1/services/web/decisions?reason=operator_proof')).json.decisions as { operator: { instanceType: string; perInstanceRps: number; note: string } }[];
    assert.deepEqual(d.map((x) => [x.operator.instanceType, x.operator.perInstanceRps, x.operator.note]), [['small', 55.5, 'check before the sale']]);
  });
});
