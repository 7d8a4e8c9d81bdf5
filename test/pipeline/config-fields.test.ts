/**
 * Pipeline config fields that only one choice reads: given with another, they would be ignored
 * without a word (a judgments file run as the simulated panel), so the config is refused.
 */
import { describe, expect, it } from "vitest";
import { parsePipelineConfig } from "../../src/pipeline/config.js";

describe("pipeline config: fields read by one choice only", () => {
  it("refuses collect.path without an import or a store to read", () => {
    // `from` defaults to panel: the file would be ignored and the simulated panel rated instead.
    expect(() => parsePipelineConfig({ collect: { path: "judgments.jsonl" } })).toThrow(
      /collect\.path.*from: import or from: store/,
    );
    expect(() =>
      parsePipelineConfig({ collect: { from: "panel", path: "judgments.jsonl" } }),
    ).toThrow(/collect\.path/);
    expect(parsePipelineConfig({ collect: { from: "import", path: "j.jsonl" } }).collect.path).toBe(
      "j.jsonl",
    );
  });

  it("refuses collect.format unless a file is imported, and a format without judgments", () => {
    expect(() => parsePipelineConfig({ collect: { format: "trl" } })).toThrow(/collect\.format/);
    expect(() =>
      parsePipelineConfig({ collect: { from: "store", path: "keel.db", format: "trl" } }),
    ).toThrow(/collect\.format/);
    // A typo, or a format of stored-comparison references, fails here, not at the collect stage.
    for (const format of ["tlr", "crowd-kit", "gold", "raters"])
      expect(() =>
        parsePipelineConfig({ collect: { from: "import", path: "j.jsonl", format } }),
      ).toThrow(/collect\.format/);
    for (const format of ["auto", "judgments", "trl", "hh-rlhf", "crowd-kit-pairwise"])
      expect(
        parsePipelineConfig({ collect: { from: "import", path: "j.jsonl", format } }).collect
          .format,
      ).toBe(format);
  });

  it("refuses prompts.path unless the prompts come from a file", () => {
    expect(() => parsePipelineConfig({ prompts: { path: "prompts.jsonl" } })).toThrow(
      /prompts\.path.*from: file/,
    );
    expect(parsePipelineConfig({ prompts: { from: "file", path: "p.jsonl" } }).prompts.path).toBe(
      "p.jsonl",
    );
  });
});

describe("pipeline config: PPO's prompts", () => {
  it("refuses a prompts file with DPO, which would not read it", () => {
    const file = { prompts: { from: "file", path: "p.jsonl" } } as const;
    expect(() => parsePipelineConfig({ ...file, policy: { algorithm: "dpo" } })).toThrow(
      /prompts\.from: .*dpo/,
    );
    expect(parsePipelineConfig({ ...file, policy: { algorithm: "ppo" } }).prompts.from).toBe(
      "file",
    );
  });

  it("takes redteam.seed as keel redteam --seed does: a whole number ≥ 0", () => {
    expect(parsePipelineConfig({ redteam: { seed: 0 } }).redteam.seed).toBe(0);
    for (const seed of [-1, 1.5])
      expect(() => parsePipelineConfig({ redteam: { seed } }), String(seed)).toThrow(
        /redteam\.seed/,
      );
  });
});
