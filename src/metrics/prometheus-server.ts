// A Prometheus server of this machine (Debian's `prometheus`), started on loopback for the demo's Prometheus
// variant (`shadowscale demo --prometheus`) and the tests: it scrapes the targets it is given (file-based
// service discovery, rewritten as instances come and go), every `scrapeSeconds`, and keeps its data in `dir`.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** A file_sd target group: addresses (host:port) and the labels their series get. */
export interface ScrapeGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

export interface PrometheusServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly process: ChildProcess;
  /** Replace what it scrapes (picked up within a second). */
  setTargets(groups: readonly ScrapeGroup[]): void;
  /** Kill it (SIGKILL: its data is throwaway). */
  stop(): Promise<void>;
}

export interface PrometheusServerOptions {
  /** The binary, e.g. /usr/bin/prometheus. */
  readonly binary: string;
  /** Where its configuration, targets and TSDB go. */
  readonly dir: string;
  readonly scrapeSeconds?: number;
  /** Extra environment (e.g. a demo's mark, so an interrupted demo's server is found and stopped). */
  readonly env?: Readonly<Record<string, string>>;
  /** How long to wait for it to be ready (ms). */
  readonly readyTimeoutMs?: number;
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Start Prometheus on a free loopback port; resolves once its /-/ready answers, rejects if it exits first. */
export async function startPrometheusServer(o: PrometheusServerOptions): Promise<PrometheusServer> {
  const sd = join(o.dir, 'prometheus-targets.json');
  const setTargets = (groups: readonly ScrapeGroup[]): void => writeFileSync(sd, JSON.stringify(groups.filter((g) => g.targets.length > 0)));
  setTargets([]);
  const every = `${Math.max(1, Math.round(o.scrapeSeconds ?? 1))}s`;
  writeFileSync(join(o.dir, 'prometheus.yml'), `global: { scrape_interval: ${every}, evaluation_interval: ${every} }\nscrape_configs:\n  - job_name: shadowscale\n    file_sd_configs: [{ files: ['${sd}'], refresh_interval: 1s }]\n`);
  const port = await freeLoopbackPort();
  const child = spawn(o.binary, [`--config.file=${join(o.dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(o.dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Its own process group, as the instances: an interrupted demo's leftovers are stopped by group.
    detached: true,
    env: { ...process.env, ...o.env },
  });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  let exited: string | undefined;
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', (e) => reject(new Error(`Prometheus (${o.binary}) could not start: ${e.message}`))));
  child.once('exit', (code, sig) => (exited = `exit ${code ?? sig}`));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (exited !== undefined || child.exitCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await gone;
  };
  const deadline = Date.now() + (o.readyTimeoutMs ?? 30_000);
  const ready = async (): Promise<void> => {
    for (;;) {
      if (exited !== undefined) throw new Error(`Prometheus (${o.binary}) exited before it was ready (${exited}): ${log.trim().slice(-800)}`);
      try {
        const r = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        if (r.status === 200 && /ready/i.test(await r.text())) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`Prometheus (${o.binary}) not ready after ${o.readyTimeoutMs ?? 30_000} ms: ${log.trim().slice(-800)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    await Promise.race([ready(), spawnFailed]);
  } catch (e) {
    await stop();
    throw e;
  }
  spawnFailed.catch(() => undefined);
  return { url, process: child, setTargets, stop };
}
