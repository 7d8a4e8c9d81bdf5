import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";

describe("Rng", () => {
  it("gives the same stream for the same seed and different streams for different seeds", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 8 }, () => a.nextU32());
    const sb = Array.from({ length: 8 }, () => b.nextU32());
    const sc = Array.from({ length: 8 }, () => c.nextU32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  it("accepts string seeds and forks independent, reproducible streams", () => {
    const r = new Rng("panel");
    const f1 = r.fork("raters").float();
    r.float();
    r.float();
    expect(r.fork("raters").float()).toBe(f1);
    expect(r.fork("prompts").float()).not.toBe(f1);
  });

  it("float() stays in [0, 1) and has the right mean", () => {
    const r = new Rng(1);
    let sum = 0;
    let outside = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const x = r.float();
      if (!(x >= 0 && x < 1)) outside++;
      sum += x;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.005);
  });

  it("int(n) is unbiased over a small range", () => {
    const r = new Rng(7);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[r.int(3)]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
  });

  it("normal() has mean 0 and variance 1", () => {
    const r = new Rng(3);
    const n = 50_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.02);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.03);
  });

  it("shuffle is a permutation; sampleIndices gives distinct indices in range", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 200 }), (seed, n) => {
        const r = new Rng(seed);
        const xs = Array.from({ length: n }, (_, i) => i);
        const sh = r.shuffle([...xs]);
        expect([...sh].sort((p, q) => p - q)).toEqual(xs);
        // k ≥ n/4 shuffles; a smaller k draws and skips repeats.
        for (const k of [Math.floor(n / 2), Math.floor(n / 5)]) {
          const idx = r.sampleIndices(n, k);
          expect(new Set(idx).size).toBe(k);
          for (const i of idx) expect(i >= 0 && i < n).toBe(true);
        }
      }),
    );
  });

  it("int(1) and a one-item pick are valid draws", () => {
    const r = new Rng(2);
    expect(r.int(1)).toBe(0);
    expect(r.pick(["only"])).toBe("only");
  });

  it("int(n) stays unbiased where 2^32 is not a multiple of n, and covers n above 2^32", () => {
    // n = 3·2^30: plain `u32 % n` would draw [0, 2^30) twice as often as the rest (1/2, not 1/3).
    const r = new Rng(11);
    const n = 3 * 2 ** 30;
    let low = 0;
    for (let i = 0; i < 6000; i++) if (r.int(n) < 2 ** 30) low++;
    expect(Math.abs(low / 6000 - 1 / 3)).toBeLessThan(0.04);
    const big = 2 ** 40;
    const xs = Array.from({ length: 2000 }, () => r.int(big));
    for (const x of xs) expect(Number.isInteger(x) && x >= 0 && x < big).toBe(true);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(mean / big - 0.5)).toBeLessThan(0.05);
  });

  it("rejects a non-positive int range and empty picks", () => {
    const r = new Rng(0);
    expect(() => r.int(0)).toThrow(RangeError);
    expect(() => r.pick([])).toThrow(RangeError);
    expect(() => r.weighted([0, 0])).toThrow(RangeError);
  });
});

describe("Rng seeds", () => {
  it("keeps the streams of seeds in [0, 2^32) and string seeds", () => {
    expect(new Rng(0).nextU32()).toBe(3809008728);
    expect(new Rng(1).nextU32()).toBe(2442144158);
    expect(new Rng("panel").nextU32()).toBe(new Rng("panel").nextU32());
  });

  it("gives negative seeds and seeds beyond 2^32 streams of their own", () => {
    const first = (seed: number) => {
      const r = new Rng(seed);
      return [r.nextU32(), r.nextU32(), r.nextU32()];
    };
    const seeds = [0, 1, 6, -1, -2, -7, 2 ** 32, 2 ** 32 + 1, -(2 ** 32), 2 ** 53 - 1];
    const streams = new Set(seeds.map((s) => first(s).join(",")));
    expect(streams.size).toBe(seeds.length);
    expect(first(-1)).toEqual(first(-1));
  });

  it("steps as xoshiro128** does, so a seed gives the same stream in every keel version", () => {
    // From the reference C code (prng.di.unimi.it/xoshiro128starstar.c), seeded as rng.ts
    // documents: four splitmix32 outputs from the seed.
    const r = new Rng(0);
    expect(Array.from({ length: 6 }, () => r.nextU32())).toEqual([
      3809008728, 1133695204, 53579671, 2891528803, 139681546, 2203266335,
    ]);
    // float(): the top 27 bits of one output and the top 26 of the next, over 2^53.
    const f = new Rng(42);
    expect([f.float(), f.float(), f.float()]).toEqual([
      0.6606157208001621, 0.1117019639532224, 0.0791056456144914,
    ]);
  });

  it("refuses a seed that is not a finite number instead of reading it as 0", () => {
    for (const seed of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
      expect(() => new Rng(seed)).toThrow(RangeError);
    expect(new Rng(1.5).nextU32()).toBe(new Rng(1).nextU32());
  });
});

describe("Rng.weighted", () => {
  /** An Rng whose float() is fixed, to reach the edges of the draw. */
  class FixedRng extends Rng {
    constructor(private readonly x: number) {
      super(0);
    }
    override float(): number {
      return this.x;
    }
  }

  it("never draws an index of weight 0, even where rounding leaves a remainder", () => {
    const top = 1 - 2 ** -53; // the largest value float() returns
    expect(new FixedRng(top).weighted([0.1, 0.2, 0.3, 0])).toBe(2);
    expect(new FixedRng(top).weighted([0.1, 0.2, 0.3])).toBe(2);
    expect(new FixedRng(0).weighted([0, 0.5, 0.5])).toBe(1);
  });

  it("refuses negative and infinite weights, which would skew or break the draw", () => {
    const r = new Rng(1);
    expect(() => r.weighted([5, -5, 1])).toThrow(RangeError);
    expect(() => r.weighted([Number.POSITIVE_INFINITY, 1])).toThrow(RangeError);
    expect(() => r.weighted([Number.NaN, 1])).toThrow(RangeError);
    expect(() => r.weighted([Number.MAX_VALUE, Number.MAX_VALUE])).toThrow(RangeError);
  });

  it("handles the distribution helpers' edge cases", () => {
    const r = new Rng(5);
    expect(r.sampleIndices(3, 3).sort()).toEqual([0, 1, 2]);
    expect(r.sampleIndices(0, 0)).toEqual([]);
    expect(() => r.sampleIndices(2, 3)).toThrow(RangeError);
    for (const [n, k] of [
      [100, 2.5],
      [10, 2.5],
      [10, -1],
      [Number.NaN, 1],
    ] as const)
      expect(() => r.sampleIndices(n, k), `n=${n} k=${k}`).toThrow(RangeError);
    expect(r.shuffle([])).toEqual([]);
    expect(r.shuffle([1])).toEqual([1]);
    for (let i = 0; i < 100; i++) {
      expect(r.bernoulli(0)).toBe(false);
      expect(r.bernoulli(1)).toBe(true);
      expect(r.normal(3, 0)).toBe(3);
    }
  });
});
