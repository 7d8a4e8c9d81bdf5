import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { generate } from "../../src/engine/gpt/generate.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { sample, sampleToken, tokenLogprob } from "../../src/engine/sampling.js";

const LOGITS = Float32Array.from([1.0, 3.0, 0.5, 2.9, -1.0]);

describe("sampling one token", () => {
  it("temperature 0, top-k 1 and a tiny top-p are all greedy", () => {
    const rng = new Rng(1);
    expect(sampleToken(LOGITS, { temperature: 0 }, rng)).toBe(1);
    for (let i = 0; i < 20; i++) {
      expect(sampleToken(LOGITS, { topK: 1 }, rng)).toBe(1);
      expect(sampleToken(LOGITS, { topP: 0.01 }, rng)).toBe(1);
    }
  });

  it("a temperature so small that 1/t overflows still draws the most likely token", () => {
    // 1/t is ∞ below t ≈ 5.6e-309: the top token's weight was 0·∞ = NaN and every draw fell
    // to the last id (the least likely one here).
    for (const temperature of [1e-300, 1e-310, Number.MIN_VALUE]) {
      const rng = new Rng(9);
      for (let i = 0; i < 5; i++) {
        expect(sample(LOGITS, { temperature }, rng).token).toBe(1);
        expect(sampleToken(LOGITS, { temperature }, rng)).toBe(1);
      }
    }
  });

  it("refuses NaN and +∞ logits, and rows with nothing to draw, instead of drawing the last id", () => {
    // One NaN made every weight sum NaN: each draw fell to the last id (the least likely here)
    // with a NaN log-prob, and greedy decoding never moved off id 0 when that was NaN.
    const nan = Float32Array.from([1, 3, Number.NaN, 2.9, -1]);
    const rng = new Rng(1);
    for (const o of [{}, { temperature: 0 }, { temperature: 0.7 }, { topK: 2 }, { topP: 0.9 }]) {
      expect(() => sample(nan, o, rng)).toThrow(/token id 2 is NaN/);
      expect(() => sampleToken(nan, o, rng)).toThrow(/token id 2 is NaN/);
    }
    const inf = Float32Array.from([0, Number.POSITIVE_INFINITY, 1]);
    expect(() => sample(inf, {}, rng)).toThrow(
      expect.objectContaining({ code: "KEEL_E_NUMERIC", message: expect.stringMatching(/id 1/) }),
    );
    const none = Float32Array.from([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    expect(() => sample(none, {}, rng)).toThrow(/all 2 logits are −∞/);
    // −∞ masks a token and is allowed
    const masked = Float32Array.from([0, Number.NEGATIVE_INFINITY, 1]);
    for (let i = 0; i < 200; i++) expect(sample(masked, {}, rng).token).not.toBe(1);
    expect(sampleToken(masked, { temperature: 0 }, rng)).toBe(2);
  });

  it("top-k of the vocabulary or more, top-k 0 and top-p 1 truncate nothing: the same draws per seed", () => {
    const draws = (o: object) => {
      const rng = new Rng(11);
      return Array.from({ length: 50 }, () => sample(LOGITS, o, rng).token);
    };
    const plain = draws({});
    for (const o of [{ topK: LOGITS.length }, { topK: 1000 }, { topK: 0 }, { topP: 1 }])
      expect(draws(o)).toEqual(plain);
    expect(new Set(plain).size).toBeGreaterThan(2);
  });

  it("top-k and top-p keep only the allowed set", () => {
    const rng = new Rng(2);
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) seen.add(sampleToken(LOGITS, { topK: 2 }, rng));
    expect([...seen].sort()).toEqual([1, 3]);
    // p(1) ≈ 0.44, p(3) ≈ 0.40: top-p 0.8 keeps exactly {1, 3}
    const seenP = new Set<number>();
    for (let i = 0; i < 400; i++) seenP.add(sampleToken(LOGITS, { topP: 0.8 }, rng));
    expect([...seenP].sort()).toEqual([1, 3]);
  });

  it("draws with the softmax frequencies (temperature 1 and 2)", () => {
    for (const temperature of [1, 2]) {
      const rng = new Rng(3);
      const n = 20000;
      const counts = new Array(LOGITS.length).fill(0);
      for (let i = 0; i < n; i++) counts[sample(LOGITS, { temperature }, rng).token]++;
      const z = Array.from(LOGITS, (l) => Math.exp(l / temperature));
      const total = z.reduce((a, b) => a + b, 0);
      counts.forEach((c, i) => {
        const p = z[i]! / total;
        expect(Math.abs(c / n - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n) + 1e-3);
      });
    }
  });

  it("returns the model's untempered log-prob of the drawn token", () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -20, max: 20, noNaN: true }), { minLength: 2, maxLength: 40 }),
        fc.double({ min: 0.1, max: 3, noNaN: true }),
        (ls, temperature) => {
          const logits = Float32Array.from(ls);
          const r = sample(logits, { temperature }, new Rng(5));
          expect(r.logprob).toBeCloseTo(tokenLogprob(logits, r.token), 9);
          expect(r.logprob).toBeLessThanOrEqual(1e-12);
        },
      ),
    );
  });
});

describe("batched generation", () => {
  const CFG = { vocab: 19, dModel: 16, layers: 1, heads: 2, context: 16 };

  it("is reproducible per seed, and a row does not depend on its batch mates", async () => {
    const m = new Gpt(CFG, { seed: 3, threads: 1 });
    const a = await generate(m, [[1, 2, 3], [4]], { maxNewTokens: 8, seed: 7 });
    const b = await generate(m, [[1, 2, 3], [4]], { maxNewTokens: 8, seed: 7 });
    const c = await generate(
      m,
      [
        [1, 2, 3],
        [9, 9, 9, 9],
      ],
      { maxNewTokens: 8, seed: 7 },
    );
    expect(b.completions).toEqual(a.completions);
    expect(c.completions[0]).toEqual(a.completions[0]);
    const d = await generate(m, [[1, 2, 3], [4]], { maxNewTokens: 8, seed: 8 });
    expect(d.completions).not.toEqual(a.completions);
    await m.dispose();
  });

  it("stops at stop tokens and at the context limit, reporting why", async () => {
    const m = new Gpt(CFG, { seed: 4, threads: 1 });
    const g = await generate(m, [[1, 2], [3]], { maxNewTokens: 40, seed: 1, stopTokens: [5] });
    g.completions.forEach((c, i) => {
      const stopAt = c.indexOf(5);
      if (g.finish[i] === "stop") expect(stopAt).toBe(c.length - 1);
      else {
        expect(stopAt).toBe(-1);
        expect(g.sequences[i]!.length).toBe(CFG.context);
      }
    });
    const short = await generate(m, [[1, 2]], { maxNewTokens: 3, seed: 1 });
    expect(short.completions[0]!.length).toBeLessThanOrEqual(3);
    await expect(
      generate(m, [Array.from({ length: 16 }, () => 1)], { maxNewTokens: 1, seed: 1 }),
    ).rejects.toThrow(/prompt 0/);
    await m.dispose();
  });

  it("rebuilds its baked decoding session when the weights change", async () => {
    const m = new Gpt(CFG, { seed: 5, threads: 1 });
    const before = await generate(m, [[1, 2, 3]], { maxNewTokens: 6, temperature: 0, seed: 1 });
    for (let i = 0; i < m.params.flat.length; i++) m.params.flat[i] = -m.params.flat[i]!;
    m.params.touch();
    const after = await generate(m, [[1, 2, 3]], { maxNewTokens: 6, temperature: 0, seed: 1 });
    const { padBatch } = await import("../../src/engine/gpt/model.js");
    const seq = [1, 2, 3];
    for (const t of after.completions[0]!) {
      const logits = (await m.forward(padBatch([seq]), ["logits"])).logits!;
      const last = logits.subarray((seq.length - 1) * CFG.vocab, seq.length * CFG.vocab);
      expect(t).toBe(last.indexOf(Math.max(...last)));
      seq.push(t);
    }
    expect(before.sequences[0]!.length).toBe(9);
    await m.dispose();
  });
});
