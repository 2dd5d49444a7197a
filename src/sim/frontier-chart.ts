// An SVG chart of cost-SLO frontiers: cost (relative to the oracle) against SLO attainment, one line
// per strategy, every swept point marked and the frontier joined. The attainment axis is logarithmic in
// the violated share (99 %, 99.9 %, 99.99 % evenly apart), where the strategies differ.

import { esc, niceStep, STRATEGY_COLORS } from './svg.js';
import type { FrontierPoint, SweptStrategy } from './sweep.js';

const W = 640;
const H = 400;
const M = { left: 64, right: 150, top: 36, bottom: 48 };

/** -log10 of the violated share, capped at 1e-5 (a run with no violation sits at the right edge). */
function nines(attainment: number): number {
  return -Math.log10(Math.max(1e-5, 1 - attainment));
}

export function frontierSvg(title: string, points: Partial<Record<SweptStrategy, readonly FrontierPoint[]>>, frontier: Partial<Record<SweptStrategy, readonly FrontierPoint[]>>, oracleCost: number): string {
  const all = Object.values(points).flat() as FrontierPoint[];
  const ratio = (p: FrontierPoint): number => (oracleCost > 0 ? p.cost / oracleCost : p.cost);
  const xs = all.map((p) => nines(p.sloAttainment));
  const ys = all.map(ratio);
  const x0 = Math.min(1, ...xs);
  const x1 = Math.max(3.5, ...xs);
  const y0 = Math.min(1, ...ys) * 0.95;
  const y1 = Math.max(1.2, ...ys) * 1.03;
  const px = (x: number): number => M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right);
  const py = (y: number): number => H - M.bottom - ((y - y0) / (y1 - y0)) * (H - M.top - M.bottom);
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
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">SLO attainment (share of minutes meeting the SLO)</text>`);
  out.push(`<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">cost / oracle</text>`);
  // Strategies.
  let legend = 0;
  for (const [name, pts] of Object.entries(points) as [SweptStrategy, FrontierPoint[]][]) {
    const color = STRATEGY_COLORS[name];
    for (const p of pts) out.push(`<circle cx="${px(nines(p.sloAttainment)).toFixed(1)}" cy="${py(ratio(p)).toFixed(1)}" r="2.5" fill="none" stroke="${color}"><title>${name} knob ${p.knob}: ${ratio(p).toFixed(3)}x, ${(p.sloAttainment * 100).toFixed(3)} %</title></circle>`);
    const f = frontier[name] ?? [];
    if (f.length > 0) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${f.map((p) => `${px(nines(p.sloAttainment)).toFixed(1)},${py(ratio(p)).toFixed(1)}`).join(' ')}"/>`);
    const ly = M.top + 14 + legend++ * 18;
    out.push(`<line x1="${W - M.right + 10}" y1="${ly - 4}" x2="${W - M.right + 30}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/><text x="${W - M.right + 36}" y="${ly}">${name}</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
