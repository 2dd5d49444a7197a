import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketMeans, forecastSvg, MAX_DRAWN } from './forecast-chart.js';

describe('bucketMeans', () => {
  const cases: { name: string; values: number[]; from: number; to: number; max: number; want: [number, number][] }[] = [
    { name: 'fewer values than buckets: each value alone', values: [1, 2, 3], from: 0, to: 3, max: 10, want: [[0, 1], [1, 2], [2, 3]] },
    { name: 'pairs: the middle index and the mean', values: [1, 3, 5, 7], from: 0, to: 4, max: 2, want: [[0.5, 2], [2.5, 6]] },
    { name: 'an uneven last bucket', values: [1, 3, 5, 7, 9], from: 0, to: 5, max: 2, want: [[1, 3], [3.5, 8]] },
    { name: 'missing values are left out of the mean', values: [1, Number.NaN, 5], from: 0, to: 3, max: 1, want: [[1, 3]] },
    { name: 'a bucket with no value is NaN (a gap)', values: [Number.NaN, Number.NaN, 4, 4], from: 0, to: 4, max: 2, want: [[0.5, Number.NaN], [2.5, 4]] },
    { name: 'a window inside the series keeps absolute indices', values: [9, 9, 1, 2], from: 2, to: 4, max: 5, want: [[2, 1], [3, 2]] },
    { name: 'an empty window', values: [1, 2], from: 2, to: 2, max: 5, want: [] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(bucketMeans(c.values, c.from, c.to, c.max), c.want));
});

describe('forecastSvg', () => {
  const forecast = (h: number, level = 0.8) => ({ model: 'm<&>', level, mean: Array.from({ length: h }, () => 10), lower: Array.from({ length: h }, () => 8), upper: Array.from({ length: h }, () => 12) });
  const polylines = (svg: string): string[][] => [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => (m[1] as string).split(' '));

  it('one band, the history as a line broken at each gap, the mean, and the title escaped', () => {
    const values = [1, 2, 3, Number.NaN, Number.NaN, 4, 5, 6];
    const svg = forecastSvg('a "b" <c>', { start: 0, step: 60, values }, forecast(4), false);
    assert.match(svg, /^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    assert.match(svg, /a &quot;b&quot; &lt;c&gt;/);
    assert.match(svg, /model m&lt;&amp;&gt;, 4 point\(s\) ahead at 60 s, 80 % interval shaded; history: the last 8 of 8 points/);
    assert.equal([...svg.matchAll(/<polygon /g)].length, 1);
    const lines = polylines(svg);
    assert.deepEqual(lines.map((l) => l.length), [3, 3, 4], 'two stretches of history, then the mean');
  });

  it('a long history is cut to max(3 horizons, a day) and drawn with at most MAX_DRAWN points per line', () => {
    const values = Float64Array.from({ length: 100_000 }, (_, i) => Math.sin(i / 50));
    const day = forecastSvg('x', { start: 1.7e9, step: 1, values }, forecast(60), true);
    assert.match(day, /history: the last 86400 of 100000 points/);
    const long = forecastSvg('x', { start: 1.7e9, step: 60, values }, forecast(5000), true);
    assert.match(long, /history: the last 15000 of 100000 points/);
    for (const l of polylines(long)) assert.ok(l.length <= MAX_DRAWN, `${l.length} points`);
  });

  it('every coordinate is a finite number inside the canvas, also for a flat series', () => {
    const svg = forecastSvg('flat', { start: 0, step: 300, values: [5, 5, 5, 5] }, { model: 'p', level: 0.9, mean: [5, 5], lower: [5, 5], upper: [5, 5] }, false);
    const nums = [...svg.matchAll(/(?:points="([^"]*)")/g)].flatMap((m) => (m[1] as string).split(/[ ,]/)).map(Number);
    assert.ok(nums.length > 0);
    for (const v of nums) assert.ok(Number.isFinite(v) && v >= 0 && v <= 760, String(v));
  });
});
