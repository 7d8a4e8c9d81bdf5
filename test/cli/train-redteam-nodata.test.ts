/**
 * `keel train ppo` with a `redteam` block reports no number where there is no data: a world
 * whose redteam split yields no probe is refused at preparation (by --check too, nothing
 * written), as the pipeline's evaluate stage refuses it, rather than logging a null for every
 * rt_ rate and 0 for rt_benign_helpful and rt_gold_quality (a division by max(n, 1)); and a
 * split with no benign prompt gives rt_benign_helpful NaN (null in metrics.jsonl, "–" in the
 * summary table), not 0. A redteam block without a world is refused at its line, with the file.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RedteamSchema } from "../../src/cli/actions/train-config-blocks.js";
import { redteamEvaluate } from "../../src/cli/actions/train-prepare-ppo.js";
import { buildWorld, parseWorldConfig } from "../../src/world/index.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";
import { tinyCheckpoint } from "../train/fixtures.js";

describe("keel train ppo: a redteam block with no probe to run", () => {
  it("is refused at the redteam block's line, by --check and by a run, before anything is written", async () => {
    const dir = tempDir();
    const world = join(dir, "world.yaml");
    writeFileSync(
      world,
      "seed: 1\nprompts: { count: 200, splits: { train: 0.9, eval: 0.1, redteam: 0 } }\ncomparisons: { count: 10, overlap: 1 }\nsft: { count: 10 }\neval_pairs: { count: 10 }\n",
    );
    const file = join(dir, "ppo.yaml");
    const out = join(dir, "run");
    writeFileSync(
      file,
      [
        `out: ${out}`,
        `data: { world: ${world}, eval_count: 8 }`,
        `policy: { init: ${join(dir, "no-policy")} }`,
        `reward: { model: ${join(dir, "no-rm")} }`,
        "redteam: { per_suite: 4 }",
      ].join("\n"),
    );
    for (const check of [["--check"], []]) {
      const r = await runCli(["train", "ppo", "-c", file, ...check, "-q"]);
      expect(r.code, r.stderr).toBe(78);
      expect(r.stderr).toContain(
        `KEEL_E_CONFIG: ${file}:5: redteam: no red-team probe to run: no prompt of the world's 200 fell in its redteam split`,
      );
      expect(r.stderr).toMatch(/prompts\.splits\.redteam/);
    }
    expect(existsSync(out)).toBe(false);
  });

  // The trainer refused it (without the line) only once the run had begun; --check passed.
  it("with no eval prompts (where it would never run) is refused at its line, by --check too", async () => {
    const dir = tempDir();
    const world = join(dir, "world.yaml");
    writeFileSync(
      world,
      "seed: 1\nprompts: { count: 200, splits: { train: 0.8, eval: 0, redteam: 0.2 } }\ncomparisons: { count: 10, overlap: 1 }\nsft: { count: 10 }\neval_pairs: { count: 0 }\n",
    );
    const file = join(dir, "ppo.yaml");
    const out = join(dir, "run");
    writeFileSync(
      file,
      [
        `out: ${out}`,
        `data: { world: ${world} }`,
        `policy: { init: ${join(dir, "no-policy")} }`,
        `reward: { model: ${join(dir, "no-rm")} }`,
        "redteam: { per_suite: 4 }",
      ].join("\n"),
    );
    for (const check of [["--check"], []]) {
      const r = await runCli(["train", "ppo", "-c", file, ...check, "-q"]);
      expect(r.code, r.stderr).toBe(78);
      expect(r.stderr).toContain(
        `KEEL_E_CONFIG: ${file}:5: redteam: the red-team evaluation (redteam) runs at each evaluation of the eval prompts, and this run has no eval prompts`,
      );
    }
    expect(existsSync(out)).toBe(false);
  });

  it("without a world is refused at the redteam block's line, with the file", async () => {
    const dir = tempDir();
    const prompts = join(dir, "prompts.jsonl");
    writeFileSync(prompts, `${JSON.stringify({ prompt: "two plus two" })}\n`);
    const file = join(dir, "ppo.yaml");
    writeFileSync(
      file,
      [
        `out: ${join(dir, "run")}`,
        `data: { prompts: ${prompts} }`,
        `policy: { init: ${join(dir, "no-policy")} }`,
        `reward: { model: ${join(dir, "no-rm")} }`,
        "redteam: {}",
      ].join("\n"),
    );
    const r = await runCli(["train", "ppo", "-c", file, "--check", "-q"]);
    expect(r.code, r.stderr).toBe(78);
    expect(r.stderr).toContain(`KEEL_E_CONFIG: ${file}:5: redteam: redteam needs data.world`);
  });
});

describe("keel train ppo: rt_ rates over an empty suite", () => {
  it("rt_benign_helpful is NaN (null in metrics.jsonl), not 0, when the split has no benign prompt", async () => {
    // Only harmful requests: the harmful, jailbreak and trigger suites have probes, the
    // helpful and over-refusal suites none.
    const world = buildWorld(
      parseWorldConfig({
        seed: 1,
        prompts: { count: 200, families: { harmful: 1 } },
        comparisons: { count: 10, overlap: 1 },
        sft: { count: 10 },
        eval_pairs: { count: 0 },
      }),
    );
    const evaluate = redteamEvaluate(world, RedteamSchema.parse({ per_suite: 3 }));
    const m = await evaluate(async (ps) => ps.map(() => "I can't help with that."), 0);
    expect(Number.isNaN(m.rt_benign_helpful)).toBe(true);
    expect(Number.isNaN(m.rt_helpfulness)).toBe(true);
    expect(Number.isFinite(m.rt_attack_success)).toBe(true);
    expect(Number.isFinite(m.rt_gold_quality)).toBe(true);
    expect(JSON.parse(JSON.stringify(m)).rt_benign_helpful).toBeNull();
  });
});

describe("keel train ppo: the summary of a run whose red-team split has no benign prompt", () => {
  it('shows "–" for the rates over nothing, and metrics.jsonl null, never 0', async () => {
    const dir = tempDir();
    const ckpt = tinyCheckpoint(join(dir, "init"));
    const world = join(dir, "world.yaml");
    writeFileSync(
      world,
      "seed: 1\nprompts: { count: 200, families: { harmful: 1 } }\ncomparisons: { count: 10, overlap: 1 }\nsft: { count: 10 }\neval_pairs: { count: 0 }\n",
    );
    const file = join(dir, "ppo.yaml");
    const out = join(dir, "run");
    writeFileSync(
      file,
      [
        `out: ${out}`,
        `data: { world: ${world}, eval_count: 2 }`,
        `policy: { init: ${ckpt} }`,
        `reward: { model: ${ckpt} }`,
        "rollout: { batch_size: 2, max_new_tokens: 2 }",
        "ppo: { iterations: 1, epochs: 1, minibatch_size: 2 }",
        "eval: { max_new_tokens: 2 }",
        "run: { eval_every: 1 }",
        "redteam: { per_suite: 2 }",
      ].join("\n"),
    );
    const r = await runCli(["train", "ppo", "-c", file, "-q", "--threads", "1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^rt_benign_helpful\s+–$/m);
    expect(r.stdout).toMatch(/^rt_over_refusal\s+–$/m);
    expect(r.stdout).not.toMatch(/NaN/);
    const evals = readFileSync(join(out, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((x) => "rt_benign_helpful" in x);
    expect(evals.length).toBeGreaterThan(0);
    for (const e of evals) expect(e.rt_benign_helpful).toBeNull();
  });
});
