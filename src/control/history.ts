// The demand a store recorded for a service, as a trace: what `shadowscale tune --store` replays.
//
// The loop writes the live pool's requests per second once a second (METRIC.liveRps); the store keeps them
// raw for hours and as minute rollups for `store.retention.minuteSeconds` (14 days by default). The trace is
// the minute means, one row per minute with traffic sensed; minutes with nothing recorded (the loop was
// down, or blind) are gaps, skipped by the simulator as a CSV's gaps are.

import { existsSync, statSync } from 'node:fs';
import { ShadowscaleError } from '../core/errors.js';
import { Store } from '../metrics/store.js';
import { traceFrom, type Trace } from '../sim/trace.js';
import { METRIC } from './loop.js';

const MINUTE = 60;

/** The store's recorded demand of `service` (minute means of the live pool's requests per second). */
export function demandHistory(path: string, service: string): Trace {
  if (!existsSync(path)) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--store ${path}: no such file; name the store a \`shadowscale run\` keeps (store.path of its configuration)`);
  if (statSync(path).isDirectory()) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--store ${path}: a directory; name the store's file (store.path of the run's configuration)`);
  const store = Store.openReadOnly(path);
  try {
    const points = store.series({ service, pool: 'live', metric: METRIC.liveRps, from: 0, to: Number.MAX_SAFE_INTEGER, resolution: MINUTE });
    if (points.length === 0) {
      const known = store.servicesWith({ pool: 'live', metric: METRIC.liveRps, resolution: MINUTE });
      throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--store ${path}: no demand recorded for service "${service}" (${known.length ? `services with history: ${known.join(', ')}; choose one with --service` : 'no service has any: the store is new, or its minute rollups have expired'})`);
    }
    const times = Float64Array.from(points, (p) => p.ts / 1000);
    const values = Float64Array.from(points, (p) => p.mean);
    return traceFrom({ file: `${path} [${service}]`, column: METRIC.liveRps, times, values, step: MINUTE });
  } finally {
    store.close();
  }
}
