// SVG charts of cost against SLO attainment: cost (relative to the oracle) against attainment, every run
// marked and each frontier joined. The attainment axis is logarithmic in the violated share (99 %, 99.9 %,
// 99.99 % evenly apart), where the strategies differ. The cost axis spans the frontiers and the marked
// points: a dominated run costlier than all of them is drawn on the top edge (its tooltip has its cost), so
// that a setting at several times the oracle does not flatten the region where strategies are compared.
// `frontierSvg` draws a sweep (one line per strategy, `backtest --sweep --chart`) with each strategy's cost
// at the reported attainments (99.9 %, 99.5 %) marked and listed; `tuneSvg` draws a search (`tune --chart`):
// its runs, its frontier, the default and the chosen settings, and the target.

import { esc, niceStep, STRATEGY_COLORS } from './svg.js';
import type { FrontierPoint, SweptStrategy } from './sweep.js';

const W = 640;
const H = 400;
const M = { left: 64, right: 150, top: 36, bottom: 48 };

interface Point {
  readonly cost: number;
  readonly sloAttainment: number;
}

interface Series<P extends Point> {
  readonly name: string;
  readonly color: string;
  readonly points: readonly P[];
  readonly frontier: readonly P[];
  /** A point's tooltip. */
  readonly tip: (p: P, ratio: number) => string;
}

interface Mark {
  readonly label: string;
  readonly point: Point;
  readonly shape: 'square' | 'diamond';
}

/** -log10 of the violated share, capped at 1e-5 (a run with no violation sits at the right edge). */
function nines(attainment: number): number {
  return -Math.log10(Math.max(1e-5, 1 - attainment));
}

/**
 * The frontier as drawn, (nines, cost) points: between two runs the cost is linear in the attainment, as
 * `costAt` interpolates it (src/core/frontier.ts), so a segment is a curve on the logarithmic axis, drawn in
 * short steps; the marked cost at 99.9 % then lies on the line. (A run with no violation sits at the capped
 * edge: there the violated share runs linearly to the cap instead.)
 */
function frontierPath(frontier: readonly Point[]): [number, number][] {
  const out: [number, number][] = [];
  const STEPS = 24;
  frontier.forEach((hi, i) => {
    const lo = frontier[i - 1];
    const xHi = nines(hi.sloAttainment);
    if (lo) {
      const xLo = nines(lo.sloAttainment);
      const vLo = 10 ** -xLo;
      const vHi = 10 ** -xHi;
      for (let k = 1; k < STEPS && vLo !== vHi; k++) {
        const x = xLo + ((xHi - xLo) * k) / STEPS;
        out.push([x, lo.cost + ((vLo - 10 ** -x) / (vLo - vHi)) * (hi.cost - lo.cost)]);
      }
    }
    out.push([xHi, hi.cost]);
  });
  return out;
}

/** Costs at equal attainment: per attainment (e.g. "0.999"), each series' cost there (null: not reached). */
type EqualCosts = Readonly<Record<string, Readonly<Record<string, number | null>>>>;

function costAttainmentSvg<P extends Point>(title: string, series: readonly Series<P>[], oracleCost: number, marks: readonly Mark[] = [], target?: number, equal: EqualCosts = {}): string {
  const all: Point[] = [...series.flatMap((s) => s.points), ...marks.map((m) => m.point)];
  const ratio = (cost: number): number => (oracleCost > 0 ? cost / oracleCost : cost);
  const equalCosts = Object.values(equal).flatMap((byName) => Object.values(byName).filter((c): c is number => c !== null));
  const xs = [...all.map((p) => nines(p.sloAttainment)), ...(target !== undefined ? [nines(target)] : []), ...Object.keys(equal).map((a) => nines(Number(a)))];
  // The cost axis: what is compared (frontiers, marks, costs at equal attainment), not every dominated run.
  const shown = [...series.flatMap((s) => (s.frontier.length > 0 ? s.frontier : s.points)), ...marks.map((m) => m.point)].map((p) => ratio(p.cost));
  const ys = [...shown, ...equalCosts.map((c) => ratio(c))];
  const x0 = Math.min(1, ...xs);
  const x1 = Math.max(3.5, ...xs);
  const y0 = Math.min(1, ...ys, ...all.map((p) => ratio(p.cost))) * 0.95;
  const y1 = Math.max(1.2, ...ys) * 1.1;
  const px = (x: number): number => M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right);
  const py = (y: number): number => H - M.bottom - ((y - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const above = all.filter((p) => ratio(p.cost) > y1).length;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${M.left}" y="20" font-size="13" font-weight="bold">${esc(title)}</text>`);
  // Axes and grid.
  for (let k = Math.ceil(x0); k <= Math.floor(x1); k++) {
    const label = `${(100 * (1 - 10 ** -k)).toFixed(Math.max(0, k - 2))} %`;
    out.push(`<line x1="${px(k)}" y1="${M.top}" x2="${px(k)}" y2="${H - M.bottom}" stroke="#ddd"/><text x="${px(k)}" y="${H - M.bottom + 16}" text-anchor="middle">${label}</text>`);
  }
  const yStep = niceStep((y1 - y0) / 6);
  for (let y = Math.ceil(y0 / yStep) * yStep; y <= y1; y += yStep) {
    out.push(`<line x1="${M.left}" y1="${py(y)}" x2="${W - M.right}" y2="${py(y)}" stroke="#eee"/><text x="${M.left - 6}" y="${py(y) + 4}" text-anchor="end">${y.toFixed(2)}</text>`);
  }
  out.push(`<line x1="${M.left}" y1="${py(1)}" x2="${W - M.right}" y2="${py(1)}" stroke="#888" stroke-dasharray="4 3"/><text x="${W - M.right + 4}" y="${py(1) + 4}" fill="#555">oracle</text>`);
  for (const a of Object.keys(equal)) {
    const ax = px(nines(Number(a))).toFixed(1);
    out.push(`<line x1="${ax}" y1="${M.top}" x2="${ax}" y2="${H - M.bottom}" stroke="#999" stroke-dasharray="1 3"/>`);
  }
  if (above > 0) out.push(`<text x="${M.left + 4}" y="${M.top + 10}" fill="#555">${above} run(s) above ${y1.toFixed(2)}x drawn on this edge</text>`);
  if (target !== undefined) {
    const tx = px(nines(target)).toFixed(1);
    out.push(`<line x1="${tx}" y1="${M.top}" x2="${tx}" y2="${H - M.bottom}" stroke="#555" stroke-dasharray="2 3"/><text x="${tx}" y="${M.top - 4}" text-anchor="middle" fill="#555">target ${esc(`${+(target * 100).toFixed(4)} %`)}</text>`);
  }
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">SLO attainment (share of minutes meeting the SLO)</text>`);
  out.push(`<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">cost / oracle</text>`);
  // Series.
  let legend = 0;
  for (const s of series) {
    for (const p of s.points) {
      const off = ratio(p.cost) > y1;
      out.push(`<circle cx="${px(nines(p.sloAttainment)).toFixed(1)}" cy="${py(off ? y1 : ratio(p.cost)).toFixed(1)}" r="2.5" fill="none" stroke="${s.color}"${off ? ' stroke-dasharray="1 1"' : ''}><title>${esc(s.tip(p, ratio(p.cost)))}</title></circle>`);
    }
    if (s.frontier.length > 0) out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${frontierPath(s.frontier).map(([x, y]) => `${px(x).toFixed(1)},${py(ratio(y)).toFixed(1)}`).join(' ')}"/>`);
    const ly = M.top + 14 + legend++ * 18;
    out.push(`<line x1="${W - M.right + 10}" y1="${ly - 4}" x2="${W - M.right + 30}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/><text x="${W - M.right + 36}" y="${ly}">${esc(s.name)}</text>`);
  }
  for (const m of marks) {
    const x = px(nines(m.point.sloAttainment));
    const y = py(ratio(m.point.cost));
    const shape = m.shape === 'square' ? `<rect x="${(x - 4).toFixed(1)}" y="${(y - 4).toFixed(1)}" width="8" height="8"` : `<path d="M${x.toFixed(1)} ${(y - 6).toFixed(1)}l6 6l-6 6l-6 -6z"`;
    out.push(`${shape} fill="#000" fill-opacity="0.75"><title>${esc(`${m.label}: ${ratio(m.point.cost).toFixed(3)}x, ${(m.point.sloAttainment * 100).toFixed(3)} %`)}</title>${m.shape === 'square' ? '</rect>' : '</path>'}`);
    const ly = M.top + 14 + legend++ * 18;
    const lx = W - M.right + 20;
    out.push(m.shape === 'square' ? `<rect x="${lx - 4}" y="${ly - 8}" width="8" height="8" fill="#000" fill-opacity="0.75"/>` : `<path d="M${lx} ${ly - 10}l5 5l-5 5l-5 -5z" fill="#000" fill-opacity="0.75"/>`);
    out.push(`<text x="${W - M.right + 36}" y="${ly}">${esc(m.label)}</text>`);
  }
  // Each series' cost at the compared attainments: a bar on the attainment's line, and listed in the legend.
  for (const [a, byName] of Object.entries(equal)) {
    const ax = px(nines(Number(a)));
    const label = `${+(Number(a) * 100).toFixed(4)} %`;
    legend += 0.5;
    out.push(`<text x="${W - M.right + 10}" y="${M.top + 14 + legend++ * 18}" fill="#555">cost at ${esc(label)}</text>`);
    for (const s of series) {
      const c = byName[s.name];
      if (c === undefined) continue;
      const r = c === null ? undefined : ratio(c);
      if (r !== undefined) out.push(`<line x1="${(ax - 7).toFixed(1)}" y1="${py(r).toFixed(1)}" x2="${(ax + 7).toFixed(1)}" y2="${py(r).toFixed(1)}" stroke="${s.color}" stroke-width="3"><title>${esc(`${s.name} at ${label}: ${r.toFixed(3)}x the oracle`)}</title></line>`);
      out.push(`<text x="${W - M.right + 16}" y="${M.top + 14 + legend++ * 18}" fill="${s.color}">${esc(`${s.name} ${r === undefined ? 'not reached' : `${r.toFixed(3)}x`}`)}</text>`);
    }
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export function frontierSvg(title: string, points: Partial<Record<SweptStrategy, readonly FrontierPoint[]>>, frontier: Partial<Record<SweptStrategy, readonly FrontierPoint[]>>, oracleCost: number, costAtAttainment: Partial<Record<SweptStrategy, Readonly<Record<string, number | null>>>> = {}): string {
  const series = (Object.entries(points) as [SweptStrategy, FrontierPoint[]][]).map(([name, pts]) => ({
    name,
    color: STRATEGY_COLORS[name],
    points: pts,
    frontier: frontier[name] ?? [],
    tip: (p: FrontierPoint, r: number) => `${name} knob ${p.knob}: ${r.toFixed(3)}x, ${(p.sloAttainment * 100).toFixed(3)} %`,
  }));
  const equal: Record<string, Record<string, number | null>> = {};
  for (const [name, byAttainment] of Object.entries(costAtAttainment)) for (const [a, c] of Object.entries(byAttainment)) (equal[a] ??= {})[name] = c;
  return costAttainmentSvg(title, series, oracleCost, [], undefined, equal);
}

export interface TunePoint extends Point {
  readonly settings: Readonly<Record<string, number | string>>;
}

/** A `tune` search: every run, its frontier, the default's and the chosen settings' runs, and the target. */
export function tuneSvg(title: string, strategy: SweptStrategy, runs: readonly TunePoint[], frontier: readonly TunePoint[], best: TunePoint, dflt: TunePoint, oracleCost: number, target: number): string {
  const settingsText = (p: TunePoint): string => Object.entries(p.settings).map(([k, v]) => `${k.split('.').pop()}=${v}`).join(' ');
  return costAttainmentSvg(
    title,
    [{ name: `${strategy}: ${runs.length} runs`, color: STRATEGY_COLORS[strategy], points: runs, frontier, tip: (p, r) => `${r.toFixed(3)}x, ${(p.sloAttainment * 100).toFixed(3)} %: ${settingsText(p)}` }],
    oracleCost,
    [
      { label: 'default', point: dflt, shape: 'square' },
      { label: 'chosen', point: best, shape: 'diamond' },
    ],
    target,
  );
}
