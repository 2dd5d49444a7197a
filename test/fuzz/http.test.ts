// Fuzz tests (seeded): mangled HTTP/1.1 requests on raw sockets (real servers on port 0).
// 1. Differential: the front end against node's own HTTP server on the same bytes. Where node accepts,
//    the front end accepts the same method and target, or refuses for a documented reason (target or
//    Host checks, upgrades, 431); where node refuses, the front end never hands the request on.
// 2. The whole gateway in front of a healthy upstream: client input never gets a 5xx, never counts
//    against the member and never ejects it.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { Rng } from '../../src/core/random.js';
import { createGateway } from '../../src/gateway/gateway.js';
import { FrontServer } from '../../src/gateway/http1.js';
import { serve } from '../helpers.js';
import { fuzz, mutateBytes, pick } from './harness.js';

const CORPUS = [
  'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /a/b?c=d&e=%20 HTTP/1.1\r\nHost: example.test:8080\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n',
  'POST /items HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"password":1}',
  'PUT /kv/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  'GET http://example.test/p?q HTTP/1.1\r\nHost: example.test\r\n\r\n',
  'GET / HTTP/1.0\r\n\r\n',
  'DELETE /kv/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi',
  'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\nCookie: a=b\r\nX-Long: ' + 'v'.repeat(200) + '\r\n\r\n',
].map((s) => Buffer.from(s, 'latin1'));
const LINES = ['Host: b', 'Host:', 'Host: a b', 'Content-Length: 5', 'Content-Length: -1', 'Content-Length: 1, 2', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip', 'Transfer-Encoding: chunked, identity', 'Connection: upgrade', 'Upgrade: websocket', 'Expect: 100-continue', 'Expect: magic', ' folded', 'X-A: \x01', 'X-A:\tb', 'Bad Name: x', ':x', 'X-A: \xff\xfe', `X-Big: ${'b'.repeat(17_000)}`];
const HTTP_BYTES = [...' \r\n:/?#%@*,;"\t0123456789HTPGOSaz-'].map((c) => c.charCodeAt(0)).concat([0, 0x7f, 0x80, 0xff]);

function mangle(rng: Rng): Buffer {
  let b = pick(rng, CORPUS);
  if (rng.next() < 0.35) {
    // Insert a whole field line after the request line.
    const eol = b.indexOf('\r\n');
    b = Buffer.concat([b.subarray(0, eol + 2), Buffer.from(`${pick(rng, LINES)}\r\n`, 'latin1'), b.subarray(eol + 2)]);
  }
  return rng.next() < 0.8 ? mutateBytes(rng, b, HTTP_BYTES, 3) : b;
}

type Outcome = { kind: 'answer'; status: number; reason: string | undefined; body: string } | { kind: 'closed' } | { kind: 'pending' };

/** Send `bytes` on a new connection; the first response (its status, reason field and body), a close, or nothing within `idleMs`. */
function exchange(port: number, bytes: Buffer, idleMs = 60): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let done = false;
    let timer: NodeJS.Timeout;
    let closing = false;
    const finish = (o: Outcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(o);
    };
    const parse = (): Outcome | undefined => {
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const head = data.subarray(0, end).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      if (status === 100) {
        data = data.subarray(end + 4);
        return parse();
      }
      const declared = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
      // No length: the body runs to the close (an HTTP/1.0 answer).
      if (declared === undefined && !closing) return undefined;
      const length = declared === undefined ? data.length - end - 4 : Number(declared);
      if (data.length < end + 4 + length) return undefined;
      return { kind: 'answer', status, reason: /\r\nx-shadowscale-reason: *([^\r]+)/i.exec(head)?.[1], body: data.subarray(end + 4, end + 4 + length).toString('latin1') };
    };
    const idle = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => finish({ kind: 'pending' }), idleMs);
    };
    s.on('connect', () => {
      s.write(bytes);
      idle();
    });
    s.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      const o = parse();
      if (o) finish(o);
      else idle();
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      closing = true;
      finish(parse() ?? (data.length ? { kind: 'answer', status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(data.toString('latin1'))?.[1] ?? 0), reason: undefined, body: '' } : { kind: 'closed' }));
    });
  });
}

/** Refusals of the front end that node's server does not make (RFC 9112 §3.2 checks, no upgrades). */
const DOCUMENTED = new Set(['bad_host', 'bad_target', 'upgrade_not_supported', 'header_too_large']);

describe('fuzz: HTTP/1.1', () => {
  it('differential: the front end accepts what node accepts (same method and target) or refuses for a documented reason, and refuses what node refuses', async (t) => {
    // The answer names what was parsed, up to a newline (node may write more after a close-delimited answer).
    const nodeServer = createServer((req, res) => res.end(`${req.method} ${req.url}\n`));
    nodeServer.on('clientError', (err: NodeJS.ErrnoException, socket) => socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-shadowscale-reason: node_${err.code ?? 'error'}\r\n\r\n`));
    const nodeUrl = await serve(t, nodeServer);
    const front = new FrontServer((req, res) => {
      const text = `${req.method} ${req.url}\n`;
      res.send(200, 'OK', [], text);
      req.body?.resume();
    });
    await new Promise<void>((r) => front.server.listen(0, '127.0.0.1', r));
    t.after(() => front.close());
    const frontPort = (front.server.address() as AddressInfo).port;
    const nodePort = Number(new URL(nodeUrl).port);
    let compared = 0;
    await fuzz(
      { name: 'http-differential', cases: 20_000, budgetMs: 30_000, concurrency: 16 },
      (rng) => mangle(rng),
      async (bytes) => {
        const [ours, theirs] = await Promise.all([exchange(frontPort, bytes), exchange(nodePort, bytes)]);
        if (ours.kind === 'answer') assert.ok(ours.status >= 200 && ours.status < 600, `a well-formed status line (${ours.status})`);
        if (ours.kind !== 'answer' || theirs.kind !== 'answer') return; // a parser may stop at another byte: no verdict
        compared++;
        const oursAccepted = ours.status === 200;
        const theirsAccepted = theirs.status === 200;
        if (theirsAccepted && oursAccepted) {
          const [m1, u1] = (ours.body.split('\n')[0] as string).split(' ');
          const [m2, u2] = (theirs.body.split('\n')[0] as string).split(' ');
          assert.equal(m1, m2, 'the same method');
          if (!/^https?:\/\//i.test(u2 ?? '')) assert.equal(u1, u2, 'the same target');
        } else if (theirsAccepted) {
          assert.ok(DOCUMENTED.has(ours.reason ?? ''), `node accepted (${theirs.body}) but the front end refused: ${ours.status} ${ours.reason}`);
        } else if (oursAccepted) {
          // node answers an Expect it does not know with 417; the front end passes it on.
          assert.ok(theirs.status === 417, `node refused (${theirs.status} ${theirs.reason}) but the front end accepted: ${ours.body}`);
        }
      },
      (b) => JSON.stringify(b.toString('latin1')),
    );
    assert.ok(compared > 1000, `${compared} cases compared`);
  });

  it('the gateway: client input never gets a 5xx, never counts against the member, never ejects it', async (t) => {
    const upstream = await serve(t, createServer((req, res) => {
      req.resume();
      res.end('ok');
    }));
    const g = createGateway({ live: [upstream], ejectAfterFailures: 1 });
    const port = (await g.listen(0)).port;
    t.after(() => g.close());
    await fuzz(
      { name: 'http-gateway', cases: 20_000, budgetMs: 30_000, concurrency: 16 },
      (rng) => (rng.next() < 0.1 ? Buffer.concat([mangle(rng), mangle(rng)]) : mangle(rng)),
      async (bytes) => {
        const o = await exchange(port, bytes);
        if (o.kind === 'answer') assert.ok(o.status < 500, `${o.status} ${o.reason ?? ''} for client input`);
        const m = g.members[0];
        assert.equal(m?.failures, 0, 'no failure counted against the member');
        assert.equal(m?.ejectedUntil, 0, 'never ejected');
      },
      (b) => JSON.stringify(b.toString('latin1')),
    );
    for (const k of Object.keys(g.stats.errors)) assert.doesNotMatch(k, /^upstream_/, `no upstream failure from client input (${JSON.stringify(g.stats.errors)})`);
    const ok = await exchange(port, Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
    assert.equal(ok.kind === 'answer' && ok.status, 200, 'still serving');
  });
});
