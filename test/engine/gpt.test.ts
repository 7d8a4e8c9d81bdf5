import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { Gpt, padBatch } from "../../src/engine/gpt/model.js";

const TINY = { vocab: 11, dModel: 8, layers: 2, heads: 2, context: 8, dtype: "float64" as const };

function batch() {
  const b = padBatch([
    [1, 5, 2, 7, 3, 9],
    [4, 4, 8],
  ]);
  const lossMask = Float64Array.from(b.mask!, (m, i) => (i % b.length === 0 ? 0 : m));
  return { ...b, lossMask };
}

/** Indices of `k` coordinates in every parameter tensor (all when it is small). */
function coords(m: Gpt, k: number, rng: Rng): number[] {
  const out: number[] = [];
  for (const name of m.params.names) {
    const [o, n] = m.params.range(name);
    if (n <= k) for (let i = 0; i < n; i++) out.push(o + i);
    else for (const i of rng.sampleIndices(n, k)) out.push(o + i);
  }
  return out;
}

describe("GPT gradients vs central finite differences (float64, tiny config)", () => {
  it("in-graph cross-entropy loss", async () => {
    const m = new Gpt(TINY, { seed: 3, threads: 1 });
    const b = batch();
    const grad = (await m.lossAndGrad(b)).grad.slice();
    const flat = m.params.flat;
    let worst = 0;
    for (const i of coords(m, 4, new Rng(1))) {
      const x0 = flat[i]!;
      flat[i] = x0 + 1e-6;
      const lp = (await m.lossAndGrad(b)).loss;
      flat[i] = x0 - 1e-6;
      const lm = (await m.lossAndGrad(b)).loss;
      flat[i] = x0;
      const num = (lp - lm) / 2e-6;
      worst = Math.max(worst, Math.abs(num - grad[i]!) / Math.max(1, Math.abs(num)));
    }
    expect(worst).toBeLessThan(1e-6);
    await m.dispose();
  });
});
