// Mutation rates as a signal (cell-based shadowing; docs/design/services.md). Pure: counts in, verdicts
// and floors out.
//
// 1. The mutation delta. Each tick, live's mutations times the copies each should reach the shadow with
//    (every synced shadow for a stateful service, one for a service mirroring every mutation) are what the
//    shadow should apply; what it answered is what it got. The lag is the difference accumulated since the
//    shadow pool last changed (a sync, a new or removed shadow). Copies in flight or queued make a lag that
//    shrinks again; copies lost on the way, or a shadow falling further behind, make one that grows. A lag
//    that grew in each of `windows` windows in a row, by more than `minShare` of what the shadow should
//    have applied in the last of them (and `minMutations`), is widening: the shadow is synced again. Its
//    growth, not its level: the window in which a sync ends leaves a constant offset (copies the snapshot
//    already had are skipped, copies held over earlier ticks are answered in it), which is no loss.
//    A lag read at a window's end is low by up to live's mutations then under way (their copies can reach
//    the shadow before live answers and counts them), so a growth no larger than those of the first window
//    compared can be a reading's error alone, and is not counted (under 64 concurrent writers the lag read
//    wanders by tens either way, which made four rising readings a matter of chance).
// 2. Writes as demand. A stateful service's write rate is forecast like its request rate; at the requests
//    per write it serves, the forecast's upper bound over the lead time is a demand of its own. Where writes
//    rise before reads, it scales the service earlier than its request forecast would (reason
//    mutations_ahead).

export interface MutationWindow {
  /** Live's mutations in the window. */
  readonly live: number;
  /** Copies the shadow should have applied: live's mutations times the copies per mutation, per tick. */
  readonly expected: number;
  /** Mutations the shadow answered. */
  readonly shadow: number;
  /** Copies still on their way to the shadow at the window's end (queued or in flight): not a lag. */
  readonly pending?: number;
  /** Live's mutations under way at the window's end: the lag read then may be low by up to this many. */
  readonly open?: number;
}

export interface MutationDeltaSettings {
  /** Windows in a row in which the lag grew. */
  readonly windows: number;
  /** Smallest growth of the lag over the last `windows` windows, as a share of the last window's expected copies, that counts as widening. */
  readonly minShare: number;
  /** Fewest expected copies in a window for it to count. */
  readonly minMutations: number;
}

export const DEFAULT_MUTATION_DELTA: MutationDeltaSettings = { windows: 3, minShare: 0.05, minMutations: 20 };

export interface MutationDelta {
  readonly verdict: 'in_step' | 'widening' | 'insufficient_data';
  /** Expected minus answered copies, accumulated over the windows (since the shadow pool last changed), less those still on their way. */
  readonly lag: number;
  /** Lag over the last window's expected copies. */
  readonly lagShare: number;
  /**
   * The lag's growth over the last `windows` windows, less the reading error it may hold (live's mutations
   * under way at the first of them), as a share of the last window's expected copies (0 without enough windows).
   */
  readonly growthShare: number;
  readonly numbers: Readonly<Record<string, number>>;
}

/** The verdict over the windows since the shadow pool last changed, oldest first. */
export function mutationDelta(windows: readonly MutationWindow[], s: MutationDeltaSettings = DEFAULT_MUTATION_DELTA): MutationDelta {
  // A copy queued or in flight at a window's end is late, not lost: a burst the shadow works through is no lag.
  const lags: number[] = [];
  let total = 0;
  let lag = 0;
  for (const w of windows) {
    total += w.expected - w.shadow;
    lag = total - (w.pending ?? 0);
    lags.push(lag);
  }
  const last = windows[windows.length - 1];
  const lagShare = last && last.expected > 0 ? lag / last.expected : 0;
  const recent = windows.slice(-s.windows);
  const tail = lags.slice(-(s.windows + 1));
  // The lag read at the first window compared may be low by its open mutations; at the last, reading low only understates the growth.
  const readingError = windows[windows.length - 1 - s.windows]?.open ?? 0;
  const growthShare = windows.length >= s.windows + 1 && last && last.expected > 0 ? (lag - (tail[0] as number) - readingError) / last.expected : 0;
  const numbers = { lag, lagShare, growthShare, expected: last?.expected ?? 0, answered: last?.shadow ?? 0, pending: last?.pending ?? 0, open: last?.open ?? 0, readingError, windows: windows.length };
  if (windows.length < s.windows + 1 || recent.some((w) => !(w.expected >= s.minMutations))) return { verdict: 'insufficient_data', lag, lagShare, growthShare, numbers };
  // Grown in each of the last `windows` windows (against the lag before each), and by enough.
  const grew = tail.every((v, k) => k === 0 || v > (tail[k - 1] as number));
  return { verdict: grew && growthShare > s.minShare ? 'widening' : 'in_step', lag, lagShare, growthShare, numbers };
}

export interface WriteDemand {
  /** The write forecast's upper bound over the horizon (writes/s). */
  readonly writesUpperRps: number;
  /** Requests the service serves per write (recent). */
  readonly requestsPerWrite: number;
  readonly perInstanceRps: number;
  readonly headroom: number;
}

/** Instances the forecast writes need at the requests per write served (0 when a figure is missing). */
export function writeDemandFloor(w: WriteDemand): { floor: number; rps: number } {
  const rps = w.writesUpperRps * w.requestsPerWrite;
  if (!(rps > 0) || !(w.perInstanceRps > 0) || !Number.isFinite(rps)) return { floor: 0, rps: Number.isFinite(rps) ? Math.max(0, rps) : 0 };
  return { floor: Math.ceil((rps * (1 + w.headroom)) / w.perInstanceRps - 1e-9), rps };
}
