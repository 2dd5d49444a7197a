// Unit tests (table): the request target and Host checks of RFC 9112 §3.2 that the front end applies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkTarget, validHost } from '../../src/gateway/target.js';

describe('validHost', () => {
  const rows: [string, boolean, string][] = [
    ['example.com', true, 'a reg-name'],
    ['example.com:8080', true, 'with a port'],
    ['example.com:', true, 'an empty port is allowed by the grammar'],
    ['127.0.0.1:65535', true, 'IPv4 and the largest port'],
    ['[::1]:80', true, 'an IPv6 literal'],
    ['[::1]', true, 'an IPv6 literal without a port'],
    ['a%20b', true, 'percent-encoded'],
    ['', false, 'empty'],
    ['a b', false, 'a space'],
    ['a/b', false, 'a slash'],
    ['a@b', false, 'userinfo'],
    ['host:65536', false, 'a port above 65535'],
    ['host:8x', false, 'a port that is not digits'],
    ['[::1', false, 'an unclosed literal'],
    ['[::1]x', false, 'junk after a literal'],
    ['a%2', false, 'a truncated percent-encoding'],
    [':80', false, 'no host before the port'],
  ];
  for (const [v, ok, note] of rows) it(`${JSON.stringify(v)} → ${ok} (${note})`, () => assert.equal(validHost(v), ok));
});

describe('checkTarget', () => {
  const H = (v: string) => ['Host', v];
  const rows: { note: string; url: string; fields: string[]; minor?: number; want: string }[] = [
    { note: 'origin-form with one Host', url: '/a?b', fields: H('x'), want: 'ok /a?b' },
    { note: 'two Host fields', url: '/', fields: [...H('a'), ...H('b')], want: 'bad_host' },
    { note: 'two identical Host fields', url: '/', fields: [...H('a'), ...H('a')], want: 'bad_host' },
    { note: 'HTTP/1.1 without Host', url: '/', fields: [], want: 'bad_host' },
    { note: 'HTTP/1.0 without Host', url: '/', fields: [], minor: 0, want: 'ok /' },
    { note: 'HTTP/1.0 with two Host fields', url: '/', fields: [...H('a'), ...H('b')], minor: 0, want: 'bad_host' },
    { note: 'an empty Host', url: '/', fields: H(''), want: 'bad_host' },
    { note: 'Host in any case', url: '/', fields: ['hOsT', 'x', 'HOST', 'y'], want: 'bad_host' },
    { note: 'asterisk-form (OPTIONS *)', url: '*', fields: H('x'), want: 'bad_target' },
    { note: 'absolute-form: authority replaces Host', url: 'http://a.test:81/p?q', fields: H('other'), want: 'ok /p?q host=a.test:81' },
    { note: 'absolute-form with no path', url: 'https://a.test', fields: H('a.test'), want: 'ok / host=a.test' },
    { note: 'absolute-form with only a query', url: 'http://a.test?x=1', fields: H('a.test'), want: 'ok /?x=1 host=a.test' },
    { note: 'absolute-form drops a fragment', url: 'http://a.test/p#frag', fields: H('a.test'), want: 'ok /p host=a.test' },
    { note: 'absolute-form with an empty Host', url: 'http://a.test/', fields: H(''), want: 'ok / host=a.test' },
    { note: 'absolute-form with userinfo', url: 'http://u:p@a.test/', fields: H('a.test'), want: 'bad_target' },
    { note: 'absolute-form with a bad authority', url: 'http://a b/', fields: H('a'), want: 'bad_target' },
    { note: 'absolute-form with an empty authority', url: 'http:///p', fields: H('a'), want: 'bad_target' },
    { note: 'another scheme', url: 'ftp://a.test/', fields: H('a'), want: 'bad_target' },
    { note: 'a bare word', url: 'index.html', fields: H('a'), want: 'bad_target' },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const t = checkTarget(r.url, r.fields, r.minor ?? 1);
      const got = t.ok ? `ok ${t.path}${t.host !== undefined ? ` host=${t.host}` : ''}` : t.reason;
      assert.equal(got, r.want);
    });
  }
});
