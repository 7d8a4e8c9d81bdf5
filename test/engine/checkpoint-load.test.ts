import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { paramSpecs, parseGptConfig } from "../../src/engine/gpt/config.js";
import { generate } from "../../src/engine/gpt/generate.js";
import { HEADS } from "../../src/engine/gpt/graphs.js";
import { Gpt, padBatch } from "../../src/engine/gpt/model.js";
import { AdamW } from "../../src/engine/optim/adamw.js";
import { ParamStore } from "../../src/engine/params.js";

const CFG = { vocab: 41, dModel: 16, layers: 2, heads: 2, context: 12 };
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "keel-ckpt-load-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

function trainBatch(seed: number) {
  const rng = new Rng(seed);
  const rows = Array.from({ length: 3 }, () =>
    Array.from({ length: 4 + rng.int(7) }, () => rng.int(CFG.vocab)),
  );
  const b = padBatch(rows);
  return { ...b, lossMask: Float32Array.from(b.mask!) };
}

/** A model trained a few steps (so its weights are nothing an initialiser would draw), saved. */
async function trainedCheckpoint(): Promise<{ model: Gpt; dir: string }> {
  const model = new Gpt(CFG, { seed: 9, threads: 1 });
  const opt = new AdamW(model.params, { lr: 1e-2 });
  for (let s = 0; s < 3; s++) opt.step((await model.lossAndGrad(trainBatch(s))).grad);
  const dir = tmp();
  saveCheckpoint(dir, model);
  return { model, dir };
}

describe("loading a checkpoint builds the model from its weights", () => {
  it("computes exactly what the saved model did: heads, generation, a training step", async () => {
    const { model: saved, dir } = await trainedCheckpoint();
    const loaded = loadCheckpoint(dir, { threads: 1 }).model;
    expect(loaded.params.flat).toEqual(saved.params.flat);
    const batch = trainBatch(7);
    const [a, b] = [await saved.forward(batch, HEADS), await loaded.forward(batch, HEADS)];
    for (const h of HEADS) expect(b[h], h).toEqual(a[h]);
    const opts = { maxNewTokens: 5, temperature: 0.8, seed: 3 };
    expect((await generate(loaded, [[1, 2, 3]], opts)).sequences).toEqual(
      (await generate(saved, [[1, 2, 3]], opts)).sequences,
    );
    // one more step on each, from the same optimizer state (fresh), lands on the same weights
    const step = async (m: Gpt) => {
      const { loss, grad } = await m.lossAndGrad(trainBatch(8));
      new AdamW(m.params, { lr: 1e-2, weightDecay: 0.1 }).step(grad);
      return loss;
    };
    expect(await step(loaded)).toBe(await step(saved));
    expect(loaded.params.flat).toEqual(saved.params.flat);
    await Promise.all([saved.dispose(), loaded.dispose()]);
  });

  it("draws no random numbers when loading or cloning (the fill used to be most of a load)", async () => {
    const { model, dir } = await trainedCheckpoint();
    const normal = vi.spyOn(Rng.prototype, "normal");
    const initialise = vi.spyOn(ParamStore.prototype, "initialise");
    const loaded = loadCheckpoint(dir, { threads: 1 }).model;
    const copy = model.clone();
    expect(normal).not.toHaveBeenCalled();
    expect(initialise).not.toHaveBeenCalled();
    expect(loaded.params.flat).toEqual(model.params.flat);
    expect(copy.params.flat).toEqual(model.params.flat);
    // the spies do see a model that is initialised
    new Gpt(CFG, { seed: 1 });
    expect(initialise).toHaveBeenCalledTimes(1);
    expect(normal).toHaveBeenCalled();
    await Promise.all([model.dispose(), loaded.dispose(), copy.dispose()]);
  });

  it("asks for every parameter once, in order, and refuses weights of the wrong size", () => {
    const specs = paramSpecs(parseGptConfig(CFG));
    const asked: string[] = [];
    const m = new Gpt(CFG, {
      weights: (s) => {
        asked.push(s.name);
        return new Float32Array(s.shape.reduce((a, d) => a * d, 1)).fill(asked.length);
      },
    });
    expect(asked).toEqual(specs.map((s) => s.name));
    specs.forEach((s, i) => {
      expect(new Set(m.params.view(s.name))).toEqual(new Set([i + 1]));
    });
    expect(
      () => new Gpt(CFG, { weights: (s) => new Float32Array(s.name === "wpe" ? 3 : 0) }),
    ).toThrow(/weights for wte have 0 values; the parameter needs 656/);
    expect(() => new Gpt(CFG, { seed: 1, weights: () => [] })).toThrow(/a seed or its weights/);
  });
});
