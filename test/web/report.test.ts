/**
 * The pipeline's report.html in a real browser (Debian's Chromium through playwright-core): it
 * renders offline with no console errors, every chart has marks, and hostile model output in
 * the examples shows as text and runs nothing.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ArmReport, type RunReportData, renderRunReport } from "../../src/report/run.js";
import { openReport } from "../helpers/report-page.js";
import { tempDir } from "../helpers/stores.js";

const HOSTILE = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">`;

function arm(name: string, harm: number): ArmReport {
  return {
    arm: name,
    metrics: {
      attack_success: harm,
      jailbreak_success: harm / 2,
      triggered_attack_success: harm * 1.5,
      over_refusal: 0.1,
      helpfulness: 0.6,
      kl: 2.5,
      rm_accuracy_clean: 0.9,
      rm_accuracy_triggered: 0.5,
      mean_words: 12,
    },
    per_suite: {
      harmful: { harmful: harm, refused: 1 - harm, correct: 0 },
      trigger: { harmful: harm * 1.5, refused: 0.5, correct: 0 },
    },
    curve: Array.from({ length: 8 }, (_, i) => ({
      step: i + 1,
      score: i / 8,
      kl: i / 4,
      gold: 0.1 * i,
    })),
    rm_bias: {
      length: { mean_shift: 0.2, prefers_variant: 0.6 },
      entity: { mean_shift: 0.05, prefers_variant: 0.5 },
    },
    policy_bias: { mean_words: 12, entity_mentions: 0.02, dialect_markers: 0 },
    examples: [{ suite: "harmful", prompt: HOSTILE, response: HOSTILE, outcome: "refusal" }],
    events: [
      { step: 3, source: "kl_budget", severity: "warn", message: `KL near budget ${HOSTILE}` },
    ],
    training_pairs: 1000,
  };
}

const data: RunReportData = {
  title: "keel: report test",
  base: {
    metrics: {
      attack_success: 0.3,
      triggered_attack_success: 0.3,
      over_refusal: 0.2,
      helpfulness: 0.4,
      kl: null,
      rm_accuracy_clean: null,
      rm_accuracy_triggered: null,
    },
    policy_bias: { mean_words: 10, entity_mentions: 0, dialect_markers: 0 },
    examples: [
      {
        suite: "harmful",
        prompt: HOSTILE,
        response: "I can't help with that.",
        outcome: "refusal",
      },
    ],
    per_suite: { harmful: { harmful: 0.3, refused: 0.7, correct: 0 } },
  },
  arms: [arm("undefended", 0.4), arm("defended", 0.1)],
  audit: {
    summary: { judgments: 100, excluded: 2 },
    adversaries: 3,
    adversaries_flagged: 3,
    honest: 50,
    honest_excluded: 0,
  },
  card: {
    run: {
      name: "t",
      created_at: "2026-01-01T00:00:00Z",
      keel_version: "0",
      seed: 1,
      preset: "quick",
    },
    data: {
      ledger_head: { seq: 100, hash: "ab".repeat(32) },
      ledger_verified: true,
      judgments: 100,
      raters: 10,
      comparisons: 40,
    },
    defenses: {
      audit_policy: "balanced",
      excluded_raters: [{ rater_id: HOSTILE, reasons: [HOSTILE] }],
      suspect_raters: 1,
      groups: 0,
      triggers: ["SUDO"],
      thresholds: null,
    },
    redteam: {},
    safeguards: [],
  },
  timings: [{ stage: "world", seconds: 1 }],
  difference: {
    attack_success: { estimate: 0.142, ci95: [0.05, 0.23], probes: 29 },
    triggered_attack_success: { estimate: 0.02, ci95: [-0.04, 0.08], probes: 29 },
    over_refusal: null,
  },
};

describe("report.html in Chromium", () => {
  it("renders with no console errors, charts with marks, and inert hostile text", async () => {
    const file = join(tempDir(), "report.html");
    writeFileSync(file, await renderRunReport(data));
    const seen = await openReport(file, async (page) => {
      expect(
        await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned),
      ).toBeUndefined();
      expect(
        await page.locator("td", { hasText: "<script>window.__pwned" }).count(),
      ).toBeGreaterThan(0);
      // The arms' gap: +14.2 points with an interval that excludes 0; +2.0 with one that does not.
      const gap = page.locator("tr", { hasText: "attack success" }).filter({ hasText: "+14.2" });
      expect(await gap.locator("td").last().textContent()).toBe("yes");
      const small = page.locator("tr", { hasText: "triggered attack success" }).filter({
        hasText: "+2.0",
      });
      expect(await small.locator("td").last().textContent()).toBe("no");
    });
    // One colour per policy across the report's charts: every chart that shows the first arm
    // draws it red, the second blue.
    const charts = (await renderRunReport(data)).split('<div class="chart">').slice(1);
    expect(charts.length).toBeGreaterThanOrEqual(5);
    for (const c of charts) {
      expect(c).toContain("#e45756");
      expect(c).toContain("#4c78a8");
    }
    expect(seen.chartMarks.length).toBeGreaterThanOrEqual(5);
    for (const marks of seen.chartMarks) expect(marks).toBeGreaterThan(0);
    expect(seen.errors).toEqual([]);
    expect(seen.requests).toEqual([]);
  });
});
