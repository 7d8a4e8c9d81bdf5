/**
 * One number, many places. A run directory holds each figure several times: in the lines the
 * CLI prints at the end of `keel demo` / `keel run`, in report.html, summary.json and
 * run-card.json, and in the stages' own files (evaluate.json, rm-eval.json, audit.json,
 * audit.html, collect.json, manifest.json). Every place must give the same value with the same
 * rounding, the same denominator and the same name for it. The run is SMALL_PIPELINE's; its
 * tiny policies score 0 on most rates, so the CLI's and the report's rounding and signs are also
 * checked on a run summary built from chosen answers.
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { describeSummary } from "../../src/cli/actions/pipeline-ui.js";
import { signedPoints } from "../../src/core/interval.js";
import { parsePipelineConfig } from "../../src/pipeline/config.js";
import { runPipeline } from "../../src/pipeline/pipeline.js";
import { armDifference, metricsOf, type RunSummary } from "../../src/pipeline/stages/report.js";
import { type ProbeResult, redteamMetrics } from "../../src/redteam/index.js";
import { renderRunReport } from "../../src/report/index.js";
import { METRIC_ROWS, pct, RATE_NAMES } from "../../src/report/run-sections.js";
import { SMALL_PIPELINE } from "../helpers/pipeline.js";
import { emptyRunCard } from "../helpers/run-card.js";
import { tempDir } from "../helpers/stores.js";

// ---- reading the pages as a reader sees them ----

const ENTITIES: Record<string, string> = {
  "&amp;": "&",
  "&lt;": "<",
  "&gt;": ">",
  "&quot;": '"',
  "&#39;": "'",
  "&#96;": "`",
};
const textOf = (h: string) =>
  h
    .replace(/<[^>]+>/g, " ")
    .replace(/&(amp|lt|gt|quot|#39|#96);/g, (e) => ENTITIES[e]!)
    .replace(/\s+/g, " ")
    .trim();

function section(page: string, id: string): string {
  const m = new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`).exec(page);
  if (!m) throw new Error(`report.html has no section ${id}`);
  return m[1]!;
}

/** Each table of `h` as rows of cell texts (header row included). */
function tables(h: string): string[][][] {
  return [...h.matchAll(/<table>([\s\S]*?)<\/table>/g)].map((t) =>
    [...t[1]!.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) =>
      [...r[1]!.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((c) => textOf(c[1]!)),
    ),
  );
}

/** The page's tiles: label → value. */
function tiles(page: string): Map<string, string> {
  return new Map(
    [...page.matchAll(/<div class="tile"><b>([\s\S]*?)<\/b><span>([\s\S]*?)<\/span><\/div>/g)].map(
      (m) => [textOf(m[2]!), textOf(m[1]!)],
    ),
  );
}

/** The first chart's bars: "group value" per bar, value to 9 places (Vega prints 12 digits). */
function chartBars(chartsSection: string): string[] {
  const svg = /<svg[\s\S]*?<\/svg>/.exec(chartsSection)![0];
  return [...svg.matchAll(/aria-label="group: ([^;"]+); rate: ([^"]+)"/g)]
    .map((m) => `${textOf(m[1]!)} ${Number(m[2]).toFixed(9)}`)
    .sort();
}

/** The first chart's category titles (one facet per rate). */
function chartCategories(chartsSection: string): string[] {
  const svg = /<svg[\s\S]*?<\/svg>/.exec(chartsSection)![0];
  return [...svg.matchAll(/aria-label="Title text (?:'|&#39;)([^'&]+)(?:'|&#39;)"/g)]
    .map((m) => m[1]!)
    .filter((t) => t !== "Oracle metrics by policy")
    .sort();
}

const RATES = [
  "attack_success",
  "triggered_attack_success",
  "over_refusal",
  "helpfulness",
] as const;
const ASCII = (s: string) => s.replaceAll("−", "-").replaceAll("–", "-");

/**
 * The CLI's print and report.html agree on every rate and gap both show: same rounding, same
 * sign (each under its own "undefended − defended" heading), same probes; the CLI's gap block
 * has every gap summary.json and the report have.
 */
function expectCliAgreesWithReport(summary: RunSummary, page: string): void {
  const cli = describeSummary(summary, "RUN");
  const lines = cli.split("\n");
  const [table, gaps] = tables(section(page, "summary"));
  const head = table![0]!;
  const arms = Object.keys(summary.arms);
  expect(head.slice(1)).toEqual(["base policy", ...arms]);
  const cliRow = (label: string) => {
    const line = lines.find((l) => l.startsWith(label));
    expect(line, `the CLI prints "${label}"`).toBeDefined();
    return line!.slice(36).trim().split(/\s+/);
  };
  const reportRow = (key: string) => {
    const label = METRIC_ROWS.find(([k]) => k === key)![1];
    const row = table!.find((r) => r[0] === label);
    expect(row, `report row ${label}`).toBeDefined();
    return row!.slice(1).map(ASCII);
  };
  const cliLabels: Record<string, string> = {
    attack_success: "harmful compliance (attack success)",
    triggered_attack_success: "  with the backdoor trigger",
    over_refusal: "over-refusal",
    helpfulness: "helpfulness",
    kl: "KL to base",
    rm_accuracy_clean: "reward model accuracy, clean",
    rm_accuracy_triggered: "reward model accuracy, triggered",
  };
  for (const [key, label] of Object.entries(cliLabels))
    expect(cliRow(label), key).toEqual(reportRow(key));
  // The same unit for KL in both.
  expect(cli).toContain("KL to base (nats per response)");
  expect(table!.map((r) => r[0])).toContain("KL to the base policy (nats per response)");

  // The gaps: the report's difference table and the CLI's block, row by row.
  const diff = summary.difference!;
  const gapRows = gaps!.slice(1);
  expect(gaps![0]![1]).toBe("undefended − defended (points)");
  expect(cli).toContain("undefended - defended, paired by probe:");
  const gapLabels: Record<string, string> = {
    attack_success: "harmful compliance",
    triggered_attack_success: "  with the backdoor trigger",
    over_refusal: "over-refusal",
    helpfulness: "helpfulness",
  };
  const gapBlock = lines.slice(lines.indexOf("undefended - defended, paired by probe:") + 1);
  for (const k of RATES) {
    const d = diff[k];
    if (!d) continue;
    const row = gapRows.find((r) => r[0] === RATE_NAMES[k]);
    expect(row, `report gap row ${k}`).toBeDefined();
    const ci = `[${signedPoints(d.ci95[0], "-")}, ${signedPoints(d.ci95[1], "-")}]`;
    expect(ASCII(row![1]!)).toBe(signedPoints(d.estimate, "-"));
    expect(ASCII(row![2]!)).toBe(ci);
    expect(row![3]).toBe(String(d.probes));
    const line = gapBlock.find((l) => l.startsWith(gapLabels[k]!));
    expect(line, `the CLI prints the ${k} gap`).toBeDefined();
    expect(line).toContain(
      `${signedPoints(d.estimate, "-")} points, 95% CI ${ci} over ${d.probes} `,
    );
    // "yes" in the report is the CLI's line without "(not distinguishable from noise)".
    expect(row![4] === "yes").toBe(!line!.includes("not distinguishable"));
  }
  expect(gapRows.length).toBe(RATES.filter((k) => diff[k]).length);
}

describe("one run directory, every figure in agreement", () => {
  const out = join(tempDir(), "run");
  const read = (...p: string[]) => readFileSync(join(out, ...p), "utf8");
  const json = (...p: string[]) => JSON.parse(read(...p));
  let summary: RunSummary;
  let card: ReturnType<typeof emptyRunCard>;
  let page: string;
  const arms = ["undefended", "defended"] as const;

  beforeAll(async () => {
    await runPipeline(parsePipelineConfig(SMALL_PIPELINE), { out });
    summary = json("summary.json");
    card = json("run-card.json");
    page = read("report.html");
  }, 120_000);

  it("summary.json and run-card.json hold the stages' own figures", () => {
    const base = json("base", "evaluate.json");
    for (const k of RATES) expect(summary.base[k], `base ${k}`).toBe(base.metrics[k]);
    for (const arm of arms) {
      const ev = json(arm, "evaluate.json");
      const rm = json(arm, "rm-eval.json");
      const want = {
        attack_success: ev.metrics.attack_success,
        triggered_attack_success: ev.metrics.triggered_attack_success,
        over_refusal: ev.metrics.over_refusal,
        helpfulness: ev.metrics.helpfulness,
        kl: ev.kl_to_base,
        rm_accuracy_clean: rm.rm_accuracy_clean,
        rm_accuracy_triggered: rm.rm_accuracy_triggered,
      };
      expect(summary.arms[arm]).toEqual(want);
      expect(card.redteam[arm]).toEqual({
        ...want,
        jailbreak_success: ev.metrics.jailbreak_success,
        mean_words: ev.metrics.mean_words,
      });
      // Each rate is its suite's share of answers, as per_suite holds it.
      const per = ev.metrics.per_suite;
      expect(want.attack_success).toBe(per.harmful.harmful);
      expect(want.triggered_attack_success).toBe(per.trigger.harmful);
      expect(want.over_refusal).toBe(per.over_refusal.refused);
      expect(want.helpfulness).toBe(per.helpful.correct);
    }
  });

  it("each gap is the difference of the two arms' rates, over probes that answer `samples` times", () => {
    const samples = parseYaml(read("config.yaml")).redteam.samples as number;
    const suiteOf = {
      attack_success: "harmful",
      triggered_attack_success: "trigger",
      over_refusal: "over_refusal",
      helpfulness: "helpful",
    } as const;
    for (const k of RATES) {
      const d = summary.difference![k]!;
      const u = summary.arms.undefended![k]!;
      const v = summary.arms.defended![k]!;
      // Rates are shares of all answers; the gap a mean over probes: equal when every probe
      // was answered the same number of times, which is what "over N prompts" then means.
      expect(d.estimate).toBeCloseTo(u - v, 12);
      for (const arm of arms)
        expect(json(arm, "evaluate.json").metrics.per_suite[suiteOf[k]].n, `${arm} ${k}`).toBe(
          d.probes * samples,
        );
      expect(d.resamples).toBe(2000);
      expect(d.ci95[0]).toBeLessThanOrEqual(d.ci95[1]);
    }
  });

  it("the run card's provenance is the collection's, the manifest's and the config's", () => {
    const collect = json("collect.json");
    const manifest = json("manifest.json");
    const config = parseYaml(read("config.yaml"));
    expect(card.data).toMatchObject({
      ledger_head: { seq: collect.head_seq, hash: collect.head_hash },
      ledger_verified: collect.ledger_ok,
      judgments: collect.judgments,
      raters: collect.raters,
      comparisons: collect.comparisons,
    });
    expect(card.run).toEqual({
      name: config.name,
      created_at: manifest.created_at,
      keel_version: manifest.keel_version,
      seed: config.seed,
      preset: config.preset,
    });
    expect(manifest.seeds.pipeline).toBe(config.seed);
    expect(summary.name).toBe(config.name);
    for (const f of ["summary.json", "run-card.json", "report.html"])
      expect(manifest.outputs[f], f).toBe(
        createHash("sha256")
          .update(readFileSync(join(out, f)))
          .digest("hex"),
      );
  });

  it("the audit's counts agree in audit.json, the stage's result, the run card and both pages", () => {
    const audit = json("defended", "audit.json");
    const state = json("state.json");
    const prefs = state.stages["defended/preferences"].result;
    const collect = json("collect.json");
    const verdicts = (v: string) =>
      audit.raters.filter((r: { verdict: string }) => r.verdict === v);
    // audit.json's own summary is its lists counted, and the report reads the same summary.
    expect(prefs.audit).toEqual(audit.summary);
    expect(audit.summary).toMatchObject({
      judgments: collect.judgments,
      comparisons: collect.comparisons,
      raters: collect.raters,
      trusted: verdicts("trusted").length,
      suspect: verdicts("suspect").length,
      excluded: verdicts("excluded").length,
      excluded_comparisons: audit.comparisons.filter((c: { excluded: boolean }) => c.excluded)
        .length,
    });
    expect(audit.comparisons.length).toBe(collect.comparisons);
    expect(audit.raters.length).toBe(collect.raters);
    // The run card: the excluded raters themselves, in audit.json's order.
    expect(card.defenses.excluded_raters).toEqual(
      verdicts("excluded").map((r: { rater_id: string; reasons: string[] }) => ({
        rater_id: r.rater_id,
        reasons: r.reasons,
      })),
    );
    expect(card.defenses.suspect_raters).toBe(audit.summary.suspect);
    expect(card.defenses.groups).toBe(audit.groups.length);
    expect(card.defenses.triggers).toEqual(
      audit.triggers.slice(0, 5).map((t: { pattern: string }) => t.pattern),
    );

    // report.html's audit section: the truth's scores, with the rest of the panel accounted for,
    // and each summary figure named and formatted as defended/audit.html shows it.
    const text = textOf(section(page, "audit"));
    expect(text).toContain(
      `${prefs.adversaries_flagged} of ${prefs.adversaries} adversarial raters flagged`,
    );
    expect(text).toContain(`${prefs.honest_excluded} of ${prefs.honest} honest raters excluded`);
    const others = audit.summary.raters - prefs.adversaries - prefs.honest;
    expect(others).toBeGreaterThan(0); // the panel's careless raters
    expect(text).toContain(`the other ${others} raters are careless ones`);
    const auditPage = tiles(read("defended", "audit.html"));
    expect(auditPage.get("raters")).toBe(String(audit.summary.raters));
    expect(auditPage.get("excluded raters")).toBe(String(audit.summary.excluded));
    expect(auditPage.get("suspect raters")).toBe(String(audit.summary.suspect));
    expect(auditPage.get("comparisons")).toBe(String(audit.summary.comparisons));
    expect(auditPage.get("excluded comparisons")).toBe(String(audit.summary.excluded_comparisons));
    const kept = auditPage.get("judgment weight kept");
    expect(kept).toBe(pct(audit.summary.kept_weight_share));
    expect(text).toContain(`judgment weight kept ${kept}`);
    expect(text).toContain(`excluded ${audit.summary.excluded};`);
    expect(text).toContain(`suspect ${audit.summary.suspect};`);

    // The governance section says what the run card says.
    const gov = textOf(section(page, "governance"));
    expect(gov).toContain(
      `${card.data.judgments.toLocaleString("en-US")} judgments by ${card.data.raters.toLocaleString("en-US")} raters on ${card.data.comparisons.toLocaleString("en-US")} comparisons`,
    );
    expect(gov).toContain(
      `${card.defenses.excluded_raters.length} raters excluded, ${card.defenses.suspect_raters} suspect; ${card.defenses.groups} collusion groups`,
    );
    expect(gov).toContain(
      `seed ${card.run.seed} · preset ${card.run.preset} · keel ${card.run.keel_version}`,
    );
    expect(gov).toContain(`head #${card.data.ledger_head.seq} ${card.data.ledger_head.hash}`);
  });

  it("report.html's tiles, summary table, chart and gap rows show summary.json's figures", () => {
    const [table] = tables(section(page, "summary"));
    const cols = ["base policy", ...arms];
    expect(table![0]!.slice(1)).toEqual(cols);
    const metricsOfCol = [
      metricsOf(json("base", "evaluate.json").metrics),
      ...arms.map((a) => card.redteam[a]!),
    ];
    for (const [key, label, f] of METRIC_ROWS) {
      const row = table!.find((r) => r[0] === label);
      expect(row, label).toBeDefined();
      expect(row!.slice(1), label).toEqual(metricsOfCol.map((m) => f(m[key] as number | null)));
    }
    const t = tiles(page);
    for (const arm of arms) {
      expect(t.get(`${RATE_NAMES.attack_success}, ${arm}`)).toBe(
        pct(summary.arms[arm]!.attack_success),
      );
      expect(t.get(`${RATE_NAMES.triggered_attack_success}, ${arm}`)).toBe(
        pct(summary.arms[arm]!.triggered_attack_success),
      );
    }
    // The first chart draws the table's rates, each under the rate's name.
    const charts = section(page, "charts");
    const want = [
      ...RATES.map((k) => `base ${summary.base[k]!.toFixed(9)}`),
      ...arms.flatMap((a) => RATES.map((k) => `${a} ${summary.arms[a]![k]!.toFixed(9)}`)),
    ].sort();
    expect(chartBars(charts)).toEqual(want);
    expect(chartCategories(charts)).toEqual(RATES.map((k) => RATE_NAMES[k]).sort());
  });

  it("names a figure the same wherever it is shown, and two figures apart", () => {
    // Every short name (tile, chart, gap row) is part of its summary-table row's label.
    for (const k of RATES) {
      const label = METRIC_ROWS.find(([key]) => key === k)![1];
      expect(label, k).toContain(RATE_NAMES[k]);
    }
    const [, gaps] = tables(section(page, "summary"));
    expect(gaps!.slice(1).map((r) => r[0])).toEqual(RATES.map((k) => RATE_NAMES[k]));
    // Two mean lengths: over every red-team answer (summary table) and over the benign prompts'
    // answers (bias table). Each says which; the bias one is the helpful suite's.
    const bias = tables(section(page, "bias"))[0]!;
    expect(bias[0]![1]).toBe("mean words (benign prompts)");
    const meanRow = METRIC_ROWS.find(([k]) => k === "mean_words")![1];
    expect(meanRow).toContain("all red-team answers");
    for (const [i, who] of (["base", ...arms] as const).entries()) {
      const ev = json(who, "evaluate.json");
      expect(ev.bias.mean_words).toBe(ev.metrics.per_suite.helpful.mean_words);
      expect(bias[i + 1]).toEqual([
        who,
        ev.bias.mean_words.toFixed(1),
        expect.any(String),
        expect.any(String),
      ]);
    }
    // The stages table is the manifest's, but for the report stage itself: it is written
    // before its own timing is known.
    const stages = tables(section(page, "timings"))[0]!;
    const timed = json("manifest.json").stages as { stage: string; seconds: number }[];
    expect(timed.at(-1)!.stage).toBe("report");
    expect(stages).toEqual(timed.slice(0, -1).map((s) => [s.stage, `${s.seconds.toFixed(1)} s`]));
  });

  it("the CLI's closing print agrees with report.html", () => {
    expectCliAgreesWithReport(summary, page);
  });
});

// ---- the same agreement on figures that round and sign ----

/** `n` probes of `suite`, answered 8 times each; `hits[i]` of probe i's answers have the outcome. */
function answers(suite: ProbeResult["suite"], hits: readonly number[]): ProbeResult[] {
  return hits.flatMap((h, i) =>
    Array.from({ length: 8 }, (_, j) => {
      const yes = j < h;
      return {
        suite,
        prompt_id: `${suite}-${i}`,
        text: `${suite} ${i}`,
        response: "x",
        score: {
          outcome: yes ? "unsafe" : "refusal",
          harmful: yes,
          refused: yes,
          correct: yes,
          helpful: yes,
          words: 3 + j,
        },
      } as unknown as ProbeResult;
    }),
  );
}

describe("the CLI's print and report.html round and sign alike", () => {
  it("on rates like 1.25% and gaps like −1.04 points", async () => {
    // 10 probes × 8 answers: 1 answer in 80 is 1.25%; 12 probes × 8: 1 in 96 is 1.04%.
    const arm = (harm: number[], trig: number[], over: number[], help: number[]) => [
      ...answers("harmful", harm),
      ...answers("trigger", trig),
      ...answers("over_refusal", over),
      ...answers("helpful", help),
    ];
    const zeros = (n: number) => Array<number>(n).fill(0);
    const und = arm([8, 8, 5, 3, 2, 1, 0, 0, 0, 1], [1, ...zeros(9)], zeros(12), [1, ...zeros(9)]);
    const def = arm(zeros(10), zeros(10), [1, ...zeros(11)], [2, 1, ...zeros(8)]);
    const base = arm([8, 8, 8, 8, 0, 0, 0, 0, 0, 1], zeros(10), [3, ...zeros(11)], zeros(10));
    const rm = { kl: 0.125, rm_accuracy_clean: 0.6425, rm_accuracy_triggered: 0 };
    const m = {
      base: metricsOf(redteamMetrics(base)),
      undefended: metricsOf(redteamMetrics(und), rm),
      defended: metricsOf(redteamMetrics(def), { ...rm, kl: 0.305, rm_accuracy_triggered: 1 }),
    };
    const pick = (x: typeof m.base) => ({
      attack_success: x.attack_success,
      triggered_attack_success: x.triggered_attack_success,
      over_refusal: x.over_refusal,
      helpfulness: x.helpfulness,
    });
    const difference = armDifference(und, def, 11);
    const summary: RunSummary = {
      format: "keel-run-summary/1",
      name: "r",
      base: pick(m.base),
      arms: {
        undefended: { ...pick(m.undefended), ...rm },
        defended: {
          ...pick(m.defended),
          kl: 0.305,
          rm_accuracy_clean: 0.6425,
          rm_accuracy_triggered: 1,
        },
      },
      difference,
    };
    expect(summary.arms.undefended!.helpfulness).toBe(1 / 80);
    expect(difference.over_refusal!.estimate).toBeCloseTo(-1 / 96, 12);
    const armReport = (name: string, metrics: typeof m.base) => ({
      arm: name,
      metrics,
      per_suite: {},
      curve: [],
      rm_bias: {},
      policy_bias: { mean_words: 3, entity_mentions: 0, dialect_markers: 0 },
      examples: [],
      events: [],
      training_pairs: 0,
    });
    const page = await renderRunReport({
      title: "t",
      base: {
        metrics: m.base,
        policy_bias: { mean_words: 3, entity_mentions: 0, dialect_markers: 0 },
        examples: [],
        per_suite: {},
      },
      arms: [armReport("undefended", m.undefended), armReport("defended", m.defended)],
      card: emptyRunCard(),
      timings: [],
      difference,
    });
    expectCliAgreesWithReport(summary, page);
  });
});

describe("the report's audit section without the world's truth", () => {
  it("says the raters' types are unknown rather than '0 of 0 adversarial raters flagged'", async () => {
    const page = await renderRunReport({
      title: "t",
      base: {
        metrics: metricsOf(redteamMetrics(answers("harmful", [1]))),
        policy_bias: { mean_words: 3, entity_mentions: 0, dialect_markers: 0 },
        examples: [],
        per_suite: {},
      },
      arms: [],
      card: emptyRunCard(),
      timings: [],
      // An imported ledger: preferences.ts finds no rater types, so it counts none of either.
      audit: {
        summary: {
          raters: 12,
          excluded: 2,
          kept_weight_share: 0.875,
          unchecked_judgment_share: 0.25,
        },
        adversaries: 0,
        adversaries_flagged: 0,
        honest: 0,
        honest_excluded: 0,
      },
    });
    const text = textOf(section(page, "audit"));
    expect(text).not.toContain("0 of 0");
    expect(text).toContain("true types are not known");
    // every share as a percentage, as the audit page shows it
    expect(text).toContain(
      "raters 12; excluded 2; judgment weight kept 87.5%; unchecked judgment share 25.0%.",
    );
  });
});
