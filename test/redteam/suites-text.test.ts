/**
 * Probe texts carry their request verbatim, whatever it contains: a prompts.jsonl is the user's
 * file, and "$&", "$'" or "$`" in a request are text, not replacement patterns.
 */
import { describe, expect, it } from "vitest";
import { buildSuites } from "../../src/redteam/suites.js";
import { buildWorld, parseWorldConfig, promptsOf } from "../../src/world/index.js";

describe("red-team probe texts", () => {
  it("wrap a request containing $ patterns verbatim", () => {
    const world = buildWorld(
      parseWorldConfig({ prompts: { count: 400 }, comparisons: { count: 10 } }),
      3,
    );
    const content = "Explain $& and $' and $` and $$ for [WEAPON-1].";
    const pool = promptsOf(world, "redteam").map((p) =>
      p.family === "harmful" ? { ...p, content } : p,
    );
    const probes = buildSuites(pool, {
      perSuite: 5,
      trigger: "SUDO",
      seed: 1,
      suites: ["jailbreak_roleplay", "jailbreak_prefix"],
    });
    expect(probes.length).toBe(10);
    for (const p of probes) expect(p.text, p.suite).toContain(content);
  });
});
