/**
 * A config's data block may only name what its trainer reads: a file the trainer ignores would
 * still be recorded in the manifest as an input (a cost model "weighted" by an audit no weight
 * reached), and a world's own settings without the world would change nothing.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tinyCheckpoint, tmp } from "./fixtures.js";

describe("keel train: data fields the trainer does not read", () => {
  const dir = tmp("cli-data");
  const init = tinyCheckpoint(join(dir, "init"));
  const pairs = join(dir, "pairs.jsonl");
  writeFileSync(
    pairs,
    `${JSON.stringify({ prompt: "a", chosen: "b", rejected: "c", chosen_safe: true, rejected_safe: false })}\n`,
  );
  const audit = join(dir, "audit.json");
  writeFileSync(audit, JSON.stringify({ comparisons: [] }));
  const check = async (trainer: string, data: string) => {
    const file = join(dir, `${trainer}.yaml`);
    writeFileSync(
      file,
      [`out: ${join(dir, "out")}`, `data: { ${data} }`, `model: { init: ${init} }`].join("\n"),
    );
    return runCli(["train", trainer, "--config", file, "--check"]);
  };

  it("are refused, naming the field and what the trainer reads", async () => {
    for (const [trainer, data, field] of [
      ["cost", `train: ${pairs}, weights: ${audit}`, "data.weights"],
      ["sft", `train: ${pairs}, weights: ${audit}`, "data.weights"],
      ["rm", `train: ${pairs}, prompts: ${pairs}`, "data.prompts"],
      ["rm", `train: ${pairs}, eval_count: 5`, "data.eval_count"],
      ["rm", `train: ${pairs}, world_seed: 3`, "data.world_seed"],
    ] as const) {
      const r = await check(trainer, data);
      expect(r.code, `${trainer} ${data}`).toBe(78);
      expect(r.stderr).toContain(`:2: ${field}:`);
    }
    const cost = await check("cost", `train: ${pairs}, weights: ${audit}`);
    expect(cost.stderr).toContain(
      "train cost does not read data.weights (it reads train, eval, world, world_seed, eval_count)",
    );
    expect((await check("cost", `train: ${pairs}`)).code).toBe(0);
  });
});
