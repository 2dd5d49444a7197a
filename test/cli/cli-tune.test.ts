// Integration tests: the real `shadowscale tune`: the search, its report, --write in place, --store.
// (Apart from test/cli/cli.test.ts: each file is one process under the runner's per-file timeout.)
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Store } from '../../src/metrics/store.js';
import { fixture, runCli, tempDir } from '../helpers.js';

const NASA = fixture('nasa-http-1995/nasa_http_1995_2weeks_per_minute.csv');

describe('shadowscale tune', () => {
  it('finds the cheapest settings that reach the target, prints the frontier, writes them in place, and charts every run', async (t) => {
    const dir = tempDir(t);
    const cfg = join(dir, 'c.yaml');
    const chart = join(dir, 'tune.svg');
    writeFileSync(cfg, '# ours\nservices:\n  - name: web # front\n    scaling: { strategy: reactive }\n');
    const r = await runCli(['tune', '--input', NASA, '--peak-rps', '2000', '--config', cfg, '--slo-attainment', '0.99', '--write', cfg, '--chart', chart, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { strategy: string; target: number; meetsTarget: boolean; best: { settings: Record<string, number>; cost: number; sloAttainment: number }; default: { cost: number; sloAttainment: number }; frontier: { cost: number; sloAttainment: number }[]; runs: number; written: string };
    assert.equal(out.strategy, 'reactive', "the service's strategy");
    assert.equal(out.target, 0.99);
    assert.ok(out.meetsTarget && out.best.sloAttainment >= 0.99, JSON.stringify(out.best));
    // Cheapest among the runs that meet the target: no frontier point that meets it is cheaper.
    for (const p of out.frontier) if (p.sloAttainment >= 0.99) assert.ok(p.cost >= out.best.cost);
    assert.ok(out.runs >= 10);
    assert.equal(out.written, cfg);
    const text = readFileSync(cfg, 'utf8');
    assert.match(text, /# ours[\s\S]*# front/);
    assert.match(text, new RegExp(`targetUtilization: ${out.best.settings['scaling.reactive.targetUtilization']}`));
    // The chart: a circle per run, the frontier joined, the default and the chosen settings marked, the target.
    const svg = readFileSync(chart, 'utf8');
    assert.equal([...svg.matchAll(/<circle /g)].length, out.runs);
    assert.equal([...svg.matchAll(/<polyline /g)].length, 1);
    assert.match(svg, new RegExp(`<title>chosen: ${(out.best.cost / (out as unknown as { oracle: { cost: number } }).oracle.cost).toFixed(3)}x`));
    assert.match(svg, /<title>default: /);
    assert.match(svg, />target 99 %</);
    assert.match(svg, />reactive: \d+ runs</);
  });

  it('writes nothing when no setting reaches the target, and says so with exit 3 (the report still on stdout)', async (t) => {
    const cfg = join(tempDir(t), 'c.yaml');
    const text = 'services:\n  - name: web\n    scaling: { strategy: reactive }\n';
    writeFileSync(cfg, text);
    const r = await runCli(['tune', '--input', NASA, '--peak-rps', '2000', '--config', cfg, '--slo-attainment', '0.999999', '--write', cfg, '--json']);
    assert.equal(r.code, 3, r.stderr);
    const report = JSON.parse(r.stdout) as { meetsTarget: boolean; written: string | null };
    assert.equal(report.meetsTarget, false);
    assert.equal(report.written, null);
    assert.match(r.stderr, /nothing written to .*c\.yaml: no setting tried reached 99\.9999 % on this demand \(the best: \d+\.\d{3} %\) \[SHADOWSCALE_E_TUNE_TARGET_MISSED\]/);
    // Two weeks of minutes: 99.9999 % of them allows 0.02 violated minutes, said before the search.
    assert.match(r.stderr, /99\.9999 % of 20,160 minutes allows 0\.02 violated minutes: on this trace the target means none violated/);
    assert.equal(readFileSync(cfg, 'utf8'), text);
  });

  it('--store tunes on the demand a run recorded: the same runs as the same minutes given as a CSV, read while the store is owned; two threads find what one does', async (t) => {
    const dir = tempDir(t);
    const cfg = join(dir, 'c.yaml');
    writeFileSync(cfg, 'services:\n  - name: web\n');
    // Three days of NASA's minutes at up to 900 req/s, recorded as the loop records them (the live pool's
    // requests/s; one sample per minute here, so each minute's mean is that sample).
    const rows = readFileSync(NASA, 'utf8').trim().split('\n').slice(1, 1 + 3 * 1440).map((l) => l.split(','));
    const counts = rows.map((r) => Number(r[1]));
    const peak = Math.max(...counts);
    const times = rows.map((r) => Date.parse(r[0] as string));
    const rps = counts.map((c) => (c / peak) * 900);
    const csv = join(dir, 'minutes.csv');
    writeFileSync(csv, `timestamp,rps\n${times.map((ms, i) => `${ms / 1000},${rps[i]}`).join('\n')}\n`);
    const storePath = join(dir, 'store.db');
    const owner = Store.open({ path: storePath });
    t.after(() => owner.close());
    owner.addSamples(times.map((ts, i) => ({ ts, service: 'web', pool: 'live', metric: 'rps', value: rps[i] as number })));
    owner.addSamples([{ ts: times[0] as number, service: 'api', pool: 'live', metric: 'rps', value: 5 }]);
    const fromStore = await runCli(['tune', '--store', storePath, '--config', cfg, '--strategy', 'hybrid', '--threads', '2', '--json']);
    assert.equal(fromStore.code, 0, fromStore.stderr);
    const fromCsv = await runCli(['tune', '--input', csv, '--peak-rps', '900', '--config', cfg, '--strategy', 'hybrid', '--threads', '1', '--json']);
    assert.equal(fromCsv.code, 0, fromCsv.stderr);
    assert.deepEqual(JSON.parse(fromStore.stdout), JSON.parse(fromCsv.stdout));
    assert.ok((JSON.parse(fromStore.stdout) as { runs: number }).runs >= 10);

    const other = join(dir, 'other.yaml');
    writeFileSync(other, 'services:\n  - name: shop\n');
    for (const [args, msg] of [
      [['--store', storePath, '--config', other], /--store .*store\.db: no demand recorded for service "shop" \(services with history: api, web; choose one with --service\)/],
      [['--store', join(dir, 'missing.db')], /--store .*missing\.db: no such file/],
      [['--store', dir], /--store .*: a directory; name the store's file/],
      [['--store', storePath, '--input', csv], /--input and --store both say what to replay: pass one/],
      [[], /what to replay: give --input FILE \(a CSV trace\) or --store FILE/],
      [['--store', storePath, '--config', cfg, '--column', 'rps'], /--column reads a CSV trace \(--input\)/],
      [['--store', storePath, '--config', cfg, '--threads', '0'], /--threads/],
    ] as const) {
      const r = await runCli(['tune', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
  });

  it('warns when a trace holds under three days (the policy reads errors by hour and the daily peak from three days on)', async (t) => {
    const dir = tempDir(t);
    const day = join(dir, 'day.csv');
    writeFileSync(day, `${readFileSync(NASA, 'utf8').trim().split('\n').slice(0, 1 + 1440).join('\n')}\n`);
    const r = await runCli(['tune', '--input', day, '--strategy', 'reactive', '--threads', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /day\.csv: 24\.0 h of demand; the policy reads its errors by hour of the day and the daily peak from three days on/);
    JSON.parse(r.stdout);
  });

  it('rejects a bad --slo-attainment with exit 2', async () => {
    const r = await runCli(['tune', '--input', NASA, '--slo-attainment', '1.5']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--slo-attainment.*expected a number strictly between 0 and 1, got "1.5"/);
  });
});
