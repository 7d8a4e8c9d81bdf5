/**
 * Mutation fuzzing of the trainers' data files: pairs files (TRL rows, or keel judgments joined
 * with an audit's weights, as `data: {train, weights}` reads them) and prompt files (PPO's
 * prompts, `keel generate`, `keel model generate`). Read, or refused with a catalogue error
 * naming the file.
 */
import { describe, expect, it } from "vitest";
import { readPairs } from "../../src/cli/actions/pair-files.js";
import { readPromptFile } from "../../src/io/prompts.js";
import { tempDir } from "../helpers/stores.js";
import { mutate, rng } from "./mutate.js";
import { CASES, caseFile, expectRefusal, SEED } from "./refusal.js";
import { IMPORT_SEEDS } from "./seeds.js";

const dir = tempDir("keel-fuzz-pairs-");
const jsonl = (...rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;

const judgments = IMPORT_SEEDS[0]!.text;
const trlPairs = IMPORT_SEEDS[1]!.text;
const audit = `${JSON.stringify(
  {
    raters: [],
    comparisons: [
      { comparison_id: "c1", p_a: 0.9, weight: 1, excluded: false, reasons: [] },
      { comparison_id: "c2", p_a: 0.5, weight: 0.5, excluded: true, reasons: ["x"] },
    ],
    groups: [],
    triggers: [],
  },
  null,
  2,
)}\n`;
const prompts = jsonl(
  "What is 2+2?",
  { prompt: "hello" },
  { content: "a world prompt", split: "train" },
  { content: "held out", split: "eval" },
);

function checkPairs(pairs: ReturnType<typeof readPairs>, label: string): void {
  for (const p of pairs) {
    expect(typeof p.prompt, label).toBe("string");
    expect(typeof p.chosen, label).toBe("string");
    expect(typeof p.rejected, label).toBe("string");
    if (p.weight !== undefined)
      expect(Number.isFinite(p.weight) && p.weight >= 0, label).toBe(true);
  }
}

describe("trainer data files under mutation", () => {
  it("pairs files (TRL rows and judgments)", () => {
    for (let i = 0; i < CASES; i++) {
      const r = rng(SEED + 70_000 + i);
      const { name, bytes } = mutate(Buffer.from(i % 2 ? judgments : trlPairs), r, "jsonl");
      const path = caseFile(dir, `pairs-${i}.jsonl`, bytes);
      const label = `pairs case ${i} (${name}) ${path}`;
      try {
        checkPairs(readPairs(path), label);
      } catch (e) {
        expectRefusal(e, label, path);
      }
    }
  });

  it("judgments joined with a mutated audit", () => {
    const train = caseFile(dir, "train.jsonl", Buffer.from(judgments.split("\n")[0]!));
    checkPairs(readPairs(train, caseFile(dir, "audit.json", Buffer.from(audit))), "valid");
    for (let i = 0; i < CASES; i++) {
      const r = rng(SEED + 80_000 + i);
      const { name, bytes } = mutate(Buffer.from(audit), r, "json");
      const path = caseFile(dir, `audit-${i}.json`, bytes);
      const label = `audit case ${i} (${name}) ${path}`;
      try {
        checkPairs(readPairs(train, path), label);
      } catch (e) {
        // The refusal names the audit, or the judgment that the audit does not cover.
        const k = expectRefusal(e, label);
        expect(k.message.includes(path) || k.message.includes(train), label).toBe(true);
      }
    }
  });

  it("prompt files", async () => {
    expect(await readPromptFile(caseFile(dir, "p.jsonl", Buffer.from(prompts)))).toHaveLength(4);
    for (let i = 0; i < CASES; i++) {
      const r = rng(SEED + 90_000 + i);
      const { name, bytes } = mutate(Buffer.from(prompts), r, "jsonl");
      const path = caseFile(dir, `prompts-${i}.jsonl`, bytes);
      const label = `prompts case ${i} (${name}) ${path}`;
      try {
        const got = await readPromptFile(path, i % 2 ? { split: "train" } : {});
        for (const p of got) expect(typeof p === "string" && p.trim() !== "", label).toBe(true);
      } catch (e) {
        expectRefusal(e, label, path);
      }
    }
  });
});

describe("an audit file under mutation, as `keel export --clean --audit` reads it", () => {
  it("is read member by member, or refused with a catalogue error naming the file", async () => {
    const { readJsonObject } = await import("../../src/io/json-read.js");
    const { parseAuditComparison } = await import("../../src/defend/json.js");
    for (let i = 0; i < CASES; i++) {
      const r = rng(SEED + 95_000 + i);
      const { name, bytes } = mutate(Buffer.from(audit), r, "json");
      const path = caseFile(dir, `export-audit-${i}.json`, bytes);
      const label = `audit case ${i} (${name}) ${path}`;
      let bad: unknown;
      try {
        const { members } = await readJsonObject(path, {
          // Small chunks cut values across reads, as a large audit's are. (Not tiny ones: a
          // value read across k chunks is copied k times, which a 1 MB value makes slow.)
          chunkChars: 4096 + (i % 7) * 13,
          arrays: {
            comparisons: (c, k) => {
              if (bad === undefined) {
                try {
                  parseAuditComparison(c, k, path);
                } catch (e) {
                  bad = e;
                }
              }
            },
          },
        });
        expect(Object.getPrototypeOf(members), label).toBe(Object.prototype);
        if (bad !== undefined) throw bad;
      } catch (e) {
        expectRefusal(e, label, path);
      }
    }
  });
});
