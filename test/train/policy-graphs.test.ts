import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { Gpt, padBatch } from "../../src/engine/gpt/model.js";
import { policyBackward, policyForward } from "../../src/train/ppo/policyGraphs.js";

const TINY = { vocab: 13, dModel: 8, layers: 1, heads: 2, context: 8, dtype: "float64" as const };

describe("PPO policy graph (log-probs, values, entropy)", () => {
  it("agrees with the engine's heads and computes the exact entropy", async () => {
    const m = new Gpt(TINY, { seed: 2, threads: 1 });
    const b = padBatch([
      [1, 5, 2, 7, 3],
      [4, 4, 8],
    ]);
    const mine = await policyForward(m, b, ["logprobs", "values", "entropy"]);
    const eng = await m.forward(b, ["logprobs", "values", "logits"]);
    for (let i = 0; i < mine.logprobs!.length; i++) {
      expect(mine.logprobs![i]).toBeCloseTo(eng.logprobs![i]!, 12);
      expect(mine.values![i]).toBeCloseTo(eng.values![i]!, 12);
    }
    const V = TINY.vocab;
    for (let row = 0; row < b.batch; row++) {
      expect(mine.entropy![row * b.length]).toBe(0);
      for (let t = 1; t < b.length; t++) {
        const z = Array.from(
          eng.logits!.subarray((row * b.length + t - 1) * V, (row * b.length + t) * V),
        );
        const mx = Math.max(...z);
        const Z = z.reduce((a, x) => a + Math.exp(x - mx), 0);
        let H = 0;
        for (const x of z) {
          const lp = x - mx - Math.log(Z);
          H -= Math.exp(lp) * lp;
        }
        expect(mine.entropy![row * b.length + t]).toBeCloseTo(H, 12);
      }
    }
    await m.dispose();
  });

  it("backward matches central finite differences (float64)", async () => {
    const m = new Gpt(TINY, { seed: 3, threads: 1 });
    const b = padBatch([
      [1, 5, 2, 7, 3],
      [4, 4, 8],
    ]);
    const rng = new Rng(5);
    const n = b.batch * b.length;
    const d = {
      logprobs: Float64Array.from({ length: n }, () => rng.normal()),
      values: Float64Array.from({ length: n }, () => rng.normal()),
      entropy: Float64Array.from({ length: n }, () => rng.normal()),
    };
    const objective = async () => {
      const o = await policyForward(m, b, ["logprobs", "values", "entropy"]);
      let s = 0;
      for (const k of ["logprobs", "values", "entropy"] as const)
        for (let i = 0; i < n; i++) s += d[k][i]! * o[k]![i]!;
      return s;
    };
    const grad = (await policyBackward(m, b, d, m.params.zerosLike())).slice();
    const flat = m.params.flat;
    let worst = 0;
    for (const name of m.params.names) {
      const [o, len] = m.params.range(name);
      for (const j of rng.sampleIndices(len, Math.min(len, 3))) {
        const i = o + j;
        const x0 = flat[i]!;
        flat[i] = x0 + 1e-6;
        m.params.touch();
        const lp = await objective();
        flat[i] = x0 - 1e-6;
        m.params.touch();
        const lm = await objective();
        flat[i] = x0;
        m.params.touch();
        const num = (lp - lm) / 2e-6;
        worst = Math.max(worst, Math.abs(num - grad[i]!) / Math.max(1, Math.abs(num)));
      }
    }
    expect(worst).toBeLessThan(1e-6);
    await m.dispose();
  });
});
