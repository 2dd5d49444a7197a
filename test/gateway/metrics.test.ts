// Unit tests: route classes; merging measurements of several processes (a cluster's workers) is exact.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeReports, type WorkerReport } from '../../src/gateway/control.js';
import { intervalView, routeClass, TrafficMetrics, type Observation } from '../../src/gateway/metrics.js';
import { createRng } from '../../src/core/random.js';

const obs = (path: string, durationMs: number, status = 200, mutation = false): Observation => ({ method: mutation ? 'POST' : 'GET', path, status, durationMs, bytesIn: 10, bytesOut: 100, mutation });

describe('routeClass', () => {
  const cases: [string, string][] = [
    ['/', '/'],
    ['/?q=1', '/'],
    ['/api', '/api'],
    ['/api/v1/users?id=3', '/api'],
    ['/api?x=/y', '/api'],
    ['//double', '/'],
    ['*', '/'],
    ['http://host/x', '/'],
  ];
  for (const [path, want] of cases) it(`${path} -> ${want}`, () => assert.equal(routeClass(path), want));
});

describe('TrafficMetrics.dump / absorb', () => {
  it('merging the parts gives the same snapshot as measuring everything in one place', () => {
    const rng = createRng(7);
    const rnd = (): number => rng.next();
    // Configured classes: learned ones depend on what each part saw first.
    const routes = ['/api', '/static'];
    const whole = new TrafficMetrics(() => 0, routes);
    const parts = [new TrafficMetrics(() => 0, routes), new TrafficMetrics(() => 0, routes), new TrafficMetrics(() => 0, routes)];
    for (let i = 0; i < 3000; i++) {
      const o = obs(rnd() < 0.3 ? '/api/x' : '/static/y', 0.05 + rnd() * rnd() * 400, rnd() < 0.02 ? 503 : 200, rnd() < 0.1);
      const pool = rnd() < 0.2 ? 'shadow' : 'live';
      whole.observe(pool, o);
      (parts[i % 3] as TrafficMetrics).observe(pool, o);
    }
    const merged = new TrafficMetrics(() => 0);
    for (const p of parts) merged.absorb(JSON.parse(JSON.stringify(p.dump())) as ReturnType<TrafficMetrics['dump']>);
    assert.deepEqual(merged.snapshot(), whole.snapshot());
  });

  it('mergeReports adds counters, ANDs member health and sums their load', () => {
    const m = new TrafficMetrics(() => 0);
    m.observe('live', obs('/', 1));
    const report = (healthy: boolean, outstanding: number, errors: Record<string, number>): WorkerReport => ({
      traffic: m.dump(),
      mirror: { sampled: 2, mirrored: 1, dropped: 1, failed: 0, inFlight: 0, queued: 0, armSampled: 3, armSent: 6, armFailed: 0, armDropped: 1, warmSent: 1, warmFailed: 0, warmDropped: 2, rate: 0.1 },
      live: [{ id: 'live-0', url: 'http://a', weight: 1, healthy, outstanding, requests: 5 }],
      errors,
      callers: { front: outstanding },
    });
    const { stats } = mergeReports([report(true, 1, { upstream_reset: 1 }), report(false, 2, { upstream_reset: 2, bad_request: 1 })], () => 0);
    assert.deepEqual(stats.callers, { front: 3 });
    assert.equal(stats.traffic.pools.live.requests, 2);
    assert.deepEqual(stats.mirror, { sampled: 4, mirrored: 2, dropped: 2, failed: 0, inFlight: 0, queued: 0, armSampled: 6, armSent: 12, armFailed: 0, armDropped: 2, warmSent: 2, warmFailed: 0, warmDropped: 4, rate: 0.1 });
    assert.deepEqual(stats.live, [{ id: 'live-0', url: 'http://a', weight: 1, healthy: false, outstanding: 3, requests: 10 }]);
    assert.deepEqual(stats.errors, { upstream_reset: 3, bad_request: 1 });
    assert.equal(stats.workers, 2);
  });

  it('intervals: each read covers what was measured since the previous one, in process or as merged dumps', () => {
    const a = new TrafficMetrics(() => 0);
    const b = new TrafficMetrics(() => 0);
    for (const m of [a, b]) for (const ms of [1, 2, 3]) m.observe('live', obs('/', ms));
    assert.equal(a.takeIntervalView().live.requests, 3);
    assert.equal(intervalView([b.takeInterval()]).live.requests, 3);
    for (const m of [a, b]) {
      m.observe('live', obs('/', 100, 503));
      m.observe('live', obs('/', 100));
      m.observe('shadow', obs('/', 7));
    }
    const va = a.takeIntervalView();
    const vb = intervalView([b.takeInterval()]);
    for (const v of [va, vb]) {
      assert.deepEqual([v.live.requests, v.live.errors, v.shadow.requests], [2, 1, 1]);
      assert.ok(Math.abs(v.live.latencyMs.p50 - 100) < 0.2, String(v.live.latencyMs.p50));
      assert.deepEqual(v.live.buckets.map(([, c]) => c), [2], 'only the new observations');
    }
    assert.equal(a.takeIntervalView().live.requests, 0, 'nothing new');
    assert.equal(a.snapshot().pools.live.requests, 5, 'the totals are untouched');
  });
});

// Issue 10, item 9: the first 50 arbitrary first segments any client sent became route classes, so
// /checkout was "other" and /metrics grew to 150 KB.
describe('route classes are bounded and not taken by client input', () => {
  const classes = (m: TrafficMetrics): string[] => Object.keys(m.snapshot().pools.live.routes).sort();
  it('regression: 404s, failures, ids and junk do not become classes; a real route learned later still does', () => {
    const m = new TrafficMetrics(() => 0);
    for (let i = 0; i < 500; i++) m.observe('live', obs(`/probe-${i}`, 1, 404));
    for (let i = 0; i < 500; i++) m.observe('live', obs(`/${i}`, 1, 200));
    for (let i = 0; i < 100; i++) m.observe('live', obs(`/x${'y'.repeat(40)}${i}`, 1, 200));
    m.observe('live', obs('/down', 1, 503));
    m.observe('live', { ...obs('/reset', 1, 200), failed: true });
    m.observe('shadow', obs('/shadow-only', 1, 200));
    m.observe('live', obs('/checkout/cart', 1, 200));
    assert.deepEqual(classes(m), ['/checkout', 'other']);
    assert.deepEqual(Object.keys(m.snapshot().pools.shadow.routes), ['other'], 'the shadow pool uses the live pool\'s classes');
  });
  it('at most 50 classes however many route-like names answer 200', () => {
    const m = new TrafficMetrics(() => 0);
    for (let i = 0; i < 300; i++) m.observe('live', obs(`/r${i}`, 1, 200));
    assert.ok(classes(m).length <= 50);
    assert.ok(classes(m).includes('other'));
  });
  it('configured classes are the only ones', () => {
    const m = new TrafficMetrics(() => 0, ['/api', '/checkout']);
    for (const p of ['/api/v1', '/checkout', '/other', '/', '/zzz']) m.observe('live', obs(p, 1, 200));
    assert.deepEqual(classes(m), ['/', '/api', '/checkout', 'other']);
  });
});
