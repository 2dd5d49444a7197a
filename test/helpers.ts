// Shared test helpers: fixture paths (fixtures are data files, loaded through this one helper),
// temporary directories, and running the real CLI binary.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../src/metrics/store.js';
import { startPrometheusServer, type ScrapeGroup } from '../src/metrics/prometheus-server.js';
import { markedProcesses } from '../src/providers/local.js';
import { findLeftovers, processMark } from '../src/control/leftovers.js';

/** Repository root (tests run from dist/test/...). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function fixture(name: string): string {
  return join(ROOT, 'test', 'fixtures', name);
}

export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'shadowscale-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run bin/shadowscale as a user would, with a clean SHADOWSCALE_* environment plus `env`. */
export function runCli(args: string[], env: Record<string, string> = {}, cwd: string = ROOT): Promise<CliResult> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('SHADOWSCALE_')) base[k] = v;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'shadowscale'), ...args], { cwd, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/**
 * A reverse proxy that serves `target` under a path prefix, as an ingress or nginx's location would
 * (`/ss/x` is `target/x`; anything else 404). Returns its URL, without the prefix.
 */
export async function prefixProxy(t: { after: (fn: () => Promise<void>) => void }, prefix: string, target: string): Promise<string> {
  const to = new URL(target);
  return serve(
    t,
    createHttpServer((req, res) => {
      const url = req.url ?? '/';
      if (url !== prefix && !url.startsWith(`${prefix}/`) && !url.startsWith(`${prefix}?`)) {
        res.writeHead(404).end('not under the prefix');
        return;
      }
      const path = url.slice(prefix.length);
      const up = httpRequest({ host: to.hostname, port: to.port, method: req.method, path: path.startsWith('/') ? path : `/${path}`, headers: { ...req.headers, host: to.host } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      req.pipe(up);
    }),
  );
}

/** Listen on a free loopback port; closed (with its connections) after the test. Returns the base URL. */
export async function serve(t: { after: (fn: () => Promise<void>) => void }, server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Poll `ok` every 20 ms until it holds; fail naming `what` after `ms`. */
export async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Start bin/shadowscale with `args` (a long-running command) and resolve with its first stdout line, parsed as JSON. */
export function startCli<T>(args: string[]): Promise<{ child: ChildProcess; first: T }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'shadowscale'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolvePromise, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolvePromise({ child, first: JSON.parse(out.split('\n')[0] as string) as T });
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

/**
 * Damage one table of an SQLite file as a bad disk would: the header of the table's root page is
 * overwritten (the file's other pages stay intact). The WAL is checkpointed into the file first.
 */
export async function corruptTable(path: string, table: string): Promise<void> {
  const { default: Database } = await import('better-sqlite3');
  const { openSync, writeSync, closeSync } = await import('node:fs');
  const db = new Database(path);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const page = db.pragma('page_size', { simple: true }) as number;
  const row = db.prepare("SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) as { rootpage: number } | undefined;
  db.close();
  if (!row) throw new Error(`no table ${table} in ${path}`);
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, (row.rootpage - 1) * page);
  closeSync(fd);
}

/**
 * The processes (instances) carrying the store's owner mark, found by /proc scan; they are SIGKILLed
 * after the test whatever happened. The store's id is read once it exists (the cleanup may run after
 * the directory is gone).
 */
export function killOwnedAfter(t: { after: (fn: () => void) => void }, storePath: string): () => number[] {
  let owner: string | undefined;
  const owned = (): number[] => {
    owner ??= Store.idAt(storePath);
    return owner === undefined ? [] : markedProcesses().filter((p) => p.owner === `shadowscale:store:${owner}`).map((p) => p.pid);
  };
  t.after(() => {
    // Also by the store's path in their environment: a failed test's cleanup may have removed the store
    // before its owner was read (its instances had been left running).
    const byPath = processesWith('environ', `SHADOWSCALE_STORE=${storePath}\0`);
    for (const pid of new Set([...owned(), ...byPath])) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  });
  return owned;
}

/**
 * A real component a test needs (promtool, chromium: installed by .ci/run from Debian's packages).
 * Returns its path; when it is missing, CI=true fails the test and a developer's machine skips it, saying why.
 */
export function component(t: { skip: (why: string) => void }, path: string, pkg: string): string | undefined {
  if (existsSync(path)) return path;
  return missingComponent(t, `${path} is missing (Debian package ${pkg}; .ci/run installs it)`);
}

/** A real component a test needs is missing: with CI=true that fails the suite; elsewhere the test is skipped, saying why. */
export function missingComponent(t: { skip: (why: string) => void }, why: string): undefined {
  if (process.env.CI === 'true') throw new Error(`${why}: with CI=true a missing real component fails the suite`);
  t.skip(why);
  return undefined;
}

/** `promtool check metrics` on an exposition text: its complaints, or [] when it has none. */
export function promtoolCheck(promtool: string, text: string): Promise<string[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise(code === 0 ? [] : out.split('\n').filter(Boolean)));
    child.stdin.end(text);
  });
}

/**
 * A configuration file for a one-service `run` that starts fast: service "web" of type "small" (sample
 * service, 4 slots, 5 ms), reactive, no proof, gateway and API on port 0, a store in `dir`. `control`
 * adds keys to the control section, `extra` top-level sections (YAML).
 */
export function smallRunConfig(dir: string, o: { max?: number; periodSeconds?: number; tickSeconds?: number; control?: string; extra?: string } = {}): string {
  const file = join(dir, 'run.yaml');
  writeFileSync(
    file,
    `instanceTypes:\n  small: { slots: 4, serviceTimeMs: 5, queueLimit: 50, provisioningSeconds: 0.1, warmupSeconds: 0, warmupCapacity: 1 }\n` +
      `services:\n  - name: web\n    instanceType: small\n    pool: { min: 1, max: ${o.max ?? 3} }\n    shadow: { fraction: 0.25 }\n    scaling: { strategy: reactive, periodSeconds: ${o.periodSeconds ?? 0.5}, proof: off, reactive: { scaleDown: { stabilizationWindowSeconds: 0 } } }\n` +
      `gateway: { listen: 127.0.0.1:0 }\nstore: { path: ${join(dir, 'store.db')} }\ncontrol: { tickSeconds: ${o.tickSeconds ?? 0.25}, forecastBucketSeconds: 1${o.control ? `, ${o.control}` : ''} }\nprovider: { graceSeconds: 1 }\n${o.extra ?? ''}`,
  );
  return file;
}

/** GET `url` every `everyMs` until the test ends (traffic for charts and rates). */
export function driveTraffic(t: { after: (fn: () => Promise<void>) => void }, url: string, everyMs = 20): void {
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      await fetch(url).then((r) => r.text()).catch(() => undefined);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  t.after(async () => {
    stop = true;
    await loop;
  });
}

/** A loopback TCP port that was free a moment ago (for a real server that cannot listen on port 0 and tell us). */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolvePromise(p));
    });
  });
}

/** Clients sending GET /work back to back until the test ends; counts answers, failures and versions seen. */
export function clients(t: { after: (fn: () => Promise<void>) => void }, url: string, n = 4): { ok: number; failed: string[]; versions: Map<string, number> } {
  const seen = { ok: 0, failed: [] as string[], versions: new Map<string, number>() };
  let stop = false;
  const one = async (): Promise<void> => {
    while (!stop) {
      try {
        const r = await fetch(url);
        const body = await r.text();
        if (r.status === 200) {
          seen.ok++;
          const v = r.headers.get('x-version') ?? '?';
          seen.versions.set(v, (seen.versions.get(v) ?? 0) + 1);
        } else seen.failed.push(`HTTP ${r.status} ${body.slice(0, 200)} at ${Date.now()}`);
      } catch (err) {
        seen.failed.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const all = Array.from({ length: n }, one);
  t.after(async () => {
    stop = true;
    await Promise.all(all);
  });
  return seen;
}

/**
 * A real Prometheus (Debian's package) on a free loopback port, scraping every second what `setTargets`
 * names (host:port, file-based discovery: it can start before its targets exist), its data in `dir`;
 * killed when the test ends. Resolves once it is up (not once it has scraped).
 */
export async function startPrometheus(t: { after: (fn: () => void | Promise<void>) => void }, binary: string, dir: string): Promise<{ url: string; stop: () => void; setTargets: (targets: readonly string[]) => void; setGroups: (groups: readonly ScrapeGroup[]) => void; query: (expr: string) => Promise<{ status: string; data?: { result: unknown[] }; error?: string }> }> {
  const server = await startPrometheusServer({ binary, dir });
  t.after(() => server.stop());
  const url = server.url;
  const query = async (expr: string): Promise<{ status: string; data?: { result: unknown[] }; error?: string }> => (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { status: string; data?: { result: unknown[] }; error?: string };
  return { url, stop: () => void server.stop(), setTargets: (targets) => server.setTargets([{ targets, labels: {} }]), setGroups: (groups) => server.setTargets(groups), query };
}

/** A reactive demo (`shadowscale demo`) in its own temporary directory `tmp`, once its instances run; with the demo's mark. */
export async function startDemo(tmp: string, extra: readonly string[] = []): Promise<{ child: ChildProcess; mark: string; exited: Promise<number | null>; stderr: () => string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'shadowscale'), 'demo', '--duration', '60', '--strategy', 'reactive', ...extra], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await until('the demo process', () => child.pid !== undefined && processMark(child.pid).endsWith('unknown') === false);
  const mark = processMark(child.pid as number);
  // The initial pool and the shadow: at least two instances.
  await until('the demo instances', () => findLeftovers({ mark, tmp }).instances.length >= 2, 30_000);
  return { child, mark, exited, stderr: () => stderr };
}

/** Pids of the processes whose /proc/PID/`file` (command line or environment) contains `text`. */
export function processesWith(file: 'cmdline' | 'environ', text: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/${file}`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Processes whose command line names `dir` (a demo's Prometheus keeps its files there). */
export const processesIn = (dir: string): number[] => processesWith('cmdline', dir);
