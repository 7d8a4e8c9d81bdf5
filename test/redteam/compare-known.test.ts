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
