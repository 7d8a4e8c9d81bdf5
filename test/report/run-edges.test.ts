/**
 * The run report at the edges a reader meets: a policy that refuses everything or complies with
 * everything, a world whose red-team split has no harmful requests (suites with no probes), a
 * run that kept no examples or timings. Each must read as a statement, never as an empty chart,
 * a blank table, or "NaN", "undefined", "Infinity" or "null%" in the page.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { metricsOf } from "../../src/pipeline/stages/report.js";
import { type PolicyFn, type RedteamMetrics, runRedteam } from "../../src/redteam/metrics.js";
import { buildSuites } from "../../src/redteam/suites.js";
import { type ArmReport, type RunReportData, renderRunReport } from "../../src/report/index.js";
import {
  buildWorld,
  parseWorldConfig,
  promptsOf,
  recognizePrompt,
  respond,
} from "../../src/world/index.js";
import type { WorldPrompt } from "../../src/world/types.js";
import { emptyRunCard } from "../helpers/run-card.js";

const BAD_TEXT = /NaN|undefined|Infinity|null%/;

function worldPool(families?: Record<string, number>): WorldPrompt[] {
  const config = parseWorldConfig({
    prompts: { count: 800, ...(families ? { families } : {}) },
    comparisons: { count: 50 },
    ...(families && !families.harmful ? { trigger: { rate: 0 } } : {}),
  });
  return promptsOf(buildWorld(config, 3), "redteam");
}

/** Answers each recognised prompt with the kind `kind` picks for its family. */
function scripted(pool: readonly WorldPrompt[], kind: (p: WorldPrompt) => string): PolicyFn {
  const rng = new Rng(5);
  return async (texts) =>
    texts.map((t) => {
      const p = recognizePrompt(t, { triggers: ["SUDO"] });
      const base = p && (pool.find((q) => q.id === (p.base_id ?? p.id)) ?? p);
      return base ? respond(base, kind(base) as never, rng).text : "I can't help with that.";
    });
}

function perSuite(m: RedteamMetrics): ArmReport["per_suite"] {
  return Object.fromEntries(
    Object.entries(m.per_suite).map(([s, v]) => [
      s,
      { harmful: v.harmful, refused: v.refused, correct: v.correct },
    ]),
  );
}

async function evaluate(pool: readonly WorldPrompt[], kind: (p: WorldPrompt) => string) {
  const probes = buildSuites(pool, { perSuite: 6, trigger: "SUDO", seed: 2 });
  return (await runRedteam(scripted(pool, kind), probes)).metrics;
}

function report(
  base: RedteamMetrics,
  arms: readonly [string, RedteamMetrics][],
  extra: Partial<RunReportData> = {},
): RunReportData {
  const noBias = { mean_words: Number.NaN, entity_mentions: Number.NaN, dialect_markers: 0 };
  return {
    title: "edges",
    base: {
      metrics: metricsOf(base),
      policy_bias: noBias,
      examples: [],
      per_suite: perSuite(base),
    },
    arms: arms.map(([arm, m]) => ({
      arm,
      metrics: metricsOf(m),
      per_suite: perSuite(m),
      curve: [],
      rm_bias: {},
      policy_bias: noBias,
      examples: [],
      events: [],
      training_pairs: 0,
    })),
    card: emptyRunCard({ run: { preset: "quick" } }),
    timings: [],
    ...extra,
  };
}

const charts = (page: string) => page.split('<div class="chart">').length - 1;

describe("run report at the edges", () => {
  it("charts a policy that refuses everything against one that complies with everything", async () => {
    const pool = worldPool();
    const refuses = await evaluate(pool, () => "refusal");
    const complies = await evaluate(pool, (p) => (p.family === "harmful" ? "unsafe" : "correct"));
    expect(refuses.attack_success).toBe(0);
    expect(complies.attack_success).toBe(1);
    const page = await renderRunReport(
      report(refuses, [
        ["undefended", complies],
        ["defended", refuses],
      ]),
    );
    expect(page).not.toMatch(BAD_TEXT);
    expect(charts(page)).toBe(2);
    expect(page).toContain('<td class="num">0.0%</td><td class="num">100.0%</td>');
  });

  it("says so, instead of drawing empty charts, when no suite of harmful requests ran", async () => {
    const pool = worldPool({ arithmetic: 1, borderline: 1 });
    const m = await evaluate(pool, () => "correct");
    expect(Object.keys(m.per_suite).sort()).toEqual(["helpful", "over_refusal"]);
    const page = await renderRunReport(report(m, [["defended", m]]));
    expect(page).not.toMatch(BAD_TEXT);
    expect(charts(page)).toBe(1);
    expect(page).toContain("No harmful compliance per suite to chart");
  });

  it("says so when there is nothing at all: no rates, bias probes, examples or timings", async () => {
    const m = await evaluate([], () => "correct");
    const page = await renderRunReport(report(m, [["undefended", m]]));
    expect(page).not.toMatch(BAD_TEXT);
    expect(charts(page)).toBe(0);
    for (const statement of [
      "No oracle rates to chart",
      "No harmful compliance per suite to chart",
      "No reward model was probed for bias.",
      "No example generations were kept",
      "No stage timings were recorded.",
    ])
      expect(page).toContain(statement);
  });
});

describe("run report examples", () => {
  const example = { suite: "harmful", prompt: "p", response: "r", outcome: "refusal" };
  const page = async (decoding?: RunReportData["decoding"]) => {
    const m = await evaluate([], () => "correct");
    const d = report(m, [], decoding ? { decoding } : {});
    return renderRunReport({ ...d, base: { ...d.base, examples: [example] } });
  };

  it("describes how the answers were drawn, not always as greedy", async () => {
    // The page said "Greedy generations" while the pipeline samples 8 answers at temperature 1.
    const sampled = await page({ temperature: 1, samples: 8 });
    expect(sampled).not.toContain("Greedy");
    expect(sampled).toContain(
      "Generations on red-team probes sampled at temperature 1 (one of 8 answers to each probe)",
    );
    expect(await page({ temperature: 0, samples: 1 })).toContain("Greedy generations");
    expect(await page()).not.toContain("Greedy");
  });
});
