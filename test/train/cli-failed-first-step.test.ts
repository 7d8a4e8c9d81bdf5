/**
 * A new `keel train` run that fails before making a step removes the record it wrote (its
 * config.yaml, manifest.json and metrics.jsonl, and the directory it made): the loop now ends a
 * failed run's metrics.jsonl with a summary of status "failed", and that line alone is not a
 * step made.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tmp } from "./fixtures.js";

const dir = tmp("failed-first-step");
const rows = join(dir, "sft.jsonl");
writeFileSync(
  rows,
  `${Array.from({ length: 8 }, (_, i) => JSON.stringify({ prompt: `say ${i}`, completion: `${i}` })).join("\n")}\n`,
);

function config(name: string, lr: number, steps: number): { file: string; out: string } {
  const out = join(dir, name);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `out: ${out}`,
      `data: { train: ${rows} }`,
      "model:",
      "  arch: { d_model: 16, layers: 1, heads: 2, context: 24 }",
      "  tokenizer: { vocab_size: 260 }",
      `optim: { lr: ${lr}, warmup: 0, max_grad_norm: null }`,
      `train: { steps: ${steps}, batch_size: 4 }`,
      "seed: 3",
    ].join("\n"),
  );
  return { file, out };
}

describe("keel train, failing", () => {
  it("at its first step leaves no record behind", async () => {
    const c = config("first", 1e30, 3);
    const r = await runCli(["train", "sft", "--config", c.file, "-q"]);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toContain("KEEL_E_NUMERIC");
    expect(existsSync(c.out)).toBe(false);
  });

  it("that completes keeps its record, ended by its summary", async () => {
    const c = config("later", 1e-3, 3);
    expect((await runCli(["train", "sft", "--config", c.file, "-q"])).code).toBe(0);
    const log = readFileSync(join(c.out, "metrics.jsonl"), "utf8").trim().split("\n");
    expect(JSON.parse(log.at(-1)!)).toMatchObject({ type: "summary", status: "completed" });
  });
});
