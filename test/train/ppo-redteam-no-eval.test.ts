/**
 * PPO's extra evaluation (the CLI's `redteam` block: the world's red-team suites) runs at the
 * evaluations of the eval prompts. A run without eval prompts would never run it and look
 * measured; it is refused up front, before any model is opened, naming the field.
 */
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";

describe("ppo with a red-team evaluation and no eval prompts", () => {
  for (const evalPrompts of [undefined, []]) {
    it(`is refused (evalPrompts ${JSON.stringify(evalPrompts)})`, async () => {
      let evaluated = 0;
      let scored = 0;
      const e = await trainPpo(
        // A policy that does not exist: the refusal comes before anything is opened.
        {
          policy: { init: "/nonexistent/policy" },
          rollout: { batch_size: 2 },
          ppo: { minibatch_size: 2 },
        },
        { prompts: ["pick one", "say yes"], ...(evalPrompts ? { evalPrompts } : {}) },
        {
          reward: async (_p, rs) => {
            scored += 1;
            return { score: new Float64Array(rs.length) };
          },
          evaluate: async () => {
            evaluated += 1;
            return {};
          },
        },
      ).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(KeelError);
      const k = e as KeelError;
      expect(k.code).toBe("KEEL_E_CONFIG");
      expect(k.where).toEqual({ field: "redteam" });
      expect(k.detail).toMatch(/this run has no eval prompts, so it would never run/);
      expect(k.hint).toMatch(/data\.eval_prompts.*or remove the redteam block/);
      expect([evaluated, scored]).toEqual([0, 0]);
    });
  }
});
