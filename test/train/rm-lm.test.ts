/**
 * The reward model's language-modelling regulariser (train.lm_coef): its gradient, fed back
 * through the per-token log-probs, equals lm_coef times the SFT graph's gradient of the same
 * masked cross-entropy, which is built and differentiated independently (trainGraph).
 */
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { encodePairs, pairBatch } from "../../src/train/rm/pairs.js";
import { parseRmConfig } from "../../src/train/rm/rmConfig.js";
import { chosenLmTerm, trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { TINY_ARCH, tinyCheckpoint, tinyCodec, tmp } from "./fixtures.js";

const pairs = [
  { prompt: "pick one", chosen: "A", rejected: "B" },
  { prompt: "say yes", chosen: "yes", rejected: "no", weight: 0.25 },
  { prompt: "the sky is", chosen: "blue", rejected: "grass is green", weight: 2 },
];

describe("reward model: language-modelling regulariser", () => {
  it("its gradient is lm_coef times the SFT gradient on the chosen responses", async () => {
    const codec = tinyCodec();
    const model = new Gpt(
      { vocab: codec.vocabSize, ...TINY_ARCH, dtype: "float64" },
      { seed: 3, threads: 1 },
    );
    const enc = encodePairs(codec, pairs, TINY_ARCH.context, { cost: false });
    const batch = pairBatch(enc, codec.padId);
    const T = batch.length;
    const lp = (await model.forward(batch, ["logprobs"])).logprobs!;
    const coef = 0.7;
    const term = chosenLmTerm(enc, T, lp, coef);
    const viaHead = Float64Array.from(await model.backward(batch, { logprobs: term.grad }));

    // The same loss through the SFT graph: each chosen response's tokens weighted by its
    // pair's weight, every other token 0.
    const lossMask = new Float64Array(batch.batch * T);
    enc.forEach((p, i) => {
      for (let t = p.chosenPrompt; t < p.chosen.length; t++) lossMask[i * T + t] = p.weight;
    });
    const sft = await model.lossAndGrad({ ...batch, lossMask });
    expect(term.loss).toBeGreaterThan(0);
    expect(term.loss).toBeCloseTo(sft.loss, 10);
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < viaHead.length; i++) {
      worst = Math.max(worst, Math.abs(viaHead[i]! - coef * sft.grad[i]!));
      scale = Math.max(scale, Math.abs(sft.grad[i]!));
    }
    expect(scale).toBeGreaterThan(0);
    expect(worst).toBeLessThan(1e-9 * Math.max(1, scale));

    // A pair the audit zeroed contributes nothing.
    const zeroed = enc.map((p, i) => (i === 2 ? { ...p, weight: 0 } : p));
    const z = chosenLmTerm(zeroed, T, lp, coef);
    expect(z.grad.subarray(2 * T, 3 * T).every((g) => g === 0)).toBe(true);
    expect(z.loss).not.toBeCloseTo(term.loss, 3);
    await model.dispose();
  });

  it("trains with it on, reports lm_loss, and refuses a negative weight", async () => {
    const init = tinyCheckpoint(tmp("init"));
    const base = { model: { init }, optim: { lr: 1e-2 } };
    const off = await trainRewardModel(
      { ...base, train: { steps: 2, batch_size: 3 } },
      { train: pairs },
      { outDir: tmp("rm-off"), threads: 1 },
    );
    expect(off.metrics.lm_loss).toBeUndefined();
    const on = await trainRewardModel(
      { ...base, train: { steps: 2, batch_size: 3, lm_coef: 0.5 } },
      { train: pairs },
      { outDir: tmp("rm-on"), threads: 1 },
    );
    const lm = on.metrics.lm_loss!;
    expect(lm).toBeGreaterThan(0);
    // The logged loss is the pair loss plus the weighted LM term.
    expect(on.metrics.loss).toBeGreaterThan(0.5 * lm);
    expect(() => parseRmConfig({ ...base, train: { lm_coef: -1 } })).toThrow(KeelError);
  });
});
