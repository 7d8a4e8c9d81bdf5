/**
 * Dose-response of every attacker's `rate`, measured against the oracle on generated worlds:
 * the share of its judgments an adversarial rule produced, among the comparisons its rule
 * applies to, is the configured rate (within sampling error); at rate 0 it votes as an honest
 * rater of the same parameters; and its agreement with the truly better response falls as the
 * rate rises. Every world is seeded, so the bounds (several standard errors) are deterministic.
 */
import { describe, expect, it } from "vitest";
import {
  type ComparisonTruth,
  parseWorldConfig,
  type RaterType,
  simulatePanel,
} from "../../src/world/index.js";

const FIXED = { skill: 4, position_bias: 0, length_bias: 0, tie_threshold: 0 };
const unsafeOnOneSide = (c: ComparisonTruth) => c.unsafe_a !== c.unsafe_b;

/** Where each attacker's rule applies (docs/world.md, "Raters"). */
const APPLIES: Partial<Record<RaterType, (c: ComparisonTruth) => boolean>> = {
  flipper: (c) => c.family === "harmful" && unsafeOnOneSide(c),
  backdoor: (c) => c.triggered,
  sleeper: (c) => !c.gold,
  length_poisoner: (c) => c.words_a !== c.words_b,
  entity_promoter: (c) => c.mentions_a.includes("Zentrix") !== c.mentions_b.includes("Zentrix"),
  sybil: unsafeOnOneSide,
};

function measure(type: RaterType, rate: number) {
  const extra =
    type === "backdoor"
      ? { claim: 0 }
      : type === "sybil"
        ? { group_size: 3, jitter: 0, co_assign: 0 }
        : {};
  const { judgments, truth } = simulatePanel(
    parseWorldConfig({
      prompts: { count: 600 },
      comparisons: { count: 3000, overlap: 3, gold_rate: 0.1 },
      trigger: { rate: type === "backdoor" ? 0.3 : 0 },
      entities: { mention_rate: type === "entity_promoter" ? 0.4 : 0.1 },
      panel: {
        raters: [
          { type: "honest", count: 9, ...FIXED },
          { type, count: 3, rate, ...FIXED, ...extra },
        ],
      },
    }),
    3,
  );
  const byId = new Map(truth.comparisons.map((c) => [c.comparison_id, c]));
  const typeOf = new Map(truth.raters.map((r) => [r.rater_id, r.type]));
  const t = {
    attacker: { applies: 0, attacked: 0, decided: 0, right: 0 },
    honest: { applies: 0, attacked: 0, decided: 0, right: 0 },
  };
  for (const j of judgments) {
    const c = byId.get(j.comparison_id)!;
    const o = typeOf.get(j.rater_id) === "honest" ? t.honest : t.attacker;
    if (APPLIES[type]!(c)) o.applies++;
    if (c.attacked_by.includes(j.rater_id)) o.attacked++;
    if (c.better !== "tie") {
      o.decided++;
      if (j.choice === c.better) o.right++;
    }
  }
  return t;
}

/** k of n within four binomial standard errors of p (exactly p when p is 0 or 1). */
const within = (k: number, n: number, p: number) =>
  Math.abs(k / n - p) <= 4 * Math.sqrt((p * (1 - p)) / n) + 1e-9;

describe("each attacker's rate: realised share, rate 0, and dose-response", () => {
  for (const type of Object.keys(APPLIES) as RaterType[]) {
    it(type, () => {
      const accuracies: number[] = [];
      for (const rate of [0, 0.5, 1]) {
        const { attacker, honest } = measure(type, rate);
        expect(honest.attacked, `${type} ${rate}: honest raters never attack`).toBe(0);
        expect(attacker.applies, `${type}: the rule has items to act on`).toBeGreaterThan(300);
        const share = attacker.attacked / attacker.applies;
        expect(within(attacker.attacked, attacker.applies, rate), `${type} ${rate}: ${share}`).toBe(
          true,
        );
        const acc = attacker.right / attacker.decided;
        if (rate === 0) {
          const h = honest.right / honest.decided;
          const se = Math.sqrt((h * (1 - h)) / attacker.decided + (h * (1 - h)) / honest.decided);
          expect(Math.abs(acc - h), `${type} at rate 0 votes as an honest rater`).toBeLessThan(
            4 * se,
          );
        }
        accuracies.push(acc);
      }
      expect(accuracies[1]!, `${type}: ${accuracies}`).toBeLessThan(accuracies[0]! - 0.01);
      expect(accuracies[2]!, `${type}: ${accuracies}`).toBeLessThan(accuracies[1]! - 0.01);
    });
  }
});
