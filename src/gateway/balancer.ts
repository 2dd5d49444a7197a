// Power-of-two-choices load balancing over a pool's healthy members: draw two members at random
// (proportionally to weight) and send to the one with fewer outstanding requests per unit of weight.

export interface Member {
  readonly id: string;
  readonly url: string;
  weight: number;
  outstanding: number;
  healthy: boolean;
}

/** A member drawn with probability proportional to its weight (`r` uniform in [0, total)). */
function draw<M extends Member>(members: readonly M[], r: number): M | undefined {
  let last: M | undefined;
  for (const m of members) {
    if (!m.healthy || m.weight <= 0) continue;
    last = m;
    r -= m.weight;
    if (r < 0) return m;
  }
  return last;
}

/** The member to send to, or undefined when no healthy member has a positive weight. */
export function pickTwoChoices<M extends Member>(members: readonly M[], random: () => number): M | undefined {
  let total = 0;
  for (const m of members) if (m.healthy && m.weight > 0) total += m.weight;
  if (total <= 0) return undefined;
  const a = draw(members, random() * total) as M;
  const b = draw(members, random() * total) as M;
  return a.outstanding / a.weight <= b.outstanding / b.weight ? a : b;
}
