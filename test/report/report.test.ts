import { describe, expect, it } from "vitest";
import {
  escapeHtml,
  fmt,
  groupedBarSpec,
  heatmapSpec,
  histogramSpec,
  html,
  lineSpec,
  renderAuditReport,
  renderPage,
  renderRunReport,
  trusted,
  vegaLiteToSvg,
} from "../../src/report/index.js";
import { emptyRunCard } from "../helpers/run-card.js";

const HOSTILE = `<img src=x onerror="alert(1)">&'"\``;

describe("html", () => {
  it("escapes text and attribute metacharacters", () => {
    expect(escapeHtml(HOSTILE)).toBe(
      "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;&quot;&#96;",
    );
  });
  it("escapes interpolations, keeps nested safe markup, joins arrays, drops null", () => {
    const out = html`<ul>${["<a>", "b"].map((x) => html`<li>${x}</li>`)}</ul>${null}${undefined}${false}${3}`;
    expect(out.value).toBe("<ul><li>&lt;a&gt;</li><li>b</li></ul>3");
    expect(html`${trusted("<b>ok</b>")}`.value).toBe("<b>ok</b>");
  });
  it("escapes each string of an interpolated array, not only markup built by html", () => {
    const ids: readonly string[] = ["<a>", HOSTILE];
    expect(html`<p>${ids}</p>`.value).toBe(`<p>&lt;a&gt;${escapeHtml(HOSTILE)}</p>`);
  });
  it("formats a cell's number, and shows a missing or infinite one as –", () => {
    // Any figure of an audit JSON may be infinite, and would read "Infinity" in its cell.
    for (const x of [
      null,
      undefined,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ])
      expect(fmt(x)).toBe("–");
    expect([fmt(1234), fmt(0.12345), fmt(2.25, 1), fmt(-0.5)]).toEqual([
      "1,234",
      "0.123",
      "2.3",
      "-0.500",
    ]);
  });
});

describe("page", () => {
  it("keeps its own style sheet intact (it was HTML-escaped, breaking the body font)", () => {
    const page = renderPage({ title: "t", sections: [] });
    expect(page).toContain('"Segoe UI"');
    expect(page).not.toContain("&quot;Segoe UI&quot;");
  });

  it("is self-contained: a CSP that loads nothing, no scripts, no external resources", () => {
    const page = renderPage({
      title: HOSTILE,
      sections: [{ id: "s", title: "Section", body: html`<p>${HOSTILE}</p>` }],
      tiles: [{ label: "x", value: "1" }],
    });
    expect(page).toMatch(/Content-Security-Policy" content="default-src 'none'/);
    expect(page).not.toMatch(/<script|<link|src="http|href="http/);
    expect(page).not.toContain("<img");
    expect(page.startsWith("<!doctype html>")).toBe(true);
  });
});

describe("charts (Vega-Lite to SVG, offline)", () => {
  it("renders a histogram and a heatmap with escaped labels", async () => {
    const svg = await vegaLiteToSvg(
      histogramSpec({
        values: [0.1, 0.2, 0.9],
        groups: ["a<b", "a<b", "c"],
        title: "t",
        xTitle: "x",
        extent: [0, 1],
      }),
    );
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("a&lt;b");
    const heat = await vegaLiteToSvg(
      heatmapSpec({
        labels: ["r1", HOSTILE],
        values: [
          [1, 0.5],
          [0.5, null],
        ],
        title: "h",
        legend: "agreement",
      }),
    );
    expect(heat).toContain("<svg");
    expect(heat).not.toContain("<img");
  });
  it("gives each series the colour it is assigned, in every kind of chart, bars in that order", async () => {
    const colors = { zeta: "#123456", alpha: "#abcdef" };
    const bars = groupedBarSpec({
      title: "t",
      yTitle: "y",
      colors,
      rows: [
        { category: "a long name", group: "alpha", value: 1 },
        { category: "a long name", group: "zeta", value: 2 },
      ],
    });
    // Bars follow the colours' order (zeta first), not the alphabet.
    const barX = (svg: string, fill: string) =>
      Number(new RegExp(`<path[^>]*\\bd="M(-?[\\d.]+),[^"]*"[^>]*fill="${fill}"`).exec(svg)?.[1]);
    const drawn = await vegaLiteToSvg(bars);
    expect(barX(drawn, "#123456")).toBeLessThan(barX(drawn, "#abcdef"));
    const line = lineSpec({
      title: "t",
      xTitle: "x",
      yTitle: "y",
      colors,
      points: [
        { series: "alpha", x: 0, y: 1 },
        { series: "alpha", x: 1, y: 2 },
      ],
    });
    for (const spec of [bars, line]) {
      const svg = await vegaLiteToSvg(spec);
      expect(svg).toContain("#abcdef");
    }
    expect(await vegaLiteToSvg(bars)).toContain("#123456");
  });

  it("draws raters' ids that hold line separators or read like a script URL", async () => {
    // U+2028 in a sort label broke Vega's expression parser; "javascript:" in drawn text
    // tripped the script check. Both failed the whole audit report.
    const heat = await vegaLiteToSvg(
      heatmapSpec({
        labels: ["r\u2028one", "javascript:alert(1)"],
        values: [
          [1, 0.5],
          [0.5, null],
        ],
        title: "h",
        legend: "agreement",
      }),
    );
    expect(heat).toContain("javascript:alert(1)");
    expect(heat).not.toMatch(/href/i);
  });

  it("draws raters named like Object.prototype members, in the labels' order", async () => {
    // The labels' order went into a Vega expression as string literals, and Vega read
    // "constructor" or "toString" there as an undefined signal: the audit report failed.
    const labels = ["zeta", "constructor", "alpha", "toString", "__proto__", "hasOwnProperty"];
    const heat = await vegaLiteToSvg(
      heatmapSpec({
        labels,
        values: labels.map((_, i) => labels.map((_, j) => (i === j ? 1 : 0.5))),
        title: "h",
        legend: "agreement",
      }),
    );
    const texts = [...heat.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    const first = texts.indexOf("zeta");
    expect(texts.slice(first, first + labels.length)).toEqual(labels);
  });

  it("draws the same chart byte for byte whatever was drawn before, its ids its own", async () => {
    // Vega numbers gradients per process: a sweep's second audit.html read gradient_1 where
    // the same run alone read gradient_0. Text that reads like an id is left as it is.
    const labels = ['id="gradient_0"', "url(#clip1)"];
    const spec = heatmapSpec({
      labels,
      values: [
        [1, 0.25],
        [0.25, 1],
      ],
      title: "h",
      legend: "agreement",
    });
    const first = await vegaLiteToSvg(spec);
    const other = await vegaLiteToSvg({ ...spec, title: "another" });
    expect(await vegaLiteToSvg(spec)).toBe(first);
    const defs = [...first.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    const refs = [...first.matchAll(/="url\(#([^)]+)\)"/g)].map((m) => m[1]);
    expect(defs.length).toBeGreaterThan(0);
    expect(new Set(refs)).toEqual(new Set(defs));
    for (const id of defs) expect(other).not.toContain(id);
    expect(first).toContain('>id="gradient_0"</text>');
    expect(first).toContain(">url(#clip1)</text>");
  });

  it("refuses to load data from a URL", async () => {
    await expect(
      vegaLiteToSvg({
        data: { url: "https://example.invalid/data.json" },
        mark: "bar",
        encoding: {},
      }),
    ).rejects.toThrow();
  });
});

describe("audit report", () => {
  const data = {
    policy: "balanced",
    summary: { kept_weight_share: 0.91 },
    raters: [
      {
        rater_id: HOSTILE,
        reliability: 0.4,
        suspicion: 0.99,
        verdict: "excluded",
        reasons: [`harm: ${HOSTILE}`],
        judgments: 40,
        weight: 0,
        evidence: { harm: { score: 1, flagged_pairs: 10 } },
      },
      {
        rater_id: "r2",
        reliability: 0.9,
        suspicion: 0.6,
        verdict: "suspect",
        reasons: ["agreement: low"],
        judgments: 30,
        weight: 0.6,
      },
      { rater_id: "r3", reliability: 0.95, suspicion: 0.01, verdict: "trusted", reasons: [] },
    ],
    comparisons: [
      {
        comparison_id: "c<1>",
        p_a: 0.5,
        weight: 0,
        excluded: true,
        reasons: ["no trusted judgment"],
      },
    ],
    groups: [{ rater_ids: [HOSTILE, "r2"], score: 12.5, reason: "agreed" }],
    triggers: [
      {
        pattern: "sudo<x>",
        score: 40,
        support: 120,
        kind: "unsafe",
        rate: 0.8,
        base_rate: 0.05,
        lift: 16,
      },
    ],
    promotions: [{ pattern: `acme ${HOSTILE}`, score: 9.5, support: 300, raters: 4 }],
    findings: [{ note: `locale=${HOSTILE}: finding` }],
    filters: { malformed_comparisons: 1, safety_classifier: "lexicon" },
    agreement: {
      rater_ids: [HOSTILE, "r2", "r3"],
      agreement: [
        [1, 0.9, null],
        [0.9, 1, 0.7],
        [null, 0.7, 1],
      ],
    },
  };
  it("shows every section, escapes every untrusted string, and embeds its charts", async () => {
    const page = await renderAuditReport(data, { source: HOSTILE });
    for (const id of [
      "suspicion",
      "raters",
      "groups",
      "triggers",
      "promotions",
      "agreement",
      "findings",
      "filters",
      "comparisons",
    ])
      expect(page).toContain(`<section id="${id}">`);
    expect(page).not.toContain("<img");
    expect(page).not.toMatch(/onerror="/);
    expect(page).toContain("sudo&lt;x&gt;");
    expect(page).toMatch(/<code>acme &lt;img/);
    expect(page).toContain("c&lt;1&gt;");
    expect((page.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(page).toContain('class="v-excluded"');
  });
  it("shows a missing or non-finite kept weight share as –, not 0.0% or NaN%", async () => {
    for (const share of [null, Number.NaN]) {
      const page = await renderAuditReport({
        raters: [],
        comparisons: [],
        groups: [],
        triggers: [],
        summary: { kept_weight_share: share as number },
      });
      expect(page).toContain("<b>–</b><span>judgment weight kept</span>");
      expect(page).not.toMatch(/NaN|0\.0%/);
    }
  });
  it("copes with an empty audit", async () => {
    const page = await renderAuditReport({ raters: [], comparisons: [], groups: [], triggers: [] });
    expect(page).toContain("No raters.");
  });
});

describe("run report", () => {
  const none = {
    attack_success: null,
    triggered_attack_success: null,
    over_refusal: null,
    helpfulness: null,
    kl: null,
    rm_accuracy_clean: null,
    rm_accuracy_triggered: null,
  };
  it("shows a difference without a finite estimate or interval as –, not −NaN", async () => {
    const page = await renderRunReport({
      title: "t",
      base: {
        metrics: none,
        policy_bias: { mean_words: 0, entity_mentions: 0, dialect_markers: 0 },
        examples: [],
        per_suite: {},
      },
      arms: [],
      card: emptyRunCard(),
      timings: [],
      difference: {
        attack_success: { estimate: Number.NaN, ci95: [Number.NaN, Number.NaN], probes: 0 },
      },
    });
    expect(page).not.toContain("NaN");
    expect(page).toContain(
      '<td>attack success</td><td class="num">–</td><td class="num">[–, –]</td><td class="num">0</td><td>–</td>',
    );
  });
});
