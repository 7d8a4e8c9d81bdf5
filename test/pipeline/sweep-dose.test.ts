/**
 * A poison sweep is honest about dose: each row records the attacker's raters that ran, the
 * panel, the judgments it poisoned and (backdoor) the triggered comparisons, read from the
 * cell's world truth; two rates of one attack that come to one attacker count (0.5% and 0.7% of
 * 200 raters are one rater each) are refused before anything runs. Nothing here trains: the
 * counts are read from world files generated for a cell's config, as the sweep's world stage
 * writes them.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isKeelError } from "../../src/core/errors.js";
import { parsePipelineConfig } from "../../src/pipeline/config.js";
import { resolvePlan } from "../../src/pipeline/plan.js";
import {
  attackerCount,
  cellDose,
  doseFields,
  refuseSameDose,
  runPoisonSweep,
  SWEEP_ATTACKS,
  type SweepOptions,
  type SweepRow,
  sweepCellConfig,
  sweepMarkdown,
} from "../../src/pipeline/sweep.js";
import { generateWorldFiles } from "../../src/pipeline/world-files.js";
import type { AttackType } from "../../src/redteam/scenarios.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

const base = { preset: "quick", seed: 5, resume: false } as const;
// The world of test/pipeline/sweep.test.ts's tiny sweep (only the world is generated here).
const tinyWorld = {
  world: {
    prompts: { count: 400 },
    comparisons: { count: 400 },
    sft: { count: 300 },
    eval_pairs: { count: 60 },
  },
};

describe("poison sweep: two rates, one attacker count", () => {
  it("is refused before --out is touched, naming both rates, the count and the panel", async () => {
    const out = join(tempDir("keel-sweep-dose-"), "sweep");
    const e = await runPoisonSweep({ ...base, out, attacks: ["flip"], rates: [0, 0.005, 0.007] })
      .then(() => undefined)
      .catch((x: unknown) => x);
    expect(isKeelError(e) && e.code).toBe("KEEL_E_USAGE");
    expect((e as Error).message).toBe(
      "rates 0.5% and 0.7% both give the flip attack 1 of the 200 raters: the two cells would be one world reported as two doses",
    );
    expect(isKeelError(e) && e.hint).toContain("drop one of them, or use a bigger panel");
    expect(existsSync(out)).toBe(false);
  });

  it("is refused by the CLI with exit 64 and nothing written", async () => {
    const out = join(tempDir("keel-sweep-dose-cli-"), "sweep");
    const r = await runCli([
      "experiment",
      "poison-sweep",
      "--attacks",
      "backdoor",
      "--rates",
      "3,3.2",
      "-o",
      out,
      "-q",
    ]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(
      "KEEL_E_USAGE: rates 3% and 3.2% both give the backdoor attack 6 of the 200 raters",
    );
    expect(r.stderr).toContain("one rater is 0.5% of this panel");
    expect(existsSync(out)).toBe(false);
  });

  it("lets the documented rates (0, 0.5, 1, 3, 5, 10%) through on the default panel, each its own count", () => {
    const rates = [0, 0.005, 0.01, 0.03, 0.05, 0.1];
    const o: SweepOptions = { ...base, out: "", attacks: SWEEP_ATTACKS, rates };
    expect(() => refuseSameDose(o)).not.toThrow();
    for (const attack of SWEEP_ATTACKS)
      expect(rates.map((r) => attackerCount(o, attack, r).attackers)).toEqual([0, 1, 2, 6, 10, 20]);
  });

  it("counts per attack: one rate for each of two attacks is no collision", () => {
    expect(() =>
      refuseSameDose({ ...base, out: "", attacks: ["flip", "backdoor"], rates: [0.005] }),
    ).not.toThrow();
  });
});

/** A cell's world files, as its world stage writes them, and the dose read back from them. */
async function doseOf(attack: AttackType, rate: number) {
  const o: SweepOptions = {
    ...base,
    out: "",
    attacks: [attack],
    rates: [rate],
    overrides: tinyWorld,
  };
  const config = parsePipelineConfig(sweepCellConfig(o, attack, rate));
  const dir = tempDir("keel-sweep-dose-cell-");
  await generateWorldFiles(resolvePlan(config, "").world, join(dir, "world"));
  const truth = JSON.parse(readFileSync(join(dir, "world", "truth.json"), "utf8")) as {
    summary: { judgments: number; attacked_judgments: number; triggered: number };
  };
  const dose = await cellDose(dir, config, rate > 0);
  return { dose, summary: truth.summary, planned: attackerCount(o, attack, rate) };
}

describe("poison sweep rows: the dose that ran", () => {
  it("records 0.4% (0.8 of a rater) as the one rater it became, with the poisoned judgments", async () => {
    const { dose, summary, planned } = await doseOf("flip", 0.004);
    expect(dose.attacker_raters).toBe(1);
    expect(planned).toEqual({ attackers: 1, panel: 200 });
    expect(dose.panel_raters).toBe(200);
    expect(dose.attacked_judgments).toBe(summary.attacked_judgments);
    expect(dose.attacked_judgments).toBeGreaterThan(0);
    expect(dose.poisoned_share).toBeCloseTo(summary.attacked_judgments / summary.judgments, 12);
    const row = doseFields("flip", dose);
    expect(row).toMatchObject({ attacker_raters: 1, panel_raters: 200 });
    expect(row.triggered_comparisons).toBeNull();
  }, 60_000);

  it("records a backdoor cell's triggered comparisons and attacker raters; the table shows them", async () => {
    const { dose, summary } = await doseOf("backdoor", 0.05);
    expect(dose.attacker_raters).toBe(10);
    expect(dose.attacked_judgments).toBe(summary.attacked_judgments);
    const fields = doseFields("backdoor", dose);
    expect(fields.triggered_comparisons).toBe(summary.triggered);
    expect(summary.triggered).toBeGreaterThan(0);
    const metrics = {
      attack_success: null,
      triggered_attack_success: null,
      over_refusal: null,
      helpfulness: null,
      kl: null,
      rm_accuracy_clean: null,
      rm_accuracy_triggered: null,
    };
    const row: SweepRow = { attack: "backdoor", rate: 0.05, ...fields, arm: "undefended", metrics };
    const cells = sweepMarkdown([row])
      .split("\n")[2]!
      .split("|")
      .slice(1, 7)
      .map((c) => c.trim());
    expect(cells).toEqual([
      "backdoor",
      "5.0%",
      "10 of 200",
      String(summary.attacked_judgments),
      expect.any(String),
      String(summary.triggered),
    ]);
  }, 60_000);

  it("counts a sybil cell's raters across its teams", async () => {
    const { dose } = await doseOf("sybil", 0.03);
    expect(dose.attacker_raters).toBe(6);
  }, 60_000);

  it("counts no attacker in the clean cell", async () => {
    const { dose, summary } = await doseOf("flip", 0);
    expect(dose).toMatchObject({ attacker_raters: 0, panel_raters: 200, attacked_judgments: 0 });
    expect(doseFields("backdoor", dose).triggered_comparisons).toBe(summary.triggered);
  }, 60_000);
});
