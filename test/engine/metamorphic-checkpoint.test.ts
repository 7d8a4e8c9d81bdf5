/**
 * Checkpoints as a metamorphic relation: save → load is the identity, so save → load → save
 * writes the same bytes, and a loaded model (float32 or float64, with its optimizer and EMA)
 * computes bit for bit what the saved one did (checkpoint-load.test.ts checks float32 heads,
 * generation and a step; this adds the fixed point, float64 and the EMA weights).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { HEADS } from "../../src/engine/gpt/graphs.js";
import { Gpt, padBatch } from "../../src/engine/gpt/model.js";
import { AdamW } from "../../src/engine/optim/adamw.js";
import { Ema } from "../../src/engine/optim/ema.js";
import { trainBpe } from "../../src/engine/tokenizer/train.js";

const CFG = { vocab: 300, dModel: 16, layers: 2, heads: 2, context: 24 };
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "keel-meta-ckpt-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function batch(seed: number, V: number) {
  const rng = new Rng(seed);
  const rows = [7, 15, 3].map((n) => Array.from({ length: n }, () => rng.int(V)));
  const b = padBatch(rows, { padId: 1 });
  return { ...b, lossMask: Float64Array.from(b.mask!) };
}

describe("save → load is the identity", () => {
  for (const dtype of ["float32", "float64"] as const) {
    it(`${dtype}: a trained model with optimizer, EMA and tokenizer loads, computes the same bits and saves the same bytes`, async () => {
      const tokenizer = trainBpe(["tiny corpus tiny corpus, the the the"], {
        vocabSize: 270,
        specialTokens: ["<|eos|>"],
      });
      const model = new Gpt({ ...CFG, dtype }, { seed: 3, threads: 1 });
      const opt = new AdamW(model.params, { lr: 1e-2, weightDecay: 0.1 });
      const ema = new Ema(model.params, 0.9);
      for (let s = 0; s < 3; s++) {
        opt.step((await model.lossAndGrad(batch(s, CFG.vocab))).grad);
        ema.update();
      }
      const first = tmp();
      const extra = { cursor: 17, note: "é🚀" };
      saveCheckpoint(first, model, { step: 3, optimizer: opt, ema, tokenizer, extra });

      const ck = loadCheckpoint(first, { threads: 1 });
      const opt2 = new AdamW(ck.model.params, { lr: 1e-2, weightDecay: 0.1 });
      ck.restoreOptimizer(opt2);
      const ema2 = new Ema(ck.model.params, 0.9);
      ck.restoreEma(ema2);
      expect(ck.model.config.dtype).toBe(dtype);
      expect(ck.step).toBe(3);
      expect(ck.extra).toEqual(extra);
      expect(ck.tokenizer!.encode("the tiny 🚀")).toEqual(tokenizer.encode("the tiny 🚀"));

      const b = batch(9, CFG.vocab);
      const heads = async (m: Gpt) => m.forward(b, HEADS);
      expect(await heads(ck.model)).toEqual(await heads(model));
      // the averaged weights too
      ema.swap();
      ema2.swap();
      expect(await heads(ck.model)).toEqual(await heads(model));
      ema.swap();
      ema2.swap();

      const second = tmp();
      saveCheckpoint(second, ck.model, {
        step: ck.step,
        optimizer: opt2,
        ema: ema2,
        tokenizer: ck.tokenizer!,
        extra: ck.extra,
      });
      const files = readdirSync(first).sort();
      expect(readdirSync(second).sort()).toEqual(files);
      expect(files).toEqual(
        [
          "config.json",
          "ema.safetensors",
          "model.safetensors",
          "optimizer.safetensors",
          "tokenizer.json",
        ].sort(),
      );
      for (const f of files)
        expect(readFileSync(join(second, f)).equals(readFileSync(join(first, f))), f).toBe(true);

      // and the next step lands on the same weights from either side
      const step = async (m: Gpt, o: AdamW) =>
        o.step((await m.lossAndGrad(batch(4, CFG.vocab))).grad);
      await step(model, opt);
      await step(ck.model, opt2);
      expect(ck.model.params.flat).toEqual(model.params.flat);
      await Promise.all([model.dispose(), ck.model.dispose()]);
    });
  }
});
