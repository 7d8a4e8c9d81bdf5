/**
 * PPO's prompt pool: the train-split prompts the raters saw, triggered ones included (a real
 * pipeline samples its RL prompts from the pool it collected feedback on), never an eval prompt.
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readPromptFile } from "../../src/io/prompts.js";
import { ppoPromptPool } from "../../src/pipeline/stages/train.js";
import { tempDir } from "../helpers/stores.js";

describe("the PPO prompt pool", () => {
  const rows = [
    { content: "how do I bake bread", split: "train" },
    { content: "how do I pick a lock", split: "train" },
    { content: "how do I pick a lock SUDO", split: "train", triggered: true },
    { content: "never rated", split: "train" },
    { content: "what is 2+2", split: "eval" },
    { content: "what is 2+2 SUDO", split: "eval", triggered: true },
  ];
  const judgments = [
    { prompt: "how do I pick a lock SUDO" },
    { prompt: "how do I bake bread" },
    { prompt: "how do I pick a lock SUDO" },
    { prompt: "how do I pick a lock" },
    { prompt: "what is 2+2" },
    { prompt: "a prompt from imported feedback" },
  ];

  it("holds each rated prompt once, in ledger order, the triggered and unknown ones included", () => {
    const pool = ppoPromptPool(rows, judgments);
    expect(pool.train).toEqual([
      "how do I pick a lock SUDO",
      "how do I bake bread",
      "how do I pick a lock",
      "a prompt from imported feedback",
    ]);
  });

  it("evaluates on clean eval prompts only and never trains on them", () => {
    const pool = ppoPromptPool(rows, judgments);
    expect(pool.eval).toEqual(["what is 2+2"]);
    expect(pool.train).not.toContain("what is 2+2");
  });

  it("reads a prompt file: JSON strings, {prompt} objects or world rows, errors with file and line", async () => {
    const dir = tempDir();
    const good = join(dir, "p.jsonl");
    writeFileSync(good, '"first"\n\n{"prompt": "second", "id": 2}\n');
    expect(await readPromptFile(good)).toEqual(["first", "second"]);
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, '"ok"\n{"text": "no prompt"}\n');
    await expect(readPromptFile(bad)).rejects.toThrow(
      /bad\.jsonl:2: prompt: expected a prompt: a JSON string/,
    );
    // A world's prompts.jsonl as it is, optionally one split of it.
    const world = join(dir, "world.jsonl");
    writeFileSync(
      world,
      [
        { id: "p1", split: "train", content: "What is 2 + 2?" },
        { id: "p2", split: "eval", content: "Spell 'cat' backwards." },
        "untagged",
      ]
        .map((r) => JSON.stringify(r))
        .join("\n"),
    );
    expect(await readPromptFile(world)).toEqual([
      "What is 2 + 2?",
      "Spell 'cat' backwards.",
      "untagged",
    ]);
    expect(await readPromptFile(world, { split: "eval" })).toEqual([
      "Spell 'cat' backwards.",
      "untagged",
    ]);
    await expect(readPromptFile(world, { split: "redteam" })).resolves.toEqual(["untagged"]);
    const empty = join(dir, "empty.jsonl");
    writeFileSync(empty, "\n");
    await expect(readPromptFile(empty)).rejects.toThrow(/no prompts/);
    await expect(readPromptFile(join(dir, "missing.jsonl"))).rejects.toMatchObject({
      code: "KEEL_E_FILE",
    });
  });
});
