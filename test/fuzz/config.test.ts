// Fuzz tests (seeded): the configuration loader with mangled YAML, --set assignments and environment
// overrides. Every input is either a valid frozen configuration or a ShadowscaleError with exit 2 and a
// message; nothing else is thrown and no object prototype is touched.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, OVERRIDES } from '../../src/config/load.js';
import { ShadowscaleError } from '../../src/core/errors.js';
import { ROOT, tempDir } from '../helpers.js';
import { fuzz, int, mutateBytes, pick } from './harness.js';

const DEMO = readFileSync(join(ROOT, 'examples', 'demo', 'demo.yaml'));
const SMALL = Buffer.from('services:\n  - name: web\n    pool: { min: 2, max: 50 }\n    slo: { latencyP99Ms: 200, errorRate: 0.001 }\n    scaling: { strategy: hybrid, headroom: 0.1 }\n');
const YAML_BYTES = [...': -[]{},&*!|>\'"%@`#\n\t0123456789aeZ.'].map((c) => c.charCodeAt(0)).concat([0, 0xff, 0xc3]);
const PATHS = ['services[0].slo.latencyP99Ms', 'services[0].pool.min', 'services[0].pool.max', 'services[1].name', 'services[0].scaling.strategy', 'instanceTypes.small.slots', 'instanceTypes.x.serviceTimeMs', 'gateway.listen', 'gateway.admin', 'gateway.routes', 'gateway.workers', 'provider.graceSeconds', 'store.path', 'store.maxSizeBytes', 'control.tickSeconds', 'services[0].shadow.sampling.rate', 'services[0].events[0].start', 'services[0].dependencies', '__proto__.x', 'constructor.prototype.x', 'services[99999].name', 'a..b', 'services[-1].name', '[0]', 'services[0]', 'services'];
const VALUES = ['1', '0', '-1', '1e308', '1e-9', 'NaN', '.inf', 'true', 'null', '~', '""', 'fast', '[1, 2]', '{a: 1}', '&a [*a]', '127.0.0.1:0', '127.0.0.1:99999', '/api', '[/api, /x]', 'x'.repeat(300), '2026-01-01T00:00:00Z', '*', '!!binary AAAA', '0x10', '1_000'];

describe('fuzz: configuration loader', () => {
  it('mangled YAML, --set and environment overrides: a frozen config or exit 2, never another error', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'c.yaml');
    const protoKeys = Object.getOwnPropertyNames(Object.prototype).sort().join();
    let valid = 0;
    await fuzz(
      { name: 'config', cases: 30_000, budgetMs: 35_000 },
      (rng) => {
        const base = rng.next() < 0.1 ? DEMO : SMALL;
        const yaml = rng.next() < 0.7 ? mutateBytes(rng, base, YAML_BYTES, 3) : base;
        const sets = Array.from({ length: int(rng, 0, 2) }, () => `${pick(rng, PATHS)}=${pick(rng, VALUES)}`);
        const env: Record<string, string> = {};
        const flags: Record<string, string> = {};
        if (rng.next() < 0.3) env[pick(rng, OVERRIDES).env] = pick(rng, VALUES);
        if (rng.next() < 0.2) flags[pick(rng, OVERRIDES).key] = pick(rng, VALUES);
        return { yaml: yaml.toString('latin1'), sets, env, flags };
      },
      (c) => {
        writeFileSync(file, Buffer.from(c.yaml, 'latin1'));
        try {
          const cfg = loadConfig({ file, sets: c.sets, env: c.env, flags: c.flags });
          assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.services), 'a loaded configuration is frozen');
          JSON.stringify(cfg);
          valid++;
        } catch (err) {
          if (!(err instanceof ShadowscaleError)) throw new Error(`not a ShadowscaleError: ${(err as Error).stack ?? String(err)}`, { cause: err });
          assert.equal(err.exitCode, 2, err.message);
          assert.ok(err.message.length > 0 && err.message.length < 5000, `message of ${err.message.length} characters`);
        }
        assert.equal(Object.getOwnPropertyNames(Object.prototype).sort().join(), protoKeys, 'Object.prototype untouched');
        assert.equal(({} as Record<string, unknown>).x, undefined);
      },
      (c) => JSON.stringify(c),
    );
    assert.ok(valid > 0, 'some inputs are valid configurations (the fuzzer reaches past the parser)');
  });
});
