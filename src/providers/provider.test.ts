// Unit tests (table): decision reasons as Event reasons.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventReason } from './provider.js';

describe('eventReason', () => {
  const rows: [string, string][] = [
    ['utilization_above_target', 'UtilizationAboveTarget'],
    ['forecast_ahead', 'ForecastAhead'],
    ['max_instances', 'MaxInstances'],
    ['p99_slo_breach', 'P99SloBreach'],
    ['hold', 'Hold'],
  ];
  for (const [reason, want] of rows) it(`${reason} -> ${want}`, () => assert.equal(eventReason(reason), want));
});
