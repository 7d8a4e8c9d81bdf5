import { describe, expect, it } from "vitest";
import { generate } from "../../src/engine/gpt/generate.js";
import { Gpt, padBatch } from "../../src/engine/gpt/model.js";

const CFG = { vocab: 37, dModel: 32, layers: 2, heads: 4, context: 24 };
const PROMPTS = [
  [3, 1, 4, 1, 5],
  [9, 2],
  [6, 5, 3, 5, 8, 9, 7],
];

describe("KV-cache generation", () => {
  it("greedy decoding equals full recomputation, and log-probs match within 1e-4", async () => {
    const m = new Gpt(CFG, { seed: 7, threads: 1 });
    const g = await generate(m, PROMPTS, { maxNewTokens: 12, temperature: 0, seed: 1 });
    for (let b = 0; b < PROMPTS.length; b++) {
      const seq = [...PROMPTS[b]!];
      for (const t of g.completions[b]!) {
        const batch = padBatch([seq]);
        const logits = (await m.forward(batch, ["logits"])).logits!;
        const last = logits.subarray((seq.length - 1) * CFG.vocab, seq.length * CFG.vocab);
        let best = 0;
        for (let i = 1; i < CFG.vocab; i++) if (last[i]! > last[best]!) best = i;
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
        const t = PROMPTS[b]!.length + j;
        worst = Math.max(worst, Math.abs(v - lp[b * full.length + t]!));
      });
    });
    expect(worst).toBeLessThan(1e-4);
    await m.dispose();
  });
});
