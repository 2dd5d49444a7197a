// Seeded randomness for deterministic simulations. The generator state lives in the returned
// object; nothing here reads the clock or global state.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Poisson-distributed count with the given mean. */
  poisson(mean: number): number;
  /** Standard normal variate. */
  normal(): number;
}

/** sfc32 seeded through splitmix32: fast, 128-bit state, passes PractRand to 2^40 bytes. */
export function createRng(seed: number): Rng {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();

  let spare = Number.NaN;
  const normal = (): number => {
    if (!Number.isNaN(spare)) {
      const v = spare;
      spare = Number.NaN;
      return v;
    }
    let u: number;
    let v: number;
    let r: number;
    do {
      u = next() * 2 - 1;
      v = next() * 2 - 1;
      r = u * u + v * v;
    } while (r >= 1 || r === 0);
    const f = Math.sqrt((-2 * Math.log(r)) / r);
    spare = v * f;
    return u * f;
  };

  const poisson = (mean: number): number => {
    if (!(mean > 0)) return 0;
    if (mean < 30) {
      // Knuth's product method: exact, O(mean).
      const limit = Math.exp(-mean);
      let k = 0;
      let p = next();
      while (p > limit) {
        k++;
        p *= next();
      }
      return k;
    }
    // Normal approximation with continuity correction; error is negligible at these means.
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal()));
  };

  return { next, poisson, normal };
}
