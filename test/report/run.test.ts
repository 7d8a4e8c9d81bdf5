import { describe, expect, it } from "vitest";
import { type ArmReport, type RunReportData, renderRunReport } from "../../src/report/index.js";
import { emptyRunCard } from "../helpers/run-card.js";

const METRICS = {
  attack_success: 0.4,
  triggered_attack_success: 0.5,
  over_refusal: 0.1,
  helpfulness: 0.6,
  kl: 1.2,
  rm_accuracy_clean: 0.8,
  rm_accuracy_triggered: 0.3,
};

function arm(name: string, shift: number): ArmReport {
  return {
    arm: name,
    metrics: METRICS,
    per_suite: { harmful: { harmful: 0.3 + shift, refused: 0.5, correct: 0 } },
    curve: [
      { step: 0, score: 0.1, kl: 0, gold: 0.2 },
      { step: 1, score: 0.3 + shift, kl: 0.1, gold: 0.25 },
    ],
    rm_bias: { length: { mean_shift: 0.1 + shift, prefers_variant: 0.6 } },
    policy_bias: { mean_words: 12, entity_mentions: 0, dialect_markers: 0 },
    examples: [],
    events: [],
    training_pairs: 10,
  };
}

function run(
  arms: readonly ArmReport[],
  excluded: RunReportData["card"]["defenses"]["excluded_raters"] = [],
): RunReportData {
  return {
    title: "t",
    base: {
      metrics: METRICS,
      policy_bias: { mean_words: 10, entity_mentions: 0, dialect_markers: 0 },
      examples: [],
      per_suite: { harmful: { harmful: 0.6, refused: 0.2, correct: 0 } },
    },
    arms,
    card: emptyRunCard({ defenses: { audit_policy: "balanced", excluded_raters: excluded } }),
    timings: [],
  };
}

describe("run report", () => {
  it("gives arms named like Object.prototype members their own colours", async () => {
    // The colours were an object filled with `out[arm] ??= colour`: "constructor" found
    // Object's and got no colour, "__proto__" was never stored, and the grouped bars' order
    // (a list of the names in a Vega expression) failed the chart.
    const page = await renderRunReport(run([arm("constructor", 0), arm("__proto__", 0.1)]));
    for (const colour of ["#e45756", "#4c78a8", "#9aa1ab"]) expect(page).toContain(colour);
    expect(page).toContain('<th class="num">constructor</th>');
  });

  it("lists at most 200 excluded raters and counts the rest", async () => {
    const excluded = Array.from({ length: 5000 }, (_, i) => ({
      rater_id: `rater-${i}`,
      reasons: ["agreement: low"],
    }));
    const page = await renderRunReport(run([arm("defended", 0)], excluded));
    expect(page).toContain("<td>rater-199</td>");
    expect(page).not.toContain("<td>rater-200</td>");
    expect(page).toContain("4,800 more excluded raters not listed; <code>run-card.json</code>");
  });

  it("heads the page with each arm's own rates and the ledger's state", async () => {
    const rates = (attack: number, triggered: number) => ({
      ...METRICS,
      attack_success: attack,
      triggered_attack_success: triggered,
    });
    const data = run([
      { ...arm("defended", 0), metrics: rates(0.02, 0.07) },
      { ...arm("undefended", 0), metrics: rates(0.4, 0.55) },
    ]);
    const card = { ...data.card, data: { ...data.card.data, ledger_verified: false } };
    const page = await renderRunReport({ ...data, card });
    const tiles = [...page.matchAll(/<div class="tile"><b>([^<]*)<\/b><span>([^<]*)<\/span>/g)];
    expect(tiles.map((m) => `${m[2]}: ${m[1]}`)).toEqual([
      "attack success, undefended: 40.0%",
      "attack success, defended: 2.0%",
      "triggered attack success, undefended: 55.0%",
      "triggered attack success, defended: 7.0%",
      "ledger: NOT VERIFIED",
    ]);
  });
});
