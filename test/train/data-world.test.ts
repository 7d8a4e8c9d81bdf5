/**
 * A train config's data is a world or files, not both: with both, the trainer read the world,
 * while the run's manifest named the files as its inputs (a reward model recorded as trained on
 * audit weights that never reached it).
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tmp } from "./fixtures.js";

describe("keel train: data.world with data files", () => {
  const dir = tmp("data-world");
  const world = "examples/train-world.yaml";
  writeFileSync(join(dir, "judgments.jsonl"), "");
  writeFileSync(join(dir, "audit.json"), JSON.stringify({ comparisons: [] }));
  const cases: [string, string, string][] = [
    ["rm", `weights: ${join(dir, "audit.json")}`, "weights"],
    ["rm", `train: ${join(dir, "judgments.jsonl")}`, "train"],
    ["ppo", `prompts: ${join(dir, "judgments.jsonl")}`, "prompts"],
  ];
  for (const [trainer, extra, field] of cases)
    it(`${trainer}: world with data.${field} is a config error naming file, line and field`, async () => {
      const file = join(dir, `${trainer}-${field}.yaml`);
      const out = join(dir, `${trainer}-${field}`);
      writeFileSync(
        file,
        [`out: ${out}`, "seed: 1", `data: { world: ${world}, ${extra} }`].join("\n"),
      );
      for (const check of [["--check"], []]) {
        const r = await runCli(["train", trainer, "-c", file, ...check, "-q"]);
        expect(r.code, r.stderr).toBe(78);
        expect(r.stderr).toContain(
          `KEEL_E_CONFIG: ${file}:3: data.${field}: give either world or train/weights/prompts files, not both`,
        );
      }
      expect(existsSync(out)).toBe(false);
    });

  it("sft: world with data.eval is accepted (the file replaces the world's held-out set)", async () => {
    const file = join(dir, "sft-eval.yaml");
    writeFileSync(
      file,
      [
        `out: ${join(dir, "sft-eval")}`,
        "seed: 1",
        "model: { arch: { d_model: 32, layers: 1, heads: 2, context: 64 }, tokenizer: { vocab_size: 300 } }",
        `data: { world: ${world}, eval: ${join(dir, "sft-eval.jsonl")} }`,
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "sft-eval.jsonl"),
      `${JSON.stringify({ prompt: "p", completion: "r" })}\n`,
    );
    const r = await runCli(["train", "sft", "-c", file, "--check", "-q"]);
    expect(r.code, r.stderr).toBe(0);
  });
});
