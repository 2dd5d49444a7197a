// Unit tests (table): the replay mix of a trial is the recording's, evenly taken, and bounded in memory.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordedRequest } from '../gateway/replay.js';
import { mixFromRecording } from './mix.js';

const rec = (n: number, bytes: (i: number) => number): RecordedRequest[] => Array.from({ length: n }, (_, i) => ({ at: i, method: i % 2 ? 'POST' : 'GET', route: `/r${i % 5}`, requestBytes: bytes(i) }));

describe('mixFromRecording', () => {
  it('keeps methods, routes and sizes, one body buffer per size', () => {
    const r = mixFromRecording(rec(10, (i) => (i % 2 ? 100 : 0)));
    assert.equal(r.mix.length, 10);
    assert.deepEqual(r.mix.slice(0, 2).map((m) => [m.method, m.path, m.body?.length ?? 0]), [['GET', '/r0', 0], ['POST', '/r1', 100]]);
    assert.equal(r.bodyBytes, 100, 'one 100-byte buffer shared');
    assert.equal(r.mix[1]?.body, r.mix[3]?.body);
  });
  const rows: [note: string, n: number, bytes: (i: number) => number, limits: { maxRequests: number; maxBodyBytes: number; maxTotalBytes: number }, want: { length: number; maxBody: number; bodyBytesAtMost: number }][] = [
    ['a million requests: 10,000 taken evenly', 1_000_000, () => 0, { maxRequests: 10_000, maxBodyBytes: 65_536, maxTotalBytes: 64 << 20 }, { length: 10_000, maxBody: 0, bodyBytesAtMost: 0 }],
    ['a 50 MB body is cut to the body cap', 3, () => 50 << 20, { maxRequests: 10_000, maxBodyBytes: 65_536, maxTotalBytes: 64 << 20 }, { length: 3, maxBody: 65_536, bodyBytesAtMost: 65_536 }],
    ['10,000 distinct sizes stop at the total', 10_000, (i) => 1000 + i, { maxRequests: 10_000, maxBodyBytes: 65_536, maxTotalBytes: 1 << 20 }, { length: 10_000, maxBody: 65_536, bodyBytesAtMost: 1 << 20 }],
  ];
  for (const [note, n, bytes, limits, want] of rows) {
    it(note, () => {
      const r = mixFromRecording(rec(n, bytes), limits);
      assert.equal(r.mix.length, want.length);
      assert.ok(Math.max(0, ...r.mix.map((m) => m.body?.length ?? 0)) <= want.maxBody);
      assert.ok(r.bodyBytes <= want.bodyBytesAtMost, `${r.bodyBytes}`);
    });
  }
  it('taken across the whole recording, not its beginning', () => {
    const recs = Array.from({ length: 100 }, (_, i) => ({ at: i, method: 'GET', route: `/p${i}`, requestBytes: 0 }));
    const r = mixFromRecording(recs, { maxRequests: 10, maxBodyBytes: 1, maxTotalBytes: 1 });
    assert.deepEqual(r.mix.map((m) => m.path), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90].map((i) => `/p${i}`));
  });
});
