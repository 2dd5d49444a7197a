// metrics.source prometheus (issue 15, section 3): a real Prometheus (Debian's package) scrapes a real
// `run` (its gateway's metrics on /metrics, labelled by service) and the loop reads its traffic only from
// Prometheus: it scales out under load it learns there; when Prometheus goes away it reports the metrics
// missing and never scales in. The source itself: rates times the seconds since, the latency histogram,
// history by query_range, a template Prometheus refuses, a service with no samples, a stale service.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import type { LoopEvent } from '../../src/control/loop.js';
import { Runtime } from '../../src/control/runtime.js';
import { bucketsFromRates, fillTemplate, PromClient, PrometheusSource } from '../../src/metrics/prometheus.js';
import { keepScrapeTargets } from '../../src/control/scrape.js';
import { clients, component, smallRunConfig, startPrometheus, tempDir, until } from '../helpers.js';

describe('bucketsFromRates and fillTemplate', () => {
  const rows: { note: string; samples: { le: string; v: number }[]; seconds: number; scale?: number; want: [number, number][] }[] = [
    { note: 'cumulative per-second rates become counts of the interval at each upper bound (+Inf at the largest finite one)', samples: [{ le: '0.005', v: 2 }, { le: '0.01', v: 5 }, { le: '0.025', v: 5 }, { le: '+Inf', v: 6 }], seconds: 2, want: [[5, 4], [10, 6], [25, 2]] },
    { note: 'unsorted input, milliseconds (Istio) scaled', samples: [{ le: '+Inf', v: 1 }, { le: '50', v: 1 }], seconds: 10, scale: 1 / 1000, want: [[50, 10]] },
    { note: 'nothing in the interval', samples: [{ le: '0.1', v: 0 }, { le: '+Inf', v: 0 }], seconds: 5, want: [] },
  ];
  for (const r of rows) it(r.note, () => assert.deepEqual(bucketsFromRates(r.samples.map((s) => ({ labels: { le: s.le }, value: s.v })), r.seconds, r.scale), r.want));
  it('fills known placeholders and leaves PromQL braces alone', () => {
    assert.equal(fillTemplate('sum(rate(x{service="{service}",pool="{pool}"}[{range}]))', { service: 'web', pool: 'live', range: '30s' }), 'sum(rate(x{service="web",pool="live"}[30s]))');
    assert.equal(fillTemplate('{unknown}', {}), '{unknown}');
  });
});

describe('metrics from a real Prometheus', () => {
  it('the loop scales out on what Prometheus reports, and never scales in while Prometheus is gone', async (t) => {
    const binary = component(t, '/usr/bin/prometheus', 'prometheus');
    if (!binary) return;
    const dir = tempDir(t);
    const prom = await startPrometheus(t, binary, dir);
    // A slow type (1 slot, 40 ms): four clients back to back need three instances.
    const file = smallRunConfig(dir, {
      max: 3,
      tickSeconds: 0.5,
      periodSeconds: 1,
      extra: `metrics: { source: prometheus, prometheus: { url: "${prom.url}", rangeSeconds: 3, stalenessSeconds: 4, timeoutMs: 500, retries: 1, backfillHistory: false } }\n`,
    });
    writeFileSync(file, readFileSync(file, 'utf8').replace('small: { slots: 4, serviceTimeMs: 5,', 'small: { slots: 1, serviceTimeMs: 40,').replace('scaling: { strategy: reactive,', 'scaling: { staleMetricsSeconds: 30, strategy: reactive,'));
    const events: LoopEvent[] = [];
    const rt = await Runtime.start({ cfg: loadConfig({ file }), env: {}, onEvent: (e) => events.push(e) });
    t.after(() => rt.stop({ deleteInstances: true }));
    // Before Prometheus has scraped the run, the loop senses nothing and says so.
    await until('metrics missing reported', () => events.some((e) => e.kind === 'metrics_missing'), 10_000);
    assert.match(events.find((e) => e.kind === 'metrics_missing')?.detail ?? '', /no sample of service "web"/);
    // The run's /metrics, and each instance's (its process' CPU) labelled by service and pool, kept current.
    const stopScraping = keepScrapeTargets({ setTargets: prom.setGroups }, rt.apiUrl, rt.provider, 500);
    t.after(stopScraping);
    const source = new PrometheusSource({ client: new PromClient({ url: prom.url, timeoutMs: 1000, retries: 2 }), rangeSeconds: 3, stalenessSeconds: 4 });

    const load = clients(t, `${rt.listen}/work`, 4);
    await until(`the live pool scaled out to 3 on what Prometheus reports (${JSON.stringify(rt.loop.state().lastTick?.live ?? null)}; ${events.filter((e) => e.kind !== 'decision').map((e) => `${e.kind}: ${e.detail}`).join(' | ').slice(-1500)})`, () => rt.loop.state().target === 3, 60_000);
    assert.ok(load.ok > 0);
    // The loop's demand is Prometheus' rate: compare with a query of the same signal.
    const tick = rt.loop.state().lastTick;
    const promRps = (await prom.query('sum(rate(shadowscale_gateway_requests_total{service="web",pool="live"}[3s]))')).data?.result as { value: [number, string] }[];
    assert.ok(tick && promRps[0], 'a tick and a rate');
    t.diagnostic(`loop live rps ${tick.liveRps.toFixed(1)}, Prometheus ${Number(promRps[0].value[1]).toFixed(1)}`);
    assert.ok(tick.liveRps > 0);

    // The source: an interval of the run's traffic, its latency from the histogram (40 ms a request, queued behind others).
    await source.interval('web');
    await new Promise((r) => setTimeout(r, 1000));
    const iv = await source.interval('web');
    assert.equal(iv.missing, undefined, iv.missing);
    assert.ok(iv.live.requests > 10, `requests in ~1 s: ${iv.live.requests}`);
    assert.ok(iv.live.latencyMs.p50 >= 25 && iv.live.latencyMs.p50 <= 1000, `p50 ${iv.live.latencyMs.p50} ms`);
    assert.ok(iv.live.buckets.length > 0);
    const history = await source.history('web', Date.now() / 1000 - 20, Date.now() / 1000, 1);
    assert.ok(history.length >= 3 && history.some(([, v]) => v > 0), JSON.stringify(history.slice(-3)));
    // No samples of a service; a template Prometheus refuses (not retried); a service gone stale.
    assert.match((await source.interval('nope')).missing ?? '', /no sample of service "nope"/);
    const bad = new PrometheusSource({ client: new PromClient({ url: prom.url, retries: 3 }), rangeSeconds: 3, stalenessSeconds: 4, queries: { requestRate: 'sum(rate(' } });
    const t0 = Date.now();
    assert.match((await bad.interval('web')).missing ?? '', /Prometheus refused sum\(rate\(: bad_data/);
    assert.ok(Date.now() - t0 < 1500, 'a refused query is not retried');
    const stale = new PrometheusSource({ client: new PromClient({ url: prom.url }), rangeSeconds: 3, stalenessSeconds: 4, now: () => Date.now() + 60_000 });
    assert.match((await stale.interval('web')).missing ?? '', /newest sample of service "web" in Prometheus is \d+ s old \(stale after 4 s\)/);

    // CPU: the instances' own process_cpu_seconds_total (the sample service's /metrics), by pool; a request costs some.
    await until(`CPU measured (${JSON.stringify(rt.loop.state().lastTick?.cpu ?? null)})`, () => (rt.loop.state().lastTick?.cpu?.liveCores ?? 0) > 0 && rt.loop.state().lastTick?.cpu?.liveMsPerRequest !== undefined, 20_000);
    const cpu = rt.loop.state().lastTick?.cpu;
    assert.ok((cpu?.liveMsPerRequest ?? 0) > 0 && (cpu?.liveMsPerRequest ?? 0) < 100, JSON.stringify(cpu));
    assert.ok((cpu?.shadowCores ?? 0) > 0, `the shadow's CPU too: ${JSON.stringify(cpu)}`);
    assert.ok(rt.store.series({ service: 'web', pool: 'live', metric: 'cpu_cores', from: 0, to: Date.now() + 1000, resolution: 1 }).some((p) => p.max > 0), 'recorded each tick');
    assert.match(await (await fetch(`${rt.apiUrl}/metrics`)).text(), /shadowscale_cpu_cores\{service="web"\} \d/);
    // Prometheus goes away and the load stops: the metrics are missing, the pool keeps its 3 instances.
    const missingBefore = events.filter((e) => e.kind === 'metrics_missing').length;
    prom.stop();
    await until('metrics missing again', () => events.filter((e) => e.kind === 'metrics_missing').length > missingBefore, 10_000);
    assert.match(events.filter((e) => e.kind === 'metrics_missing').at(-1)?.detail ?? '', /Prometheus at http:\/\/127\.0\.0\.1:\d+/);
    const lastSeq = rt.store.decisions({ service: 'web' }).at(-1)?.seq ?? 0;
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(rt.loop.state().target, 3, 'no scale-in on missing metrics');
    const later = rt.store.decisions({ service: 'web' }).filter((d) => d.seq > lastSeq);
    assert.ok(later.length > 0, 'the loop kept deciding');
    assert.ok(later.every((d) => d.decision.desired >= d.decision.current), JSON.stringify(later.map((d) => [d.decision.reason, d.decision.current, d.decision.desired])));
  });
});
