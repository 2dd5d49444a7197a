// The gateway's admin port: Prometheus text, JSON snapshots for the control loop, and runtime changes
// to the live pool (add, drain, weights) and the mirror's sampling rate. Bad input answers 400 with
// the field and what was expected, and changes nothing.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { describeValue, ERROR_CODES, ShadowscaleError, type ErrorCode } from '../core/errors.js';
import type { GatewayControl } from './control.js';

const MAX_BODY = 64 * 1024;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, code: ErrorCode, message: string): void {
  send(res, ERROR_CODES[code].httpStatus, { error: { code, message } });
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body: expected at most ${MAX_BODY} bytes of JSON`);
    chunks.push(c as Buffer);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
  } catch (err) {
    throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body: expected a JSON object (${(err as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body: expected a JSON object, got ${describeValue(value)}`);
  return value as Record<string, unknown>;
}

function onlyKeys(body: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(body)) if (!allowed.includes(k)) throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body.${k}: unknown field (allowed: ${allowed.join(', ')})`);
}

function weightOf(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `${field}: expected a number >= 0, got ${describeValue(v)}`);
  return v;
}

/** A member or shadow URL: http(s), a host, and a port that is not 0; the origin is kept. */
function memberUrl(v: unknown, field: string): string {
  const expected = `${field}: expected an http:// or https:// URL with a host and a port other than 0, got ${describeValue(v)}`;
  let parsed: URL;
  try {
    parsed = new URL(String(v));
  } catch {
    throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', expected);
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '' || parsed.port === '0') throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', expected);
  return parsed.origin;
}

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void>;

export function createAdminServer(g: GatewayControl): Server {
  const missing = async (id: string): Promise<never> => {
    throw new ShadowscaleError('SHADOWSCALE_E_NOT_FOUND', `no live member "${id}" (have: ${(await g.members()).map((x) => x.id).join(', ') || 'none'})`);
  };
  // Each route: a path pattern and its handlers by method. A known path with another method is 405.
  const routes: { path: RegExp; methods: Record<string, Handler> }[] = [
    {
      path: /^\/metrics$/,
      methods: {
        GET: async (_req, res) => {
          const m = await g.metrics();
          res.writeHead(200, { 'content-type': m.contentType });
          res.end(m.text);
        },
      },
    },
    { path: /^\/stats$/, methods: { GET: async (_q, res) => send(res, 200, await g.stats()) } },
    { path: /^\/pools\/live$/, methods: { GET: async (_q, res) => send(res, 200, { members: await g.members() }) } },
    {
      path: /^\/pools\/live\/members$/,
      methods: {
        POST: async (req, res) => {
          const body = await readJson(req);
          onlyKeys(body, ['url', 'weight']);
          const url = memberUrl(body.url, 'body.url');
          const weight = body.weight === undefined ? 1 : weightOf(body.weight, 'body.weight');
          const same = (await g.members()).find((x) => x.url === url);
          if (same) throw new ShadowscaleError('SHADOWSCALE_E_CONFLICT', `body.url: ${url} is already the live member "${same.id}"; PATCH /pools/live/members/${same.id} to change its weight`);
          return send(res, 201, await g.addLive(url, weight));
        },
      },
    },
    {
      path: /^\/pools\/live\/members\/([^/]+)$/,
      methods: {
        PATCH: async (req, res, [id = '']) => {
          if (!(await g.members()).some((x) => x.id === id)) await missing(id);
          const body = await readJson(req);
          onlyKeys(body, ['weight']);
          const weight = weightOf(body.weight, 'body.weight');
          return send(res, 200, (await g.setWeight(id, weight)) ?? (await missing(id)));
        },
        DELETE: async (_req, res, [id = '']) => {
          if (!(await g.members()).some((x) => x.id === id)) await missing(id);
          // Drain: answered at once; the member leaves when its in-flight requests are done.
          if (!(await g.drain(id))) await missing(id);
          return send(res, 202, { draining: id });
        },
      },
    },
    {
      path: /^\/mirror$/,
      methods: {
        PUT: async (req, res) => {
          const body = await readJson(req);
          onlyKeys(body, ['rate']);
          const rate = body.rate;
          if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body.rate: expected a number between 0 and 1, got ${describeValue(rate)}`);
          return send(res, 200, { rate: await g.setRate(rate) });
        },
      },
    },
    {
      path: /^\/pools\/shadow$/,
      methods: {
        GET: async (_q, res) => send(res, 200, { targets: await g.shadowTargets() }),
        PUT: async (req, res) => {
          const body = await readJson(req);
          onlyKeys(body, ['targets']);
          if (!Array.isArray(body.targets)) throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body.targets: expected a list of http:// or https:// URLs, got ${describeValue(body.targets)}`);
          const targets = body.targets.map((u, i) => memberUrl(u, `body.targets[${i}]`));
          const dup = targets.findIndex((u, i) => targets.indexOf(u) !== i);
          if (dup >= 0) throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body.targets[${dup}]: ${targets[dup]} is listed twice`);
          await g.setShadowTargets(targets);
          return send(res, 200, { targets });
        },
      },
    },
    { path: /^\/mirror\/metadata$/, methods: { GET: async (_q, res) => send(res, 200, await g.metadata()) } },
  ];
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let p: string;
    try {
      p = new URL(req.url ?? '/', 'http://admin').pathname;
    } catch {
      throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `${describeValue(req.url)}: expected a request path`);
    }
    const m = req.method ?? 'GET';
    for (const r of routes) {
      const match = r.path.exec(p);
      if (!match) continue;
      const params = match.slice(1).map((x, i) => {
        try {
          return decodeURIComponent(x);
        } catch {
          throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `path segment ${i + 1} of ${describeValue(p)}: expected valid percent-encoding`);
        }
      });
      const h = r.methods[m];
      if (!h) {
        res.setHeader('allow', Object.keys(r.methods).join(', '));
        throw new ShadowscaleError('SHADOWSCALE_E_METHOD_NOT_ALLOWED', `${m} ${p}: not allowed (allowed: ${Object.keys(r.methods).join(', ')})`);
      }
      return h(req, res, params);
    }
    throw new ShadowscaleError('SHADOWSCALE_E_NOT_FOUND', `${m} ${p}: no such admin route (GET /metrics, /stats, /pools/live, /pools/shadow, /mirror/metadata; POST /pools/live/members; PATCH|DELETE /pools/live/members/ID; PUT /mirror, /pools/shadow)`);
  };
  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (err instanceof ShadowscaleError) sendError(res, err.code, err.message);
      else sendError(res, 'SHADOWSCALE_E_INTERNAL', String(err));
    });
  });
  // A request node's parser refuses (an unknown method, a malformed head) gets the API's error shape too.
  server.on('clientError', answerClientError);
  return server;
}

/** Answer a request node's HTTP parser refused (an unknown method, a malformed head) in the API's error shape. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify({ error: { code: 'SHADOWSCALE_E_API_INPUT', message: `malformed HTTP request (${err.code ?? 'parse error'})` } });
  socket.end(`HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
