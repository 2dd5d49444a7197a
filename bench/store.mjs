// bench:store — what a long-running control plane's store costs: the decisions' size per day, a /metrics
// scrape's decision counts (kept by triggers) beside the GROUP BY over every decision they replace, and
// retention's prune, catching up and in the steady state; and the read of a service's rollouts the loop makes
// at every decision, beside the read of every experiment it replaces; a page of decisions by reason; and the
// decisions by proof status.
//
// The store holds DAYS days of one service's decisions, one per 15 s (the default scaling.periodSeconds),
// each a hybrid decision with its proof as a `shadowscale run` records it (the template below was taken
// from a run of examples/demo/demo.yaml). Writes bench/results/store.md.
// Usage: npm run bench:store -- [--days N] [--reps N] [--out FILE]
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { PRUNE_BATCH, Store } from '../dist/src/metrics/store.js';
import { args, machine } from './lib.mjs';

const a = args();
const days = Number(a.days ?? 120);
const reps = Number(a.reps ?? 200);
const out = a.out ?? 'bench/results/store.md';
if (!(Number.isInteger(days) && days >= 2 && days <= 1000)) throw new Error(`--days: expected a whole number of days from 2 to 1000, got ${a.days}`);
if (!(Number.isInteger(reps) && reps >= 10)) throw new Error(`--reps: expected a whole number from 10, got ${a.reps}`);

const PERIOD_MS = 15_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const REASONS = ['forecast_peak', 'min_instances', 'hold', 'scale_in_forecast', 'utilization_above_target'];

function decision(at, i) {
  const current = 2 + (i % 7);
  return {
    strategy: 'hybrid',
    at: at / 1000,
    current,
    desired: current,
    reason: REASONS[i % REASONS.length],
    driver: 'predictive',
    numbers: { predictiveDesired: current, reactiveDesired: current - 1, observedRps: 120.5 + (i % 50), risk: 0.01, adaptedMinutes: i % 1440, meanRps: 118.25, windowEnd: at / 1000 + 135, leadTimeSeconds: 120, perInstanceRps: 76.68205042391492, boundRps: 151.2, rising: 0, recommended: current, holdSeconds: 600 },
    proof: {
      mode: 'required',
      status: 'no_change',
      candidate: { instanceType: 'small', count: current, perInstanceRps: 76.68205042391492 },
      verdict: 'pass',
      trial: `web-trial-${(i >> 8).toString(36)}`,
      numbers: { targetRps: 151.2, perInstanceRps: 76.68205042391492, provenRps: 460.09, failedRps: 598.12, evidenceAgeSeconds: (i % 3600) * 1.5, predictedP99Ms: 126.9 },
      considered: [
        { instanceType: 'small', count: current, costPerHour: 0.1 * current, perInstanceRps: 76.68, proof: 'pass' },
        { instanceType: 'fast', count: current - 1, costPerHour: 0.16 * (current - 1), perInstanceRps: 99.5, proof: 'pass' },
      ],
      dropped: [],
    },
  };
}

const TRIAL_CONFIG = (id) => ({ id, service: 'web', instanceType: 'small', perInstanceRps: 53.67743529674044, stepFractions: [1, 1.4285714285714286, 1.8571428571428572], minSamplesPerStep: 400, minStepSeconds: 2, maxStepSeconds: 10, warmupSeconds: 4, path: '/work', seed: 2, instanceId: `${id}-i0`, instanceIds: [`${id}-i0`] });
const step = (verdict, targetRps, achievedRps, p99Ms) => ({ verdict, numbers: { targetRps, achievedRps, requests: 437, p99Ms, p99LowMs: p99Ms * 0.92, p99HighMs: p99Ms * 1.33, errorRate: 0, errorRateLow: 0, errorRateHigh: 0.008713923679287916 } });
const TRIAL_DETAILS = (id) => ({ id, instanceType: 'small', perInstanceRps: 53.67743529674044, verdict: 'pass', steps: [step('pass', 53.677, 51.75, 126.9), step('pass', 76.682, 72.83, 176.3), step('fail', 99.687, 96.6, 199.8)], capacityAtSloRps: { atLeast: 96.6 } });

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const ms = (x) => (x === undefined ? 'none' : x.toFixed(3));

const dir = mkdtempSync(join(tmpdir(), 'bench-store-'));
try {
  const path = join(dir, 'store.db');
  Store.open({ path }).close();
  const n = days * (DAY / PERIOD_MS);
  const before = statSync(path).size;
  // Written in bulk (one transaction), through the same INSERT as Store.addDecision: the triggers count them.
  const t0 = performance.now();
  {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    const ins = db.prepare('INSERT INTO decisions (ts, service, strategy, reason, current, desired, target, bound_reason, act, decision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const at = T0 + i * PERIOD_MS;
        const d = decision(at, i);
        ins.run(at, 'web', d.strategy, d.reason, d.current, d.desired, d.desired, i % 10 === 0 ? 'max_step' : null, i % 40 === 0 ? 1 : 0, JSON.stringify(d));
      }
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
  }
  const bytes = statSync(path).size - before;
  console.error(`${n} decisions written in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${(bytes / 2 ** 20).toFixed(1)} MiB`);

  const store = Store.open({ path, retention: { decisionsSeconds: 90 * 86400 } });
  const raw = new Database(path, { readonly: true });
  const grouped = raw.prepare('SELECT COALESCE(bound_reason, reason) AS reason, act, count(*) AS n FROM decisions WHERE service = ? GROUP BY 1, 2');
  // Side by side, alternating: the counts the triggers keep, and the GROUP BY that /metrics ran before.
  const counted = [];
  const scanned = [];
  let agree = true;
  for (let r = 0; r < reps + 5; r++) {
    let t = performance.now();
    const c = store.decisionCounts('web');
    const dc = performance.now() - t;
    t = performance.now();
    const g = grouped.all('web');
    const dg = performance.now() - t;
    if (r >= 5) {
      counted.push(dc);
      scanned.push(dg);
    }
    const total = (xs, f) => xs.reduce((s, x) => s + f(x), 0);
    if (total(c, (x) => x.count) !== total(g, (x) => x.n)) agree = false;
  }
  counted.sort((x, y) => x - y);
  scanned.sort((x, y) => x - y);
  raw.close();

  // A page of 100 filtered by reason, as the API serves it and as a restart reads back the operator's
  // changes: by the per-reason indexes, beside the walk of every decision newest first that it replaces
  // (the same statement as before, held to the (service, seq) index it used).
  const walk = (() => {
    const db = new Database(path, { readonly: true });
    const st = (n) => db.prepare(`SELECT seq, service, target, bound_reason, act, decision FROM decisions INDEXED BY decisions_service_seq
      WHERE service = ? AND seq < ? AND +ts >= ? AND +ts < ? AND (reason IN (${Array(n).fill('?').join(',')}) OR bound_reason IN (${Array(n).fill('?').join(',')})) ORDER BY seq DESC LIMIT ?`);
    return { run: (reasons) => st(reasons.length).all('web', Number.MAX_SAFE_INTEGER, 0, Number.MAX_SAFE_INTEGER, ...reasons, ...reasons, 101).map((r) => JSON.parse(r.decision)), close: () => db.close() };
  })();
  const pages = [];
  for (const [name, reasons] of [
    ['a reason no decision has (an operator pause never set)', ['operator_paused', 'operator_resumed']],
    ['a common reason (a fifth of the decisions)', ['hold']],
  ]) {
    const now = [];
    const was = [];
    for (let r = 0; r < Math.min(reps, 50) + 2; r++) {
      let t = performance.now();
      const p = store.decisionsPage({ service: 'web', reasons, limit: 100 });
      const dn = performance.now() - t;
      t = performance.now();
      const w = walk.run(reasons);
      const dw = performance.now() - t;
      if (p.decisions.length !== Math.min(100, w.length)) throw new Error(`${name}: the two reads disagree`);
      if (r >= 2) {
        now.push(dn);
        was.push(dw);
      }
    }
    now.sort((x, y) => x - y);
    was.sort((x, y) => x - y);
    pages.push({ name, now, was });
  }
  walk.close();

  // `shadowscale proofs` and the API's experiments view: the decisions by proof status, from the counts a
  // trigger keeps, beside loading every decision and counting in JavaScript as `proofs` did (once each: the
  // load takes seconds and most of a gigabyte).
  const proofReads = (() => {
    let t = performance.now();
    const counted = store.proofStatusCounts('web');
    const byCounts = performance.now() - t;
    const heap0 = process.memoryUsage().heapUsed;
    t = performance.now();
    const all = store.decisions({ service: 'web', limit: 1_000_000 });
    const loaded = {};
    for (const d of all) loaded[d.decision.proof?.status ?? 'none'] = (loaded[d.decision.proof?.status ?? 'none'] ?? 0) + 1;
    const byLoad = performance.now() - t;
    const heapMb = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
    if (JSON.stringify(Object.entries(loaded).sort()) !== JSON.stringify(Object.entries(counted).sort())) throw new Error('the proof counts disagree');
    return { byCounts, byLoad, heapMb, rows: all.length };
  })();

  // Retention: now is the end of the written days; everything older than 90 days goes, PRUNE_BATCH rows a call.
  const now = T0 + days * DAY;
  const due = Math.max(0, n - 90 * (DAY / PERIOD_MS));
  const catchUp = [];
  let removed = 0;
  for (;;) {
    const t = performance.now();
    const r = store.prune(now).decisions;
    if (r === 0) break;
    catchUp.push(performance.now() - t);
    removed += r;
  }
  catchUp.sort((x, y) => x - y);
  // The steady state: a minute on, once a minute (as the loop prunes), four decisions come of age each time.
  const steady = [];
  for (let m = 1; m <= reps; m++) {
    for (let k = 0; k < 4; k++) store.addDecision('web', decision(now + (m - 1) * 60_000 + k * PERIOD_MS, k), 3, null, false);
    const t = performance.now();
    store.prune(now + m * 60_000);
    steady.push(performance.now() - t);
  }
  steady.sort((x, y) => x - y);
  const after = store.decisionCounts('web').reduce((s, x) => s + x.count, 0);

  // The loop asks at every decision whether a type change may start: it reads the service's rollouts.
  // TRIALS trials (a proof an hour for 90 days, as trials.freshSeconds' default re-proves) and 20 rollouts.
  const trials = 90 * 24;
  for (let i = 0; i < trials; i++) {
    const id = `web-trial-${i}`;
    const at = now - 90 * DAY + i * 3_600_000;
    store.startExperiment({ id, service: 'web', kind: 'trial', startedAt: at, config: TRIAL_CONFIG(id) });
    store.finishExperiment(id, at + 60_000, 'pass', TRIAL_DETAILS(id));
  }
  for (let i = 0; i < 20; i++) {
    const id = `web-rollout-${i}`;
    store.startExperiment({ id, service: 'web', kind: 'rollout', startedAt: now - i * DAY, config: { to: `v${i}` } });
    store.finishExperiment(id, now - i * DAY + 600_000, i % 4 === 0 ? 'rolled_back' : 'completed', { id });
  }
  const byQuery = [];
  const byFilter = [];
  for (let r = 0; r < reps + 5; r++) {
    let t = performance.now();
    const q = store.experiments({ service: 'web', kind: 'rollout' }).filter((e) => e.verdict === 'rolled_back');
    const dq = performance.now() - t;
    t = performance.now();
    const f = store.experiments().filter((e) => e.kind === 'rollout' && e.service === 'web' && e.verdict === 'rolled_back');
    const df = performance.now() - t;
    if (q.length !== f.length) throw new Error('the two reads disagree');
    if (r >= 5) {
      byQuery.push(dq);
      byFilter.push(df);
    }
  }
  byQuery.sort((x, y) => x - y);
  byFilter.sort((x, y) => x - y);
  store.close();

  const perDay = bytes / days;
  const md = `# bench:store — the store of a long-running control plane

Command: \`npm run bench:store -- --days ${days} --reps ${reps}\` (bench/store.mjs)
Machine: ${machine()}
Date: ${new Date().toISOString().slice(0, 10)}

One service's decisions for ${days} days, one per 15 s (the default \`scaling.periodSeconds\`): ${n.toLocaleString('en-US')} rows,
each a hybrid decision with its proof as \`shadowscale run\` records it (about ${Math.round(JSON.stringify(decision(T0, 0)).length / 10) * 10} bytes of JSON).

## Size

| what | figure |
| --- | --- |
| store growth per day of decisions (rows and indexes) | ${(perDay / 2 ** 20).toFixed(2)} MiB |
| the same over a year, per service | ${((perDay * 365) / 2 ** 30).toFixed(2)} GiB |
| kept by the default retention (\`store.retention.decisionsSeconds\`, 90 days) | ${((perDay * 90) / 2 ** 20).toFixed(0)} MiB |

Before the retention of decisions the table only grew: a store with \`store.maxSizeBytes\` stops the loop when full.

## /metrics: the decision counts (\`shadowscale_decisions_total\`)

Side by side in one process, alternating, ${reps} times each over the ${n.toLocaleString('en-US')} decisions:

| query | p50 ms | p99 ms | max ms |
| --- | --- | --- | --- |
| the counts kept by triggers (\`decision_counts\`) | ${ms(quantile(counted, 0.5))} | ${ms(quantile(counted, 0.99))} | ${ms(counted[counted.length - 1])} |
| GROUP BY over every decision (before) | ${ms(quantile(scanned, 0.5))} | ${ms(quantile(scanned, 0.99))} | ${ms(scanned[scanned.length - 1])} |

The two agree on the total (${agree ? 'checked every time' : 'THEY DISAGREED'}). After retention removed ${removed.toLocaleString('en-US')} decisions the counts still total ${after.toLocaleString('en-US')} (every decision ever recorded), so the counter never goes down.

## Retention (\`Store.prune\`, which the loop calls once a minute)

| phase | calls | p50 ms | p99 ms | max ms |
| --- | --- | --- | --- | --- |
| catching up: ${due.toLocaleString('en-US')} decisions past 90 days, at most ${PRUNE_BATCH.toLocaleString('en-US')} a call | ${catchUp.length} | ${ms(quantile(catchUp, 0.5))} | ${ms(quantile(catchUp, 0.99))} | ${ms(catchUp[catchUp.length - 1])} |
| steady state: four decisions come of age a minute | ${steady.length} | ${ms(quantile(steady, 0.5))} | ${ms(quantile(steady, 0.99))} | ${ms(steady[steady.length - 1])} |

## A page of decisions by reason (the API; a restart reading back the operator's pause, bounds and mode)

A page of 100, newest first, over the ${n.toLocaleString('en-US')} decisions, side by side ${Math.min(reps, 50)} times each:

| reasons | by the per-reason indexes: p50 ms | max ms | walking every decision (before): p50 ms | max ms |
| --- | --- | --- | --- | --- |
${pages.map((p) => `| ${p.name} | ${ms(quantile(p.now, 0.5))} | ${ms(p.now[p.now.length - 1])} | ${ms(quantile(p.was, 0.5))} | ${ms(p.was[p.was.length - 1])} |`).join('\n')}

## Decisions by proof status (\`shadowscale proofs\`, the API's experiments view)

| read | ms | heap MB |
| --- | --- | --- |
| the counts a trigger keeps (\`decision_proofs\`) | ${ms(proofReads.byCounts)} | |
| every decision loaded and counted (before; ${proofReads.rows.toLocaleString('en-US')} of them) | ${ms(proofReads.byLoad)} | ${proofReads.heapMb.toFixed(0)} |

## The rollouts the loop reads at every decision

Whether a type change may start reads the service's rolled-back rollouts, at every decision. With ${trials.toLocaleString('en-US')} finished
trials in the store (one an hour for 90 days, each about ${Math.round((JSON.stringify(TRIAL_CONFIG('web-trial-0')).length + JSON.stringify(TRIAL_DETAILS('web-trial-0')).length) / 10) * 10} bytes of JSON) and 20 rollouts, side by side, ${reps} times each:

| read | p50 ms | p99 ms | max ms |
| --- | --- | --- | --- |
| the service's rollouts (\`experiments({ service, kind })\`, indexed) | ${ms(quantile(byQuery, 0.5))} | ${ms(quantile(byQuery, 0.99))} | ${ms(byQuery[byQuery.length - 1])} |
| every experiment, filtered in JavaScript (before) | ${ms(quantile(byFilter, 0.5))} | ${ms(quantile(byFilter, 0.99))} | ${ms(byFilter[byFilter.length - 1])} |
`;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, md);
  console.log(md);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
