// What an interrupted demo leaves behind, found and removed. Each demo uses a fresh store in a fresh
// temporary directory, so nothing would ever adopt its instances: a demo marks them (and its directory)
// with its own process, and anything whose demo process is gone is a leftover.
//
// 1. The mark is `<pid>-<start>`: the demo's pid and its start time in clock ticks since boot
//    (/proc/PID/stat, field 22), so a reused pid is never taken for the demo that marked.
// 2. Instances carry it in their environment (SHADOWSCALE_DEMO); the group leader of each marked
//    process whose mark is dead is stopped: SIGTERM to its process group, SIGKILL after a grace period.
// 3. Directories carry it in a file (`demo.owner`); those whose mark is dead are removed.

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../metrics/store.js';
import { markedProcesses, pidAlive, procStat, signalGroup } from '../providers/local.js';

export const DEMO_ENV = 'SHADOWSCALE_DEMO';
export const DEMO_DIR_PREFIX = 'shadowscale-demo-';
const OWNER_FILE = 'demo.owner';

/** The mark of this process (or `pid`): its pid and start time. */
export function processMark(pid = process.pid): string {
  return `${pid}-${procStat(pid)?.[19] ?? 'unknown'}`;
}

/** Whether the process that made `mark` still runs. */
export function markAlive(mark: string): boolean {
  const m = /^(\d+)-(\d+|unknown)$/.exec(mark);
  if (!m) return false;
  const pid = Number(m[1]);
  if (m[2] === 'unknown') return pidAlive(pid); // no /proc: the pid alone
  return pidAlive(pid) && processMark(pid) === mark;
}

/** Mark a demo's temporary directory as this process's. */
export function markDirectory(dir: string, mark = processMark()): void {
  writeFileSync(join(dir, OWNER_FILE), `${mark}\n`);
}

export interface Leftover {
  readonly pid: number;
  readonly mark: string;
  readonly instance: string | undefined;
}

export interface Leftovers {
  /** Instance processes (group leaders) whose demo is gone. */
  readonly instances: Leftover[];
  /** Temporary directories whose demo is gone. */
  readonly directories: string[];
}

/**
 * Find leftovers: processes marked by a demo that is gone (or, with `mark`, by that demo whatever its
 * state), and the directories of gone demos (`tmp`, the system's temporary directory by default).
 */
export function findLeftovers(o: { mark?: string; tmp?: string; now?: number } = {}): Leftovers {
  const alive = new Map<string, boolean>();
  const gone = (mark: string): boolean => {
    let live = alive.get(mark);
    if (live === undefined) alive.set(mark, (live = markAlive(mark)));
    return !live;
  };
  // Instance processes (group leaders: stopping the group stops their children) carrying a demo's mark.
  const instances: Leftover[] = markedProcesses()
    .filter((p) => p.demo !== undefined && (o.mark !== undefined ? p.demo === o.mark : gone(p.demo)))
    .map((p) => ({ pid: p.pid, mark: p.demo as string, instance: p.instance }));
  const tmp = o.tmp ?? tmpdir();
  const directories: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(tmp).filter((n) => n.startsWith(DEMO_DIR_PREFIX));
  } catch {
    // no temporary directory to look at
  }
  const now = o.now ?? Date.now();
  for (const n of names) {
    const dir = join(tmp, n);
    let mark: string | undefined;
    try {
      mark = readFileSync(join(dir, OWNER_FILE), 'utf8').trim();
    } catch {
      mark = undefined;
    }
    if (mark !== undefined) {
      if (o.mark !== undefined ? mark === o.mark : !markAlive(mark)) directories.push(dir);
      continue;
    }
    // Made before demos marked their directories, or a demo killed between mkdtemp and the mark
    // (a moment): unmarked and a minute old is a leftover.
    if (o.mark !== undefined) continue;
    try {
      if (now - statSync(dir).mtimeMs > 60_000) directories.push(dir);
    } catch {
      // gone meanwhile
    }
  }
  return { instances, directories };
}

/** Stop the leftover instances (SIGTERM, SIGKILL after `graceMs`) and remove the directories. */
export async function removeLeftovers(l: Leftovers, o: { graceMs?: number } = {}): Promise<{ stopped: number; killed: number; removed: number }> {
  for (const i of l.instances) signalGroup(i.pid, 'SIGTERM');
  const end = Date.now() + (o.graceMs ?? 3000);
  let left = l.instances.filter((i) => pidAlive(i.pid));
  while (left.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    left = left.filter((i) => pidAlive(i.pid));
  }
  for (const i of left) signalGroup(i.pid, 'SIGKILL');
  // A killed process is reaped by its parent (init, for an orphan) a moment later.
  const reaped = Date.now() + 2000;
  while (left.some((i) => pidAlive(i.pid)) && Date.now() < reaped) await new Promise((r) => setTimeout(r, 10));
  let removed = 0;
  for (const d of l.directories) {
    try {
      rmSync(d, { recursive: true, force: true });
      removed++;
    } catch {
      // not ours to remove after all (permissions): left for the user
    }
  }
  return { stopped: l.instances.length, killed: left.length, removed };
}

/** A fresh temporary directory for a throwaway store (`shadowscale-demo-NAME-…`), marked as this process's. */
export function throwawayDir(name: string, mark: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${DEMO_DIR_PREFIX}${name}-`));
  markDirectory(dir, mark);
  return dir;
}

/**
 * SIGINT/SIGTERM/SIGHUP as an abort signal, for commands that clean up before they exit: the first signal
 * aborts (`onSignal` is told), `exitCode()` is then 130, 143 or 129 (128 + the signal); `dispose()` removes the handlers.
 */
export function interruptible(onSignal?: (sig: NodeJS.Signals) => void): { signal: AbortSignal; exitCode: () => number | undefined; dispose: () => void } {
  const ac = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const handler = (sig: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = sig;
    onSignal?.(sig);
    ac.abort(new Error(`interrupted by ${sig}`));
  };
  // SIGHUP too: a closed terminal or a dropped SSH session is the usual way a demo is left, and its
  // default action ended the process without stopping the instances.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const sig of signals) process.on(sig, handler);
  return {
    signal: ac.signal,
    exitCode: () => (signalled === undefined ? undefined : 128 + (signalled === 'SIGHUP' ? 1 : signalled === 'SIGINT' ? 2 : 15)),
    dispose: () => {
      for (const sig of signals) process.off(sig, handler);
    },
  };
}

/**
 * Run `fn` on a throwaway store in a fresh, marked temporary directory (as the demo does), for commands
 * whose instances must not outlive them (`prove`). Leftovers of earlier such commands are removed first.
 * SIGINT/SIGTERM/SIGHUP abort `signal`; whatever happens, instances carrying this process's mark are stopped
 * and the directory removed; after a signal the process exits 130/143/129.
 */
export async function withThrowawayStore<T>(name: string, fn: (store: Store, storePath: string, mark: string, signal: AbortSignal) => Promise<T>): Promise<T> {
  await removeLeftovers(findLeftovers());
  const mark = processMark();
  const dir = throwawayDir(name, mark);
  const interrupt = interruptible();
  const storePath = join(dir, 'store.db');
  const store = Store.open({ path: storePath });
  try {
    return await fn(store, storePath, mark, interrupt.signal);
  } finally {
    interrupt.dispose();
    store.close();
    await removeLeftovers({ instances: findLeftovers({ mark }).instances, directories: [dir] });
    const code = interrupt.exitCode();
    if (code !== undefined) process.exit(code);
  }
}
