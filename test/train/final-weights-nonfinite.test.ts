/**
 * A last update that takes the weights past float32 (lr 1e39: one step moves every weight by
 * ~1e40, which float32 holds as ±Infinity) leaves a model whose forward pass is NaN, and with no
 * evaluation nothing scores it before it is saved. Every trainer scans its trainable weights
 * before saving a checkpoint or its final model and stops with KEEL_E_NUMERIC naming the step
 * and the first parameter that is not finite, saving nothing.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { requireFiniteWeights } from "../../src/train/common/numeric.js";
import { trainDpo } from "../../src/train/dpo/dpoTrainer.js";
import { trainPpo } from "../../src/train/ppo/ppoTrainer.js";
import { trainRewardModel } from "../../src/train/rm/rmTrainer.js";
import { trainSft } from "../../src/train/sft/sftTrainer.js";
import { TINY_ARCH, tinyCheckpoint, tmp } from "./fixtures.js";

async function failure(p: Promise<unknown>): Promise<KeelError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeelError) return e;
    throw e;
  }
  throw new Error("the run completed");
}

const pastFloat32 = { lr: 1e39, warmup: 0, max_grad_norm: null };
const pairs = [
  { prompt: "pick one", chosen: "A", rejected: "B" },
  { prompt: "say yes", chosen: "yes", rejected: "no" },
  { prompt: "pick one", chosen: "C", rejected: "D" },
];
const notFinite =
  /: the weights are not finite \([\w.]+\[\d+\] is (NaN|-?Infinity)\); the model was not saved$/;

describe("a last update that leaves the weights infinite", () => {
  it("sft: no final model; the error names the step and the parameter", async () => {
    const out = tmp("fin-sft");
    const e = await failure(
      trainSft(
        {
          model: { init: tinyCheckpoint(tmp("fin-init")) },
          train: { steps: 1, batch_size: 2 },
          optim: pastFloat32,
        },
        {
          train: [
            { prompt: "pick one", completion: "A" },
            { prompt: "say yes", completion: "yes" },
          ],
        },
        { outDir: out, threads: 1 },
      ),
    );
    expect(e.code).toBe("KEEL_E_NUMERIC");
    expect(e.message).toMatch(
      /^sft step 1: the weights are not finite \(wte\[0\] is (NaN|-?Infinity)\)/,
    );
    expect(existsSync(join(out, "model"))).toBe(false);
  });

  it("dpo and the reward model", async () => {
    const init = tinyCheckpoint(tmp("fin-init"));
    const dpoOut = tmp("fin-dpo");
    const de = await failure(
      trainDpo(
        { model: { init }, train: { steps: 1, batch_size: 3 }, optim: pastFloat32 },
        { train: pairs },
        { outDir: dpoOut, threads: 1 },
      ),
    );
    expect(de.message).toMatch(/^dpo step 1/);
    expect(de.message).toMatch(notFinite);
    expect(existsSync(join(dpoOut, "model"))).toBe(false);

    const rmOut = tmp("fin-rm");
    const re = await failure(
      trainRewardModel(
        { model: { init }, train: { steps: 1, batch_size: 3 }, optim: pastFloat32 },
        { train: pairs },
        { outDir: rmOut, threads: 1 },
      ),
    );
    expect(re.message).toMatch(/^rm step 1 \(member-0\)/);
    expect(re.message).toMatch(notFinite);
    expect(existsSync(join(rmOut, "model"))).toBe(false);
  });

  it("ppo: no final model after the iteration whose update overflowed", async () => {
    const out = tmp("fin-ppo");
    const e = await failure(
      trainPpo(
        {
          policy: { init: tinyCheckpoint(tmp("fin-init")) },
          rollout: { batch_size: 2, max_new_tokens: 4 },
          ppo: { iterations: 1, epochs: 1, minibatch_size: 2 },
          optim: pastFloat32,
        },
        { prompts: ["pick one", "say yes"] },
        {
          outDir: out,
          threads: 1,
          reward: async (_p, rs) => ({ score: Float64Array.from(rs, (t) => t.length) }),
        },
      ),
    );
    expect(e.message).toMatch(/^ppo iteration 1/);
    expect(e.message).toMatch(notFinite);
    expect(existsSync(join(out, "model"))).toBe(false);
  });

  it("an abort after it saves no checkpoint of those weights", async () => {
    const out = tmp("fin-abort");
    const stop = new AbortController();
    const e = await failure(
      trainSft(
        {
          model: { init: tinyCheckpoint(tmp("fin-init")) },
          train: { steps: 3, batch_size: 2 },
          optim: pastFloat32,
        },
        { train: [{ prompt: "pick one", completion: "A" }] },
        { outDir: out, threads: 1, signal: stop.signal, onProgress: () => stop.abort() },
      ),
    );
    expect(e.message).toMatch(/^sft step 1: the weights are not finite/);
    expect(existsSync(join(out, "checkpoints", "latest.json"))).toBe(false);
  });
});

describe("requireFiniteWeights", () => {
  it("names the parameter and the element within it; passes finite weights", async () => {
    const m = new Gpt({ vocab: 11, ...TINY_ARCH }, { seed: 1, threads: 1 });
    requireFiniteWeights(m.params, "here");
    const name = m.params.names[2]!;
    const [offset] = m.params.range(name);
    m.params.flat[offset + 3] = Number.NaN;
    expect(() => requireFiniteWeights(m.params, "sft step 9")).toThrow(
      `sft step 9: the weights are not finite (${name}[3] is NaN); the model was not saved`,
    );
    await m.dispose();
  });
});
