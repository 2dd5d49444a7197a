import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { esc, niceStep, timeLabel, timeTicks } from './svg.js';

describe('svg helpers', () => {
  it('esc: the five characters that break SVG text and attributes', () => assert.equal(esc('a<b>&"c"'), 'a&lt;b&gt;&amp;&quot;c&quot;'));

  const steps: [number, number][] = [
    [0.7, 1],
    [1, 1],
    [1.2, 2],
    [3, 5],
    [7, 10],
    [0.013, 0.02],
    [0, 1],
    [Number.NaN, 1],
  ];
  for (const [raw, want] of steps) it(`niceStep(${raw}) = ${want}`, () => assert.ok(Math.abs(niceStep(raw) - want) < 1e-12));

  const t = Date.UTC(2024, 2, 5, 7, 30) / 1000;
  const labels: { name: string; t: number; absolute: boolean; tick: number; want: string }[] = [
    { name: 'absolute, ticks under a day: month-day and time (UTC)', t, absolute: true, tick: 3600, want: '03-05 07:30' },
    { name: 'absolute, ticks of a day or more: the date', t, absolute: true, tick: 86400, want: '2024-03-05' },
    { name: 'relative, ticks of an hour or more: hours', t: 5400, absolute: false, tick: 3600, want: '+1.5h' },
    { name: 'relative, shorter ticks: minutes', t: 900, absolute: false, tick: 300, want: '+15m' },
  ];
  for (const c of labels) it(`timeLabel: ${c.name}`, () => assert.equal(timeLabel(c.t, c.absolute, c.tick), c.want));

  const ticks: { name: string; t0: number; t1: number; absolute: boolean; start: number; want: string[] }[] = [
    { name: 'two days of epoch seconds: 6-hour ticks on UTC hours', t0: Date.UTC(2024, 0, 1, 1) / 1000, t1: Date.UTC(2024, 0, 3) / 1000, absolute: true, start: 0, want: ['01-01 06:00', '01-01 12:00', '01-01 18:00', '01-02 00:00', '01-02 06:00', '01-02 12:00', '01-02 18:00', '01-03 00:00'] },
    { name: 'a month: weekly ticks on Mondays, labelled by date', t0: Date.UTC(2024, 0, 1) / 1000, t1: Date.UTC(2024, 0, 31) / 1000, absolute: true, start: 0, want: ['2024-01-01', '2024-01-08', '2024-01-15', '2024-01-22', '2024-01-29'] },
    { name: 'relative times count from the start, in hours', t0: 100, t1: 100 + 6 * 3600, absolute: false, start: 100, want: ['+0h', '+1h', '+2h', '+3h', '+4h', '+5h', '+6h'] },
    { name: 'relative times under two hours, in minutes', t0: 0, t1: 3600, absolute: false, start: 0, want: ['+0m', '+15m', '+30m', '+45m', '+60m'] },
  ];
  for (const c of ticks) it(`timeTicks: ${c.name}`, () => assert.deepEqual(timeTicks(c.t0, c.t1, c.absolute, c.start).map((x) => x.label), c.want));
});
