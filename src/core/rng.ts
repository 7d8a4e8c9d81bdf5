/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna, 2018) seeded through
 * splitmix32. 128 bits of state, period 2^128 − 1, fast in 32-bit integer arithmetic.
 * Every random choice in keel goes through an `Rng`; `fork(label)` derives an independent
 * stream so that adding a consumer in one place does not shift the numbers seen elsewhere.
 */

export type Seed = number | string;

/** 32-bit FNV-1a of a string, used to turn labels and string seeds into integers. */
export function hashString32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [state, z >>> 0];
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spareNormal: number | undefined;
  readonly seed: Seed;

  constructor(seed: Seed) {
    // NaN (arithmetic on a missing value) would silently seed the stream of 0. A fractional
    // seed is truncated: 1.5 seeds the stream of 1.
    if (typeof seed === "number" && !Number.isFinite(seed))
      throw new RangeError(`Rng: a numeric seed must be finite, got ${seed}`);
    this.seed = seed;
    const words = seedWords(typeof seed === "number" ? seed >>> 0 : hashString32(seed));
    // The high word of a seed outside [0, 2^32) (a negative one, say) is mixed in on its own:
    // folded into the low word, −1 would seed the same stream as 0, −2 as 1, 2^32 + 1 as 0.
    const high = typeof seed === "number" ? Math.floor(seed / 2 ** 32) >>> 0 : 0;
    if (high !== 0) {
      const extra = seedWords(high ^ 0x5bd1e995);
      for (let i = 0; i < 4; i++) words[i] = (words[i]! ^ extra[i]!) >>> 0;
    }
    [this.s0, this.s1, this.s2, this.s3] = words as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). Rejection sampling keeps it unbiased. */
  int(n: number): number {
    if (!(n >= 1) || !Number.isInteger(n))
      throw new RangeError(`Rng.int: n must be a positive integer, got ${n}`);
    if (n <= 2 ** 32) {
      const limit = 2 ** 32 - (2 ** 32 % n);
      let x = this.nextU32();
      while (x >= limit) x = this.nextU32();
      return x % n;
    }
    return Math.floor(this.float() * n);
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  bernoulli(p: number): boolean {
    return this.float() < p;
  }

  /** Standard normal by the Marsaglia polar method (the spare value is kept). */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return mean + std * z;
    }
    let u = 0;
    let v = 0;
    let s = 0;
    do {
      u = 2 * this.float() - 1;
      v = 2 * this.float() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * m;
    return mean + std * u * m;
  }

  /** An element chosen uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Rng.pick: empty array");
    return items[this.int(items.length)] as T;
  }

  /** An index drawn with probability proportional to `weights` (non-negative, not all zero). */
  weighted(weights: readonly number[]): number {
    let total = 0;
    let last = -1;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!;
      // A negative weight would shift every later index's share; an infinite one gives NaN.
      if (!(w >= 0 && w < Number.POSITIVE_INFINITY))
        throw new RangeError(`Rng.weighted: weight ${i} must be finite and ≥ 0, got ${w}`);
      total += w;
      if (w > 0) last = i;
    }
    if (!(total > 0 && total < Number.POSITIVE_INFINITY))
      throw new RangeError("Rng.weighted: weights must have a positive, finite sum");
    let r = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    // Rounding can leave r ≥ 0 after the last subtraction: the last index that can be drawn.
    return last;
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /** `k` distinct indices from [0, n), in random order. */
  sampleIndices(n: number, k: number): number[] {
    // A fractional k would give ⌈k⌉ indices on one path and ⌊k⌋ on the other.
    if (!Number.isInteger(n) || !Number.isInteger(k) || k < 0 || k > n)
      throw new RangeError(`Rng.sampleIndices: need integers 0 ≤ k ≤ n, got k=${k}, n=${n}`);
    if (k * 4 < n) {
      const seen = new Set<number>();
      const out: number[] = [];
      while (out.length < k) {
        const i = this.int(n);
        if (!seen.has(i)) {
          seen.add(i);
          out.push(i);
        }
      }
      return out;
    }
    const all = Array.from({ length: n }, (_, i) => i);
    this.shuffle(all);
    return all.slice(0, k);
  }

  /** An independent stream derived from this one's seed and a label (not from its position). */
  fork(label: string): Rng {
    return new Rng(`${String(this.seed)}/${label}`);
  }
}

/** Four state words from a 32-bit start through splitmix32. */
function seedWords(start: number): number[] {
  let st = start;
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [next, out] = splitmix32(st);
    st = next;
    words.push(out);
  }
  return words;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
