// Integration tests: the live loop's demand forecast (src/metrics/demand.ts) from a real store, with known
// events of declared size: the fit sees the history without them, the forecast has them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { KnownEvent } from '../../src/core/events.js';
import { buildForecaster } from '../../src/core/forecasters.js';
import { fitDemandForecast } from '../../src/metrics/demand.js';
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
