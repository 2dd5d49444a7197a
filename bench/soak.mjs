// bench:soak — a long run of `shadowscale run` under changing load: does the control plane's memory, its
// handles, open files or event-loop lag grow while nothing else does?
//
// `shadowscale run` on the demo's configuration (web and store, sample-service instances, the shared shadow
// pool, proof required for web's scale-ins, a decision a second per service), with retention shortened so that
// pruning runs (raw samples and decisions kept 10 minutes), is driven by this process's load generator: a
// five-minute cycle between 20 and 120 requests/s, so the pools scale out and in every cycle. Every 10 s the
// run's own /metrics (prom-client's process and nodejs defaults) and the store's size are read, and once a
// second the time the run takes to answer /healthz (a stall shows there whatever prom-client reads). The load
// starts when the run is ready (/readyz), as a load balancer's would. The heap's
// trend is the least-squares slope over the second half (after the first cycles have filled every window).
// Writes bench/results/soak.md and a chart of the heap and resident memory over time.
// Usage: npm run bench:soak -- [--minutes N] [--out FILE]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fetch } from 'undici';
import { startLoad } from '../dist/src/gateway/loadgen.js';
import { args, machine, onInterrupt, table } from './lib.mjs';

const a = args();
const minutes = Number(a.minutes ?? 20);
const out = a.out ?? 'bench/results/soak.md';
if (!(minutes >= 2 && minutes <= 24 * 60)) throw new Error(`--minutes: expected a number of minutes from 2 to 1440, got ${a.minutes}`);
const root = join(dirname(new URL(import.meta.url).pathname), '..');
const bin = join(root, 'bin', 'shadowscale');
const SAMPLE_EVERY_MS = 10_000;
const CYCLE_S = 300;

const dir = mkdtempSync(join(tmpdir(), 'bench-soak-'));
const store = join(dir, 'soak.db');
const run = spawn(
  process.execPath,
  [bin, 'run', '--config', join(root, 'examples/demo/demo.yaml'), '--set', `store.path=${store}`, '--set', 'gateway.listen=127.0.0.1:0', '--set', 'store.retention.rawSeconds=600', '--set', 'store.retention.decisionsSeconds=600', '--api', '127.0.0.1:0', '--stop-instances', '--json'],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
let stderr = '';
run.stderr.on('data', (d) => {
  stderr = (stderr + d).slice(-20_000);
});
const exited = new Promise((r) => run.once('exit', (code, signal) => r({ code, signal })));
// Ctrl-C (or a kill) ended this process at once, past the `finally` below: the run stopped (the terminal's
// SIGINT reaches it too) but its store and logs stayed in the temporary directory.
onInterrupt(cleanUp);
try {
  const where = await new Promise((resolve, reject) => {
    let buf = '';
    run.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    exited.then(() => reject(new Error(`run exited before it served:\n${stderr}`)));
  });
  console.error(`run: gateway ${where.listen}, API ${where.api}`);
  // Load once the run is ready (/readyz: every service's live pool has a healthy member), as a load balancer
  // would send it: before that its gateway answers 503 no_healthy_upstream, and web 502 while store starts.
  const launched = performance.now();
  for (;;) {
    const ready = await fetch(`${where.api}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) break;
    if (run.exitCode !== null || run.signalCode !== null) throw new Error(`run exited before it was ready:\n${stderr}`);
    if (performance.now() - launched > 120_000) throw new Error('run was not ready (/readyz) within 120 s');
    await sleep(200);
  }
  const readyAfterS = (performance.now() - launched) / 1000;
  console.error(`ready after ${readyAfterS.toFixed(1)} s`);
  const rate = (t) => 20 + 100 * (0.5 - 0.5 * Math.cos((2 * Math.PI * t) / CYCLE_S));
  const load = startLoad({ url: where.listen, rate, durationSeconds: minutes * 60, seed: 1, timeoutMs: 10_000 });

  const pick = (text, name) => {
    const m = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm'));
    return m ? Number(m[1]) : Number.NaN;
  };
  const sumOf = (text, name, label) => [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} ([0-9.e+-]+)$`, 'gm'))].filter((m) => label(m[1])).reduce((s, m) => s + Number(m[2]), 0);
  // The run's answer time, once a second, independent of prom-client: a stalled event loop answers late.
  let healthzMaxMs = 0;
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const a = performance.now();
      try {
        await (await fetch(`${where.api}/healthz`)).text();
      } catch {
        // counted by its time: a refused or timed-out answer is as late as it was
      }
      healthzMaxMs = Math.max(healthzMaxMs, performance.now() - a);
      await sleep(1000);
    }
  })();
  const samples = [];
  const t0 = Date.now();
  let scrapedAt = t0;
  while (Date.now() - t0 < minutes * 60_000) {
    // On the next 10-s mark, but never within half a span of the last scrape: this process's own loop (the
    // load) may wake it late, just before a mark, and two scrapes a tick apart read an empty histogram too.
    const wait = SAMPLE_EVERY_MS - ((Date.now() - t0) % SAMPLE_EVERY_MS);
    await sleep(Date.now() + wait - scrapedAt < SAMPLE_EVERY_MS / 2 ? wait + SAMPLE_EVERY_MS : wait);
    const spanS = (Date.now() - scrapedAt) / 1000;
    scrapedAt = Date.now();
    const text = await (await fetch(`${where.api}/metrics`)).text();
    const walBytes = (() => {
      try {
        return statSync(`${store}-wal`).size;
      } catch {
        return 0;
      }
    })();
    samples.push({
      s: Math.round((Date.now() - t0) / 1000),
      rssMb: pick(text, 'process_resident_memory_bytes') / 2 ** 20,
      heapMb: pick(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
      // Typed arrays, Buffers and wasm memory: outside the heap, inside the resident memory.
      externalMb: pick(text, 'nodejs_external_memory_bytes') / 2 ** 20,
      handles: sumOf(text, 'nodejs_active_handles', () => true),
      fds: pick(text, 'process_open_fds'),
      // prom-client resets Node's delay histogram at every collect. Empty (its min above its max), the p99
      // reads 0: the loop took no sample between two scrapes, which a stall from one to the next does (two
      // scrapes a tick apart would too; the schedule above keeps them at least half a span apart).
      lagP99Ms: pick(text, 'nodejs_eventloop_lag_min_seconds') > pick(text, 'nodejs_eventloop_lag_max_seconds') ? Number.NaN : pick(text, 'nodejs_eventloop_lag_p99_seconds') * 1000,
      healthzMs: healthzMaxMs,
      spanS,
      live: sumOf(text, 'shadowscale_instances', (l) => /pool="live"/.test(l) && /state="ready"/.test(l)),
      storeMb: (statSync(store).size + walBytes) / 2 ** 20,
    });
    healthzMaxMs = 0;
    const last = samples[samples.length - 1];
    console.error(`${last.s} s: rss ${last.rssMb.toFixed(1)} MB, heap ${last.heapMb.toFixed(1)} MB, external ${last.externalMb.toFixed(1)} MB, handles ${last.handles}, fds ${last.fds}, lag p99 ${Number.isNaN(last.lagP99Ms) ? 'no sample' : `${last.lagP99Ms.toFixed(1)} ms`}, /healthz ${last.healthzMs.toFixed(0)} ms, live ready ${last.live}, store ${last.storeMb.toFixed(1)} MB`);
  }
  probing = false;
  await prober;
  const seconds = await load.done;
  const sent = seconds.reduce((s, x) => s + x.requests, 0);
  const failed = seconds.reduce((s, x) => s + x.errors, 0);
  const failedIn = (first) => seconds.filter((x) => x.second < (minutes * 60) / 2 === first).reduce((s, x) => s + x.errors, 0);
  run.kill('SIGINT');
  const end = await Promise.race([exited, sleep(60_000).then(() => ({ code: 'timeout' }))]);
  const leftover = countLeftovers(store);

  // The trend over the second half: least squares of the value on time, per hour.
  const half = samples.filter((x) => x.s >= (minutes * 60) / 2);
  const slope = (key) => {
    const n = half.length;
    const mx = half.reduce((s, x) => s + x.s, 0) / n;
    const my = half.reduce((s, x) => s + x[key], 0) / n;
    const sxy = half.reduce((s, x) => s + (x.s - mx) * (x[key] - my), 0);
    const sxx = half.reduce((s, x) => s + (x.s - mx) ** 2, 0);
    return (sxy / sxx) * 3600;
  };
  const range = (key, xs = samples) => {
    const v = xs.map((x) => x[key]).filter((x) => !Number.isNaN(x));
    return v.length ? `${Math.min(...v).toFixed(1)}-${Math.max(...v).toFixed(1)}` : 'none';
  };
  const empty = (xs) => xs.filter((x) => Number.isNaN(x.lagP99Ms)).length;
  const firstHalf = samples.filter((x) => x.s < (minutes * 60) / 2);
  const everyMinute = samples.filter((x) => x.s % 60 < SAMPLE_EVERY_MS / 1000 || x === samples[samples.length - 1]);
  const md = `# bench:soak — a long run of \`shadowscale run\`

Command: \`npm run bench:soak -- --minutes ${minutes}\` (bench/soak.mjs)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}

\`shadowscale run\` on examples/demo/demo.yaml (web and store, sample-service instances, the shared shadow pool,
proof required for web's scale-ins, a decision a second per service), with raw samples and decisions kept
10 minutes so that retention runs, for ${minutes} minutes under this process's load: a ${CYCLE_S / 60}-minute cycle between 20 and
120 requests/s, sent from when the run was ready (\`/readyz\`, ${readyAfterS.toFixed(1)} s after it started): ${sent.toLocaleString('en-US')} requests, ${failed.toLocaleString('en-US')} failed or timed out. Every 10 s the run's \`/metrics\` (prom-client's
process and nodejs defaults) and the store's size (with its WAL) were read, and once a second its \`/healthz\` timed. The run then stopped on SIGINT with
\`--stop-instances\`: exit ${end.code ?? end.signal}, ${leftover} sample-service process(es) left.

| what | first half | second half | trend over the second half |
| --- | --- | --- | --- |
| requests failed or timed out | ${failedIn(true)} | ${failedIn(false)} | |
| resident memory (MB) | ${range('rssMb', firstHalf)} | ${range('rssMb', half)} | ${slope('rssMb').toFixed(1)} MB/h |
| heap used (MB) | ${range('heapMb', firstHalf)} | ${range('heapMb', half)} | ${slope('heapMb').toFixed(1)} MB/h |
| external memory: typed arrays, Buffers, wasm (MB) | ${range('externalMb', firstHalf)} | ${range('externalMb', half)} | ${slope('externalMb').toFixed(1)} MB/h |
| active handles | ${range('handles', firstHalf)} | ${range('handles', half)} | ${slope('handles').toFixed(1)} /h |
| open file descriptors | ${range('fds', firstHalf)} | ${range('fds', half)} | ${slope('fds').toFixed(1)} /h |
| event-loop lag p99 (ms; Node's samples include their 10 ms interval) | ${range('lagP99Ms', firstHalf)} | ${range('lagP99Ms', half)} | |
| 10-s spans in which the loop took no lag sample (stalled from one scrape to the next) | ${empty(firstHalf)} | ${empty(half)} | |
| time between two scrapes (s) | ${range('spanS', firstHalf)} | ${range('spanS', half)} | |
| longest \`/healthz\` answer in a 10-s span (ms; asked once a second) | ${range('healthzMs', firstHalf)} | ${range('healthzMs', half)} | |
| store with its WAL (MB) | ${range('storeMb', firstHalf)} | ${range('storeMb', half)} | ${slope('storeMb').toFixed(1)} MB/h |
| web's live instances ready | ${range('live', firstHalf)} | ${range('live', half)} | |

![heap and resident memory over the run](soak.svg)

<details><summary>Every minute</summary>

${table(['s', 'RSS MB', 'heap MB', 'external MB', 'handles', 'fds', 'lag p99 ms', '/healthz max ms', 'live ready', 'store MB'], everyMinute.map((x) => [x.s, x.rssMb.toFixed(1), x.heapMb.toFixed(1), x.externalMb.toFixed(1), x.handles, x.fds, Number.isNaN(x.lagP99Ms) ? 'no sample' : x.lagP99Ms.toFixed(1), x.healthzMs.toFixed(0), x.live, x.storeMb.toFixed(1)]))}

</details>
`;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, md);
  writeFileSync(join(dirname(out), 'soak.svg'), chart(samples));
  console.log(md);
} finally {
  await cleanUp();
}

/**
 * The run stopped as an operator would (SIGINT, with --stop-instances), so that its instances go with it;
 * killed only if it does not stop, before its store and logs are removed.
 */
async function cleanUp() {
  if (run.exitCode === null && run.signalCode === null) {
    run.kill('SIGINT');
    await Promise.race([exited, sleep(60_000)]);
    if (run.exitCode === null && run.signalCode === null) run.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Sample-service processes still running for this store (its path is in their environment). */
function countLeftovers(storePath) {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').includes(storePath)) n++;
    } catch {
      // gone, or not ours to read
    }
  }
  return n;
}

/** Resident memory, heap used and external memory (MB) against minutes: three lines on one SVG. */
function chart(xs) {
  const W = 720;
  const H = 300;
  const L = 50;
  const B = 30;
  const maxX = Math.max(...xs.map((x) => x.s));
  const maxY = Math.ceil(Math.max(...xs.map((x) => x.rssMb)) / 50) * 50;
  const px = (s) => L + ((W - L - 10) * s) / maxX;
  const py = (v) => H - B - ((H - B - 10) * v) / maxY;
  const line = (key, colour) => `<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${xs.map((x) => `${px(x.s).toFixed(1)},${py(x[key]).toFixed(1)}`).join(' ')}"/>`;
  const ticksY = [0, maxY / 2, maxY].map((v) => `<text x="${L - 6}" y="${py(v) + 4}" text-anchor="end" font-size="11">${v}</text><line x1="${L}" x2="${W - 10}" y1="${py(v)}" y2="${py(v)}" stroke="#ddd"/>`).join('');
  const minutesTicks = Array.from({ length: Math.floor(maxX / 60 / 5) + 1 }, (_, i) => i * 5).map((m) => `<text x="${px(m * 60)}" y="${H - 10}" text-anchor="middle" font-size="11">${m}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>${ticksY}${minutesTicks}
${line('rssMb', '#1f77b4')}${line('heapMb', '#d62728')}${line('externalMb', '#2ca02c')}
<text x="${L + 8}" y="20" font-size="12" fill="#1f77b4">resident memory (MB)</text><text x="${L + 160}" y="20" font-size="12" fill="#d62728">heap used (MB)</text><text x="${L + 270}" y="20" font-size="12" fill="#2ca02c">external (MB)</text>
<text x="${W / 2}" y="${H}" text-anchor="middle" font-size="11">minutes into the run</text>
</svg>
`;
}
