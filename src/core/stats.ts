// Small numeric helpers over typed arrays, shared by the forecasters and the simulator.

/**
 * The q-quantile (type 7, linear interpolation, as numpy's default) of the finite values in
 * `values`. Works on a copy; NaN values are skipped. Returns NaN when no finite value exists.
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  const xs = finiteCopy(values);
  if (xs.length === 0) return Number.NaN;
  xs.sort();
  return sortedQuantile(xs, q);
}

/** Several quantiles of the same values with one sort. */
export function quantiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  const xs = finiteCopy(values);
  if (xs.length === 0) return qs.map(() => Number.NaN);
  xs.sort();
  return qs.map((q) => sortedQuantile(xs, q));
}

/** Median of a few values, sorting them in place (the running medians of the short-horizon models). */
export function medianInPlace(xs: Float64Array): number {
  const k = xs.length;
  const s = xs.sort();
  return k % 2 ? (s[(k - 1) / 2] as number) : ((s[k / 2 - 1] as number) + (s[k / 2] as number)) / 2;
}

export function sortedQuantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (h - lo);
}

function finiteCopy(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (Number.isFinite(v)) out[n++] = v;
  }
  return out.subarray(0, n);
}

/** `x` rounded to `digits` decimals (for reports). */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
