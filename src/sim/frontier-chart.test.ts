import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frontierSvg, tuneSvg } from './frontier-chart.js';
import type { FrontierPoint } from './sweep.js';
import { costAt } from '../core/frontier.js';

const pt = (knob: number, cost: number, sloAttainment: number): FrontierPoint => ({ knob, cost, sloAttainment, costRatioToOracle: cost / 100, sloViolationMinutes: 0 });
const titles = (svg: string): string[] => [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1] as string);
const texts = (svg: string): string[] => [...svg.matchAll(/<text [^>]*>([^<]*)<\/text>/g)].map((m) => m[1] as string);

describe('frontierSvg', () => {
  // Reactive: three runs on its frontier and one dominated run at 6x the oracle (the HPA at 10 %).
  const reactive = [pt(0.8, 110, 0.99), pt(0.6, 130, 0.999), pt(0.4, 150, 0.9999), pt(0.1, 600, 0.9999)];
  const hybrid = [pt(0.99, 105, 0.995), pt(0.9995, 120, 0.9992)];
  // The costs at equal attainment as the sweep reports them: interpolated on each frontier.
  const at = (f: FrontierPoint[]): Record<string, number | null> => ({ '0.999': costAt(f, 0.999), '0.995': costAt(f, 0.995) });
  const svg = frontierSvg('t', { reactive, hybrid }, { reactive: reactive.slice(0, 3), hybrid }, 100, { reactive: at(reactive.slice(0, 3)), hybrid: at(hybrid) });
  const cases: { name: string; check: () => void }[] = [
    { name: 'a circle per run, the dominated one too, with its own cost in its tooltip', check: () => {
      assert.equal([...svg.matchAll(/<circle /g)].length, reactive.length + hybrid.length);
      assert.ok(titles(svg).includes('reactive knob 0.1: 6.000x, 99.990 %'), titles(svg).join('\n'));
    } },
    { name: 'the cost axis spans what is compared: the dominated run is drawn on the top edge and counted', check: () => {
      // The frontiers reach 1.5x: the axis ends at 1.65x, and the 6x run sits there with a dotted outline.
      assert.ok(texts(svg).includes('1 run(s) above 1.65x drawn on this edge'), texts(svg).join('\n'));
      assert.equal([...svg.matchAll(/stroke-dasharray="1 1"/g)].length, 1);
      assert.ok(!texts(svg).some((t) => /^[3-6]\.00$/.test(t)), 'no tick at 3x to 6x');
    } },
    { name: 'each strategy\'s cost at 99.9 % and 99.5 % marked on the attainment and listed', check: () => {
      for (const want of ['reactive at 99.9 %: 1.300x the oracle', 'hybrid at 99.9 %: 1.193x the oracle', 'hybrid at 99.5 %: 1.050x the oracle']) assert.ok(titles(svg).includes(want), want);
      for (const want of ['cost at 99.9 %', 'reactive 1.300x', 'hybrid 1.193x', 'cost at 99.5 %', 'reactive 1.211x', 'hybrid 1.050x']) assert.ok(texts(svg).includes(want), want);
    } },
    { name: 'the marked costs lie on their frontier lines (the line is the interpolation the costs come from)', check: () => {
      const lines = [...svg.matchAll(/<polyline [^>]*stroke="([^"]+)"[^>]*points="([^"]+)"/g)].map((m) => ({ color: m[1] as string, pts: (m[2] as string).split(' ').map((xy) => xy.split(',').map(Number) as [number, number]) }));
      const bars = [...svg.matchAll(/<line x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="[\d.]+" stroke="([^"]+)" stroke-width="3"><title>(\w+) at/g)];
      assert.equal(bars.length, 4);
      for (const b of bars) {
        const x = (Number(b[1]) + Number(b[3])) / 2;
        const line = lines.find((l) => l.color === b[4]);
        assert.ok(line, `a line of ${b[5]}`);
        const i = line.pts.findIndex(([px]) => px >= x);
        if (i <= 0) continue; // before the frontier's cheapest point: its cost, no line there
        const [xa, ya] = line.pts[i - 1] as [number, number];
        const [xb, yb] = line.pts[i] as [number, number];
        const y = ya + ((x - xa) / (xb - xa || 1)) * (yb - ya);
        assert.ok(Math.abs(y - Number(b[2])) < 1.5, `${b[5]} at x ${x}: bar ${b[2]}, line ${y.toFixed(1)}`);
      }
    } },
  ];
  for (const c of cases) it(c.name, c.check);
  it('a strategy that reaches no compared attainment is listed as not reached, with no mark', () => {
    const s = frontierSvg('t', { hybrid }, { hybrid }, 100, { hybrid: { '0.999': null } });
    assert.ok(texts(s).includes('hybrid not reached'));
    assert.ok(!titles(s).some((t) => t.startsWith('hybrid at 99.9 %')));
    assert.ok(!texts(s).some((t) => t.includes('drawn on this edge')), 'nothing off the axis');
  });
});

describe('tuneSvg', () => {
  it('the default and chosen settings stay on the axis even when they are not on the frontier', () => {
    const runs = [{ cost: 100, sloAttainment: 0.999, settings: { a: 1 } }, { cost: 300, sloAttainment: 0.9995, settings: { a: 2 } }];
    const s = tuneSvg('t', 'hybrid', runs, runs.slice(0, 1), runs[0] as (typeof runs)[number], runs[1] as (typeof runs)[number], 100, 0.999);
    assert.ok(!texts(s).some((t) => t.includes('drawn on this edge')), texts(s).join('\n'));
    assert.ok(titles(s).includes('default: 3.000x, 99.950 %'));
  });
});
