// Unit tests (table): what scrubbed mirroring takes out of a request (credentials, client identity).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDACTED, Scrubber } from '../../src/gateway/scrub.js';

const R = encodeURIComponent(REDACTED);

describe('Scrubber', () => {
  const sc = new Scrubber({ hashKey: Buffer.alloc(32, 1) });
  const names: [string, boolean][] = [
    ['token', true],
    ['access_token', true],
    ['refreshToken', true],
    ['api_key', true],
    ['apiKey', true],
    ['X-Api-Key', true],
    ['key', true],
    ['password', true],
    ['new_password', true],
    ['passwd', true],
    ['secret', true],
    ['client_secret', true],
    ['sig', true],
    ['signature', true],
    ['X-Amz-Signature', true],
    ['X-Amz-Credential', true],
    ['X-Amz-Security-Token', true],
    ['session_id', true],
    ['sid', true],
    ['jwt', true],
    ['authorization', true],
    ['Proxy-Authorization', true],
    ['cookie', true],
    ['Set-Cookie', true],
    ['x-csrf-token', true],
    ['user', false],
    ['page', false],
    ['q', false],
    ['keyword', false],
    ['monkey', false],
    ['content-type', false],
    ['x-request-id', false],
  ];
  for (const [n, secret] of names) it(`${n} is ${secret ? '' : 'not '}secret`, () => assert.equal(sc.isSecret(n), secret));

  const paths: [string, string][] = [
    ['/a', '/a'],
    ['/a?', '/a?'],
    ['/a?page=2&q=x', '/a?page=2&q=x'],
    ['/a?token=abc&api_key=def&page=2', `/a?token=${R}&api_key=${R}&page=2`],
    ['/a?key=k1&Key=k2', `/a?key=${R}&Key=${R}`],
    ['/a?api%5Fkey=x', `/a?api%5Fkey=${R}`],
    ['/a?sig', `/a?sig=${R}`],
    ['/a?bad%zz=1&password=p', `/a?bad%zz=1&password=${R}`],
  ];
  for (const [p, want] of paths) it(`path ${p}`, () => assert.equal(sc.path(p), want));

  it('headers: credentials and client address removed, the referer\'s query redacted, others kept', () => {
    const out = sc.headers({
      authorization: 'Bearer x',
      'x-api-key': 'k',
      'x-auth-token': 't',
      cookie: 'a=b',
      'x-forwarded-for': '203.0.113.9, 127.0.0.1',
      'x-real-ip': '203.0.113.9',
      forwarded: 'for=203.0.113.9',
      'true-client-ip': '203.0.113.9',
      referer: 'https://shop.test/reset?token=abc&step=2',
      'x-request-id': 'r1',
      'content-type': 'application/json',
    });
    assert.deepEqual(out, { referer: `https://shop.test/reset?token=${R}&step=2`, 'x-request-id': 'r1', 'content-type': 'application/json' });
  });

  it('clientAddress: hash keeps one stable pseudonym per address in X-Forwarded-For, and no address', () => {
    const h = new Scrubber({ clientAddress: 'hash', hashKey: Buffer.alloc(32, 2) });
    const a = h.headers({ 'x-forwarded-for': '203.0.113.9, 127.0.0.1', 'x-real-ip': '203.0.113.9' });
    const b = h.headers({ 'x-forwarded-for': '203.0.113.9' });
    assert.equal(a['x-real-ip'], undefined);
    const chain = String(a['x-forwarded-for']).split(', ');
    assert.equal(chain.length, 2);
    assert.match(chain[0] as string, /^anon-[0-9a-f]{16}$/);
    assert.equal(chain[0], b['x-forwarded-for']);
    assert.notEqual(chain[0], chain[1]);
    assert.doesNotMatch(String(a['x-forwarded-for']), /203\.0\.113/);
  });

  it('configured lists: extra headers and fields removed; keep exempts a default name', () => {
    const c = new Scrubber({ headers: ['X-Tenant'], fields: ['card'], keep: ['key'] });
    assert.deepEqual(c.headers({ 'x-tenant': 't', 'x-other': 'o' }), { 'x-other': 'o' });
    assert.equal(c.path('/a?card=4111&key=k&token=t'), `/a?card=${R}&key=k&token=${R}`);
  });

  const bodies: { note: string; type: string; body: string; want: string | undefined }[] = [
    { note: 'JSON: nested and in arrays', type: 'application/json', body: '{"user":"a","password":"p","items":[{"token":"t","n":1}],"profile":{"apiKey":"k","name":"n"}}', want: '{"user":"a","password":"[redacted]","items":[{"token":"[redacted]","n":1}],"profile":{"apiKey":"[redacted]","name":"n"}}' },
    { note: 'JSON with nothing secret is sent byte for byte', type: 'application/json; charset=utf-8', body: '{ "user" : "a" }', want: '{ "user" : "a" }' },
    { note: 'a +json type', type: 'application/vnd.api+json', body: '{"secret":1}', want: '{"secret":"[redacted]"}' },
    { note: 'JSON that does not parse is not mirrored', type: 'application/json', body: '{"password": "p"', want: undefined },
    { note: 'a form', type: 'application/x-www-form-urlencoded', body: 'user=a&password=p&csrf_token=c', want: `user=a&password=${R}&csrf_token=${R}` },
    { note: 'another type passes as it is', type: 'text/plain', body: 'password=p', want: 'password=p' },
  ];
  for (const b of bodies) {
    it(`body: ${b.note}`, () => {
      const r = sc.body(Buffer.from(b.body), b.type);
      assert.equal(r === undefined ? undefined : r.body.toString(), b.want);
    });
  }
});
