// Small numeric helpers over typed arrays, shared by the forecasters and the simulator.

/**
 * The q-quantile (type 7, linear interpolation, as numpy's default) of the finite values in
 * `values`. Works on a copy; NaN values are skipped. Returns NaN when no finite value exists.
 * By selection on the copy: the same order statistics as sorting, in O(n).
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  const xs = finiteCopy(values);
  if (xs.length === 0) return Number.NaN;
  return selectQuantiles(xs, [q])[0] as number;
}

/** Several quantiles of the same values (any order of `qs`), by selection on one copy. */
export function quantiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  const xs = finiteCopy(values);
  if (xs.length === 0) return qs.map(() => Number.NaN);
  let ascending = true;
  for (let i = 1; i < qs.length; i++) if (!((qs[i] as number) >= (qs[i - 1] as number))) ascending = false;
  if (ascending) return selectQuantiles(xs, qs);
  const order = qs.map((_, i) => i).sort((a, b) => (qs[a] as number) - (qs[b] as number));
  const got = selectQuantiles(xs, order.map((i) => qs[i] as number));
  const out = new Array<number>(qs.length);
  order.forEach((i, j) => (out[i] = got[j] as number));
  return out;
}

/** Sorts `xs` ascending in place (insertion for a few values: a typed array's sort costs a call each). */
export function sortInPlace(xs: Float64Array): Float64Array {
  const k = xs.length;
  if (k > 32) return xs.sort();
  for (let i = 1; i < k; i++) {
    const v = xs[i] as number;
    let j = i - 1;
    for (; j >= 0 && (xs[j] as number) > v; j--) xs[j + 1] = xs[j] as number;
    xs[j + 1] = v;
  }
  return xs;
}

/** Median of a few values, sorting them in place (the running medians of the short-horizon models). */
export function medianInPlace(xs: Float64Array): number {
  sortInPlace(xs);
  return sortedMedian(xs, xs.length);
}

/** Median of the first `k` values of `sorted` (ascending). */
export function sortedMedian(sorted: ArrayLike<number>, k: number): number {
  return k % 2 ? (sorted[(k - 1) / 2] as number) : ((sorted[k / 2 - 1] as number) + (sorted[k / 2] as number)) / 2;
}

/**
 * The same quantiles as `quantiles` (type 7) of `xs`, every value finite, without sorting: each by
 * selection, O(n) on average. Reorders `xs` in place. `qs` ascending.
 */
export function selectQuantiles(xs: Float64Array, qs: readonly number[]): number[] {
  const n = xs.length;
  if (n === 0) return qs.map(() => Number.NaN);
  let left = 0;
  return qs.map((q) => {
    const h = (n - 1) * Math.min(1, Math.max(0, q));
    const lo = Math.floor(h);
    selectInPlace(xs, lo, left, n - 1);
    left = lo;
    const a = xs[lo] as number;
    // After the selection every value right of `lo` is at least xs[lo]; the next order statistic is their least.
    let b = a;
    if (lo + 1 < n) {
      b = xs[lo + 1] as number;
      for (let i = lo + 2; i < n; i++) if ((xs[i] as number) < b) b = xs[i] as number;
    }
    return a + (b - a) * (h - lo);
  });
}

/** Moves the k-th smallest of xs[left..right] to xs[k], the smaller ones before it, the larger after (Hoare's selection). */
function selectInPlace(xs: Float64Array, k: number, left: number, right: number): void {
  const swap = (i: number, j: number): void => {
    const t = xs[i] as number;
    xs[i] = xs[j] as number;
    xs[j] = t;
  };
  while (right > left) {
    const mid = (left + right) >>> 1;
    if ((xs[mid] as number) < (xs[left] as number)) swap(left, mid);
    if ((xs[right] as number) < (xs[left] as number)) swap(left, right);
    if ((xs[right] as number) < (xs[mid] as number)) swap(mid, right);
    const pivot = xs[mid] as number;
    let i = left;
    let j = right;
    while (i <= j) {
      while ((xs[i] as number) < pivot) i++;
      while ((xs[j] as number) > pivot) j--;
      if (i <= j) {
        swap(i, j);
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return;
  }
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
