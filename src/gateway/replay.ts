// Open-loop replay of recorded traffic (JSON Lines of request metadata, as the gateway records it):
// requests are sent at their recorded times, compressed by `speed` (or scaled to a target rate),
// whether or not earlier ones have finished, and each latency is measured from the request's
// *scheduled* send time, so a slow target cannot hide queueing (no coordinated omission).

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import { describeValue, ShadowscaleError } from '../core/errors.js';

export interface RecordedRequest {
  /** Milliseconds (any origin; only differences matter). */
  readonly at: number;
  readonly method: string;
  /** Path to request (the recorded route). */
  readonly route: string;
  readonly requestBytes: number;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Read a recording; any malformed line is an error naming file:line and the field. A `run` names each
 * record's service (its services share `gateway.mirror.recordFile`): `service` keeps that service's records,
 * and a recording of several services without it is an error naming them (replaying them all at one target
 * would send one service's requests to another).
 */
export async function loadRecording(file: string, service?: string): Promise<RecordedRequest[]> {
  const out: RecordedRequest[] = [];
  const services = new Set<string>();
  let unnamed = 0;
  let line = 0;
  const fail = (msg: string): never => {
    throw new ShadowscaleError('SHADOWSCALE_E_TRACE_FORMAT', `${file}:${line}: ${msg}`);
  };
  try {
    const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const text of rl) {
      line++;
      if (text.trim() === '') continue;
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return fail('expected one JSON object per line');
      }
      if (!o || typeof o !== 'object') fail('expected one JSON object per line');
      if (typeof o.at !== 'number' || !Number.isFinite(o.at)) fail(`at: expected a time in milliseconds, got ${describeValue(o.at)}`);
      if (typeof o.method !== 'string' || !METHODS.has(o.method)) fail(`method: expected one of ${[...METHODS].join(', ')}, got ${describeValue(o.method)}`);
      if (typeof o.route !== 'string' || !o.route.startsWith('/')) fail(`route: expected a path starting with "/", got ${describeValue(o.route)}`);
      const bytes = o.requestBytes ?? 0;
      if (typeof bytes !== 'number' || !(bytes >= 0)) fail(`requestBytes: expected a number >= 0, got ${describeValue(bytes)}`);
      if (o.service !== undefined && typeof o.service !== 'string') fail(`service: expected a service's name, got ${describeValue(o.service)}`);
      if (typeof o.service === 'string') services.add(o.service);
      else unnamed++;
      if (service !== undefined && o.service !== service) continue;
      out.push({ at: o.at as number, method: o.method as string, route: o.route as string, requestBytes: bytes as number });
    }
  } catch (err) {
    if (err instanceof ShadowscaleError) throw err;
    throw new ShadowscaleError('SHADOWSCALE_E_TRACE_READ', `${file}: cannot read the recording (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const named = [...services].sort().map((x) => JSON.stringify(x)).join(', ');
  if (service === undefined && services.size + (unnamed > 0 && services.size > 0 ? 1 : 0) > 1)
    throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `${file}: the records of several services (${named}${unnamed > 0 ? ` and ${unnamed} naming none` : ''}); name one with --service`);
  if (service !== undefined && out.length === 0 && line > 0 && (services.size > 0 || unnamed > 0))
    throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--service: no records of "${service}" in ${file}; ${services.size > 0 ? `it has ${named}` : 'its records name no service (gateway --record)'}`);
  if (out.length === 0) throw new ShadowscaleError('SHADOWSCALE_E_TRACE_FORMAT', `${file}:1: empty recording; expected JSON Lines of {at, method, route, requestBytes}`);
  out.sort((a, b) => a.at - b.at);
  return out;
}

export interface ReplayOptions {
  readonly target: string;
  /** Time compression (2 = twice as fast). Ignored when `rate` is given. */
  readonly speed?: number;
  /** Target mean rate (requests/s): the recording's timing is scaled to it. */
  readonly rate?: number;
  /** Stop sending after this many seconds (the recording loops if shorter). */
  readonly durationSeconds?: number;
  readonly timeoutMs?: number;
  readonly maxInFlight?: number;
  readonly onProgress?: (sent: number) => void;
}

export interface ReplayReport {
  sent: number;
  completed: number;
  errors: number;
  /** Not sent because `maxInFlight` requests were outstanding (the target is far behind). */
  skipped: number;
  statuses: Record<string, number>;
  durationSeconds: number;
  achievedRate: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
}

/** Highest send rate a replay's schedule may ask for (requests/s). */
export const MAX_REPLAY_RATE = 1_000_000;

export async function replay(rec: readonly RecordedRequest[], o: ReplayOptions): Promise<ReplayReport> {
  const first = (rec[0] as RecordedRequest).at;
  const span = Math.max(1, (rec[rec.length - 1] as RecordedRequest).at - first);
  const speed = o.rate !== undefined ? o.rate / (rec.length / (span / 1000)) : (o.speed ?? 1);
  if (!(speed > 0)) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `--speed/--rate: expected a positive value, got ${speed}`);
  // One process sends some tens of thousands of requests a second; a schedule far beyond that is a typo.
  const scheduledRate = (rec.length / (span / 1000)) * speed;
  if (scheduledRate > MAX_REPLAY_RATE) throw new ShadowscaleError('SHADOWSCALE_E_USAGE', `${o.rate !== undefined ? `--rate ${o.rate}` : `--speed ${speed}`}: the recording would be sent at ${Number.isFinite(scheduledRate) ? scheduledRate.toExponential(2) : 'more than 1e+308'} requests/s; expected at most ${MAX_REPLAY_RATE.toLocaleString('en-US')} (use several replays for more)`);
  const loopMs = span / speed + (o.rate !== undefined ? 1000 / o.rate : 0);
  // Without a duration, one pass: the end lies just past the last request.
  const endMs = o.durationSeconds !== undefined ? o.durationSeconds * 1000 : span / speed + 1;
  const pool = new Pool(o.target, { connections: 512, headersTimeout: o.timeoutMs ?? 10_000, bodyTimeout: o.timeoutMs ?? 10_000 });
  const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  const maxInFlight = o.maxInFlight ?? 10_000;
  const report: ReplayReport = { sent: 0, completed: 0, errors: 0, skipped: 0, statuses: {}, durationSeconds: 0, achievedRate: 0, latencyMs: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0 } };
  const bodies = new Map<number, Buffer>();
  const bodyOf = (n: number): Buffer | undefined => {
    if (n <= 0) return undefined;
    let b = bodies.get(n);
    if (!b) bodies.set(n, (b = Buffer.alloc(n, 0x61)));
    return b;
  };
  const inflight = new Set<Promise<void>>();
  const start = performance.now();
  const fire = (r: RecordedRequest, scheduled: number): void => {
    if (inflight.size >= maxInFlight) {
      report.skipped++;
      return;
    }
    report.sent++;
    const p = (async () => {
      let status = 0;
      try {
        const res = await pool.request({ method: r.method as 'GET', path: r.route, body: bodyOf(r.requestBytes) });
        status = res.statusCode;
        await res.body.dump();
      } catch {
        // No response: counted as status 0 (an error) below.
      }
      // From the scheduled time: lag in sending counts as latency.
      hist.recordValue(Math.max(1, Math.round((performance.now() - scheduled) * 1000)));
      report.completed++;
      report.statuses[String(status)] = (report.statuses[String(status)] ?? 0) + 1;
      if (status === 0 || status >= 500) report.errors++;
    })();
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };
  // 1. Walk the schedule; sleep until the next send time; fire everything that is due. Behind schedule
  // (the target or this process cannot keep up), it still yields to the event loop every so often, so that
  // answers are taken in, and it stops at the end in wall time as well as on the schedule.
  let sinceYield = 0;
  for (let loop = 0; ; loop++) {
    let stop = false;
    for (const r of rec) {
      const dueMs = loop * loopMs + (r.at - first) / speed;
      if (dueMs >= endMs || performance.now() - start >= endMs) {
        stop = true;
        break;
      }
      const wait = start + dueMs - performance.now();
      if (wait > 1) {
        await new Promise((res) => setTimeout(res, wait));
        sinceYield = 0;
      } else if (++sinceYield >= 256) {
        await new Promise((res) => setImmediate(res));
        sinceYield = 0;
      }
      fire(r, start + dueMs);
      if (report.sent % 1000 === 0) o.onProgress?.(report.sent);
    }
    if (stop || o.durationSeconds === undefined) break;
  }
  // 2. Wait for the stragglers, then report.
  await Promise.all([...inflight]);
  await pool.close();
  report.durationSeconds = (performance.now() - start) / 1000;
  report.achievedRate = report.sent / Math.max(1e-9, Math.min(report.durationSeconds, endMs / 1000 || report.durationSeconds));
  const q = (p: number): number => (hist.totalCount ? hist.getValueAtPercentile(p) / 1000 : 0);
  report.latencyMs = { p50: q(50), p90: q(90), p99: q(99), p999: q(99.9), max: hist.totalCount ? hist.maxValue / 1000 : 0 };
  return report;
}
