// Small helpers the SVG charts share (the frontier's, the forecast's, the backtest's timeline): text
// escaping, axis steps, time ticks and the strategies' colours.

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A step of 1, 2 or 5 times a power of ten at or above `raw` (axis ticks). */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

export const STRATEGY_COLORS = { reactive: '#d62728', predictive: '#1f77b4', hybrid: '#2ca02c', oracle: '#7f7f7f' } as const;

const DAY = 86400;
const TIME_STEPS = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY];

/** A time tick's label: UTC date and time for epoch seconds, time from the start otherwise. */
export function timeLabel(t: number, absoluteTime: boolean, tick: number): string {
  if (!absoluteTime) return tick >= 3600 ? `+${+(t / 3600).toFixed(1)}h` : `+${Math.round(t / 60)}m`;
  const iso = new Date(t * 1000).toISOString();
  if (tick >= DAY) return iso.slice(0, 10);
  return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

/**
 * Ticks over [t0, t1] seconds, at most about eight, on round times: whole minutes, hours and UTC days for
 * epoch seconds, or whole steps from `start` otherwise (labelled as time since it).
 */
export function timeTicks(t0: number, t1: number, absoluteTime: boolean, start: number): { t: number; label: string }[] {
  const tick = TIME_STEPS.find((s) => (t1 - t0) / s <= 8) ?? 28 * DAY * Math.ceil((t1 - t0) / (8 * 28 * DAY));
  // Weeks start on Monday (1970-01-05 was one); other ticks on multiples of themselves since the epoch.
  const base = absoluteTime ? (tick % (7 * DAY) === 0 ? 4 * DAY : 0) : start;
  const out: { t: number; label: string }[] = [];
  for (let t = Math.ceil((t0 - base) / tick) * tick + base; t <= t1; t += tick) out.push({ t, label: timeLabel(absoluteTime ? t : t - start, absoluteTime, tick) });
  return out;
}
