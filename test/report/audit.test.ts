import { describe, expect, it } from "vitest";
import { type AuditReportData, renderAuditReport } from "../../src/report/index.js";

type Rater = AuditReportData["raters"][number];

/** A panel of `n` raters: every third excluded, every third suspect, the rest trusted. */
function panel(n: number): Rater[] {
  return Array.from({ length: n }, (_, i) => {
    const verdict = ["excluded", "suspect", "trusted"][i % 3]!;
    return {
      rater_id: `rater-${String(i).padStart(5, "0")}`,
      reliability: 0.8,
      suspicion: verdict === "trusted" ? 0.01 : verdict === "suspect" ? 0.5 : 0.9 + (i % 97) / 1000,
      verdict,
      reasons: verdict === "trusted" ? [] : ["agreement: 0.41 against 0.80 expected [0.62]"],
      judgments: 30,
      weight: verdict === "excluded" ? 0 : 1,
      evidence: { agreement: { score: 0.62, z: -3.1 }, gold: { score: 0.2, accuracy: 0.5 } },
    };
  });
}

const empty = { comparisons: [], groups: [], triggers: [] };

/** The rater ids listed in the page's rater table, in order. */
function listed(page: string): string[] {
  const section = page.slice(
    page.indexOf('<section id="raters">'),
    page.indexOf("</section>", page.indexOf('<section id="raters">')),
  );
  return [...section.matchAll(/<tr><td><code>([^<]*)<\/code><\/td><td class="v-(\w+)">/g)].map(
    (m) => `${m[2]}:${m[1]}`,
  );
}

describe("audit report size", () => {
  it("bounds the rater table for 30,000 raters and says what it left out and where", async () => {
    // Every excluded and suspect rater had a row: 20,000 of them made a page of ~8 MB.
    const page = await renderAuditReport({ raters: panel(30_000), ...empty });
    expect(page.length).toBeLessThan(600_000);
    const rows = listed(page);
    expect(rows).toHaveLength(550);
    // Excluded raters first, most suspicious first; then suspect; then trusted.
    expect(rows.slice(0, 500).every((r) => r.startsWith("excluded:"))).toBe(true);
    expect(rows.slice(500).every((r) => r.startsWith("trusted:"))).toBe(true);
    expect(page).toContain(
      "Not listed: 9,500 excluded, 10,000 suspect, 9,950 trusted raters, the least suspicious of each verdict. The audit JSON (<code>keel audit --out</code>) lists them all.",
    );
    // The tiles still count everyone.
    expect(page).toContain("<b>30,000</b><span>raters</span>");
    expect(page).toContain("<b>10,000</b><span>excluded raters</span>");
  });

  it("lists every flagged rater while they fit, in an order that does not depend on the input's", async () => {
    const raters = panel(300);
    const page = await renderAuditReport({ raters, ...empty }, { trustedRows: 5 });
    const rows = listed(page);
    expect(rows.filter((r) => !r.startsWith("trusted:"))).toHaveLength(200);
    expect(page).toContain("Not listed: 95 trusted raters");
    const reversed = await renderAuditReport(
      { raters: [...raters].reverse(), ...empty },
      { trustedRows: 5 },
    );
    expect(listed(reversed)).toEqual(rows);
  });

  it("lists the most suspicious raters of a verdict when not all of them fit", async () => {
    const raters = [0.3, 0.9, 0.6, 0.1].map((suspicion, i) => ({
      ...panel(2)[1]!,
      rater_id: `s${i}`,
      suspicion,
    }));
    const page = await renderAuditReport({ raters, ...empty }, { flaggedRows: 2 });
    expect(listed(page)).toEqual(["suspect:s1", "suspect:s2"]);
    expect(page).toContain("Not listed: 2 suspect raters");
  });

  it("counts raters and comparisons by verdict in its tiles; a list that fits leaves nothing out", async () => {
    const comparisons = [true, false, false].map((excluded, i) => ({
      comparison_id: `c${i}`,
      p_a: 0.5,
      weight: excluded ? 0 : 1,
      excluded,
      reasons: excluded ? ["group"] : [],
    }));
    const groups = [{ rater_ids: ["g-r0", "g-r1"], score: 5, reason: "agreed" }];
    const raters = panel(4); // excluded, suspect, trusted, excluded
    const page = await renderAuditReport(
      { raters, comparisons, groups, triggers: [], summary: { kept_weight_share: 0.9 } },
      { groupMembers: 2, excludedComparisonRows: 1 },
    );
    expect(page).toContain("<b>2</b><span>excluded raters</span>");
    expect(page).toContain("<b>1</b><span>suspect raters</span>");
    // Each detector's score from 0.05 up, gold's 0.2 among them.
    expect(page).toContain(">gold 0.20</span>");
    expect(page).toContain("<b>3</b><span>comparisons</span>");
    expect(page).toContain("<b>1</b><span>excluded comparisons</span>");
    expect(page).toContain("<b>90.0%</b><span>judgment weight kept</span>");
    expect(page).toContain("<code>g-r1</code>");
    expect(page).not.toMatch(/and 0 more|more not listed/);
  });

  it("bounds the groups table and the members named per group", async () => {
    const groups = Array.from({ length: 150 }, (_, g) => ({
      rater_ids: Array.from({ length: g === 0 ? 1000 : 3 }, (_, i) => `g${g}-r${i}`),
      score: 10,
      reason: "agreed",
    }));
    const page = await renderAuditReport({ raters: [], comparisons: [], groups, triggers: [] });
    expect(page).toContain("<code>g0-r99</code>");
    expect(page).not.toContain("<code>g0-r100</code>");
    expect(page).toContain("and 900 more");
    expect(page).toContain("<code>g99-r0</code>");
    expect(page).not.toContain("<code>g100-r0</code>");
    expect(page).toContain("50 more groups not listed.");
  });
});

describe("audit report without values to chart", () => {
  it("says so instead of drawing an empty histogram or heatmap", async () => {
    // An audit JSON from another tool may leave every suspicion or agreement out (NaN, null):
    // the charts were drawn anyway, as empty frames.
    const raters = panel(3).map((r) => ({ ...r, suspicion: Number.NaN }));
    const page = await renderAuditReport({
      ...empty,
      raters,
      agreement: {
        rater_ids: raters.map((r) => r.rater_id),
        agreement: raters.map(() => [null, null, null]),
      },
    });
    expect(page).not.toContain('<div class="chart">');
    expect(page).toContain("No rater has a suspicion score.");
    expect(page).toContain("Too few co-rated comparisons for a heatmap.");
    expect(page).not.toMatch(/NaN|undefined|Infinity|null%/);
  });
});

describe("audit report contents", () => {
  it("draws the suspicion histogram over [0, 1], however narrow the raters' spread", async () => {
    // Suspicion is a probability: an axis fitted to 0.3–0.5 would make a calm panel look split.
    const raters = [0.3, 0.4, 0.5].map((suspicion, i) => ({
      ...panel(3)[2]!,
      rater_id: `r${i}`,
      suspicion,
    }));
    const page = await renderAuditReport({ raters, ...empty });
    expect(page).toContain(
      "X-axis titled 'suspicion' for a linear scale with values from 0.0 to 1.0",
    );
  });

  it("shows every reason an excluded comparison has, not only the first", async () => {
    const comparisons = [
      {
        comparison_id: "c1",
        p_a: 0.5,
        weight: 0,
        excluded: true,
        reasons: ["group g1", "trigger cf"],
      },
    ];
    const page = await renderAuditReport({ raters: [], comparisons, groups: [], triggers: [] });
    expect(page).toContain("<td><code>c1</code></td><td>group g1; trigger cf</td>");
  });
});
