// The gateway's admin port: Prometheus text, JSON snapshots for the control loop, and runtime changes
// to the live pool (add, drain, weights) and the mirror's sampling rate. Bad input answers 400 with
// the field and what was expected, and changes nothing.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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

export function createAdminServer(g: GatewayControl): Server {
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const p = url.pathname;
    const m = req.method ?? 'GET';
    if (m === 'GET' && p === '/metrics') {
      const m = await g.metrics();
      res.writeHead(200, { 'content-type': m.contentType });
      res.end(m.text);
      return;
    }
    if (m === 'GET' && p === '/stats') return send(res, 200, await g.stats());
    if (m === 'GET' && p === '/pools/live') return send(res, 200, { members: await g.members() });
    if (m === 'POST' && p === '/pools/live/members') {
      const body = await readJson(req);
      onlyKeys(body, ['url', 'weight']);
      let parsed: URL;
      try {
        parsed = new URL(String(body.url));
      } catch {
        throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body.url: expected an http:// or https:// URL, got ${describeValue(body.url)}`);
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body.url: expected an http:// or https:// URL, got ${describeValue(body.url)}`);
      const weight = body.weight === undefined ? 1 : weightOf(body.weight, 'body.weight');
      return send(res, 201, await g.addLive(parsed.origin, weight));
    }
    const member = /^\/pools\/live\/members\/([^/]+)$/.exec(p);
    if (member) {
      const id = decodeURIComponent(member[1] as string);
      const missing = async (): Promise<never> => {
        throw new ShadowscaleError('SHADOWSCALE_E_NOT_FOUND', `no live member "${id}" (have: ${(await g.members()).map((x) => x.id).join(', ') || 'none'})`);
      };
      if ((m === 'PATCH' || m === 'DELETE') && !(await g.members()).some((x) => x.id === id)) await missing();
      if (m === 'PATCH') {
        const body = await readJson(req);
        onlyKeys(body, ['weight']);
        const weight = weightOf(body.weight, 'body.weight');
        return send(res, 200, (await g.setWeight(id, weight)) ?? (await missing()));
      }
      if (m === 'DELETE') {
        // Drain: answered at once; the member leaves when its in-flight requests are done.
        if (!(await g.drain(id))) await missing();
        return send(res, 202, { draining: id });
      }
    }
    if (m === 'PUT' && p === '/mirror') {
      const body = await readJson(req);
      onlyKeys(body, ['rate']);
      const rate = body.rate;
      if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body.rate: expected a number between 0 and 1, got ${describeValue(rate)}`);
      return send(res, 200, { rate: await g.setRate(rate) });
    }
    if (m === 'GET' && p === '/pools/shadow') return send(res, 200, { targets: await g.shadowTargets() });
    if (m === 'PUT' && p === '/pools/shadow') {
      const body = await readJson(req);
      onlyKeys(body, ['targets']);
      if (!Array.isArray(body.targets)) throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body.targets: expected a list of http:// or https:// URLs, got ${describeValue(body.targets)}`);
      const targets = body.targets.map((u, i) => {
        let parsed: URL;
        try {
          parsed = new URL(String(u));
        } catch {
          throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body.targets[${i}]: expected an http:// or https:// URL, got ${describeValue(u)}`);
        }
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ShadowscaleError('SHADOWSCALE_E_API_INPUT', `body.targets[${i}]: expected an http:// or https:// URL, got ${describeValue(u)}`);
        return parsed.origin;
      });
      await g.setShadowTargets(targets);
      return send(res, 200, { targets });
    }
    if (m === 'GET' && p === '/mirror/metadata') return send(res, 200, await g.metadata());
    throw new ShadowscaleError('SHADOWSCALE_E_NOT_FOUND', `${m} ${p}: no such admin route (GET /metrics, /stats, /pools/live, /pools/shadow, /mirror/metadata; POST /pools/live/members; PATCH|DELETE /pools/live/members/ID; PUT /mirror, /pools/shadow)`);
  };
  return createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (err instanceof ShadowscaleError) sendError(res, err.code, err.message);
      else sendError(res, 'SHADOWSCALE_E_INTERNAL', String(err));
    });
  });
}
