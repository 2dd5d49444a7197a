// Unit tests (tables): known events' occurrences, the factors sized events put on a series, the history
// without them and the forecast with them, and the lift the SLO policy reads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventAdjustedForecaster, eventFactors, eventLift, eventOccurrences, eventScale, sizedEvents, withEvents, withoutEvents, type KnownEvent, learnEventSize, learningOccurrence, usedLearnedSize } from './events.js';
import { SeasonalNaiveForecaster } from './forecast.js';
import type { Forecast } from './forecast.js';

const T0 = Date.UTC(2026, 0, 5) / 1000; // a Monday, 00:00 UTC
const HOUR = 3600;
const DAY = 86400;

describe('eventOccurrences', () => {
  const e = (recurrence: KnownEvent['recurrence']): KnownEvent => ({ name: 'x', start: T0 + 10 * HOUR, end: T0 + 12 * HOUR, recurrence });
  const rows: [recurrence: KnownEvent['recurrence'], from: number, to: number, starts: number[], note: string][] = [
    ['none', T0, T0 + DAY, [T0 + 10 * HOUR], 'a one-off event inside the window'],
    ['none', T0 + DAY, T0 + 2 * DAY, [], 'a one-off event outside the window'],
    ['daily', T0 + DAY, T0 + 3 * DAY, [T0 + DAY + 10 * HOUR, T0 + 2 * DAY + 10 * HOUR], 'daily'],
    ['weekly', T0 - 7 * DAY, T0 + 8 * DAY, [T0 - 7 * DAY + 10 * HOUR, T0 + 10 * HOUR, T0 + 7 * DAY + 10 * HOUR], 'weekly, before and after the first'],
    ['yearly', T0 + 300 * DAY, T0 + 400 * DAY, [Date.UTC(2027, 0, 5, 10) / 1000], 'yearly: same calendar date'],
    ['daily', T0 + 11 * HOUR, T0 + 11.5 * HOUR, [T0 + 10 * HOUR], 'an occurrence straddling the window start'],
  ];
  for (const [recurrence, from, to, starts, note] of rows) it(note, () => assert.deepEqual(eventOccurrences(e(recurrence), from, to).map((o) => o.start), starts));
});

describe('eventFactors', () => {
  const ev = (o: Partial<KnownEvent>): KnownEvent => ({ name: 'x', start: T0 + 600, end: T0 + 1200, recurrence: 'none', multiplier: 3, ...o });
  // Ten 5-minute points from T0: the event covers points 2 and 3 exactly.
  const rows: { note: string; events: KnownEvent[]; start?: number; want: number[] | undefined }[] = [
    { note: 'no event: nothing to adjust', events: [], want: undefined },
    { note: 'an event without a multiplier is not sized: nothing', events: [ev({ multiplier: undefined })], want: undefined },
    { note: 'a multiplier of 1 changes nothing: nothing', events: [ev({ multiplier: 1 })], want: undefined },
    { note: 'an occurrence outside the series: nothing', events: [ev({ start: T0 + DAY, end: T0 + DAY + 600 })], want: undefined },
    { note: 'the points it covers take the multiplier', events: [ev({})], want: [1, 1, 3, 3, 1, 1, 1, 1, 1, 1] },
    { note: 'a point covered in part takes its share: 1 + share x (m - 1), half of 3 is 2', events: [ev({ start: T0 + 450, end: T0 + 1050 })], want: [1, 2, 3, 2, 1, 1, 1, 1, 1, 1] },
    { note: 'overlapping events multiply', events: [ev({}), ev({ start: T0 + 900, end: T0 + 1500, multiplier: 2 })], want: [1, 1, 3, 6, 2, 1, 1, 1, 1, 1] },
    { note: 'a drop (maintenance at a tenth)', events: [ev({ multiplier: 0.1 })], want: [1, 1, 0.1, 0.1, 1, 1, 1, 1, 1, 1] },
    { note: 'started before the series: its covered part', events: [ev({ start: T0 - 600, end: T0 + 300 })], want: [3, 1, 1, 1, 1, 1, 1, 1, 1, 1] },
    { note: 'daily: every day that the series reaches', events: [ev({ start: T0 - DAY + 2700, end: T0 - DAY + 3000, recurrence: 'daily' })], want: [1, 1, 1, 1, 1, 1, 1, 1, 1, 3] },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const got = eventFactors(r.events, r.start ?? T0, 300, 10);
      if (r.want === undefined) assert.equal(got, undefined);
      else assert.deepEqual(Array.from(got as Float64Array, (x) => Math.round(x * 1e9) / 1e9), r.want);
    });
  }
  it('sizedEvents keeps those with a finite multiplier other than 1', () => {
    assert.deepEqual(sizedEvents([ev({}), ev({ multiplier: undefined }), ev({ multiplier: 1 }), ev({ multiplier: 0.5 })]).map((e) => e.multiplier), [3, 0.5]);
  });
});

describe('withoutEvents and withEvents', () => {
  const campaign: KnownEvent = { name: 'campaign', start: T0 + 600, end: T0 + 1200, recurrence: 'none', multiplier: 4 };
  it('the history is divided by the factors; untouched, the same array', () => {
    const values = Float64Array.from([10, 10, 40, 40, 10, Number.NaN]);
    assert.deepEqual(Array.from(withoutEvents(values, [campaign], T0, 300)), [10, 10, 10, 10, 10, Number.NaN]);
    assert.equal(withoutEvents(values, [campaign], T0 + DAY, 300), values);
  });
  it('the forecast is multiplied by the factors (mean and interval) and carries them', () => {
    const f: Forecast = { model: 'm', start: T0, step: 300, level: 0.8, mean: Float64Array.from([10, 10, 10, 10]), lower: Float64Array.from([8, 8, 8, 8]), upper: Float64Array.from([12, 12, 12, 12]) };
    const g = withEvents(f, [campaign]);
    assert.deepEqual(Array.from(g.mean), [10, 10, 40, 40]);
    assert.deepEqual(Array.from(g.lower), [8, 8, 32, 32]);
    assert.deepEqual(Array.from(g.upper), [12, 12, 48, 48]);
    assert.deepEqual(Array.from(g.eventFactors ?? []), [1, 1, 4, 4]);
    assert.equal(withEvents(f, []), f);
  });
});

describe('eventLift', () => {
  const f: Forecast = { model: 'm', start: T0, step: 60, level: 0.8, mean: new Float64Array(6), lower: new Float64Array(6), upper: new Float64Array(6), eventFactors: Float64Array.from([1, 1, 3, 3, 1, 1]) };
  const rows: { note: string; from: number; to: number; want: number }[] = [
    { note: 'the event starts within the window: its factor over now', from: T0, to: T0 + 150, want: 3 },
    { note: 'the event beyond the window: 1', from: T0, to: T0 + 90, want: 1 },
    { note: 'inside the event: 1 (nothing grows)', from: T0 + 120, to: T0 + 200, want: 1 },
    { note: 'the event ends within the window: 1 (never a drop)', from: T0 + 180, to: T0 + 300, want: 1 },
    { note: 'a window before the forecast starts reads its first point', from: T0 - 60, to: T0 + 130, want: 3 },
  ];
  for (const r of rows) it(r.note, () => assert.equal(eventLift(f, r.from, r.to), r.want));
  it('no event factors: 1', () => assert.equal(eventLift({ ...f, eventFactors: undefined }, T0, T0 + 300), 1));
});

describe('eventScale', () => {
  const f: Forecast = { model: 'm', start: T0, step: 60, level: 0.8, mean: new Float64Array(6), lower: new Float64Array(6), upper: new Float64Array(6), eventFactors: Float64Array.from([1, 1, 3, 3, 0.5, 1]) };
  const rows: { note: string; from: number; to: number; want: number }[] = [
    { note: 'before the event, beyond the window: 1', from: T0, to: T0 + 90, want: 1 },
    { note: 'the event in the window: its factor', from: T0 + 60, to: T0 + 150, want: 3 },
    { note: 'inside it: its factor', from: T0 + 150, to: T0 + 170, want: 3 },
    { note: 'a drop: never below 1', from: T0 + 240, to: T0 + 270, want: 1 },
    { note: 'a window past the forecast reads its last point', from: T0 + 600, to: T0 + 700, want: 1 },
  ];
  for (const r of rows) it(r.note, () => assert.equal(eventScale(f, r.from, r.to), r.want));
  it('no event factors: 1', () => assert.equal(eventScale({ ...f, eventFactors: undefined }, T0, T0 + 300), 1));
});

describe('EventAdjustedForecaster', () => {
  // Two days of hourly points at 10, with a x4 campaign at 06:00-08:00 on the second; seasonal naive a day
  // back repeats it on the third day, where it may or may not come again.
  const campaign = (day: number): KnownEvent => ({ name: `c${day}`, start: T0 + day * DAY + 6 * HOUR, end: T0 + day * DAY + 8 * HOUR, recurrence: 'none', multiplier: 4 });
  const values = Float64Array.from({ length: 48 }, (_, i) => (i >= 30 && i < 32 ? 40 : 10));
  const inner = new SeasonalNaiveForecaster({ seasonality: 'daily' });
  const hours5to8 = (events: KnownEvent[]): number[] => Array.from(new EventAdjustedForecaster(inner, events).forecast({ start: T0, step: HOUR, values }, 12, 0.8).mean.subarray(5, 9));
  const rows: { note: string; events: KnownEvent[]; want: number[] }[] = [
    { note: 'nothing declared: the past campaign is repeated', events: [], want: [10, 40, 40, 10] },
    { note: 'the past campaign declared: the history without it, nothing repeated', events: [campaign(1)], want: [10, 10, 10, 10] },
    { note: 'both declared: the coming one forecast, from the history without the past one', events: [campaign(1), campaign(2)], want: [10, 40, 40, 10] },
    { note: 'only the coming one: repeated and multiplied (the past one was not said)', events: [campaign(2)], want: [10, 160, 160, 10] },
  ];
  for (const r of rows) it(r.note, () => assert.deepEqual(hours5to8(r.events), r.want));
  it('keeps the inner model\'s name', () => assert.equal(new EventAdjustedForecaster(inner, [campaign(2)]).name, inner.name));
});

describe('learningOccurrence', () => {
  const NOW = Date.UTC(2026, 10, 20) / 1000; // 2026-11-20
  const bf = (o: Partial<KnownEvent> = {}): KnownEvent => ({ name: 'black-friday', start: Date.UTC(2024, 10, 29) / 1000, end: Date.UTC(2024, 10, 30) / 1000, recurrence: 'yearly', ...o });
  const rows: { note: string; e: KnownEvent; now?: number; want: string | undefined }[] = [
    { note: 'yearly without a multiplier: last year\'s occurrence, with whole weeks around it', e: bf(), want: '2025-11-29T00:00:00.000Z-2025-11-30T00:00:00.000Z from 2025-11-22T00:00:00.000Z to 2025-12-07T00:00:00.000Z' },
    { note: 'this year\'s once it is over', e: bf(), now: Date.UTC(2026, 10, 30) / 1000, want: '2026-11-29T00:00:00.000Z-2026-11-30T00:00:00.000Z from 2026-11-22T00:00:00.000Z to 2026-12-07T00:00:00.000Z' },
    { note: 'under way: the one before', e: bf(), now: Date.UTC(2026, 10, 29, 12) / 1000, want: '2025-11-29T00:00:00.000Z-2025-11-30T00:00:00.000Z from 2025-11-22T00:00:00.000Z to 2025-12-07T00:00:00.000Z' },
    { note: 'a week long: a week each side', e: bf({ end: Date.UTC(2024, 11, 6) / 1000 }), want: '2025-11-29T00:00:00.000Z-2025-12-06T00:00:00.000Z from 2025-11-22T00:00:00.000Z to 2025-12-13T00:00:00.000Z' },
    { note: 'with a multiplier: nothing to learn', e: bf({ multiplier: 3 }), want: undefined },
    { note: 'weekly: part of the season', e: bf({ recurrence: 'weekly' }), want: undefined },
    { note: 'one-off: no occurrence to come', e: bf({ recurrence: 'none' }), want: undefined },
    { note: 'shorter than an hour', e: bf({ end: Date.UTC(2024, 10, 29, 0, 30) / 1000 }), want: undefined },
    { note: 'longer than a week', e: bf({ end: Date.UTC(2024, 11, 7, 0, 1) / 1000 }), want: undefined },
    { note: 'declared from this year: a recurrence reaches back too (as the history without it does)', e: bf({ start: Date.UTC(2026, 10, 29) / 1000, end: Date.UTC(2026, 10, 30) / 1000 }), want: '2025-11-29T00:00:00.000Z-2025-11-30T00:00:00.000Z from 2025-11-22T00:00:00.000Z to 2025-12-07T00:00:00.000Z' },
  ];
  const iso = (s: number): string => new Date(s * 1000).toISOString();
  for (const r of rows)
    it(r.note, () => {
      const o = learningOccurrence(r.e, r.now ?? NOW);
      assert.equal(o && `${iso(o.start)}-${iso(o.end)} from ${iso(o.from)} to ${iso(o.to)}`, r.want);
    });
});

describe('learnEventSize', () => {
  // Hourly history from a Monday: 100 a point, 300 through a day-long occurrence in the second week.
  const H = 3600;
  const T = Date.UTC(2026, 0, 5) / 1000;
  const occ = { start: T + 9 * DAY, end: T + 10 * DAY };
  const history = (f: (t: number) => number, weeks = 3): { start: number; step: number; values: Float64Array } => ({ start: T, step: H, values: Float64Array.from({ length: weeks * 168 }, (_, i) => f(T + i * H)) });
  const during = (t: number): boolean => t >= occ.start && t < occ.end;
  const rows: { note: string; f: (t: number) => number; weeks?: number; want: [number, number, number, number] | undefined }[] = [
    { note: 'x3 against both weeks around', f: (t) => (during(t) ? 300 : 100), want: [3, 300, 100, 2] },
    { note: 'the weeks around differ: their mean', f: (t) => (during(t) ? 300 : t < occ.start ? 100 : 200), want: [2, 300, 150, 2] },
    { note: 'the week after not yet recorded: the week before', f: (t) => (during(t) ? 300 : 100), weeks: 2, want: [3, 300, 100, 1] },
    { note: 'the week before missing: the week after', f: (t) => (t < occ.start - 6 * DAY ? Number.NaN : during(t) ? 300 : 100), want: [3, 300, 100, 1] },
    { note: 'a quarter of the occurrence missing is enough', f: (t) => (during(t) && t < occ.start + 6 * H ? Number.NaN : during(t) ? 300 : 100), want: [3, 300, 100, 2] },
    { note: 'more missing: not learned', f: (t) => (during(t) && t < occ.start + 7 * H ? Number.NaN : during(t) ? 300 : 100), want: undefined },
    { note: 'no demand around it: not learned', f: (t) => (during(t) ? 300 : 0), want: undefined },
    { note: 'a maintenance window at a tenth', f: (t) => (during(t) ? 10 : 100), want: [0.1, 10, 100, 2] },
  ];
  for (const r of rows)
    it(r.note, () => {
      const l = learnEventSize(occ, history(r.f, r.weeks));
      assert.deepEqual(l && [Math.round(l.multiplier * 1e9) / 1e9, l.duringRps, l.baselineRps, l.baselineWeeks], r.want);
    });
  it('a point the occurrence covers in part counts for its share', () => {
    // The occurrence from 00:30: the first hour's point (at 300 throughout) weighs a half.
    const half = { start: occ.start + H / 2, end: occ.end };
    const l = learnEventSize(half, history((t) => (during(t) ? 300 : 100)));
    assert.equal(l?.duringRps, 300);
  });
});

describe('usedLearnedSize', () => {
  const l = (multiplier: number) => ({ multiplier, start: 0, end: 3600, duringRps: multiplier, baselineRps: 1, baselineWeeks: 2 });
  const rows: [ReturnType<typeof l> | undefined, boolean, string][] = [
    [l(2.5), true, 'a lift is used'],
    [l(1), false, 'no change: nothing to use'],
    [l(0.2), false, 'a drop is not (last year\'s outage, perhaps)'],
    [undefined, false, 'nothing learned'],
  ];
  for (const [x, want, note] of rows) it(note, () => assert.equal(usedLearnedSize(x), want));
});
