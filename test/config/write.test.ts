// Integration tests: writing tuned settings back into a configuration file in place (src/config/write.ts).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { writeServiceSettings } from '../../src/config/write.js';
import { tempDir } from '../helpers.js';

const TEXT = '# the team\'s config\nservices:\n  - name: api # first\n    pool: { min: 2 }\n  - name: web # second\n    scaling:\n      strategy: hybrid # keep it\n';

describe('writeServiceSettings', () => {
  it('sets the named service\'s settings, keeping comments and the other services', (t) => {
    const file = join(tempDir(t), 's.yaml');
    writeFileSync(file, TEXT);
    writeServiceSettings(file, 'web', { 'scaling.predictive.targetAttainment': 0.9995, 'scaling.hybrid.reactiveTargetUtilization': 'auto' });
    const text = readFileSync(file, 'utf8');
    for (const comment of ["# the team's config", '# first', '# second', '# keep it']) assert.ok(text.includes(comment), `${comment} kept:\n${text}`);
    const cfg = loadConfig({ file });
    assert.equal(cfg.services[1]?.scaling.predictive.targetAttainment, 0.9995);
    assert.equal(cfg.services[1]?.scaling.hybrid.reactiveTargetUtilization, 'auto');
    assert.equal(cfg.services[0]?.scaling.predictive.targetAttainment, undefined, 'the other service is untouched');
    assert.equal(cfg.services[0]?.pool.min, 2);
  });
  it('regression: a file that cannot be written beside the configuration is SHADOWSCALE_E_CONFIG_WRITE, not a read error, and leaves what was there', (t) => {
    const dir = tempDir(t);
    const file = join(dir, 's.yaml');
    writeFileSync(file, TEXT);
    // Something not ours where the new file would go: before, removing it threw and hid the error.
    const tmp = `${file}.tune-${process.pid}.tmp`;
    mkdirSync(tmp);
    assert.throws(
      () => writeServiceSettings(file, 'web', { 'scaling.headroom': 0.2 }),
      (err: Error & { code?: string }) => err.code === 'SHADOWSCALE_E_CONFIG_WRITE' && /s\.yaml: cannot write the new file beside it \(EISDIR\); the configuration is unchanged/.test(err.message),
    );
    assert.equal(readFileSync(file, 'utf8'), TEXT);
    assert.ok(statSync(tmp).isDirectory(), 'the directory is left as it was');
  });
  const bad: { name: string; service: string; settings: Record<string, number | string>; message: RegExp }[] = [
    { name: 'no such service', service: 'nope', settings: { 'scaling.headroom': 0.2 }, message: /no service named "nope"/ },
    { name: 'a value the schema refuses names the real file, not a temporary one', service: 'web', settings: { 'scaling.predictive.adaptRate': -1 }, message: /s\.yaml:\d+: services\[1\]\.scaling\.predictive\.adaptRate/ },
  ];
  for (const b of bad) {
    it(`refuses and changes nothing: ${b.name}`, (t) => {
      const dir = tempDir(t);
      const file = join(dir, 's.yaml');
      writeFileSync(file, TEXT);
      assert.throws(() => writeServiceSettings(file, b.service, b.settings), (err: Error) => b.message.test(err.message) && !/\.tune-\d+\.tmp/.test(err.message));
      assert.equal(readFileSync(file, 'utf8'), TEXT);
      assert.deepEqual(readdirSync(dir), ['s.yaml'], 'no temporary file left');
    });
  }
});
