// Integration tests: the 1-second simulator and the backtest on synthetic and real (fixture) traces.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildStrategy, serviceModel, simSettings } from '../../src/config/derive.js';
import { loadConfig } from '../../src/config/load.js';
import { maxRateAtSlo } from '../../src/core/capacity.js';
import { runBacktest } from '../../src/sim/backtest.js';
import { simulate, type SimSettings } from '../../src/sim/simulator.js';
import { loadTrace, type Trace } from '../../src/sim/trace.js';
import { buildWorkload } from '../../src/sim/workload.js';
import { fixture } from '../helpers.js';

function makeTrace(values: number[], step: number, times?: number[]): Trace {
  const t = Float64Array.from(times ?? values.map((_, i) => i * step));
  const v = Float64Array.from(values);
  return {
    file: 'synthetic',
    column: 'value',
    timeColumn: 'time',
    timeFormat: 'relative-seconds',
    step,
    times: t,
    values: v,
    gaps: [],
    duplicatesMerged: 0,
    stats: { rows: v.length, min: Math.min(...v), max: Math.max(...v), mean: v.reduce((a, b) => a + b, 0) / v.length },
  };
}

const cfg = (sets: string[] = []) => loadConfig({ sets: ['simulation.noise=none', ...sets] });
function setup(sets: string[] = [], initial = 1, extra: Partial<SimSettings> = {}) {
  const c = cfg(sets);
  const m = serviceModel(c, c.services[0] as (typeof c.services)[number]);
  return { c, m, s: { ...simSettings(c, m, initial), ...extra } };
}

describe('simulate', () => {
  it('constant load within capacity: no violation, cost = instances x hours x price', () => {
    const { m, s } = setup(['services[0].pool.min=3'], 3);
    const w = buildWorkload(makeTrace([200, 200, 200, 200], 900), { peakRps: 200, noise: 'none', seed: 1 });
    const r = simulate(w, buildStrategy('reactive', m), { ...s, recordMinutes: true });
    assert.equal(r.sloViolationMinutes, 0);
    assert.equal(r.minutes, 60);
    assert.ok(Math.abs(r.bill.instanceHours - 3) < 1e-9, String(r.bill.instanceHours));
    assert.ok(Math.abs(r.bill.total - 0.3) < 1e-9);
    assert.equal(r.failedRequests, 0);
    assert.ok(Math.abs(r.requests - 200 * 3600) < 1e-6);
    for (const rec of r.minuteRecords ?? []) assert.ok(rec.p99 > 0.05 && rec.p99 < 0.2, String(rec.p99));
  });

  it('p99 equals the SLO when every instance runs at the SLO-safe rate', () => {
    const { m, s } = setup(['services[0].pool.min=2'], 2);
    const w = buildWorkload(makeTrace([1, 1], 600), { peakRps: 2 * m.perInstanceRps, noise: 'none', seed: 1 });
    const r = simulate(w, buildStrategy('reactive', m), { ...s, recordMinutes: true, bounds: { ...s.bounds, maxInstances: 2 } });
    const p99 = r.minuteRecords?.[5]?.p99 as number;
    assert.ok(Math.abs(p99 - 0.2) < 1e-3, `p99 ${p99}`);
    assert.equal(r.sloViolationMinutes, 0);
  });

  it('is deterministic for a seed', () => {
    const c = loadConfig();
    const m = serviceModel(c, c.services[0] as (typeof c.services)[number]);
    const s = simSettings(c, m, 2);
    const tr = makeTrace([100, 400, 300, 800, 200, 100], 600);
    const run = (seed: number) => simulate(buildWorkload(tr, { peakRps: 800, noise: 'poisson', seed }), buildStrategy('hybrid', m), { ...s, seed });
    assert.deepEqual(run(5), run(5));
    assert.notEqual(run(5).requests, run(6).requests);
  });

  it('capacity arrives only after provisioning + warm-up: a step in load violates the SLO under reactive, never under the oracle', () => {
    const values = [...Array(10).fill(100), ...Array(10).fill(1000)];
    const tr = makeTrace(values, 60);
    const r = runBacktest(tr, { config: cfg(), service: cfg().services[0] as never, peakRps: 1000, strategies: ['reactive', 'oracle'] });
    assert.ok((r.strategies.reactive?.sloViolationMinutes as number) >= 2, JSON.stringify(r.strategies.reactive));
    assert.equal(r.strategies.oracle?.sloViolationMinutes, 0);
  });

  it('warm before traffic: new instances serve nothing during their warm-up (more violation minutes on a step under reactive), the oracle still never violates', () => {
    const values = [...Array(10).fill(100), ...Array(10).fill(1000)];
    const tr = makeTrace(values, 60);
    const run = (warm: boolean) => {
      const c = cfg([`services[0].scaling.switchover.warmBeforeTraffic=${warm}`]);
      return runBacktest(tr, { config: c, service: c.services[0] as never, peakRps: 1000, strategies: ['reactive', 'oracle'] });
    };
    const partial = run(false);
    const warm = run(true);
    assert.ok((warm.strategies.reactive?.sloViolationMinutes as number) > (partial.strategies.reactive?.sloViolationMinutes as number), `${warm.strategies.reactive?.sloViolationMinutes} vs ${partial.strategies.reactive?.sloViolationMinutes}`);
    // The oracle requests capacity a full lead time (provisioning + warm-up) ahead: warm when the step comes.
    assert.equal(warm.strategies.oracle?.sloViolationMinutes, 0);
  });

  it('requests beyond the queue bound fail and count as errors', () => {
    const { m, s } = setup(['services[0].pool.max=1', 'instanceTypes.standard.queueLimit=10'], 1);
    const w = buildWorkload(makeTrace([1000, 1000], 300), { peakRps: 1000, noise: 'none', seed: 1 });
    const r = simulate(w, buildStrategy('reactive', m), s);
    const capacity = 4 / 0.025;
    // All but the first second's worth of capacity and the bounded queue fail.
    assert.ok(Math.abs(r.failedRequests - (1000 - capacity) * 600 + 10) < 1e-6, String(r.failedRequests));
    assert.equal(r.sloViolationMinutes, r.minutes);
  });

  it('does not bill or score the seconds inside a trace gap', () => {
    const { m, s } = setup([], 1);
    const tr = makeTrace([50, 50, 50, 50], 60, [0, 60, 7200, 7260]);
    const w = buildWorkload(tr, { peakRps: 50, noise: 'none', seed: 1 });
    assert.equal(w.activeSeconds, 240);
    const r = simulate(w, buildStrategy('reactive', m), s);
    assert.equal(r.minutes, 4);
    assert.ok(Math.abs(r.bill.instanceHours - 240 / 3600) < 1e-9);
  });

  it('replaces reclaimed spot instances and bills them at the spot price', () => {
    const { m, s } = setup(['services[0].pool.min=4', 'services[0].scaling.spot.share=1', 'services[0].scaling.spot.interruptionsPerHour=30'], 4);
    const w = buildWorkload(makeTrace([100, 100], 1800), { peakRps: 100, noise: 'none', seed: 1 });
    const r = simulate(w, buildStrategy('reactive', m), s);
    // Replacements keep the count at least at the minimum (HPA may add one while they start).
    assert.ok(r.bill.instanceHours >= 4 - 1e-9, String(r.bill.instanceHours));
    assert.ok(Math.abs(r.bill.total - r.bill.instanceHours * 0.035) < 1e-9, 'all billed as spot');
    assert.equal(r.bill.onDemand, 0);
  });
});

describe('backtest', () => {
  it('pre-scales on a learned daily ramp: on day 3 predictive and hybrid violate less than reactive', () => {
    // Three days at 5-minute steps: quiet nights, a steep morning ramp (x10 in 10 minutes).
    const values: number[] = [];
    for (let d = 0; d < 3; d++) for (let i = 0; i < 288; i++) values.push(i >= 96 && i < 216 ? (i < 98 ? 100 + (i - 95) * 300 : 1000) : 100);
    const { m, s } = setup([], 1);
    const w = buildWorkload(makeTrace(values, 300), { peakRps: 2000, noise: 'none', seed: 1 });
    const day3 = (name: 'reactive' | 'predictive' | 'hybrid') =>
      (simulate(w, buildStrategy(name, m), { ...s, recordMinutes: true }).minuteRecords ?? []).filter((r) => r.at >= 2 * 86400 && r.violated).length;
    const reactive = day3('reactive');
    assert.ok(reactive >= 2, `reactive violated ${reactive} minutes on day 3`);
    assert.ok(day3('predictive') < reactive);
    assert.ok(day3('hybrid') < reactive);
    const c = cfg();
    const r = runBacktest(makeTrace(values, 300), { config: c, service: c.services[0] as never, peakRps: 2000, strategies: ['reactive', 'predictive', 'hybrid', 'oracle'] });
    assert.equal(r.strategies.oracle?.sloViolationMinutes, 0);
    // The oracle is the cheapest schedule that never violates: a strategy can only be cheaper by violating.
    for (const name of ['reactive', 'predictive', 'hybrid'] as const) {
      const x = r.strategies[name];
      if (x?.sloViolationMinutes === 0) assert.ok((x.costRatioToOracle as number) >= 1, `${name} cheaper than the oracle without violating`);
    }
  });

  it('a known event of declared size: capacity is up before a one-off campaign starts, and no minute of it is violated', () => {
    // Four days of a daily wave at one-minute steps; on day 4 a campaign at x5 from 10:00 to 12:00, which
    // no forecast of the past can see.
    const values: number[] = [];
    for (let d = 0; d < 4; d++) for (let i = 0; i < 1440; i++) values.push((100 + 50 * Math.sin((2 * Math.PI * i) / 1440)) * (d === 3 && i >= 600 && i < 720 ? 5 : 1));
    const start = 3 * 86400 + 36000;
    const declared = ['services[0].events[0].name=campaign', 'services[0].events[0].start=1970-01-04T10:00:00Z', 'services[0].events[0].end=1970-01-04T12:00:00Z', 'services[0].events[0].multiplier=5'];
    const run = (sets: string[], name: 'predictive' | 'hybrid') => {
      const { m, s } = setup(sets, 1);
      const w = buildWorkload(makeTrace(values, 60), { peakRps: 2000, noise: 'none', seed: 1 });
      const r = simulate(w, buildStrategy(name, m), { ...s, recordMinutes: true, keepDecisions: 100_000 });
      const minutes = r.minuteRecords ?? [];
      return {
        violated: minutes.filter((x) => x.at >= start - 60 && x.at < start + 7200 && x.violated).length,
        // Instances two minutes before (the trace's last minute before the campaign ramps to it).
        before: minutes.find((x) => x.at === start - 120)?.instances ?? 0,
        reasons: r.reasons,
      };
    };
    // The campaign's first minute is the trace's peak, 2000 req/s: 15 instances of 133.9 req/s.
    const need = Math.ceil(2000 / serviceModel(cfg(), cfg().services[0] as never).perInstanceRps);
    for (const name of ['predictive', 'hybrid'] as const) {
      const without = run([], name);
      const withEvent = run(declared, name);
      assert.ok(without.violated >= 1, `${name} without the event: ${without.violated} violated minutes at the campaign's start`);
      assert.equal(withEvent.violated, 0, `${name} with the event`);
      assert.ok(withEvent.before >= need * 0.75, `${name}: ${withEvent.before} instances two minutes before, ${need} needed at the start`);
      assert.ok(without.before < need / 3, `${name} without: ${without.before}`);
      assert.ok((withEvent.reasons.known_event ?? 0) > 0, JSON.stringify(withEvent.reasons));
    }
  });

  it('on the NASA fixture: the oracle never violates and is the cheapest', async () => {
    const tr = await loadTrace(fixture('nasa-http-1995/nasa_http_1995_2weeks_per_minute.csv'));
    const c = loadConfig();
    const r = runBacktest(tr, { config: c, service: c.services[0] as never, peakRps: 2000, strategies: ['reactive', 'hybrid', 'oracle'] });
    assert.equal(r.strategies.oracle?.sloViolationMinutes, 0);
    assert.ok((r.strategies.hybrid?.costRatioToOracle as number) > 1);
    assert.ok((r.strategies.reactive?.costRatioToOracle as number) > 1);
    assert.ok((r.strategies.hybrid?.sloAttainment as number) > (r.strategies.reactive?.sloAttainment as number));
    assert.equal(r.input.rows, 20160);
    assert.equal(r.settings.perInstanceRpsAtSlo, Math.round(maxRateAtSlo(4, 0.025, 0.2) * 1000) / 1000);
  });
});

describe('forecasts shared across runs (the sweep)', () => {
  it('regression: a run that reads the forecasts from the cache equals one that fits them itself', async () => {
    const trace = await loadTrace(fixture('nasa-http-1995/nasa_http_1995_2weeks_per_minute.csv'));
    const c = loadConfig();
    const m = serviceModel(c, c.services[0] as (typeof c.services)[number]);
    const w = buildWorkload(trace, { peakRps: 2000, noise: 'poisson', seed: 42 });
    const base = simSettings(c, m, 3);
    const cache = new Map();
    const first = simulate(w, buildStrategy('hybrid', m), { ...base, forecastCache: cache });
    assert.ok(cache.size > 100, `forecasts were cached: ${cache.size}`);
    const cached = simulate(w, buildStrategy('hybrid', m), { ...base, forecastCache: cache });
    const fresh = simulate(w, buildStrategy('hybrid', m), base);
    for (const r of [cached, fresh]) {
      assert.equal(r.bill.total, first.bill.total);
      assert.equal(r.sloViolationMinutes, first.sloViolationMinutes);
      assert.equal(r.scalingActions, first.scalingActions);
    }
  });
});
