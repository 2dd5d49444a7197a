// Tables the analysis commands print without --json.

import { type BacktestReport } from '../sim/backtest.js';
import { type SweepReport, type SweptStrategy } from '../sim/sweep.js';
import { type TuneReport, type TuneRun } from '../sim/tune.js';

/** A target as a percentage with the digits it was given (99.9 %, 99.9999 %), never rounded up to 100 %. */
export function targetPercent(x: number): string {
  return `${parseFloat((x * 100).toFixed(6))} %`;
}

export function renderTune(r: TuneReport, written: string | null): string {
  const fmt = (x: TuneRun): string => `cost ${x.cost.toFixed(2)} (${x.costRatioToOracle === null ? '-' : `${x.costRatioToOracle.toFixed(3)}x the oracle`}), attainment ${(x.sloAttainment * 100).toFixed(3)} %, ${x.sloViolationMinutes} violation min`;
  const settings = (x: TuneRun): string => Object.entries(x.settings).map(([k, v]) => `${k}=${v}`).join(' ');
  return [
    `tune ${r.strategy} for ${targetPercent(r.target)} attainment: ${r.runs} runs`,
    `  default  ${settings(r.default)}`,
    `           ${fmt(r.default)}`,
    `  ${r.meetsTarget ? 'best    ' : 'closest '} ${settings(r.best)}`,
    `           ${fmt(r.best)}${r.meetsTarget ? `; ${r.costRatioToDefault.toFixed(3)}x the default's cost` : ' (the target is not reached)'}`,
    'frontier (cost / oracle @ attainment):',
    ...r.frontier.map((x) => `  ${(x.costRatioToOracle ?? x.cost).toFixed(3)} @ ${(x.sloAttainment * 100).toFixed(3)} %  ${settings(x)}`),
    written ? `written to ${written}` : '',
    '',
  ].join('\n');
}

export function renderSweep(r: SweepReport): string {
  const lines = ['frontier (cost / oracle at SLO attainment, undominated points; knob in brackets):'];
  for (const [name, f] of Object.entries(r.frontier)) {
    lines.push(`  ${name.padEnd(10)} ${r.knobs[name as SweptStrategy]}: ${f.map((p) => `${(p.costRatioToOracle ?? p.cost).toFixed(3)} @ ${(p.sloAttainment * 100).toFixed(3)} % [${p.knob}]`).join(', ')}`);
  }
  lines.push('cost / oracle at equal attainment (interpolated on each frontier; - where not reached):');
  for (const [name, c] of Object.entries(r.costAtAttainment)) {
    lines.push(`  ${name.padEnd(10)} ${Object.entries(c).map(([a, v]) => `${(Number(a) * 100).toFixed(1)} %: ${v === null ? '-' : (v / r.oracle.cost).toFixed(3)}`).join('   ')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderBacktest(r: BacktestReport): string {
  const rows = Object.entries(r.strategies).map(([name, s]) => [
    name,
    s.cost.toFixed(2),
    s.costRatioToOracle === null ? '-' : `${s.costRatioToOracle.toFixed(3)}x`,
    s.instanceHours.toFixed(1),
    String(s.sloViolationMinutes),
    `${(s.sloAttainment * 100).toFixed(3)} %`,
    `${(s.overProvisioning * 100).toFixed(1)} %`,
    String(s.scalingActions),
    String(s.maxInstances),
  ]);
  const head = ['strategy', 'cost', 'vs oracle', 'inst-hours', 'SLO viol. min', 'attainment', 'over-prov.', 'actions', 'max inst.'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  const s = r.settings as { peakRps: number; perInstanceRpsAtSlo: number; leadTimeSeconds: number; slo: { latencyP99Ms: number } };
  return [
    `${r.input.file} (${r.input.column}, ${r.input.rows} rows, step ${r.input.step}s, ${(r.input.simulatedSeconds / 86400).toFixed(1)} days simulated)`,
    `peak ${s.peakRps} req/s, ${s.perInstanceRpsAtSlo.toFixed(1)} req/s per instance at p99 <= ${s.slo.latencyP99Ms} ms, lead time ${s.leadTimeSeconds}s`,
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
  ].join('\n');
}

