// bench:api — the operator surfaces' targets:
// A. the API under a running demo: latency of a decisions page of 100 (target p99 <= 20 ms), and of the
//    service view and the timeline the dashboard polls, requested from this process while `shadowscale demo`
//    (another process: instances, gateway, load generator, loop) runs its day;
// B. the dashboard with 7 days of 1-minute history: a store holding a week of the loop's series and
//    40,320 decisions (one per 15 s), served by `shadowscale run`; first paint (the four charts drawn with
//    the week's data) in Debian's chromium through playwright-core (target <= 1 s), and the decisions page
//    and 7-day timeline latencies on that store.
// Screenshots of both go to docs/images/. Writes bench/results/api.md.
// Usage: npm run bench:api -- [--requests N] [--loads N] [--out FILE]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { fetch } from 'undici';
import { Store } from '../dist/src/metrics/store.js';
import { args, freePort, machine, requireTools, table } from './lib.mjs';

requireTools('bench:api', ['chromium']);
const a = args();
const requests = Number(a.requests ?? 2000);
const loads = Number(a.loads ?? 7);
const out = a.out ?? 'bench/results/api.md';
const bin = join(dirname(new URL(import.meta.url).pathname), '..', 'bin', 'shadowscale');

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** `n` sequential GETs of `path`; latencies in ms (first 50 are warm-up, not counted). */
async function measure(base, path, n) {
  const lat = [];
  let bytes = 0;
  for (let i = 0; i < n + 50; i++) {
    const t = performance.now();
    const res = await fetch(`${base}${path}`);
    const body = await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${Buffer.from(body).toString()}`);
    if (i >= 50) {
      lat.push(performance.now() - t);
      bytes = body.byteLength;
    }
  }
  lat.sort((x, y) => x - y);
  return { n, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: lat[lat.length - 1], bytes };
}

async function waitHealthy(base, child, ms = 60_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      // not yet
    }
    await sleep(200);
  }
  throw new Error(`${base} not healthy in time`);
}

const f = (x, d = 1) => (x === undefined || x === null ? '-' : Number(x).toFixed(d));
const rowsA = [];
const rowsB = [];
const paints = [];
let demoDecisions;
let measuredFrom;
let measuredTo;
const DAY = 240;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
mkdirSync('docs/images', { recursive: true });

// A. Under a running demo.
{
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const demo = spawn(process.execPath, [bin, 'demo', '--strategy', 'hybrid', '--duration', String(DAY), '--api', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  demo.stderr.on('data', (d) => (log += d.toString()));
  // Seconds into the demo's day, from its status lines ("[hybrid      t/DAYs]").
  const dayTime = () => Number([...log.matchAll(new RegExp(`(\\d+)/${DAY}s\\]`, 'g'))].pop()?.[1] ?? -1);
  try {
    await waitHealthy(base, demo, 120_000);
    // Into the day, once a full page of decisions is in the store: the loop deciding every second, the load generator running.
    const started = Date.now();
    for (;;) {
      const ds = await (await fetch(`${base}/api/v1/services/web/decisions?limit=100`)).json();
      demoDecisions = ds.decisions.length;
      if ((demoDecisions >= 100 && dayTime() >= 0) || Date.now() - started > 300_000) break;
      await sleep(1000);
    }
    measuredFrom = dayTime();
    for (const [what, path] of [
      ['decisions, page of 100', '/api/v1/services/web/decisions?limit=100'],
      ['service view', '/api/v1/services/web'],
      ['timeline, last 15 min (raw)', `/api/v1/services/web/timeline?since=${Date.now() - 900_000}`],
    ]) {
      const m = await measure(base, path, requests);
      rowsA.push([what, String(m.n), f(m.p50, 2), f(m.p99, 2), f(m.max, 2), String(m.bytes)]);
      console.error(`A ${what}: p99 ${f(m.p99, 2)} ms`);
    }
    measuredTo = dayTime();
    // The screenshot after the ramp (at 40 % of the day), three quarters into the day.
    while (dayTime() < 0.75 * DAY && demo.exitCode === null) await sleep(1000);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${base}/?window=900`);
    await page.waitForFunction('document.querySelectorAll(".uplot canvas").length === 4 && document.body.dataset.updated', undefined, { timeout: 20_000 });
    await sleep(2500);
    await page.screenshot({ path: 'docs/images/dashboard-demo.png', fullPage: true });
    await page.close();
  } finally {
    demo.kill('SIGINT');
    await new Promise((r) => demo.once('exit', r));
  }
}

// B. A week of 1-minute history.
{
  const dir = mkdtempSync(join(tmpdir(), 'shadowscale-bench-api-'));
  const storePath = join(dir, 'week.db');
  const now = Date.now();
  const week = 7 * 86_400_000;
  const store = Store.open({ path: storePath, retention: { rawSeconds: 6 * 3600, minuteSeconds: 14 * 86400, hourSeconds: 400 * 86400 } });
  // The loop's series, one point per minute (the minute rollups a week of ticks leaves), a daily shape.
  const t0 = Date.now();
  const batch = [];
  for (let ts = now - week; ts < now; ts += 60_000) {
    const day = ((ts / 86_400_000) % 1) * 2 * Math.PI;
    const rps = 150 + 120 * Math.sin(day - 1.5) + 15 * Math.sin(ts / 600_000);
    const inst = Math.max(2, Math.ceil(rps / 60));
    const point = (pool, metric, value) => batch.push({ ts, service: 'web', pool, metric, value });
    point('live', 'rps', rps);
    point('live', 'forecast_mean', rps * 0.97);
    point('live', 'forecast_lower', rps * 0.8);
    point('live', 'forecast_upper', rps * 1.18);
    point('live', 'instances', inst);
    point('live', 'ready', inst);
    point('live', 'desired', inst);
    point('live', 'p99_ms', 60 + rps / 10);
    point('live', 'error_rate', 0);
    point('shadow', 'instances', Math.max(1, Math.ceil(inst / 4)));
    point('shadow', 'rps', rps * 0.1);
    point('shadow', 'p99_ms', 62 + rps / 10);
  }
  for (let i = 0; i < batch.length; i += 20_000) store.addSamples(batch.slice(i, i + 20_000));
  const reasons = ['slo_forecast', 'forecast_steady', 'within_tolerance', 'scale_in_stabilization', 'proven_count', 'utilization_above_target'];
  let current = 3;
  let n = 0;
  for (let ts = now - week; ts < now; ts += 15_000) {
    const desired = Math.max(2, current + ((n * 7919) % 5) - 2);
    const decision = { strategy: 'hybrid', at: ts / 1000, current, desired, reason: reasons[n % reasons.length], driver: 'predictive', numbers: { demandRps: 120.5, forecastUpper: 160.2, risk: 0.0012, utilization: 0.61, perInstanceRps: 60, leadSeconds: 120, quantile: 0.9, budgetLeft: 0.7 } };
    store.addDecision('web', decision, desired, null);
    current = desired;
    n++;
  }
  store.close();
  console.error(`B: store with ${batch.length} samples and ${n} decisions written in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const cfg = join(dir, 'week.yaml');
  writeFileSync(cfg, `services:\n  - name: web\n    pool: { min: 1, max: 8 }\n    scaling: { strategy: reactive, proof: off }\ninstanceTypes:\n  standard: { slots: 4, serviceTimeMs: 25, provisioningSeconds: 0.2, warmupSeconds: 0 }\ngateway: { listen: 127.0.0.1:0 }\nstore: { path: ${storePath} }\ncontrol: { tickSeconds: 1 }\n`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const run = spawn(process.execPath, [bin, 'run', '--config', cfg, '--api', `127.0.0.1:${port}`, '--stop-instances'], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitHealthy(base, run);
    await sleep(3000);
    const since = now - week;
    for (const [what, path] of [
      ['decisions, page of 100 (40,320 in the store)', '/api/v1/services/web/decisions?limit=100'],
      ['decisions, page of 100, filtered by reason', '/api/v1/services/web/decisions?limit=100&reason=proven_count'],
      ['timeline, 7 days at 1 min', `/api/v1/services/web/timeline?since=${since}`],
      ['cost, 7 days', `/api/v1/services/web/cost?since=${since}`],
    ]) {
      const m = await measure(base, path, what.startsWith('timeline') || what.startsWith('cost') ? Math.min(200, requests) : requests);
      rowsB.push([what, String(m.n), f(m.p50, 2), f(m.p99, 2), f(m.max, 2), String(m.bytes)]);
      console.error(`B ${what}: p99 ${f(m.p99, 2)} ms`);
    }
    for (let i = 0; i < loads; i++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const t = Date.now();
      await page.goto(`${base}/?window=604800`);
      await page.waitForFunction('document.querySelectorAll(".uplot canvas").length === 4 && document.body.dataset.updated', undefined, { timeout: 20_000 });
      paints.push(Date.now() - t);
      if (i === loads - 1) await page.screenshot({ path: 'docs/images/dashboard-week.png', fullPage: true });
      await page.close();
    }
    console.error(`B first paint: ${paints.join(', ')} ms`);
  } finally {
    run.kill('SIGTERM');
    await new Promise((r) => run.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}
await browser.close();

const paintSorted = [...paints].sort((x, y) => x - y);
const decisionsP99 = Number(rowsA[0][3]);
const paintMedian = quantile(paintSorted, 0.5);
const head = ['request', 'requests', 'p50 ms', 'p99 ms', 'max ms', 'bytes'];
const md = `# bench:api — the API and the dashboard

Command: \`npm run bench:api -- --requests ${requests} --loads ${loads}\` (bench/api.mjs)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}

Requests are sequential GETs from the benchmark's process over loopback (50 warm-up requests first, not counted);
the server is another process, as an operator's tools would be. Everything shares this 2-core machine.

## A. Under a running demo

\`shadowscale demo --strategy hybrid --duration ${DAY} --api 127.0.0.1:PORT\` runs its day (sample-service instances,
gateway, load generator, control loop deciding every second) while the API is queried, from ${measuredFrom} s to ${measuredTo} s
into the day (the ramp is at ${0.4 * DAY} s), once the store holds a full page of decisions (${demoDecisions} on the page).

${table(head, rowsA)}

## B. A week of 1-minute history

A store with 7 days of the loop's series at one point per minute (12 series, ${(7 * 1440 * 12).toLocaleString('en')} samples)
and 40,320 decisions (one per 15 s), served by \`shadowscale run\`. First paint: from \`page.goto\` until the four charts
are drawn with the week's data (\`?window=604800\`), in Debian's chromium (headless) through playwright-core, a fresh page each load.

${table(head, rowsB)}

First paint, ${loads} loads: ${paints.map((x) => `${x} ms`).join(', ')} (median ${paintMedian} ms).

## Targets

| target | measured | met |
| --- | --- | --- |
| API: p99 <= 20 ms for a decisions page of 100 under a running demo | ${f(decisionsP99, 2)} ms (page of ${demoDecisions}); ${rowsB[0][3]} ms for a page of 100 on the week's store | ${decisionsP99 <= 20 && Number(rowsB[0][3]) <= 20 ? 'yes' : 'no'} |
| dashboard: first paint <= 1 s with 7 days of 1-minute history | median ${paintMedian} ms, worst ${paintSorted[paintSorted.length - 1]} ms | ${paintMedian <= 1000 ? 'yes (median)' : 'no'} |

Screenshots: [during the demo](../../docs/images/dashboard-demo.png), [a week of history](../../docs/images/dashboard-week.png).
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, md);
console.error(`wrote ${out}`);
