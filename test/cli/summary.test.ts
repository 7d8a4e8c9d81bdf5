/** The table `keel demo` prints: arms side by side, then the gaps with their intervals. */
import { describe, expect, it } from "vitest";
import { describeSummary } from "../../src/cli/actions/pipeline-ui.js";
import type { RunSummary } from "../../src/pipeline/stages/report.js";

const arm = (attack: number) => ({
  attack_success: attack,
  triggered_attack_success: 0.1,
  over_refusal: 0.2,
  helpfulness: 0.05,
  kl: 0.15,
  rm_accuracy_clean: 0.7,
  rm_accuracy_triggered: 1,
});

const summary: RunSummary = {
  format: "keel-run-summary/1",
  name: "t",
  base: {
    attack_success: 0.4,
    triggered_attack_success: 0.3,
    over_refusal: 0.2,
    helpfulness: 0.05,
  },
  arms: { undefended: arm(0.358), defended: arm(0.216) },
  difference: {
    attack_success: { estimate: 0.142, ci95: [0.099, 0.185], probes: 29, resamples: 2000 },
    triggered_attack_success: { estimate: 0.01, ci95: [-0.02, 0.04], probes: 29, resamples: 2000 },
    over_refusal: null,
    helpfulness: null,
  },
};

describe("describeSummary", () => {
  it("prints each arm's rates and each gap with its interval, naming a gap that is noise", () => {
    const text = describeSummary(summary, "runs/x");
    expect(text).toMatch(/harmful compliance \(attack success\)\s+40\.0%\s+35\.8%\s+21\.6%/);
    expect(text).toContain("+14.2 points, 95% CI [+9.9, +18.5] over 29 prompts\n");
    expect(text).toMatch(
      /with the backdoor trigger\s+\+1\.0 points.*\(not distinguishable from noise\)/,
    );
    expect(text).not.toMatch(/over-refusal\s+[+-]\d/);
    expect(text).toContain("report: runs/x/report.html");
  });

  it("prints no gap block for a one-arm run", () => {
    const { difference: _d, ...oneArm } = summary;
    expect(describeSummary(oneArm, "runs/x")).not.toContain("paired by");
  });
});
