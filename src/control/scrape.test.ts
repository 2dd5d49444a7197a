import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IntervalPool } from '../gateway/metrics.js';
import type { Instance } from '../providers/provider.js';
import { cpuReport } from './loop.js';
import { scrapeGroups } from './scrape.js';

const inst = (id: string, service: string, pool: Instance['pool'], state: Instance['state'], port: number): Instance => ({ id, service, pool, instanceType: 'small', labels: {}, url: `http://127.0.0.1:${port}`, state, createdAt: 0 });

describe('scrapeGroups', () => {
  const rows: { note: string; api?: string; instances: Instance[]; want: { targets: string[]; labels: Record<string, string> }[] }[] = [
    { note: 'nothing: no groups', instances: [], want: [] },
    { note: "run's API alone, unlabelled (its series carry their own service labels)", api: 'http://127.0.0.1:9000', instances: [], want: [{ targets: ['127.0.0.1:9000'], labels: {} }] },
    {
      note: 'ready instances by service and pool; starting, draining and failed ones are not scraped',
      api: 'http://127.0.0.1:9000',
      instances: [inst('a', 'web', 'live', 'ready', 2), inst('b', 'web', 'live', 'ready', 1), inst('c', 'web', 'shadow', 'ready', 3), inst('d', 'web', 'live', 'starting', 4), inst('e', 'store', 'live', 'draining', 5), inst('f', 'store', 'live', 'failed', 6), inst('g', 'store', 'live', 'ready', 7)],
      want: [
        { targets: ['127.0.0.1:9000'], labels: {} },
        { targets: ['127.0.0.1:1', '127.0.0.1:2'], labels: { service: 'web', pool: 'live' } },
        { targets: ['127.0.0.1:3'], labels: { service: 'web', pool: 'shadow' } },
        { targets: ['127.0.0.1:7'], labels: { service: 'store', pool: 'live' } },
      ],
    },
  ];
  for (const r of rows) it(r.note, () => assert.deepEqual(scrapeGroups(r.api, r.instances), r.want));
});

describe('cpuReport', () => {
  const pool = (requests: number, cpuCores?: number): IntervalPool => ({ requests, mutations: 0, errors: 0, bytesIn: 0, bytesOut: 0, latencyMs: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0 }, buckets: [], ...(cpuCores !== undefined ? { cpuCores } : {}) });
  const rows: { note: string; live: IntervalPool; shadow: IntervalPool; dt: number; want: ReturnType<typeof cpuReport> }[] = [
    { note: 'cores and CPU ms per request of both pools (0.5 cores over 2 s for 100 requests: 10 ms each)', live: pool(100, 0.5), shadow: pool(10, 0.1), dt: 2, want: { liveCores: 0.5, shadowCores: 0.1, liveMsPerRequest: 10, shadowMsPerRequest: 20 } },
    { note: 'no requests: cores only', live: pool(0, 0.2), shadow: pool(0, 0), dt: 1, want: { liveCores: 0.2, shadowCores: 0 } },
    { note: 'a pool not measured is left out', live: pool(50, 0.05), shadow: pool(5), dt: 1, want: { liveCores: 0.05, liveMsPerRequest: 1 } },
  ];
  for (const r of rows) it(r.note, () => assert.deepEqual(cpuReport(r.live, r.shadow, r.dt), r.want));
});
