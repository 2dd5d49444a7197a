// `shadowscale doctor`: what a user who hit a crash, a kill -9 or a damaged disk needs to know, read
// without changing anything. A store (when given) is checked in full; every process on this host that
// carries a shadowscale instance mark is listed and judged: adopted by the next run, left by a demo,
// or an orphan that nothing will ever adopt.
//
// 1. The store: SQLite's integrity_check, schema, id, owner (alive or not), row counts, and each
//    instance record's process (running, or gone).
// 2. The processes: marked with this store's id (recorded, or unrecorded: the next run adopts both),
//    with a gone demo's mark (`demo --clean` stops them), with a path-form owner whose store file is
//    gone (orphans), or with another store's id (listed; that store's run adopts them).
// 3. Problems (with what to do) make `ok` false; the rest is information.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { notAFile, Store, type StoreReport } from '../metrics/store.js';
import { markedProcesses, recordAlive, type MarkedProcess } from '../providers/local.js';
import { findLeftovers, markAlive } from './leftovers.js';

export interface DoctorReport {
  readonly ok: boolean;
  /** What is wrong, each with what to do. */
  readonly problems: string[];
  /** What is worth knowing and needs nothing done. */
  readonly notes: string[];
  readonly store: (StoreReport & { readonly records: { id: string; pid: number; running: boolean }[] }) | null;
  readonly processes: (MarkedProcess & { readonly verdict: 'recorded' | 'unrecorded' | 'demo_leftover' | 'orphan' | 'other_store' })[];
  /** Temporary directories of interrupted demos. */
  readonly demoDirectories: string[];
}

export function doctor(o: { storePath?: string; tmp?: string } = {}): DoctorReport {
  const problems: string[] = [];
  const notes: string[] = [];
  let store: DoctorReport['store'] = null;
  if (o.storePath !== undefined) {
    const path = resolve(o.storePath);
    const r = Store.inspect(path);
    const records = r.instances.map((i) => ({ id: i.id, pid: i.pid, running: recordAlive(i) }));
    store = { ...r, records };
    const what = r.exists ? notAFile(path) : undefined;
    if (!r.exists) problems.push(`${path}: no such store`);
    else if (what) problems.push(`${path}: ${what}, not a store; name the store's file (store.path of the run's configuration)`);
    else if (r.integrity.length !== 1 || r.integrity[0] !== 'ok') {
      const running = records.filter((x) => x.running);
      problems.push(`${path}: the store is damaged (${r.integrity.join('; ').slice(0, 400)}): move it aside and start afresh${running.length ? `; ${running.length} instance(s) it recorded still run (pids ${running.map((x) => x.pid).join(', ')}): stop them with kill -TERM -PID, or a new store will not adopt them` : ''}`);
    } else {
      notes.push(`${path}: integrity ok, schema ${r.schemaVersion}, id ${r.id ?? '(none yet)'}, ${r.bytes} bytes, ${Object.entries(r.counts ?? {}).map(([k, v]) => `${v} ${k}`).join(', ')}`);
      if (r.owner?.alive) notes.push(`owned by shadowscale pid ${r.owner.pid}, running`);
      else if (r.owner) notes.push(`its last owner, pid ${r.owner.pid}, is gone (killed?): the next run takes the store over`);
      const gone = records.filter((x) => !x.running);
      if (gone.length) notes.push(`${gone.length} recorded instance(s) no longer run (${gone.map((x) => x.id).join(', ')}): the next run reports them lost and replaces them`);
    }
  }
  const mark = store?.id ? `shadowscale:store:${store.id}` : undefined;
  const formerMark = o.storePath !== undefined ? `shadowscale:${resolve(o.storePath)}` : undefined;
  const recorded = new Set(store?.records.filter((x) => x.running).map((x) => x.id) ?? []);
  const ids = new Map<string, string | null | undefined>();
  const processes: DoctorReport['processes'] = markedProcesses().map((p) => {
    if (p.owner === mark || p.owner === formerMark) return { ...p, verdict: recorded.has(p.instance) ? 'recorded' : 'unrecorded' };
    if (p.demo !== undefined && !markAlive(p.demo)) return { ...p, verdict: 'demo_leftover' };
    // The store it names (its path at start, or a path-form owner): if no store with its id is there
    // any more, no run will ever adopt the process.
    const id = /^shadowscale:store:(.+)$/.exec(p.owner)?.[1];
    const path = p.store ?? (id === undefined ? /^shadowscale:(\/.*)$/.exec(p.owner)?.[1] : undefined);
    if (path !== undefined) {
      // null: no file there; undefined: a file without a readable id.
      if (!ids.has(path)) ids.set(path, existsSync(path) ? Store.idAt(path) : null);
      const there = ids.get(path);
      if (there === null || (id !== undefined && there !== undefined && there !== id)) return { ...p, verdict: 'orphan' };
    }
    return { ...p, verdict: 'other_store' };
  });
  const unrecorded = processes.filter((p) => p.verdict === 'unrecorded');
  if (unrecorded.length) notes.push(`${unrecorded.length} running instance(s) of this store have no record (pids ${unrecorded.map((p) => p.pid).join(', ')}): the next run adopts them`);
  const leftovers = processes.filter((p) => p.verdict === 'demo_leftover');
  const demoDirectories = findLeftovers(o.tmp !== undefined ? { tmp: o.tmp } : {}).directories;
  if (leftovers.length || demoDirectories.length) problems.push(`interrupted demos left ${leftovers.length} instance(s) running (pids ${leftovers.map((p) => p.pid).join(', ') || 'none'}) and ${demoDirectories.length} temporary director${demoDirectories.length === 1 ? 'y' : 'ies'}: \`shadowscale demo --clean\` removes them`);
  const orphans = processes.filter((p) => p.verdict === 'orphan');
  if (orphans.length) problems.push(`${orphans.length} instance(s) whose store is gone (moved, deleted or replaced), so nothing will adopt them (pids ${orphans.map((p) => p.pid).join(', ')}): stop each with kill -TERM -PID`);
  const others = new Map<string, number>();
  for (const p of processes) if (p.verdict === 'other_store') others.set(p.owner, (others.get(p.owner) ?? 0) + 1);
  for (const [owner, n] of others) notes.push(`${n} instance(s) of ${owner.startsWith('shadowscale:store:') ? `store ${owner.slice('shadowscale:store:'.length)}` : owner.slice('shadowscale:'.length)} (that store's run adopts them)`);
  return { ok: problems.length === 0, problems, notes, store, processes, demoDirectories };
}
