/**
 * `keel train --resume` continues the run its directory holds, with the config that run began
 * with: the trainer's checkpoint vouches only for the trainer's own settings, so a changed data
 * block (a world's seed, its eval size) must be refused by the command. The run's own
 * config.yaml runs again as a config. SIGTERM, like Ctrl-C, stops with a checkpoint.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tinyCheckpoint, tmp } from "./fixtures.js";

describe("keel train --resume with a changed config", () => {
  const dir = tmp("cli-resume");
  const init = tinyCheckpoint(join(dir, "init"));
  const world = join(dir, "world.json");
  writeFileSync(
    world,
    JSON.stringify({
      seed: 2,
      prompts: { count: 200 },
      comparisons: { count: 20 },
      sft: { count: 5 },
      eval_pairs: { count: 30 },
    }),
  );
  const out = join(dir, "rm");
  const yaml = (name: string, data: string) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      [
        `out: ${out}`,
        `data: { world: ${world}${data} }`,
        `model: { init: ${init} }`,
        "train: { steps: 4, batch_size: 4 }",
        "run: { log_every: 1, checkpoint_every: 2 }",
      ].join("\n"),
    );
    return file;
  };
  const train = (file: string, ...more: string[]) =>
    runCli(["train", "rm", "--config", file, "--threads", "1", "-q", ...more]);

  it("is refused naming the field when the data block changed; the same config resumes", async () => {
    const first = yaml("first", ", world_seed: 1");
    expect((await train(first)).code).toBe(0);
    // As if killed after its last checkpoint, before the summary line that ends a run.
    const metrics = join(out, "metrics.jsonl");
    const lines = readFileSync(metrics, "utf8").trimEnd().split("\n");
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: "summary", status: "completed" });
    writeFileSync(metrics, `${lines.slice(0, -1).join("\n")}\n`);
    const log = readFileSync(metrics, "utf8");
    for (const [name, data, field] of [
      ["seed", ", world_seed: 7", "data.world_seed"],
      ["eval", ", world_seed: 1, eval_count: 5", "data.eval_count"],
    ] as const) {
      const r = await train(yaml(name, data), "--resume");
      expect(r.code, r.stderr).toBe(78);
      expect(r.stderr).toContain(`cannot resume: ${field} changed since the run began`);
      // Nothing was trained or logged under the changed config.
      expect(readFileSync(join(out, "metrics.jsonl"), "utf8")).toBe(log);
    }
    const again = await train(first, "--resume");
    expect(again.code, again.stderr).toBe(0);
    // Now the run has ended: there is nothing to resume, and nothing is trained again.
    const done = readFileSync(metrics, "utf8");
    const more = await train(first, "--resume");
    expect(more.code).toBe(64);
    expect(more.stderr).toContain("is complete (metrics.jsonl ends with its summary)");
    expect(readFileSync(metrics, "utf8")).toBe(done);
  });

  it("a run's config.yaml is a config for the same trainer, and only for it", async () => {
    const recorded = join(out, "config.yaml");
    expect(existsSync(recorded)).toBe(true);
    const r = await train(recorded, "--out", join(dir, "rm-again"), "--check");
    expect(r.code, r.stderr).toBe(0);
    const other = await runCli(["train", "dpo", "--config", recorded, "--check"]);
    expect(other.code).toBe(78);
    expect(other.stderr).toContain('trainer: this config is for "keel train rm", not dpo');
  });
});

describe("keel train on SIGTERM", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("saves a checkpoint and exits with KEEL_E_INTERRUPTED, as on Ctrl-C", async () => {
    const dir = tmp("cli-sigterm");
    writeFileSync(
      join(dir, "sft.jsonl"),
      `${JSON.stringify({ prompt: "pick one", completion: "A" })}\n`,
    );
    const file = join(dir, "sft.yaml");
    writeFileSync(
      file,
      [
        `out: ${join(dir, "run")}`,
        `data: { train: ${join(dir, "sft.jsonl")} }`,
        `model: { init: ${tinyCheckpoint(join(dir, "init"))} }`,
        "train: { steps: 3, batch_size: 1 }",
      ].join("\n"),
    );
    // The signal arrives as soon as the command listens for it (before the first step), so the
    // test does not race the run.
    const on = process.on.bind(process);
    vi.spyOn(process, "on").mockImplementation(((event: string, fn: () => void) => {
      on(event as "SIGTERM", fn);
      if (event === "SIGTERM") fn();
      return process;
    }) as typeof process.on);
    const r = await runCli(["train", "sft", "--config", file, "--threads", "1", "-q"]);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain("KEEL_E_INTERRUPTED");
    expect(existsSync(join(dir, "run", "checkpoints", "latest.json"))).toBe(true);
  });
});
