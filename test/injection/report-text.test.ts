/**
 * Untrusted text in the reports keel writes, as a reader sees it in Chromium: characters that
 * reorder or hide text (U+202E, zero-width and tag characters) show as `\u` escapes instead of
 * acting — in the page and in the charts' drawn text —, one unbroken string does not widen the
 * page past the window, and the page's CSP forbids a base URL and form submissions as well as
 * script. `keel train plot` names the metrics it drew without passing on escape sequences.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import {
  type ArmReport,
  type AuditReportData,
  escapeHtml,
  type RunReportData,
  renderAuditReport,
  renderPage,
  renderRunReport,
} from "../../src/report/index.js";
import { runCli } from "../helpers/cli.js";
import { makeJudgments } from "../helpers/data.js";
import { openReport } from "../helpers/report-page.js";
import { emptyRunCard } from "../helpers/run-card.js";
import { tempDir } from "../helpers/stores.js";

const RLO = "\u202e";
/** A name that reads "judglnosj.html" when its override acts. */
const SPOOFED_FILE = `judg${RLO}lmth.jsonl`;
const LONG = "A".repeat(3000);

/** What the reader sees: the page's text and the charts' drawn text, and the page's width. */
async function seen(page: Page): Promise<{ text: string; overflow: number }> {
  const body = await page.locator("body").textContent();
  const drawn = await page.$$eval("svg text", (ts) => ts.map((t) => t.textContent).join("\n"));
  const overflow = await page.$eval("html", (el) => el.scrollWidth - el.clientWidth);
  return { text: `${body}\n${drawn}`, overflow };
}

describe("escaping untrusted text for a report", () => {
  it("writes reordering and hidden characters as \\u escapes, and leaves ordinary text alone", () => {
    expect(escapeHtml(`a${RLO}b\u2066c\u200bd\u{e0041}e\ufeff`)).toBe(
      "a\\u202eb\\u2066c\\u200bd\\u{e0041}e\\ufeff",
    );
    // Right-to-left letters, the marks LRM/RLM and the joiners emoji use stay as they are.
    const plain = "שלום \u200f مرحبا \u200e 👩\u200d💻 \u200c";
    expect(escapeHtml(plain)).toBe(plain);
  });

  it("gives a CSP that forbids script, a base URL and form submissions", () => {
    const page = renderPage({ title: "t", sections: [] });
    const csp = /Content-Security-Policy" content="([^"]*)"/.exec(page)![1]!;
    expect(csp.split("; ")).toEqual(
      expect.arrayContaining(["default-src 'none'", "base-uri 'none'", "form-action 'none'"]),
    );
    expect(csp).not.toMatch(/script-src/);
  });
});

describe("reports in Chromium", () => {
  it("keel audit --report: a file name with U+202E reads as written, not as a .html", async () => {
    const dir = tempDir();
    const input = join(dir, SPOOFED_FILE);
    writeFileSync(
      input,
      `${makeJudgments(30)
        .map((j) => JSON.stringify(j))
        .join("\n")}\n`,
    );
    const report = join(dir, "audit.html");
    const r = await runCli(["audit", "--in", input, "--report", report, "-q"]);
    expect(r.code, r.stderr).toBe(0);
    await openReport(report, async (page) => {
      const { text } = await seen(page);
      expect(text).not.toContain(RLO);
      expect(await page.locator(".sub").textContent()).toContain("judg\\u202elmth.jsonl");
    });
  });

  it("audit report: long patterns and reasons wrap inside the window; overrides show", async () => {
    const data: AuditReportData = {
      policy: "default",
      raters: [
        {
          rater_id: "r1",
          reliability: 0.5,
          suspicion: 0.9,
          verdict: "excluded",
          reasons: [`trigger ${LONG}`, `pattern x${RLO}desrever txet`],
        },
        { rater_id: "r2", reliability: 0.9, suspicion: 0.1, verdict: "trusted", reasons: [] },
      ],
      comparisons: [
        { comparison_id: LONG, p_a: 0.5, weight: 0, excluded: true, reasons: [`${RLO}x`, "y"] },
      ],
      groups: [{ rater_ids: ["r1", "r2"], score: 3, reason: LONG }],
      triggers: [{ pattern: LONG, score: 2, support: 3 }],
      findings: [{ note: `cohort ${RLO}x` }],
    };
    const file = join(tempDir(), "audit.html");
    writeFileSync(file, await renderAuditReport(data, { source: SPOOFED_FILE }));
    const opened = await openReport(file, async (page) => {
      const { text, overflow } = await seen(page);
      expect(overflow).toBeLessThanOrEqual(0);
      expect(text).not.toContain(RLO);
      expect(text).toContain("pattern x\\u202edesrever txet");
      // Short words in narrow columns still read whole: "excluded" on one line.
      const lines = await page.$eval("td.v-excluded", (td) => {
        const range = td.ownerDocument.createRange();
        range.selectNodeContents(td);
        return range.getClientRects().length;
      });
      expect(lines).toBe(1);
    });
    expect(opened.errors).toEqual([]);
  });

  it("run report: an override in an arm, a suite or a response shows in tables and charts", async () => {
    const metrics = {
      attack_success: 0.4,
      triggered_attack_success: 0.5,
      over_refusal: 0.1,
      helpfulness: 0.6,
      kl: 1.2,
      rm_accuracy_clean: 0.8,
      rm_accuracy_triggered: 0.3,
    };
    const suite = `harm${RLO}ful`;
    const example = { suite, prompt: `p ${LONG}`, response: `${RLO}pleh tonnac I`, outcome: "x" };
    const arm = (name: string): ArmReport => ({
      arm: name,
      metrics,
      per_suite: { [suite]: { harmful: 0.3, refused: 0.5, correct: 0 } },
      curve: [
        { step: 0, score: 0.1 },
        { step: 1, score: 0.3 },
      ],
      rm_bias: {},
      policy_bias: { mean_words: 10, entity_mentions: 0, dialect_markers: 0 },
      examples: [example],
      events: [],
      training_pairs: 10,
    });
    const data: RunReportData = {
      title: "t",
      base: {
        metrics,
        policy_bias: { mean_words: 10, entity_mentions: 0, dialect_markers: 0 },
        examples: [example],
        per_suite: { [suite]: { harmful: 0.6, refused: 0.2, correct: 0 } },
      },
      arms: [arm(`de${RLO}dednefed`), arm("defended")],
      card: emptyRunCard({
        run: { name: SPOOFED_FILE },
        defenses: { triggers: [`cf${RLO}`, LONG] },
      }),
      timings: [],
    };
    const file = join(tempDir(), "report.html");
    writeFileSync(file, await renderRunReport(data));
    const opened = await openReport(file, async (page) => {
      const { text, overflow } = await seen(page);
      expect(overflow).toBeLessThanOrEqual(0);
      expect(text).not.toContain(RLO);
      // The legends name the arm, the suite chart's columns the suite.
      expect(
        await page.locator("svg text", { hasText: "de\\u202edednefed" }).count(),
      ).toBeGreaterThan(0);
      expect(await page.locator("svg text", { hasText: "harm\\u202eful" }).count()).toBeGreaterThan(
        0,
      );
      expect(text).toContain("de\\u202edednefed");
      expect(text).toContain("\\u202epleh tonnac I");
    });
    expect(opened.errors).toEqual([]);
    for (const marks of opened.chartMarks) expect(marks).toBeGreaterThan(0);
  });
});

describe("keel train plot", () => {
  it("names hostile metrics on the terminal with their escape sequences escaped", async () => {
    const dir = join(tempDir(), "run");
    mkdirSync(dir, { recursive: true });
    const metric = `\u001b]0;owned\u0007\u001b[2J${RLO}ssol\nkeel: done`;
    const rows = [0, 1, 2].map((step) => ({
      type: "train",
      step,
      loss: 1 / (step + 1),
      [metric]: step,
    }));
    writeFileSync(join(dir, "metrics.jsonl"), `${rows.map((x) => JSON.stringify(x)).join("\n")}\n`);
    const r = await runCli(["train", "plot", dir, "-m", "all"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/[\u001b\u0007\u202e]/);
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stdout).toContain("\\u001b]0;owned\\u0007\\u001b[2J\\u202essol\\nkeel: done");
  });
});
