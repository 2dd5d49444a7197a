import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MinuteRecord } from './simulator.js';
import { bucketMinutes, MAX_BUCKETS, timelineSvg } from './timeline-chart.js';

const rec = (at: number, requests: number, instances: number, violated = false): MinuteRecord => ({ at, requests, failed: 0, p99: 0.05, instances, violated });

describe('bucketMinutes', () => {
  const cases: { name: string; records: MinuteRecord[]; size: number; want: { at: number; demand: number; capacity: number; violated: boolean }[][] }[] = [
    {
      name: 'one minute per bucket: requests per second and instances times the rate',
      records: [rec(0, 600, 2), rec(60, 1200, 3, true)],
      size: 1,
      want: [[{ at: 0, demand: 10, capacity: 20, violated: false }, { at: 60, demand: 20, capacity: 30, violated: true }]],
    },
    {
      name: 'pairs: means, the middle time, violated if any minute was',
      records: [rec(0, 600, 2), rec(60, 1200, 4, true), rec(120, 60, 1)],
      size: 2,
      want: [[{ at: 30, demand: 15, capacity: 30, violated: true }, { at: 120, demand: 1, capacity: 10, violated: false }]],
    },
    {
      name: 'a gap (minutes missing) starts a new line and a new bucket',
      records: [rec(0, 60, 1), rec(600, 120, 2), rec(660, 180, 2)],
      size: 2,
      want: [[{ at: 0, demand: 1, capacity: 10, violated: false }], [{ at: 630, demand: 2.5, capacity: 20, violated: false }]],
    },
    { name: 'no records', records: [], size: 3, want: [] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(bucketMinutes(c.records, c.size, 10), c.want));
});

describe('timelineSvg', () => {
  const polylines = (svg: string): number[] => [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => (m[1] as string).split(' ').length);

  it('the demand, one line per strategy, a strip per strategy with its violated minutes counted and marked', () => {
    const minutes = Array.from({ length: 10 }, (_, i) => rec(1.7e9 + i * 60, 600 + i * 60, 2, i === 4));
    const calm = minutes.map((m) => ({ ...m, instances: 3, violated: false }));
    const svg = timelineSvg({ title: 'a <b>', perInstanceRps: 12.5, absoluteTime: true, minutes: { reactive: minutes, oracle: calm } });
    assert.match(svg, /^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    assert.match(svg, /a &lt;b&gt;/);
    assert.match(svg, /instances held x 12.5 req\/s at the SLO\), per minute/);
    assert.deepEqual(polylines(svg), [10, 10, 10], 'demand, reactive, oracle');
    assert.match(svg, /reactive: 1 min/);
    assert.match(svg, /oracle: 0 min/);
    assert.equal([...svg.matchAll(/<path [^>]*d="(M[^"]*)"/g)].length, 1, 'one strip has marks');
  });

  it('known events of declared size are banded over their occurrences within the span, named with the multiplier', () => {
    const minutes = Array.from({ length: 600 }, (_, i) => rec(1.7e9 + i * 60, 600, 2));
    const events = [
      { name: 'launch', start: 1.7e9 + 3600, end: 1.7e9 + 7200, recurrence: 'none' as const, multiplier: 3 },
      { name: 'daily <job>', start: 1.7e9 + 600, end: 1.7e9 + 1200, recurrence: 'daily' as const, multiplier: 2 },
      { name: 'unsized', start: 1.7e9, end: 1.7e9 + 600, recurrence: 'none' as const },
      { name: 'later', start: 1.8e9, end: 1.8e9 + 600, recurrence: 'none' as const, multiplier: 2 },
    ];
    const svg = timelineSvg({ title: 't', perInstanceRps: 20, absoluteTime: true, minutes: { hybrid: minutes }, events });
    assert.equal([...svg.matchAll(/<rect class="event"/g)].length, 2, 'the launch and the daily job once in ten hours; not the unsized one or the later one');
    assert.match(svg, />launch x3</);
    assert.match(svg, />daily &lt;job&gt; x2</);
  });

  it('a long run is drawn in buckets, at most MAX_BUCKETS points per line, and says so', () => {
    const minutes = Array.from({ length: 30 * 1440 }, (_, i) => rec(i * 60, 600, 1));
    const svg = timelineSvg({ title: 't', perInstanceRps: 20, absoluteTime: false, minutes: { hybrid: minutes } });
    assert.match(svg, /means over 36 minutes/);
    for (const n of polylines(svg)) assert.ok(n <= MAX_BUCKETS, String(n));
  });
});
