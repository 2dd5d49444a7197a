// bench:gateway-alloc — bytes the gateway allocates per proxied request, by function: V8's sampling heap
// profiler (garbage included) over a wrk run against an in-process gateway (10 % mirroring) in front of
// an nginx `return 200` upstream. Allocation drives the young-generation collections whose pauses make
// the latency tail, and unlike req/s it hardly depends on what else the machine is doing.
// Needs wrk and nginx (Debian packages). Writes bench/results/gateway-alloc.md.
// Usage: npm run bench:gateway-alloc -- [--seconds S] [--top N] [--out FILE]
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createGateway } from '../dist/src/gateway/gateway.js';
import { args, freePort, machine, requireTools, table } from './lib.mjs';

const a = args();
const seconds = Number(a.seconds ?? 5);
const top = Number(a.top ?? 20);
const out = a.out ?? 'bench/results/gateway-alloc.md';
requireTools('bench:gateway-alloc', ['wrk', 'nginx']);

const [UP, SHADOW] = [await freePort(), await freePort()];
const dir = mkdtempSync(join(tmpdir(), 'shadowscale-bench-alloc-'));
writeFileSync(
  join(dir, 'nginx.conf'),
  `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log crit;
events { worker_connections 1024; }
http {
  access_log off;
  server { listen 127.0.0.1:${UP}; location / { return 200 "ok\\n"; } }
  server { listen 127.0.0.1:${SHADOW}; location / { return 200 "shadow\\n"; } }
}
`,
);
execFileSync('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')]);
const wrk = (url, s) => new Promise((resolve, reject) => execFile('wrk', ['-t1', '-c64', `-d${s}s`, url], (err, stdout) => (err ? reject(err) : resolve(stdout))));

const g = createGateway({ live: [`http://127.0.0.1:${UP}`], shadow: [`http://127.0.0.1:${SHADOW}`], mirror: { rate: 0.1 } });
const url = `http://127.0.0.1:${(await g.listen(0)).port}/`;
try {
  await wrk(url, 3); // warm-up: connections, JIT
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const text = await wrk(url, seconds);
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const requests = Number(/(\d+) requests in/.exec(text)?.[1]);
  const byFn = new Map();
  const byOwner = new Map();
  const ownerOf = (url) => (url.includes('/src/gateway/') ? 'shadowscale' : url.includes('/node_modules/undici/') ? 'undici' : url.includes('/node_modules/') ? 'other packages' : 'node and V8');
  const walk = (node) => {
    const f = node.callFrame;
    const file = f.url.split('/').slice(-2).join('/');
    const key = `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : '(native)'}`;
    if (node.selfSize) {
      byFn.set(key, (byFn.get(key) ?? 0) + node.selfSize);
      const owner = ownerOf(f.url);
      byOwner.set(owner, (byOwner.get(owner) ?? 0) + node.selfSize);
    }
    for (const c of node.children) walk(c);
  };
  walk(profile.head);
  const total = [...byFn.values()].reduce((x, y) => x + y, 0);
  const perReq = (v) => (v / requests).toFixed(0);
  const md = `# bench:gateway-alloc — bytes allocated per proxied request

Command: \`npm run bench:gateway-alloc\` (bench/gateway-alloc.mjs; needs \`apt-get install -y wrk nginx\`)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}

An in-process gateway (10 % mirroring, scrubbed) in front of nginx \`return 200\`; wrk -t1 -c64 for ${seconds} s after a
3 s warm-up; V8's sampling heap profiler every 1 KiB, counting objects the collector has already freed.
${requests} requests; **${perReq(total)} bytes per request** in all.

${table(['allocated by', 'bytes per request'], [...byOwner].sort((x, y) => y[1] - x[1]).map(([k, v]) => [k, perReq(v)]))}

## The ${top} largest allocating functions

${table(['function', 'bytes per request'], [...byFn].sort((x, y) => y[1] - x[1]).slice(0, top).map(([k, v]) => [k, perReq(v)]))}
`;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, md);
  console.log(md);
} finally {
  await g.close();
  try {
    execFileSync('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-s', 'stop']);
  } catch {
    // already stopped
  }
  rmSync(dir, { recursive: true, force: true });
}
