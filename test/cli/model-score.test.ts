import { describe, expect, it } from "vitest";
import { distinctResponses } from "../../src/cli/actions/model-score.js";

describe("keel model score: each distinct response is scored once", () => {
  it("maps every input to the first occurrence of its (prompt, response)", () => {
    // Three raters' judgments of one comparison (chosen, rejected each), and the same response
    // text under another prompt, which is a different input to a reward model.
    const prompts = ["p", "p", "p", "p", "p", "p", "q", "q"];
    const texts = ["a", "b", "b", "a", "a", "b", "a", "c"];
    const { unique, slot } = distinctResponses(prompts, texts);
    expect(unique).toEqual([0, 1, 6, 7]);
    expect([...slot]).toEqual([0, 1, 1, 0, 0, 1, 2, 3]);
    for (let i = 0; i < texts.length; i++) {
      expect(prompts[unique[slot[i]!]!]).toBe(prompts[i]);
      expect(texts[unique[slot[i]!]!]).toBe(texts[i]);
    }
  });
});
