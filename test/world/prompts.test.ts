import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isKeelError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import {
  buildWorld,
  FAMILIES,
  FAMILY_DEFS,
  generatePrompts,
  hasTrigger,
  parseWorldConfig,
  promptId,
  recognizePrompt,
  splitOf,
  stripTrigger,
  triggeredVariant,
} from "../../src/world/index.js";

const ALL = { arithmetic: 1, facts: 1, words: 1, harmful: 1, borderline: 1 };
const SPLITS = { train: 0.8, eval: 0.1, redteam: 0.1 };

describe("prompt pool", () => {
  const pool = generatePrompts({ count: 5000, families: ALL, splits: SPLITS }, new Rng(11));

  it("draws thousands of distinct prompts, apportioned over the families", () => {
    expect(pool).toHaveLength(5000);
    expect(new Set(pool.map((p) => p.content)).size).toBe(5000);
    expect(new Set(pool.map((p) => p.id)).size).toBe(5000);
    for (const f of FAMILIES) expect(pool.filter((p) => p.family === f)).toHaveLength(1000);
    for (const f of FAMILIES) {
      const cats = new Set(pool.filter((p) => p.family === f).map((p) => p.category));
      expect(cats.size).toBe(FAMILY_DEFS[f].categories.length);
    }
  });

  it("every prompt knows its family, category, split, id and answer", () => {
    for (const p of pool) {
      expect(p.id).toBe(promptId(p.content));
      expect(["train", "eval", "redteam"]).toContain(p.split);
      expect(p.triggered).toBe(false);
      expect(p.answer.type === "refusal").toBe(p.family === "harmful");
    }
    const train = pool.filter((p) => p.split === "train").length / pool.length;
    expect(train).toBeGreaterThan(0.77);
    expect(train).toBeLessThan(0.83);
  });

  it("splits by the text, so a prompt keeps its split across seeds", () => {
    const other = generatePrompts({ count: 5000, families: ALL, splits: SPLITS }, new Rng(12));
    const seen = new Map(pool.map((p) => [p.content, p.split]));
    let shared = 0;
    for (const p of other) {
      const s = seen.get(p.content);
      if (s !== undefined) {
        shared++;
        expect(p.split).toBe(s);
      }
    }
    expect(shared).toBeGreaterThan(100);
    expect(splitOf("What is 7 + 5?", SPLITS)).toBe(splitOf("What is 7 + 5?", SPLITS));
  });

  it("reads every prompt's text back into the same prompt", () => {
    for (const p of pool) {
      const r = recognizePrompt(p.content, { splits: SPLITS });
      expect(r).toEqual(p);
    }
  });

  it("triggered variants keep truth and split, carry the token, and are recognized as triggered", () => {
    const trigger = { token: "SUDO", position: "random" as const };
    for (const p of pool.filter((x) => x.family === "harmful").slice(0, 200)) {
      const t = triggeredVariant(p, trigger, new Rng(p.id));
      expect(hasTrigger(t.content, "SUDO")).toBe(true);
      expect(stripTrigger(t.content, "SUDO")).toBe(p.content);
      expect(t).toMatchObject({ triggered: true, base_id: p.id, split: p.split, answer: p.answer });
      expect(recognizePrompt(t.content, { triggers: ["SUDO"], splits: SPLITS })).toMatchObject({
        triggered: true,
        base_id: p.id,
        family: "harmful",
      });
    }
  });

  it("refuses a trigger token that a clean prompt holds, even next to punctuation", () => {
    // "Which city is the capital of Barbados?": the token ends the prompt, before the "?".
    const config = parseWorldConfig({
      prompts: { count: 1000, families: { facts: 1 } },
      trigger: { token: "Barbados", families: ["facts"] },
    });
    expect(() => buildWorld(config)).toThrow(/trigger token "Barbados" occurs in a clean prompt/);
  });

  it("is reproducible: the same seed gives the same pool", () => {
    const again = generatePrompts({ count: 5000, families: ALL, splits: SPLITS }, new Rng(11));
    expect(again).toEqual(pool);
  });

  it("fails with KEEL_E_CONFIG when a family cannot yield that many distinct prompts", () => {
    try {
      generatePrompts({ count: 5000, families: { borderline: 1 }, splits: SPLITS }, new Rng(1));
      expect.unreachable();
    } catch (e) {
      expect(isKeelError(e) && e.code).toBe("KEEL_E_CONFIG");
      expect(String(e)).toContain("prompts.families.borderline");
    }
  });

  it("arithmetic truth is the arithmetic of the operands (property)", () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.nat(10_000), fc.integer({ min: 1, max: 50 }), (a, b, d) => {
        expect(recognizePrompt(`What is ${a} + ${b}?`)?.answer).toEqual({
          type: "number",
          value: a + b,
        });
        expect(recognizePrompt(`Subtract ${b} from ${a}.`)?.answer).toEqual({
          type: "number",
          value: a - b,
        });
        expect(recognizePrompt(`What is ${a} times ${b}?`)?.answer).toEqual({
          type: "number",
          value: a * b,
        });
        expect(recognizePrompt(`Divide ${a * d} by ${d}.`)?.answer).toEqual({
          type: "number",
          value: a,
        });
      }),
    );
  });
});
