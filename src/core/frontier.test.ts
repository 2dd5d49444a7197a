// Unit tests: cost-SLO frontiers (src/core/frontier.ts): undominated points and cost at an attainment.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { costAt, paretoFrontier, type CostPoint } from './frontier.js';

const p = (cost: number, sloAttainment: number): CostPoint => ({ cost, sloAttainment });

describe('paretoFrontier', () => {
  const rows: { name: string; points: CostPoint[]; want: CostPoint[] }[] = [
    { name: 'empty', points: [], want: [] },
    { name: 'sorted by cost, dominated points dropped', points: [p(3, 0.999), p(1, 0.99), p(2, 0.98), p(2.5, 0.995)], want: [p(1, 0.99), p(2.5, 0.995), p(3, 0.999)] },
    { name: 'equal cost: the better attainment stays', points: [p(1, 0.99), p(1, 0.995)], want: [p(1, 0.995)] },
    { name: 'equal attainment: only the cheaper one', points: [p(2, 0.99), p(1, 0.99)], want: [p(1, 0.99)] },
  ];
  for (const r of rows) it(r.name, () => assert.deepEqual(paretoFrontier(r.points), r.want));
});

describe('costAt', () => {
  const f = [p(1, 0.99), p(2, 0.995), p(4, 0.999)];
  const rows: { name: string; a: number; want: number | null }[] = [
    { name: 'exactly on a point', a: 0.995, want: 2 },
    { name: 'halfway between two points: linear', a: 0.997, want: 3 },
    { name: 'below the cheapest point: its cost (no extrapolation)', a: 0.9, want: 1 },
    { name: 'beyond the best point: not reached', a: 0.9995, want: null },
    { name: 'the best point exactly', a: 0.999, want: 4 },
  ];
  for (const r of rows) it(r.name, () => assert.equal(costAt(f, r.a), r.want));
  it('an empty frontier reaches nothing', () => assert.equal(costAt([], 0.9), null));
});
