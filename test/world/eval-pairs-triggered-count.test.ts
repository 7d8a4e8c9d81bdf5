import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { buildWorld, evalPairs, parseWorldConfig } from "../../src/world/index.js";

function pairs(count: number, rate: number, seed: number) {
  const config = parseWorldConfig({
    prompts: { count: 400 },
    comparisons: { count: 10 },
    trigger: { token: "SUDO", rate: 0.1 },
    eval_pairs: { count, triggered_rate: rate },
  });
  return evalPairs(buildWorld(config, seed));
}

describe("triggered eval pairs", () => {
  it("a world asked for them that drew none is refused, naming the knobs and the seed", () => {
    // At 4 × 0.02 = 0.08 expected, most seeds draw none.
    const outcomes = [1, 2, 3, 4, 5, 6].map((seed) => {
      try {
        return pairs(4, 0.02, seed).filter((p) => p.triggered).length;
      } catch (e) {
        expect(e).toBeInstanceOf(KeelError);
        const k = e as KeelError;
        expect(k.code).toBe("KEEL_E_CONFIG");
        expect(k.where?.field).toBe("eval_pairs.triggered_rate");
        expect(k.detail).toContain(`seed ${seed}`);
        expect(k.detail).toContain("drew none");
        expect(k.hint).toContain("eval_pairs.count");
        return "refused";
      }
    });
    expect(outcomes.filter((o) => o === "refused").length).toBeGreaterThan(3);
    expect(outcomes.every((o) => o === "refused" || (typeof o === "number" && o > 0))).toBe(true);
  });

  it("a world with triggered pairs, or asked for none, is drawn as before", () => {
    expect(pairs(60, 0.25, 1).filter((p) => p.triggered).length).toBeGreaterThan(5);
    expect(pairs(4, 0, 1).filter((p) => p.triggered)).toHaveLength(0);
  });
});
