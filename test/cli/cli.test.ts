// Integration tests: the real `shadowscale` binary: DESIGN contracts (JSON shapes), exit codes, stdout/stderr split.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Store } from '../../src/metrics/store.js';
import { timelineRange } from '../../src/cli/commands/backtest.js';
import { traceFrom } from '../../src/sim/trace.js';
import { spawn } from 'node:child_process';
import { fixture, ROOT, runCli, tempDir } from '../helpers.js';

const NASA = fixture('nasa-http-1995/nasa_http_1995_2weeks_per_minute.csv');
const CONTRACT_FIELDS = ['cost', 'instanceHours', 'sloViolationMinutes', 'sloAttainment', 'overProvisioning', 'scalingActions'];

describe('empty option values', () => {
  it('regression: an empty value is exit 2 naming the option, before anything runs (`run --config ""` ran on the defaults)', async (t) => {
    const dir = tempDir(t);
    const cases: [string[], RegExp][] = [
      [['run', '--config', ''], /^shadowscale: --config: expected <file>, got an empty string \[SHADOWSCALE_E_USAGE\]$/],
      [['config', 'validate', '--config', ''], /^shadowscale: --config: expected <file>, got an empty string/],
      [['doctor', '--store', ''], /^shadowscale: --store: expected <file>, got an empty string/],
      [['backtest', '--input', ''], /^shadowscale: --input: expected <file>, got an empty string/],
      [['forecast-eval', '--input', ''], /^shadowscale: --input: expected <file\|dir>, got an empty string/],
      [['status', '--set', 'store.path=x', '--set', ''], /^shadowscale: --set: expected <path=value>, got an empty string/],
      [['decisions', '--api', ''], /^shadowscale: --api: expected <url>, got an empty string/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { TMPDIR: dir }, dir);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr.trim(), message, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    }
    assert.deepEqual(readdirSync(dir), [], 'nothing made in the working directory (the defaults\' store.path)');
  });
});

describe('shadowscale doctor', () => {
  it('a missing store, a directory and a file that is not a store: each named as a problem, exit 3', async (t) => {
    const dir = tempDir(t);
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'not a database at all, just some bytes that SQLite will refuse to read as one');
    for (const [store, msg] of [
      [join(dir, 'missing.db'), /missing\.db: no such store/],
      [dir, /: a directory, not a store; name the store's file/],
      // Not "damaged: move it aside", which for /dev/null is advice to break the machine.
      ['/dev/null', /\/dev\/null: a character device, not a store; name the store's file/],
      [junk, /junk\.db: the store is damaged .*move it aside/],
    ] as const) {
      const r = await runCli(['doctor', '--store', store]);
      assert.equal(r.code, 3, `${store}: ${r.stderr}`);
      assert.match(r.stdout, msg);
      assert.match(r.stderr, /\d+ problem\(s\) found \(listed above\) \[SHADOWSCALE_E_DOCTOR_PROBLEMS\]/);
    }
  });
});

describe('shadowscale backtest', () => {
  it('--json prints exactly one JSON object with the contract fields for all four strategies', async () => {
    const r = await runCli(['backtest', '--input', NASA, '--peak-rps', '2000', '--strategy', 'all', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { strategies: Record<string, Record<string, number>>; settings: Record<string, unknown> };
    assert.deepEqual(Object.keys(out.strategies), ['reactive', 'predictive', 'hybrid', 'oracle']);
    for (const s of Object.values(out.strategies)) {
      for (const f of CONTRACT_FIELDS) assert.equal(typeof s[f], 'number', f);
      assert.ok((s.sloAttainment as number) >= 0 && (s.sloAttainment as number) <= 1);
    }
    assert.equal(out.strategies.oracle?.sloViolationMinutes, 0);
    assert.equal(out.settings.peakRps, 2000);
    assert.ok(out.settings.instanceType && out.settings.scaling, 'effective settings are included');
    assert.equal(r.stdout.trim().split('\n').length, 1, 'stdout holds only the JSON');
  });

  // A peak past what pool.max carries at the SLO: every strategy is capped there, said on stderr; past a
  // billion requests/s the simulation's counts lose their precision (at 1e100 the oracle used one instance).
  const peaks: { args: string[]; code: number; stderr: RegExp; not?: RegExp }[] = [
    { args: ['backtest', '--peak-rps', '1e6', '--strategy', 'reactive', '--json'], code: 0, stderr: /--peak-rps 1000000: the peak, 1000000 req\/s, needs 7,470 instances at the SLO \(133\.9 req\/s each\) and services\[0\]\.pool\.max is 200: every strategy is capped there/ },
    { args: ['backtest', '--peak-rps', '2000', '--strategy', 'reactive', '--json'], code: 0, stderr: /^(?![\s\S]*capped)/ },
    { args: ['backtest', '--peak-rps', '2000', '--strategy', 'reactive', '--set', 'services[0].pool.max=10'], code: 0, stderr: /needs 15 instances at the SLO .* services\[0\]\.pool\.max is 10/ },
    { args: ['backtest', '--peak-rps', '1e10'], code: 2, stderr: /--peak-rps <rps>' argument '1e10' is invalid\. expected at most 1,000,000,000 requests\/s/ },
    { args: ['tune', '--peak-rps', '1e100'], code: 2, stderr: /expected at most 1,000,000,000 requests\/s, got "1e100"/ },
  ];
  for (const p of peaks) {
    it(`${p.args.join(' ')}: exit ${p.code}, ${p.code === 2 ? 'refused' : 'said on stderr when capped'}`, async () => {
      const r = await runCli([p.args[0] as string, '--input', NASA, ...p.args.slice(1)]);
      assert.equal(r.code, p.code, r.stderr);
      assert.match(r.stderr, p.stderr);
    });
  }

  // Known events that change nothing in the replay are said: without a size, or outside the trace's times.
  const event = (start: string, end: string, multiplier?: number): string[] =>
    [`name=launch`, `start=${start}`, `end=${end}`, ...(multiplier === undefined ? [] : [`multiplier=${multiplier}`])].flatMap((x) => ['--set', `services[0].events[0].${x}`]);
  const events: { note: string; args: string[]; stderr: RegExp }[] = [
    { note: 'without a multiplier', args: event('1995-07-10T10:00:00Z', '1995-07-10T12:00:00Z'), stderr: /services\[0\]\.events\[0\] \(launch\): no multiplier \(or 1\), so the strategies plan without it/ },
    { note: 'outside the trace', args: event('2026-07-10T10:00:00Z', '2026-07-10T12:00:00Z', 3), stderr: /services\[0\]\.events\[0\] \(launch\): no occurrence between 1995-07-01T04:00:00\.000Z and 1995-07-15T04:00:00\.000Z, the trace's first and last times: it changes nothing/ },
    { note: 'sized, within the trace: nothing said', args: event('1995-07-10T10:00:00Z', '1995-07-10T12:00:00Z', 3), stderr: /^(?![\s\S]*events\[0\])/ },
  ];
  for (const e of events) {
    it(`a known event ${e.note}: ${e.note.startsWith('sized') ? 'nothing on stderr' : 'said on stderr'}`, async () => {
      const r = await runCli(['backtest', '--input', NASA, '--peak-rps', '2000', '--strategy', 'reactive', '--json', ...e.args]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, e.stderr);
    });
  }

  it('prints a readable table without --json, and is the same run as the JSON', async () => {
    const [table, json] = await Promise.all([
      runCli(['backtest', '--input', NASA, '--peak-rps', '2000', '--strategy', 'reactive']),
      runCli(['backtest', '--input', NASA, '--peak-rps', '2000', '--strategy', 'reactive', '--json']),
    ]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /strategy\s+cost\s+vs oracle/);
    const cost = (JSON.parse(json.stdout) as { strategies: { reactive: { cost: number } } }).strategies.reactive.cost;
    assert.match(table.stdout, new RegExp(`reactive\\s+${cost.toFixed(2)}`));
    assert.doesNotMatch(table.stdout, /oracle\s+\d/, 'only the requested strategies are listed');
  });

  it('--sweep --json adds each strategy\'s frontier and its cost at equal attainment; --chart writes the SVG', async (t) => {
    const chart = join(tempDir(t), 'frontier.svg');
    const r = await runCli(['backtest', '--input', NASA, '--peak-rps', '2000', '--strategy', 'reactive,hybrid', '--sweep', '--chart', chart, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      strategies: Record<string, unknown>;
      frontier: Record<string, { knob: number; cost: number; sloAttainment: number }[]>;
      costAtAttainment: Record<string, Record<string, number | null>>;
    };
    assert.deepEqual(Object.keys(out.strategies), ['reactive', 'hybrid']);
    assert.deepEqual(Object.keys(out.frontier), ['reactive', 'hybrid']);
    for (const f of Object.values(out.frontier)) {
      assert.ok(f.length >= 2, 'several undominated settings');
      for (const p of f) assert.deepEqual(Object.keys(p).slice(0, 3).sort(), ['cost', 'knob', 'sloAttainment']);
      for (let i = 1; i < f.length; i++) {
        assert.ok((f[i] as { cost: number }).cost > (f[i - 1] as { cost: number }).cost, 'cheapest first');
        assert.ok((f[i] as { sloAttainment: number }).sloAttainment > (f[i - 1] as { sloAttainment: number }).sloAttainment, 'each costlier point is better');
      }
    }
    for (const c of Object.values(out.costAtAttainment)) {
      assert.deepEqual(Object.keys(c), ['0.999', '0.995']);
      for (const v of Object.values(c)) assert.ok(v === null || v > 0);
    }
    // Reactive's knob is the HPA's target utilization, hybrid's the attainment its SLO policy aims for.
    for (const p of out.frontier.reactive ?? []) assert.ok(p.knob >= 0.1 && p.knob <= 0.8, `utilization ${p.knob}`);
    for (const p of out.frontier.hybrid ?? []) assert.ok(p.knob >= 0.95 && p.knob < 1, `attainment ${p.knob}`);
    assert.match(readFileSync(chart, 'utf8'), /^<svg[^>]*>[\s\S]*polyline[\s\S]*<\/svg>\n$/);
  });

  it('--sweep on worker threads gives the sequential sweep, run for run', async () => {
    const args = ['backtest', '--input', NASA, '--peak-rps', '2000', '--strategy', 'reactive,hybrid', '--sweep', '--json'];
    const [one, two] = await Promise.all([runCli([...args, '--threads', '1']), runCli([...args, '--threads', '2'])]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    assert.deepEqual(JSON.parse(two.stdout), JSON.parse(one.stdout));
    const bad = await runCli([...args, '--threads', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--threads/);
  });

  it('--timeline draws the demand, each strategy\'s capacity and violated minutes (SVG); the JSON is the same without it', async (t) => {
    const dir = tempDir(t);
    const csv = join(dir, 'two-days.csv');
    writeFileSync(csv, `${readFileSync(NASA, 'utf8').split('\n').slice(0, 1 + 2 * 1440).join('\n')}\n`);
    const timeline = join(dir, 'timeline.svg');
    const args = ['backtest', '--input', csv, '--peak-rps', '2000', '--strategy', 'reactive,hybrid', '--json'];
    const plain = await runCli(args);
    const drawn = await runCli([...args, '--timeline', timeline]);
    assert.equal(drawn.code, 0, drawn.stderr);
    assert.deepEqual(JSON.parse(drawn.stdout), JSON.parse(plain.stdout));
    const out = JSON.parse(drawn.stdout) as { strategies: Record<string, { sloViolationMinutes: number }> };
    const svg = readFileSync(timeline, 'utf8');
    assert.match(svg, /^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    assert.match(svg, /two-days\.csv \[value\] at --peak-rps 2000/);
    // Its strips count what the report counts; the oracle is drawn as the reference.
    for (const name of ['reactive', 'hybrid']) assert.match(svg, new RegExp(`>${name}: ${out.strategies[name]?.sloViolationMinutes} min<`));
    assert.match(svg, />oracle: 0 min</);
    const bad = await runCli([...args, '--timeline', join(dir, 'no', 't.svg')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--timeline .*t\.svg: its folder .*no does not exist/);
  });

  it('--timeline-range: FROM..TO in UTC for absolute times, seconds from the first row otherwise; a bad range names the flag', async () => {
    const day = 86400;
    const start = Date.UTC(2024, 0, 1) / 1000;
    const times = Float64Array.from({ length: 3 * 1440 }, (_, i) => start + i * 60);
    const absolute = traceFrom({ file: 'a.csv', column: 'v', times, values: new Float64Array(times.length).fill(1), step: 60 });
    const relative = { ...absolute, timeFormat: 'relative-seconds' as const, times: Float64Array.from(times, (t) => t - start) };
    const ok: [string, typeof absolute, { from: number; to: number }][] = [
      ['2024-01-02..2024-01-03', absolute, { from: start + day, to: start + 2 * day }],
      ['2024-01-01T06:00..2024-01-01 12:30', absolute, { from: start + 6 * 3600, to: start + 12.5 * 3600 }],
      ['2023-12-01..2024-01-01T00:05', absolute, { from: Date.UTC(2023, 11, 1) / 1000, to: start + 300 }],
      ['3600..7200', relative, { from: 3600, to: 7200 }],
    ];
    for (const [text, trace, want] of ok) assert.deepEqual(timelineRange(text, trace), want, text);
    const bad: [string, typeof absolute, RegExp][] = [
      ['2024-01-02', absolute, /expected FROM\.\.TO/],
      ['2024-01-03..2024-01-02', absolute, /FROM must come before TO/],
      ['2024-02-01..2024-02-02', absolute, /the trace runs from 2024-01-01T00:00:00.000Z to 2024-01-04T00:00:00.000Z/],
      ['2024-01-01..soon', absolute, /"soon" is not a UTC date or time/],
      ['2024-01-01..2024-01-02', relative, /is not a number of seconds from the first row/],
    ];
    for (const [text, trace, msg] of bad) assert.throws(() => timelineRange(text, trace), (e: Error & { code?: string }) => e.code === 'SHADOWSCALE_E_USAGE' && msg.test(e.message) && e.message.startsWith(`--timeline-range ${text}: `), text);
    const alone = await runCli(['backtest', '--input', NASA, '--timeline-range', '1995-07-13..1995-07-14']);
    assert.equal(alone.code, 2);
    assert.match(alone.stderr, /--timeline-range narrows the timeline: it needs --timeline FILE\.svg/);
  });

  it('--chart without --sweep is a usage error', async () => {
    const r = await runCli(['backtest', '--input', NASA, '--chart', '/tmp/x.svg']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--chart draws the frontier: it needs --sweep/);
  });

  it('--chart naming a file that cannot be written is a usage error before the run', async (t) => {
    const dir = tempDir(t);
    for (const [chart, msg] of [
      [join(dir, 'missing', 'x.svg'), /--chart .*x\.svg: its folder .*missing does not exist/],
      [dir, /--chart .*: a directory; name a file/],
      ['', /--chart: expected <file\.svg>, got an empty string/],
    ] as const) {
      const r = await runCli(['backtest', '--input', NASA, '--sweep', '--chart', chart]);
      assert.equal(r.code, 2, `${chart}: ${r.stderr}`);
      assert.match(r.stderr, msg);
      assert.doesNotMatch(r.stderr, /internal error/);
    }
  });

  it('settings come from the config file, the environment and flags, in that order', async (t) => {
    const dir = tempDir(t);
    const cfg = join(dir, 'c.yaml');
    writeFileSync(cfg, 'services:\n  - name: web\n    slo: { latencyP99Ms: 300 }\n    scaling: { headroom: 0.5 }\n');
    const base = ['backtest', '--input', NASA, '--strategy', 'oracle', '--json', '--config', cfg];
    const settings = async (args: string[], env: Record<string, string> = {}) => (JSON.parse((await runCli([...base, ...args], env)).stdout) as { settings: { slo: { latencyP99Ms: number }; scaling: { headroom: number } } }).settings;
    assert.equal((await settings([])).slo.latencyP99Ms, 300);
    assert.equal((await settings([], { SHADOWSCALE_SLO_P99_MS: '250' })).slo.latencyP99Ms, 250);
    const both = await settings(['--slo-p99-ms', '150'], { SHADOWSCALE_SLO_P99_MS: '250' });
    assert.equal(both.slo.latencyP99Ms, 150);
    assert.equal(both.scaling.headroom, 0.5);
  });

  it('--duplicates merges repeated times and says so on stderr; a bad policy exits 2', async () => {
    const r = await runCli(['backtest', '--input', fixture('nab/ec2_request_latency_system_failure.csv'), '--duplicates', 'mean', '--strategy', 'reactive', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /merged 11 row\(s\)/);
    JSON.parse(r.stdout);
    const bad = await runCli(['backtest', '--input', NASA, '--duplicates', 'average']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Allowed choices are error, mean, sum, first, last/);
  });
  it('reports trace gaps on stderr, keeping stdout pure JSON', async () => {
    const r = await runCli(['backtest', '--input', fixture('nab/speed_7578.csv'), '--strategy', 'reactive', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /gap\(s\), \d+ missing point\(s\)/);
    JSON.parse(r.stdout);
  });
});

describe('a reader that goes away', () => {
  // EPIPE on stderr (`2>&1 | head`, a log shipper that died) ended the process where it stood: a demo
  // left its instances running. The output is dropped and the command goes on to its end.
  it('regression: stderr closed before the first warning: the command still finishes, exit 0, its JSON whole', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'shadowscale'), 'backtest', '--input', fixture('nab/speed_7578.csv'), '--strategy', 'reactive', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.destroy();
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 0);
    assert.ok((JSON.parse(stdout) as { strategies: Record<string, unknown> }).strategies.reactive);
  });
});

describe('shadowscale forecast', () => {
  it('prints exactly N points after the last row with an 80 % interval by default', async () => {
    const r = await runCli(['forecast', '--input', NASA, '--horizon', '5', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const f = JSON.parse(r.stdout) as { model: string; step: number; points: { timestamp: string; mean: number; lower: number; upper: number }[] };
    assert.equal(f.step, 60);
    assert.equal(f.points.length, 5);
    assert.equal(f.points[0]?.timestamp, '1995-07-15T04:00:00.000Z');
    for (const p of f.points) assert.ok(p.lower <= p.mean && p.mean <= p.upper);
    assert.equal(typeof f.model, 'string');
  });
  it('rejects a bad horizon or level', async () => {
    assert.equal((await runCli(['forecast', '--input', NASA, '--horizon', '0'])).code, 2);
    assert.equal((await runCli(['forecast', '--input', NASA, '--horizon', '3', '--level', '1.5'])).code, 2);
  });
  it('regression: a directory with a symbolic link back up the tree forecasts each series once', async (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'a.csv'), readFileSync(NASA, 'utf8').split('\n').slice(0, 200).join('\n'));
    symlinkSync('..', join(dir, 'sub', 'up'));
    const r = await runCli(['forecast', '--input', dir, '--horizon', '1', '--model', 'persistence']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { series: string }).series), [join(dir, 'sub', 'a.csv')]);
  });
  it('names the interval level with its digits (0.9999999 printed as 100 %)', async () => {
    const r = await runCli(['forecast', '--input', NASA, '--horizon', '1', '--model', 'persistence', '--level', '0.9999999']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^model naive-flat, step 60s, 99\.99999 % interval\n/);
  });
  it('--horizon-seconds gives the same forecast as the whole points it rounds up to', async () => {
    const points = await runCli(['forecast', '--input', NASA, '--horizon', '3', '--json']);
    for (const seconds of ['180', '121']) {
      const r = await runCli(['forecast', '--input', NASA, '--horizon-seconds', seconds, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, points.stdout, `--horizon-seconds ${seconds} at a 60 s step`);
    }
  });
  const horizons: { note: string; args: string[]; message: RegExp }[] = [
    { note: 'neither', args: [], message: /how far ahead: give --horizon POINTS or --horizon-seconds SECONDS \[SHADOWSCALE_E_USAGE\]/ },
    { note: 'both', args: ['--horizon', '3', '--horizon-seconds', '180'], message: /--horizon and --horizon-seconds both say how far ahead: pass one/ },
    { note: 'too far', args: ['--horizon-seconds', '1e12'], message: /--horizon-seconds 1000000000000 is 16666666667 points of 60s; expected at most 100000 points/ },
    { note: 'not positive', args: ['--horizon-seconds', '0'], message: /expected a positive number of seconds, got "0"/ },
    // A short-horizon model asked for by name beyond its reach was an internal error (a RangeError's stack).
    { note: 'lag regression 500 points ahead', args: ['--model', 'lag-regression', '--horizon', '500'], message: /lag regression forecasts at most 12 points ahead, got 500; a longer horizon needs another model \(the pipeline, auto, takes any\) \[SHADOWSCALE_E_USAGE\]/ },
    { note: 'the analog 13 points ahead', args: ['--model', 'analog', '--horizon-seconds', '780'], message: /analog forecasts at most 12 points ahead, got 13/ },
  ];
  for (const { note, args, message } of horizons) {
    it(`exits 2 naming the horizon: ${note}`, async () => {
      const r = await runCli(['forecast', '--input', NASA, ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }
});

describe('shadowscale config', () => {
  it('validate prints the effective configuration; schema prints a JSON Schema', async () => {
    const v = await runCli(['config', 'validate', '--headroom', '0.3']);
    assert.equal(v.code, 0);
    assert.equal((JSON.parse(v.stdout) as { services: { scaling: { headroom: number } }[] }).services[0]?.scaling.headroom, 0.3);
    const s = await runCli(['config', 'schema']);
    assert.match((JSON.parse(s.stdout) as { $schema: string }).$schema, /json-schema\.org/);
  });
  it('--help and --version exit 0', async () => {
    assert.equal((await runCli(['--help'])).code, 0);
    assert.equal((await runCli(['--version'])).code, 0);
  });
});

describe('shadowscale proofs', () => {
  it("prints the store's trials per type, what the fresh ones prove, and the decisions by proof status", async (t) => {
    const dir = tempDir(t);
    const storePath = join(dir, 'store.db');
    writeFileSync(join(dir, 'c.yaml'), `store: { path: ${storePath} }\n`);
    const store = Store.open({ path: storePath });
    const now = Date.now();
    const steps = (xs: [number, 'pass' | 'fail', number][]) => xs.map(([targetRps, verdict, p99Ms]) => ({ verdict, numbers: { targetRps, p99Ms } }));
    store.startExperiment({ id: 'old', service: 'web', kind: 'trial', startedAt: now - 7_300_000, config: { instanceType: 'standard' } });
    store.finishExperiment('old', now - 7_200_000, 'pass', { instanceType: 'standard', steps: steps([[50, 'pass', 80]]) });
    store.startExperiment({ id: 'new', service: 'web', kind: 'trial', startedAt: now - 70_000, config: { instanceType: 'standard' } });
    store.finishExperiment('new', now - 60_000, 'pass', { instanceType: 'standard', steps: steps([[20, 'pass', 60], [30, 'fail', 400]]), capacityAtSloRps: { estimate: 27 } });
    store.startExperiment({ id: 'crashed', service: 'web', kind: 'trial', startedAt: now - 50_000, config: { instanceType: 'standard' } });
    store.finishExperiment('crashed', now - 40_000, 'aborted', { recovered: true });
    store.addDecision('web', { strategy: 'reactive', at: now / 1000 - 30, current: 3, desired: 2, reason: 'utilization_below_target', numbers: {}, proof: { mode: 'required', status: 'proven', candidate: { instanceType: 'standard', count: 2, perInstanceRps: 10 }, verdict: 'pass', trial: 'new', numbers: {}, considered: [], dropped: [] } }, 2, null);
    store.addDecision('web', { strategy: 'reactive', at: now / 1000 - 20, current: 2, desired: 2, reason: 'within_tolerance', numbers: {} }, 2, null);
    store.close();
    const r = await runCli(['proofs', '--config', join(dir, 'c.yaml'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { types: Record<string, { provenRps: number; failedRps: number; capacityAtSloRps: number; trials: { id: string; fresh: boolean }[] }>; decisions: Record<string, number>; trials: { finished: number; aborted: number; instanceSeconds: number } };
    assert.deepEqual(Object.keys(out.types), ['standard']);
    const s = out.types.standard as NonNullable<(typeof out.types)[string]>;
    assert.deepEqual([s.provenRps, s.failedRps, s.capacityAtSloRps], [20, 30, 27], 'the fresh trial proves; the stale one (2 h) does not');
    assert.deepEqual(s.trials.map((x) => [x.id, x.fresh]), [['old', false], ['new', true]]);
    assert.deepEqual(out.decisions, { proven: 1, none: 1 });
    assert.deepEqual([out.trials.finished, out.trials.aborted, out.trials.instanceSeconds], [2, 1, 120]);
    const human = await runCli(['proofs', '--config', join(dir, 'c.yaml')]);
    assert.match(human.stdout, /standard: proven up to 20\.0 req\/s per instance, failed at 30\.0/);
  });

  it('exits 2 naming the store when there is none', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'c.yaml'), `store: { path: ${join(dir, 'none.db')} }\n`);
    const r = await runCli(['proofs', '--config', join(dir, 'c.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /store\.path: no store at .*none\.db/);
  });
});
