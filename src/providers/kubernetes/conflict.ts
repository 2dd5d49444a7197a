// Retrying conditional writes on 409 Conflict. Another writer changing the object between our read and our
// write is normal on Kubernetes (kubectl scale, another controller, a rollout): the write is read again and
// retried, never overwritten. The budget is time, not a count: under a busy writer the chance of one round
// getting through depends on the round trip, so a fixed count of quick retries fails on a loaded API server
// while a few seconds of retries succeed. Pauses grow exponentially with full jitter (a random pause up to
// the bound), which keeps the rounds from locking in step with a writer that writes at a fixed period.

/** How long conditional writes keep retrying conflicts by default. */
export const CONFLICT_BUDGET_MS = 30_000;

/** The pause before retry `attempt` (0-based): uniform in [0, min(cap, base·2^attempt)], at least 1 ms. */
export function conflictPause(attempt: number, random: () => number = Math.random, baseMs = 10, capMs = 250): number {
  const bound = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.max(1, Math.round(random() * bound));
}

/** Whether a conflict met `elapsedMs` after the first attempt is retried within a budget of `budgetMs`. */
export function retryConflict(elapsedMs: number, budgetMs: number = CONFLICT_BUDGET_MS): boolean {
  return elapsedMs < budgetMs;
}

/** Sleep the pause for retry `attempt`. */
export function pauseAfterConflict(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, conflictPause(attempt)));
}
