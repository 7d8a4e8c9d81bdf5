/**
 * `keel experiment tradeoff` at its edges: a run whose red-team split lacks a suite is refused
 * before any point trains (its rate would be NaN in memory, null in point.json and "NaN%" on
 * the terminal), and the page draws only the points that have both rates, saying so when none
 * has, rather than a chart whose axes run from Infinity to −Infinity.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify as toYaml } from "yaml";
import { isKeelError, type KeelError } from "../../src/core/errors.js";
import { runTradeoff, type TradeoffPoint, tradeoffReport } from "../../src/pipeline/tradeoff.js";
import { TINY_PIPELINE } from "../helpers/pipeline.js";
import { tempDir } from "../helpers/stores.js";

async function caught(p: Promise<unknown>): Promise<KeelError> {
  try {
    await p;
  } catch (e) {
    if (isKeelError(e)) return e;
    throw e;
  }
  throw new Error("expected a KeelError");
}

describe("a trade-off from a run whose red-team split lacks a suite", () => {
  it("is refused before any point trains, naming what is missing", async () => {
    // A run directory as far as the trade-off looks before its points: a world without
    // borderline requests has no over-refusal probes.
    const from = join(tempDir(), "run");
    for (const d of ["world", "base/model", "defended/rm/model"])
      mkdirSync(join(from, d), { recursive: true });
    const families = { arithmetic: 1, facts: 1, words: 1, harmful: 1 };
    writeFileSync(
      join(from, "config.yaml"),
      toYaml({
        ...TINY_PIPELINE,
        world: { ...TINY_PIPELINE.world, prompts: { count: 400, families } },
      }),
    );
    writeFileSync(join(from, "world", "truth.json"), "{}");
    writeFileSync(join(from, "base", "model", "config.json"), "{}");
    const out = join(tempDir(), "tradeoff");
    const e = await caught(
      runTradeoff({ from, out, kl: [0.1], costThresholds: [], arm: "defended" }),
    );
    expect(e.code).toBe("KEEL_E_USAGE");
    expect(e.message).toContain(
      "world has no borderline request in its redteam split: the trade-off's over_refusal probes would be empty",
    );
  });
});

describe("a Lagrangian trade-off from a world with no safe-versus-unsafe comparison", () => {
  it("is refused at --cost-thresholds, not in the cost trainer's terms", async () => {
    const from = join(tempDir(), "run");
    for (const d of ["world", "base/model", "defended/rm/model"])
      mkdirSync(join(from, d), { recursive: true });
    writeFileSync(join(from, "config.yaml"), toYaml(TINY_PIPELINE));
    // Both responses of every comparison safe (or both unsafe): no pair to learn a cost from.
    const comparison = { comparison_id: "c1", unsafe_a: false, unsafe_b: false };
    writeFileSync(join(from, "world", "truth.json"), JSON.stringify({ comparisons: [comparison] }));
    writeFileSync(
      join(from, "world", "judgments.jsonl"),
      `${JSON.stringify({ comparison_id: "c1", prompt: "p", response_a: "a", response_b: "b" })}\n`,
    );
    writeFileSync(join(from, "base", "model", "config.json"), "{}");
    const out = join(tempDir(), "tradeoff");
    const e = await caught(
      runTradeoff({ from, out, kl: [], costThresholds: [0.1], arm: "defended" }),
    );
    expect(e.code).toBe("KEEL_E_USAGE");
    expect(e.message).toContain(
      `--cost-thresholds: ${from}'s world has no comparison with exactly one unsafe response`,
    );
  });
});

describe("the trade-off page", () => {
  const point = (o: Partial<TradeoffPoint>): TradeoffPoint => ({
    mode: "kl",
    value: 0.1,
    helpfulness: 0.5,
    jailbreak_success: 0.2,
    attack_success: 0.1,
    over_refusal: 0.3,
    kl: 1.5,
    ...o,
  });
  /** The page without its style and script: what a reader sees, and the chart's labels. */
  const visible = (h: string) => h.replace(/<(style|script)[\s\S]*?<\/\1>/g, "");

  it("with no point that has both rates, says there is nothing to draw", async () => {
    // As in memory (NaN) and as read back from point.json (null).
    const nulls = { helpfulness: null, kl: null } as unknown as Partial<TradeoffPoint>;
    for (const points of [
      [],
      [point({ helpfulness: Number.NaN, kl: Number.NaN })],
      [point(nulls)],
    ]) {
      const h = visible(await tradeoffReport(points));
      expect(h).not.toMatch(/NaN|Infinity/);
      expect(h).toContain("No point to draw");
    }
  });

  it("draws the points that have both rates and shows the others' missing rates as –", async () => {
    const h = visible(
      await tradeoffReport([point({}), point({ value: 0.2, jailbreak_success: Number.NaN })]),
    );
    expect(h).not.toMatch(/NaN|Infinity/);
    expect(h).toContain('class="chart"');
    expect(h).toContain('<td class="num">–</td>');
  });
});
