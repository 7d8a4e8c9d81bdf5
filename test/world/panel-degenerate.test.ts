/**
 * The world at its smallest: one rater, one comparison, one vote each; rater groups given a
 * share that the panel's size rounds to no rater (refused naming the group, not a world that
 * silently lacks the attacker its config names); and seeds at the edges of the integers a seed
 * may be, each its own stream.
 */
import { describe, expect, it } from "vitest";
import { isKeelError } from "../../src/core/errors.js";
import {
  buildWorld,
  emptyShareGroups,
  parseWorldConfig,
  simulatePanel,
  type WorldConfigInput,
} from "../../src/world/index.js";

const SMALL: WorldConfigInput = {
  prompts: { count: 10 },
  comparisons: { count: 1, overlap: 1 },
  sft: { count: 0 },
  eval_pairs: { count: 0 },
  panel: { raters: [{ type: "honest", count: 1 }] },
};

function failure(f: () => unknown): { code: string; field?: string; message: string } {
  try {
    f();
  } catch (e) {
    if (!isKeelError(e)) throw e;
    return { code: e.code, field: e.where?.field, message: e.message };
  }
  throw new Error("expected a KeelError");
}

describe("a world at its smallest", () => {
  it("one rater, one comparison, one vote: a judgment whose truth says who voted", () => {
    const { judgments, truth } = simulatePanel(parseWorldConfig(SMALL), 0);
    expect(judgments).toHaveLength(1);
    expect(truth.comparisons).toHaveLength(1);
    expect(truth.comparisons[0]!.raters).toEqual([judgments[0]!.rater_id]);
    expect(truth.summary.judgments).toBe(1);
  });

  it("seeds 0, 2^32−1, 2^53−1 and −1 each build their own world, the same each time", () => {
    const config = parseWorldConfig({ ...SMALL, comparisons: { count: 5, overlap: 1 } });
    const seeds = [0, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER, -1];
    const runs = seeds.map((s) => JSON.stringify(simulatePanel(config, s).judgments));
    expect(new Set(runs).size).toBe(seeds.length);
    seeds.forEach((s, i) => {
      expect(JSON.stringify(simulatePanel(config, s).judgments)).toBe(runs[i]);
    });
  });
});

describe("a rater group whose share rounds to no rater", () => {
  const panel = (flipper: number, size = 10) =>
    parseWorldConfig({
      ...SMALL,
      panel: {
        size,
        raters: [
          { type: "honest", share: 1 - flipper },
          { type: "flipper", share: flipper },
        ],
      },
    });

  it("is refused when the world is built, naming the group, its share and the panel", () => {
    // 1% of 10 raters is a tenth of a rater: largest remainder gives it none.
    const f = failure(() => buildWorld(panel(0.01)));
    expect(f.code).toBe("KEEL_E_CONFIG");
    expect(f.field).toBe("panel.raters.1.share");
    expect(f.message).toContain("share 0.01 of the 10-rater panel is 0.1 of a rater");
    expect(f.message).toContain("flipper group would have no rater");
    expect(emptyShareGroups(panel(0.01))).toEqual([{ index: 1, share: 0.01 }]);
  });

  it("is let through at share 0 (no attacker asked for) and at one rater's worth", () => {
    expect(emptyShareGroups(panel(0))).toEqual([]);
    expect(buildWorld(panel(0)).roster.raters).toHaveLength(10);
    const one = buildWorld(panel(0.1)).roster.raters.filter((r) => r.profile.type === "flipper");
    expect(one).toHaveLength(1);
  });
});
