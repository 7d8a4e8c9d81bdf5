/** The rater-pair table: the same counts from its dense index and, past 4,096 raters, its Map. */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import type { Choice, Judgment } from "../../src/core/types.js";
import { prepareAuditData } from "../../src/defend/data.js";
import { ruleClassifier } from "../../src/defend/filters/lexicon.js";
import { pairTable } from "../../src/defend/pairs.js";

const CHOICES: Choice[] = ["a", "b", "tie"];
const GRADE = (x: Choice, y: Choice) => (x === y ? 1 : x === "tie" || y === "tie" ? 0.5 : 0);

/** `items` comparisons, each judged by 2–4 of `raters` raters drawn at random. */
function panel(raters: number, items: number, seed: number): Judgment[] {
  const rng = new Rng(seed);
  const out: Judgment[] = [];
  for (let c = 0; c < items; c++) {
    const m = 2 + rng.int(3);
    const who = new Set<number>();
    while (who.size < m) who.add(rng.int(raters));
    for (const w of who)
      out.push({
        comparison_id: `c${c}`,
        prompt: `prompt ${c}`,
        response_a: `a ${c}`,
        response_b: `b ${c}`,
        rater_id: `r${w}`,
        choice: CHOICES[rng.int(3)]!,
      });
  }
  return out;
}

describe("pairTable", () => {
  for (const raters of [300, 6000]) {
    it(`counts every co-rated pair and its graded agreement (${raters} raters)`, () => {
      const js = panel(raters, 2 * raters, raters);
      const data = prepareAuditData({ judgments: js }, { safety: ruleClassifier(), useGold: true });
      // Past 4,096 raters the index is a Map rather than a dense array.
      expect(data.nRaters > 4096).toBe(raters > 4096);
      const t = pairTable(data, 50);
      // The reference: every two judgments of one comparison, by rater id.
      const want = new Map<string, { co: number; agree: number }>();
      const byItem = new Map<string, Judgment[]>();
      for (const j of js) byItem.set(j.comparison_id, [...(byItem.get(j.comparison_id) ?? []), j]);
      for (const list of byItem.values())
        for (let x = 0; x < list.length; x++)
          for (let y = x + 1; y < list.length; y++) {
            const [p, q] = [list[x]!, list[y]!].sort(
              (u, v) => data.raterIds.indexOf(u.rater_id) - data.raterIds.indexOf(v.rater_id),
            );
            const key = `${p!.rater_id}|${q!.rater_id}`;
            const w = want.get(key) ?? { co: 0, agree: 0 };
            w.co += 1;
            w.agree += GRADE(p!.choice, q!.choice);
            want.set(key, w);
          }
      expect(t.first.length).toBe(want.size);
      for (let p = 0; p < t.first.length; p++) {
        const [i, j] = [t.first[p]!, t.second[p]!];
        expect(i).toBeLessThan(j);
        const w = want.get(`${data.raterIds[i]}|${data.raterIds[j]}`)!;
        expect([t.co[p], t.agree[p]]).toEqual([w.co, w.agree]);
        expect(t.indexOf(j, i)).toBe(p);
      }
      expect(t.indexOf(0, 0)).toBe(-1);
    });
  }
});
