/**
 * The audit's HTML report says what the audit could not check: a section with the unchecked
 * raters, what rests on them and the audit's warnings; a tile; and "unchecked" in the rater
 * table where a checked-and-cleared rater shows "–". Audits that do not say (another tool's)
 * get the page they got before.
 */
import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { audit, auditToJson } from "../../src/defend/index.js";
import { type AuditReportData, renderAuditReport } from "../../src/report/index.js";

function judgment(c: string, rater: string, choice: "a" | "b"): Judgment {
  return {
    comparison_id: c,
    prompt: `question ${c}`,
    response_a: `first answer to ${c}`,
    response_b: `second answer to ${c}`,
    rater_id: rater,
    choice,
  };
}

/** 20 singletons beside a team of five voting together on 40 comparisons. */
function teamBesideSingletons(): Judgment[] {
  const js: Judgment[] = [];
  for (let k = 0; k < 20; k++) js.push(judgment(`u${k}`, `user${k}`, k % 3 ? "a" : "b"));
  for (let k = 0; k < 40; k++)
    for (let s = 0; s < 5; s++) js.push(judgment(`t${k}`, `sybil${s}`, "a"));
  return js;
}

/** Three raters on every one of 30 comparisons, mostly agreeing. */
function smallPanel(): Judgment[] {
  const js: Judgment[] = [];
  for (let k = 0; k < 30; k++)
    for (const [w, slip] of [
      ["r0", 7],
      ["r1", 5],
      ["r2", 4],
    ] as const)
      js.push(judgment(`c${k}`, w, (k % 2 === 0) !== (k % slip === 0) ? "a" : "b"));
  return js;
}

const render = (js: Judgment[]) =>
  renderAuditReport(auditToJson(audit({ judgments: js })) as unknown as AuditReportData);

/** The rater table's rows: id and the detector-score cell's text. */
function rows(page: string): Map<string, string> {
  const at = page.indexOf('<section id="raters">');
  const table = page.slice(at, page.indexOf("</section>", at));
  return new Map(
    [
      ...table.matchAll(
        /<tr><td><code>([^<]*)<\/code><\/td>(?:<td[^>]*>[^<]*<\/td>){5}<td>(.*?)<\/td><td>/g,
      ),
    ].map((m) => [m[1]!, m[2]!.replace(/<[^>]*>/g, "")]),
  );
}

describe("the audit report's coverage", () => {
  it("shows the unchecked raters, the warnings and an unchecked mark", async () => {
    const page = await render(teamBesideSingletons());
    expect(page).toContain('<section id="coverage"><h2>What the audit could not check</h2>');
    expect(page).toContain("<b>20</b><span>unchecked raters</span>");
    expect(page).toContain(
      "<p>20 of 25 raters were checked by no detector (no gold answers, no other raters on their comparisons, no latencies): 9.1% of the judgments and 33.3% of the kept comparisons' weight rest on them alone.",
    );
    expect(page).toContain("<p><strong>Warning:</strong> the collusion detector had no baseline");
    const table = rows(page);
    expect(table.get("user0")).toBe("unchecked");
    expect(table.get("sybil0")).toBe("–");
    // An audit that does not say (another tool's) gets the page it got before.
    const other = await renderAuditReport({
      raters: [{ rater_id: "x", reliability: 1, suspicion: 0, verdict: "trusted", reasons: [] }],
      comparisons: [],
      groups: [],
      triggers: [],
      summary: { kept_weight_share: 1 },
    });
    expect(other).not.toContain('id="coverage"');
    expect(other).not.toContain("unchecked");
  });

  it("says every rater was checked, and warns of nothing, on a panel that shares every comparison", async () => {
    const page = await render(smallPanel());
    expect(page).toContain("<p>Every rater was checked by at least one detector.</p>");
    expect(page).toContain("<b>0</b><span>unchecked raters</span>");
    expect(page).not.toContain("Warning:");
    expect([...rows(page).values()]).not.toContain("unchecked");
  });
});
