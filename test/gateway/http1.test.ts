// The HTTP/1.1 front end against raw sockets on port 0: what reaches the handler, how responses are
// framed, what is refused, pipelining, backpressure, client aborts and timeouts.
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createRng } from '../../src/core/random.js';
import { FrontServer, type FrontHandler, type FrontServerOptions } from '../../src/gateway/http1.js';
import { until } from '../helpers.js';

async function front(t: { after: (fn: () => Promise<void>) => void }, handler: FrontHandler, o: FrontServerOptions = {}) {
  const refused: string[] = [];
  const s = new FrontServer(handler, { ...o, onRefused: (r) => refused.push(r) });
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
  t.after(() => s.close());
  return { port: (s.server.address() as AddressInfo).port, refused };
}

/** Send `pieces` 20 ms apart; collect what comes back until the server closes or `ms` passes. */
function raw(port: number, pieces: readonly (string | Buffer)[], ms = 400): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let text = '';
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      s.destroy();
      resolve({ text, closed });
    };
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.on('close', () => finish(true));
    s.on('error', () => undefined);
    pieces.forEach((p, i) => setTimeout(() => s.writable && s.write(p), i * 20));
    setTimeout(() => finish(false), ms);
  });
}

/** Answers what it was given as JSON (after `delayMs` for a URL containing "slow"). */
const echo: FrontHandler = (req, res) => {
  const chunks: Buffer[] = [];
  const answer = (): void => {
    const body = Buffer.from(JSON.stringify({ method: req.method, url: req.url, headers: req.rawHeaders, body: Buffer.concat(chunks).toString(), minor: req.httpMinor }));
    setTimeout(
      () => {
        if (req.url.includes('nolength')) {
          res.writeHead(200, 'OK', ['content-type', 'text/plain']);
          res.write(Buffer.from('abc'));
          res.write(Buffer.from('defgh'));
        } else {
          res.writeHead(200, 'OK', ['content-type', 'application/json', 'content-length', String(body.length)]);
          res.write(body);
        }
        res.end();
      },
      req.url.includes('slow') ? 100 : 0,
    );
  };
  if (!req.body) return answer();
  req.body.on('data', (c: Buffer) => chunks.push(c));
  req.body.on('end', answer);
};

const bodies = (text: string): Record<string, unknown>[] => [...text.matchAll(/\{"method".*?"minor":\d\}/g)].map((m) => JSON.parse(m[0]) as Record<string, unknown>);

describe('HTTP/1.1 front end (llhttp)', () => {
  const cases: { name: string; send: string[]; status: RegExp; closed: boolean; check?: (text: string) => void; handled?: boolean }[] = [
    {
      name: 'a head split across reads, fields in received case and order, an empty value kept',
      send: ['GET /a?b=1 HTTP/1.1\r\nHo', 'st: x\r\nX-Emp', 'ty:\r\nX-Split: va', 'lue\r\n\r\n'],
      status: /^HTTP\/1\.1 200 OK\r\n/,
      closed: false,
      check: (text) => assert.deepEqual(bodies(text)[0], { method: 'GET', url: '/a?b=1', headers: ['Host', 'x', 'X-Empty', '', 'X-Split', 'value'], body: '', minor: 1 }),
    },
    {
      name: 'pipelined requests are answered in order, the second parsed only after the first is answered',
      send: ['GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n'],
      status: /^HTTP\/1\.1 200 OK\r\n/,
      closed: false,
      check: (text) => assert.deepEqual(bodies(text).map((b) => b.url), ['/slow', '/fast']),
    },
    {
      name: 'a chunked request body arrives decoded',
      send: ['POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', '6\r\n world\r\n0\r\n\r\n'],
      status: /^HTTP\/1\.1 200 OK\r\n/,
      closed: false,
      check: (text) => assert.equal(bodies(text)[0]?.body, 'hello world'),
    },
    {
      name: 'Expect: 100-continue is answered before the body is sent',
      send: ['POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n', 'hello'],
      status: /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/,
      closed: false,
      check: (text) => assert.equal(bodies(text)[0]?.body, 'hello'),
    },
    {
      name: 'HTTP/1.0 without keep-alive: Connection: close, then closed',
      send: ['GET /h HTTP/1.0\r\n\r\n'],
      status: /^HTTP\/1\.1 200 OK\r\n/,
      closed: true,
      check: (text) => assert.match(text, /\r\nconnection: close\r\n/),
    },
    {
      name: 'HTTP/1.0 with keep-alive stays open and says so',
      send: ['GET /h HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'],
      status: /^HTTP\/1\.1 200 OK\r\n/,
      closed: false,
      check: (text) => assert.match(text, /\r\nconnection: keep-alive\r\n/),
    },
    {
      name: 'a body of unknown length is chunked for HTTP/1.1',
      send: ['GET /nolength HTTP/1.1\r\nHost: x\r\n\r\n'],
      status: /^HTTP\/1\.1 200 OK\r\n/,
      closed: false,
      check: (text) => assert.ok(text.endsWith('\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n'), text),
    },
    {
      name: 'a body of unknown length is delimited by closing for HTTP/1.0',
      send: ['GET /nolength HTTP/1.0\r\n\r\n'],
      status: /^HTTP\/1\.1 200 OK\r\n/,
      closed: true,
      check: (text) => assert.ok(text.endsWith('\r\nconnection: close\r\n\r\nabcdefgh'), text),
    },
    {
      name: 'HEAD: the head only, whatever the handler writes',
      send: ['HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n'],
      status: /^HTTP\/1\.1 200 OK\r\n/,
      closed: false,
      check: (text) => assert.ok(text.endsWith('\r\n\r\n'), text),
    },
    { name: 'Content-Length with Transfer-Encoding (smuggling) is refused', send: ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'], status: /^HTTP\/1\.1 400 Bad Request\r\n/, closed: true },
    { name: 'two different Content-Lengths are refused', send: ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello'], status: /^HTTP\/1\.1 400 Bad Request\r\n/, closed: true },
    { name: 'a space inside a field name is refused', send: ['GET / HTTP/1.1\r\nBad Name: x\r\n\r\n'], status: /^HTTP\/1\.1 400 Bad Request\r\n/, closed: true },
    { name: 'an unknown version is refused', send: ['GET / HTTP/9.9\r\n\r\n'], status: /^HTTP\/1\.1 400 Bad Request\r\n/, closed: true },
    { name: 'a bad chunk size is refused (the head had reached the handler)', send: ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'], status: /^HTTP\/1\.1 400 Bad Request\r\n/, closed: true, handled: true },
    { name: 'a head over maxHeaderBytes gets 431', send: [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`], status: /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/, closed: true },
    { name: 'Upgrade is not supported: 501', send: ['GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'], status: /^HTTP\/1\.1 501 Not Implemented\r\n/, closed: true },
    { name: 'CONNECT is not supported: 501', send: ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'], status: /^HTTP\/1\.1 501 Not Implemented\r\n/, closed: true },
  ];
  for (const c of cases) {
    it(c.name, async (t) => {
      const seen: string[] = [];
      const { port } = await front(t, (req, res) => {
        seen.push(req.url);
        echo(req, res);
      });
      const { text, closed } = await raw(port, c.send);
      assert.match(text, c.status);
      assert.equal(closed, c.closed, `closed: ${text}`);
      c.check?.(text);
      // A refused head never reaches the handler.
      if (/ 4\d\d | 5\d\d /.test(text.split('\r\n')[0] ?? '')) assert.equal(seen.length, c.handled ? 1 : 0);
    });
  }

  it('counts refusals by reason', async (t) => {
    const { port, refused } = await front(t, echo);
    await raw(port, ['GET / HTTP/9.9\r\n\r\n']);
    await raw(port, [`GET / HTTP/1.1\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`]);
    await raw(port, ['GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n']);
    assert.deepEqual(refused, ['bad_request', 'header_too_large', 'upgrade_not_supported']);
  });

  it('a handler that throws gets its request answered 500 and the server keeps serving', async (t) => {
    const { port, refused } = await front(t, (req, res) => {
      if (req.url === '/bug') throw new Error('handler bug');
      echo(req, res);
    });
    const bug = await raw(port, ['GET /bug HTTP/1.1\r\nHost: x\r\n\r\n']);
    assert.match(bug.text, /^HTTP\/1\.1 500 Internal Server Error\r\n/);
    assert.ok(bug.closed);
    assert.match((await raw(port, ['GET /fine HTTP/1.1\r\nHost: x\r\n\r\n'])).text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.deepEqual(refused, ['handler_error']);
  });

  it('a slow consumer pauses the socket and still gets a large body whole', async (t) => {
    let received = 0;
    const { port } = await front(t, (req, res) => {
      const body = req.body;
      assert.ok(body);
      body.pause();
      // Read nothing for 200 ms: the client's writes back up instead of piling up here.
      setTimeout(() => {
        body.on('data', (c: Buffer) => (received += c.length));
        body.resume();
      }, 200);
      body.on('end', () => res.send(200, 'OK', [], String(received)));
    });
    const size = 8 << 20;
    const { text } = await raw(port, [`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`, Buffer.alloc(size, 7)], 5000);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(text.endsWith(`\r\n\r\n${size}`), text.slice(-40));
  });

  it('a client that goes away mid-response is reported to the handler once', async (t) => {
    let aborted = 0;
    const { port } = await front(t, (req, res) => {
      req.onAbort = () => aborted++;
      res.writeHead(200, 'OK', []);
      res.write(Buffer.from('partial'));
    });
    await raw(port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], 150);
    await until('the abort is reported', () => aborted === 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(aborted, 1);
  });

  it('timeouts: 408 for a head that never completes, a request body that stalls; idle keep-alive connections closed', async (t) => {
    const { port, refused } = await front(t, echo, { headersTimeoutMs: 150, requestTimeoutMs: 300, keepAliveTimeoutMs: 200 });
    const slowHead = await raw(port, ['GET / HTTP/1.1\r\nHost: x\r\n'], 1500);
    assert.match(slowHead.text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(slowHead.closed);
    const slowBody = await raw(port, ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc'], 1500);
    assert.match(slowBody.text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    const idle = await raw(port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], 1500);
    assert.match(idle.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(idle.closed, 'an idle keep-alive connection is closed');
    assert.deepEqual(refused, ['request_timeout', 'request_timeout']);
  });

  it('seeded fuzz: 300 mangled requests never crash the server; each gets a well-formed answer or a close', async (t) => {
    const { port } = await front(t, echo);
    const rng = createRng(11);
    const base = Buffer.from('POST /a/b?c=d HTTP/1.1\r\nHost: x\r\nX-Key: v\r\nContent-Length: 5\r\n\r\nhello');
    const noise = [0, 10, 13, 32, 58, 127, 255, 0x30, 0x41];
    const inputs: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(base);
      const edits = 1 + Math.floor(rng.next() * 4);
      for (let e = 0; e < edits; e++) b[Math.floor(rng.next() * b.length)] = noise[Math.floor(rng.next() * noise.length)] as number;
      inputs.push(rng.next() < 0.2 ? b.subarray(0, Math.floor(rng.next() * b.length)) : b);
    }
    for (let i = 0; i < inputs.length; i += 30) {
      const batch = inputs.slice(i, i + 30);
      const replies = await Promise.all(batch.map((input) => raw(port, [input], 150)));
      replies.forEach(({ text }, j) => {
        if (text) assert.match(text, /^HTTP\/1\.1 (200 OK|400 Bad Request|501 Not Implemented)\r\n/, JSON.stringify(batch[j]?.toString('latin1')));
      });
    }
    const after = await raw(port, ['GET /still HTTP/1.1\r\nHost: x\r\n\r\n']);
    assert.match(after.text, /^HTTP\/1\.1 200 OK\r\n/);
  });
});
