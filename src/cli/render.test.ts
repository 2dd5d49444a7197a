import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { targetPercent } from './render.js';

describe('targetPercent', () => {
  const cases: [number, string][] = [
    [0.999, '99.9 %'],
    [0.995, '99.5 %'],
    [0.999999, '99.9999 %'],
    [0.99, '99 %'],
    [0.5, '50 %'],
    [0.12345678, '12.345678 %'],
  ];
  for (const [x, want] of cases) it(`${x} -> ${want}`, () => assert.equal(targetPercent(x), want));
});
