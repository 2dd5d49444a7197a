// The fuzzing harness shared by test/fuzz/*.test.ts: seeded cases within a count and a time budget.
// The seed is printed with every run; FUZZ_SEED=N replays a run, FUZZ_SEED=random explores a new one,
// FUZZ_SCALE=K multiplies every fuzzer's case count, FUZZ_CONCURRENCY=N sets the cases in flight. A failing case throws with its seed, its index and
// the input that caused it.
import { createRng, type Rng } from '../../src/core/random.js';

export interface FuzzOptions {
  readonly name: string;
  /** Cases to run (times FUZZ_SCALE). */
  readonly cases: number;
  /** Stop early, without failing, when this much time has passed (ms). */
  readonly budgetMs: number;
  /** Cases in flight at once (for fuzzers that wait on sockets). */
  readonly concurrency?: number;
}

export interface FuzzResult {
  readonly seed: number;
  readonly cases: number;
  readonly ms: number;
}

/** Every run's total, for the line printed at the end of each fuzz file. */
export const totals: { name: string; result: FuzzResult }[] = [];

export function fuzzSeed(name: string): number {
  const env = process.env.FUZZ_SEED;
  if (env === 'random') return Math.floor(Math.random() * 2 ** 32);
  if (env !== undefined && env !== '' && Number.isInteger(Number(env))) return Number(env) >>> 0;
  // A fixed seed per fuzzer: CI runs are reproducible.
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Pick one element. */
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)] as T;
export const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng.next() * (hi - lo + 1));

/**
 * Run `check` on `cases` inputs made by `gen` from one seeded generator (inputs are made in order, so
 * a case is the same whatever the concurrency). Throws on the first failing case, naming it.
 */
export async function fuzz<T>(o: FuzzOptions, gen: (rng: Rng, i: number) => T, check: (input: T, i: number) => Promise<void> | void, show: (input: T) => string = (x) => JSON.stringify(x)): Promise<FuzzResult> {
  const seed = fuzzSeed(o.name);
  const rng = createRng(seed);
  const scale = Number(process.env.FUZZ_SCALE ?? 1) || 1;
  const n = Math.round(o.cases * scale);
  const started = performance.now();
  let done = 0;
  let next = 0;
  let failure: Error | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < n && performance.now() - started < o.budgetMs * scale) {
      const i = next++;
      const input = gen(rng, i);
      try {
        await check(input, i);
        done++;
      } catch (err) {
        failure ??= new Error(`fuzz ${o.name}: case ${i} failed (replay with FUZZ_SEED=${seed}): ${(err as Error).message}\n  input: ${show(input).slice(0, 4000)}`, { cause: err });
      }
    }
  };
  // FUZZ_CONCURRENCY=1 finds the one case that broke a shared state (as a member's ejection).
  await Promise.all(Array.from({ length: Number(process.env.FUZZ_CONCURRENCY ?? 0) || (o.concurrency ?? 1) }, worker));
  if (failure) throw failure;
  const result = { seed, cases: done, ms: Math.round(performance.now() - started) };
  totals.push({ name: o.name, result });
  console.log(`fuzz ${o.name}: seed ${seed}, ${done} cases in ${(result.ms / 1000).toFixed(1)} s`);
  return result;
}

/** Mutations of bytes: flips to characters that matter to parsers, inserts, deletes, repeats, cuts. */
export function mutateBytes(rng: Rng, input: Buffer, alphabet: readonly number[], maxEdits = 4): Buffer {
  let b = Buffer.from(input);
  const edits = 1 + Math.floor(rng.next() * maxEdits);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rng.next() * (b.length + 1));
    const r = rng.next();
    if (r < 0.4 && b.length > 0) b[Math.min(at, b.length - 1)] = pick(rng, alphabet);
    else if (r < 0.6) b = Buffer.concat([b.subarray(0, at), Buffer.from([pick(rng, alphabet)]), b.subarray(at)]);
    else if (r < 0.75) b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + Math.floor(rng.next() * 8)))]);
    else if (r < 0.9) {
      const len = Math.floor(rng.next() * 16);
      b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
    } else b = b.subarray(0, at);
  }
  return b;
}
