/**
 * The order in which the promotion scan reports words is a total order (best score first, then
 * the word in code-unit order, then its index), so the report is the same whatever order the
 * words were found in, equal entries included.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { bestWordsFirst, type FoundWord } from "../../src/defend/promotion.js";

// Word 5 repeats word 1 ("acme"): equal entries when their scores are equal too.
const VOCAB = ["globex", "acme", "Zeta", "acme corp", "émile", "acme"];
const order = bestWordsFirst(VOCAB);
const FOUND: FoundWord[] = [
  { t: 0, score: 4 },
  { t: 1, score: 7 },
  { t: 2, score: 7 },
  { t: 3, score: 7 },
  { t: 4, score: 4 },
  { t: 5, score: 7 },
  { t: 1, score: 7 },
  { t: 0, score: 12.5 },
];

function shuffled<T>(xs: readonly T[], rng: Rng): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("bestWordsFirst", () => {
  it("is a total order: reflexive, antisymmetric, equal entries equal", () => {
    for (const x of FOUND)
      for (const y of FOUND) {
        const xy = Math.sign(order(x, y));
        expect(xy, `${JSON.stringify(x)} ${JSON.stringify(y)}`).toBe(-Math.sign(order(y, x)) || 0);
        if (x.t === y.t && x.score === y.score) expect(xy).toBe(0);
      }
  });

  it("sorts any shuffle of the same words the same way", () => {
    const expected = [
      { t: 0, score: 12.5 },
      { t: 2, score: 7 }, // "Zeta" < "acme": code units, not the locale
      { t: 1, score: 7 },
      { t: 1, score: 7 },
      { t: 5, score: 7 },
      { t: 3, score: 7 },
      { t: 0, score: 4 },
      { t: 4, score: 4 },
    ];
    const rng = new Rng("promotion-order");
    for (let k = 0; k < 50; k++) expect(shuffled(FOUND, rng).sort(order)).toEqual(expected);
  });
});
