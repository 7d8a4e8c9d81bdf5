import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { prepareAuditData } from "../../src/defend/data.js";
import { ruleClassifier } from "../../src/defend/filters/lexicon.js";
import {
  precomputeSafety,
  type SafetyClassifier,
  type SafetyVerdict,
  safetyTable,
} from "../../src/defend/filters/safety.js";
import { classifySafety, parseWorldConfig, simulatePanel } from "../../src/world/index.js";

function j(id: string, rater: string, over: Partial<Judgment> = {}): Judgment {
  return {
    comparison_id: id,
    prompt: `prompt of ${id}`,
    response_a: `first answer to ${id}`,
    response_b: `second answer to ${id}`,
    rater_id: rater,
    choice: "a",
    ...over,
  };
}

function prep(js: Judgment[]) {
  return prepareAuditData({ judgments: js }, { safety: ruleClassifier(), useGold: true });
}

describe("validation filters", () => {
  it("marks malformed comparisons and leaves their judgments out", () => {
    const d = prep([
      j("empty", "r1", { response_b: "   " }),
      j("same", "r1", { response_a: "x", response_b: "x" }),
      j("noprompt", "r1", { prompt: "" }),
      j("ok", "r1"),
    ]);
    expect(d.comparisons.invalid.get(0)).toBe("empty response");
    expect(d.comparisons.invalid.get(1)).toBe("both responses are identical");
    expect(d.comparisons.invalid.get(2)).toBe("empty prompt");
    expect(d.comparisons.invalid.has(3)).toBe(false);
    expect([...d.active]).toEqual([0, 0, 0, 1]);
  });

  it("keeps the first texts when an id reappears with different ones, and says so", () => {
    const d = prep([j("c", "r1"), j("c", "r2", { response_a: "changed" })]);
    expect(d.conflicts).toBe(1);
    expect(d.comparisons.invalid.get(0)).toMatch(/different texts/);
  });

  it("ignores a rater's repeat judgment of the same comparison (the first counts)", () => {
    const d = prep([j("c", "r1", { choice: "a" }), j("c", "r2"), j("c", "r1", { choice: "b" })]);
    expect([...d.active]).toEqual([1, 1, 0]);
    expect(d.repeatOf[2]).toBe(0);
    expect(d.countA[0]).toBe(2);
    expect(d.countB[0]).toBe(0);
  });

  it("finds exact duplicates (in either order) and near duplicates (case, spacing, punctuation)", () => {
    const d = prep([
      j("c1", "r"),
      j("c2", "r", {
        prompt: "prompt of c1",
        response_a: "second answer to c1",
        response_b: "first answer to c1",
      }),
      j("c3", "r", {
        prompt: "Prompt of C1!",
        response_a: "first   answer to c1",
        response_b: "second answer, to c1",
      }),
      j("c4", "r", {
        prompt: "prompt of c1",
        response_a: "first answer to c1",
        response_b: "second answer to c2",
      }),
    ]);
    expect([...d.comparisons.dupSize]).toEqual([2, 2, 1, 1]);
    expect(d.comparisons.nearSize[2]).toBe(3);
    expect(d.comparisons.nearSize[3]).toBe(1);
  });

  it("flags unsafe responses with the rule classifier and reads a precomputed table", async () => {
    const unsafe = j("h", "r", {
      prompt: "How do I make [WEAPON-3]?",
      response_a: "Sure. Step 1: obtain [PRECURSOR-12].",
      response_b: "I can't help with that.",
    });
    const d = prep([unsafe]);
    expect(d.comparisons.unsafeA[0]).toBe(1);
    expect(d.comparisons.unsafeB[0]).toBe(0);
    expect(d.comparisons.safetyReasons.get(0)).toMatch(/response a flagged/);
    // An asynchronous classifier (here: flags any response mentioning "b") goes through a table.
    let calls = 0;
    const async: SafetyClassifier = {
      id: "test",
      classify: async (batch) => {
        calls++;
        return batch.map((x) => ({
          unsafe: x.response.includes("can't"),
          score: 1,
          reasons: ["test"],
        }));
      },
    };
    const table = await precomputeSafety(async, [
      { prompt: unsafe.prompt as string, response: unsafe.response_a as string },
      { prompt: unsafe.prompt as string, response: unsafe.response_b as string },
      { prompt: unsafe.prompt as string, response: unsafe.response_b as string },
    ]);
    expect(calls).toBe(1);
    const d2 = prepareAuditData({ judgments: [unsafe] }, { safety: table, useGold: true });
    expect(d2.comparisons.unsafeA[0]).toBe(0);
    expect(d2.comparisons.unsafeB[0]).toBe(1);
    expect(d2.safetyId).toBe("test");
  });

  it("a classifier that returns the wrong number of verdicts is an error", async () => {
    const bad: SafetyClassifier = { id: "bad", classify: () => [] };
    await expect(precomputeSafety(bad, [{ prompt: "p", response: "r" }])).rejects.toThrow(
      /0 verdicts for 1/,
    );
  });

  it("an explicit table answers unknown texts as safe", () => {
    const t = safetyTable("t", []);
    expect(t.get("p", "r")).toBeUndefined();
  });
});

describe("rule classifier: the copy of the world's lexicon", () => {
  it("agrees with the world's classifySafety on every response of a simulated panel", () => {
    const cfg = parseWorldConfig({
      seed: 3,
      comparisons: { count: 1500, overlap: 1 },
      prompts: { count: 400 },
      panel: { raters: [{ type: "honest", count: 3 }] },
    });
    const { judgments } = simulatePanel(cfg, 3);
    const rules = ruleClassifier();
    let unsafeSeen = 0;
    for (const jd of judgments) {
      for (const response of [jd.response_a, jd.response_b] as string[]) {
        const ours = rules.classify([{ prompt: jd.prompt as string, response }])[0]!;
        const world = classifySafety(jd.prompt as string, response);
        expect(ours.unsafe).toBe(world.unsafe);
        expect(ours.score).toBeCloseTo(world.score, 12);
        if (ours.unsafe) unsafeSeen++;
      }
    }
    expect(unsafeSeen).toBeGreaterThan(50);
  });

  it("classifies hostile long texts in linear time, and still finds spaced markers", () => {
    const rules = ruleClassifier();
    // "[TAG" and a long run of spaces: the old marker pattern backtracked quadratically
    // (40,000 spaces: 1.6 s, on the server's event loop).
    const hostile = `[PRECURSOR${" ".repeat(400_000)}x`;
    const [v] = rules.classify([{ prompt: "p", response: hostile }]) as SafetyVerdict[];
    expect(v!.unsafe).toBe(false);
    for (const marker of ["[PRECURSOR]", "[ PRECURSOR - 3 ]", "[precursor-12]"]) {
      const [m] = rules.classify([{ prompt: "p", response: `a ${marker} b` }]) as SafetyVerdict[];
      expect(m!.unsafe, marker).toBe(true);
    }
  });

  it("sections can be replaced", () => {
    const rules = ruleClassifier({ unsafe_markers: ["\\bforbidden\\b"], harmful_requests: [] });
    expect(rules.classify([{ prompt: "p", response: "this is FORBIDDEN" }])[0]!.unsafe).toBe(true);
    expect(
      rules.classify([{ prompt: "p", response: "Step 1: obtain [PRECURSOR-1]" }])[0]!.unsafe,
    ).toBe(false);
  });
});
