/**
 * Sampling and generation over logits that are not all finite. −∞ masks a token: it is never
 * drawn, whatever the temperature and truncation, and the drawn token's log-prob stays finite.
 * NaN and +∞ (a diverged model) are refused with KEEL_E_NUMERIC naming the token id — by the
 * log-prob of a token too, which `generate` computes over the whole row when it draws below
 * `textVocab`.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { generate } from "../../src/engine/gpt/generate.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { sample, sampleToken, tokenLogprob } from "../../src/engine/sampling.js";

const NEG = Number.NEGATIVE_INFINITY;

describe("tokenLogprob over non-finite logits", () => {
  it("refuses NaN and +∞ anywhere in the row, naming the id, instead of returning NaN", () => {
    const row = Float32Array.from([0.5, 1, -2, 0]);
    for (const [bad, at] of [
      [Number.NaN, 3],
      [Number.POSITIVE_INFINITY, 0],
    ] as const) {
      const r = Float32Array.from(row);
      r[at] = bad;
      // the token asked about is finite: its log-prob was NaN all the same
      expect(() => tokenLogprob(r, 1)).toThrow(
        expect.objectContaining({
          code: "KEEL_E_NUMERIC",
          message: expect.stringContaining(`logit of token id ${at} is ${bad}`),
        }),
      );
    }
    expect(() => tokenLogprob(Float32Array.from([NEG, NEG]), 0)).toThrow(/all 2 logits are −∞/);
  });

  it("refuses a token id outside the row, whose log-prob was NaN", () => {
    const row = Float32Array.from([0.5, 1, -2]);
    for (const id of [3, -1, 1.5, Number.NaN])
      expect(() => tokenLogprob(row, id)).toThrow(
        expect.objectContaining({
          code: "KEEL_E_SHAPE",
          message: expect.stringContaining(`token id ${id} is outside the row of 3 logits`),
        }),
      );
  });

  it("gives −∞ for a masked token and the log-softmax over the others for the rest", () => {
    const row = Float64Array.from([NEG, Math.log(1), NEG, Math.log(3)]);
    expect(tokenLogprob(row, 0)).toBe(NEG);
    expect(tokenLogprob(row, 1)).toBeCloseTo(Math.log(0.25), 14);
    expect(tokenLogprob(row, 3)).toBeCloseTo(Math.log(0.75), 14);
  });
});

describe("sample's scratch buffer", () => {
  it("refuses one shorter than the row, whose missing weights summed to NaN", () => {
    // the weights past its end were dropped and read back as undefined: u − NaN is never < 0,
    // so every draw fell to id 0 here, the least likely
    const row = Float32Array.from([0, 0, 0, 9]);
    expect(() => sample(row, {}, new Rng(1), new Float64Array(2))).toThrow(
      expect.objectContaining({
        code: "KEEL_E_SHAPE",
        message: expect.stringContaining("scratch has 2 entries for 4 logits"),
      }),
    );
    expect(sample(row, { temperature: 1e-3 }, new Rng(1), new Float64Array(9)).token).toBe(3);
  });
});

describe("sampling with masked (−∞) logits", () => {
  it("never draws a masked id, and reports a finite log-prob, for any temperature, top-k and top-p", () => {
    const options = fc.record({
      temperature: fc.constantFrom(0, 1e-300, 0.3, 1, 7, 1e300),
      topK: fc.constantFrom(undefined, 0, 1, 2, 5, 100),
      topP: fc.constantFrom(undefined, 1e-9, 0.5, 0.999999, 1),
    });
    const row = fc
      .array(fc.oneof(fc.double({ min: -30, max: 30, noNaN: true }), fc.constant(NEG)), {
        minLength: 1,
        maxLength: 12,
      })
      .filter((xs) => xs.some((x) => x > NEG));
    fc.assert(
      fc.property(row, options, fc.integer({ min: 0, max: 1e6 }), (xs, raw, seed) => {
        const o = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
        const rng = new Rng(seed);
        for (const logits of [Float64Array.from(xs), Float32Array.from(xs)]) {
          const { token, logprob } = sample(logits, o, rng);
          expect(logits[token]).toBeGreaterThan(NEG);
          expect(Number.isFinite(logprob)).toBe(true);
          expect(logprob).toBeCloseTo(tokenLogprob(logits, token), 9);
          expect(logits[sampleToken(logits, o, rng)]).toBeGreaterThan(NEG);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("draws the one unmasked id when every other is −∞", () => {
    const rng = new Rng(5);
    const row = Float32Array.from([NEG, NEG, NEG, -80, NEG]);
    for (const o of [{}, { temperature: 0 }, { topK: 3 }, { topP: 0.1 }, { temperature: 50 }])
      for (let i = 0; i < 20; i++) expect(sample(row, o, rng)).toEqual({ token: 3, logprob: 0 });
  });
});

describe("generate over a model whose logits are not finite", () => {
  it("refuses a NaN logit above textVocab instead of reporting a NaN log-prob", async () => {
    // The drawn ids are below textVocab and their logits finite: only the log-prob, over the
    // whole row, met the NaN (id V − 1's embedding, which the tied LM head reads).
    const V = 12;
    const model = new Gpt({ vocab: V, dModel: 8, layers: 1, heads: 2, context: 8 }, { seed: 2 });
    try {
      const o = { maxNewTokens: 3, temperature: 0, textVocab: V - 1, seed: 1 };
      const clean = await generate(model, [[1, 2, 3]], o);
      expect(clean.logprobs[0]!.every(Number.isFinite)).toBe(true);
      expect(clean.completions[0]!.every((t) => t < V - 1)).toBe(true);
      model.params.view("wte")[(V - 1) * 8] = Number.NaN;
      model.params.touch();
      await expect(generate(model, [[1, 2, 3]], o)).rejects.toThrow(
        expect.objectContaining({
          code: "KEEL_E_NUMERIC",
          message: expect.stringContaining(`logit of token id ${V - 1} is NaN`),
        }),
      );
    } finally {
      await model.dispose();
    }
  });
});
