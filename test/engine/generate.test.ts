import { describe, expect, it } from "vitest";
import { type Generation, generate } from "../../src/engine/gpt/generate.js";
import { decodeGraph } from "../../src/engine/gpt/graphs.js";
import { Gpt, padBatch } from "../../src/engine/gpt/model.js";

const CFG = { vocab: 37, dModel: 32, layers: 2, heads: 4, context: 24 };
const PROMPTS = [
  [3, 1, 4, 1, 5],
  [9, 2],
  [6, 5, 3, 5, 8, 9, 7],
];

/** Greedy generation checked token by token against the full forward pass, and its log-probs. */
async function expectMatchesRecomputation(
  cfg: typeof CFG,
  prompts: number[][],
  maxNewTokens: number,
): Promise<Generation> {
  const m = new Gpt(cfg, { seed: 7, threads: 1 });
  const g = await generate(m, prompts, { maxNewTokens, temperature: 0, seed: 1 });
  for (let b = 0; b < prompts.length; b++) {
    const seq = [...prompts[b]!];
    for (const t of g.completions[b]!) {
      const batch = padBatch([seq]);
      const logits = (await m.forward(batch, ["logits"])).logits!;
      const last = logits.subarray((seq.length - 1) * cfg.vocab, seq.length * cfg.vocab);
      let best = 0;
      for (let i = 1; i < cfg.vocab; i++) if (last[i]! > last[best]!) best = i;
      expect(t).toBe(best);
      seq.push(t);
    }
    expect(g.sequences[b]).toEqual(seq);
  }
  const full = padBatch(g.sequences);
  const lp = await m.logprobs(full);
  let worst = 0;
  g.logprobs.forEach((row, b) => {
    row.forEach((v, j) => {
      const t = prompts[b]!.length + j;
      worst = Math.max(worst, Math.abs(v - lp[b * full.length + t]!));
    });
  });
  expect(worst).toBeLessThan(1e-4);
  await m.dispose();
  return g;
}

describe("KV-cache generation", () => {
  it("greedy decoding equals full recomputation, and log-probs match within 1e-4", async () => {
    await expectMatchesRecomputation(CFG, PROMPTS, 12);
  });

  it("stays equal up to the last slot of the context, rows of different lengths", async () => {
    // The longest row fills the context (64 tokens) and stops there; the others stop at
    // maxNewTokens, at different points of the cache.
    const cfg = { ...CFG, context: 64 };
    const prompts = [[5], [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21], [2, 3, 4]];
    const g = await expectMatchesRecomputation(cfg, prompts, 60);
    expect(g.sequences.map((s) => s.length)).toEqual([61, 64, 63]);
    expect(g.finish).toEqual(["length", "length", "length"]);
  });
});

describe("generation at its edges", () => {
  const cfg = { vocab: 19, dModel: 16, layers: 1, heads: 2, context: 16 };

  it("an empty batch gives an empty generation", async () => {
    // ONNX Runtime failed on a [0, 1] batch (a raw Reshape error, KEEL_E_INTERNAL to a user).
    const m = new Gpt(cfg, { seed: 2, threads: 1 });
    const g = await generate(m, [], { maxNewTokens: 3, seed: 1 });
    expect(g).toEqual({ sequences: [], completions: [], logprobs: [], finish: [] });
    await m.dispose();
  });

  it("refuses a maxNewTokens that is not a non-negative integer, and token ids outside the vocabulary", async () => {
    // 1.5 generated two tokens and -1 none, silently; id 25 reached ONNX Runtime's Gather.
    const m = new Gpt(cfg, { seed: 2, threads: 1 });
    for (const maxNewTokens of [1.5, -1, Number.NaN]) {
      await expect(generate(m, [[1, 2]], { maxNewTokens, seed: 1 })).rejects.toMatchObject({
        code: "KEEL_E_CONFIG",
      });
    }
    expect((await generate(m, [[1, 2]], { maxNewTokens: 0, seed: 1 })).completions).toEqual([[]]);
    await expect(generate(m, [[1, 25]], { maxNewTokens: 2, seed: 1 })).rejects.toMatchObject({
      code: "KEEL_E_SHAPE",
      message: expect.stringMatching(/prompt 0 holds token id 25/),
    });
    await m.dispose();
  });

  it("refuses a thread count that is not a positive integer, and still generates afterwards", async () => {
    // -1 reached ONNX Runtime as KEEL_E_INTERNAL ("a bug in the graph builder"), and the model
    // kept the failed decoding session: every later call, with good options, failed the same way.
    const m = new Gpt(cfg, { seed: 2, threads: 1 });
    for (const threads of [-1, 1.5, Number.NaN, 0]) {
      await expect(generate(m, [[1, 2]], { maxNewTokens: 2, seed: 1, threads })).rejects.toThrow(
        expect.objectContaining({
          code: "KEEL_E_CONFIG",
          message: expect.stringMatching(/threads/),
        }),
      );
    }
    const g = await generate(m, [[1, 2]], { maxNewTokens: 2, seed: 1, threads: 1 });
    expect(g.completions[0]!.length).toBe(2);
    await m.dispose();
  });

  it("does not keep a decoding session that failed to build, and rebuilds one for another thread count", async () => {
    const m = new Gpt(cfg, { seed: 2, threads: 1 });
    const build = () => decodeGraph(m.config, m.params, 8, true);
    // ONNX Runtime refuses -1 threads when the session is built: nothing is kept under the key.
    await expect(m.bakedSession("decode:8", build, -1)).rejects.toThrow();
    const one = await m.bakedSession("decode:8", build, 1);
    expect(await m.bakedSession("decode:8", build, 1)).toBe(one);
    // Another thread count is another session (the first one's count was silently kept).
    const two = await m.bakedSession("decode:8", build, 2);
    expect(two).not.toBe(one);
    await m.dispose();
  });

  it("textVocab draws only ids a smaller tokenizer can decode, with the model's own log-probs", async () => {
    const m = new Gpt(cfg, { seed: 2, threads: 1 });
    const prompts = [[1, 2, 3], [4], [5, 6]];
    const g = await generate(m, prompts, { maxNewTokens: 12, seed: 3, textVocab: 5 });
    const all = g.completions.flat();
    expect(all.length).toBe(36);
    expect(all.every((t) => t < 5)).toBe(true);
    const full = padBatch(g.sequences);
    const lp = await m.logprobs(full);
    g.logprobs.forEach((row, b) => {
      row.forEach((v, j) => {
        expect(v).toBeCloseTo(lp[b * full.length + prompts[b]!.length + j]!, 4);
      });
    });
    // greedy within the allowed ids
    const greedy = await generate(m, prompts, {
      maxNewTokens: 4,
      seed: 3,
      temperature: 0,
      textVocab: 1,
    });
    expect(greedy.completions.flat()).toEqual(new Array(12).fill(0));
    await expect(
      generate(m, prompts, { maxNewTokens: 1, seed: 1, textVocab: 20 }),
    ).rejects.toMatchObject({ code: "KEEL_E_CONFIG" });
    await m.dispose();
  });
});
