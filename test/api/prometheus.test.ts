// The metrics as Prometheus sees them: a real Prometheus (Debian's package) scrapes a real `run`'s
// /metrics every second, and every query of the Grafana dashboard (deploy/grafana/shadowscale.json) is
// evaluated through its HTTP API: each must parse, and the basic series must have data.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { Runtime } from '../../src/control/runtime.js';
import { component, driveTraffic, ROOT, smallRunConfig, startPrometheus, tempDir, until } from '../helpers.js';

interface Panel { title: string; targets: { expr: string }[] }

describe('Prometheus and the Grafana dashboard', () => {
  it('a real Prometheus scrapes run\'s /metrics and every dashboard query evaluates', async (t) => {
    const prometheus = component(t, '/usr/bin/prometheus', 'prometheus');
    if (!prometheus) return;
    const dir = tempDir(t);
    const file = smallRunConfig(dir, { max: 2, control: 'delta: { windowTicks: 4 }' });
    const rt = await Runtime.start({ cfg: loadConfig({ file }), env: {} });
    t.after(() => rt.stop({ deleteInstances: true }));
    driveTraffic(t, `${rt.listen}/work`, 15);
    const target = new URL(rt.apiUrl as string).host;
    const { query, setTargets } = await startPrometheus(t, prometheus, dir);
    setTargets([target]);
    await until('Prometheus scraping', async () => {
      try {
        const r = await query('up{job="shadowscale"}');
        return r.status === 'success' && JSON.stringify(r.data?.result).includes('"1"');
      } catch {
        return false;
      }
    }, 30_000);
    // A few scrapes with traffic and ticks, so rates have two points.
    await until('series with data', async () => ((await query('rate(shadowscale_gateway_request_duration_seconds_count{pool="live"}[10s])')).data?.result.length ?? 0) > 0 && ((await query('shadowscale_decisions_total')).data?.result.length ?? 0) > 0, 30_000);

    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'shadowscale.json'), 'utf8')) as { panels: Panel[] };
    const empty: string[] = [];
    for (const p of dashboard.panels) {
      for (const tgt of p.targets) {
        const expr = tgt.expr.replaceAll('$service', 'web').replaceAll('$__rate_interval', '10s');
        const r = await query(expr);
        assert.equal(r.status, 'success', `${p.title}: ${expr}: ${r.error}`);
        if ((r.data?.result.length ?? 0) === 0) empty.push(`${p.title}: ${expr}`);
      }
    }
    // Panels that depend on what this short run never sees (a forecast: reactive; experiments: proof off) may be empty; the others have data.
    const mayBeEmpty = /forecast_requests|experiments_total|degradations|delta_results/;
    assert.deepEqual(empty.filter((e) => !mayBeEmpty.test(e)), []);
    const p99 = await query('histogram_quantile(0.99, sum by (le, pool) (rate(shadowscale_gateway_request_duration_seconds_bucket[10s])))');
    const live = (p99.data?.result as { metric: { pool: string }; value: [number, string] }[]).find((x) => x.metric.pool === 'live');
    assert.ok(live && Number(live.value[1]) > 0 && Number(live.value[1]) < 1, `live p99 ${JSON.stringify(p99.data)}`);
  });
});
