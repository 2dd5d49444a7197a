// bench:gateway — the gateway's overhead and isolation, side by side in one run on the same upstream
// and cores: direct to the upstream; the shadowscale gateway with 10 % mirroring; nginx with its
// `mirror` directive (10 % through split_clients). Max throughput by wrk at saturation; p50/p99 at
// 50 % of nginx's max by wrk paced per connection (Debian has no wrk2); then both proxies with a shadow
// that answers after 3 s. Needs wrk and nginx (Debian packages). Writes bench/results/gateway.md.
// Usage: npm run bench:gateway -- [--seconds S] [--connections C] [--out FILE]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { args, machine, table } from './lib.mjs';

const a = args();
const seconds = Number(a.seconds ?? 10);
const connections = Number(a.connections ?? 64);
const out = a.out ?? 'bench/results/gateway.md';
for (const tool of ['wrk', 'nginx']) {
  try {
    execFileSync('which', [tool]);
  } catch {
    console.error(`bench:gateway needs ${tool} (apt-get install -y wrk nginx)`);
    process.exit(2);
  }
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
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

// Fixed rate with Debian's wrk (no wrk2): a Lua delay() paces each of the connections to rate/connections
// requests per second. Per connection this is still a closed loop (a stalled response delays that
// connection's next request), so unlike wrk2 it does not fully avoid coordinated omission.
writeFileSync(join(dir, 'rate.lua'), 'local gap\nfunction init(args) gap = 1000 / tonumber(args[1]) end\nfunction delay() return gap end\n');
const fixedRate = async (url, rate) => {
  const text = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', join(dir, 'rate.lua'), `${url}/`, '--', String(rate / connections)], { encoding: 'utf8' });
  const ms = (label) => {
    const m = new RegExp(`\\s${label}%\\s+([\\d.]+)(us|ms|s)`).exec(text);
    return m ? Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1) : Number.NaN;
  };
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0) + Number(/Socket errors:.*?timeout (\d+)/.exec(text)?.[1] ?? 0);
  return { achieved: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]), errors, latencyMs: { p50: ms('50'), p99: ms('99'), p999: Number.NaN } };
};

try {
  // 1. Saturation.
  const max = {};
  for (const [name, url] of Object.entries(targets)) {
    wrk(url); // warm-up run, discarded (connections, JIT)
    max[name] = wrk(url);
    console.error(`${name}: ${max[name].rps.toFixed(0)} req/s at saturation`);
  }
  // 2. Fixed rate: half of nginx's max, open loop.
  const rate = Math.round(max.nginx.rps / 2);
  const fixed = {};
  for (const [name, url] of Object.entries(targets)) {
    fixed[name] = await fixedRate(url, rate);
    console.error(`${name}: p50 ${fixed[name].latencyMs.p50.toFixed(3)} ms, p99 ${fixed[name].latencyMs.p99.toFixed(3)} ms at ${rate} req/s`);
  }
  // 3. The same fixed rate with a shadow that answers after 3 s, alternating healthy and slow shadow
  //    runs twice per proxy (the machine is noisy: each ratio compares neighbouring runs).
  //    The slow-shadow proxies get the same discarded warm-up run as the others (a cold process's JIT
  //    warm-up would otherwise be charged to the slow shadow).
  for (const n of proxies) wrk(slowTargets[n]);
  const pairs = {};
  for (const n of proxies) {
    pairs[n] = [];
    for (let rep = 0; rep < 2; rep++) {
      const healthy = await fixedRate(targets[n], rate);
      const slowRun = await fixedRate(slowTargets[n], rate);
      pairs[n].push({ healthy, slow: slowRun });
      console.error(`${n}: p99 ${healthy.latencyMs.p99.toFixed(3)} ms healthy, ${slowRun.latencyMs.p99.toFixed(3)} ms with the 3 s shadow`);
    }
  }

  const r3 = (x) => x.toFixed(3);
  const md = `# bench:gateway — proxy overhead and shadow isolation

Command: \`npm run bench:gateway\` (bench/gateway.mjs; needs \`apt-get install -y wrk nginx\`)
Machine: ${machine()}, nginx ${/nginx\/[\d.]+/.exec(execFileSync('nginx', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).toString() + execFileSync('sh', ['-c', 'nginx -v 2>&1'], { encoding: 'utf8' }))?.[0] ?? ''}, wrk ${execFileSync('sh', ['-c', 'wrk --version 2>&1 | head -1'], { encoding: 'utf8' }).trim().split(' ')[1] ?? ''}
Date: ${new Date().toISOString().slice(0, 10)}

Upstream: nginx \`return 200\` (keep-alive). Shadow: nginx \`return 200\`, or a Node server answering after 3 s.
shadowscale: \`shadowscale gateway --sample 0.1 --workers 1|2\` (scrubbed mode; 2w = two node:cluster workers). nginx: \`worker_processes auto\`
(${execFileSync('nproc', { encoding: 'utf8' }).trim()} workers), \`mirror\` to the shadow for 10 % of requests (split_clients on $request_id).
Everything, wrk included, shares the same ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores.

## Saturation (wrk -t1 -c${connections} -d${seconds}s, after a discarded warm-up run)

${table(['target', 'req/s', 'p50 ms', 'p99 ms', 'req/s vs nginx'], Object.keys(targets).map((n) => [n, max[n].rps.toFixed(0), r3(max[n].p50), r3(max[n].p99), (max[n].rps / max.nginx.rps).toFixed(2)]))}

## At ${rate} req/s (50 % of nginx's max), ${seconds} s, wrk paced by a Lua delay() per connection

${table(['target', 'achieved req/s', 'p50 ms', 'p99 ms', 'errors', 'added p99 over direct'], Object.keys(targets).map((n) => [n, fixed[n].achieved.toFixed(0), r3(fixed[n].latencyMs.p50), r3(fixed[n].latencyMs.p99), String(fixed[n].errors), n === 'direct' ? '-' : `${r3(fixed[n].latencyMs.p99 - fixed.direct.latencyMs.p99)} ms`]))}

Debian has no wrk2: pacing each connection is a closed loop per connection, so a target that falls behind
sends fewer requests (see "achieved") instead of queueing them, and its latency understates what an
open-loop client would see.

## Shadow answering after 3 s, same rate

Healthy-shadow and slow-shadow runs alternate, twice per proxy; the ratio compares each slow run with the
healthy run just before it.

${table(['proxy', 'run', 'healthy: req/s', 'healthy: p99 ms', '3 s shadow: req/s', '3 s shadow: p50 ms', '3 s shadow: p99 ms', 'errors', 'p99 vs healthy'], proxies.flatMap((n) => pairs[n].map((x, i) => [n, String(i + 1), x.healthy.achieved.toFixed(0), r3(x.healthy.latencyMs.p99), x.slow.achieved.toFixed(0), r3(x.slow.latencyMs.p50), r3(x.slow.latencyMs.p99), String(x.slow.errors), `${(x.slow.latencyMs.p99 / x.healthy.latencyMs.p99).toFixed(2)}x`])))}

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
