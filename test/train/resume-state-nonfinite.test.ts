/**
 * A PPO checkpoint whose trainer state holds null where a number belongs (docs/train.md,
 * "Determinism and resume"): JSON writes NaN and ±∞ as null, and null does arithmetic as 0, so
 * such a state resumed silently with β = 0 (no KL penalty, for the rest of the run) or reward
 * moments of 0. The resume is refused naming the field, and leaves the run as it was.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { tinyCheckpoint, tmp } from "./fixtures.js";

async function failure(p: Promise<unknown>): Promise<KeelError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeelError) return e;
    throw e;
  }
  throw new Error("the resume was accepted");
}

describe("resuming ppo from a checkpoint whose trainer state is not numbers", () => {
  const init = tinyCheckpoint(tmp("state-init"));
  const config = {
    policy: { init },
    rollout: { batch_size: 2, max_new_tokens: 4 },
    ppo: { iterations: 2, epochs: 1, minibatch_size: 2 },
    kl: { controller: "adaptive" as const, target: 1 },
    run: { checkpoint_every: 1 },
  };
  const data = { prompts: ["pick one", "say yes"] };
  const reward = async (_p: readonly string[], rs: readonly string[]) => ({
    score: Float64Array.from(rs, (t) => t.length),
  });

  it("is refused naming the field, for β and for the reward moments", async () => {
    for (const [field, edit] of [
      ["extra.state.beta", (s: Record<string, unknown>) => ({ ...s, beta: null })],
      [
        "extra.state.moments.mean",
        (s: Record<string, unknown>) => ({
          ...s,
          moments: { ...(s.moments as object), mean: null },
        }),
      ],
    ] as const) {
      const out = tmp("state-run");
      await trainPpo(config, data, { outDir: out, threads: 1, reward });
      const latest = JSON.parse(readFileSync(join(out, "checkpoints", "latest.json"), "utf8"));
      const file = join(out, "checkpoints", latest.dir, "policy", "config.json");
      const cfg = JSON.parse(readFileSync(file, "utf8"));
      cfg.extra.state = edit(cfg.extra.state);
      writeFileSync(file, JSON.stringify(cfg));
      const log = readFileSync(join(out, "metrics.jsonl"), "utf8");
      const e = await failure(
        trainPpo(config, data, { outDir: out, threads: 1, reward, resume: true }),
      );
      expect(e.code).toBe("KEEL_E_CHECKPOINT");
      expect(e.where).toEqual({ file, field });
      expect(e.detail).toMatch(
        /^cannot resume: the checkpoint's trainer state .* is null, not a number/,
      );
      expect(readFileSync(join(out, "metrics.jsonl"), "utf8")).toBe(log);
    }
  });

  it("a whole state still resumes", async () => {
    const out = tmp("state-ok");
    await trainPpo(config, data, { outDir: out, threads: 1, reward });
    const r = await trainPpo(config, data, { outDir: out, threads: 1, reward, resume: true });
    expect(r.status).toBe("completed");
    expect(r.metrics.kl_coef).toBeGreaterThan(0);
  });
});
