// Unit tests: the pipeline's combination of candidates and its per-side interval calibration.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AutoForecaster, combinationWeights, type AutoForecast, COMBINATIONS, ANCHORED_FROM_ORIGINS, ANCHORED_UP_TO_SECONDS, MANY_ORIGINS, PER_SIDE_UP_TO_SECONDS, pairedAdvantage, resolveCalibration, resolveCombination, sideFactors, type BacktestScore, type Calibration, type Combination } from './auto-forecast.js';
import { FastSeasonalForecaster } from './fast-seasonal.js';
import { SeasonalNaiveForecaster, type Forecaster, type Series } from './forecast.js';
import { createRng } from './random.js';

/** A backtest over fixed forecasts, one origin per point (a one-point horizon): each candidate's means at every point, MAE computed here. */
function backtest(actual: number[], means: number[][]): { scores: BacktestScore[]; actual: Float64Array; mean: Float64Array[]; origins: number[] } {
  const a = Float64Array.from(actual);
  const mean = means.map((m) => Float64Array.from(m));
  const scores = mean.map((m, i) => {
    let s = 0;
    let c = 0;
    m.forEach((x, j) => {
      const e = (a[j] as number) - x;
      if (Number.isFinite(e)) {
        s += Math.abs(e);
        c++;
      }
    });
    return { model: `c${i}`, mae: c ? s / c : Number.POSITIVE_INFINITY, origins: actual.length };
  });
  return { scores, actual: a, mean, origins: actual.map((_, i) => i) };
}

const mae = (actual: Float64Array, mean: number[]): number => mean.reduce((s, m, i) => s + Math.abs((actual[i] as number) - m), 0) / mean.length;

describe('combinationWeights', () => {
  const rows: { note: string; actual: number[]; means: number[][]; combine: Combination; anchor?: number; horizonSeconds?: number; want: number[] }[] = [
    { note: 'best: the lowest MAE alone', actual: [10, 10, 10], means: [[12, 12, 12], [9, 9, 9], [20, 20, 20]], combine: 'best', want: [0, 1, 0] },
    { note: 'best: a tie keeps the earlier (simpler) candidate', actual: [10, 10], means: [[11, 11], [9, 9]], combine: 'best', want: [1, 0] },
    { note: 'simplex: opposite biases cancel half and half', actual: [10, 20, 30], means: [[8, 18, 28], [12, 22, 32]], combine: 'simplex', want: [0.5, 0.5] },
    { note: 'simplex: an exact candidate takes all the weight', actual: [1, 2, 3], means: [[1, 2, 3], [0, 0, 0], [5, 5, 5]], combine: 'simplex', want: [1, 0, 0] },
    { note: 'simplex: a failed candidate (NaN) gets none', actual: [10, 20], means: [[Number.NaN, Number.NaN], [12, 21]], combine: 'simplex', want: [0, 1] },
    { note: 'inverse-mae: the three best, weighted by 1 / MAE', actual: [0, 0], means: [[1, 1], [2, 2], [4, 4], [8, 8]], combine: 'inverse-mae', want: [4 / 7, 2 / 7, 1 / 7, 0] },
    { note: 'no candidate with a score: the first, as the fallback', actual: [1], means: [[Number.NaN], [Number.NaN]], combine: 'simplex', want: [1, 0] },
    { note: 'auto, few origins: simplex', actual: [10, 20, 30], means: [[8, 18, 28], [12, 22, 32]], combine: 'auto', want: [0.5, 0.5] },
    { note: 'auto, few origins: an exact candidate takes all', actual: [1, 2, 3], means: [[1, 2, 3], [0, 0, 0], [5, 5, 5]], combine: 'auto', want: [1, 0, 0] },
    { note: `auto, ${ANCHORED_FROM_ORIGINS} origins, no anchor: the best alone`, actual: new Array<number>(ANCHORED_FROM_ORIGINS).fill(0), means: [2, 1, 4, 8].map((m) => new Array<number>(ANCHORED_FROM_ORIGINS).fill(m)), combine: 'auto', want: [0, 1, 0, 0] },
    { note: `auto, ${ANCHORED_FROM_ORIGINS} origins, no anchor: the best alone, even where a mix would fit better`, actual: new Array<number>(ANCHORED_FROM_ORIGINS).fill(10), means: [8, 12.5].map((m) => new Array<number>(ANCHORED_FROM_ORIGINS).fill(m)), combine: 'auto', want: [1, 0] },
    { note: `auto, ${ANCHORED_FROM_ORIGINS} origins: the anchor against a lead within noise`, actual: new Array<number>(ANCHORED_FROM_ORIGINS).fill(0), means: [new Array<number>(ANCHORED_FROM_ORIGINS).fill(1), [...new Array<number>(ANCHORED_FROM_ORIGINS - 1).fill(0), 13]], combine: 'auto', anchor: 1, want: [0, 1] },
    { note: `auto, ${ANCHORED_FROM_ORIGINS} origins, ${ANCHORED_UP_TO_SECONDS} s ahead: still the anchor`, actual: new Array<number>(ANCHORED_FROM_ORIGINS).fill(10), means: [8, 12].map((m) => new Array<number>(ANCHORED_FROM_ORIGINS).fill(m)), combine: 'auto', anchor: 1, horizonSeconds: ANCHORED_UP_TO_SECONDS, want: [0, 1] },
    { note: `auto, ${ANCHORED_FROM_ORIGINS} origins, an hour ahead: simplex, even with an anchor`, actual: new Array<number>(ANCHORED_FROM_ORIGINS).fill(10), means: [8, 12].map((m) => new Array<number>(ANCHORED_FROM_ORIGINS).fill(m)), combine: 'auto', anchor: 1, horizonSeconds: 3600, want: [0.5, 0.5] },
    { note: `auto, ${ANCHORED_FROM_ORIGINS - 1} origins: simplex, even with an anchor`, actual: new Array<number>(ANCHORED_FROM_ORIGINS - 1).fill(10), means: [8, 12].map((m) => new Array<number>(ANCHORED_FROM_ORIGINS - 1).fill(m)), combine: 'auto', anchor: 1, want: [0.5, 0.5] },
    { note: 'anchored: the anchor stays when the best is ahead by one error only', actual: [0, 0, 0, 0, 0, 0], means: [[1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 7]], combine: 'anchored', anchor: 1, want: [0, 1] },
    { note: 'anchored: a clearly better candidate replaces the anchor', actual: [0, 0, 0, 0, 0, 0], means: [[1, 1, 1, 1, 1, 1], [2, 3, 2, 3, 2, 3]], combine: 'anchored', anchor: 1, want: [1, 0] },
    { note: 'anchored: the anchor as the best stays', actual: [0, 0, 0], means: [[2, 2, 2], [1, 1, 1]], combine: 'anchored', anchor: 1, want: [0, 1] },
    { note: 'anchored: an anchor with no score is passed over for the best', actual: [0, 0, 0], means: [[2, 2, 2], [Number.NaN, Number.NaN, Number.NaN], [1, 1, 1]], combine: 'anchored', anchor: 1, want: [0, 0, 1] },
    { note: 'anchored without an anchor: the best', actual: [0, 0, 0], means: [[2, 2, 2], [1, 1, 1]], combine: 'anchored', want: [0, 1] },
    // graded: paired advantages per origin of 1, 1, 1 and d give t = 7 / 6 (d = 25), 1.5 (d = 9), 7 / 3 (d = 4).
    { note: 'graded: a lead within noise (t below 1) leaves the anchor alone', actual: [0, 0, 0, 0, 0, 0], means: [[1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 7]], combine: 'graded', anchor: 1, want: [0, 1] },
    { note: 'graded: t = 7 / 6 hands the best a sixth', actual: [0, 0, 0, 0], means: [[1, 1, 1, 1], [2, 2, 2, 26]], combine: 'graded', anchor: 1, want: [1 / 6, 5 / 6] },
    { note: 'graded: t = 1.5 mixes half and half', actual: [0, 0, 0, 0], means: [[1, 1, 1, 1], [2, 2, 2, 10]], combine: 'graded', anchor: 1, want: [0.5, 0.5] },
    { note: 'graded: t = 7 / 3 (past ANCHOR_T) replaces the anchor', actual: [0, 0, 0, 0], means: [[1, 1, 1, 1], [2, 2, 2, 5]], combine: 'graded', anchor: 1, want: [1, 0] },
    { note: 'graded: the anchor as the best stays alone', actual: [0, 0, 0], means: [[2, 2, 2], [1, 1, 1]], combine: 'graded', anchor: 1, want: [0, 1] },
    { note: 'graded: an anchor with no score is passed over for the best', actual: [0, 0, 0], means: [[2, 2, 2], [Number.NaN, Number.NaN, Number.NaN], [1, 1, 1]], combine: 'graded', anchor: 1, want: [0, 0, 1] },
    { note: 'graded without an anchor: the best', actual: [0, 0, 0], means: [[2, 2, 2], [1, 1, 1]], combine: 'graded', want: [0, 1] },
    { note: `auto, ${ANCHORED_FROM_ORIGINS} origins: graded (t = 1.5 over 12 origins mixes half and half)`, actual: new Array<number>(12).fill(0), means: [new Array<number>(12).fill(1), [...new Array<number>(11).fill(2), 26]], combine: 'auto', anchor: 1, want: [0.5, 0.5] },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const w = combinationWeights(backtest(r.actual, r.means), r.combine, r.anchor, r.horizonSeconds);
      assert.equal(w.length, r.want.length);
      r.want.forEach((x, i) => assert.ok(Math.abs((w[i] as number) - x) < 1e-9, `weight ${i}: ${w[i]} want ${x}`));
    });
  }

  it('simplex: the pruned search picks what summing every composition afresh picks, bit for bit (seeded)', () => {
    // The reference: corners best first, then every composition of 10 tenths in lexicographic order, each
    // point's mix summed candidate by candidate with zero terms skipped; a composition replaces the best
    // only when below it by the same margin.
    const reference = (bt: ReturnType<typeof backtest>): number[] => {
      const order = bt.scores.map((_, i) => i).filter((i) => Number.isFinite((bt.scores[i] as BacktestScore).mae));
      order.sort((a, b) => (bt.scores[a] as BacktestScore).mae - (bt.scores[b] as BacktestScore).mae || a - b);
      const use = order.slice().sort((a, b) => a - b);
      const pts = [...bt.actual.keys()].filter((i) => Number.isFinite(bt.actual[i] as number) && use.every((c) => Number.isFinite((bt.mean[c] as Float64Array)[i] as number)));
      let best = Number.POSITIVE_INFINITY;
      let bestParts: number[] = [];
      const score = (parts: number[]): void => {
        let sum = 0;
        for (const i of pts) {
          let m = 0;
          parts.forEach((x, j) => {
            if (x) m += x * ((bt.mean[use[j] as number] as Float64Array)[i] as number);
          });
          sum += Math.abs((bt.actual[i] as number) - m / 10);
        }
        if (sum < best * (1 - 1e-12)) {
          best = sum;
          bestParts = parts.slice();
        }
      };
      for (const i of order) score(use.map((c) => (c === i ? 10 : 0)));
      const walk = (parts: number[], left: number): void => {
        if (parts.length === use.length - 1) return score([...parts, left]);
        for (let x = 0; x <= left; x++) walk([...parts, x], left - x);
      };
      walk([], 10);
      const w = new Array<number>(bt.scores.length).fill(0);
      bestParts.forEach((x, j) => (w[use[j] as number] = x / 10));
      return w;
    };
    const rng = createRng(17);
    for (let trial = 0; trial < 72; trial++) {
      const k = 2 + (trial % 5);
      // Past 60: long backtests (a day ahead from 6 origins), and levels far above the errors, where
      // the lower bounds that skip compositions are closest to the rounding of the sums.
      const n = trial < 60 ? 1 + Math.floor(rng.next() * 150) : 1728;
      const level = trial < 60 || trial % 2 ? 100 : 1e9;
      const actual = Array.from({ length: n }, () => (rng.next() < 0.03 ? Number.NaN : level + 20 * rng.normal()));
      const means = Array.from({ length: k }, () => {
        const bias = 10 * rng.normal();
        const noise = 5 + 20 * rng.next();
        return actual.map((a) => (rng.next() < 0.02 ? Number.NaN : (Number.isFinite(a) ? a : level) + bias + noise * rng.normal()));
      });
      // Ties: a repeated candidate, and one candidate's mirror image of another's errors.
      if (trial % 7 === 3) means[k - 1] = (means[0] as number[]).slice();
      if (trial % 7 === 5) means[k - 1] = actual.map((a, i) => 2 * (Number.isFinite(a) ? a : level) - ((means[0] as number[])[i] as number));
      const bt = backtest(actual, means);
      assert.deepEqual([...combinationWeights(bt, 'simplex')], reference(bt), `trial ${trial}: ${k} candidates, ${n} points`);
    }
  });

  it('resolveCombination: auto by origins and seconds ahead; the others are themselves', () => {
    const cases: { how: Combination; origins: number; horizonSeconds?: number; want: string }[] = [
      { how: 'auto', origins: ANCHORED_FROM_ORIGINS, want: 'graded' },
      { how: 'auto', origins: ANCHORED_FROM_ORIGINS - 1, want: 'simplex' },
      { how: 'auto', origins: 48, horizonSeconds: 120, want: 'graded' },
      { how: 'auto', origins: 48, horizonSeconds: ANCHORED_UP_TO_SECONDS, want: 'graded' },
      { how: 'auto', origins: 48, horizonSeconds: ANCHORED_UP_TO_SECONDS + 1, want: 'simplex' },
      { how: 'auto', origins: 6, horizonSeconds: 120, want: 'simplex' },
      { how: 'anchored', origins: 1, horizonSeconds: 86_400, want: 'anchored' },
      { how: 'graded', origins: 1, horizonSeconds: 86_400, want: 'graded' },
      { how: 'best', origins: 48, horizonSeconds: 120, want: 'best' },
      { how: 'simplex', origins: 48, horizonSeconds: 120, want: 'simplex' },
      { how: 'inverse-mae', origins: 2, want: 'inverse-mae' },
    ];
    for (const c of cases) assert.equal(resolveCombination(c.how, c.origins, c.horizonSeconds), c.want, JSON.stringify(c));
  });

  it('resolveCalibration: auto is per-side with many origins at most PER_SIDE_UP_TO_SECONDS ahead; the others are themselves', () => {
    const cases: { how: Calibration; origins: number; horizonSeconds?: number; want: string }[] = [
      { how: 'auto', origins: MANY_ORIGINS, want: 'per-side' },
      { how: 'auto', origins: MANY_ORIGINS - 1, want: 'widen' },
      { how: 'auto', origins: 48, horizonSeconds: 120, want: 'per-side' },
      { how: 'auto', origins: 48, horizonSeconds: PER_SIDE_UP_TO_SECONDS, want: 'per-side' },
      // An hour of half-hourly points: 24 origins, widened only.
      { how: 'auto', origins: 24, horizonSeconds: 3600, want: 'widen' },
      { how: 'auto', origins: 48, horizonSeconds: PER_SIDE_UP_TO_SECONDS + 1, want: 'widen' },
      { how: 'auto', origins: 6, horizonSeconds: 120, want: 'widen' },
      { how: 'per-side', origins: 6, horizonSeconds: 86_400, want: 'per-side' },
      { how: 'widen', origins: 48, horizonSeconds: 120, want: 'widen' },
    ];
    for (const c of cases) assert.equal(resolveCalibration(c.how, c.origins, c.horizonSeconds), c.want, JSON.stringify(c));
  });

  it('never scores worse on its own backtest than any single candidate (seeded random backtests)', () => {
    const rng = createRng(11);
    for (let t = 0; t < 40; t++) {
      const n = t % 2 === 0 ? 30 : 10; // auto: the best alone at 30 origins (no anchor), simplex at 10
      const actual = Array.from({ length: n }, () => 100 + 20 * rng.normal());
      const means = Array.from({ length: 4 }, (_, c) => actual.map((a) => a + (c - 1.5) * 5 + 15 * rng.normal()));
      const bt = backtest(actual, means);
      const bestSingle = Math.min(...bt.scores.map((s) => s.mae));
      for (const combine of COMBINATIONS) {
        const w = combinationWeights(bt, combine);
        assert.ok(Math.abs(w.reduce((s, x) => s + x, 0) - 1) < 1e-9, 'weights sum to 1');
        const mixed = actual.map((_, j) => means.reduce((s, m, c) => s + (w[c] as number) * (m[j] as number), 0));
        // inverse-mae hedges, anchored and graded keep their anchor without evidence: none promises this.
        const guaranteed = combine !== 'inverse-mae' && combine !== 'anchored' && combine !== 'graded';
        if (guaranteed) assert.ok(mae(bt.actual, mixed) <= bestSingle + 1e-9, `${combine} trial ${t}: ${mae(bt.actual, mixed)} > ${bestSingle}`);
      }
    }
  });
});

describe('pairedAdvantage', () => {
  /** A backtest of `horizon`-point origins from the candidates' errors (actual 0, so a mean is its error). */
  const blocks = (horizon: number, errors: number[][]) => ({ actual: new Float64Array(errors[0]?.length ?? 0), mean: errors.map((e) => Float64Array.from(e)), origins: Array.from({ length: (errors[0]?.length ?? 0) / horizon }, (_, i) => i) });
  const rows: { note: string; horizon: number; errors: number[][]; want: number }[] = [
    { note: 'the same errors: no advantage', horizon: 1, errors: [[1, 2, 3], [1, 2, 3]], want: 0 },
    { note: 'b ahead by 1 and 2 in turn: mean 1.5 over its standard error', horizon: 1, errors: [[2, 3, 2, 3], [1, 1, 1, 1]], want: 1.5 / Math.sqrt(1 / 3 / 4) },
    { note: 'b behind: negative', horizon: 1, errors: [[1, 1, 1, 1], [2, 3, 2, 3]], want: -1.5 / Math.sqrt(1 / 3 / 4) },
    { note: 'b ahead by the same amount everywhere: infinite', horizon: 1, errors: [[2, 2, 2], [1, 1, 1]], want: Number.POSITIVE_INFINITY },
    { note: 'one origin: no evidence', horizon: 4, errors: [[5, 5, 5, 5], [0, 0, 0, 0]], want: 0 },
    // Two points per origin: the origins' means (1 and 2) are the two observations, not the four points.
    { note: 'blocks per origin', horizon: 2, errors: [[1, 3, 2, 4], [0, 2, 0, 2]], want: 1.5 / Math.sqrt(0.5 / 2) },
    { note: 'unknown points are left out of their origin', horizon: 2, errors: [[1, Number.NaN, 2, 4], [0, 2, 0, 2]], want: 1.5 / Math.sqrt(0.5 / 2) },
    { note: 'errors count by size: 2 and 3 below behind 1 above', horizon: 1, errors: [[-2, -3], [1, 1]], want: 1.5 / Math.sqrt(0.5 / 2) },
  ];
  for (const r of rows) {
    it(r.note, () => {
      const t = pairedAdvantage(blocks(r.horizon, r.errors), 0, 1);
      if (Number.isFinite(r.want)) assert.ok(Math.abs(t - r.want) < 1e-9, `${t} want ${r.want}`);
      else assert.equal(t, r.want);
    });
  }
});

describe('sideFactors', () => {
  it('scales each side so that a tenth of the backtest lies beyond it at 80 %', () => {
    const rng = createRng(5);
    const n = 2000;
    const actual = new Float64Array(n);
    const mean = new Float64Array(n);
    const lower = new Float64Array(n).fill(-1);
    const upper = new Float64Array(n).fill(1);
    // Skewed errors: up to 3 above, up to 1 below; the interval says +-1.
    for (let i = 0; i < n; i++) actual[i] = rng.next() < 0.5 ? 3 * rng.next() : -rng.next();
    const f = sideFactors(actual, mean, lower, upper, 0.8);
    assert.ok(f.upper > 2 && f.upper < 2.8, `upper ${f.upper}`);
    assert.ok(f.lower < 1, `lower narrows: ${f.lower}`);
    let above = 0;
    let below = 0;
    for (let i = 0; i < n; i++) {
      if ((actual[i] as number) > f.upper) above++;
      if ((actual[i] as number) < -f.lower) below++;
    }
    assert.ok(Math.abs(above / n - 0.1) < 0.01 && Math.abs(below / n - 0.1) < 0.01, `${above} above, ${below} below`);
  });
  it('is 1 per side without any error to learn from', () => {
    assert.deepEqual(sideFactors(new Float64Array(0), new Float64Array(0), new Float64Array(0), new Float64Array(0), 0.8), { lower: 1, upper: 1 });
  });
});

describe('AutoForecaster', () => {
  const walk = (n: number, seed: number): Float64Array => {
    const rng = createRng(seed);
    let x = 1000;
    return Float64Array.from({ length: n }, () => (x += 10 * rng.normal()));
  };
  const candidates = (): Forecaster[] => [new SeasonalNaiveForecaster({ seasonality: 'none' }), new SeasonalNaiveForecaster({ seasonality: 'daily' }), new FastSeasonalForecaster()];
  /** The last value plus `by`, named 'nudged'. */
  const nudgedBy = (by: number): Forecaster => ({
    name: 'nudged',
    forecast: (h, horizon, level) => {
      const f = new SeasonalNaiveForecaster({ seasonality: 'none' }).forecast(h, horizon, level);
      return { ...f, model: 'nudged', mean: f.mean.map((x) => x + by) };
    },
  });

  it('an hour ahead on half-hourly points, auto widens where per-side would narrow', () => {
    // Smooth half-hourly load whose recent errors are small: per-side narrows the interval below the
    // model's own, auto keeps at least the model's width (it only widens).
    const rng = createRng(5);
    const values = Float64Array.from({ length: 48 * 14 }, (_, i) => 100 + 30 * Math.sin((2 * Math.PI * i) / 48) + (i > 48 * 12 ? 0.2 : 3) * rng.normal());
    const series = { start: 0, step: 1800, values };
    const auto = new AutoForecaster(candidates(), { combine: 'best' }).forecast(series, 2, 0.8);
    const perSide = new AutoForecaster(candidates(), { combine: 'best', calibration: 'per-side' }).forecast(series, 2, 0.8);
    assert.ok(perSide.intervalFactors.upper < 1 || perSide.intervalFactors.lower < 1, JSON.stringify(perSide.intervalFactors));
    assert.ok(auto.intervalFactors.lower >= 1 && auto.intervalFactors.upper >= 1, JSON.stringify(auto.intervalFactors));
    assert.equal(auto.intervalFactors.lower, auto.intervalFactors.upper);
  });

  it('at a one-point horizon, scores on at least minBacktestPoints errors', () => {
    const series: Series = { start: 0, step: 300, values: walk(8 * 288, 2) };
    const f = new AutoForecaster(candidates(), { minBacktestPoints: 48 }).forecast(series, 1, 0.8);
    assert.ok(f.calibrated);
    for (const s of f.scores) assert.equal(s.origins, 48);
    const six = new AutoForecaster(candidates(), { minBacktestPoints: 1 }).forecast(series, 1, 0.8);
    assert.equal(six.scores[0]?.origins, 6);
  });
  it('on a random walk, leans on persistence and never on a day-old copy', () => {
    const series: Series = { start: 0, step: 300, values: walk(8 * 288, 3) };
    const f = new AutoForecaster(candidates(), { combine: 'simplex' }).forecast(series, 1, 0.8);
    assert.equal(f.weights.length, 3);
    assert.ok((f.weights[0] as number) + (f.weights[2] as number) > 0.99, `weights ${f.weights}`);
    assert.equal(f.weights[1], 0);
    assert.equal(f.scores[0]?.model, 'persistence');
  });
  it('variants share one backtest and differ only in how they use it', () => {
    const series: Series = { start: 0, step: 300, values: walk(8 * 288, 4) };
    const auto = new AutoForecaster(candidates());
    const [a, b] = auto.forecastVariants(series, 3, 0.8, [
      { combine: 'best', calibration: 'widen' },
      { combine: 'best', calibration: 'per-side' },
    ]) as [AutoForecast, AutoForecast];
    assert.deepEqual(a.weights, b.weights);
    assert.deepEqual(Array.from(a.mean), Array.from(b.mean));
    for (let h = 0; h < 3; h++) assert.ok((a.upper[h] as number) >= (a.mean[h] as number) && (b.lower[h] as number) <= (b.mean[h] as number));
  });
  it('anchored: keeps the named anchor against a lead within noise, drops it against a clear one', () => {
    const series: Series = { start: 0, step: 300, values: walk(8 * 288, 6) };
    // The last value nudged up by a hundredth of a step's spread: as good as persistence, up to noise.
    const two = (): Forecaster[] => [new SeasonalNaiveForecaster({ seasonality: 'none' }), nudgedBy(0.1)];
    const best = new AutoForecaster(two(), { combine: 'best' }).forecast(series, 1, 0.8);
    const behind = best.chosen === 'nudged' ? 'persistence' : 'nudged';
    assert.notEqual((best.scores[0] as BacktestScore).mae, (best.scores[1] as BacktestScore).mae);
    assert.equal(new AutoForecaster(two(), { combine: 'anchored', anchor: behind }).forecast(series, 1, 0.8).chosen, behind);
    // Against a day-old copy on a random walk, persistence's lead is clear.
    const daily = (): Forecaster[] => [new SeasonalNaiveForecaster({ seasonality: 'none' }), new SeasonalNaiveForecaster({ seasonality: 'daily' })];
    assert.equal(new AutoForecaster(daily(), { combine: 'anchored', anchor: 'seasonal-naive-daily' }).forecast(series, 1, 0.8).chosen, 'persistence');
    // graded: the anchor keeps the larger share against the lead within noise, none against the clear one.
    assert.equal(new AutoForecaster(two(), { combine: 'graded', anchor: behind }).forecast(series, 1, 0.8).chosen, behind);
    assert.deepEqual(new AutoForecaster(daily(), { combine: 'graded', anchor: 'seasonal-naive-daily' }).forecast(series, 1, 0.8).weights, [1, 0]);
    // A name no candidate has: the best.
    assert.equal(new AutoForecaster(two(), { combine: 'anchored', anchor: 'prophet' }).forecast(series, 1, 0.8).chosen, best.chosen);
  });
  it(`auto: graded up to ${ANCHORED_UP_TO_SECONDS} s ahead, the simplex beyond, counted in seconds, not points`, () => {
    // Half-hour points: one point ahead is 1800 s, two are an hour (both with 12 origins or more).
    const series: Series = { start: 0, step: 1800, values: walk(8 * 48, 7) };
    // The anchor: the last value nudged up, as good as persistence up to noise, so graded keeps it.
    const pipeline = new AutoForecaster([new SeasonalNaiveForecaster({ seasonality: 'none' }), nudgedBy(2)], { anchor: 'nudged' });
    const weights = (horizon: number, combine: Combination): readonly number[] => pipeline.forecastVariants(series, horizon, 0.8, [{ combine, calibration: 'widen' }])[0]?.weights ?? [];
    assert.deepEqual(weights(1, 'auto'), weights(1, 'graded'));
    assert.deepEqual(weights(1, 'graded'), weights(1, 'anchored'));
    assert.deepEqual(weights(2, 'auto'), weights(2, 'simplex'));
    assert.notDeepEqual(weights(2, 'anchored'), weights(2, 'simplex'));
    assert.ok((pipeline.forecast(series, 2, 0.8).scores[0]?.origins ?? 0) >= ANCHORED_FROM_ORIGINS);
  });
});
