// Fuzz tests (seeded): the streaming trace loader with mangled CSV. Every input is either a trace whose
// rows are in time order with finite values, or a ShadowscaleError with exit 2 naming the file.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ShadowscaleError } from '../../src/core/errors.js';
import { loadTrace, toSeries } from '../../src/sim/trace.js';
import { fixture, tempDir } from '../helpers.js';
import { fuzz, int, mutateBytes, pick } from './harness.js';

const head = (file: string, lines: number): Buffer => Buffer.from(readFileSync(fixture(file), 'utf8').split('\n').slice(0, lines).join('\n'));
const CORPUS = [
  head('nasa-http-1995/nasa_http_1995_2weeks_per_minute.csv', 40),
  head('nab/ec2_cpu_utilization_825cc2.csv', 40),
  head('alibaba2018-dc/machine_usage_days_1_to_8_grouped_300_seconds.csv', 20),
  Buffer.from('time,value\n0,1\n5,2\n10,3\n15,"4"\n'),
  Buffer.from('date,value\n2020-01-01T00:00:00+01:00,1\n2020-01-01T00:05:00+01:00,2\n'),
  Buffer.from('timestamp,value\n1600000000,1\n1600000060,2\n1600000120,3\n'),
];
const CSV_BYTES = [...',"\n\r -+.eE:0123456789TZ'].map((c) => c.charCodeAt(0)).concat([0, 0xef, 0xbb, 0xbf, 0xff]);

describe('fuzz: trace loader', () => {
  it('mangled CSV: a trace in time order with finite values, or exit 2 naming the file', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 't.csv');
    let loaded = 0;
    await fuzz(
      { name: 'trace', cases: 25_000, budgetMs: 30_000 },
      (rng) => {
        const base = pick(rng, CORPUS);
        const bytes = mutateBytes(rng, base, CSV_BYTES, 4);
        const opts = rng.next() < 0.15 ? { step: pick(rng, [1, 60, 0.5, 1e9]) } : rng.next() < 0.1 ? { duplicates: pick(rng, ['mean', 'sum', 'first', 'last'] as const) } : {};
        return { csv: bytes.toString('latin1'), opts, column: rng.next() < 0.1 ? pick(rng, ['value', 'nope', 'time', 'cpu_util_percent']) : undefined, cut: int(rng, 0, 3) };
      },
      async (c) => {
        writeFileSync(file, Buffer.from(c.csv, 'latin1'));
        try {
          const tr = await loadTrace(file, { ...c.opts, ...(c.column ? { column: c.column } : {}) });
          assert.ok(tr.stats.rows >= 1 && tr.times.length === tr.stats.rows && tr.values.length === tr.stats.rows);
          assert.ok(tr.step > 0 && Number.isFinite(tr.step), `step ${tr.step}`);
          for (let i = 0; i < tr.values.length; i++) assert.ok(Number.isFinite(tr.values[i]), `value ${i}`);
          for (let i = 1; i < tr.times.length; i++) assert.ok((tr.times[i] as number) > (tr.times[i - 1] as number), `times in order at row ${i}`);
          const span = ((tr.times[tr.times.length - 1] as number) - (tr.times[0] as number)) / tr.step;
          if (span < 1e6) assert.equal(toSeries(tr).values.length, Math.round(span) + 1);
          loaded++;
        } catch (err) {
          if (!(err instanceof ShadowscaleError)) throw new Error(`not a ShadowscaleError: ${(err as Error).stack ?? String(err)}`, { cause: err });
          assert.equal(err.exitCode, 2, err.message);
          assert.ok(err.message.startsWith(file) || err.message.startsWith('--step'), err.message);
          assert.ok(err.message.length < 1000, `message of ${err.message.length} characters`);
        }
      },
      (c) => JSON.stringify(c),
    );
    assert.ok(loaded > 0, 'some inputs load (the fuzzer reaches past the header)');
  });
});
