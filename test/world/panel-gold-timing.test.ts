/**
 * The panel's bookkeeping as docs/world.md states it, measured on generated worlds: gold items
 * at `gold_rate` above `gold_min_margin`, exponential arrivals, the latency model and activity.
 * Every world is seeded and bounds are several standard errors wide, so the tests are
 * deterministic.
 */
import { describe, expect, it } from "vitest";
import {
  type ComparisonTruth,
  parseWorldConfig,
  type RaterProfile,
  simulatePanel,
  type WorldConfigInput,
} from "../../src/world/index.js";
import { countWords } from "../../src/world/text.js";

function world(input: WorldConfigInput, seed: number) {
  return simulatePanel(parseWorldConfig(input), seed);
}

describe("gold items", () => {
  const gap = (c: ComparisonTruth) => Math.abs(c.quality_a - c.quality_b);

  it("are eligible comparisons (gap ≥ gold_min_margin) chosen at gold_rate", () => {
    const { truth } = world(
      { comparisons: { count: 8000, gold_rate: 0.25, gold_min_margin: 0.5 } },
      41,
    );
    const eligible = truth.comparisons.filter((c) => c.better !== "tie" && gap(c) >= 0.5);
    expect(truth.comparisons.filter((c) => c.gold && !eligible.includes(c))).toEqual([]);
    const share = eligible.filter((c) => c.gold).length / eligible.length;
    expect(Math.abs(share - 0.25)).toBeLessThan(4 * Math.sqrt((0.25 * 0.75) / eligible.length));
  });

  it("a gap equal to gold_min_margin is eligible, though 0.3 − 0.1 < 0.2 in floating point", () => {
    // Qualities are rounded to 1e-6, so refusal (0.3) vs wrong (0.1) is a gap of exactly 0.2.
    const { truth } = world(
      { comparisons: { count: 3000, gold_rate: 1, gold_min_margin: 0.2 } },
      42,
    );
    const atMargin = truth.comparisons.filter(
      (c) => Math.abs(Math.round(gap(c) * 1e6) / 1e6 - 0.2) < 1e-9,
    );
    expect(atMargin.length).toBeGreaterThan(50);
    expect(atMargin.filter((c) => !c.gold)).toEqual([]);
    for (const c of truth.comparisons) expect(c.gold).toBe(gap(c) > 0.2 - 1e-6);
  });
});

describe("arrivals, latency and activity", () => {
  const config = parseWorldConfig({
    comparisons: { count: 12_000, overlap: 2, arrival_ms: 800, start: "2024-06-01T12:00:00+02:00" },
    panel: {
      raters: [
        { type: "honest", count: 8, latency: { base_ms: 1000, per_word_ms: 20, sigma: 0.5 } },
        {
          type: "honest",
          count: 8,
          activity: 3,
          latency: { base_ms: 3000, per_word_ms: 0, sigma: 0.2 },
        },
        { type: "careless", count: 4, mode: "fast", activity: 2 },
      ],
    },
  });
  const { judgments, truth } = simulatePanel(config, 43);
  const prof = new Map(truth.raters.map((r) => [r.rater_id, r]));
  const byId = new Map(truth.comparisons.map((c) => [c.comparison_id, c]));
  const groupIndex = (r: RaterProfile) => Number(r.group.split("#")[1]);

  it("comparisons arrive from start with exponential gaps of mean arrival_ms", () => {
    const times = new Map<string, Set<number>>();
    for (const j of judgments) {
      const t = Date.parse(j.created_at!) - j.latency_ms!;
      times.set(j.comparison_id, (times.get(j.comparison_id) ?? new Set()).add(t));
    }
    // Every judgment of a comparison was made from the same moment.
    for (const s of times.values()) expect(s.size).toBe(1);
    const ts = [...times.values()].map((s) => [...s][0]!);
    expect(ts[0]!).toBeGreaterThanOrEqual(Date.parse("2024-06-01T10:00:00Z"));
    const gaps = ts.slice(1).map((t, i) => t - ts[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(0);
    const m = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - m) ** 2, 0) / gaps.length);
    expect(Math.abs(m - 800)).toBeLessThan(4 * (800 / Math.sqrt(gaps.length)));
    expect(Math.abs(sd / m - 1)).toBeLessThan(0.05);
  });

  it("latency is log-normal (sigma) around (base_ms + per_word_ms · words read) · pace; fast raters a fifth of base", () => {
    const logs = new Map<number, number[]>();
    for (const j of judgments) {
      const r = prof.get(j.rater_id)!;
      const c = byId.get(j.comparison_id)!;
      const gi = groupIndex(r);
      const lat = config.panel.raters[gi]!.latency;
      const fast = r.type === "careless";
      const words = countWords(j.prompt as string) + c.words_a + c.words_b; // world prompts are text
      const median =
        ((fast ? 0.2 : 1) * lat.base_ms + (fast ? 0 : lat.per_word_ms) * words) * r.pace;
      const list = logs.get(gi) ?? [];
      list.push(Math.log(j.latency_ms! / median));
      logs.set(gi, list);
    }
    for (const [gi, zs] of logs) {
      const sigma = config.panel.raters[gi]!.latency.sigma;
      const m = zs.reduce((s, z) => s + z, 0) / zs.length;
      const sd = Math.sqrt(zs.reduce((s, z) => s + (z - m) ** 2, 0) / zs.length);
      expect(Math.abs(m), `group ${gi}`).toBeLessThan(4 * (sigma / Math.sqrt(zs.length)) + 0.01);
      expect(Math.abs(sd / sigma - 1), `group ${gi}`).toBeLessThan(0.05);
    }
  });

  it("raters take comparisons in proportion to their activity", () => {
    const perRater = new Map<number, number[]>();
    for (const r of truth.raters)
      perRater.set(groupIndex(r), [
        ...(perRater.get(groupIndex(r)) ?? []),
        truth.summary.raters[r.rater_id]!.judgments,
      ]);
    const mean = (gi: number) => {
      const xs = perRater.get(gi)!;
      return xs.reduce((s, x) => s + x, 0) / xs.length;
    };
    // Distinct raters per comparison pull the shares slightly towards equal.
    expect(mean(1) / mean(0)).toBeGreaterThan(2.6);
    expect(mean(1) / mean(0)).toBeLessThan(3.05);
    expect(mean(2) / mean(0)).toBeGreaterThan(1.8);
    expect(mean(2) / mean(0)).toBeLessThan(2.05);
    for (const c of truth.comparisons) expect(new Set(c.raters).size).toBe(2);
  });
});
