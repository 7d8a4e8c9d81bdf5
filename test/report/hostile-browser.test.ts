/**
 * Both reports in Debian's Chromium with a hostile string in every text they show — model
 * output, prompts, suite and arm names, rater ids and reasons, config values, the source file's
 * name. The string closes a script and a comment, carries U+2028/U+2029, quotes, backticks, a
 * Vega expression and an event handler, and names a remote image: nothing of it may run or
 * load, every chart must still draw, and the reader must see the string as text.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import {
  type ArmReport,
  type AuditReportData,
  type RunReportData,
  renderAuditReport,
  renderRunReport,
} from "../../src/report/index.js";
import { openReport } from "../helpers/report-page.js";
import { tempDir } from "../helpers/stores.js";

const H =
  `</script><script>window.__pwned=1</script><!-- \u2028\u2029 "'\`\${x} ` +
  `<img src="https://evil.example/x.png" onerror="window.__pwned=2"> ` +
  `datum.x" + (window.__pwned=3) + " \\ javascript:alert(1)`;

const M = {
  attack_success: 0.4,
  jailbreak_success: 0.2,
  triggered_attack_success: 0.5,
  over_refusal: 0.1,
  helpfulness: 0.6,
  kl: 1.2,
  rm_accuracy_clean: 0.8,
  rm_accuracy_triggered: 0.3,
  mean_words: 10,
};

const example = { suite: H, prompt: H, response: H, outcome: H };

function arm(name: string, shift: number): ArmReport {
  return {
    arm: name,
    metrics: M,
    per_suite: {
      [H]: { harmful: 0.3 + shift, refused: 0.5, correct: 0 },
      harmful: { harmful: 0.2 + shift, refused: 0.5, correct: 0 },
    },
    curve: [
      { step: 0, score: 0.1, kl: 0, gold: 0.2 },
      { step: 1, score: 0.3 + shift, kl: 0.1, gold: 0.25 },
    ],
    rm_bias: { [H]: { mean_shift: 0.1 + shift, prefers_variant: 0.6 } },
    policy_bias: { mean_words: 12, entity_mentions: 0, dialect_markers: 0 },
    examples: [example],
    events: [{ step: 1, source: H, severity: H, message: H }],
    training_pairs: 10,
  };
}

const run: RunReportData = {
  title: H,
  base: {
    metrics: M,
    policy_bias: { mean_words: 10, entity_mentions: 0, dialect_markers: 0 },
    examples: [example],
    per_suite: { [H]: { harmful: 0.6, refused: 0.2, correct: 0 } },
  },
  arms: [arm(H, 0), arm("defended", 0.1)],
  audit: {
    summary: { [H]: 1 },
    adversaries: 1,
    adversaries_flagged: 1,
    honest: 1,
    honest_excluded: 0,
  },
  card: {
    run: { name: H, created_at: H, keel_version: H, seed: 1, preset: H },
    data: {
      ledger_head: { seq: 0, hash: H },
      ledger_verified: true,
      judgments: 0,
      raters: 0,
      comparisons: 0,
      candidates: { generated_by: H },
    },
    defenses: {
      audit_policy: H,
      excluded_raters: [{ rater_id: H, reasons: [H] }],
      suspect_raters: 0,
      groups: 0,
      triggers: [H],
      promotions: [H],
      thresholds: null,
    },
    redteam: {},
    safeguards: [{ arm: H, step: 1, source: H, severity: H, message: H }],
  },
  timings: [{ stage: H, seconds: 1 }],
  difference: { [H]: { estimate: 0.1, ci95: [0, 0.2], probes: 3 } },
};

const audit: AuditReportData = {
  policy: H,
  summary: { kept_weight_share: 0.5, [H]: 2 },
  raters: [
    {
      rater_id: H,
      reliability: 0.4,
      suspicion: 0.9,
      verdict: H,
      reasons: [H],
      judgments: 3,
      weight: 0,
      evidence: { harm: { score: 1, [H]: 2 } },
    },
    { rater_id: "r2", reliability: 0.9, suspicion: 0.1, verdict: "trusted", reasons: [] },
  ],
  comparisons: [{ comparison_id: H, p_a: 0.5, weight: 0, excluded: true, reasons: [H] }],
  groups: [{ rater_ids: [H, "r2"], score: 3, reason: H }],
  triggers: [{ pattern: H, score: 2, support: 3, kind: H }],
  promotions: [{ pattern: H, score: 1, support: 2 }],
  findings: [{ note: H }],
  filters: { [H]: H },
  agreement: {
    rater_ids: [H, "r2"],
    agreement: [
      [1, 0.5],
      [0.5, 1],
    ],
  },
};

/** Every link or resource reference in the document: in-page anchors only. */
async function references(page: Page): Promise<string[]> {
  return page.$$eval("*", (elements) =>
    elements.flatMap((el) =>
      [...el.attributes].flatMap((a) => [
        ...(/^(href|src|xlink:href|srcset|action|poster|data)$/i.test(a.name) ? [a.value] : []),
        ...[...a.value.matchAll(/url\(\s*['"]?([^'")]*)/g)].map((m) => m[1]!),
      ]),
    ),
  );
}

async function check(file: string, minCharts: number): Promise<void> {
  const seen = await openReport(file, async (page) => {
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBe(undefined);
    expect(await page.locator("script, img, iframe, object, embed, foreignObject").count()).toBe(0);
    for (const ref of await references(page)) expect(ref).toMatch(/^#/);
    // The reader sees the string as it is, in the tables and in the charts' drawn text.
    expect(await page.locator("td", { hasText: "window.__pwned=2" }).count()).toBeGreaterThan(0);
    expect(await page.locator("svg text", { hasText: "<script>" }).count()).toBeGreaterThan(0);
  });
  expect(seen.errors).toEqual([]);
  expect(seen.requests).toEqual([]);
  expect(seen.chartMarks.length).toBeGreaterThanOrEqual(minCharts);
  for (const marks of seen.chartMarks) expect(marks).toBeGreaterThan(0);
}

describe("reports with hostile text in every field, in Chromium", () => {
  it("run report: nothing runs or loads, every chart draws, the text shows as text", async () => {
    const file = join(tempDir(), "report.html");
    writeFileSync(
      file,
      await renderRunReport({ ...run, decoding: { temperature: 1, samples: 8 } }),
    );
    await check(file, 6);
  });

  it("audit report: nothing runs or loads, both charts draw, the text shows as text", async () => {
    const file = join(tempDir(), "audit.html");
    writeFileSync(file, await renderAuditReport(audit, { title: H, source: H }));
    await check(file, 2);
  });
});
