/**
 * The SFT loss mask's ignored entries (entry 0, which nothing predicts, and every entry at
 * padding) are multiplied by 0 in the graph, and 0·NaN is NaN: one NaN or ∞ there made the loss
 * and every gradient NaN, though the docs call those entries ignored. `lossAndGrad` refuses a
 * non-finite entry anywhere, naming its row and position; finite values at ignored entries
 * still change nothing.
 */
import { describe, expect, it } from "vitest";
import { Gpt, padBatch } from "../../src/engine/gpt/model.js";

describe("Gpt.lossAndGrad with a non-finite loss mask", () => {
  it("refuses NaN and ±∞ at ignored and real entries, naming row and position", async () => {
    const g = new Gpt({ vocab: 12, dModel: 8, layers: 1, heads: 2, context: 8 }, { seed: 1 });
    try {
      const batch = padBatch([
        [1, 2, 3, 4],
        [5, 6],
      ]);
      const clean = Float32Array.from(batch.mask!);
      const ref = await g.lossAndGrad({ ...batch, lossMask: clean });
      const loss = ref.loss;
      const grad = Float32Array.from(ref.grad);
      expect(Number.isFinite(loss) && grad.every(Number.isFinite)).toBe(true);
      for (const [at, bad] of [
        [7, Number.NaN], // row 1, position 3: padding
        [0, Number.POSITIVE_INFINITY], // row 0, position 0: nothing predicts it
        [5, Number.NEGATIVE_INFINITY], // row 1, position 1: a real target
      ] as const) {
        const lossMask = Float32Array.from(clean);
        lossMask[at] = bad;
        await expect(g.lossAndGrad({ ...batch, lossMask })).rejects.toThrow(
          expect.objectContaining({
            code: "KEEL_E_NUMERIC",
            message: expect.stringContaining(
              `loss mask entry ${bad} at row ${Math.floor(at / 4)}, position ${at % 4}`,
            ),
          }),
        );
      }
      // finite junk at the ignored entries leaves loss and gradient bit-identical
      const junk = Float32Array.from(clean);
      junk[0] = 1e30;
      junk[6] = -7;
      junk[7] = 3;
      const j = await g.lossAndGrad({ ...batch, lossMask: junk });
      expect(j.loss).toBe(loss);
      expect(Array.from(j.grad)).toEqual(Array.from(grad));
    } finally {
      await g.dispose();
    }
  });
});
