import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runPoisonSweep, sweepMarkdown } from "../../src/pipeline/sweep.js";
import { tempDir } from "../helpers/stores.js";

const tiny = {
  world: {
    prompts: { count: 400 },
    comparisons: { count: 400 },
    sft: { count: 300 },
    eval_pairs: { count: 60 },
  },
  base: {
    sft: {
      model: {
        arch: { d_model: 32, layers: 1, heads: 2, context: 64 },
        tokenizer: { vocab_size: 300 },
      },
      train: { epochs: 1, batch_size: 16 },
    },
  },
  reward_model: { train: { steps: 6, batch_size: 16 } },
  policy: {
    ppo: {
      ppo: { iterations: 1, epochs: 1, minibatch_size: 8 },
      rollout: { batch_size: 8, max_new_tokens: 6 },
    },
  },
  redteam: { per_suite: 2, max_new_tokens: 6 },
  bias_probes: { pairs: 2 },
};

describe("keel experiment poison-sweep", () => {
  it("runs each cell on one shared base policy, runs the clean cell once, and measures the poisoned share", async () => {
    const out = tempDir();
    const cells: string[] = [];
    const rows = await runPoisonSweep({
      out,
      attacks: ["flip", "backdoor"],
      rates: [0, 0.05],
      preset: "quick",
      seed: 5,
      resume: false,
      overrides: tiny,
      onCell: (a, r) => void cells.push(`${a}@${r}`),
    });
    expect(cells).toEqual(["flip@0", "flip@0.05", "backdoor@0", "backdoor@0.05"]);
    expect(rows.map((r) => `${r.attack}@${r.rate}/${r.arm}`)).toEqual([
      "flip@0/undefended",
      "flip@0/defended",
      "flip@0.05/undefended",
      "flip@0.05/defended",
      "backdoor@0/undefended",
      "backdoor@0/defended",
      "backdoor@0.05/undefended",
      "backdoor@0.05/defended",
    ]);
    expect(existsSync(join(out, "backdoor-0"))).toBe(false);
    expect(rows.filter((r) => r.rate === 0).every((r) => r.poisoned_share === 0)).toBe(true);
    expect(
      rows.find((r) => r.attack === "flip" && r.rate === 0.05)!.poisoned_share,
    ).toBeGreaterThan(0);
    // Later cells reuse the first cell's base policy instead of training their own.
    const state = JSON.parse(readFileSync(join(out, "flip-0.05", "state.json"), "utf8"));
    expect(state.stages.base.result.given).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "sweep.json"), "utf8"))).toEqual(
      JSON.parse(JSON.stringify(rows)),
    );
    // Each defended row carries the paired gap to its undefended twin; undefended rows do not.
    for (const r of rows) {
      if (r.arm === "undefended") expect(r.vs_undefended).toBeUndefined();
      else {
        const gap = r.vs_undefended!.attack_success!;
        const twin = rows.find((x) => x.attack === r.attack && x.rate === r.rate && x !== r)!;
        expect(gap.estimate).toBeCloseTo(
          twin.metrics.attack_success! - r.metrics.attack_success!,
          10,
        );
        expect(gap.ci95[0]).toBeLessThanOrEqual(gap.ci95[1]);
      }
    }
    expect(sweepMarkdown(rows).split("\n")).toHaveLength(2 + rows.length);
    // Charts per attack, with marks.
    for (const a of ["flip", "backdoor"]) {
      for (const c of ["rm", "policy"]) {
        const svg = readFileSync(join(out, `sweep-${a}-${c}.svg`), "utf8");
        expect(svg.startsWith("<svg")).toBe(true);
        expect(svg).toMatch(/class="mark-line/);
      }
    }
  }, 600_000);
});
