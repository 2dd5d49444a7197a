// Integration tests: the streaming trace loader on real trace copies and malformed files.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { ShadowscaleError } from '../../src/core/errors.js';
import { createRng } from '../../src/core/random.js';
import { loadTrace } from '../../src/sim/trace.js';
import { fixture, tempDir } from '../helpers.js';

describe('loadTrace on real traces', () => {
  const rows: [file: string, opts: { column?: string; step?: number }, want: { rows: number; step: number; format: string; column: string; gaps?: number }][] = [
    ['nasa-http-1995/nasa_http_1995_2weeks_per_minute.csv', {}, { rows: 20160, step: 60, format: 'iso8601', column: 'value', gaps: 0 }],
    ['nab/ec2_cpu_utilization_825cc2.csv', {}, { rows: 4032, step: 300, format: 'datetime', column: 'value' }],
    ['nab/speed_7578.csv', {}, { rows: 1127, step: 300, format: 'datetime', column: 'value' }],
    ['alibaba2018-dc/machine_usage_days_1_to_8_grouped_300_seconds.csv', { step: 300 }, { rows: 2243, step: 300, format: 'step', column: 'cpu_util_percent', gaps: 0 }],
    ['alibaba2018-dc/machine_usage_days_1_to_8_grouped_300_seconds.csv', { step: 300, column: 'net_in' }, { rows: 2243, step: 300, format: 'step', column: 'net_in' }],
    ['google2019-dc/instance_usage_grouped_300_seconds_week1_with_hour.csv', { step: 300, column: 'avg_cpu' }, { rows: 2016, step: 300, format: 'step', column: 'avg_cpu' }],
  ];
  for (const [file, opts, want] of rows) {
    it(`${file} ${JSON.stringify(opts)}`, async () => {
      const t = await loadTrace(fixture(file), opts);
      assert.equal(t.stats.rows, want.rows);
      assert.equal(t.step, want.step);
      assert.equal(t.timeFormat, want.format);
      assert.equal(t.column, want.column);
      if (want.gaps !== undefined) assert.equal(t.gaps.length, want.gaps);
      assert.equal(t.values.length, want.rows);
      for (let i = 1; i < t.times.length; i++) assert.ok((t.times[i] as number) > (t.times[i - 1] as number));
    });
  }
  it('NASA: first row is 1995-07-01T04:00:00Z in epoch seconds', async () => {
    const t = await loadTrace(fixture('nasa-http-1995/nasa_http_1995_2weeks_per_minute.csv'));
    assert.equal(t.times[0], Date.UTC(1995, 6, 1, 4) / 1000);
    assert.equal(t.values[0], 42);
  });
  it('reports gaps in an irregular real trace without filling them', async () => {
    const t = await loadTrace(fixture('nab/speed_7578.csv'));
    assert.ok(t.gaps.length > 0);
    for (const g of t.gaps) assert.ok(g.to - g.from > 1.5 * t.step && g.missingPoints >= 1);
  });
});

describe('loadTrace formats', () => {
  it('seconds from start', async () => {
    const t = await loadTrace(fixture('bad/relative.csv'));
    assert.equal(t.timeFormat, 'relative-seconds');
    assert.deepEqual(Array.from(t.times), [0, 60, 120]);
  });
  it('epoch seconds', async () => {
    const t = await loadTrace(fixture('bad/epoch.csv'));
    assert.equal(t.timeFormat, 'epoch-seconds');
    assert.equal(t.times[0], 1600000000);
  });
  it('ISO 8601 with a zone offset, time column "date", value column by default', async () => {
    const t = await loadTrace(fixture('bad/iso-zone.csv'));
    assert.equal(t.times[0], Date.UTC(2019, 11, 31, 22) / 1000);
    assert.equal(t.column, 'rps');
  });
  it('a BOM, CRLF line ends and quoted fields', async () => {
    const t = await loadTrace(fixture('bad/bom-crlf-quoted.csv'));
    assert.deepEqual(Array.from(t.values), [1.5, 2]);
    assert.equal(t.step, 30);
  });
  it('a gap is reported with its line and size', async () => {
    const t = await loadTrace(fixture('bad/gap.csv'));
    assert.deepEqual(t.gaps, [{ afterLine: 4, from: Date.UTC(2020, 0, 1, 0, 2) / 1000, to: Date.UTC(2020, 0, 1, 0, 10) / 1000, missingPoints: 7 }]);
  });
  it('--step with no time column spaces rows evenly', async () => {
    const t = await loadTrace(fixture('bad/no-time.csv'), { step: 10 });
    assert.equal(t.column, 'a');
    assert.equal(t.timeFormat, 'step');
  });
});

describe('loadTrace errors (file:line and what was expected)', () => {
  const rows: [file: string, opts: { column?: string; step?: number }, message: RegExp][] = [
    ['bad/empty.csv', {}, /empty\.csv:1: empty file; expected a CSV header/],
    ['bad/header-only.csv', {}, /header-only\.csv:1: no data rows/],
    ['bad/non-numeric.csv', {}, /non-numeric\.csv:3: column "value": expected a number, got "abc"/],
    ['bad/backwards.csv', {}, /backwards\.csv:3: time "2020-01-01 00:00:00" goes backwards \(line 2 is later\)/],
    ['bad/duplicate.csv', {}, /duplicate\.csv:4: duplicate time "2020-01-01 00:01:00" \(same as line 3\)/],
    ['bad/extra-field.csv', {}, /extra-field\.csv:3: expected 2 fields as in the header/],
    ['bad/mixed-time.csv', {}, /mixed-time\.csv:3: column "timestamp": expected a YYYY-MM-DD HH:MM:SS time/],
    ['bad/bad-date.csv', {}, /bad-date\.csv:2: column "timestamp": expected a/],
    ['bad/no-time.csv', {}, /no-time\.csv:1: no time column .* pass --step SECONDS/],
    ['bad/relative.csv', { column: 'nope' }, /relative\.csv:1: no column "nope"; the columns are: time, value/],
    ['bad/relative.csv', { column: 'time' }, /is the time column/],
    // The first of the two was read, silently.
    ['bad/duplicate-column.csv', { column: 'requests' }, /duplicate-column\.csv:1: column "requests" appears twice in the header \(columns 2 and 3\); rename one/],
  ];
  for (const [file, opts, message] of rows) {
    it(`${file} ${JSON.stringify(opts)}`, async () => {
      await assert.rejects(loadTrace(fixture(file), opts), (err: unknown) => {
        assert.ok(err instanceof ShadowscaleError);
        assert.equal(err.exitCode, 2);
        assert.match(err.message, message);
        return true;
      });
    });
  }
  const merge: [policy: 'mean' | 'sum' | 'first' | 'last', want: number[]][] = [
    ['mean', [1, 2.5]],
    ['sum', [1, 5]],
    ['first', [1, 2]],
    ['last', [1, 3]],
  ];
  for (const [policy, want] of merge) {
    it(`--duplicates ${policy} merges rows with the same time`, async () => {
      const t = await loadTrace(fixture('bad/duplicate.csv'), { duplicates: policy });
      assert.deepEqual(Array.from(t.values), want);
      assert.equal(t.duplicatesMerged, 1);
    });
  }
  it('regression: the NAB daylight-saving duplicates (the missing 02:00 hour stamped 03:00) load with --duplicates mean', async () => {
    const file = fixture('nab/ec2_request_latency_system_failure.csv');
    const repeated = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('2014-03-09 03:00:00,'))
      .map((l) => Number(l.split(',')[1]));
    assert.equal(repeated.length, 12);
    await assert.rejects(loadTrace(file), /:559: duplicate time "2014-03-09 03:00:00" .* pass --duplicates/);
    const t = await loadTrace(file, { duplicates: 'mean' });
    assert.equal(t.duplicatesMerged, 11);
    assert.equal(t.stats.rows, 4032 - 11);
    const at = t.times.indexOf(Date.UTC(2014, 2, 9, 3) / 1000);
    assert.ok(Math.abs((t.values[at] as number) - repeated.reduce((a, b) => a + b, 0) / 12) < 1e-9);
    assert.ok(t.gaps.some((g) => g.to === Date.UTC(2014, 2, 9, 3) / 1000), 'the missing hour is reported as a gap');
  });
  it('a missing file', async () => {
    await assert.rejects(loadTrace('/nonexistent/x.csv'), /cannot read the trace \(ENOENT\)/);
  });
  it('a bad --step', async () => {
    await assert.rejects(loadTrace(fixture('bad/no-time.csv'), { step: -1 }), /--step: expected a positive number/);
  });
  // Issue 10, item 8: a one-line 100 MB trace took 19 s and 863 MB (each chunk was appended to one
  // growing string) and its error echoed the whole line, raw binary included.
  it('regression: a line longer than 64 KiB is refused at once, and the message echoes none of it', async (t) => {
    const file = join(tempDir(t), 'one-line.csv');
    writeFileSync(file, Buffer.concat([Buffer.from('timestamp,value\n'), Buffer.alloc(8 << 20, 0x41), Buffer.from('\x00\x01\xff')]));
    const started = process.hrtime.bigint();
    await assert.rejects(loadTrace(file), (err: unknown) => {
      assert.ok(err instanceof ShadowscaleError);
      assert.match(err.message, /one-line\.csv:2: the line is longer than 65536 characters/);
      assert.ok(err.message.length < 300, `message of ${err.message.length} characters`);
      return true;
    });
    // Refused at the first chunk past the cap, not after reading 8 MiB into one string.
    assert.ok(Number(process.hrtime.bigint() - started) / 1e9 < 5);
  });
  it('regression: a header of binary junk is echoed clipped and escaped', async (t) => {
    const file = join(tempDir(t), 'junk.csv');
    writeFileSync(file, Buffer.concat([Buffer.from('\x01\x02'), Buffer.alloc(5000, 0x42), Buffer.from(',x\n1,2\n')]));
    await assert.rejects(loadTrace(file), (err: unknown) => {
      assert.ok(err instanceof ShadowscaleError);
      assert.match(err.message, /no time column .* in the header \(\\u0001\\u0002B+\.\.\.\)/);
      assert.ok(err.message.length < 400);
      return true;
    });
  });
  it('regression: a compressed or binary file is named as such, not as a header without a time column; a Latin-1 header still reads', async (t) => {
    const dir = tempDir(t);
    const csv = 'timestamp,value\n2020-01-01T00:00:00Z,1\n2020-01-01T00:01:00Z,2\n';
    const rng = createRng(3);
    const cases: [string, Buffer, RegExp | null][] = [
      ['trace.csv.gz', gzipSync(csv), /trace\.csv\.gz:1: not a text CSV: the first line has bytes that are not UTF-8 text \(gzip-compressed\? decompress it first\)/],
      ['random.bin', Buffer.from(Array.from({ length: 4000 }, () => Math.floor(rng.next() * 256))), /random\.bin:1: not a text CSV: .*\(a binary or compressed file\?\)/],
      ['nul.csv', Buffer.from('timestamp\u0000,value\n1,2\n'), /nul\.csv:1: not a text CSV/],
      ['latin1.csv', Buffer.from('timestamp,d\xe9bit\n2020-01-01T00:00:00Z,1\n', 'latin1'), null],
      // A spreadsheet's export with semicolons (decimal commas) or tabs: named, not "no time column".
      ['semicolons.csv', Buffer.from('timestamp;value\n2020-01-01T00:00:00Z;1,5\n'), /semicolons\.csv:1: the header \(timestamp;value\) is one column, its names separated by ";"; expected a CSV separated by commas/],
      ['tabs.tsv', Buffer.from('timestamp\tvalue\n2020-01-01T00:00:00Z\t1\n'), /tabs\.tsv:1: the header \(timestamp\\u0009value\) is one column, its names separated by tabs/],
    ];
    for (const [name, bytes, message] of cases) {
      const file = join(dir, name);
      writeFileSync(file, bytes);
      if (message) await assert.rejects(loadTrace(file), (err: unknown) => err instanceof ShadowscaleError && err.code === 'SHADOWSCALE_E_TRACE_FORMAT' && message.test(err.message), name);
      else assert.equal((await loadTrace(file)).stats.rows, 1, name);
    }
  });
  // Issue 10, item 9: a newline inside a quoted field was reported as a field count mismatch; --step
  // silently replaced the spacing of a time column.
  it('regression: a newline inside a quoted field is named as such', async () => {
    await assert.rejects(loadTrace(fixture('bad/quoted-newline.csv')), /quoted-newline\.csv:2: a quoted field is not closed on its line \(a newline inside quotes\?\)/);
  });
  it('regression: --step with a time column is refused, naming the column', async () => {
    await assert.rejects(loadTrace(fixture('bad/relative.csv'), { step: 60 }), /relative\.csv:1: --step 60: the trace has a time column "time", which gives the spacing/);
  });
  it('streams a file whose rows straddle read chunks', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'big.csv');
    const lines = ['time,value'];
    for (let i = 0; i < 200_000; i++) lines.push(`${i * 5},${i % 97}`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const tr = await loadTrace(file);
    assert.equal(tr.stats.rows, 200_000);
    assert.equal(tr.values[199_999], 199_999 % 97);
    assert.equal(tr.step, 5);
  });
});
