// Integration tests: writing tuned settings back into a configuration file in place (src/config/write.ts).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { checkServiceWritable, keepLines, writeServiceSettings } from '../../src/config/write.js';
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
  it('keeps CRLF line ends', (t) => {
    const file = join(tempDir(t), 's.yaml');
    writeFileSync(file, TEXT.replace(/\n/g, '\r\n'));
    writeServiceSettings(file, 'web', { 'scaling.predictive.adaptRate': 0.001 });
    const text = readFileSync(file, 'utf8');
    assert.equal(text.split('\r\n').length, text.split('\n').length, text);
    assert.ok(text.includes('adaptRate: 0.001\r\n'), text);
    assert.equal(loadConfig({ file }).services[1]?.scaling.predictive.adaptRate, 0.001);
  });
  it('keeps one-line flow mappings and long values on their lines', (t) => {
    const file = join(tempDir(t), 's.yaml');
    const long = `instanceTypes:\n  standard: { slots: 4, serviceTimeMs: 5, queueLimit: 50, provisioningSeconds: 30, warmupSeconds: 10, warmupCapacity: 0.5 }\n`;
    writeFileSync(file, TEXT + long);
    writeServiceSettings(file, 'web', { 'scaling.predictive.adaptRate': 0.001 });
    assert.ok(readFileSync(file, 'utf8').endsWith(long), readFileSync(file, 'utf8'));
  });
  // Only the lines the edit changes are printed anew. The printer's own layout (padding inside flow
  // collections, quotes, number formats) had been applied to the whole file: `tune --write` on
  // examples/demo/demo.yaml rewrote three untouched lines, `[{ service: store, perRequest: 1 }]` among them.
  const layouts: { name: string; before: string; settings: Record<string, number | string>; after: string }[] = [
    {
      name: 'flow collections without padding, settings added',
      before: 'services:\n  - name: web\n    dependencies: [{ service: store, perRequest: 1 }]\n    routes: [{host: web.internal}]\n    scaling:\n      strategy: hybrid # why\n\n  - name: store\n',
      settings: { 'scaling.predictive.targetAttainment': 0.996, 'scaling.hybrid.reactiveTargetUtilization': 0.9 },
      after: 'services:\n  - name: web\n    dependencies: [{ service: store, perRequest: 1 }]\n    routes: [{host: web.internal}]\n    scaling:\n      strategy: hybrid # why\n      predictive:\n        targetAttainment: 0.996\n      hybrid:\n        reactiveTargetUtilization: 0.9\n\n  - name: store\n',
    },
    {
      name: 'a value replaced where it stands, quotes and number formats elsewhere kept',
      before: 'services:\n- name: web\n  pool: {min: 2}\n  scaling:\n    strategy: "hybrid"   # x\n    predictive:\n      adaptRate: 5.0e-4\n    reactive:\n      targetUtilization: 0.60\n',
      settings: { 'scaling.reactive.targetUtilization': 0.55 },
      after: 'services:\n- name: web\n  pool: {min: 2}\n  scaling:\n    strategy: "hybrid"   # x\n    predictive:\n      adaptRate: 5.0e-4\n    reactive:\n      targetUtilization: 0.55\n',
    },
    {
      name: 'four-space indentation',
      before: 'services:\n    - name: web\n      pool: {min: 2}\n      scaling:\n          strategy: hybrid\n          predictive:\n              adaptRate: 0.0005\n',
      settings: { 'scaling.predictive.targetAttainment': 0.996 },
      after: 'services:\n    - name: web\n      pool: {min: 2}\n      scaling:\n          strategy: hybrid\n          predictive:\n              adaptRate: 0.0005\n              targetAttainment: 0.996\n',
    },
    {
      name: 'a service in one flow line: that line is printed anew',
      before: '# one line\nservices:\n  - {name: web, scaling: {strategy: hybrid}}\n  - {name: api}\n',
      settings: { 'scaling.hybrid.reactiveTargetUtilization': 0.9 },
      after: '# one line\nservices:\n  - { name: web, scaling: { strategy: hybrid, hybrid: { reactiveTargetUtilization: 0.9 } } }\n  - {name: api}\n',
    },
  ];
  for (const c of layouts) {
    it(`changes only the lines it must: ${c.name}`, (t) => {
      const file = join(tempDir(t), 's.yaml');
      writeFileSync(file, c.before);
      writeServiceSettings(file, 'web', c.settings);
      assert.equal(readFileSync(file, 'utf8'), c.after);
    });
  }
  it('keepLines: the file\'s lines where the printer kept or replaced them one for one, none where it joined lines', () => {
    const cases: { original: string; rendered: string; edited: string; want: string | undefined }[] = [
      // Nothing the printer changes: the edit as printed.
      { original: 'a: 1\nb: 2\n', rendered: 'a: 1\nb: 2\n', edited: 'a: 1\nb: 3\n', want: 'a: 1\nb: 3\n' },
      // A line the printer changes in place and the edit does not touch stays as written.
      { original: 'a: [x]\nb: 2\n', rendered: 'a: [ x ]\nb: 2\n', edited: 'a: [ x ]\nb: 3\nc: 4\n', want: 'a: [x]\nb: 3\nc: 4\n' },
      // Inserted at the start.
      { original: 'b: [x]\n', rendered: 'b: [ x ]\n', edited: 'a: 1\nb: [ x ]\n', want: 'a: 1\nb: [x]\n' },
      // The printer joined two lines into one and the edit changes that one: no line of the file stands for it.
      { original: 'a: [x,\n  y]\nb: 2\n', rendered: 'a: [ x, y ]\nb: 2\n', edited: 'a: [ x, z ]\nb: 2\n', want: undefined },
      // ... and an insertion right after such a line has no place either.
      { original: 'a: [x,\n  y]\n', rendered: 'a: [ x, y ]\n', edited: 'a: [ x, y ]\nb: 2\n', want: undefined },
    ];
    for (const c of cases) assert.equal(keepLines(c.original, c.rendered, c.edited), c.want, JSON.stringify(c));
  });
  // A mapping YAML shares (an anchor repeated by an alias): the settings had been written into it, so a
  // second service that named it was tuned too, silently.
  const shared = '# shared\nservices:\n  - name: web\n    scaling: &base\n      strategy: hybrid\n      predictive: &pred { adaptRate: 0.0005 }\n  - name: api\n    scaling: *base\n  - name: solo\n    scaling:\n      strategy: hybrid\n      predictive: *pred\n      hybrid: { reactiveTargetUtilization: &u 0.6 }\n  - name: other\n    scaling: { strategy: reactive, reactive: { targetUtilization: *u } }\n';
  const sharing: { service: string; settings: Record<string, number | string>; message: RegExp | null }[] = [
    { service: 'web', settings: { 'scaling.predictive.adaptRate': 0.001 }, message: /s\.yaml: services\[0\]\.scaling is the anchor &base, repeated elsewhere by \*base: the tuned settings written there would change every place that shares it/ },
    { service: 'api', settings: { 'scaling.hybrid.reactiveTargetUtilization': 0.7 }, message: /services\[1\]\.scaling is the alias \*base/ },
    { service: 'solo', settings: { 'scaling.predictive.adaptRate': 0.001 }, message: /services\[2\]\.scaling\.predictive is the alias \*pred/ },
    { service: 'solo', settings: { 'scaling.hybrid.reactiveTargetUtilization': 0.7 }, message: /services\[2\]\.scaling\.hybrid\.reactiveTargetUtilization is the anchor &u/ },
    // A value that is an alias is replaced here only: written.
    { service: 'other', settings: { 'scaling.reactive.targetUtilization': 0.5 }, message: null },
  ];
  it('tune checks for a shared scaling mapping before its search (checkServiceWritable)', (t) => {
    const file = join(tempDir(t), 's.yaml');
    writeFileSync(file, shared);
    for (const [service, where] of [['web', /services\[0\]\.scaling is the anchor &base/], ['api', /services\[1\]\.scaling is the alias \*base/], ['solo', /services\[2\]\.scaling\.predictive is the alias \*pred/]] as const) {
      assert.throws(() => checkServiceWritable(file, service), (err: Error & { code?: string }) => err.code === 'SHADOWSCALE_E_CONFIG_WRITE' && where.test(err.message), service);
    }
    assert.doesNotThrow(() => checkServiceWritable(file, 'other'));
  });
  for (const c of sharing) {
    it(`a shared mapping on the way is refused, naming it: ${c.service} ${Object.keys(c.settings).join(', ')}`, (t) => {
      const dir = tempDir(t);
      const file = join(dir, 's.yaml');
      writeFileSync(file, shared);
      if (c.message === null) {
        writeServiceSettings(file, c.service, c.settings);
        const cfg = loadConfig({ file });
        assert.equal(cfg.services[3]?.scaling.reactive.targetUtilization, 0.5);
        assert.equal(cfg.services[2]?.scaling.hybrid.reactiveTargetUtilization, 0.6, 'the anchor it named is unchanged');
        return;
      }
      assert.throws(() => writeServiceSettings(file, c.service, c.settings), (err: Error & { code?: string }) => err.code === 'SHADOWSCALE_E_CONFIG_WRITE' && (c.message as RegExp).test(err.message));
      assert.equal(readFileSync(file, 'utf8'), shared);
      assert.deepEqual(readdirSync(dir), ['s.yaml']);
    });
  }
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
