/**
 * The poison sweep's Markdown table (docs/results.md) from rows built by hand, without running a
 * sweep: rates in percent, "–" for a rate with no value, and on the defended row the gaps as
 * undefended − defended in signed points with their interval, ** when the interval excludes zero
 * over enough probes.
 */
import { describe, expect, it } from "vitest";
import type { ArmSummary } from "../../src/pipeline/stages/report.js";
import { type SweepRow, sweepMarkdown } from "../../src/pipeline/sweep.js";

const metrics = (attack: number, kl: number | null): ArmSummary => ({
  attack_success: attack,
  triggered_attack_success: null,
  over_refusal: 0.125,
  helpfulness: 0.5,
  kl,
  rm_accuracy_clean: 0.9,
  rm_accuracy_triggered: null,
});

describe("sweepMarkdown", () => {
  it("prints rates in percent, '–' for none, and the defended row's signed gaps", () => {
    const rows: SweepRow[] = [
      {
        attack: "backdoor",
        rate: 0.05,
        poisoned_share: 0.02,
        attacker_raters: 10,
        panel_raters: 200,
        attacked_judgments: 48,
        triggered_comparisons: 60,
        arm: "undefended",
        metrics: metrics(0.4, 0.1),
      },
      {
        attack: "backdoor",
        rate: 0.05,
        poisoned_share: 0.02,
        attacker_raters: 10,
        panel_raters: 200,
        attacked_judgments: 48,
        triggered_comparisons: 60,
        arm: "defended",
        metrics: metrics(0.25, null),
        vs_undefended: {
          attack_success: { estimate: 0.15, ci95: [0.05, 0.25], probes: 40, resamples: 2000 },
          triggered_attack_success: {
            estimate: -0.02,
            ci95: [-0.1, 0.06],
            probes: 40,
            resamples: 2000,
          },
          over_refusal: null,
          helpfulness: null,
        },
      },
    ];
    const lines = sweepMarkdown(rows).split("\n");
    expect(lines).toHaveLength(4);
    const cells = (line: string) =>
      line
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim());
    expect(cells(lines[2]!)).toEqual([
      "backdoor",
      "5.0%",
      "10 of 200",
      "48",
      "2.0",
      "60",
      "undefended",
      "90.0",
      "–",
      "40.0",
      "–",
      "12.5",
      "50.0",
      "0.10",
      "",
      "",
    ]);
    const def = cells(lines[3]!);
    expect(def.slice(9, 10)).toEqual(["25.0"]);
    expect(def[13]).toBe("–");
    expect(def.slice(14)).toEqual(["+15.0 [+5.0, +25.0] **", "−2.0 [−10.0, +6.0]"]);
  });
});
