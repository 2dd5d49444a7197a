// The embedded metrics store: SQLite (better-sqlite3) in WAL mode, one file per control plane.
//
// - samples: raw points at their own resolution (the control loop writes one per metric per second),
//   kept `retention.rawSeconds`; every insert also updates the 1 min and 1 h rollups (count, sum, min,
//   max) in the same transaction, kept `minuteSeconds` and `hourSeconds`. `prune` applies retention.
// - decisions: every scaling decision with its reason and numbers, recorded before it is acted on; kept
//   `decisionsSeconds` (the newest of each service always), counted by triggers into decision_counts (by
//   reason) and decision_proofs (by proof status).
// - instance_events and instances (the local provider's registry: what a restart adopts).
// - experiments: shadow experiments with their configuration and verdict, counted into experiment_counts;
//   finished ones other than rollouts kept `decisionsSeconds` (30 days at least), instance events `decisionsSeconds`.
//
// One control plane owns a store at a time: its pid is written at open and a live owner makes a second
// open fail (SHADOWSCALE_E_STORE_LOCKED); a dead owner (kill -9) is taken over. A file that is not a
// shadowscale database fails with SHADOWSCALE_E_STORE_CORRUPT, naming the file.

import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import Database, { type Statement } from 'better-sqlite3';
import { ShadowscaleError } from '../core/errors.js';
import type { Recurrence } from '../core/events.js';
import { OPERATOR_STATE_REASONS, type Decision } from '../core/reasons.js';
import { pidAlive, type InstanceEvent, type InstanceRecord, type InstanceRegistry } from '../providers/local.js';

const SCHEMA_VERSION = 1;

/**
 * What sits at a store's path when it is not a regular file ("a directory", "a character device", ...),
 * or undefined (a file, or nothing yet). SQLite opened /dev/null as an empty database, failed at the
 * first fsync, and left /dev/null-journal behind; a directory failed with "unable to open".
 */
export function notAFile(path: string): string | undefined {
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  if (st.isFile()) return undefined;
  return st.isDirectory() ? 'a directory' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isFIFO() ? 'a named pipe' : st.isSocket() ? 'a socket' : 'not a regular file';
}

function notAStore(path: string, what: string): ShadowscaleError {
  return new ShadowscaleError('SHADOWSCALE_E_STORE_CORRUPT', `${path}: ${what}, not a store; name the store's file (store.path)`);
}

export interface Retention {
  readonly rawSeconds: number;
  readonly minuteSeconds: number;
  readonly hourSeconds: number;
  /** Decisions, instance events and finished experiments other than rollouts. */
  readonly decisionsSeconds: number;
}

/** Which experiments to read (each filter optional): the service's, of one kind, only those still open. */
export interface ExperimentQuery {
  readonly service?: string;
  readonly kind?: string;
  readonly open?: boolean;
}

export const DEFAULT_RETENTION: Retention = { rawSeconds: 6 * 3600, minuteSeconds: 14 * 86400, hourSeconds: 400 * 86400, decisionsSeconds: 90 * 86400 };

/** Rows of the audit tables one `prune` removes at most: a store that outgrew a shorter retention catches up a batch a call, never in one long transaction. */
export const PRUNE_BATCH = 5000;

/** Decisions that retention never removes: the operator's standing changes, which a restart reads back. */
const KEPT_REASONS: readonly string[] = Object.values(OPERATOR_STATE_REASONS).flat();

/** Finished experiments stay at least this long (the longest a trial proves or counts against the budget). */
export const EXPERIMENTS_KEPT_AT_LEAST_SECONDS = 30 * 86400;

export interface Sample {
  /** ms since the epoch. */
  readonly ts: number;
  readonly service: string;
  readonly pool: string;
  readonly metric: string;
  readonly value: number;
}

export interface SeriesPoint {
  readonly ts: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
}

/** A decisions row as the queries select it. */
interface DecisionRow {
  seq: number;
  service: string;
  target: number;
  bound_reason: string | null;
  act: number;
  decision: string;
}

const decisionRecord = (r: DecisionRow): DecisionRecord => ({ seq: r.seq, service: r.service, decision: JSON.parse(r.decision) as Decision, target: r.target, boundReason: r.bound_reason, act: r.act === 1 });

export interface DecisionRecord {
  readonly seq: number;
  readonly service: string;
  /** The strategy's decision, with its reason and numbers. */
  readonly decision: Decision;
  /** After the action bounds (min/max, step, cool-downs): what is applied. */
  readonly target: number;
  readonly boundReason: string | null;
  /** Whether an action follows (target differs from the current count). */
  readonly act: boolean;
}

/** A known event an operator declared at run time (API), beside those of the configuration. */
export interface DeclaredEventRecord {
  readonly id: string;
  readonly service: string;
  readonly name: string;
  /** ms since the epoch. */
  readonly start: number;
  readonly end: number;
  readonly recurrence: Recurrence;
  /** Demand during it over demand without it; null for a yearly event whose size `run` learns from its last occurrence. */
  readonly multiplier: number | null;
  readonly createdAt: number;
  readonly by: string;
  readonly note: string | null;
}

export interface ExperimentRecord {
  readonly id: string;
  readonly service: string;
  readonly kind: string;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly config: unknown;
  readonly verdict: string | null;
  readonly details: unknown;
}

export interface StoreOptions {
  readonly path: string;
  readonly retention?: Partial<Retention>;
  /** Owner pid written into the store (default: this process). */
  readonly pid?: number;
  /** How long to wait for a lock held by another program (ms). */
  readonly busyTimeoutMs?: number;
  readonly readOnly?: boolean;
  /** Largest size of the file (bytes): writes beyond it fail (SQLite's max_page_count), and the store fails. */
  readonly maxSizeBytes?: number;
}

const RESOLUTIONS = [60, 3600] as const;

const LOAD_INSTANCES = 'SELECT id, service, pool, instance_type, labels, pid, port, created_at FROM instances ORDER BY created_at, id';
type InstanceRow = { id: string; service: string; pool: 'live' | 'shadow'; instance_type: string; labels: string; pid: number; port: number; created_at: number };
const instanceRecord = (r: InstanceRow): InstanceRecord => ({ id: r.id, service: r.service, pool: r.pool, instanceType: r.instance_type, labels: JSON.parse(r.labels) as Record<string, string>, pid: r.pid, port: r.port, createdAt: r.created_at });

/** What `shadowscale doctor` reads of a store, without owning or changing it. */
export interface StoreReport {
  readonly path: string;
  readonly exists: boolean;
  readonly bytes: number;
  /** SQLite's integrity_check: ["ok"], or the problems it found (or why the file could not be read). */
  readonly integrity: readonly string[];
  readonly schemaVersion: number | null;
  readonly id: string | null;
  readonly owner: { readonly pid: number; readonly alive: boolean } | null;
  readonly counts: Readonly<Record<string, number>> | null;
  readonly instances: readonly InstanceRecord[];
}

export class Store implements InstanceRegistry {
  /** The id kept in the store at `path`, or undefined when there is no readable store there. Nothing is written. */
  static idAt(path: string): string | undefined {
    if (notAFile(path)) return undefined;
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true, timeout: 500 });
      return (db.prepare("SELECT value FROM meta WHERE key = 'id'").get() as { value: string } | undefined)?.value;
    } catch {
      return undefined;
    } finally {
      db?.close();
    }
  }

  /**
   * Check a store without taking it (a running `run` may own it): the full integrity check, its
   * schema, id and owner, row counts and the instance records. Nothing is written.
   */
  static inspect(path: string): StoreReport {
    const empty = { path, schemaVersion: null, id: null, owner: null, counts: null, instances: [] };
    let bytes: number;
    try {
      bytes = statSync(path).size;
    } catch {
      return { ...empty, exists: false, bytes: 0, integrity: ['no such file'] };
    }
    const what = notAFile(path);
    if (what) return { ...empty, exists: true, bytes: 0, integrity: [`${what}, not a store`] };
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true, timeout: 2000 });
      const integrity = (db.pragma('integrity_check(20)') as { integrity_check: string }[]).map((r) => r.integrity_check.replace(/\s+/g, ' ').trim());
      const schemaVersion = db.pragma('user_version', { simple: true }) as number;
      const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
      if (!tables.has('meta') || !tables.has('instances')) return { ...empty, exists: true, bytes, integrity: [...integrity.filter((x) => x !== 'ok'), 'not a shadowscale store (no meta or instances table)'], schemaVersion };
      const meta = (key: string): string | undefined => (db?.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
      const ownerText = meta('owner');
      const ownerPid = ownerText ? (JSON.parse(ownerText) as { pid: number }).pid : undefined;
      const counts: Record<string, number> = {};
      for (const t of ['samples', 'rollups', 'decisions', 'instance_events', 'instances', 'experiments']) if (tables.has(t)) counts[t] = (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
      const instances = (db.prepare(LOAD_INSTANCES).all() as InstanceRow[]).map(instanceRecord);
      return { path, exists: true, bytes, integrity, schemaVersion, id: meta('id') ?? null, owner: ownerPid === undefined ? null : { pid: ownerPid, alive: pidAlive(ownerPid) }, counts, instances };
    } catch (err) {
      return { ...empty, exists: true, bytes, integrity: [`cannot be read: ${(err as Error).message}`] };
    } finally {
      db?.close();
    }
  }

  readonly retention: Retention;
  private readonly db: Database.Database;
  private readonly pid: number;
  private readonly stmts;
  private declared: { add: Statement | undefined; list: Statement; remove: Statement; prune: Statement } | undefined;
  private readonly pageStmts: { all: Database.Statement; byReason: Database.Statement; byBound: Database.Statement; one: Database.Statement };
  /** Whether the store keeps decision and experiment counts (a store read only before a release that makes them does not). */
  private readonly counted: boolean;
  /** The first failure that makes the store unusable (damage found while running, disk full, I/O error). */
  private failure: ShadowscaleError | undefined;
  /** Told once of that failure: whoever acts on the store's contents must stop acting. */
  onFailure: ((err: ShadowscaleError) => void) | undefined;

  private constructor(
    readonly path: string,
    o: StoreOptions,
  ) {
    this.retention = { ...DEFAULT_RETENTION, ...o.retention };
    this.pid = o.pid ?? process.pid;
    const what = notAFile(path);
    if (what) throw notAStore(path, what);
    try {
      this.db = new Database(path, { timeout: o.busyTimeoutMs ?? 2000, readonly: o.readOnly ?? false, fileMustExist: o.readOnly ?? false });
      if (!o.readOnly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = NORMAL');
        if (o.maxSizeBytes !== undefined) {
          const page = this.db.pragma('page_size', { simple: true }) as number;
          this.db.pragma(`max_page_count = ${Math.max(1, Math.floor(o.maxSizeBytes / page))}`);
        }
        this.migrate();
        this.check();
      } else {
        // Read only, nothing is made: a file without the schema (a run killed before it made one, or
        // another program's database) is named as such, not failed on at the first statement.
        const version = this.db.pragma('user_version', { simple: true }) as number;
        if (version !== SCHEMA_VERSION) {
          this.db.close();
          throw new ShadowscaleError('SHADOWSCALE_E_STORE_CORRUPT', version === 0 ? `${path}: no shadowscale schema yet (a run stopped before making it, or another program's database); start \`shadowscale run\` with this store` : `${path}: store schema version ${version}, this shadowscale understands ${SCHEMA_VERSION}`);
        }
      }
    } catch (err) {
      throw Store.translate(err, path);
    }
    this.counted = (this.db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('decision_counts', 'decision_proofs', 'experiment_counts')").get() as { n: number }).n === 3;
    this.stmts = {
      sample: this.db.prepare('INSERT INTO samples (ts, service, pool, metric, value) VALUES (?, ?, ?, ?, ?)'),
      rollup: this.db.prepare(
        `INSERT INTO rollups (res, ts, service, pool, metric, count, sum, min, max) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)
         ON CONFLICT (res, service, pool, metric, ts) DO UPDATE SET count = count + 1, sum = sum + excluded.sum, min = MIN(min, excluded.min), max = MAX(max, excluded.max)`,
      ),
      raw: this.db.prepare('SELECT ts, value FROM samples WHERE service = ? AND pool = ? AND metric = ? AND ts >= ? AND ts < ? ORDER BY ts'),
      rolled: this.db.prepare('SELECT ts, count, sum, min, max FROM rollups WHERE res = ? AND service = ? AND pool = ? AND metric = ? AND ts >= ? AND ts < ? ORDER BY ts'),
      decision: this.db.prepare('INSERT INTO decisions (ts, service, strategy, reason, current, desired, target, bound_reason, act, decision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      event: this.db.prepare('INSERT INTO instance_events (ts, kind, instance, service, pool, detail) VALUES (?, ?, ?, ?, ?, ?)'),
      saveInstance: this.db.prepare('INSERT OR REPLACE INTO instances (id, service, pool, instance_type, labels, pid, port, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      removeInstance: this.db.prepare('DELETE FROM instances WHERE id = ?'),
      loadInstances: this.db.prepare(LOAD_INSTANCES),
      bucketsRaw: undefined as Database.Statement | undefined,
      bucketsRolled: undefined as Database.Statement | undefined,
    };
    const columns = 'SELECT seq, service, target, bound_reason, act, decision FROM decisions';
    this.pageStmts = {
      all: this.db.prepare(`${columns} WHERE service = ? AND seq < ? AND +ts >= ? AND +ts < ? ORDER BY seq DESC LIMIT ?`),
      byReason: this.db.prepare('SELECT seq FROM decisions WHERE service = ? AND reason = ? AND seq < ? AND +ts >= ? AND +ts < ? ORDER BY seq DESC LIMIT ?'),
      byBound: this.db.prepare('SELECT seq FROM decisions WHERE service = ? AND bound_reason = ? AND seq < ? AND +ts >= ? AND +ts < ? ORDER BY seq DESC LIMIT ?'),
      one: this.db.prepare(`${columns} WHERE seq = ?`),
    };
  }

  /** Open an existing store to read it while another process owns it (inspection, tests). */
  static openReadOnly(path: string): Store {
    return new Store(path, { path, readOnly: true });
  }

  /** Open (creating if needed) and take ownership; fails if another live process owns it. */
  static open(o: StoreOptions): Store {
    const s = new Store(o.path, o);
    try {
      s.takeOwnership();
    } catch (err) {
      s.db.close();
      throw err;
    }
    return s;
  }

  private static translate(err: unknown, path: string): Error {
    const code = (err as { code?: string }).code ?? '';
    if (err instanceof ShadowscaleError) return err;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT')) return new ShadowscaleError('SHADOWSCALE_E_STORE_CORRUPT', `${path}: not a readable SQLite database (${(err as Error).message}); move it aside to start with an empty store`, { cause: err });
    if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY') || code === 'SQLITE_LOCKED') return new ShadowscaleError('SHADOWSCALE_E_STORE_LOCKED', `${path}: locked by another program (${(err as Error).message})`, { cause: err });
    if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || /directory does not exist/.test((err as Error).message)) return new ShadowscaleError('SHADOWSCALE_E_STORE_CORRUPT', `${path}: cannot open the store for writing (${(err as Error).message})`, { cause: err });
    if (code === 'SQLITE_FULL') return new ShadowscaleError('SHADOWSCALE_E_STORE_FAILED', `${path}: the store is full (the disk, or store.maxSizeBytes) (${(err as Error).message}); free space or raise the limit`, { cause: err });
    if (code.startsWith('SQLITE_IOERR')) return new ShadowscaleError('SHADOWSCALE_E_STORE_FAILED', `${path}: an I/O error in the store (${code}: ${(err as Error).message})`, { cause: err });
    return err as Error;
  }

  /** Whether an error makes the store unusable (rather than being one statement's problem). */
  private static fatal(err: Error): err is ShadowscaleError {
    return err instanceof ShadowscaleError && (err.code === 'SHADOWSCALE_E_STORE_CORRUPT' || err.code === 'SHADOWSCALE_E_STORE_FAILED');
  }

  /**
   * Run `fn` against the database. A failure that makes the store unusable is kept: every later call
   * fails with it at once, and `onFailure` is told once (the loop stops acting on a store it cannot trust).
   */
  private guard<T>(fn: () => T): T {
    if (this.failure) throw this.failure;
    try {
      return fn();
    } catch (err) {
      let e = Store.translate(err, this.path);
      if (Store.fatal(e)) {
        if (e.code === 'SHADOWSCALE_E_STORE_CORRUPT') e = new ShadowscaleError('SHADOWSCALE_E_STORE_CORRUPT', `${this.path}: the store is damaged, found while running (${(err as Error).message}); move it aside to start with an empty store`, { cause: err });
        this.failure = e as ShadowscaleError;
        this.onFailure?.(this.failure);
      }
      throw e;
    }
  }

  /**
   * SQLite's quick_check (every page's structure, without the indexes' contents): a damaged page found
   * at open fails here, naming the file, instead of failing some statement later.
   */
  private check(): void {
    let problems: string[];
    try {
      const rows = this.db.pragma('quick_check(5)') as { quick_check: string }[];
      problems = rows.map((r) => r.quick_check.replace(/\s+/g, ' ').trim()).filter((m) => m !== 'ok');
    } catch (err) {
      // A page too damaged to walk fails the check itself.
      if (!String((err as { code?: string }).code).startsWith('SQLITE_CORRUPT')) throw err;
      problems = [(err as Error).message];
    }
    if (problems.length) throw new ShadowscaleError('SHADOWSCALE_E_STORE_CORRUPT', `${this.path}: the store is damaged (SQLite quick_check: ${problems.join('; ').slice(0, 300)}); move it aside to start with an empty store`);
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new ShadowscaleError('SHADOWSCALE_E_STORE_CORRUPT', `${this.path}: store schema version ${version} is newer than this shadowscale understands (${SCHEMA_VERSION}); use a newer release or another store`);
    if (version === SCHEMA_VERSION) {
      const tables = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
      const need = ['meta', 'samples', 'rollups', 'decisions', 'instance_events', 'instances', 'experiments'];
      const missing = need.filter((t) => !tables.some((x) => x.name === t));
      if (missing.length) throw new ShadowscaleError('SHADOWSCALE_E_STORE_CORRUPT', `${this.path}: not a shadowscale store (missing tables: ${missing.join(', ')})`);
      this.addIndexes();
      return;
    }
    if (version === 0) {
      const foreign = (this.db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n;
      if (foreign > 0) throw new ShadowscaleError('SHADOWSCALE_E_STORE_CORRUPT', `${this.path}: an SQLite database of another program (it has tables but no shadowscale schema version); use another path`);
    }
    this.db.exec(`
      BEGIN;
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE samples (ts INTEGER NOT NULL, service TEXT NOT NULL, pool TEXT NOT NULL, metric TEXT NOT NULL, value REAL NOT NULL);
      CREATE INDEX samples_series ON samples (service, pool, metric, ts);
      CREATE INDEX samples_ts ON samples (ts);
      CREATE TABLE rollups (res INTEGER NOT NULL, ts INTEGER NOT NULL, service TEXT NOT NULL, pool TEXT NOT NULL, metric TEXT NOT NULL,
        count INTEGER NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, PRIMARY KEY (res, service, pool, metric, ts)) WITHOUT ROWID;
      CREATE INDEX rollups_ts ON rollups (res, ts);
      CREATE TABLE decisions (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, service TEXT NOT NULL, strategy TEXT NOT NULL, reason TEXT NOT NULL,
        current INTEGER NOT NULL, desired INTEGER NOT NULL, target INTEGER NOT NULL, bound_reason TEXT, act INTEGER NOT NULL, decision TEXT NOT NULL);
      CREATE INDEX decisions_service ON decisions (service, ts);
      CREATE TABLE instance_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, kind TEXT NOT NULL, instance TEXT NOT NULL, service TEXT NOT NULL, pool TEXT NOT NULL, detail TEXT);
      CREATE TABLE instances (id TEXT PRIMARY KEY, service TEXT NOT NULL, pool TEXT NOT NULL, instance_type TEXT NOT NULL, labels TEXT NOT NULL, pid INTEGER NOT NULL, port INTEGER NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE experiments (id TEXT PRIMARY KEY, service TEXT NOT NULL, kind TEXT NOT NULL, started_at INTEGER NOT NULL, finished_at INTEGER, config TEXT NOT NULL, verdict TEXT, details TEXT);
      PRAGMA user_version = ${SCHEMA_VERSION};
      COMMIT;
    `);
    this.addIndexes();
  }

  /**
   * Indexes, tables and triggers added after schema version 1 (made once, on the first open by a release
   * that has them; additive, so an earlier release still opens the store, and its inserts fire the triggers).
   */
  private addIndexes(): void {
    // The API's decision pages: newest first per service, by sequence number.
    this.db.exec('CREATE INDEX IF NOT EXISTS decisions_service_seq ON decisions (service, seq)');
    // Pages filtered by reason, and a restart reading back the operator's changes: newest first per reason.
    this.db.exec('CREATE INDEX IF NOT EXISTS decisions_service_reason ON decisions (service, reason, seq)');
    this.db.exec('CREATE INDEX IF NOT EXISTS decisions_service_bound ON decisions (service, bound_reason, seq)');
    // Retention of the audit tables walks them by time.
    this.db.exec('CREATE INDEX IF NOT EXISTS decisions_ts ON decisions (ts)');
    this.db.exec('CREATE INDEX IF NOT EXISTS instance_events_ts ON instance_events (ts)');
    // The loop reads a service's rollouts at every decision (whether a type change may start).
    this.db.exec('CREATE INDEX IF NOT EXISTS experiments_service_kind ON experiments (service, kind, started_at)');
    // Known events declared at run time (API): the strategies' forecasts read them with the configured ones.
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS declared_events (id TEXT PRIMARY KEY, service TEXT NOT NULL, name TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, recurrence TEXT NOT NULL, multiplier REAL NOT NULL, created_at INTEGER NOT NULL, by TEXT NOT NULL, note TEXT)',
    );
    // A yearly event declared without a size (learned from its last occurrence): learned = 1, and multiplier
    // 1, so a release before this column reads it as an event of no size rather than a NULL it multiplies by.
    if (!this.hasLearnedColumn()) this.db.exec('ALTER TABLE declared_events ADD COLUMN learned INTEGER NOT NULL DEFAULT 0');
    // Counts for /metrics, kept by triggers as rows are written: a scrape reads a few rows instead of
    // grouping every decision, and retention deleting old rows does not make a counter go down.
    this.db.transaction(() => {
      const has = (name: string): boolean => this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = ?").get(name) !== undefined;
      if (!has('decision_counts')) {
        this.db.exec(`
          CREATE TABLE decision_counts (service TEXT NOT NULL, reason TEXT NOT NULL, act INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (service, reason, act)) WITHOUT ROWID;
          INSERT INTO decision_counts (service, reason, act, n) SELECT service, COALESCE(bound_reason, reason), act, count(*) FROM decisions WHERE true GROUP BY 1, 2, 3;
          CREATE TRIGGER decisions_counted AFTER INSERT ON decisions BEGIN
            INSERT INTO decision_counts (service, reason, act, n) VALUES (NEW.service, COALESCE(NEW.bound_reason, NEW.reason), NEW.act, 1)
              ON CONFLICT (service, reason, act) DO UPDATE SET n = n + 1;
          END;
        `);
      }
      // Decisions by the status of their proof ('none': recorded without one), for `proofs` and the API.
      if (!has('decision_proofs')) {
        this.db.exec(`
          CREATE TABLE decision_proofs (service TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (service, status)) WITHOUT ROWID;
          INSERT INTO decision_proofs (service, status, n) SELECT service, COALESCE(json_extract(decision, '$.proof.status'), 'none'), count(*) FROM decisions WHERE true GROUP BY 1, 2;
          CREATE TRIGGER decisions_proofs_counted AFTER INSERT ON decisions BEGIN
            INSERT INTO decision_proofs (service, status, n) VALUES (NEW.service, COALESCE(json_extract(NEW.decision, '$.proof.status'), 'none'), 1)
              ON CONFLICT (service, status) DO UPDATE SET n = n + 1;
          END;
        `);
      }
      // An open experiment counts under verdict '' (a key column cannot be null).
      if (!has('experiment_counts')) {
        this.db.exec(`
          CREATE TABLE experiment_counts (service TEXT NOT NULL, kind TEXT NOT NULL, verdict TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (service, kind, verdict)) WITHOUT ROWID;
          INSERT INTO experiment_counts (service, kind, verdict, n) SELECT service, kind, COALESCE(verdict, ''), count(*) FROM experiments WHERE true GROUP BY 1, 2, 3;
          CREATE TRIGGER experiments_counted AFTER INSERT ON experiments BEGIN
            INSERT INTO experiment_counts (service, kind, verdict, n) VALUES (NEW.service, NEW.kind, COALESCE(NEW.verdict, ''), 1)
              ON CONFLICT (service, kind, verdict) DO UPDATE SET n = n + 1;
          END;
          CREATE TRIGGER experiments_recounted AFTER UPDATE OF verdict ON experiments WHEN COALESCE(OLD.verdict, '') <> COALESCE(NEW.verdict, '') BEGIN
            UPDATE experiment_counts SET n = n - 1 WHERE service = OLD.service AND kind = OLD.kind AND verdict = COALESCE(OLD.verdict, '');
            INSERT INTO experiment_counts (service, kind, verdict, n) VALUES (NEW.service, NEW.kind, COALESCE(NEW.verdict, ''), 1)
              ON CONFLICT (service, kind, verdict) DO UPDATE SET n = n + 1;
          END;
        `);
      }
    })();
  }

  /**
   * The store's identity: a random id kept in the file, so that the same file reached by another path
   * (a symlink, a bind mount, a relative path) is the same store, and a copy at the same path is not.
   */
  get id(): string {
    return this.guard(() => {
      const row = this.db.prepare("SELECT value FROM meta WHERE key = 'id'").get() as { value: string } | undefined;
      if (!row) throw new ShadowscaleError('SHADOWSCALE_E_STORE_CORRUPT', `${this.path}: the store has no id (opened read-only before any owner gave it one)`);
      return row.value;
    });
  }

  /** A value kept in the store's meta table (e.g. the running API's address), if any. */
  static metaAt(path: string, key: string): string | undefined {
    if (notAFile(path)) return undefined;
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true, timeout: 500 });
      return (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
    } catch {
      return undefined;
    } finally {
      db?.close();
    }
  }

  /** A list of instance ids kept in the meta table (`warm-pool:SERVICE`, `ramp:SERVICE`: control/loop.ts). */
  ids(key: string): string[] {
    return this.guard(() => {
      const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
      const ids = row ? (JSON.parse(row.value) as unknown) : [];
      return Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : [];
    });
  }

  /** Keep a list of instance ids: written before the instances it names change role. */
  setIds(key: string, ids: Iterable<string>): void {
    this.setMeta(key, JSON.stringify([...ids].sort()));
  }

  /** The warm pool's instance ids of a service, as last kept. */
  warmPool(service: string): string[] {
    return this.ids(`warm-pool:${service}`);
  }

  /** Keep the warm pool's instance ids of a service: written before an instance joins or leaves the pool. */
  setWarmPool(service: string, ids: Iterable<string>): void {
    this.setIds(`warm-pool:${service}`, ids);
  }

  /** Keep a value in the store's meta table (the owner's address for the CLI, say). */
  setMeta(key: string, value: string): void {
    return this.guard(() => {
      this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
    });
  }

  private takeOwnership(): void {
    const take = this.db.transaction(() => {
      // Stores made before ids get one at their next open.
      this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('id', ?)").run(randomUUID());
      const row = this.db.prepare("SELECT value FROM meta WHERE key = 'owner'").get() as { value: string } | undefined;
      if (row) {
        const owner = JSON.parse(row.value) as { pid: number };
        if (owner.pid !== this.pid && pidAlive(owner.pid)) throw new ShadowscaleError('SHADOWSCALE_E_STORE_LOCKED', `${this.path}: in use by another shadowscale process (pid ${owner.pid}); stop it or use another store`);
      }
      this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('owner', ?)").run(JSON.stringify({ pid: this.pid }));
    });
    try {
      take.immediate();
    } catch (err) {
      throw Store.translate(err, this.path);
    }
  }

  /** Add samples (one transaction), updating the 1 min and 1 h rollups. */
  addSamples(rows: readonly Sample[]): void {
    return this.guard(() => {
      this.db.transaction(() => {
        for (const r of rows) {
          if (!Number.isFinite(r.value)) continue;
          this.stmts.sample.run(r.ts, r.service, r.pool, r.metric, r.value);
          for (const res of RESOLUTIONS) this.stmts.rollup.run(res, Math.floor(r.ts / (res * 1000)) * res * 1000, r.service, r.pool, r.metric, r.value, r.value, r.value);
        }
      })();
    });
  }

  /** A series in [from, to) at 1 s (raw), 60 s or 3600 s resolution. */
  series(q: { service: string; pool: string; metric: string; from: number; to: number; resolution: 1 | 60 | 3600 }): SeriesPoint[] {
    return this.guard(() => {
      if (q.resolution === 1) {
        return (this.stmts.raw.all(q.service, q.pool, q.metric, q.from, q.to) as { ts: number; value: number }[]).map((r) => ({ ts: r.ts, mean: r.value, min: r.value, max: r.value, count: 1 }));
      }
      return (this.stmts.rolled.all(q.resolution, q.service, q.pool, q.metric, q.from, q.to) as { ts: number; count: number; sum: number; min: number; max: number }[]).map((r) => ({ ts: r.ts, mean: r.sum / r.count, min: r.min, max: r.max, count: r.count }));
    });
  }

  /** The services with a rollup of `metric` in `pool` at `resolution` (sorted): who has history to read. */
  servicesWith(q: { pool: string; metric: string; resolution: 60 | 3600 }): string[] {
    return this.guard(() => (this.db.prepare('SELECT DISTINCT service FROM rollups WHERE res = ? AND pool = ? AND metric = ? ORDER BY service').all(q.resolution, q.pool, q.metric) as { service: string }[]).map((r) => r.service));
  }

  /**
   * A series in [from, to) averaged into buckets of `bucketMs` (a multiple of the resolution), computed in
   * SQLite: charts of long ranges read as many points as they can draw. Rows as [bucket start (ms), mean].
   */
  seriesBuckets(q: { service: string; pool: string; metric: string; from: number; to: number; resolution: 1 | 60 | 3600; bucketMs: number }): [number, number][] {
    return this.guard(() => {
      const b = Math.max(1, Math.round(q.bucketMs));
      const stmt =
        q.resolution === 1
          ? (this.stmts.bucketsRaw ??= this.db.prepare('SELECT ts - ts % ? AS b, avg(value) FROM samples WHERE service = ? AND pool = ? AND metric = ? AND ts >= ? AND ts < ? GROUP BY b ORDER BY b'))
          : (this.stmts.bucketsRolled ??= this.db.prepare('SELECT ts - ts % ? AS b, sum(sum) / sum(count) FROM rollups WHERE res = ? AND service = ? AND pool = ? AND metric = ? AND ts >= ? AND ts < ? GROUP BY b ORDER BY b'));
      const args = q.resolution === 1 ? [b, q.service, q.pool, q.metric, q.from, q.to] : [b, q.resolution, q.service, q.pool, q.metric, q.from, q.to];
      return stmt.raw(true).all(...args) as [number, number][];
    });
  }

  /**
   * Apply retention at time `now` (ms); returns the rows removed per table. The samples and rollups go at
   * once; the audit tables (decisions, instance events, finished experiments other than rollouts) at most
   * PRUNE_BATCH rows each per call. The newest decision of each service stays (what a restart resumes from),
   * and so do the operator's standing changes (a pause, a bounds override, a mode: a restart reads them back).
   */
  prune(now: number): { raw: number; minute: number; hour: number; decisions: number; events: number; experiments: number } {
    const audit = now - this.retention.decisionsSeconds * 1000;
    // Trials prove for scaling.trials.freshSeconds and spend budgetWindowSeconds, both at most 30 days: a
    // restart reads them back, so none goes sooner, whatever decisionsSeconds says.
    const experimentsBefore = Math.min(audit, now - EXPERIMENTS_KEPT_AT_LEAST_SECONDS * 1000);
    return this.guard(() =>
      this.db.transaction(() => ({
        raw: this.db.prepare('DELETE FROM samples WHERE ts < ?').run(now - this.retention.rawSeconds * 1000).changes,
        minute: this.db.prepare('DELETE FROM rollups WHERE res = 60 AND ts < ?').run(now - this.retention.minuteSeconds * 1000).changes,
        hour: this.db.prepare('DELETE FROM rollups WHERE res = 3600 AND ts < ?').run(now - this.retention.hourSeconds * 1000).changes,
        decisions: this.db
          .prepare(
            `DELETE FROM decisions WHERE seq IN (SELECT seq FROM decisions AS d WHERE d.ts < ? AND d.reason NOT IN (${KEPT_REASONS.map(() => '?').join(', ')})
               AND d.seq < (SELECT max(seq) FROM decisions AS l WHERE l.service = d.service) ORDER BY d.ts LIMIT ?)`,
          )
          .run(audit, ...KEPT_REASONS, PRUNE_BATCH).changes,
        events: this.db.prepare('DELETE FROM instance_events WHERE seq IN (SELECT seq FROM instance_events WHERE ts < ? ORDER BY ts LIMIT ?)').run(audit, PRUNE_BATCH).changes,
        experiments: this.db
          .prepare("DELETE FROM experiments WHERE id IN (SELECT id FROM experiments WHERE finished_at IS NOT NULL AND finished_at < ? AND kind <> 'rollout' ORDER BY finished_at LIMIT ?)")
          .run(experimentsBefore, PRUNE_BATCH).changes,
      }))(),
    );
  }

  /**
   * The declared events' statements, prepared once the table is there: always for a store opened for writing
   * (made on open); a store an earlier release made, opened read-only, has none until a writer opens it.
   */
  private declaredStatements() {
    if (this.declared) return this.declared;
    if (!this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'declared_events'").get()) return undefined;
    // Read only, a store an earlier release wrote may not have the learned column yet: none is learned there.
    const hasLearned = this.hasLearnedColumn();
    const learned = hasLearned ? 'learned' : '0 AS learned';
    this.declared = {
      add: hasLearned ? this.db.prepare('INSERT INTO declared_events (id, service, name, start_ms, end_ms, recurrence, multiplier, learned, created_at, by, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)') : undefined,
      list: this.db.prepare(`SELECT id, service, name, start_ms, end_ms, recurrence, multiplier, ${learned}, created_at, by, note FROM declared_events WHERE service = ? ORDER BY created_at, id`),
      remove: this.db.prepare('DELETE FROM declared_events WHERE service = ? AND id = ?'),
      prune: this.db.prepare("DELETE FROM declared_events WHERE recurrence = 'none' AND end_ms < ?"),
    };
    return this.declared;
  }

  private hasLearnedColumn(): boolean {
    return (this.db.prepare("SELECT count(*) AS n FROM pragma_table_info('declared_events') WHERE name = 'learned'").get() as { n: number }).n > 0;
  }

  /**
   * Run `fn` as one transaction: a record and the change it records (an operator's declared event) are kept
   * both or neither, whatever stops the process between them.
   */
  atomically<T>(fn: () => T): T {
    return this.guard(() => this.db.transaction(fn)());
  }

  /** Forget one-off declared events past the longest history a forecast reads (the hourly rollups'); returns how many. */
  pruneDeclaredEvents(now: number): number {
    return this.guard(() => this.declaredStatements()?.prune.run(now - this.retention.hourSeconds * 1000).changes ?? 0
    );
  }

  /** Keep a known event an operator declared (API). */
  addDeclaredEvent(e: DeclaredEventRecord): void {
    this.guard(() => {
      const st = this.declaredStatements()?.add;
      if (!st) throw new ShadowscaleError('SHADOWSCALE_E_STORE_CORRUPT', `${this.path}: no declared_events table with a learned column (a store opened read-only in an earlier release's layout)`);
      st.run(e.id, e.service, e.name, e.start, e.end, e.recurrence, e.multiplier ?? 1, e.multiplier === null ? 1 : 0, e.createdAt, e.by, e.note);
    });
  }

  /** A service's declared events, in the order they were declared. */
  declaredEvents(service: string): DeclaredEventRecord[] {
    return this.guard(() => {
      // A store an earlier release made and nothing has opened for writing since has no such table: none declared.
      const rows = (this.declaredStatements()?.list.all(service) ?? []) as {
        id: string;
        service: string;
        name: string;
        start_ms: number;
        end_ms: number;
        recurrence: DeclaredEventRecord['recurrence'];
        multiplier: number;
        learned: number;
        created_at: number;
        by: string;
        note: string | null;
      }[];
      return rows.map((r) => ({ id: r.id, service: r.service, name: r.name, start: r.start_ms, end: r.end_ms, recurrence: r.recurrence, multiplier: r.learned ? null : r.multiplier, createdAt: r.created_at, by: r.by, note: r.note }));
    });
  }

  /** Forget a declared event; false when the service has none with that id. */
  removeDeclaredEvent(service: string, id: string): boolean {
    return this.guard(() => (this.declaredStatements()?.remove.run(service, id).changes ?? 0) > 0);
  }

  /** Record a decision (before it is acted on; `decision.at` in seconds, stored as ms); returns its sequence number. */
  addDecision(service: string, decision: Decision, target: number, boundReason: string | null, act = target !== decision.current): number {
    return this.guard(() => {
      const r = this.stmts.decision.run(Math.round(decision.at * 1000), service, decision.strategy, decision.reason, decision.current, decision.desired, target, boundReason, act ? 1 : 0, JSON.stringify(decision));
      return Number(r.lastInsertRowid);
    });
  }

  /** Decisions at or after `since` (ms), oldest first; the most recent `limit`. */
  decisions(q: { service?: string; since?: number; limit?: number } = {}): DecisionRecord[] {
    return this.guard(() => {
      // One service's by its (service, seq) index: the newest of a service that decides rarely beside others is not a walk of theirs.
      const rows = (
        q.service !== undefined
          ? this.pageStmts.all.all(q.service, Number.MAX_SAFE_INTEGER, q.since ?? 0, Number.MAX_SAFE_INTEGER, q.limit ?? 1000)
          : this.db.prepare('SELECT seq, service, target, bound_reason, act, decision FROM decisions WHERE ts >= ? ORDER BY seq DESC LIMIT ?').all(q.since ?? 0, q.limit ?? 1000)
      ) as DecisionRow[];
      return rows.reverse().map(decisionRecord);
    });
  }

  /**
   * A page of decisions, newest first: those of `service` in [since, until) (ms) whose reason (the
   * strategy's, or the bound or gate's that replaced it) is one of `reasons`, older than sequence
   * number `before` (the previous page's cursor). `next` is the cursor of the page after, or null.
   */
  decisionsPage(q: { service: string; since?: number; until?: number; reasons?: readonly string[]; before?: number; limit: number }): { decisions: DecisionRecord[]; next: number | null } {
    return this.guard(() => {
      const reasons = q.reasons && q.reasons.length ? [...new Set(q.reasons)] : null;
      const before = q.before ?? Number.MAX_SAFE_INTEGER;
      const since = q.since ?? 0;
      const until = q.until ?? Number.MAX_SAFE_INTEGER;
      let rows: DecisionRow[];
      if (!reasons) {
        // The (service, seq) index walked backwards; the time bounds filter (+ts: not an index choice).
        rows = this.pageStmts.all.all(q.service, before, since, until, q.limit + 1) as DecisionRow[];
      } else {
        // Per reason, its newest limit + 1 by the (service, reason, seq) and (service, bound_reason, seq)
        // indexes walked backwards, then merged: a rare reason does not walk every decision of the service
        // (an operator's pause, read back at every start), a common one does not sort all of its rows.
        const seqs = new Set<number>();
        for (const r of reasons) for (const by of [this.pageStmts.byReason, this.pageStmts.byBound]) for (const x of by.all(q.service, r, before, since, until, q.limit + 1) as { seq: number }[]) seqs.add(x.seq);
        const newest = [...seqs].sort((a, b) => b - a).slice(0, q.limit + 1);
        rows = newest.map((seq) => this.pageStmts.one.get(seq) as DecisionRow);
      }
      const page = rows.slice(0, q.limit).map(decisionRecord);
      return { decisions: page, next: rows.length > q.limit ? (page[page.length - 1]?.seq ?? null) : null };
    });
  }

  /** One decision of `service` by its sequence number. */
  decision(service: string, seq: number): DecisionRecord | undefined {
    return this.guard(() => {
      const r = this.pageStmts.one.get(seq) as DecisionRow | undefined;
      return r && r.service === service ? decisionRecord(r) : undefined;
    });
  }

  /** The newest decision of `service` with one of `reasons`, if any. */
  latestDecision(service: string, reasons: readonly string[]): DecisionRecord | undefined {
    return this.decisionsPage({ service, reasons, limit: 1 }).decisions[0];
  }

  /**
   * Decisions of a service counted by the reason that set the target (the bound's or gate's, else the
   * strategy's) and whether they acted: every decision ever recorded, retention notwithstanding.
   */
  decisionCounts(service: string): { reason: string; acted: boolean; count: number }[] {
    return this.guard(() =>
      (this.db.prepare(this.counted ? 'SELECT reason, act, n FROM decision_counts WHERE service = ? AND n > 0' : 'SELECT COALESCE(bound_reason, reason) AS reason, act, count(*) AS n FROM decisions WHERE service = ? GROUP BY 1, 2').all(service) as { reason: string; act: number; n: number }[]).map((r) => ({
        reason: r.reason,
        acted: r.act === 1,
        count: r.n,
      })),
    );
  }

  /** Decisions of a service counted by the status of their proof (`none`: recorded without one): every one ever recorded. */
  proofStatusCounts(service: string): Record<string, number> {
    return this.guard(() => {
      const rows = this.db
        .prepare(this.counted ? 'SELECT status, n FROM decision_proofs WHERE service = ? AND n > 0' : "SELECT COALESCE(json_extract(decision, '$.proof.status'), 'none') AS status, count(*) AS n FROM decisions WHERE service = ? GROUP BY 1")
        .all(service) as { status: string; n: number }[];
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    });
  }

  /** Experiments counted by service, kind and verdict (null while open): every one ever started, retention notwithstanding. */
  experimentCounts(): { service: string; kind: string; verdict: string | null; count: number }[] {
    return this.guard(() =>
      (this.db.prepare(this.counted ? "SELECT service, kind, NULLIF(verdict, '') AS verdict, n FROM experiment_counts WHERE n > 0" : 'SELECT service, kind, verdict, count(*) AS n FROM experiments GROUP BY 1, 2, 3').all() as { service: string; kind: string; verdict: string | null; n: number }[]).map((r) => ({
        service: r.service,
        kind: r.kind,
        verdict: r.verdict,
        count: r.n,
      })),
    );
  }

  addEvent(e: InstanceEvent): void {
    return this.guard(() => {
      this.stmts.event.run(e.at, e.kind, e.instance, e.service, e.pool, e.detail ?? null);
    });
  }

  events(q: { since?: number; limit?: number } = {}): InstanceEvent[] {
    return this.guard(() => {
      const rows = this.db.prepare('SELECT ts, kind, instance, service, pool, detail FROM instance_events WHERE ts >= ? ORDER BY seq DESC LIMIT ?').all(q.since ?? 0, q.limit ?? 1000) as { ts: number; kind: InstanceEvent['kind']; instance: string; service: string; pool: 'live' | 'shadow'; detail: string | null }[];
      return rows.reverse().map((r) => ({ at: r.ts, kind: r.kind, instance: r.instance, service: r.service, pool: r.pool, ...(r.detail !== null ? { detail: r.detail } : {}) }));
    });
  }

  saveInstance(r: InstanceRecord): void {
    return this.guard(() => {
      this.stmts.saveInstance.run(r.id, r.service, r.pool, r.instanceType, JSON.stringify(r.labels), r.pid, r.port, r.createdAt);
    });
  }

  removeInstance(id: string): void {
    return this.guard(() => {
      this.stmts.removeInstance.run(id);
    });
  }

  loadInstances(): InstanceRecord[] {
    return this.guard(() => (this.stmts.loadInstances.all() as InstanceRow[]).map(instanceRecord));
  }

  startExperiment(e: { id: string; service: string; kind: string; startedAt: number; config: unknown }): void {
    return this.guard(() => {
      this.db.prepare('INSERT INTO experiments (id, service, kind, started_at, config) VALUES (?, ?, ?, ?, ?)').run(e.id, e.service, e.kind, e.startedAt, JSON.stringify(e.config));
    });
  }

  finishExperiment(id: string, finishedAt: number, verdict: string, details: unknown): void {
    return this.guard(() => {
      const r = this.db.prepare('UPDATE experiments SET finished_at = ?, verdict = ?, details = ? WHERE id = ?').run(finishedAt, verdict, JSON.stringify(details), id);
      if (r.changes === 0) throw new ShadowscaleError('SHADOWSCALE_E_NOT_FOUND', `no experiment "${id}"`);
    });
  }

  /** Experiments, oldest first: of one service, of one kind, only open ones (each filter optional). */
  experiments(q: ExperimentQuery = {}): ExperimentRecord[] {
    return this.guard(() => {
      // Only the filters given, so that the (service, kind, started_at) index serves them.
      const where = [q.service !== undefined ? 'service = ?' : '', q.kind !== undefined ? 'kind = ?' : '', q.open ? 'finished_at IS NULL' : ''].filter(Boolean);
      const rows = this.db
        .prepare(`SELECT * FROM experiments${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at`)
        .all(...[q.service, q.kind].filter((x) => x !== undefined)) as { id: string; service: string; kind: string; started_at: number; finished_at: number | null; config: string; verdict: string | null; details: string | null }[];
      return rows.map((r) => ({
        id: r.id,
        service: r.service,
        kind: r.kind,
        startedAt: r.started_at,
        finishedAt: r.finished_at,
        config: JSON.parse(r.config) as unknown,
        verdict: r.verdict,
        details: r.details === null ? null : (JSON.parse(r.details) as unknown),
      }));
    });
  }

  /** Give up ownership and close. */
  close(): void {
    if (!this.db.open) return;
    if (this.db.readonly || this.failure) {
      // A failed store is not written again (the owner mark stays; a dead owner is taken over).
      this.db.close();
      return;
    }
    try {
      this.db.prepare("DELETE FROM meta WHERE key = 'owner' AND value = ?").run(JSON.stringify({ pid: this.pid }));
      this.db.prepare("DELETE FROM meta WHERE key = 'api'").run();
    } finally {
      this.db.close();
    }
  }
}
