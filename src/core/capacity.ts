// Queueing model of one instance: c worker slots, exponential service with mean s (rate mu = 1/s),
// Poisson arrivals at rate lambda: M/M/c with FCFS. Gives the response-time distribution under load
// and its inverse (the highest arrival rate whose p99 meets the SLO). Design: docs/design/capacity.md

/**
 * Erlang C: probability that an arriving request waits, for c servers and offered load a = lambda/mu
 * Erlangs. Computed through the Erlang B recursion, which is stable for large c.
 * Returns 1 when a >= c (unstable queue: every request waits).
 */
export function erlangC(c: number, a: number): number {
  if (!Number.isInteger(c) || c < 1) throw new RangeError(`erlangC: c must be a positive integer, got ${c}`);
  if (!(a >= 0)) throw new RangeError(`erlangC: offered load must be >= 0, got ${a}`);
  if (a === 0) return 0;
  if (a >= c) return 1;
  // 1. Erlang B by recursion: B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)).
  let b = 1;
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  // 2. Erlang C from Erlang B: C = B / (1 - rho (1 - B)).
  const rho = a / c;
  return b / (1 - rho * (1 - b));
}

/** The response-time law of one request: a fixed delay, then an M/M/c wait (probability pWait, rate theta), then service (rate mu). */
export interface LatencyLaw {
  /** Deterministic delay before the M/M/c part (seconds), e.g. a backlog being drained. */
  shift: number;
  /** Probability of waiting for a slot. */
  pWait: number;
  /** Service rate (1/s). */
  mu: number;
  /** Rate of the conditional waiting time, c*mu - lambda (1/s). */
  theta: number;
}

/** P(T > t) for a latency law. */
export function latencyTail(law: LatencyLaw, t: number): number {
  const x = t - law.shift;
  if (x <= 0) return 1;
  const { pWait, mu, theta } = law;
  const eMu = Math.exp(-mu * x);
  if (pWait <= 0) return eMu;
  let waited: number;
  // P(E_theta + E_mu > x): hypoexponential tail; the limit theta -> mu is (1 + mu x) e^{-mu x}.
  if (Math.abs(theta - mu) < 1e-9 * mu) waited = (1 + mu * x) * eMu;
  else waited = (theta * eMu - mu * Math.exp(-theta * x)) / (theta - mu);
  return (1 - pWait) * eMu + pWait * waited;
}

/** Latency law of an M/M/c instance with c slots, mean service time s seconds, arrival rate lambda (req/s). */
export function mmcLaw(c: number, serviceTime: number, lambda: number): LatencyLaw {
  const mu = 1 / serviceTime;
  if (lambda >= c * mu) return { shift: 0, pWait: 1, mu, theta: 0 };
  return { shift: 0, pWait: erlangC(c, lambda / mu), mu, theta: c * mu - lambda };
}

/** P(response time > t) for an M/M/c instance; 1 when the queue is unstable. */
export function responseTimeTail(c: number, serviceTime: number, lambda: number, t: number): number {
  if (lambda >= c / serviceTime) return 1;
  return latencyTail(mmcLaw(c, serviceTime, lambda), t);
}

/** Smallest t with tail(t) <= 1 - q, by bracketing then bisection (tail is decreasing in t). */
export function quantileOfTail(tail: (t: number) => number, q: number, scale: number): number {
  if (!(q > 0 && q < 1)) throw new RangeError(`quantile must be in (0, 1), got ${q}`);
  const target = 1 - q;
  let lo = 0;
  let hi = scale > 0 ? scale : 1;
  let guard = 0;
  while (tail(hi) > target) {
    lo = hi;
    hi *= 2;
    if (++guard > 200) return Number.POSITIVE_INFINITY;
  }
  for (let i = 0; i < 60 && hi - lo > 1e-9 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (tail(mid) > target) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The q-quantile of the response time of an M/M/c instance (seconds); Infinity when unstable. */
export function responseTimeQuantile(c: number, serviceTime: number, lambda: number, q = 0.99): number {
  if (lambda >= c / serviceTime) return Number.POSITIVE_INFINITY;
  const law = mmcLaw(c, serviceTime, lambda);
  return quantileOfTail((t) => latencyTail(law, t), q, serviceTime);
}

/**
 * The highest per-instance arrival rate (req/s) whose q-quantile response time is at most slo
 * seconds. 0 when even an idle instance misses the SLO (service time alone is too slow).
 */
export function maxRateAtSlo(c: number, serviceTime: number, slo: number, q = 0.99): number {
  const target = 1 - q;
  if (responseTimeTail(c, serviceTime, 0, slo) > target) return 0;
  const capacity = c / serviceTime;
  let lo = 0;
  let hi = capacity;
  for (let i = 0; i < 100 && hi - lo > 1e-12 * capacity; i++) {
    const mid = (lo + hi) / 2;
    if (responseTimeTail(c, serviceTime, mid, slo) <= target) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Mean response time (s) of M/M/c: service time plus the mean wait C(c, a) / (c mu - lambda); infinite when saturated. */
export function meanResponseTime(c: number, serviceTime: number, lambda: number): number {
  const mu = 1 / serviceTime;
  if (lambda >= c * mu) return Number.POSITIVE_INFINITY;
  return serviceTime + erlangC(c, lambda * serviceTime) / (c * mu - lambda);
}

/** Capacity fraction of an instance that became ready `age` seconds ago: linear from `initial` to 1 over `warmup` seconds. */
export function warmupFactor(age: number, warmup: number, initial: number): number {
  if (age < 0) return 0;
  if (warmup <= 0 || age >= warmup) return 1;
  return initial + (1 - initial) * (age / warmup);
}

/** Instances needed to serve `rate` req/s when each serves `perInstance` req/s within the SLO. */
export function instancesFor(rate: number, perInstance: number): number {
  if (!(rate > 0)) return 0;
  if (!(perInstance > 0)) return Number.POSITIVE_INFINITY;
  // The small tolerance keeps 3.0000000001 (floating-point noise) at 3.
  return Math.ceil(rate / perInstance - 1e-9);
}

/** One observation for the capacity model: per-instance arrival rate (req/s) and a latency statistic seen (s). */
export interface LoadLatency {
  readonly perInstanceRps: number;
  /** The mean response time, or the p99, per `fitServiceTime`'s `statistic`. */
  readonly latency: number;
}

export interface ServiceTimeFit {
  /** Mean service time (s) that best explains the observations under M/M/c with `slots` servers. */
  readonly serviceTime: number;
  /** Root mean square of log(model / observed). */
  readonly rmsLogError: number;
  readonly pairs: number;
}

/**
 * Refit the capacity model from observed (load, latency) pairs: the service time minimising the
 * squared log error of the M/M/c mean response time (or p99), found by golden-section search in log
 * space between prior/10 and prior x 10. A model saturated at an observed load (infinite latency) is
 * penalised as a large error, so the fit stays in the region that could have produced the data.
 * Fit the mean for capacity: it pins the mean service time (hence the saturation point) whatever the
 * service-time distribution, where a p99 fit of non-exponential data would misplace it.
 */
export function fitServiceTime(pairs: readonly LoadLatency[], slots: number, prior: number, statistic: 'mean' | 'p99' = 'mean'): ServiceTimeFit | undefined {
  const usable = pairs.filter((p) => p.perInstanceRps >= 0 && p.latency > 0 && Number.isFinite(p.latency));
  if (usable.length === 0 || !(prior > 0)) return undefined;
  const model = (s: number, rps: number): number => (statistic === 'mean' ? meanResponseTime(slots, s, rps) : responseTimeQuantile(slots, s, rps, 0.99));
  const loss = (logS: number): number => {
    const s = Math.exp(logS);
    let sum = 0;
    for (const p of usable) {
      const m = model(s, p.perInstanceRps);
      const e = Number.isFinite(m) && m > 0 ? Math.log(m / p.latency) : 10;
      sum += e * e;
    }
    return sum / usable.length;
  };
  let lo = Math.log(prior / 10);
  let hi = Math.log(prior * 10);
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - g * (hi - lo);
  let x2 = lo + g * (hi - lo);
  let f1 = loss(x1);
  let f2 = loss(x2);
  for (let i = 0; i < 60; i++) {
    if (f1 <= f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - g * (hi - lo);
      f1 = loss(x1);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + g * (hi - lo);
      f2 = loss(x2);
    }
  }
  const best = (lo + hi) / 2;
  return { serviceTime: Math.exp(best), rmsLogError: Math.sqrt(loss(best)), pairs: usable.length };
}
