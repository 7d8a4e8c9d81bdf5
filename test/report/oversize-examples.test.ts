/**
 * An example generation of a million characters (a provider may answer so much) is shown by its
 * start in the run report, with the rest counted: shown whole, a few dozen such examples made a
 * report of tens of megabytes.
 */
import { describe, expect, it } from "vitest";
import { metricsOf } from "../../src/pipeline/stages/report.js";
import { runRedteam } from "../../src/redteam/metrics.js";
import { type RunReportData, renderRunReport } from "../../src/report/index.js";
import { MAX_EXAMPLE_CHARS } from "../../src/report/run-sections.js";
import { emptyRunCard } from "../helpers/run-card.js";

async function reportWith(
  examples: RunReportData["base"]["examples"],
  armSuffix = "",
): Promise<string> {
  const m = metricsOf((await runRedteam(async () => [], [])).metrics);
  const noBias = { mean_words: Number.NaN, entity_mentions: Number.NaN, dialect_markers: 0 };
  const armExamples = examples.map((e) => ({ ...e, response: `${e.response}${armSuffix}` }));
  return renderRunReport({
    title: "oversize",
    base: { metrics: m, policy_bias: noBias, examples, per_suite: {} },
    arms: [
      {
        arm: "defended",
        metrics: m,
        per_suite: {},
        curve: [],
        rm_bias: {},
        policy_bias: noBias,
        examples: armExamples,
        events: [],
        training_pairs: 0,
      },
    ],
    card: emptyRunCard({ run: { preset: "quick" } }),
    timings: [],
  });
}

describe("run report examples of a million characters", () => {
  it("shows their start and counts the rest", async () => {
    const long = "<q>".repeat(333_334);
    const page = await reportWith(
      [{ suite: "harmful", prompt: long, response: long, outcome: "unsafe" }],
      "!",
    );
    expect(page.length).toBeLessThan(200_000);
    expect(page).not.toContain("<q>");
    const shown = "&lt;q&gt;".repeat(MAX_EXAMPLE_CHARS / 3);
    expect(page).toContain(shown);
    expect(page).toContain(
      `… (${(long.length - MAX_EXAMPLE_CHARS).toLocaleString("en-US")} more characters not shown)`,
    );
    // The arm's answer (one character longer) is cut as well.
    expect(page).toContain(
      `${(long.length + 1 - MAX_EXAMPLE_CHARS).toLocaleString("en-US")} more characters`,
    );
  });

  it("shows short ones whole", async () => {
    const page = await reportWith([
      {
        suite: "harmful",
        prompt: "p?",
        response: "x".repeat(MAX_EXAMPLE_CHARS),
        outcome: "unsafe",
      },
    ]);
    expect(page).toContain("x".repeat(MAX_EXAMPLE_CHARS));
    expect(page).not.toContain("more characters not shown");
  });
});
