// Unit tests: which fields a proxy forwards (RFC 9110 §7.6.1) and the forwarding fields it adds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldValue, forwardHeaders, headerRecord, responseHeaders } from '../../src/gateway/headers.js';

describe('forwardHeaders', () => {
  const cases: { name: string; in: string[]; client?: string; want: string[] }[] = [
    { name: 'plain fields pass in order and case; the forwarding fields are added', in: ['Host', 'a.example', 'Accept', '*/*'], client: '10.0.0.1', want: ['Host', 'a.example', 'Accept', '*/*', 'x-forwarded-for', '10.0.0.1', 'x-forwarded-proto', 'http', 'x-forwarded-host', 'a.example'] },
    {
      name: 'hop-by-hop fields are dropped, whatever their case',
      in: ['Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'TE', 'trailers', 'Trailer', 'X', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'Proxy-Authorization', 'Basic x', 'Proxy-Connection', 'close', 'X-Keep', '1'],
      want: ['X-Keep', '1', 'x-forwarded-proto', 'http'],
    },
    { name: 'fields named by Connection are dropped', in: ['Connection', 'close, X-Secret', 'x-secret', 's', 'X-Public', 'p'], want: ['X-Public', 'p', 'x-forwarded-proto', 'http'] },
    { name: 'Expect is answered by the gateway, not forwarded', in: ['Expect', '100-continue', 'Content-Length', '5'], want: ['Content-Length', '5', 'x-forwarded-proto', 'http'] },
    { name: 'an earlier X-Forwarded-For chain (two fields) is extended with the client', in: ['X-Forwarded-For', '1.1.1.1', 'x-forwarded-for', '2.2.2.2'], client: '3.3.3.3', want: ['x-forwarded-for', '1.1.1.1, 2.2.2.2, 3.3.3.3', 'x-forwarded-proto', 'http'] },
    { name: 'an earlier X-Forwarded-Proto and X-Forwarded-Host are kept', in: ['X-Forwarded-Proto', 'https', 'Host', 'inner', 'X-Forwarded-Host', 'outer'], want: ['Host', 'inner', 'X-Forwarded-Host', 'outer', 'x-forwarded-proto', 'https'] },
    { name: 'a long field name passes', in: [`X-${'a'.repeat(80)}`, 'v'], want: [`X-${'a'.repeat(80)}`, 'v', 'x-forwarded-proto', 'http'] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(forwardHeaders(c.in, c.client, 'http'), c.want));
});

describe('responseHeaders', () => {
  it("drops hop-by-hop fields and those Connection names from undici's raw Buffers; repeated fields stay", () => {
    const raw = ['Content-Type', 'text/plain', 'Connection', 'keep-alive, X-Hop', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'X-Hop', '1', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'].map((s) => Buffer.from(s, 'latin1'));
    assert.deepEqual(
      responseHeaders(raw).map((b) => b.toString('latin1')),
      ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'],
    );
  });
  it('raw fields stay the bytes received (no text round trip); strings work the same', () => {
    const v = Buffer.from([0x63, 0xe9, 0xff]);
    const [, out] = responseHeaders([Buffer.from('X-Bytes'), v]);
    assert.equal(out, v);
    assert.deepEqual(responseHeaders(['Connection', 'X-A', 'X-A', '1', 'X-B', '2']), ['X-B', '2']);
  });
});

describe('field lists', () => {
  it('fieldValue finds the first value by lowercase name; headerRecord lowercases and groups repeats', () => {
    const f = ['X-Key', 'a', 'x-key', 'b', 'Other', 'c'];
    assert.equal(fieldValue(f, 'x-key'), 'a');
    assert.equal(fieldValue(f, 'missing'), undefined);
    assert.deepEqual(headerRecord(f), { 'x-key': ['a', 'b'], other: 'c' });
  });
});
