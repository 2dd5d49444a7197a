// Integration tests: configuration loading from YAML files, precedence (file < env < flags), errors, JSON Schema.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configJsonSchema, loadConfig, OVERRIDES } from '../../src/config/load.js';
import { ShadowscaleError } from '../../src/core/errors.js';
import { ROOT, tempDir } from '../helpers.js';

function writeYaml(t: Parameters<typeof tempDir>[0], text: string): string {
  const file = join(tempDir(t), 'shadowscale.yaml');
  writeFileSync(file, text);
  return file;
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ShadowscaleError, String(err));
    assert.equal(err.exitCode, 2);
    return err.message;
  }
  assert.fail('expected a configuration error');
}

describe('loadConfig', () => {
  it('fills every default with no file', () => {
    const c = loadConfig();
    assert.equal(c.services[0]?.name, 'web');
    assert.equal(c.services[0]?.scaling.strategy, 'hybrid');
    assert.equal(c.services[0]?.scaling.reactive.scaleDown.stabilizationWindowSeconds, 300);
    assert.equal(c.instanceTypes.standard?.slots, 4);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.services[0]?.slo));
  });
  it('reads a full file, with defaults for what it leaves out', (t) => {
    const file = writeYaml(
      t,
      `instanceTypes:
  small: { slots: 2, serviceTimeMs: 20, prices: { onDemandPerHour: 0.05 } }
  large: { slots: 16, serviceTimeMs: 20 }
services:
  - name: checkout
    instanceType: small
    pool: { min: 2, max: 40 }
    slo: { latencyP99Ms: 150 }
    scaling: { strategy: predictive, headroom: 0.2, spot: { share: 0.5, interruptionsPerHour: 0.1 } }
    events:
      - { name: black-friday, start: "2026-11-27T00:00:00Z", end: "2026-11-28T00:00:00Z", recurrence: yearly, multiplier: 3 }
  - name: search
    instanceType: large
    dependencies: [checkout]
simulation: { seed: 7 }
`,
    );
    const c = loadConfig({ file });
    assert.equal(c.services.length, 2);
    assert.equal(c.services[0]?.scaling.headroom, 0.2);
    assert.equal(c.services[0]?.scaling.periodSeconds, 15);
    assert.equal(c.instanceTypes.small?.prices.spotPerHour, 0.035);
    assert.equal(c.instanceTypes.small?.prices.onDemandPerHour, 0.05);
    assert.equal(c.services[1]?.slo.latencyP99Ms, 200);
    assert.equal(c.simulation.seed, 7);
  });

  const invalid: [yaml: string, message: RegExp, note: string][] = [
    ['services:\n  - name: web\n    slo:\n      latencyP99Ms: fast\n', /shadowscale\.yaml:4: services\[0\]\.slo\.latencyP99Ms: expected a positive number, got "fast"/, 'wrong type, with file:line'],
    ['services:\n  - name: web\n    slo: { latencyP99Ms: -5 }\n', /services\[0\]\.slo\.latencyP99Ms: expected a positive number, got -5/, 'out of range'],
    ['services:\n  - name: web\n    scaling: { stratgy: hybrid }\n', /shadowscale\.yaml:3: services\[0\]\.scaling\.stratgy: unknown key/, 'unknown key (typo)'],
    ['servics: []\n', /servics: unknown key/, 'unknown top-level key'],
    ['services:\n  - name: web\n    scaling: { strategy: magic }\n', /expected one of "reactive", "predictive", "hybrid", got "magic"/, 'bad enum'],
    ['services:\n  - name: web\n    instanceType: huge\n', /services\[0\]\.instanceType: unknown instance type "huge" \(defined: standard\)/, 'unknown instance type'],
    ['control:\n  delta: { action: vertical }\n', /control\.delta\.verticalType: action "vertical" needs verticalType/, 'vertical action without a type'],
    ['control:\n  delta: { verticalType: huge }\n', /control\.delta\.verticalType: unknown instance type "huge"/, 'unknown vertical type'],
    ['services:\n  - name: web\n    shadow: { instanceType: huge }\n', /services\[0\]\.shadow\.instanceType: unknown instance type "huge"/, 'unknown shadow type'],
    ['services:\n  - name: web\n    shadow: { sync: snapshot, syncTimeoutSeconds: 0 }\n', /services\[0\]\.shadow\.syncTimeoutSeconds: expected a positive number of seconds, at most 3600, got 0/, 'a state request timeout of 0'],
    ['services:\n  - name: web\n    shadow: { ab: { strategies: [reactive] } }\n', /services\[0\]\.shadow\.ab\.strategies: expected at least two strategies to compare/, 'an A/B of one arm'],
    ['services:\n  - name: web\n    shadow: { ab: { strategies: [hybrid, hybrid] } }\n', /services\[0\]\.shadow\.ab\.strategies: expected distinct strategies/, 'an A/B of the same strategy twice'],
    ['services:\n  - name: web\n    shadow: { sampling: { mode: metadata }, ab: { strategies: [reactive, hybrid] } }\n', /services\[0\]\.shadow\.ab: A\/B arms need requests to forward: sampling\.mode "metadata"/, 'A/B arms in metadata mode'],
    ['services:\n  - name: web\n    scaling: { trials: { redundancy: { fault: latency } } }\n', /services\[0\]\.scaling\.trials\.redundancy\.delayMs: fault "latency" needs delayMs/, 'latency chaos without a delay'],
    ['services:\n  - name: web\n    pool: { max: 1 }\n    scaling: { trials: { redundancy: {} } }\n', /services\[0\]\.scaling\.trials\.redundancy: N\+1 redundancy needs room for two instances; pool\.max is 1/, 'N+1 in a pool of one'],
    ['services:\n  - name: web\n    shadow: { sync: snapshot }\n    scaling: { warmPool: { size: 2 } }\n', /services\[0\]\.scaling\.warmPool\.size: a warm pool needs a stateless service/, 'a warm pool for a stateful service'],
    ['services:\n  - name: web\n    scaling: { warmPool: { size: -1 } }\n', /services\[0\]\.scaling\.warmPool\.size: expected an integer >= 0, got -1/, 'a negative warm pool'],
    ['services:\n  - name: web\n    scaling: { switchover: { typeRetrySeconds: soon } }\n', /services\[0\]\.scaling\.switchover\.typeRetrySeconds: expected/, 'a retry that is not a duration'],
    ['provider:\n  command: []\n', /provider\.command: expected a program and its arguments/, 'empty provider command'],
    ['services:\n  - name: web\n    pool: { min: 9, max: 3 }\n', /services\[0\]\.pool\.min: min \(9\) is above max \(3\)/, 'min above max'],
    ['services:\n  - name: web\n    dependencies: [db]\n', /services\[0\]\.dependencies\[0\]: unknown service "db"/, 'unknown dependency'],
    ['services:\n  - name: web\n    dependencies: [{ service: db }]\n', /services\[0\]\.dependencies\[0\]\.service: unknown service "db"/, 'unknown dependency (object form)'],
    ['services:\n  - name: web\n    dependencies: [web]\n', /services\[0\]\.dependencies\[0\]: a service cannot depend on itself/, 'a service depending on itself'],
    ['services:\n  - name: a\n    routes: [{ pathPrefix: /a }]\n    dependencies: [b]\n  - name: b\n    dependencies: [{ service: a, perRequest: 2 }]\n', /services\[0\]\.dependencies: dependencies form a cycle \(a -> b -> a\)/, 'a dependency cycle'],
    ['services:\n  - name: a\n    dependencies: [{ service: b, perRequest: 2, ratio: 0.5 }]\n  - name: b\n', /services\[0\]\.dependencies\[0\]: expected perRequest or ratio, not both/, 'both perRequest and ratio'],
    ['services:\n  - name: a\n    dependencies: [{ service: b, perRequest: 0 }]\n  - name: b\n', /services\[0\]\.dependencies\[0\]/, 'zero calls per request'],
    ['shadowPool: { mode: shared, instanceType: standard }\n', /shadowPool\.size: a shared shadow pool needs its size/, 'a shared pool without its size'],
    ['shadowPool: { mode: shared, size: 4 }\n', /shadowPool\.instanceType: a shared shadow pool needs the instance type its size counts in/, 'a shared pool without its type'],
    ['shadowPool: { mode: shared, size: 4, instanceType: huge }\n', /shadowPool\.instanceType: unknown instance type "huge" \(defined: standard\)/, 'a shared pool of an unknown type'],
    ['services:\n  - name: a\n    routes: [{ pathPrefix: /a }]\n  - name: b\nshadowPool: { mode: shared, size: 2, instanceType: standard }\n', /shadowPool\.size: 2 x standard \(8 slots\) cannot hold every service's 1 shadow instance\(s\) \(8 slots\) plus one trial instance \(4 slots\): at least 3/, 'a shared pool too small for the minimums and a trial'],
    ['shadowPool: { mode: pooled }\n', /shadowPool\.mode: expected one of "dedicated", "shared", got "pooled"/, 'an unknown pool mode'],
    ['services:\n  - name: web\n  - name: web\n', /services\[1\]\.name: duplicate service name "web"/, 'duplicate service'],
    ['services:\n  - name: a\n    routes: [{ pathPrefix: /api }]\n  - name: b\n    routes: [{ host: x.example }, { pathPrefix: /api/ }]\n', /services\[1\]\.routes\[1\]: route \*\/api is also service "a"'s: two services cannot take the same requests/, 'two services on the same route'],
    ['services:\n  - name: a\n    routes: [{}]\n', /services\[0\]\.routes\[0\]: expected a host, a pathPrefix or both/, 'an empty route'],
    ['services:\n  - name: a\n    routes: [{ host: "x.example:80" }]\n', /services\[0\]\.routes\[0\]\.host: expected a host name without a port/, 'a route Host with a port'],
    ['services:\n  - name: a\n    routes: [{ pathPrefix: api }]\n', /services\[0\]\.routes\[0\]\.pathPrefix: expected a path prefix like "\/api"/, 'a prefix without its slash'],
    ['services:\n  - name: Web_1\n', /services\[0\]\.name: expected a DNS-style name/, 'bad name'],
    ['services:\n  - name: web\n    events: [{ name: x, start: "2026-01-02T00:00:00Z", end: "2026-01-01T00:00:00Z" }]\n', /events\[0\]\.end: end .* must be after start/, 'event ends before it starts'],
    ['services:\n  - name: web\n    events: [{ name: x, start: "2026-01-01T00:00:00Z", end: "2026-01-02T06:00:00Z", recurrence: daily }]\n', /events\[0\]\.end: a daily event lasts at most a day: from .* it would overlap its next occurrence/, 'a daily event longer than a day'],
    ['services:\n  - name: web\n    events: [{ name: x, start: "2026-01-01T00:00:00Z", end: "2026-01-01T06:00:00Z", multiplier: 0 }]\n', /events\[0\]\.multiplier: expected a number from 0\.001 to 1000/, 'an event multiplier of 0'],
    ['services:\n  - name: web\n    events: [{ name: x, start: "2026-01-01T00:00:00Z", end: "2026-01-01T06:00:00Z", multiplier: 1e6 }]\n', /events\[0\]\.multiplier: expected a number from 0\.001 to 1000/, 'an event multiplier of a million'],
    ['services:\n  - name: web\n    pool: { max: 2.5 }\n', /services\[0\]\.pool\.max: expected a positive integer, got 2\.5/, 'not an integer'],
    ['services: [\n', /shadowscale\.yaml:\d+:\d+: not valid YAML/, 'YAML syntax error'],
    ['- a\n- b\n', /expected a mapping at the top level/, 'not a mapping'],
    ['services: []\n', /services: expected at least one service/, 'no services'],
    ['services:\n  - name: web\n    pool: { min: 1, min: 2 }\n', /not valid YAML: Map keys must be unique/, 'duplicate key'],
    // 0.0001 s ticks held a core and wrote 14,000 samples a second to the store.
    ['control: { tickSeconds: 0.0001 }\n', /control\.tickSeconds: expected a number of seconds from 0\.1 to 3600, got 0\.0001/, 'a tick under 0.1 s'],
    // A billion slots hung the backtest (the M/M/c model steps through every slot each simulated second).
    ['instanceTypes:\n  big: { slots: 1000000000 }\n', /instanceTypes\.big\.slots: expected a positive integer, at most 1024, got 1000000000/, 'a billion worker slots'],
    // Timers: a local instance waits provisioningSeconds, a trial warmupSeconds; past 24.8 days node fires at once.
    ['instanceTypes:\n  slow: { provisioningSeconds: 1e9 }\n', /instanceTypes\.slow\.provisioningSeconds: expected a number >= 0 of seconds, at most 86400, got 1000000000/, 'provisioning beyond a day'],
    ['instanceTypes:\n  slow: { warmupSeconds: 86401 }\n', /instanceTypes\.slow\.warmupSeconds: expected a number >= 0 of seconds, at most 86400, got 86401/, 'a warm-up beyond a day'],
    // Scaling and forecast durations size buffers and schedules: 1e12 s was an internal error (an array
    // of that length) or a backtest that never ended.
    ['services:\n  - name: web\n    scaling: { reactive: { metricWindowSeconds: 1e12 } }\n', /services\[0\]\.scaling\.reactive\.metricWindowSeconds: expected a positive number of seconds, at most 3600/, 'a metric window of 1e12 s'],
    ['services:\n  - name: web\n    scaling: { periodSeconds: 1e12 }\n', /services\[0\]\.scaling\.periodSeconds: expected a positive number of seconds, at most 3600/, 'a decision period of 1e12 s'],
    ['services:\n  - name: web\n    scaling: { leadTimeSeconds: 1e12 }\n', /services\[0\]\.scaling\.leadTimeSeconds: expected a number >= 0 of seconds, at most 172800/, 'a lead time of 1e12 s'],
    ['services:\n  - name: web\n    forecast: { historyDays: 1e9 }\n', /services\[0\]\.forecast\.historyDays: expected a positive number of days, at most 400/, 'a billion days of history'],
    ['services:\n  - name: web\n    pool: { max: 1000000000 }\n', /services\[0\]\.pool\.max: expected a positive integer, at most 100000, got 1000000000/, 'a pool of a billion'],
    ['gateway: { workers: 1000 }\n', /gateway\.workers: expected a positive integer, at most 256, got 1000/, 'a thousand gateway workers'],
  ];
  for (const [yaml, message, note] of invalid) {
    it(`rejects: ${note}`, (t) => {
      const file = writeYaml(t, yaml);
      assert.match(configError(() => loadConfig({ file })), message);
    });
  }
  // Issue 10, item 8: a 50 MB configuration took 66 s and 3.9 GB before failing.
  it('regression: a configuration file over 1 MiB is refused before it is read', (t) => {
    const file = writeYaml(t, `# ${'x'.repeat(50 << 20)}\nservices: []\n`);
    const started = process.hrtime.bigint();
    assert.match(configError(() => loadConfig({ file })), /shadowscale\.yaml: the configuration file is 52428\d+ bytes; at most 1048576 \(1 MiB\) is read/);
    assert.ok(Number(process.hrtime.bigint() - started) / 1e9 < 1, 'refused at once');
  });
  it('rejects a missing file', () => assert.match(configError(() => loadConfig({ file: '/nonexistent/s.yaml' })), /cannot read the configuration file \(ENOENT\)/));

  it('precedence: file < environment < flags < --set', (t) => {
    const file = writeYaml(t, 'services:\n  - name: web\n    scaling: { headroom: 0.1 }\n    slo: { latencyP99Ms: 300 }\n');
    assert.equal(loadConfig({ file }).services[0]?.scaling.headroom, 0.1);
    assert.equal(loadConfig({ file, env: { SHADOWSCALE_HEADROOM: '0.2' } }).services[0]?.scaling.headroom, 0.2);
    assert.equal(loadConfig({ file, env: { SHADOWSCALE_HEADROOM: '0.2' }, flags: { headroom: '0.3' } }).services[0]?.scaling.headroom, 0.3);
    const c = loadConfig({ file, env: { SHADOWSCALE_HEADROOM: '0.2' }, flags: { headroom: '0.3' }, sets: ['services[0].scaling.headroom=0.4'] });
    assert.equal(c.services[0]?.scaling.headroom, 0.4);
    assert.equal(c.services[0]?.slo.latencyP99Ms, 300, 'untouched keys keep the file value');
    assert.equal(loadConfig({ file, env: { SHADOWSCALE_SEED: '9' } }).simulation.seed, 9);
  });
  it('an override applies to every service', (t) => {
    const file = writeYaml(t, 'services:\n  - name: a\n  - name: b\n');
    const c = loadConfig({ file, flags: { sloP99Ms: '120' } });
    assert.deepEqual(c.services.map((s) => s.slo.latencyP99Ms), [120, 120]);
  });
  it('rejects bad override values naming their source', () => {
    assert.match(configError(() => loadConfig({ env: { SHADOWSCALE_HEADROOM: 'lots' } })), /environment variable SHADOWSCALE_HEADROOM: expected a number, got "lots"/);
    assert.match(configError(() => loadConfig({ flags: { maxInstances: '2.5' } })), /flag --max-instances: expected an integer/);
    assert.match(configError(() => loadConfig({ flags: { headroom: '-1' } })), /flag --headroom: services\[0\]\.scaling\.headroom: expected a number >= 0, got -1/);
    assert.match(configError(() => loadConfig({ sets: ['nonsense'] })), /--set nonsense: expected PATH=VALUE/);
    assert.match(configError(() => loadConfig({ sets: ['services[0].slo.bogus=1'] })), /services\[0\]\.slo\.bogus: unknown key/);
  });
  // Issue 10, item 9: an environment value the schema refuses was reported as "override of PATH",
  // without the variable; and a bad environment value failed even when a flag that wins was given.
  it('regression: a value the schema refuses names the environment variable, flag or --set that gave it', () => {
    assert.match(configError(() => loadConfig({ env: { SHADOWSCALE_SLO_P99_MS: '-5' } })), /environment variable SHADOWSCALE_SLO_P99_MS: services\[0\]\.slo\.latencyP99Ms: expected a positive number, got -5/);
    assert.match(configError(() => loadConfig({ sets: ['services[0].slo.latencyP99Ms=-5'] })), /--set services\[0\]\.slo\.latencyP99Ms: services\[0\]\.slo\.latencyP99Ms: expected a positive number/);
    assert.match(configError(() => loadConfig({ env: { SHADOWSCALE_SEED: '1.5' } })), /environment variable SHADOWSCALE_SEED: expected an integer/);
  });
  it('regression: a flag that wins means its environment variable is not read (a bad one does not fail)', () => {
    const cfg = loadConfig({ env: { SHADOWSCALE_SLO_P99_MS: 'fast', SHADOWSCALE_HEADROOM: '-3' }, flags: { sloP99Ms: '180', headroom: '0.2' } });
    assert.equal(cfg.services[0]?.slo.latencyP99Ms, 180);
    assert.equal(cfg.services[0]?.scaling.headroom, 0.2);
  });
  it('every override flag is the camelCase of its key, and every env var is SHADOWSCALE_*', () => {
    for (const o of OVERRIDES) {
      const flag = o.flag.split(' ')[0] as string;
      assert.equal(flag.slice(2).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase()), o.key);
      assert.match(o.env, /^SHADOWSCALE_[A-Z0-9_]+$/);
    }
  });
});

describe('JSON Schema', () => {
  it('the committed schema/shadowscale.schema.json is the generated one (run `npm run schema`)', () => {
    const committed = JSON.parse(readFileSync(join(ROOT, 'schema', 'shadowscale.schema.json'), 'utf8'));
    assert.deepEqual(committed, JSON.parse(JSON.stringify(configJsonSchema())));
  });
  it('forbids unknown keys for editors too', () => {
    const s = configJsonSchema() as { additionalProperties?: boolean };
    assert.equal(s.additionalProperties, false);
  });
});
