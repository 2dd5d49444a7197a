// Shared helpers for the benchmarks: machine description, argument parsing, markdown tables, interruption.
import { cpus, totalmem } from 'node:os';
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

export function machine() {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  let commit = 'uncommitted';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return `${cpus().length} x ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, commit ${commit}`;
}

/** --name value pairs; flags without a value are true. */
export function args(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[a.slice(2)] = true;
    else {
      out[a.slice(2)] = next;
      i++;
    }
  }
  return out;
}

/** The shared traces' two families: NAB, and the cluster and web traces (Alibaba, Google, NASA). */
export const family = (name) => (name.startsWith('nab/') ? 'NAB' : 'cluster and web');

/** Geometric mean (values floored at 1e-9 so a zero does not sink it). */
export const geoMean = (xs) => Math.exp(xs.reduce((s, x) => s + Math.log(Math.max(x, 1e-9)), 0) / xs.length);

export function table(head, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

const TIME_NAMES = ['timestamp', 'time', 'period', 'date'];

/**
 * Every series of the trace folder: one per value column of every CSV. Files without a time column
 * get their step from their name (`grouped_N_seconds`). `skip` lists column names that are not series.
 */
export function traceSeries(dir, skip = []) {
  const files = (d) =>
    readdirSync(d).flatMap((n) => {
      // Hidden entries (a tool's .venv or cache beside the traces) are not traces.
      if (n.startsWith('.')) return [];
      const p = join(d, n);
      return statSync(p).isDirectory() ? files(p) : n.endsWith('.csv') ? [p] : [];
    });
  const out = [];
  for (const file of files(dir).sort()) {
    const header = readFileSync(file, 'utf8').split('\n', 1)[0].trim().split(',');
    const hasTime = header.some((h) => TIME_NAMES.includes(h.toLowerCase()));
    const step = hasTime ? undefined : Number(/grouped_(\d+)_seconds/.exec(basename(file))?.[1] ?? 60);
    const columns = header.filter((h) => !TIME_NAMES.includes(h.toLowerCase()) && !skip.includes(h.toLowerCase()));
    for (const column of columns) out.push({ file, column, step, columns: columns.length });
  }
  return out;
}

/** Exit 2 naming the Debian packages when a tool a benchmark runs is missing. */
export function requireTools(bench, tools) {
  for (const tool of tools) {
    try {
      execFileSync('which', [tool]);
    } catch {
      console.error(`${bench} needs ${tool} (apt-get install -y ${tools.join(' ')})`);
      process.exit(2);
    }
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Runs `shadowscale ARGS` and resolves with its parsed JSON (`report`), or the last line of its stderr (`error`). */
export function cliJson(cliArgs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/shadowscale', ...cliArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve(code === 0 ? { report: JSON.parse(stdout) } : { error: stderr.trim().split('\n').pop() }));
  });
}

/** `cliJson` over every job (`{ name, cli }`), one per core at a time, with progress on stderr; results in job order. */
export async function cliJsonAll(jobs, prefix) {
  const results = new Array(jobs.length);
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, cpus().length) }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await cliJson([...prefix, ...jobs[i].cli]);
        process.stderr.write(`\r${++done}/${jobs.length} ${jobs[i].name.slice(0, 70).padEnd(70)}`);
      }
    }),
  );
  process.stderr.write('\n');
  return results;
}

// Interruption. A bench that starts instances in its own process (a provider, a Runtime, runDemo) would
// otherwise die at Ctrl-C (or kill) past its `finally`, leaving instances that outlive it and their
// temporary directories.
const interruption = new AbortController();
const releases = new Set();
let installed = false;

function installInterrupt() {
  if (installed) return;
  installed = true;
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
    process.once(sig, () => {
      console.error(`${sig}: stopping what the bench started`);
      interruption.abort(new Error(sig));
      Promise.allSettled([...releases].map((release) => release())).finally(() => process.exit(code));
    });
  }
}

/** Aborted at SIGINT, SIGTERM or SIGHUP (for runDemo's `signal`: the demo then stops its instances). */
export function interruptSignal() {
  installInterrupt();
  return interruption.signal;
}

/**
 * Run `release` (async: stop instances, remove directories) at SIGINT, SIGTERM or SIGHUP before the bench
 * exits 130, 143 or 129. Returns a function that unregisters it (call it once released in `finally`).
 */
export function onInterrupt(release) {
  installInterrupt();
  releases.add(release);
  return () => releases.delete(release);
}

/** runDemo stopped with the bench: its instances stop and its directory goes before the bench exits. */
export function interruptibleDemo(runDemo, options) {
  const demo = runDemo({ ...options, signal: interruptSignal() });
  const forget = onInterrupt(() => demo.catch(() => undefined));
  return demo.finally(forget);
}
