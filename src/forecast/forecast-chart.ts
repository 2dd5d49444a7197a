// An SVG chart of a forecast: the end of the history, the forecast's mean and its prediction interval as
// a band, and a line at the last observation. What `shadowscale forecast --chart FILE.svg` writes.
//
// The history shown is the last max(3 horizons, one day) of points (all of a shorter series). Long
// stretches are drawn as bucket means, at most MAX_DRAWN points per line, so a chart stays small; a gap
// in the data (NaN) breaks the line instead of being bridged.

import { esc, niceStep, timeTicks } from '../sim/svg.js';

const W = 760;
const H = 360;
const M = { left: 64, right: 24, top: 40, bottom: 44 };
export const MAX_DRAWN = 1200;
const DAY = 86400;

export interface ChartSeries {
  /** Seconds (epoch when `absoluteTime`) of the first value, and between values. */
  readonly start: number;
  readonly step: number;
  readonly values: ArrayLike<number>;
}

export interface ChartForecast {
  readonly model: string;
  readonly level: number;
  readonly mean: ArrayLike<number>;
  readonly lower: ArrayLike<number>;
  readonly upper: ArrayLike<number>;
}

/** Bucket means of values[from, to), at most `max` buckets: [index of the bucket's middle, mean] (NaN where all are missing). */
export function bucketMeans(values: ArrayLike<number>, from: number, to: number, max: number): [number, number][] {
  const n = Math.max(0, to - from);
  const size = Math.max(1, Math.ceil(n / max));
  const out: [number, number][] = [];
  for (let b = from; b < to; b += size) {
    const end = Math.min(to, b + size);
    let sum = 0;
    let k = 0;
    for (let i = b; i < end; i++) {
      const v = values[i] as number;
      if (Number.isFinite(v)) {
        sum += v;
        k++;
      }
    }
    out.push([(b + end - 1) / 2, k ? sum / k : Number.NaN]);
  }
  return out;
}

export function forecastSvg(title: string, history: ChartSeries, f: ChartForecast, absoluteTime: boolean): string {
  const n = history.values.length;
  const horizon = f.mean.length;
  const shown = Math.min(n, Math.max(3 * horizon, Math.round(DAY / history.step)));
  const from = n - shown;
  const past = bucketMeans(history.values, from, n, MAX_DRAWN);
  const size = Math.max(1, Math.ceil(horizon / MAX_DRAWN));
  const ahead: [number, number, number, number][] = [];
  for (let b = 0; b < horizon; b += size) {
    const end = Math.min(horizon, b + size);
    const mid = (b + end - 1) / 2;
    let m = 0;
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = b; i < end; i++) {
      m += f.mean[i] as number;
      lo = Math.min(lo, f.lower[i] as number);
      hi = Math.max(hi, f.upper[i] as number);
    }
    ahead.push([n + mid, m / (end - b), lo, hi]);
  }
  const tOf = (index: number): number => history.start + index * history.step;
  const t0 = tOf(from);
  const t1 = tOf(n + horizon - 1);
  const ys = [...past.map((p) => p[1]), ...ahead.flatMap((a) => [a[1], a[2], a[3]])].filter(Number.isFinite);
  let y0 = ys.length ? Math.min(...ys) : 0;
  let y1 = ys.length ? Math.max(...ys) : 1;
  if (y1 - y0 < 1e-9 * Math.max(1, Math.abs(y1))) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = (y1 - y0) * 0.05;
  y0 = y0 >= 0 && y0 - pad < 0 ? 0 : y0 - pad;
  y1 += pad;
  const px = (t: number): number => M.left + ((t - t0) / Math.max(1e-9, t1 - t0)) * (W - M.left - M.right);
  const py = (y: number): number => H - M.bottom - ((y - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const xy = (index: number, y: number): string => `${px(tOf(index)).toFixed(1)},${py(y).toFixed(1)}`;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${M.left}" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="${M.left}" y="32" fill="#555">${esc(`model ${f.model}, ${horizon} point(s) ahead at ${history.step} s, ${Math.round(f.level * 100)} % interval shaded; history: the last ${shown} of ${n} points`)}</text>`);
  // Grid: values, then times.
  const yStep = niceStep((y1 - y0) / 6);
  for (let y = Math.ceil(y0 / yStep) * yStep; y <= y1; y += yStep) {
    out.push(`<line x1="${M.left}" y1="${py(y).toFixed(1)}" x2="${W - M.right}" y2="${py(y).toFixed(1)}" stroke="#eee"/><text x="${M.left - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${+y.toPrecision(6)}</text>`);
  }
  for (const { t, label } of timeTicks(t0, t1, absoluteTime, history.start)) {
    out.push(`<line x1="${px(t).toFixed(1)}" y1="${M.top}" x2="${px(t).toFixed(1)}" y2="${H - M.bottom}" stroke="#eee"/><text x="${px(t).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle">${label}</text>`);
  }
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 10}" text-anchor="middle">${absoluteTime ? 'time (UTC)' : 'time from the first row'}</text>`);
  // The interval as a band, the history, the mean, and the last observation.
  if (ahead.length) {
    const band = [...ahead.map((a) => xy(a[0], a[3])), ...ahead.slice().reverse().map((a) => xy(a[0], a[2]))];
    out.push(`<polygon fill="#1f77b4" fill-opacity="0.18" stroke="none" points="${band.join(' ')}"><title>${Math.round(f.level * 100)} % prediction interval</title></polygon>`);
  }
  let run: string[] = [];
  const lines: string[][] = [];
  for (const [i, v] of past) {
    if (Number.isFinite(v)) run.push(xy(i, v));
    else if (run.length) {
      lines.push(run);
      run = [];
    }
  }
  if (run.length) lines.push(run);
  for (const l of lines) out.push(`<polyline fill="none" stroke="#333" stroke-width="1.2" points="${l.join(' ')}"/>`);
  if (ahead.length) out.push(`<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${ahead.map((a) => xy(a[0], a[1])).join(' ')}"><title>forecast mean</title></polyline>`);
  const now = px(tOf(n - 1)).toFixed(1);
  out.push(`<line x1="${now}" y1="${M.top}" x2="${now}" y2="${H - M.bottom}" stroke="#888" stroke-dasharray="4 3"/><text x="${(Number(now) - 4).toFixed(1)}" y="${M.top + 12}" text-anchor="end" fill="#555">last observation</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
