// Integration tests: the live loop's demand forecast (src/metrics/demand.ts) from a real store, with known
// events of declared size: the fit sees the history without them, the forecast has them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { KnownEvent } from '../../src/core/events.js';
import { buildForecaster } from '../../src/core/forecasters.js';
import { fitDemandForecast, forecastEvents, learnedEventSize } from '../../src/metrics/demand.js';
import { Store } from '../../src/metrics/store.js';
import { tempDir } from '../helpers.js';

const T0 = Date.UTC(2026, 0, 5); // ms, a Monday
const MIN = 60_000;
const DAY = 1440 * MIN;
const base = (ms: number): number => 100 + 50 * Math.sin((2 * Math.PI * ((ms - T0) % DAY)) / DAY);

describe('fitDemandForecast with known events', () => {
  // Three days and 10:30 of the fourth, a sample a minute; a campaign at x3 from 10:00 to 11:00 on day 4.
  const now = T0 + 3 * DAY + 10.5 * 60 * MIN;
  const campaign: KnownEvent = { name: 'campaign', start: (T0 + 3 * DAY + 600 * MIN) / 1000, end: (T0 + 3 * DAY + 660 * MIN) / 1000, recurrence: 'none', multiplier: 3 };
  const inCampaign = (ms: number): boolean => ms >= campaign.start * 1000 && ms < campaign.end * 1000;
  const settings = { level: 0.8, refitSeconds: 60, bucketSeconds: 60, timeScale: 1, historySeconds: 4 * 86_400 };
  const forecastAt = (t: TestContext, events?: KnownEvent[]) => {
    const store = Store.open({ path: join(tempDir(t), 'demand.db') });
    t.after(() => store.close());
    const rows = [];
    for (let ms = T0; ms < now; ms += MIN) rows.push({ ts: ms, service: 'web', pool: 'live', metric: 'rps', value: base(ms) * (inCampaign(ms) ? 3 : 1) });
    store.addSamples(rows);
    const f = fitDemandForecast(store, 'web', { ...settings, ...(events ? { events } : {}) }, buildForecaster({ model: 'fast-seasonal', seasonality: 'auto', reuseFitPoints: 0 }), now, 3600);
    assert.ok(f);
    return (ms: number): number => f.mean[Math.floor((ms / 1000 - f.start) / f.step)] as number;
  };

  it('declared: x3 until the campaign ends, then the level without it; undeclared, the campaign lifts the level after its end', (t) => {
    const declared = forecastAt(t, [campaign]);
    const undeclared = forecastAt(t);
    const during = now + 15 * MIN;
    const after = now + 45 * MIN;
    assert.ok(Math.abs(declared(during) / base(during) - 3) < 0.06, `during: ${declared(during)} against 3 x ${base(during)}`);
    assert.ok(Math.abs(declared(after) / base(after) - 1) < 0.02, `after: ${declared(after)} against ${base(after)}`);
    // Undeclared, the fit takes the campaign's half hour for outliers in part and a higher level in part:
    // short of the campaign while it lasts, above the level after it.
    assert.ok(undeclared(during) < 1.5 * base(during), `undeclared during: ${undeclared(during)} against ${base(during)}`);
    assert.ok(undeclared(after) > 1.05 * base(after), `undeclared after: ${undeclared(after)} against ${base(after)}`);
  });
});

describe('a yearly event without a multiplier: its size from last year\'s occurrence in the hourly rollups', () => {
  // A campaign every 8 January from 10:00 to 14:00. Last year's demand (a sample an hour, two weeks either
  // side) was 3x through it; this year's history is three days and 9:30 of the fourth, a sample a minute.
  const YEAR = 365 * DAY;
  const campaign: KnownEvent = { name: 'campaign', start: Date.UTC(2025, 0, 8, 10) / 1000, end: Date.UTC(2025, 0, 8, 14) / 1000, recurrence: 'yearly' };
  const now = T0 + 3 * DAY + 9.5 * 60 * MIN; // 2026-01-08 09:30
  const lastYear = (ms: number): boolean => ms >= campaign.start * 1000 && ms < campaign.end * 1000;
  const thisYear = (ms: number): boolean => ms >= campaign.start * 1000 + YEAR && ms < campaign.end * 1000 + YEAR;
  const storeWith = (t: TestContext, history: boolean, size = 3): Store => {
    const store = Store.open({ path: join(tempDir(t), 'demand.db') });
    t.after(() => store.close());
    const rows = [];
    if (history) for (let ms = campaign.start * 1000 - 14 * DAY; ms < campaign.end * 1000 + 14 * DAY; ms += 60 * MIN) rows.push({ ts: ms, service: 'web', pool: 'live', metric: 'rps', value: base(ms) * (lastYear(ms) ? size : 1) });
    for (let ms = T0; ms < now; ms += MIN) rows.push({ ts: ms, service: 'web', pool: 'live', metric: 'rps', value: base(ms) });
    store.addSamples(rows);
    return store;
  };
  const settings = { level: 0.8, refitSeconds: 60, bucketSeconds: 60, timeScale: 1, historySeconds: 4 * 86_400 };
  const forecastAt = (store: Store) => {
    const f = fitDemandForecast(store, 'web', { ...settings, events: forecastEvents(store, 'web', [campaign], now) }, buildForecaster({ model: 'fast-seasonal', seasonality: 'auto', reuseFitPoints: 0 }), now, 2 * 3600);
    assert.ok(f);
    return (ms: number): number => f.mean[Math.floor((ms / 1000 - f.start) / f.step)] as number;
  };

  it('learned x3 from the same hours a week before and after, and this year\'s occurrence forecast at x3', (t) => {
    const store = storeWith(t, true);
    const l = learnedEventSize(store, 'web', campaign, now);
    assert.ok(l);
    assert.deepEqual([Math.round(l.multiplier * 1e6) / 1e6, new Date(l.start * 1000).toISOString(), l.baselineWeeks], [3, '2025-01-08T10:00:00.000Z', 2]);
    assert.equal(forecastEvents(store, 'web', [campaign], now)[0]?.multiplier, l.multiplier);
    const f = forecastAt(store);
    const during = now + 60 * MIN; // 10:30
    assert.ok(thisYear(during));
    assert.ok(Math.abs(f(during) / base(during) - 3) < 0.06, `during: ${f(during)} against 3 x ${base(during)}`);
    assert.ok(Math.abs(f(now + 10 * MIN) / base(now + 10 * MIN) - 1) < 0.02, `before: ${f(now + 10 * MIN)} against ${base(now + 10 * MIN)}`);
  });
  it('the same event declared at run time without a multiplier (kept in the store) is learned the same', (t) => {
    const store = storeWith(t, true);
    store.addDeclaredEvent({ id: 'ev-1', service: 'web', name: campaign.name, start: campaign.start * 1000, end: campaign.end * 1000, recurrence: 'yearly', multiplier: null, createdAt: now, by: 'ops', note: null });
    assert.deepEqual(store.declaredEvents('web').map((e) => e.multiplier), [null]);
    const [declared] = forecastEvents(store, 'web', [], now);
    assert.equal(Math.round((declared?.multiplier ?? 0) * 1e6) / 1e6, 3);
  });
  it('read from the rollups once per occurrence: the answer is kept once the week after it is over', (t) => {
    const store = storeWith(t, true);
    const series = store.series.bind(store);
    let reads = 0;
    store.series = (q) => {
      reads++;
      return series(q);
    };
    // While the week after last year's occurrence is still under way, every call reads (more may come).
    const within = campaign.end * 1000 + 3 * DAY;
    const early = learnedEventSize(store, 'web', campaign, within);
    learnedEventSize(store, 'web', campaign, within);
    assert.deepEqual([early?.baselineWeeks, reads], [1, 2]);
    for (let k = 0; k < 3; k++) assert.equal(learnedEventSize(store, 'web', campaign, now)?.baselineWeeks, 2);
    assert.equal(reads, 3);
  });
  it('a drop learned (last year\'s outage, perhaps) is shown but not used: no capacity is taken away on its word', (t) => {
    const store = storeWith(t, true, 0.2);
    assert.equal(Math.round((learnedEventSize(store, 'web', campaign, now)?.multiplier ?? 0) * 1e6) / 1e6, 0.2);
    assert.equal(forecastEvents(store, 'web', [campaign], now)[0]?.multiplier, undefined);
    const during = now + 60 * MIN;
    assert.ok(Math.abs(forecastAt(store)(during) / base(during) - 1) < 0.02);
  });
  it('no occurrence recorded: nothing learned, and the forecast is the season\'s', (t) => {
    const store = storeWith(t, false);
    assert.equal(learnedEventSize(store, 'web', campaign, now), undefined);
    assert.equal(forecastEvents(store, 'web', [campaign], now)[0]?.multiplier, undefined);
    const during = now + 60 * MIN;
    assert.ok(Math.abs(forecastAt(store)(during) / base(during) - 1) < 0.02);
  });
});
