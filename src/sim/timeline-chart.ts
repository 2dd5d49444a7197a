// An SVG timeline of a backtest: the demand (requests/s) and each strategy's capacity (the instances it
// holds, warming ones included, times an instance's rate at the SLO) minute by minute on one axis, and below it a strip per strategy
// marking its violated minutes. What `shadowscale backtest --timeline FILE.svg` writes.
//
// Long traces are drawn as bucket means of whole minutes, at most MAX_BUCKETS per line (the caption says
// how many minutes a bucket holds); a bucket holding any violated minute is marked. Minutes the trace has
// no data for (gaps) break the lines.

import { eventOccurrences, sizedEvents, type KnownEvent } from '../core/events.js';
import type { StrategyName } from '../core/reasons.js';
import type { MinuteRecord } from './simulator.js';
import { esc, niceStep, STRATEGY_COLORS, timeTicks } from './svg.js';

const W = 860;
const M = { left: 64, right: 110, top: 40, bottom: 44 };
const PLOT_H = 300;
const STRIP_H = 12;
export const MAX_BUCKETS = 1200;

export interface TimelineInput {
  readonly title: string;
  readonly perInstanceRps: number;
  readonly absoluteTime: boolean;
  /** Minute records per strategy, in time order (the simulator's `recordMinutes`). */
  readonly minutes: Partial<Record<StrategyName, readonly MinuteRecord[]>>;
  /** Known events of declared size (the service's): their occurrences within the drawn span are banded. */
  readonly events?: readonly KnownEvent[];
}

interface Bucket {
  at: number;
  demand: number;
  capacity: number;
  violated: boolean;
}

/** Minute records in buckets of `size` consecutive minutes (records more than a minute apart start a new bucket). */
export function bucketMinutes(records: readonly MinuteRecord[], size: number, perInstanceRps: number): Bucket[][] {
  const runs: Bucket[][] = [];
  let run: Bucket[] = [];
  let k = 0;
  let req = 0;
  let inst = 0;
  let violated = false;
  let first = 0;
  let prev = Number.NaN;
  const close = (): void => {
    if (k === 0) return;
    run.push({ at: first + ((k - 1) * 60) / 2, demand: req / k / 60, capacity: (inst / k) * perInstanceRps, violated });
    k = req = inst = 0;
    violated = false;
  };
  for (const r of records) {
    if (!Number.isNaN(prev) && r.at - prev > 60) {
      close();
      if (run.length) runs.push(run);
      run = [];
    }
    if (k === 0) first = r.at;
    req += r.requests;
    inst += r.instances;
    violated ||= r.violated;
    k++;
    prev = r.at;
    if (k === size) close();
  }
  close();
  if (run.length) runs.push(run);
  return runs;
}

export function timelineSvg(o: TimelineInput): string {
  const names = (Object.keys(o.minutes) as StrategyName[]).filter((n) => (o.minutes[n]?.length ?? 0) > 0);
  const first = o.minutes[names[0] as StrategyName] ?? [];
  const total = names.reduce((m, n) => Math.max(m, o.minutes[n]?.length ?? 0), 0);
  const size = Math.max(1, Math.ceil(total / MAX_BUCKETS));
  const runsOf = new Map(names.map((n) => [n, bucketMinutes(o.minutes[n] ?? [], size, o.perInstanceRps)]));
  // Every strategy replays the same workload: the first one's buckets carry the demand.
  const demandRuns = runsOf.get(names[0] as StrategyName) ?? [];
  const t0 = first.length ? (first[0] as MinuteRecord).at : 0;
  const t1 = first.length ? Math.max(t0 + 60, (first[first.length - 1] as MinuteRecord).at) : 60;
  const ys = [...demandRuns.flat().map((b) => b.demand), ...[...runsOf.values()].flat(2).map((b) => b.capacity)].filter(Number.isFinite);
  const y1 = Math.max(1, ...ys) * 1.05;
  const H = M.top + PLOT_H + 8 + names.length * (STRIP_H + 4) + M.bottom;
  const plotBottom = M.top + PLOT_H;
  const px = (t: number): number => M.left + ((t - t0) / (t1 - t0)) * (W - M.left - M.right);
  const py = (y: number): number => plotBottom - (y / y1) * PLOT_H;
  const pts = (run: readonly Bucket[], key: 'demand' | 'capacity'): string => run.map((b) => `${px(b.at).toFixed(1)},${py(b[key]).toFixed(1)}`).join(' ');
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${M.left}" y="18" font-size="13" font-weight="bold">${esc(o.title)}</text>`);
  out.push(`<text x="${M.left}" y="32" fill="#555">${esc(`demand and each strategy's capacity (instances held x ${+o.perInstanceRps.toFixed(1)} req/s at the SLO), ${size === 1 ? 'per minute' : `means over ${size} minutes`}; violated minutes below`)}</text>`);
  const yStep = niceStep(y1 / 6);
  for (let y = 0; y <= y1; y += yStep) out.push(`<line x1="${M.left}" y1="${py(y).toFixed(1)}" x2="${W - M.right}" y2="${py(y).toFixed(1)}" stroke="#eee"/><text x="${M.left - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${+y.toPrecision(6)}</text>`);
  const stripsBottom = plotBottom + 8 + names.length * (STRIP_H + 4);
  for (const { t, label } of timeTicks(t0, t1, o.absoluteTime, t0)) {
    out.push(`<line x1="${px(t).toFixed(1)}" y1="${M.top}" x2="${px(t).toFixed(1)}" y2="${plotBottom}" stroke="#eee"/><text x="${px(t).toFixed(1)}" y="${stripsBottom + 14}" text-anchor="middle">${label}</text>`);
  }
  // Known events of declared size the strategies planned with: a band over each occurrence, named with its multiplier.
  for (const e of sizedEvents(o.events ?? [])) {
    for (const occ of eventOccurrences(e, t0, t1)) {
      const x0 = px(Math.max(t0, occ.start));
      const x1 = px(Math.min(t1, occ.end));
      out.push(`<rect class="event" x="${x0.toFixed(1)}" y="${M.top}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${PLOT_H}" fill="#b54708" fill-opacity="0.10"/><text x="${(x0 + 3).toFixed(1)}" y="${M.top + 12}" fill="#b54708">${esc(`${e.name} x${e.multiplier}`)}</text>`);
    }
  }
  out.push(`<text transform="translate(16 ${M.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle">requests/s</text>`);
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 8}" text-anchor="middle">${o.absoluteTime ? 'time (UTC)' : 'time from the first row'}</text>`);
  for (const run of demandRuns) out.push(`<polyline fill="none" stroke="#000" stroke-opacity="0.55" stroke-width="1" points="${pts(run, 'demand')}"/>`);
  let legend = 0;
  const legendLine = (color: string, label: string, dash = ''): void => {
    const ly = M.top + 10 + legend++ * 16;
    out.push(`<line x1="${W - M.right + 8}" y1="${ly - 4}" x2="${W - M.right + 26}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash}/><text x="${W - M.right + 30}" y="${ly}">${esc(label)}</text>`);
  };
  legendLine('#777', 'demand');
  names.forEach((name, i) => {
    const color = STRATEGY_COLORS[name];
    const dash = name === 'oracle' ? ' stroke-dasharray="4 3"' : '';
    for (const run of runsOf.get(name) ?? []) out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5"${dash} points="${pts(run, 'capacity')}"/>`);
    legendLine(color, name, dash);
    const sy = plotBottom + 8 + i * (STRIP_H + 4);
    const records = o.minutes[name] ?? [];
    const violated = records.reduce((s, r) => s + (r.violated ? 1 : 0), 0);
    out.push(`<rect x="${M.left}" y="${sy}" width="${W - M.left - M.right}" height="${STRIP_H}" fill="#f6f6f6"/><text x="${W - M.right + 8}" y="${sy + STRIP_H - 2}" fill="#555">${esc(`${name}: ${violated} min`)}</text>`);
    const marks = (runsOf.get(name) ?? []).flat().filter((b) => b.violated);
    if (marks.length) out.push(`<path stroke="${color}" stroke-width="1" d="${marks.map((b) => `M${px(b.at).toFixed(1)} ${sy}v${STRIP_H}`).join('')}"/>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
