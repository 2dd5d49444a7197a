// Integration tests: the real `shadowscale` binary given bad input: exit 2, a message naming what was
// wrong, nothing on stdout, nothing written. (Apart from test/cli/cli.test.ts: each file is one process
// under the runner's per-file timeout, and every case here spawns the CLI.)
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixture, runCli, tempDir } from '../helpers.js';

const NASA = fixture('nasa-http-1995/nasa_http_1995_2weeks_per_minute.csv');

describe('shadowscale input errors', () => {
  const bad: [args: string[], message: RegExp, note: string][] = [
    [['backtest'], /required option '--input <file>' not specified/, 'missing --input'],
    [['backtest', '--input', NASA, '--peak-rps', 'fast'], /--peak-rps.*expected a positive number of requests\/s, got "fast"/, 'bad --peak-rps'],
    [['backtest', '--input', NASA, '--strategy', 'magic'], /expected one of reactive, predictive, hybrid, oracle or all/, 'bad --strategy'],
    [['backtest', '--input', fixture('bad/non-numeric.csv')], /non-numeric\.csv:3: column "value": expected a number, got "abc" \[SHADOWSCALE_E_TRACE_FORMAT\]/, 'malformed trace'],
    [['backtest', '--input', fixture('bad/empty.csv')], /empty\.csv:1: empty file/, 'empty trace'],
    [['backtest', '--input', NASA, '--column', 'rps'], /no column "rps"; the columns are: timestamp, value/, 'unknown column'],
    [['backtest', '--input', '/nonexistent.csv'], /cannot read the trace \(ENOENT\)/, 'missing file'],
    [['backtest', '--input', NASA, '--slo-p99-ms', '50'], /50 ms cannot be met by instance type "standard"/, 'infeasible SLO'],
    [['backtest', '--input', NASA, '--config', '/nonexistent.yaml'], /cannot read the configuration file/, 'missing config'],
    [['backtest', '--input', NASA, '--service', 'nope'], /--service nope: no such service/, 'unknown service'],
    [['backtest', '--input', NASA, '--set', 'services[0].slo.latencyP99Ms=fast'], /services\[0\]\.slo\.latencyP99Ms: expected a positive number, got "fast"/, 'bad --set'],
    [['backtest', '--input', fixture('bad/no-time.csv')], /no time column .* pass --step SECONDS/, 'no time column and no --step'],
    [['backtest', '--input', fixture('bad/no-time.csv'), '--step', '0.001'], /no-time\.csv: the \d+ row\(s\) cover 0\.\d+ s \(step 0\.001 s\); the simulator steps every second, so a trace must cover one second at least/, 'rows a millisecond apart (it simulated nothing and reported 100 % attainment)'],
    [['backtest', '--input', NASA, '--strategy', 'oracle', '--sweep'], /--sweep runs reactive, predictive or hybrid over its knob; the oracle has none/, 'a sweep of the oracle alone (it printed empty frontiers)'],
    [['frobnicate'], /unknown command 'frobnicate'/, 'unknown command'],
    // Checked before anything starts: 1e9 req/s had started 1.8 million live instances (the heap gave out).
    [['demo', '--peak-rps', '1e9'], /--peak-rps 1000000000: the peak of the day needs \d+ live instances of "small" .*; the pool takes at most 12 \(services\[0\]\.pool\.max\): give at most \d+, or raise it/, 'demo --peak-rps 1e9'],
    [['demo', '--peak-rps', '1e9', '--set', 'services[0].pool.max=100000'], /the demo runs at most 100, each a process on this machine: give at most \d+/, 'demo --peak-rps 1e9 with a pool of 100000'],
    // The switchover scenarios' client load: --rate 1e9 exhausted the load generator's heap, and the instances stayed.
    [['demo', '--scenario', 'scale-out', '--rate', '1e9'], /--rate 1000000000: the client load needs \d+ live instances of "small" .*; the pool takes at most 8 \(services\[0\]\.pool\.max\): give at most \d+ \[SHADOWSCALE_E_USAGE\]/, 'demo --scenario scale-out --rate 1e9'],
    [['demo', '--duration', '1000000000'], /--duration: expected at most 86400 seconds \(a day at real time\), got 1000000000/, 'demo --duration 1e9'],
    [['demo', '--history-days', '100000'], /--history-days: expected at most 56 \(the forecaster keeps 28 days\), got 100000/, 'demo --history-days 100000'],
    // 9,999 worker threads exhausted the heap (a V8 fatal error, exit 133) before the first run.
    // --write was checked only after the whole search (minutes on a month of demand), like --chart before it.
    [['tune', '--input', NASA, '--write', fixture('bad/missing.yaml')], /bad\/missing\.yaml: cannot read the configuration file to write to \(ENOENT\)/, 'tune --write to a missing file'],
    [['tune', '--input', NASA, '--write', fixture('bad')], /bad: cannot read the configuration file to write to \(EISDIR\)/, 'tune --write to a directory'],
    [['tune', '--input', NASA, '--write', fixture('bad/alias-bomb.yaml')], /alias-bomb\.yaml: (not valid YAML|services: no service named "web")/, 'tune --write to a file without the service'],
    [['tune', '--input', NASA, '--threads', '9999'], /--threads <n>' argument '9999' is invalid\. expected at most \d+ worker threads \(four per core, at least 16;/, 'tune --threads 9999'],
    [['backtest', '--input', NASA, '--sweep', '--threads', '9999'], /--threads <n>' argument '9999' is invalid\. expected at most \d+ worker threads/, 'backtest --sweep --threads 9999'],
    // Flags that reach a timer: past 2^31 - 1 ms node fires at once (a health check every millisecond).
    [['gateway', '--listen', '127.0.0.1:0', '--live', 'http://127.0.0.1:9', '--health-path', '/h', '--health-interval-ms', '1e12'], /--health-interval-ms <ms>' argument '1e12' is invalid\. expected at most 3600000 ms/, 'gateway --health-interval-ms 1e12'],
    [['gateway', '--listen', '127.0.0.1:0', '--live', 'http://127.0.0.1:9', '--timeout-ms', '3600001'], /--timeout-ms <ms>' argument '3600001' is invalid\. expected at most 3600000 ms/, 'gateway --timeout-ms 3600001'],
    [['gateway', '--listen', '127.0.0.1:0', '--live', 'http://127.0.0.1:9', '--health-path', 'health'], /--health-path <path>' argument 'health' is invalid\. expected a path starting with "\/"/, 'gateway --health-path without a slash'],
    [['rollout', '--api', 'http://127.0.0.1:9', '--to', 'v2', '--poll', '1e12'], /--poll <seconds>' argument '1e12' is invalid\. expected at most 3600 seconds/, 'rollout --poll 1e12'],
    [['gateway', '--listen', '127.0.0.1:0', '--live', 'http://127.0.0.1:9', '--workers', '1000'], /--workers <n\|auto>' argument '1000' is invalid\. expected "auto" or at most \d+ worker processes/, 'gateway --workers 1000'],
    [['forecast', '--input', NASA, '--horizon', '3', '--threads', '9999'], /--threads <n>' argument '9999' is invalid\. expected at most \d+ worker threads/, 'forecast --threads 9999'],
  ];
  for (const [args, message, note] of bad) {
    it(`exits 2 with a precise message and nothing on stdout: ${note}`, async (t) => {
      const dir = tempDir(t);
      const r = await runCli([...args, '--json'].filter((a, i, all) => !(a === '--json' && all[0] === 'frobnicate')), { TMPDIR: dir });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
      assert.deepEqual(readdirSync(dir), [], 'nothing written');
    });
  }
  // Issue 10, item 7: user errors that came out as internal failures (exit 1 with a stack, a crash, or
  // a heap exhausted after 83 s). Each is now exit 2 with a message naming what was wrong.
  const internal: { note: string; args: (port: number) => string[]; message: RegExp }[] = [
    { note: 'forecast --horizon 99999999999', args: () => ['forecast', '--input', NASA, '--horizon', '99999999999'], message: /--horizon <points>' argument '99999999999' is invalid\. expected at most 100000 points/ },
    { note: 'a YAML alias bomb', args: () => ['config', 'validate', '--config', fixture('bad/alias-bomb.yaml')], message: /alias-bomb\.yaml: not accepted: Excessive alias count .*\[SHADOWSCALE_E_CONFIG_READ\]/ },
    { note: 'gateway --listen on a port in use', args: (port) => ['gateway', '--listen', `127.0.0.1:${port}`, '--live', 'http://127.0.0.1:9'], message: /--listen 127\.0\.0\.1:\d+: cannot listen there: the port is in use by another process \(EADDRINUSE\) \[SHADOWSCALE_E_USAGE\]/ },
    { note: 'gateway --listen on a port in use, two workers', args: (port) => ['gateway', '--listen', `127.0.0.1:${port}`, '--live', 'http://127.0.0.1:9', '--workers', '2'], message: /--listen 127\.0\.0\.1:\d+: cannot listen there: the port is in use/ },
    { note: 'gateway --listen on an address not on this host', args: () => ['gateway', '--listen', '192.0.2.1:8080', '--live', 'http://127.0.0.1:9'], message: /--listen 192\.0\.2\.1:8080: cannot listen there: the address is not one of this host's \(EADDRNOTAVAIL\)/ },
    { note: 'gateway --admin on a port in use', args: (port) => ['gateway', '--listen', '127.0.0.1:0', '--admin', `127.0.0.1:${port}`, '--live', 'http://127.0.0.1:9'], message: /--admin 127\.0\.0\.1:\d+: cannot listen there: the port is in use/ },
    { note: 'run with gateway.listen on a port in use', args: (port) => ['run', '--config', 'RUN_CONFIG', '--set', `gateway.listen=127.0.0.1:${port}`], message: /gateway\.listen 127\.0\.0\.1:\d+: cannot listen there: the port is in use/ },
    { note: 'run with gateway.admin on a port in use', args: (port) => ['run', '--config', 'RUN_CONFIG', '--set', `gateway.admin=127.0.0.1:${port}`], message: /gateway\.admin 127\.0\.0\.1:\d+: cannot listen there: the port is in use/ },
    { note: 'a trace whose rows are 1e11 s apart', args: () => ['backtest', '--input', fixture('bad/far-apart.csv')], message: /far-apart\.csv: the rows span 3\.47e\+6 days; the simulator steps every second and takes at most 400 days/ },
    { note: "--set 'services[100000000].name=x'", args: () => ['config', 'validate', '--set', 'services[100000000].name=x'], message: /--set services\[100000000\]\.name=x: index 100000000 of services: expected at most 1/ },
    { note: '--set __proto__.polluted=1', args: () => ['config', 'validate', '--set', '__proto__.polluted=1'], message: /--set __proto__\.polluted=1: "__proto__" is not a configuration key/ },
    { note: '--set constructor.prototype.x=1', args: () => ['config', 'validate', '--set', 'services[0].constructor.prototype.x=1'], message: /"constructor" is not a configuration key/ },
  ];
  for (const c of internal) {
    it(`regression: ${c.note} is exit 2 with a precise message, not an internal failure`, async (t) => {
      const dir = tempDir(t);
      const taken = createServer();
      await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
      t.after(() => new Promise<void>((r) => taken.close(() => r())));
      const port = (taken.address() as AddressInfo).port;
      const runConfig = join(dir, 'run.yaml');
      writeFileSync(runConfig, `gateway: { listen: 127.0.0.1:0, admin: 127.0.0.1:0 }\nstore: { path: ${join(dir, 'store.db')} }\n`);
      const r = await runCli(c.args(port).map((a) => (a === 'RUN_CONFIG' ? runConfig : a)));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, c.message);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
      assert.equal(r.stdout, '');
    });
  }
  // Issue 10, item 9, the smaller ones.
  const smaller: { note: string; args: (dir: string) => string[]; message: RegExp }[] = [
    { note: 'no command', args: () => [], message: /Usage: shadowscale/ },
    { note: '--mode metadata --record DIR', args: (dir) => ['gateway', '--listen', '127.0.0.1:0', '--live', 'http://127.0.0.1:9', '--mode', 'metadata', '--record', dir], message: /--record .*: cannot append records to it \(a directory; name a file\)/ },
    { note: 'provider.graceSeconds beyond a timer', args: () => ['config', 'validate', '--set', 'provider.graceSeconds=1e10'], message: /provider\.graceSeconds: expected a number >= 0 of seconds, at most 3600, got 10000000000/ },
    { note: 'an SLO no instance type can meet', args: () => ['config', 'validate', '--slo-p99-ms', '50'], message: /services\[0\]\.slo\.latencyP99Ms: 50 ms cannot be met by instance type "standard"/ },
    { note: 'a route class that is not a first segment', args: () => ['config', 'validate', '--set', 'gateway.routes=[api]'], message: /gateway\.routes\[0\]: expected a first path segment like "\/api"/ },
  ];
  for (const c of smaller) {
    it(`regression: ${c.note} is exit 2 with a precise message`, async (t) => {
      const r = await runCli(c.args(tempDir(t)));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, c.message);
      assert.equal(r.stdout, '');
    });
  }
  it('regression: --set __proto__ pollutes nothing (the process that loads it keeps clean objects)', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    assert.throws(() => loadConfig({ sets: ['__proto__.polluted=1'] }), /"__proto__" is not a configuration key/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
