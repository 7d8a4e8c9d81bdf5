/**
 * `keel train --check` predicts the run: every input a trainer would refuse once its record is
 * written (a tokenizer file that is a directory, a checkpoint without a tokenizer, an ensemble
 * where one model is needed, an output path that is a file) is refused by --check and by the
 * run alike, at the config's file, line and field, before anything is written.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { saveCheckpoint } from "../../src/engine/checkpoint/checkpoint.js";
import { Gpt } from "../../src/engine/gpt/model.js";
import { writeEnsembleFile } from "../../src/train/rm/ensemble.js";
import { runCli } from "../helpers/cli.js";
import { TINY_ARCH, tinyCheckpoint, tinyCodec, tmp } from "./fixtures.js";

const jsonl = (rows: readonly object[]) => `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;

const dir = tmp("inputs");
const pairs = join(dir, "pairs.jsonl");
writeFileSync(
  pairs,
  jsonl([
    { prompt: "say yes", chosen: "yes", rejected: "no" },
    { prompt: "the sky is", chosen: "blue", rejected: "green" },
  ]),
);
const sftRows = join(dir, "sft.jsonl");
writeFileSync(sftRows, jsonl([{ prompt: "pick one", completion: "A" }]));
const prompts = join(dir, "prompts.jsonl");
writeFileSync(prompts, jsonl([{ prompt: "say yes" }, { prompt: "pick one" }]));
const policy = tinyCheckpoint(join(dir, "policy"));
const noTokenizer = join(dir, "no-tokenizer");
{
  const m = new Gpt({ vocab: tinyCodec().vocabSize, ...TINY_ARCH }, { seed: 1, threads: 1 });
  saveCheckpoint(noTokenizer, m);
  void m.dispose();
}
const ensemble = join(dir, "ensemble");
tinyCheckpoint(join(ensemble, "member-0"));
writeEnsembleFile(ensemble, {
  format: "keel-reward-ensemble",
  kind: "reward",
  members: ["member-0"],
  scoring: "mean",
  lambda: 0,
  normalise: false,
});

let n = 0;
/** A config file from its lines; `out` is a fresh directory unless given. */
function config(lines: string[], out = join(dir, `out-${++n}`)): { file: string; out: string } {
  const file = join(dir, `cfg-${n}.yaml`);
  writeFileSync(file, [`out: ${out}`, ...lines].join("\n"));
  return { file, out };
}

/** --check and the run fail alike, with `expected` in the error, and write nothing. */
async function refusedAlike(trainer: string, c: { file: string; out: string }, expected: string) {
  const check = await runCli(["train", trainer, "--config", c.file, "--check"]);
  const run = await runCli(["train", trainer, "--config", c.file, "-q"]);
  expect(check.code, check.stderr).not.toBe(0);
  expect(check.stderr).toContain(expected);
  expect({ code: run.code, stderr: run.stderr }).toEqual({
    code: check.code,
    stderr: check.stderr,
  });
  expect(existsSync(c.out)).toBe(false);
  return check;
}

describe("keel train: --check refuses what the run refuses", () => {
  it("a tokenizer file that is a directory, at the config's line and field", async () => {
    const tokDir = join(dir, "tok-dir");
    mkdirSync(tokDir);
    const c = config([
      `data: { train: ${sftRows} }`,
      "model:",
      `  arch: { d_model: 16, layers: 1, heads: 2, context: 24 }`,
      `  tokenizer: { file: ${tokDir} }`,
      "train: { steps: 1 }",
    ]);
    const r = await refusedAlike(
      "sft",
      c,
      `KEEL_E_FILE: ${c.file}:5: model.tokenizer.file: ${tokDir}: cannot read: is a directory`,
    );
    expect(r.code).toBe(66);
    // A checkpoint's directory given for its tokenizer: the hint names the file inside.
    const ck = config([
      `data: { train: ${pairs} }`,
      `model: { arch: { d_model: 16, layers: 1, heads: 2, context: 24 }, tokenizer: { file: ${policy} } }`,
    ]);
    const hinted = await refusedAlike("rm", ck, `${ck.file}:3: model.tokenizer.file: ${policy}`);
    expect(hinted.stderr).toContain(
      `hint: name the tokenizer file inside it: ${policy}/tokenizer.json`,
    );
  });

  it("a checkpoint without a tokenizer, in every field that names one", async () => {
    const cases: [string, string[], string][] = [
      ["sft", [`data: { train: ${sftRows} }`, `model: { init: ${noTokenizer} }`], "model.init"],
      ["rm", [`data: { train: ${pairs} }`, `model: { init: ${noTokenizer} }`], "model.init"],
      [
        "dpo",
        [
          `data: { train: ${pairs} }`,
          `model: { init: ${policy} }`,
          `reference: { init: ${noTokenizer} }`,
        ],
        "reference.init",
      ],
      [
        "ppo",
        [
          `data: { prompts: ${prompts} }`,
          `policy: { init: ${policy} }`,
          `reward: { model: ${noTokenizer} }`,
          "rollout: { batch_size: 2 }",
          "ppo: { minibatch_size: 2 }",
        ],
        "reward.model",
      ],
    ];
    for (const [trainer, lines, field] of cases) {
      const c = config(lines);
      const line = 2 + lines.findIndex((l) => l.includes(noTokenizer));
      await refusedAlike(
        trainer,
        c,
        `KEEL_E_CHECKPOINT: ${c.file}:${line}: ${field}: ${noTokenizer}: the checkpoint has no tokenizer.json`,
      );
    }
  });

  it("a missing checkpoint: the run fails as --check does, before writing", async () => {
    const lost = join(dir, "no-such-model");
    const c = config([`data: { train: ${pairs} }`, `model: { init: ${lost} }`]);
    await refusedAlike(
      "dpo",
      c,
      `KEEL_E_NOT_FOUND: ${c.file}:3: model.init: no checkpoint at ${lost} (no such directory)`,
    );
  });

  it("an ensemble directory where a reward model starts from one model", async () => {
    const c = config([`data: { train: ${pairs} }`, `model: { init: ${ensemble} }`]);
    const r = await refusedAlike(
      "rm",
      c,
      `${c.file}:3: model.init: ${ensemble} is an ensemble (ensemble.json), not one checkpoint`,
    );
    expect(r.stderr).toContain(`e.g. ${join(ensemble, "member-0")}`);
  });

  it("an output path that is a regular file", async () => {
    const file = join(dir, "out-is-a-file");
    writeFileSync(file, "not a directory\n");
    const c = config([`data: { train: ${pairs} }`, `model: { init: ${policy} }`], file);
    const check = await runCli(["train", "rm", "--config", c.file, "--check"]);
    const run = await runCli(["train", "rm", "--config", c.file, "-q"]);
    expect(check.code).toBe(66);
    expect(check.stderr).toContain(
      `KEEL_E_FILE: ${file}: cannot create the directory: ${file} is a file, not a directory`,
    );
    expect(run.stderr).toBe(check.stderr);
  });

  it("an output path starting with ~/, which keel does not expand", async () => {
    const c = config([`data: { train: ${pairs} }`, `model: { init: ${policy} }`], "~/keel-out");
    const r = await runCli(["train", "rm", "--config", c.file, "--check"]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${c.file}:1: out: keel does not expand ~`);
  });

  it("a run refused by its trainer before its first step leaves no run directory", async () => {
    // Two prompts for a batch of four: only the PPO trainer counts them.
    const c = config([
      `data: { prompts: ${prompts} }`,
      `policy: { init: ${policy} }`,
      `reward: { model: ${ensemble} }`,
      "rollout: { batch_size: 4 }",
      "ppo: { minibatch_size: 2 }",
    ]);
    const r = await runCli(["train", "ppo", "--config", c.file, "-q"]);
    expect(r.code, r.stderr).toBe(64);
    expect(r.stderr).toContain("ppo needs at least rollout.batch_size = 4 prompts, got 2");
    expect(existsSync(c.out)).toBe(false);
  });

  it("ppo without data.prompts says so, rather than failing to read an empty path", async () => {
    const c = config([`policy: { init: ${policy} }`, `reward: { model: ${ensemble} }`]);
    const r = await runCli(["train", "ppo", "--config", c.file, "--check"]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${c.file}: data.prompts: data.prompts is required`);
    expect(r.stderr).not.toContain("hint: paths in");
  });
});
