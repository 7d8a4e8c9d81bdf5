/**
 * The JSONL files the trainers and `keel model score` read: a leading byte-order mark is not part
 * of the first row, and a JSON array or pretty-printed file is told apart from a broken row;
 * audit weights join only judgments the audit read.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isJudgmentsText, readPairs } from "../../src/cli/actions/pair-files.js";
import type { KeelError } from "../../src/core/errors.js";
import { textsDigest } from "../../src/defend/clean.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-pairs-");
const row = { prompt: "p", chosen: "c", rejected: "r" };

function failure(fn: () => unknown): KeelError {
  try {
    fn();
  } catch (e) {
    return e as KeelError;
  }
  throw new Error("expected a failure");
}

describe("pair files", () => {
  it("read a file that starts with a byte-order mark", () => {
    const path = join(dir, "bom.jsonl");
    writeFileSync(path, `\uFEFF${JSON.stringify(row)}\n${JSON.stringify(row)}\n`);
    expect(readPairs(path)).toEqual([row, row]);
  });

  it("say a JSON array or pretty-printed JSON is not JSONL", () => {
    for (const [name, text] of [
      ["array.json", JSON.stringify([row, row])],
      ["pretty.json", JSON.stringify([row], null, 2)],
      ["object.json", JSON.stringify(row, null, 2)],
    ] as const) {
      const path = join(dir, name);
      writeFileSync(path, text);
      const e = failure(() => readPairs(path));
      expect(e.code).toBe("KEEL_E_INVALID_RECORD");
      expect(e.where).toMatchObject({ file: path, line: 1 });
      expect(e.hint).toContain("one JSON object a line");
    }
  });

  it("refuse bytes that are not UTF-8 and a lone surrogate, naming line and field", () => {
    // Before, the bad bytes read as U+FFFD and "\ud800" went through to the tokenizer (which
    // reads it as U+FFFD): a model trained on text its file does not hold, without a word.
    const bytes = join(dir, "latin1.jsonl");
    writeFileSync(
      bytes,
      Buffer.concat([
        Buffer.from(`${JSON.stringify(row)}\n{"prompt": "caf`),
        Buffer.from([0xe9]),
        Buffer.from(`", "chosen": "c", "rejected": "r"}\n`),
      ]),
    );
    const e = failure(() => readPairs(bytes));
    expect(e.code).toBe("KEEL_E_INVALID_RECORD");
    expect(e.message).toBe(`${bytes}:2: invalid UTF-8 at byte offset 15 of the line (byte 0xe9)`);
    const lone = join(dir, "lone.jsonl");
    writeFileSync(
      lone,
      `${JSON.stringify(row)}\n{"prompt": "p", "chosen": "\\ud800", "rejected": "r"}\n`,
    );
    const f = failure(() => readPairs(lone));
    expect(f.code).toBe("KEEL_E_INVALID_RECORD");
    expect(f.message).toContain(`${lone}:2: chosen: must be valid Unicode text`);
  });

  it("give a broken row no such hint", () => {
    const path = join(dir, "broken.jsonl");
    writeFileSync(path, `${JSON.stringify(row)}\n{"prompt": "p", "chosen":\n`);
    const e = failure(() => readPairs(path));
    expect(e.where).toMatchObject({ line: 2 });
    expect(e.hint).toBeUndefined();
  });
});

describe("judgments with audit weights", () => {
  const judgment = (id: string, prompt: string, a: string, b: string) => ({
    comparison_id: id,
    prompt,
    response_a: a,
    response_b: b,
    rater_id: "r1",
    choice: "a",
  });
  const judgments = join(dir, "judgments.jsonl");
  writeFileSync(
    judgments,
    `${[judgment("c1", "p", "x", "y"), judgment("c2", "q", "u", "v")]
      .map((j) => JSON.stringify(j))
      .join("\n")}\n`,
  );
  const audit = (name: string, comparisons: object[]) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify({ comparisons }));
    return path;
  };
  const entry = (id: string, weight: number, extra: object = {}) => ({
    comparison_id: id,
    p_a: 0.9,
    weight,
    excluded: false,
    reasons: [],
    ...extra,
  });

  it("become the audit's cleaned preferences: one pair per comparison, as export --clean writes", () => {
    const w = audit("audit-ok.json", [
      entry("c1", 0.5, { texts: textsDigest("p", "x", "y") }),
      entry("c2", 0, { excluded: true }),
    ]);
    // weight · |2 p_a − 1| = 0.5 · 0.8; the excluded comparison is left out.
    const pairs = readPairs(judgments, w);
    expect(pairs.map((p) => [p.chosen, p.weight])).toEqual([["x", expect.closeTo(0.4, 12)]]);
  });

  it("are oriented by the audit, not by each judgment: an excluded rater's flip does not train", () => {
    // Three raters say a, an attacker the audit excluded says b: joined judgment by judgment,
    // the flip trained at the comparison's full weight.
    const file = join(dir, "flip.jsonl");
    const rows = ["r1", "r2", "r3", "attacker"].map((r) => ({
      ...judgment("c1", "p", "x", "y"),
      rater_id: r,
      choice: r === "attacker" ? "b" : "a",
    }));
    writeFileSync(file, `${rows.map((j) => JSON.stringify(j)).join("\n")}\n`);
    const w = audit("audit-flip.json", [entry("c1", 1, { p_a: 0.95 })]);
    const pairs = readPairs(file, w);
    expect(pairs).toHaveLength(1);
    expect(pairs[0]).toMatchObject({ chosen: "x", rejected: "y" });
  });

  it("refuse a negative audit weight, naming the audit file and field", () => {
    const w = audit("audit-neg.json", [entry("c1", 1), entry("c2", -2)]);
    const e = failure(() => readPairs(judgments, w));
    expect(e.code).toBe("KEEL_E_INVALID_RECORD");
    expect(e.where).toMatchObject({ file: w, field: "comparisons.1.weight" });
  });

  it("refuse a judgment the audit never read, naming its line", () => {
    const w = audit("audit-other.json", [entry("c1", 1)]);
    const e = failure(() => readPairs(judgments, w));
    expect(e.code).toBe("KEEL_E_CONFLICT");
    expect(e.where).toMatchObject({ file: judgments, line: 2, field: "comparison_id" });
    expect(e.message).toContain('comparison "c2" is not in the audit');
  });

  it("refuse a comparison whose texts differ from those the audit read", () => {
    const w = audit("audit-texts.json", [
      entry("c1", 1, { texts: textsDigest("p", "x", "something else") }),
      entry("c2", 1),
    ]);
    const e = failure(() => readPairs(judgments, w));
    expect(e.code).toBe("KEEL_E_CONFLICT");
    expect(e.where).toMatchObject({ file: judgments, line: 1 });
    expect(e.message).toContain("other texts than the audit read");
  });
});

describe("telling pairs from judgments", () => {
  it("a pair that carries judgment keys below its top level is still a pair", () => {
    // Provenance kept with a pair, or a prompt that is exactly a key's name.
    const pair = {
      prompt: "comparison_id",
      chosen: "c",
      rejected: "r",
      source: { comparison_id: "c7", response_a: "c", response_b: "r" },
    };
    expect(isJudgmentsText(JSON.stringify(pair))).toBe(false);
    const path = join(dir, "provenance.jsonl");
    writeFileSync(path, `${JSON.stringify(pair)}\n`);
    expect(readPairs(path)).toEqual([{ prompt: "comparison_id", chosen: "c", rejected: "r" }]);
  });

  it("a judgments file (with a byte-order mark) is judgments", () => {
    const j = { comparison_id: "c", prompt: "p", response_a: "a", response_b: "b", choice: "b" };
    expect(isJudgmentsText(`\uFEFF${JSON.stringify(j)}\n`)).toBe(true);
  });
});
