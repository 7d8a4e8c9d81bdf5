import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import type { Choice, Judgment } from "../../src/core/types.js";
import { audit, auditToJson, resolveAuditConfig } from "../../src/defend/index.js";
import { scanPromotions } from "../../src/defend/promotion.js";
import { namesIn } from "../../src/defend/text.js";
import { parseWorldConfig, simulatePanel } from "../../src/world/index.js";
import {
  type Behaviour,
  honest,
  honestRaters,
  makeItems,
  type PanelOptions,
  simulate,
} from "./fixtures.js";
import { contextFor } from "./helpers.js";

/** The world's entity promoters (examples/world-entity.yaml), smaller. */
function entityWorld(promoters: number, seed = 7) {
  const config = parseWorldConfig({
    seed,
    comparisons: { count: 6000, overlap: 3, gold_rate: 0.05 },
    entities: { names: ["Zentrix", "Quorra", "Valdane"], mention_rate: 0.3 },
    panel: {
      raters: [
        { type: "honest", count: 60 - promoters },
        ...(promoters > 0
          ? [{ type: "entity_promoter", count: promoters, entity: "Zentrix", rate: 1 }]
          : []),
      ],
    },
  });
  const sim = simulatePanel(config, seed);
  const type = new Map(sim.truth.raters.map((r) => [r.rater_id, r.type]));
  return { judgments: sim.judgments, type };
}

function auc(pos: number[], neg: number[]): number {
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

describe("namesIn", () => {
  it("finds words written as names, not sentence starts, single letters or I", () => {
    const text =
      "Zentrix is here. For more help, Zentrix has resources; ask Acme Corp today! So I think " +
      "the letters are Q, U and A. I'm sure McDonald and iPhone exist.\nBanana bread.";
    const { names, starts, ends } = namesIn(text);
    expect(names).toEqual(["zentrix", "acme", "corp", "mcdonald"]);
    expect(text.slice(starts[1]!, ends[1]!)).toBe("Acme");
  });
});

describe("promotion scan", () => {
  it("finds the promoted name and its promoters in the world's entity attack", () => {
    const w = entityWorld(6);
    const ctx = contextFor(w.judgments);
    const r = scanPromotions(ctx.data, ctx.config);
    expect(r.patterns[0]?.pattern).toBe("zentrix");
    // The other names are mentioned as often, but nobody leans to them.
    expect(r.patterns.map((p) => p.pattern)).not.toContain("quorra");
    expect(r.patterns.map((p) => p.pattern)).not.toContain("valdane");
    const pos: number[] = [];
    const neg: number[] = [];
    ctx.data.raterIds.forEach((id, i) => {
      (w.type.get(id) === "entity_promoter" ? pos : neg).push(r.signal.score[i]!);
    });
    expect(auc(pos, neg)).toBeGreaterThan(0.95);
    expect(Math.max(...neg)).toBeLessThan(0.5);
    const top = ctx.data.raterIds.findIndex((_, i) => r.signal.score[i] === Math.max(...pos));
    expect(r.signal.reason(top)).toMatch(/chose the response containing "zentrix" \d+% more often/);
  });

  it("reports nothing when the same world is judged honestly (raters differ in skill and length preference)", () => {
    const w = entityWorld(0);
    const ctx = contextFor(w.judgments);
    const r = scanPromotions(ctx.data, ctx.config);
    expect(r.patterns).toEqual([]);
    expect(Math.max(...r.signal.score)).toBe(0);
  });

  const OPTS: PanelOptions = { items: 2400, overlap: 3, seed: 5 };
  /** Items whose better response mentions Acme (a name that marks quality), and a random side Globex. */
  function namedItems() {
    const rng = new Rng("names");
    return makeItems(OPTS).map((it, i) => {
      const acme = i % 4 === 0;
      const globex = i % 4 === 1 ? (rng.bernoulli(0.5) ? "a" : "b") : undefined;
      const add = (side: "a" | "b", text: string) =>
        (acme && it.better === side ? `${text} Ask Acme for more.` : text) +
        (globex === side ? " Try Globex sometime." : "");
      return { ...it, a: add("a", it.a), b: add("b", it.b) };
    });
  }

  it("a name every rater chooses (it marks the better answer) is no evidence; a name a few raters choose is", () => {
    const promoter: Behaviour = (item, rng, f) => {
      if (item.a.includes("Globex") !== item.b.includes("Globex"))
        return item.a.includes("Globex") ? "a" : "b";
      return honest()(item, rng, f);
    };
    const raters = [
      ...honestRaters(20),
      ...[0, 1, 2].map((i) => ({ id: `p${i}`, behaviour: promoter })),
    ];
    const ctx = contextFor(simulate(namedItems(), raters, OPTS));
    const r = scanPromotions(ctx.data, ctx.config);
    expect(r.patterns.map((p) => p.pattern)).toEqual(["globex"]);
    expect(r.patterns[0]!.raters).toBe(3);
    for (const id of ["p0", "p1", "p2"])
      expect(r.signal.score[ctx.data.raterIds.indexOf(id)]!).toBeGreaterThan(0.9);
    ctx.data.raterIds.forEach((id, i) => {
      if (id.startsWith("h")) expect(r.signal.score[i]!).toBeLessThan(0.2);
    });
    // Honestly judged, neither name is reported.
    const clean = contextFor(simulate(namedItems(), honestRaters(23), OPTS));
    expect(scanPromotions(clean.data, clean.config).patterns).toEqual([]);
  });

  it("is part of the audit: a rater reason, evidence, the JSON's promotions; off when disabled", () => {
    const w = entityWorld(6);
    const res = audit({ judgments: w.judgments });
    expect(res.promotions[0]?.pattern).toBe("zentrix");
    const flagged = res.raters.filter((r) => r.verdict !== "trusted");
    const promotersFlagged = flagged.filter((r) => w.type.get(r.rater_id) === "entity_promoter");
    expect(promotersFlagged.length).toBeGreaterThanOrEqual(4);
    expect(promotersFlagged.some((r) => r.reasons.some((x) => x.startsWith("promotion:")))).toBe(
      true,
    );
    expect(promotersFlagged[0]!.evidence.promotion?.promotion_judgments).toBeGreaterThanOrEqual(5);
    const json = auditToJson(res) as { promotions: { pattern: string; raters: number }[] };
    expect(json.promotions[0]).toMatchObject({ pattern: "zentrix" });
    const off = audit(
      { judgments: w.judgments as Judgment[] },
      { config: { signals: { promotion: { enabled: false } } } },
    );
    expect(off.promotions).toEqual([]);
    expect(off.raters.every((r) => r.evidence.promotion === undefined)).toBe(true);
  });

  it("discounts the promotions themselves: a leaning rater's choices of the name's side", () => {
    const w = entityWorld(6);
    // No verdicts (every rater keeps weight 1) and no unsafe discount: only this factor is left.
    const config = {
      verdict: { suspect_at: 1, exclude_at: 1 },
      weights: { unsafe_preference: 1 },
      signals: { groups: { enabled: false } },
    };
    const res = audit({ judgments: w.judgments }, { config });
    expect(res.config.weights.promoted_choice).toBe(0.25);
    const lean = new Map(res.raters.map((r) => [r.rater_id, r.evidence.promotion?.score ?? 0]));
    // A suspicion of exactly 1 still reaches exclude_at.
    const excluded = new Set(res.raters.filter((r) => r.weight === 0).map((r) => r.rater_id));
    const seen = { promoted: 0, other: 0, honest: 0 };
    const comparisonWeight = new Map(res.comparisons.map((c) => [c.comparison_id, c.weight]));
    w.judgments.forEach((j, i) => {
      const za = /Zentrix/.test(String(j.response_a));
      const zb = /Zentrix/.test(String(j.response_b));
      // The effective weight is the judgment's own weight times its comparison's.
      const cw = comparisonWeight.get(j.comparison_id)!;
      if (za === zb || j.choice === "tie" || cw === 0 || excluded.has(j.rater_id)) return;
      const omega = res.judgmentWeights[i]! / cw;
      const towards = (j.choice === "a") === za;
      if (lean.get(j.rater_id)! >= 0.5) {
        if (towards) {
          seen.promoted++;
          expect(omega).toBeCloseTo(0.25, 12);
        } else {
          seen.other++;
          expect(omega).toBeCloseTo(1, 12);
        }
      } else if (w.type.get(j.rater_id) === "honest" && towards) {
        seen.honest++;
        expect(omega).toBeCloseTo(1, 12);
      }
    });
    expect(seen.promoted).toBeGreaterThan(50);
    expect(seen.honest).toBeGreaterThan(50);
    // Permissive only flags.
    expect(
      audit({ judgments: w.judgments }, { policy: "permissive" }).config.weights.promoted_choice,
    ).toBe(1);
  });

  it("with max_n 2 a two-word name is one name, reported once", () => {
    const promoter: Behaviour = (item, rng, f) => {
      if (item.a.includes("Globex") !== item.b.includes("Globex"))
        return item.a.includes("Globex") ? "a" : "b";
      return honest()(item, rng, f);
    };
    const items = namedItems().map((it) => ({
      ...it,
      a: it.a.replace("Globex", "Globex Corp"),
      b: it.b.replace("Globex", "Globex Corp"),
    }));
    const raters = [
      ...honestRaters(20),
      ...[0, 1, 2].map((i) => ({ id: `p${i}`, behaviour: promoter })),
    ];
    const ctx = contextFor(simulate(items, raters, OPTS), { signals: { promotion: { max_n: 2 } } });
    const r = scanPromotions(ctx.data, ctx.config);
    const words = r.patterns.map((p) => p.pattern).sort();
    expect(words).toEqual(["corp", "globex"]);
  });

  it("takes `words: all` and refuses an unknown word mode, naming the field", () => {
    expect(
      resolveAuditConfig({ signals: { promotion: { words: "all" } } }).signals.promotion.words,
    ).toBe("all");
    expect(() => resolveAuditConfig({ signals: { promotion: { words: "brands" } } })).toThrow(
      /signals\.promotion\.words/,
    );
  });

  it("names a rater's word by the promotions' order when two names score the same, whatever the judgments' order", () => {
    // One response of each comparison names Acme and Globex, in either order; two promoters
    // always choose it, 12 honest raters choose the better answer. Equal word counts, so that
    // no length preference can stand in for the names.
    const js: Judgment[] = [];
    for (let c = 0; c < 80; c++) {
      const named = `For help, try ${c % 2 === 0 ? "Acme or Globex" : "Globex or Acme"} for item ${c}.`;
      const plain = `For help, ask a good friend about item ${c}.`;
      const namedIsA = c % 4 < 2;
      const side = (toNamed: boolean): Choice => (toNamed === namedIsA ? "a" : "b");
      const judge = (rater_id: string, choice: Choice) =>
        js.push({
          comparison_id: `c${c}`,
          prompt: `question ${c}?`,
          response_a: namedIsA ? named : plain,
          response_b: namedIsA ? plain : named,
          rater_id,
          choice,
        });
      judge("p", side(true));
      judge("q", side(true));
      for (let k = 0; k < 12; k++) judge(`h${k}`, side((c % 3 === 0) !== ((c + k) % 7 === 0)));
    }
    for (const order of [js, js.slice().reverse()]) {
      const r = audit({ judgments: order });
      expect(r.promotions.map((p) => p.pattern)).toEqual(["acme", "globex"]);
      expect(r.promotions[0]!.score).toBe(r.promotions[1]!.score);
      for (const id of ["p", "q"]) {
        const x = r.raters.find((y) => y.rater_id === id)!;
        expect(x.evidence.promotion?.promotion_word, id).toBe(0);
        expect(x.reasons.join(" "), id).toContain('"acme"');
      }
    }
  });
});
