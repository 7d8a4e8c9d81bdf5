/**
 * Metamorphic properties of KV-cache generation: what it reports must agree with the full
 * forward pass and with itself under changes that should not matter — the batch around a
 * prompt, the padding side of the recomputation, truncation settings that leave one token,
 * splitting one generation into two, the seed.
 *
 * Tolerance for log-probs: TOL = 1e-5 absolute (measured ≤ 4e-7 here; docs/engine.md promises
 * 1e-4 in general). Token sequences are compared exactly: a seeded tiny model has no near-ties.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { type GenerateOptions, type Generation, generate } from "../../src/engine/gpt/generate.js";
import { Gpt, padBatch } from "../../src/engine/gpt/model.js";

const CFG = { vocab: 29, dModel: 24, layers: 2, heads: 2, context: 48 };
const TOL = 1e-5;
const rng = new Rng(1);
const PROMPTS = [3, 11, 1, 7, 20].map((n) => Array.from({ length: n }, () => rng.int(CFG.vocab)));
const GREEDY = { maxNewTokens: 20, temperature: 0, seed: 1 } as const;

function worstGap(a: readonly number[][], b: readonly number[][]): number {
  let w = 0;
  a.forEach((row, i) => {
    expect(row.length).toBe(b[i]!.length);
    row.forEach((x, j) => {
      w = Math.max(w, Math.abs(x - b[i]![j]!));
    });
  });
  return w;
}

describe("generation agrees with the full forward pass", () => {
  it("reported log-probs are the forward's on the finished sequences, right- or left-padded", async () => {
    const m = new Gpt(CFG, { seed: 5, threads: 1 });
    const opts: GenerateOptions[] = [
      GREEDY,
      { maxNewTokens: 20, temperature: 1.3, seed: 4 },
      { maxNewTokens: 20, temperature: 0.7, topK: 5, topP: 0.9, seed: 8 },
    ];
    for (const o of opts) {
      const g = await generate(m, PROMPTS, o);
      const T = Math.max(...g.sequences.map((s) => s.length));
      const right = padBatch(g.sequences);
      const tokens = new Int32Array(g.sequences.length * T).fill(3);
      const mask = new Int32Array(g.sequences.length * T);
      g.sequences.forEach((s, b) => {
        tokens.set(s, b * T + T - s.length);
        mask.fill(1, b * T + T - s.length, (b + 1) * T);
      });
      for (const [batch, start] of [
        [right, (b: number) => b * T],
        [
          { tokens, mask, batch: g.sequences.length, length: T },
          (b: number) => b * T + T - g.sequences[b]!.length,
        ],
      ] as const) {
        const lp = await m.logprobs(batch);
        const fromForward = g.logprobs.map((row, b) =>
          row.map((_, j) => lp[start(b) + PROMPTS[b]!.length + j]!),
        );
        expect(worstGap(g.logprobs, fromForward), JSON.stringify(o)).toBeLessThan(TOL);
      }
    }
    await m.dispose();
  });

  it("generating n tokens and then m more from the result is generating n + m (greedy): the prefill and the cache agree", async () => {
    const m = new Gpt(CFG, { seed: 6, threads: 1 });
    const whole = await generate(m, PROMPTS, GREEDY);
    for (const n of [1, 8]) {
      const first = await generate(m, PROMPTS, { ...GREEDY, maxNewTokens: n });
      const rest = await generate(m, first.sequences, { ...GREEDY, maxNewTokens: 20 - n });
      expect(rest.sequences).toEqual(whole.sequences);
      const joined = first.logprobs.map((r, b) => [...r, ...rest.logprobs[b]!]);
      expect(worstGap(joined, whole.logprobs)).toBeLessThan(TOL);
    }
    await m.dispose();
  });
});

describe("generation does not depend on what should not matter", () => {
  it("greedy: a prompt alone or inside a larger batch, at any row, gives the same tokens", async () => {
    const m = new Gpt(CFG, { seed: 5, threads: 1 });
    const batch = await generate(m, PROMPTS, GREEDY);
    const reversed = await generate(m, [...PROMPTS].reverse(), GREEDY);
    for (const [b, p] of PROMPTS.entries()) {
      const alone = await generate(m, [p], { ...GREEDY, seed: 99 });
      expect(alone.completions[0], `prompt ${b}`).toEqual(batch.completions[b]);
      expect(reversed.completions[PROMPTS.length - 1 - b]).toEqual(batch.completions[b]);
      expect(worstGap(alone.logprobs, [batch.logprobs[b]!])).toBeLessThan(TOL);
    }
    await m.dispose();
  });

  it("top-k 1, top-p near 0 and a vanishing temperature are greedy, tokens and log-probs", async () => {
    const m = new Gpt(CFG, { seed: 7, threads: 1 });
    const greedy = await generate(m, PROMPTS, GREEDY);
    for (const o of [
      { topK: 1 },
      { topK: 1, temperature: 5 },
      { topP: 1e-9 },
      { topP: 1e-6, temperature: 0.5, topK: 3 },
      { temperature: 1e-30 },
    ]) {
      const g = await generate(m, PROMPTS, { maxNewTokens: 20, seed: 4, ...o });
      expect(g.completions, JSON.stringify(o)).toEqual(greedy.completions);
      expect(g.logprobs, JSON.stringify(o)).toEqual(greedy.logprobs);
    }
    // and sampling without truncation is not greedy (the comparison can fail)
    const sampled = await generate(m, PROMPTS, { maxNewTokens: 20, seed: 4, temperature: 1.5 });
    expect(sampled.completions).not.toEqual(greedy.completions);
    await m.dispose();
  });

  it("the same seed gives the same samples, on a fresh model with the same weights too; another seed others", async () => {
    const m = new Gpt(CFG, { seed: 8, threads: 1 });
    const o = { maxNewTokens: 20, temperature: 1.2, topP: 0.95, seed: 11 };
    const a: Generation = await generate(m, PROMPTS, o);
    expect(await generate(m, PROMPTS, o)).toEqual(a);
    const twin = m.clone({ threads: 2 });
    expect(await generate(twin, PROMPTS, { ...o, threads: 2 })).toEqual(a);
    const other = await generate(m, PROMPTS, { ...o, seed: 12 });
    expect(other.completions).not.toEqual(a.completions);
    await Promise.all([m.dispose(), twin.dispose()]);
  });
});
