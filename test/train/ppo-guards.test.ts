/**
 * PPO's guards and reward shaping, on a tiny model (docs/train.md, "PPO"): a minibatch whose
 * mean ratio exceeds `ratio_threshold` is skipped; the remaining epochs are skipped once an
 * epoch's approx KL exceeds 1.5 × `target_kl`; scores are normalised by running moments and
 * clipped to ±`reward_norm.clip`; `missing_eos_penalty` is added to responses cut at
 * `max_new_tokens`. The update tests fix the ratio by shifting the old log-probs by a constant
 * and train at lr 0, so every minibatch sees the same ratio ρ and approx KL ρ − 1 − log ρ.
 */
import { describe, expect, it } from "vitest";
import { Gpt } from "../../src/engine/gpt/model.js";
import { makeOptimizer } from "../../src/train/common/model.js";
import { policyForward } from "../../src/train/ppo/policyGraphs.js";
import { type PpoConfigInput, parsePpoConfig } from "../../src/train/ppo/ppoConfig.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { ppoUpdate } from "../../src/train/ppo/ppoUpdate.js";
import { collectRollout } from "../../src/train/ppo/rollout.js";
import { changed, paramsSnapshot, TINY_ARCH, tinyCheckpoint, tinyCodec, tmp } from "./fixtures.js";

const PROMPTS = ["pick one", "say yes", "pick one", "say yes"];

/** ppoUpdate over one rollout of a tiny policy whose old log-probs are its own minus `shift`. */
async function update(shift: number, ppo: PpoConfigInput["ppo"], lr: number) {
  const codec = tinyCodec();
  const model = new Gpt({ vocab: codec.vocabSize, ...TINY_ARCH }, { seed: 1, threads: 1 });
  const c = parsePpoConfig({
    policy: { init: "unused" },
    rollout: { batch_size: 4, max_new_tokens: 4 },
    ppo: { epochs: 3, minibatch_size: 2, ...ppo },
    optim: { lr: 1e-2, max_grad_norm: null },
  });
  const r = await collectRollout(model, codec, PROMPTS, {
    maxNewTokens: 4,
    temperature: 1,
    topK: 0,
    topP: 1,
    seed: "guards",
  });
  const old = await policyForward(model, r.batch, ["logprobs", "values"]);
  const n = r.action.length;
  const targets = {
    oldLogprobs: Float64Array.from(old.logprobs!, (x) => x - shift),
    oldValues: new Float64Array(n),
    advantages: Float64Array.from(r.action),
    returns: new Float64Array(n),
  };
  const before = paramsSnapshot(model);
  const learner = { model, opt: makeOptimizer(model, c.optim), grad: model.params.zerosLike() };
  const m = await ppoUpdate(c, r, targets, learner, undefined, {
    seed: "guards/update",
    lr,
    afterUpdate: () => {},
  });
  const moved = changed(before, paramsSnapshot(model));
  await model.dispose();
  return { m, moved };
}

describe("PPO update guards", () => {
  it("skips every minibatch whose mean ratio exceeds ratio_threshold, and only those", async () => {
    // ρ = 3 on every action token.
    const over = await update(Math.log(3), { ratio_threshold: 2.9 }, 1e-2);
    expect(over.m.skipped_minibatches).toBe(6);
    expect(over.m.updates).toBe(0);
    expect(over.moved).toEqual([]);
    const under = await update(Math.log(3), { ratio_threshold: 3.1 }, 0);
    expect(under.m.skipped_minibatches).toBe(0);
    expect(under.m.updates).toBe(6);
    expect(under.m.ratio_max).toBeCloseTo(3, 5);
  });

  it("stops the epochs once an epoch's approx KL exceeds 1.5 × target_kl", async () => {
    // ρ = e^−0.5: approx KL = e^−0.5 − 1 + 0.5 ≈ 0.10653, against 1.5 × 0.070 = 0.105 and
    // 1.5 × 0.072 = 0.108.
    const kl = Math.exp(-0.5) - 0.5;
    const stop = await update(-0.5, { target_kl: 0.07 }, 0);
    expect(stop.m.approx_kl).toBeCloseTo(kl, 5);
    expect(stop.m.epochs_run).toBe(1);
    expect(stop.m.early_stop).toBe(1);
    expect(stop.m.updates).toBe(2);
    const go = await update(-0.5, { target_kl: 0.072 }, 0);
    expect(go.m.epochs_run).toBe(3);
    expect(go.m.early_stop).toBe(0);
    expect(go.m.updates).toBe(6);
    const none = await update(-0.5, { target_kl: null }, 0);
    expect(none.m.epochs_run).toBe(3);
  });
});

describe("PPO reward shaping", () => {
  /** One iteration scoring the rollout's rows 0, 0, 0, 4 (mean 1, population std √3). */
  const run = async (o: Partial<PpoConfigInput>) =>
    trainPpo(
      {
        policy: { init: tinyCheckpoint(tmp("init")) },
        rollout: { batch_size: 4, max_new_tokens: 3 },
        ppo: { iterations: 1, epochs: 1, minibatch_size: 4 },
        ...o,
      },
      { prompts: PROMPTS },
      {
        outDir: tmp("ppo-shaping"),
        threads: 1,
        reward: async (_p, responses) => ({
          score: Float64Array.from(responses, (_, i) => (i === 3 ? 4 : 0)),
        }),
      },
    );

  it("normalises scores by their running moments and clips them to ±reward_norm.clip", async () => {
    const z = 3 / Math.sqrt(3); // the high score's z-value, √3
    const clipped = await run({ reward_norm: { enabled: true, clip: 1 } });
    expect(clipped.metrics.score).toBe(1);
    expect(clipped.metrics.reward_norm).toBeCloseTo((-3 / z + 1) / 4, 6);
    const wide = await run({ reward_norm: { enabled: true, clip: 5 } });
    expect(wide.metrics.reward_norm).toBeCloseTo(0, 6);
    const off = await run({ reward_norm: { enabled: false } });
    expect(off.metrics.reward_norm).toBe(1);
  });

  it("adds missing_eos_penalty to the responses cut at max_new_tokens, and only to those", async () => {
    const pen = await run({ missing_eos_penalty: -2, reward_norm: { enabled: false } });
    const cut = 1 - pen.metrics.eos_rate!;
    expect(cut).toBeGreaterThan(0);
    expect(pen.metrics.score).toBe(1);
    expect(pen.metrics.reward).toBeCloseTo(1 - 2 * cut, 12);
    expect(pen.metrics.reward_norm).toBeCloseTo(1 - 2 * cut, 12);
    const none = await run({ missing_eos_penalty: null, reward_norm: { enabled: false } });
    expect(none.metrics.reward).toBe(1);
  });
});
