// bench:gateway — the gateway's overhead and isolation, side by side in one run on the same upstream
// and cores: direct to the upstream; the shadowscale gateway with 10 % mirroring; nginx with its
// `mirror` directive (10 % through split_clients). Max throughput by wrk at saturation (median of
// interleaved rounds); p50/p99 at 50 % of nginx's max and at 50 % of each proxy's own max, by wrk paced
// to a schedule (Debian has no wrk2); then both proxies with a shadow that answers after 3 s. Needs wrk and nginx (Debian packages). Writes bench/results/gateway.md.
// Usage: npm run bench:gateway -- [--seconds S] [--connections C] [--rounds N] [--out FILE]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { args, freePort, machine, requireTools, table } from './lib.mjs';

const a = args();
const seconds = Number(a.seconds ?? 10);
const connections = Number(a.connections ?? 64);
const rounds = Number(a.rounds ?? 3);
const out = a.out ?? 'bench/results/gateway.md';
requireTools('bench:gateway', ['wrk', 'nginx']);

const [UP, SHADOW, NGX, NGX_SLOW, SLOW] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);

// The slow shadow: answers after 3 s, in its own process (this one blocks while wrk runs).
const slow = spawn(process.execPath, ['-e', `require('node:http').createServer((q, r) => { q.resume(); setTimeout(() => r.end('slow\\n'), 3000); }).listen(${SLOW}, '127.0.0.1', () => console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve) => slow.stdout.once('data', resolve));

const dir = mkdtempSync(join(tmpdir(), 'shadowscale-bench-nginx-'));
const mirrorServer = (port, shadowPort) => `
  server {
    listen 127.0.0.1:${port};
    location / {
      mirror /__mirror;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://live;
    }
    location = /__mirror {
      internal;
      if ($mirror_on = "") { return 204; }
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 1s;
      proxy_read_timeout 5s;
      proxy_pass http://127.0.0.1:${shadowPort}$request_uri;
    }
  }`;
writeFileSync(
  join(dir, 'nginx.conf'),
  `worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log crit;
events { worker_connections 4096; }
http {
  access_log off;
  upstream live { server 127.0.0.1:${UP}; keepalive 128; }
  split_clients "\${request_id}" $mirror_on { 10% "1"; * ""; }
  server { listen 127.0.0.1:${UP}; location / { return 200 "ok\\n"; } }
  server { listen 127.0.0.1:${SHADOW}; location / { return 200 "shadow\\n"; } }
  ${mirrorServer(NGX, SHADOW)}
  ${mirrorServer(NGX_SLOW, SLOW)}
}
`,
);
execFileSync('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')]);

const gateway = async (shadowPort, workers) => {
  const child = spawn(process.execPath, ['bin/shadowscale', 'gateway', '--listen', '127.0.0.1:0', '--live', `http://127.0.0.1:${UP}`, '--shadow', `http://127.0.0.1:${shadowPort}`, '--sample', '0.1', '--workers', String(workers), '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve(buf.split('\n')[0]);
    });
  });
  return { child, url: JSON.parse(line).listen };
};
const gateways = { 'shadowscale-1w': await gateway(SHADOW, 1), 'shadowscale-2w': await gateway(SHADOW, 2) };
const slowGateways = { 'shadowscale-1w': await gateway(SLOW, 1), 'shadowscale-2w': await gateway(SLOW, 2) };

const targets = {
  direct: `http://127.0.0.1:${UP}`,
  'shadowscale-1w': gateways['shadowscale-1w'].url,
  'shadowscale-2w': gateways['shadowscale-2w'].url,
  nginx: `http://127.0.0.1:${NGX}`,
};
const proxies = ['shadowscale-1w', 'shadowscale-2w', 'nginx'];
const slowTargets = { 'shadowscale-1w': slowGateways['shadowscale-1w'].url, 'shadowscale-2w': slowGateways['shadowscale-2w'].url, nginx: `http://127.0.0.1:${NGX_SLOW}` };

function wrk(url) {
  const text = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', `${url}/`], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const ms = (label) => {
    const m = new RegExp(`\\s${label}%\\s+([\\d.]+)(us|ms|s)`).exec(text);
    if (!m) return Number.NaN;
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  return { rps, p50: ms('50'), p99: ms('99') };
}

// Fixed rate with Debian's wrk (no wrk2): one schedule for all connections, kept by the Lua delay()
// hook with a monotonic clock read through LuaJIT's FFI. Each request takes the next slot, 1/rate after
// the previous one; a slot already past goes at once (catching up), so the achieved rate is the target
// while a connection is free. wrk times a request from its write, so lateness while every connection
// is busy is not counted (at 50 % load they rarely are).
writeFileSync(
  join(dir, 'rate.lua'),
  `local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")
local gap, slot
function init(args) gap = 1000 / tonumber(args[1]) end
function delay()
  ffi.C.clock_gettime(1, ts)
  local t = tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  slot = (slot or t) + gap
  if slot < t then return 0 end
  return slot - t
end
`,
);
const fixedRate = async (url, rate) => {
  const text = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', join(dir, 'rate.lua'), `${url}/`, '--', String(rate)], { encoding: 'utf8' });
  const ms = (label) => {
    const m = new RegExp(`\\s${label}%\\s+([\\d.]+)(us|ms|s)`).exec(text);
    return m ? Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1) : Number.NaN;
  };
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0) + Number(/Socket errors:.*?timeout (\d+)/.exec(text)?.[1] ?? 0);
  return { achieved: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]), errors, latencyMs: { p50: ms('50'), p99: ms('99'), p999: Number.NaN } };
};

try {
  // 1. Saturation: a discarded warm-up run each (connections, JIT), then `rounds` rounds over all targets
  //    in turn; the median of each target's runs is its max (the machine is shared and noisy).
  const runs = Object.fromEntries(Object.keys(targets).map((n) => [n, []]));
  for (const url of Object.values(targets)) wrk(url);
  for (let round = 0; round < rounds; round++) {
    for (const [name, url] of Object.entries(targets)) {
      runs[name].push(wrk(url));
      console.error(`${name}: ${runs[name].at(-1).rps.toFixed(0)} req/s at saturation (round ${round + 1})`);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a.rps - b.rps)[Math.floor(xs.length / 2)];
  const max = Object.fromEntries(Object.entries(runs).map(([n, xs]) => [n, median(xs)]));
  // 2. Fixed rate: half of nginx's max for every target; then half of each proxy's own max, with direct
  //    at the same rate just before it.
  const rate = Math.round(max.nginx.rps / 2);
  const fixed = {};
  for (const [name, url] of Object.entries(targets)) {
    fixed[name] = await fixedRate(url, rate);
    console.error(`${name}: p50 ${fixed[name].latencyMs.p50.toFixed(3)} ms, p99 ${fixed[name].latencyMs.p99.toFixed(3)} ms at ${rate} req/s`);
  }
  const own = {};
  for (const n of proxies) {
    const r = Math.round(max[n].rps / 2);
    own[n] = { rate: r, direct: await fixedRate(targets.direct, r), proxy: await fixedRate(targets[n], r) };
    console.error(`${n}: p99 ${own[n].proxy.latencyMs.p99.toFixed(3)} ms at ${r} req/s (direct ${own[n].direct.latencyMs.p99.toFixed(3)} ms)`);
  }
  // 3. A shadow that answers after 3 s, at 50 % of each proxy's own max (a rate the proxy can carry: beyond
  //    it, overload noise would swamp the comparison). Healthy-shadow and slow-shadow runs alternate
  //    `rounds` times per proxy (the machine is noisy: each ratio compares neighbouring runs); the verdict is
  //    the median slow p99 over the median healthy p99. The slow-shadow proxies get the same discarded
  //    warm-up run as the others (a cold process's JIT warm-up would otherwise be charged to the slow shadow).
  for (const n of proxies) wrk(slowTargets[n]);
  const pairs = {};
  for (const n of proxies) {
    pairs[n] = [];
    for (let rep = 0; rep < rounds; rep++) {
      const healthy = await fixedRate(targets[n], own[n].rate);
      const slowRun = await fixedRate(slowTargets[n], own[n].rate);
      pairs[n].push({ healthy, slow: slowRun });
      console.error(`${n}: p99 ${healthy.latencyMs.p99.toFixed(3)} ms healthy, ${slowRun.latencyMs.p99.toFixed(3)} ms with the 3 s shadow at ${own[n].rate} req/s`);
    }
  }
  const medianOf = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const verdict = Object.fromEntries(proxies.map((n) => [n, medianOf(pairs[n].map((x) => x.slow.latencyMs.p99)) / medianOf(pairs[n].map((x) => x.healthy.latencyMs.p99))]));

  const r3 = (x) => x.toFixed(3);
  const md = `# bench:gateway — proxy overhead and shadow isolation

Command: \`npm run bench:gateway\` (bench/gateway.mjs; needs \`apt-get install -y wrk nginx\`)
Machine: ${machine()}, nginx ${/nginx\/[\d.]+/.exec(execFileSync('nginx', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).toString() + execFileSync('sh', ['-c', 'nginx -v 2>&1'], { encoding: 'utf8' }))?.[0] ?? ''}, wrk ${execFileSync('sh', ['-c', 'wrk --version 2>&1 | head -1'], { encoding: 'utf8' }).trim().split(' ')[1] ?? ''}
Date: ${new Date().toISOString().slice(0, 10)}

Upstream: nginx \`return 200\` (keep-alive). Shadow: nginx \`return 200\`, or a Node server answering after 3 s.
shadowscale: \`shadowscale gateway --sample 0.1 --workers 1|2\` (scrubbed mode; 2w = two node:cluster workers). nginx: \`worker_processes auto\`
(${execFileSync('nproc', { encoding: 'utf8' }).trim()} workers), \`mirror\` to the shadow for 10 % of requests (split_clients on $request_id).
Everything, wrk included, shares the same ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores.

## Saturation (wrk -t1 -c${connections} -d${seconds}s; a discarded warm-up run each, then ${rounds} rounds over all targets in turn)

${table(['target', 'req/s (median)', 'runs', 'p50 ms', 'p99 ms', 'req/s vs nginx'], Object.keys(targets).map((n) => [n, max[n].rps.toFixed(0), runs[n].map((x) => x.rps.toFixed(0)).join(', '), r3(max[n].p50), r3(max[n].p99), (max[n].rps / max.nginx.rps).toFixed(2)]))}

## At ${rate} req/s (50 % of nginx's max), ${seconds} s

${table(['target', 'achieved req/s', 'p50 ms', 'p99 ms', 'errors', 'added p99 over direct'], Object.keys(targets).map((n) => [n, fixed[n].achieved.toFixed(0), r3(fixed[n].latencyMs.p50), r3(fixed[n].latencyMs.p99), String(fixed[n].errors), n === 'direct' ? '-' : `${r3(fixed[n].latencyMs.p99 - fixed.direct.latencyMs.p99)} ms`]))}

## At 50 % of each proxy's own max, ${seconds} s, direct at the same rate just before

${table(['proxy', 'rate req/s', 'direct: p99 ms', 'proxy: achieved req/s', 'proxy: p50 ms', 'proxy: p99 ms', 'errors', 'added p99 over direct'], proxies.map((n) => [n, String(own[n].rate), r3(own[n].direct.latencyMs.p99), own[n].proxy.achieved.toFixed(0), r3(own[n].proxy.latencyMs.p50), r3(own[n].proxy.latencyMs.p99), String(own[n].proxy.errors), `${r3(own[n].proxy.latencyMs.p99 - own[n].direct.latencyMs.p99)} ms`]))}

Debian has no wrk2. Rates are kept by one schedule for all connections in wrk's Lua delay() hook (a
monotonic clock through LuaJIT's FFI): a late slot is sent at once, so the achieved rate holds while a
connection is free. wrk times each request from its write, so waiting for a free connection is not
counted: the figures understate latency for a target that falls behind (see "achieved").

## Shadow answering after 3 s, at 50 % of each proxy's own max

Healthy-shadow and slow-shadow runs alternate, ${rounds} times per proxy; each run's ratio compares it with
the healthy run just before it, and the verdict is the median slow p99 over the median healthy p99.

${table(['proxy', 'rate req/s', 'run', 'healthy: req/s', 'healthy: p99 ms', '3 s shadow: req/s', '3 s shadow: p50 ms', '3 s shadow: p99 ms', 'errors', 'p99 vs healthy'], proxies.flatMap((n) => pairs[n].map((x, i) => [n, String(own[n].rate), String(i + 1), x.healthy.achieved.toFixed(0), r3(x.healthy.latencyMs.p99), x.slow.achieved.toFixed(0), r3(x.slow.latencyMs.p50), r3(x.slow.latencyMs.p99), String(x.slow.errors), `${(x.slow.latencyMs.p99 / x.healthy.latencyMs.p99).toFixed(2)}x`])))}

${table(['proxy', 'median p99 with the 3 s shadow / median healthy p99', 'requests answered with the 3 s shadow vs healthy'], proxies.map((n) => [n, `${verdict[n].toFixed(2)}x`, `${(pairs[n].reduce((t, x) => t + x.slow.achieved, 0) / pairs[n].reduce((t, x) => t + x.healthy.achieved, 0)).toFixed(2)}x`]))}

Targets: added p99 at 50 % load <= 1 ms over direct; max throughput >= 0.5x nginx's; with a 3 s shadow, live p99
within 10 % of the healthy-shadow figure.
`;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, md);
  console.log(md);
} finally {
  for (const g of [...Object.values(gateways), ...Object.values(slowGateways)]) g.child.kill('SIGTERM');
  try {
    execFileSync('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-s', 'stop']);
  } catch {
    // already stopped
  }
  slow.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
