// Many services in one run (issue 16, section 1): one gateway listener routes by Host and path prefix to
// each service's live pool; each service has its own loop, shadow and mirror; one service whose instances
// cannot start never stops the others' loops or traffic. Against real sample-service instances.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { loadConfig } from '../../src/config/load.js';
import type { LoopEvent, TickReport } from '../../src/control/loop.js';
import { Runtime } from '../../src/control/runtime.js';
import { component, promtoolCheck, tempDir, until } from '../helpers.js';

function servicesConfig(dir: string, services: string, types = ''): string {
  const file = join(dir, 'services.yaml');
  writeFileSync(
    file,
    `instanceTypes:\n  small: { slots: 4, serviceTimeMs: 5, queueLimit: 50, provisioningSeconds: 0.1, warmupSeconds: 0, warmupCapacity: 1 }\n${types}` +
      `services:\n${services}` +
      `gateway: { listen: 127.0.0.1:0 }\nstore: { path: ${join(dir, 'store.db')} }\ncontrol: { tickSeconds: 0.2, forecastBucketSeconds: 1 }\nprovider: { graceSeconds: 1 }\n`,
  );
  return file;
}

const svc = (name: string, routes: string, extra = ''): string => `  - name: ${name}\n    instanceType: small\n    pool: { min: 1, max: 2 }\n    shadow: { fraction: 0.25, sampling: { rate: 0.5 } }\n    scaling: { strategy: reactive, periodSeconds: 0.5, proof: off }\n${routes ? `    routes: ${routes}\n` : ''}${extra}`;

/** GET through the gateway with a Host field: status, the serving instance and the gateway's reason. */
async function get(base: string, host: string, path: string): Promise<{ status: number; instance: string | undefined; reason: string | undefined }> {
  const r = await request(`${base}${path}`, { headers: { host } });
  await r.body.dump();
  const h = (n: string): string | undefined => (typeof r.headers[n] === 'string' ? (r.headers[n] as string) : undefined);
  return { status: r.statusCode, instance: h('x-instance-id'), reason: h('x-shadowscale-reason') };
}

describe('one run, many services', () => {
  it('routes by Host and path prefix to each service, each with its own loop, shadow and metrics', async (t) => {
    const dir = tempDir(t);
    const file = servicesConfig(dir, svc('front', '[{ host: shop.example }]') + svc('api', '[{ pathPrefix: /api }]') + svc('rest', ''));
    const ticks: TickReport[] = [];
    const rt = await Runtime.start({ cfg: loadConfig({ file }), env: {}, onTick: (r) => ticks.push(r) });
    t.after(() => rt.stop({ deleteInstances: true }));
    assert.deepEqual(rt.services.map((s) => s.name), ['front', 'api', 'rest']);
    const ready = async (service: string, pool: 'live' | 'shadow') => (await rt.provider.list({ service, pool })).filter((i) => i.state === 'ready');
    await until('every service serves and has its shadow', async () => {
      for (const s of ['front', 'api', 'rest']) if ((await ready(s, 'live')).length < 1 || (await ready(s, 'shadow')).length < 1) return false;
      return (await get(rt.listen, 'shop.example', '/')).status === 200 && (await get(rt.listen, 'x', '/api/a')).status === 200 && (await get(rt.listen, 'x', '/')).status === 200;
    }, 30_000);
    const rows: { host: string; path: string; service: string }[] = [
      { host: 'shop.example', path: '/cart', service: 'front' },
      { host: 'SHOP.example:80', path: '/api/items', service: 'front' },
      { host: 'other.example', path: '/api/items?x=1', service: 'api' },
      { host: 'other.example', path: '/apix', service: 'rest' },
      { host: 'other.example', path: '/', service: 'rest' },
    ];
    for (const r of rows) {
      const a = await get(rt.listen, r.host, r.path);
      assert.equal(a.status, 200, `${r.host}${r.path}`);
      assert.ok(a.instance?.startsWith(`${r.service}-live-`), `${r.host}${r.path} served by ${a.instance}, expected a ${r.service} instance`);
    }
    // Each service's loop ticks and measures only its own traffic.
    for (let k = 0; k < 60; k++) await get(rt.listen, 'other.example', '/api/x');
    await until('each service ticked', () => ['front', 'api', 'rest'].every((s) => ticks.some((r) => r.service === s)), 10_000);
    const stats = await rt.service('api')?.gateway.stats();
    const front = await rt.service('front')?.gateway.stats();
    assert.ok((stats?.traffic.pools.live.requests ?? 0) >= 60, `api served ${stats?.traffic.pools.live.requests}`);
    assert.ok((front?.traffic.pools.live.requests ?? 0) < 30, `front served ${front?.traffic.pools.live.requests}: only its own`);
    // The API lists every service; /metrics merges the gateways' families, each sample labelled by service.
    const list = (await (await fetch(`${rt.apiUrl}/api/v1/services`)).json()) as { services: { name: string }[] };
    assert.deepEqual(list.services.map((s) => s.name), ['front', 'api', 'rest']);
    const metrics = await (await fetch(`${rt.apiUrl}/metrics`)).text();
    assert.equal(metrics.split('\n').filter((l) => l === '# TYPE shadowscale_gateway_requests_total counter').length, 1);
    assert.match(metrics, /shadowscale_gateway_requests_total\{service="api",pool="live",route="\/api"\} \d+/);
    assert.match(metrics, /shadowscale_mirror_requests_total\{service="front",result="sampled"\} \d+/);
    const promtool = component(t, '/usr/bin/promtool', 'prometheus');
    if (promtool) assert.deepEqual(await promtoolCheck(promtool, metrics), []);
  });

  it('without a default service an unrouted request is 404 no_route, and reaches no service', async (t) => {
    const dir = tempDir(t);
    const file = servicesConfig(dir, svc('a', '[{ pathPrefix: /a }]') + svc('b', '[{ pathPrefix: /b }]'));
    const rt = await Runtime.start({ cfg: loadConfig({ file }), env: {} });
    t.after(() => rt.stop({ deleteInstances: true }));
    await until('both serve', async () => (await get(rt.listen, 'x', '/a')).status === 200 && (await get(rt.listen, 'x', '/b/1')).status === 200, 30_000);
    const r = await get(rt.listen, 'x', '/c');
    assert.equal(r.status, 404);
    assert.equal(r.reason, 'no_route');
    assert.equal(r.instance, undefined);
  });

  it('two services without routes are refused at start, naming the service and what to do', async (t) => {
    const dir = tempDir(t);
    const file = servicesConfig(dir, svc('a', '') + svc('b', ''));
    await assert.rejects(Runtime.start({ cfg: loadConfig({ file }), env: {}, api: false }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SHADOWSCALE_E_CONFIG_INVALID');
      assert.match(err.message, /services\[1\]\.routes: services "a" and "b" have no routes/);
      return true;
    });
  });

  it("one service whose instances cannot start never stops the other's loop or traffic", async (t) => {
    const dir = tempDir(t);
    // "broken": the sample service exits at once (SLOTS is not a number): every instance fails and is replaced.
    const file = servicesConfig(dir, svc('good', '[{ pathPrefix: /good }]') + svc('bad', '[{ pathPrefix: /bad }]').replace('instanceType: small', 'instanceType: broken'), '  broken: { slots: 4, serviceTimeMs: 5, queueLimit: 50, provisioningSeconds: 0.1, warmupSeconds: 0, warmupCapacity: 1, env: { SLOTS: "none" } }\n');
    const events: LoopEvent[] = [];
    const ticks: TickReport[] = [];
    const rt = await Runtime.start({ cfg: loadConfig({ file }), env: {}, onEvent: (e) => events.push(e), onTick: (r) => ticks.push(r) });
    t.after(() => rt.stop({ deleteInstances: true }));
    await until('good serves, bad keeps failing', async () => (await get(rt.listen, 'x', '/good/w')).status === 200 && events.filter((e) => e.service === 'bad' && e.kind === 'replaced').length >= 2, 30_000);
    const goodTicks = ticks.filter((r) => r.service === 'good').length;
    let ok = 0;
    for (let k = 0; k < 50; k++) if ((await get(rt.listen, 'x', '/good/w')).status === 200) ok++;
    assert.equal(ok, 50);
    assert.equal((await get(rt.listen, 'x', '/bad/w')).reason, 'no_healthy_upstream');
    await until('good keeps ticking', () => ticks.filter((r) => r.service === 'good').length >= goodTicks + 5, 10_000);
    assert.equal(events.filter((e) => e.service === 'good' && (e.kind === 'replaced' || e.kind === 'action_failed')).length, 0);
  });
});
