// Discrete-time (1 s) simulator of one service pool under a strategy. Design: docs/design/simulator.md
//
// Each second:
// 1. every `period` seconds the strategy decides from what it could have observed (metrics up to the
//    previous second, a forecast refitted on history only); the decision passes the action bounds
//    and is applied: launches start provisioning, removals take the least advanced instance first;
// 2. spot instances may be reclaimed (seeded) and are replaced at once;
// 3. the ready instances serve: capacity = sum of warm-up factors x slots / service time; requests
//    beyond capacity queue (fluid backlog, bounded by queueLimit per ready instance), the excess fails;
// 4. the latency law of the second is M/M/c per instance (even split by capacity) without backlog,
//    or the backlog's queueing delay plus service with one; the share of requests slower than the
//    SLO and the failures add up per minute, and a minute violates the SLO when its p99 or its error
//    rate misses the objective;
// 5. every instance that exists is billed for the second.

import { erlangC, instancesFor, latencyTail, quantileOfTail, warmupFactor, type LatencyLaw } from '../core/capacity.js';
import { bill, isSpotLaunch, type Bill, type Prices, type PurchasePlan } from '../core/cost.js';
import type { Forecast, Forecaster } from '../core/forecast.js';
import { EventAdjustedForecaster, sizedEvents, type KnownEvent } from '../core/events.js';
import { buildForecaster, type ForecasterSettings } from '../core/forecasters.js';
import { boundDecision, NO_HISTORY, recordAction, type ActionBounds, type ActionHistory } from '../core/policy.js';
import { createRng } from '../core/random.js';
import type { Decision, Reason } from '../core/reasons.js';
import type { Observation, Strategy } from '../core/strategy.js';
import type { Workload } from './workload.js';

export interface PoolModel {
  readonly slots: number;
  /** Mean service time (seconds). */
  readonly serviceTime: number;
  readonly queueLimit: number;
  readonly provisioningSeconds: number;
  readonly warmupSeconds: number;
  readonly warmupCapacity: number;
  /**
   * New instances take no traffic until warm (scaling.switchover.warmBeforeTraffic): no capacity during
   * their warm-up, and not counted ready, as the live loop keeps them out of the balancer. Instances of the
   * initial pool are warm already.
   */
  readonly warmBeforeTraffic?: boolean;
}

export interface SimSettings {
  readonly pool: PoolModel;
  /** p99 latency objective (seconds). */
  readonly sloLatency: number;
  readonly sloErrorRate: number;
  /** Requests/s one warm instance serves within the SLO. */
  readonly perInstanceRps: number;
  readonly bounds: ActionBounds;
  readonly prices: Prices;
  readonly plan: PurchasePlan;
  readonly spotInterruptionsPerHour: number;
  readonly metricWindowSeconds: number;
  readonly staleMetricsSeconds: number;
  /** `events`: the service's known events; those with a multiplier adjust the forecasts (src/core/events.ts). */
  readonly forecast: { readonly level: number; readonly refitSeconds: number; readonly historyDays: number; readonly events?: readonly KnownEvent[] } & Omit<ForecasterSettings, 'reuseFitPoints'> & { readonly refitHours: number };
  /** Instances running (warm) at the start; the same for every strategy. */
  readonly initialInstances: number;
  readonly seed: number;
  readonly recordMinutes?: boolean;
  /** Keep at most this many decision records (the latest); 0 keeps none. */
  readonly keepDecisions?: number;
  /**
   * Forecasts by refit index, shared by runs over the same workload and forecast settings (a sweep):
   * the demand history does not depend on the strategy, so each forecast is computed once.
   */
  readonly forecastCache?: Map<number, Forecast | undefined>;
}

export interface MinuteRecord {
  readonly at: number;
  readonly requests: number;
  readonly failed: number;
  readonly p99: number;
  readonly instances: number;
  readonly violated: boolean;
}

export interface SimResult {
  readonly strategy: string;
  readonly activeSeconds: number;
  readonly minutes: number;
  readonly sloViolationMinutes: number;
  readonly sloAttainment: number;
  readonly bill: Bill;
  readonly overProvisioning: number;
  readonly scalingActions: number;
  readonly maxInstances: number;
  /** Instance-seconds held inside gaps in the trace (not billed: nothing there is served or scored). */
  readonly gapInstanceSeconds: number;
  readonly requests: number;
  readonly failedRequests: number;
  readonly reasons: Partial<Record<Reason, number>>;
  readonly minuteRecords?: MinuteRecord[];
  readonly decisions?: Decision[];
}

const P99_TAIL = 0.01;

/** Per-second need of warm instances to meet the SLO (the oracle's input and the over-provisioning baseline). */
export function neededInstances(w: Workload, perInstanceRps: number, minInstances: number): Int32Array {
  const need = new Int32Array(w.arrivals.length);
  for (let i = 0; i < need.length; i++) {
    need[i] = w.active[i] ? Math.max(minInstances, instancesFor(w.arrivals[i] as number, perInstanceRps)) : 0;
  }
  return need;
}

export function simulate(w: Workload, strategy: Strategy, s: SimSettings, onProgress?: (done: number) => void): SimResult {
  const model: Forecaster = buildForecaster({ ...s.forecast, reuseFitPoints: Math.round((s.forecast.refitHours * 3600) / 60) });
  // Known events of declared size: the fit sees the history without them, the strategy a forecast with them.
  const forecaster: Forecaster = sizedEvents(s.forecast.events ?? []).length ? new EventAdjustedForecaster(model, s.forecast.events ?? []) : model;
  const { pool } = s;
  const mu = 1 / pool.serviceTime;
  const slotRate = pool.slots * mu;
  const lead = pool.provisioningSeconds + pool.warmupSeconds;
  const T = w.arrivals.length;
  const rng = createRng(s.seed ^ 0x5eed);
  const pInterrupt = s.spotInterruptionsPerHour / 3600;
  const isOracle = strategy.name === 'oracle';
  // The HPA rule never reads a forecast: fitting one for it would only cost time.
  const wantsForecast = !isOracle && strategy.name !== 'reactive';
  const cache = s.forecastCache;

  // Instances, ordered by launch time (launches append; removals take from the end).
  const launch: number[] = [];
  const spot: boolean[] = [];
  let spotCount = 0;
  let launchesAboveReservation = 0;
  let warmIdx = 0;
  const addInstance = (at: number): void => {
    let isSpot = false;
    if (launch.length >= s.plan.reservedInstances) isSpot = isSpotLaunch(launchesAboveReservation++, s.plan.spotShare);
    launch.push(at);
    spot.push(isSpot);
    if (isSpot) spotCount++;
  };
  const removeAt = (idx: number): void => {
    if (spot[idx]) spotCount--;
    launch.splice(idx, 1);
    spot.splice(idx, 1);
    if (idx < warmIdx) warmIdx--;
  };
  for (let k = 0; k < s.initialInstances; k++) addInstance(w.start - lead - 1);

  // Metric window (ring buffer of per-second utilization and arrivals).
  const win = Math.max(1, Math.round(s.metricWindowSeconds));
  const utilBuf = new Float64Array(win);
  const arrBuf = new Float64Array(win);
  const timeBuf = new Float64Array(win).fill(Number.NEGATIVE_INFINITY);
  let utilSum = 0;
  let arrSum = 0;
  let winCount = 0;
  let winPos = 0;
  let lastSample = Number.NEGATIVE_INFINITY;

  // Demand history for the forecaster: mean rps per minute, NaN where nothing was observed. Minute
  // buckets whatever the trace step: a coarser bucket averages a ramp away and pre-scales too late.
  const bucket = 60;
  const history = new Float64Array(Math.ceil(T / bucket) + 1).fill(Number.NaN);
  let bucketSum = 0;
  let bucketCount = 0;
  let forecast: Forecast | undefined;
  let historyFrom = 0;
  const maxHistory = Math.round((s.forecast.historyDays * 86_400) / bucket);
  const horizon = Math.ceil((s.forecast.refitSeconds + lead + strategy.periodSeconds * 2) / bucket) + 2;

  // Per-minute accounting.
  let minuteIdx = -1;
  let mReq = 0;
  let mFail = 0;
  let mSlow = 0;
  let mActive = 0;
  let mInst = 0;
  const mLaws: LatencyLaw[] = [];
  const mWeights: number[] = [];
  let minutes = 0;
  let violations = 0;
  const minuteRecords: MinuteRecord[] | undefined = s.recordMinutes ? [] : undefined;
  const finishMinute = (): void => {
    if (mActive === 0) return;
    minutes++;
    const ok = mReq - mFail;
    const violated = mReq > 0 && (mFail / mReq > s.sloErrorRate || (ok > 0 && mSlow / ok > P99_TAIL));
    if (violated) violations++;
    if (minuteRecords) {
      let p99 = 0;
      if (ok > 0) {
        const tail = (t: number): number => {
          let sum = 0;
          for (let k = 0; k < mLaws.length; k++) sum += (mWeights[k] as number) * latencyTail(mLaws[k] as LatencyLaw, t);
          return sum / ok;
        };
        p99 = quantileOfTail(tail, 0.99, pool.serviceTime);
      }
      minuteRecords.push({ at: w.start + minuteIdx * 60, requests: mReq, failed: mFail, p99, instances: mInst / mActive, violated });
      mLaws.length = 0;
      mWeights.length = 0;
    }
    mReq = mFail = mSlow = mActive = mInst = 0;
  };

  let backlog = 0;
  let instanceSeconds = 0;
  let gapInstanceSeconds = 0;
  let spotSeconds = 0;
  let reservedSeconds = 0;
  let needSum = 0;
  let overSum = 0;
  let requests = 0;
  let failedRequests = 0;
  let scalingActions = 0;
  let maxInstances = launch.length;
  let actions: ActionHistory = NO_HISTORY;
  const reasons: Partial<Record<Reason, number>> = {};
  const keep = s.keepDecisions ?? 0;
  const decisions: Decision[] = [];
  const period = Math.max(1, Math.round(strategy.periodSeconds));
  const refit = Math.max(1, Math.round(s.forecast.refitSeconds));
  const progressEvery = Math.max(1, Math.floor(T / 100));
  let ready = 0;

  for (let i = 0; i < T; i++) {
    const now = w.start + i;
    const isActive = w.active[i] === 1;

    // Forecast refit on completed history buckets only.
    if (wantsForecast && i % refit === 0 && cache?.has(i)) {
      forecast = cache.get(i);
    } else if (wantsForecast && i % refit === 0) {
      const complete = Math.floor(i / bucket);
      // The window start moves a day at a time, so an append-only forecaster can extend its fit.
      if (complete - historyFrom > maxHistory + 1440) historyFrom = complete - maxHistory;
      const from = historyFrom;
      let any = false;
      for (let k = complete - 1; k >= from && !any; k--) any = Number.isFinite(history[k]);
      forecast = any ? forecaster.forecast({ start: w.start + from * bucket, step: bucket, values: history.subarray(from, complete) }, horizon, s.forecast.level) : undefined;
      cache?.set(i, forecast);
    }

    // 1. Decide.
    if (i % period === 0) {
      const fresh = winCount > 0 && now - lastSample <= s.staleMetricsSeconds;
      const obs: Observation = {
        now,
        current: launch.length,
        ready,
        utilization: winCount > 0 ? utilSum / winCount : Number.NaN,
        demandRps: winCount > 0 ? arrSum / winCount : Number.NaN,
        metricsFresh: fresh,
        sloJudged: minutes,
        sloViolated: violations,
      };
      const raw = strategy.decide(obs, forecast);
      const d = isOracle ? raw : boundDecision(raw, obs, s.bounds, actions);
      reasons[d.reason] = (reasons[d.reason] ?? 0) + 1;
      if (keep > 0) {
        decisions.push(d);
        if (decisions.length > keep * 2) decisions.splice(0, decisions.length - keep);
      }
      if (d.desired !== launch.length) {
        scalingActions++;
        actions = recordAction(actions, now, launch.length, d.desired);
        while (launch.length < d.desired) addInstance(now);
        while (launch.length > d.desired) removeAt(launch.length - 1);
        if (launch.length > maxInstances) maxInstances = launch.length;
      }
    }

    // 2. Spot reclaims, replaced at once by a new launch.
    if (pInterrupt > 0 && spotCount > 0 && isActive) {
      for (let k = launch.length - 1; k >= 0; k--) {
        if (spot[k] && rng.next() < pInterrupt) {
          removeAt(k);
          addInstance(now);
        }
      }
    }

    // Capacity of the ready instances.
    while (warmIdx < launch.length && (launch[warmIdx] as number) + lead <= now) warmIdx++;
    let equiv = warmIdx;
    ready = warmIdx;
    for (let k = warmIdx; k < launch.length; k++) {
      const readyAt = (launch[k] as number) + pool.provisioningSeconds;
      if (readyAt > now) break;
      if (pool.warmBeforeTraffic) continue;
      ready++;
      equiv += warmupFactor(now - readyAt, pool.warmupSeconds, pool.warmupCapacity);
    }

    if (!isActive) {
      // A gap in the trace: no data, so nothing is served, billed or scored; metrics go stale. What is
      // held there is counted apart, so a strategy that holds more through gaps shows it.
      backlog = 0;
      gapInstanceSeconds += launch.length;
      continue;
    }

    // 3. Serve.
    const a = w.arrivals[i] as number;
    const cap = equiv * slotRate;
    const before = backlog;
    const total = backlog + a;
    const served = Math.min(total, cap);
    backlog = total - served;
    const bound = ready * pool.queueLimit;
    let failed = 0;
    if (backlog > bound) {
      failed = Math.min(a, backlog - bound);
      backlog -= failed;
    }

    // 4. Latency of this second's requests.
    let law: LatencyLaw;
    const perInstance = equiv > 0 ? a / equiv : Number.POSITIVE_INFINITY;
    if (before === 0 && backlog === 0 && perInstance < slotRate) {
      law = { shift: 0, pWait: erlangC(pool.slots, perInstance / mu), mu, theta: slotRate - perInstance };
    } else {
      // Saturated: the fluid backlog's mean queueing delay, then service.
      law = { shift: cap > 0 ? (before + backlog) / 2 / cap : 0, pWait: 0, mu, theta: 0 };
    }
    const ok = a - failed;
    const minute = Math.floor(i / 60);
    if (minute !== minuteIdx) {
      finishMinute();
      minuteIdx = minute;
    }
    mReq += a;
    mFail += failed;
    mSlow += ok > 0 ? ok * latencyTail(law, s.sloLatency) : 0;
    mActive++;
    mInst += launch.length;
    if (minuteRecords && ok > 0) {
      mLaws.push(law);
      mWeights.push(ok);
    }
    requests += a;
    failedRequests += failed;

    // Metrics the strategies will see (utilization of the ready instances, arrivals).
    const util = cap > 0 ? (backlog > 0 ? 1 : Math.min(1, a / cap)) : 1;
    if (timeBuf[winPos] !== Number.NEGATIVE_INFINITY) {
      utilSum -= utilBuf[winPos] as number;
      arrSum -= arrBuf[winPos] as number;
      winCount--;
    }
    utilBuf[winPos] = util;
    arrBuf[winPos] = a;
    timeBuf[winPos] = now;
    utilSum += util;
    arrSum += a;
    winCount++;
    winPos = (winPos + 1) % win;
    lastSample = now;

    bucketSum += a;
    bucketCount++;
    if ((i + 1) % bucket === 0) {
      history[Math.floor(i / bucket)] = bucketCount > 0 ? bucketSum / bucketCount : Number.NaN;
      bucketSum = 0;
      bucketCount = 0;
    }

    // 5. Bill.
    const count = launch.length;
    instanceSeconds += count;
    spotSeconds += spotCount;
    reservedSeconds += Math.min(s.plan.reservedInstances, count - spotCount);
    const need = Math.max(s.bounds.minInstances, instancesFor(a, s.perInstanceRps));
    needSum += need;
    if (count > need) overSum += count - need;

    if (onProgress && i % progressEvery === 0) onProgress(i / T);
  }
  finishMinute();
  onProgress?.(1);

  const theBill = bill({ seconds: w.activeSeconds, instanceSeconds, spotSeconds, reservedSeconds }, s.prices, s.plan);
  const result: SimResult = {
    strategy: strategy.name,
    activeSeconds: w.activeSeconds,
    minutes,
    sloViolationMinutes: violations,
    sloAttainment: minutes > 0 ? 1 - violations / minutes : 1,
    bill: theBill,
    overProvisioning: needSum > 0 ? overSum / needSum : 0,
    scalingActions,
    maxInstances,
    gapInstanceSeconds,
    requests,
    failedRequests,
    reasons,
  };
  if (minuteRecords) (result as { minuteRecords?: MinuteRecord[] }).minuteRecords = minuteRecords;
  if (keep > 0) (result as { decisions?: Decision[] }).decisions = decisions.slice(-keep);
  return result;
}
