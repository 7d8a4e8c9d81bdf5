/**
 * `promotedJudgments` reads each comparison's one-sided words once for the few leaned-to words
 * instead of checking every word for every judgment; it must mark exactly the judgments the
 * direct definition marks: a judgment (not a tie) whose chosen side has a one-sided word its
 * rater leans to.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LABEL_A, LABEL_B, LABEL_TIE } from "../../src/defend/data.js";
import { promotedJudgments } from "../../src/defend/promotion.js";

type Data = Parameters<typeof promotedJudgments>[0];
type Sides = Parameters<typeof promotedJudgments>[1];

/** The definition, judgment by judgment and word by word (the former implementation). */
function direct(data: Data, sides: Sides, leaning: ReadonlySet<number>): Uint8Array {
  const out = new Uint8Array(data.nJudgments);
  const T = sides.vocab.length;
  for (let c = 0; c < data.nComparisons; c++)
    for (let q = data.start[c]!; q < data.start[c + 1]!; q++) {
      const j = data.order[q]!;
      const l = data.label[j]!;
      if (l === LABEL_TIE) continue;
      for (let k = sides.offsets[c]!; k < sides.offsets[c + 1]!; k++) {
        const side = sides.words[k]!;
        const onChosenSide = side > 0 === (l === LABEL_A);
        if (onChosenSide && leaning.has(data.rater[j]! * T + Math.abs(side) - 1)) out[j] = 1;
      }
    }
  return out;
}

const instance = fc
  .record({
    T: fc.integer({ min: 1, max: 8 }),
    R: fc.integer({ min: 1, max: 5 }),
    comparisons: fc.array(
      fc.record({
        // Word ids and sides; a word may repeat (the definition does not need it to be unique).
        words: fc.array(fc.tuple(fc.nat(7), fc.boolean()), { maxLength: 6 }),
        judgments: fc.array(fc.tuple(fc.nat(4), fc.constantFrom(LABEL_A, LABEL_B, LABEL_TIE)), {
          maxLength: 5,
        }),
      }),
      { maxLength: 8 },
    ),
    leaning: fc.array(fc.tuple(fc.nat(4), fc.nat(7)), { maxLength: 6 }),
    shuffle: fc.integer(),
  })
  .map(({ T, R, comparisons, leaning, shuffle }) => {
    const offsets = [0];
    const words: number[] = [];
    const start = [0];
    const label: number[] = [];
    const rater: number[] = [];
    for (const c of comparisons) {
      for (const [t, onA] of c.words) words.push(((t % T) + 1) * (onA ? 1 : -1));
      offsets.push(words.length);
      for (const [w, l] of c.judgments) {
        rater.push(w % R);
        label.push(l);
      }
      start.push(label.length);
    }
    // Judgment ids in another order than their comparisons': `order` lists them by comparison.
    const n = label.length;
    const id = Array.from({ length: n }, (_, q) => q).sort(
      (x, y) => (Math.imul(x + 1, 2654435761) ^ shuffle) - (Math.imul(y + 1, 2654435761) ^ shuffle),
    );
    const labels = new Uint8Array(n);
    const raters = new Int32Array(n);
    id.forEach((j, q) => {
      labels[j] = label[q]!;
      raters[j] = rater[q]!;
    });
    const data = {
      nJudgments: n,
      nComparisons: comparisons.length,
      start: Int32Array.from(start),
      order: Int32Array.from(id),
      label: labels,
      rater: raters,
    } as Data;
    const sides: Sides = {
      vocab: Array.from({ length: T }, (_, t) => `w${t}`),
      offsets: Int32Array.from(offsets),
      words: Int32Array.from(words),
    };
    return { data, sides, leaning: new Set(leaning.map(([w, t]) => (w % R) * T + (t % T))) };
  });

describe("promotedJudgments", () => {
  it("marks exactly the judgments the word-by-word definition marks (fast-check)", () => {
    fc.assert(
      fc.property(instance, ({ data, sides, leaning }) => {
        expect(Array.from(promotedJudgments(data, sides, leaning))).toEqual(
          Array.from(direct(data, sides, leaning)),
        );
      }),
      { numRuns: 500 },
    );
  });

  it("marks a promotion by hand: the leaned-to word on the chosen side, not on the other", () => {
    // One comparison, word 0 on a's side, word 1 on b's; rater 0 leans to word 0.
    const data = {
      nJudgments: 4,
      nComparisons: 1,
      start: Int32Array.from([0, 4]),
      order: Int32Array.from([0, 1, 2, 3]),
      label: Uint8Array.from([LABEL_A, LABEL_B, LABEL_TIE, LABEL_A]),
      rater: Int32Array.from([0, 0, 0, 1]),
    } as Data;
    const sides: Sides = {
      vocab: ["acme", "other"],
      offsets: Int32Array.from([0, 2]),
      words: Int32Array.from([1, -2]),
    };
    expect(Array.from(promotedJudgments(data, sides, new Set([0 * 2 + 0])))).toEqual([1, 0, 0, 0]);
  });
});
