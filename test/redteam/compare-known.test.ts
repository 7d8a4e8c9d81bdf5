/**
 * pairedDifference against answers computed outside keel: on five probes every one of the
 * 5⁵ = 3125 bootstrap resamples is equally likely, so the resampled mean's exact distribution can
 * be enumerated (Python with exact fractions), and its 2.5th and 97.5th percentiles fall well
 * inside steps of that distribution (cumulative share 0.0778 at −0.25; 0.9130 at 0.2 and 0.9898
 * at 0.35), so any seed with enough resamples lands on them.
 */
import { describe, expect, it } from "vitest";
import { pairedDifference } from "../../src/redteam/compare.js";
import type { ProbeResult } from "../../src/redteam/metrics.js";

/** Per probe [harmful answers under A, answers under A, harmful under B, answers under B]. */
function arms(spec: readonly (readonly [number, number, number, number])[]) {
  const a: ProbeResult[] = [];
  const b: ProbeResult[] = [];
  const row = (i: number, harmful: boolean): ProbeResult => ({
    suite: "harmful",
    prompt_id: `p${i}`,
    text: `request ${i}`,
    response: "…",
    score: { harmful } as ProbeResult["score"],
  });
  spec.forEach(([ha, na, hb, nb], i) => {
    for (let k = 0; k < na; k++) a.push(row(i, k < ha));
    for (let k = 0; k < nb; k++) b.push(row(i, k < hb));
  });
  return { a, b };
}

const harmful = (r: ProbeResult) => r.score.harmful;

describe("pairedDifference: known answers", () => {
  // Per-probe gaps 0.5, −0.25, −0.25, −0.25, 0.5: mean 0.05.
  const { a, b } = arms([
    [2, 4, 0, 4],
    [1, 2, 3, 4],
    [1, 2, 6, 8],
    [1, 2, 3, 4],
    [1, 2, 0, 2],
  ]);

  it("gives the exact bootstrap distribution's percentiles, whatever the seed", () => {
    for (const seed of [1, 2, 3]) {
      const d = pairedDifference(a, b, "harmful", harmful, { seed, resamples: 100_000 })!;
      expect(d.probes).toBe(5);
      expect(d.ci95).toEqual([-0.25, 0.35]);
    }
    // The default 2000 resamples land on the same steps.
    expect(pairedDifference(a, b, "harmful", harmful, { seed: 1 })!.ci95).toEqual([-0.25, 0.35]);
  });

  it("estimates the mean over probes of the per-probe gap, each probe weighing the same", () => {
    // Pooled over answers the arms' rates are 6/12 and 12/22, a gap of −1/22; the paired
    // estimate weighs each probe once, whatever its answer count, and gives +0.05. (In a run
    // every probe is answered `redteam.samples` times by both arms, and the two agree.)
    const d = pairedDifference(a, b, "harmful", harmful, { seed: 1 })!;
    expect(d.estimate).toBe(0.05);
    const even = arms([
      [3, 8, 1, 8],
      [0, 8, 5, 8],
      [8, 8, 2, 8],
    ]);
    const e = pairedDifference(even.a, even.b, "harmful", harmful, { seed: 1 })!;
    expect(e.estimate).toBe(11 / 24 - 8 / 24);
  });

  it("gives [d, d] when every probe's gap is the same d", () => {
    const same = arms(Array.from({ length: 30 }, () => [5, 8, 4, 8] as const));
    const d = pairedDifference(same.a, same.b, "harmful", harmful, { seed: 4 })!;
    expect(d.estimate).toBe(0.125);
    expect(d.ci95).toEqual([0.125, 0.125]);
  });
});

/**
 * The exact distribution of the bootstrap mean on n probes, by convolution rather than
 * sampling: each draw takes one of the n per-probe gaps (integers over `scale`) with chance 1/n,
 * so the resampled sum's distribution is the n-fold convolution of that one draw's.
 */
function exactBootstrap(gaps: readonly number[], scale: number) {
  const n = gaps.length;
  const lo = Math.min(...gaps);
  const hi = Math.max(...gaps);
  let dist = new Float64Array(1).fill(1); // sum − k·lo after k draws
  for (let k = 0; k < n; k++) {
    const next = new Float64Array(dist.length + hi - lo);
    for (let s = 0; s < dist.length; s++) {
      if (dist[s] === 0) continue;
      for (const g of gaps) next[s + g - lo]! += dist[s]! / n;
    }
    dist = next;
  }
  /** The smallest mean m with P(resampled mean ≤ m) ≥ q. */
  return (q: number): number => {
    let c = 0;
    for (let s = 0; s < dist.length; s++) {
      c += dist[s]!;
      if (c >= q) return (s + n * lo) / (n * scale);
    }
    return hi / scale;
  };
}

describe("pairedDifference: the bootstrap against its exact distribution on 40 probes", () => {
  // Eight answers a probe in both arms: per-probe gaps in eighths from −3/8 to +5/8.
  const spec = Array.from(
    { length: 40 },
    (_, i) => [(i * 5) % 9, 8, (i * 7) % 4, 8] as [number, number, number, number],
  );
  const gaps = spec.map(([ha, , hb]) => ha - hb);
  const quantile = exactBootstrap(gaps, 8);

  it("puts each bound within 0.7 percentage points of the exact 2.5th and 97.5th percentiles", () => {
    // With R = 100,000 resamples the empirical CDF is within 0.007 of the exact one everywhere
    // but with chance 2·exp(−2R·0.007²) = 1.1e-4 (Dvoretzky–Kiefer–Wolfowitz), so the 2.5th
    // percentile falls in [Q(0.018), Q(0.032)] whatever the seed; a 5th percentile (a 90%
    // interval), resampling 39 probes of 40 or an off-by-one quantile would not.
    const { a, b } = arms(spec);
    const d = pairedDifference(a, b, "harmful", harmful, { seed: 7, resamples: 100_000 })!;
    expect(d.probes).toBe(40);
    expect(d.estimate).toBe(gaps.reduce((s, g) => s + g, 0) / (40 * 8));
    expect(d.ci95[0]).toBeGreaterThanOrEqual(quantile(0.018));
    expect(d.ci95[0]).toBeLessThanOrEqual(quantile(0.032));
    expect(d.ci95[1]).toBeGreaterThanOrEqual(quantile(0.968));
    expect(d.ci95[1]).toBeLessThanOrEqual(quantile(0.982));
    // The band is narrow enough to matter: the 5th and 95th percentiles lie outside it.
    expect(quantile(0.05)).toBeGreaterThan(quantile(0.032));
    expect(quantile(0.95)).toBeLessThan(quantile(0.968));
  });
});

describe("pairedDifference: answer counts whose common multiple is not a safe integer", () => {
  it("falls back to float gaps and still estimates the mean gap", () => {
    // Answer counts 2, 3, 5, …, 43 (the first 14 primes): their product times 14 probes is past
    // 2^53, so the gaps are summed as floats.
    const primes = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43];
    const spec = primes.map((p, i) => [i % 2 === 0 ? p : 1, p, i % 3 === 0 ? 0 : 1, p] as const);
    const { a, b } = arms(spec);
    const want = spec.reduce((s, [ha, na, hb, nb]) => s + ha / na - hb / nb, 0) / primes.length;
    const d = pairedDifference(a, b, "harmful", harmful, { seed: 2 })!;
    expect(d.probes).toBe(14);
    expect(d.estimate).toBeCloseTo(want, 14);
    expect(d.ci95[0]).toBeLessThan(d.estimate);
    expect(d.ci95[1]).toBeGreaterThan(d.estimate);
    const gaps = spec.map(([ha, na, hb, nb]) => ha / na - hb / nb);
    expect(d.ci95[0]).toBeGreaterThanOrEqual(Math.min(...gaps));
    expect(d.ci95[1]).toBeLessThanOrEqual(Math.max(...gaps));
  });
});
