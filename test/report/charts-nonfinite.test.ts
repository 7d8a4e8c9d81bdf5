/**
 * Numbers that are not finite on their way into the reports: a reward model that scored NaN, a
 * curve point without a step, a metric that was NaN from the first step, a rater whose
 * suspicion a tool could not compute. Each must show as "–" or be left out, never as an empty
 * chart on an axis "from NaN to NaN", and must not disturb the order of the other rows.
 */
import { describe, expect, it } from "vitest";
import type { AuditReportRater } from "../../src/report/audit.js";
import { curveMetrics, curvePanels } from "../../src/report/curves.js";
import {
  type ArmMetrics,
  type ArmReport,
  type RunReportData,
  renderAuditReport,
  renderRunReport,
} from "../../src/report/index.js";
import { emptyRunCard } from "../helpers/run-card.js";

const BAD_TEXT = /NaN|Infinity|undefined|null%/;
const charts = (page: string) => page.split('<div class="chart">').length - 1;

const noMetrics: ArmMetrics = {
  attack_success: null,
  triggered_attack_success: null,
  over_refusal: null,
  helpfulness: null,
  kl: null,
  rm_accuracy_clean: null,
  rm_accuracy_triggered: null,
};
const noBias = { mean_words: 0, entity_mentions: 0, dialect_markers: 0 };

function run(arm: Partial<ArmReport>): RunReportData {
  return {
    title: "nonfinite",
    base: { metrics: noMetrics, policy_bias: noBias, examples: [], per_suite: {} },
    arms: [
      {
        arm: "defended",
        metrics: noMetrics,
        per_suite: {},
        curve: [],
        rm_bias: {},
        policy_bias: noBias,
        examples: [],
        events: [],
        training_pairs: 0,
        ...arm,
      },
    ],
    card: emptyRunCard(),
    timings: [],
  };
}

describe("run report with a reward model that scored NaN", () => {
  it("draws no bias chart for shifts that are not numbers, and shows them as –", async () => {
    // Before: the rows were non-empty, the chart dropped every value, and an empty frame with
    // an axis "from NaN to NaN" was drawn.
    const page = await renderRunReport(
      run({
        rm_bias: {
          length: { mean_shift: Number.NaN, prefers_variant: Number.NaN },
          entity: { mean_shift: Number.NaN, prefers_variant: Number.NaN },
        },
      }),
    );
    expect(page).not.toMatch(BAD_TEXT);
    expect(charts(page)).toBe(0);
    expect(page).toContain('<td>length</td><td class="num">–</td><td class="num">–</td>');
  });

  it("charts the finite shifts beside a NaN one", async () => {
    const page = await renderRunReport(
      run({
        rm_bias: {
          length: { mean_shift: 0.25, prefers_variant: 0.9 },
          entity: { mean_shift: Number.NaN, prefers_variant: Number.NaN },
        },
      }),
    );
    expect(page).not.toMatch(BAD_TEXT);
    expect(charts(page)).toBe(1);
  });

  it("draws no training curve whose points have no finite step", async () => {
    // A curve point's step was not checked: the chart dropped every point, and the frame
    // read "from Infinity to −Infinity".
    const page = await renderRunReport(
      run({ curve: [{ step: Number.NaN, score: 0.5, kl: 0.1, gold: 0.2 }] }),
    );
    expect(page).not.toMatch(BAD_TEXT);
    expect(charts(page)).toBe(0);
  });
});

describe("training curves with a metric that is never a number", () => {
  const rows = [
    { type: "train", step: 1, loss: Number.NaN, accuracy: 0.5 },
    { type: "train", step: 2, loss: Number.NaN, accuracy: 0.6 },
    { type: "train", step: Number.NaN, margin: 1 },
  ];

  it("offers no panel for it: it would be an empty chart", () => {
    expect(curveMetrics(rows)).toEqual(["accuracy"]);
    const panels = curvePanels(rows);
    expect(panels.map((p) => p.metric)).toEqual(["accuracy"]);
    expect(panels.every((p) => p.points.length > 0)).toBe(true);
  });
});

describe("audit report with a rater whose suspicion is not a number", () => {
  const rater = (rater_id: string, suspicion: number): AuditReportRater => ({
    rater_id,
    suspicion,
    reliability: 0.9,
    verdict: "trusted",
    reasons: [],
  });
  const data = (raters: AuditReportRater[]) => ({
    raters,
    comparisons: [],
    groups: [],
    triggers: [],
  });
  const order = (page: string) =>
    [...page.matchAll(/<td><code>(r-[a-z]+)<\/code>/g)].map((m) => m[1]);

  it("keeps the others most suspicious first, and lists the unscored one first, as –", async () => {
    // Compared as b − a, NaN was "equal" to every rater and the insertion sort left
    // [0.1, NaN, 0.9] as it was.
    const page = await renderAuditReport(
      data([rater("r-low", 0.1), rater("r-unscored", Number.NaN), rater("r-high", 0.9)]),
    );
    expect(order(page)).toEqual(["r-unscored", "r-high", "r-low"]);
    expect(page).not.toMatch(BAD_TEXT);
  });
});
