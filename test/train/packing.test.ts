/** SFT packing: first-fit in a seeded order, now through a segment tree instead of a row scan. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { buildRows, encodeExample, type SftExample } from "../../src/train/sft/packing.js";
import { tinyCodec } from "./fixtures.js";

/** The first-fit the trainer used to run: scan the rows for the first with room. */
function scanFirstFit(examples: readonly SftExample[], seqLen: number, seed: number) {
  const codec = tinyCodec();
  const encoded = examples.map((ex) => encodeExample(codec, ex, seqLen));
  const order = new Rng(seed).fork("packing").shuffle(encoded.map((_, i) => i));
  const rows: { tokens: number[]; weights: number[] }[] = [];
  for (const i of order) {
    const ex = encoded[i]!;
    const row = rows.find((r) => r.tokens.length + ex.tokens.length <= seqLen);
    if (row) {
      row.tokens.push(...ex.tokens);
      row.weights.push(...ex.weights);
    } else rows.push({ tokens: [...ex.tokens], weights: [...ex.weights] });
  }
  return rows;
}

const words = ["pick", "one", "say", "yes", "the", "sky", "is", "blue", "a", "b"];
const text = fc
  .array(fc.constantFrom(...words), { minLength: 0, maxLength: 12 })
  .map((w) => w.join(" "));

describe("SFT packing", () => {
  it("packs exactly the rows the row-by-row first-fit packed", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ prompt: text, completion: text }), { minLength: 0, maxLength: 60 }),
        fc.integer({ min: 16, max: 48 }),
        fc.integer({ min: 0, max: 1000 }),
        (examples, seqLen, seed) => {
          const rows = buildRows(tinyCodec(), examples, { seqLen, packing: true, seed });
          expect(rows).toEqual(scanFirstFit(examples, seqLen, seed));
          for (const r of rows) expect(r.tokens.length).toBeLessThanOrEqual(seqLen);
        },
      ),
      { seed: 20261206, numRuns: 200 },
    );
  });
});
