import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  labelAgreement,
  pairsMarkdown,
  rewardModelPairs,
  tallyPairs,
} from "../../src/pipeline/rm-pairs.js";
import { RewardScorer } from "../../src/train/index.js";
import { buildWorld, type EvalPair, evalPairs, parseWorldConfig } from "../../src/world/index.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";
import { tinyCheckpoint } from "../train/fixtures.js";

function pair(family: string, chosen: string, rejected: string, triggered = false): EvalPair {
  return {
    pair_id: "e",
    prompt_id: "p",
    prompt: "q",
    chosen: "c",
    rejected: "r",
    chosen_kind: chosen as EvalPair["chosen_kind"],
    rejected_kind: rejected as EvalPair["rejected_kind"],
    family,
    category: "x",
    triggered,
    margin: 1,
  };
}

describe("tallyPairs", () => {
  it("counts wins, half a tie, per family and per kinds", () => {
    const pairs = [
      pair("facts", "correct", "wrong"),
      pair("facts", "correct", "wrong"),
      pair("facts", "refusal", "wrong"),
      pair("harmful", "refusal", "unsafe"),
      pair("harmful", "refusal", "unsafe", true),
    ];
    //          win  loss  tie  win  loss
    const b = tallyPairs(pairs, [2, 0, 1, 3, 0], [1, 1, 1, 2, 5]);
    expect(b.pairs).toBe(5);
    expect(b.accuracy).toBeCloseTo(2.5 / 5, 12);
    expect(b.families).toEqual([
      { key: "facts", pairs: 3, accuracy: 1.5 / 3 },
      { key: "harmful", pairs: 1, accuracy: 1 },
      { key: "harmful+trigger", pairs: 1, accuracy: 0 },
    ]);
    expect(b.kinds).toEqual([
      { key: "facts correct>wrong", pairs: 2, accuracy: 0.5 },
      { key: "facts refusal>wrong", pairs: 1, accuracy: 0.5 },
      { key: "harmful refusal>unsafe", pairs: 1, accuracy: 1 },
      { key: "harmful+trigger refusal>unsafe", pairs: 1, accuracy: 0 },
    ]);
    const md = pairsMarkdown(b).split("\n");
    expect(md[2]).toBe("| **all** | 5 | **50.0%** |");
    // Each family's kinds follow it, and "harmful" does not claim the triggered family's rows.
    expect(md.slice(3)).toEqual([
      "| **facts** | 3 | **50.0%** |",
      "| facts correct>wrong | 2 | 50.0% |",
      "| facts refusal>wrong | 1 | 50.0% |",
      "| **harmful** | 1 | **100.0%** |",
      "| harmful refusal>unsafe | 1 | 100.0% |",
      "| **harmful+trigger** | 1 | **0.0%** |",
      "| harmful+trigger refusal>unsafe | 1 | 0.0% |",
    ]);
  });

  it("carries each row's label agreement, and prints it with a dash where there is none", () => {
    const pairs = [pair("facts", "correct", "wrong"), pair("facts", "refusal", "wrong")];
    const labels = new Map([
      ["all", { judgments: 10, agreement: 0.8 }],
      ["facts", { judgments: 4, agreement: 0.75 }],
      ["facts correct>wrong", { judgments: 4, agreement: 0.75 }],
    ]);
    const b = tallyPairs(pairs, [1, 0], [0, 1], labels);
    expect(b.labels).toEqual({ judgments: 10, agreement: 0.8 });
    expect(b.families[0]!.labels).toEqual({ judgments: 4, agreement: 0.75 });
    expect(b.kinds.map((k) => k.labels)).toEqual([{ judgments: 4, agreement: 0.75 }, undefined]);
    expect(pairsMarkdown(b).split("\n")).toEqual([
      "| pairs | n | accuracy | judgments agree | judgments |",
      "|---|---|---|---|---|",
      "| **all** | 2 | **50.0%** | **80.0%** | 10 |",
      "| **facts** | 2 | **50.0%** | **75.0%** | 4 |",
      "| facts correct>wrong | 1 | 100.0% | 75.0% | 4 |",
      "| facts refusal>wrong | 1 | 0.0% | – | 0 |",
    ]);
  });

  it("gives an empty, well-formed breakdown for no pairs", () => {
    expect(tallyPairs([], [], [])).toEqual({ pairs: 0, accuracy: 0, families: [], kinds: [] });
  });
});

describe("labelAgreement", () => {
  // Raters so skilled that they follow the oracle on every clear preference.
  const sharp = { skill: { mean: 60, sd: 0 }, position_bias: { mean: 0, sd: 0 } };
  const panel = (type: "honest" | "flipper") => ({
    seed: 5,
    prompts: { count: 400 },
    comparisons: { count: 300, overlap: 2 },
    sft: { count: 10 },
    panel: { raters: [{ type, count: 4, ...sharp, length_bias: { mean: 0, sd: 0 } }] },
  });
  const rows = (type: "honest" | "flipper") =>
    labelAgreement(buildWorld(parseWorldConfig(panel(type))));

  it("adds up: families and their kinds account for every judgment", () => {
    const m = rows("honest");
    const families = [...m].filter(([k]) => k !== "all" && !k.includes(" "));
    const total = families.reduce((s, [, v]) => s + v.judgments, 0);
    expect(total).toBe(m.get("all")!.judgments);
    expect(total).toBeGreaterThan(500); // 600 judgments less the oracle's ties
    for (const [f, v] of families) {
      const kinds = [...m].filter(([k]) => k.startsWith(`${f} `));
      expect(kinds.reduce((s, [, x]) => s + x.judgments, 0)).toBe(v.judgments);
    }
  });

  it("is near 1 for sharp honest raters and 0 on harmful prompts for flippers", () => {
    const honest = rows("honest");
    expect(honest.get("all")!.agreement).toBeGreaterThan(0.97);
    const flipped = rows("flipper");
    expect(flipped.get("harmful")!.judgments).toBeGreaterThan(20);
    expect(flipped.get("harmful")!.agreement).toBe(0);
    expect(flipped.get("harmful refusal>unsafe")!.agreement).toBe(0);
    // Flippers judge everything else honestly.
    expect(flipped.get("facts")!.agreement).toBeGreaterThan(0.97);
  });
});

describe("keel experiment rm-pairs", () => {
  const world = {
    seed: 3,
    prompts: { count: 300 },
    comparisons: { count: 50 },
    sft: { count: 10 },
  };

  it("scores the world's eval pairs with the model, chosen against rejected", async () => {
    const dir = tempDir("rm-pairs");
    const model = tinyCheckpoint(join(dir, "rm"));
    const w = buildWorld(parseWorldConfig(world));
    const b = await rewardModelPairs({ world: w, model, count: 40, threads: 1 });
    expect(b.pairs).toBe(40);
    expect(b.families.reduce((s, f) => s + f.pairs, 0)).toBe(40);
    expect(b.kinds.reduce((s, f) => s + f.pairs, 0)).toBe(40);

    // The same scores taken independently: every chosen response, then every rejected one.
    const pairs = evalPairs(w).slice(0, 40);
    const scorer = RewardScorer.load(model, { threads: 1 });
    const all = await scorer.score(
      [...pairs, ...pairs].map((p) => p.prompt),
      [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)],
    );
    await scorer.dispose();
    let wins = 0;
    for (let i = 0; i < 40; i++) {
      const d = all.score[i]! - all.score[40 + i]!;
      wins += d > 0 ? 1 : d === 0 ? 0.5 : 0;
    }
    expect(b.accuracy).toBeCloseTo(wins / 40, 12);
  });

  it("prints the table or JSON, and names a missing model", async () => {
    const dir = tempDir("rm-pairs-cli");
    const model = tinyCheckpoint(join(dir, "rm"));
    const file = join(dir, "world.json");
    writeFileSync(file, JSON.stringify(world));
    const rmPairs = (...more: string[]) =>
      runCli(["experiment", "rm-pairs", "--world", file, "--model", model, ...more]);
    const table = await rmPairs("--count", "30");
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^\| pairs \| n \| accuracy \| judgments agree \| judgments \|/);
    expect(table.stdout).toMatch(/\| \*\*all\*\* \| 30 \|/);
    const json = await rmPairs("--count", "30", "--json");
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { pairs: number; families: { pairs: number }[] };
    expect(parsed.pairs).toBe(30);
    expect(parsed.families.reduce((s, f) => s + f.pairs, 0)).toBe(30);

    const missing = await runCli([
      ...["experiment", "rm-pairs", "--world", file],
      ...["--model", join(dir, "nope")],
    ]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("nope");
  });
});
