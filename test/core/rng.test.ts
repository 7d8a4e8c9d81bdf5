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
        const k = Math.floor(n / 2);
        const idx = r.sampleIndices(n, k);
        expect(new Set(idx).size).toBe(k);
        for (const i of idx) expect(i >= 0 && i < n).toBe(true);
      }),
    );
  });

  it("rejects a non-positive int range and empty picks", () => {
    const r = new Rng(0);
    expect(() => r.int(0)).toThrow(RangeError);
    expect(() => r.pick([])).toThrow(RangeError);
    expect(() => r.weighted([0, 0])).toThrow(RangeError);
  });
});
