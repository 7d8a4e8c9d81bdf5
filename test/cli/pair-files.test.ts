/**
 * The JSONL files the trainers and `keel model score` read: a leading byte-order mark is not part
 * of the first row, and a JSON array or pretty-printed file is told apart from a broken row.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readPairs } from "../../src/cli/actions/pair-files.js";
import type { KeelError } from "../../src/core/errors.js";
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

  it("give a broken row no such hint", () => {
    const path = join(dir, "broken.jsonl");
    writeFileSync(path, `${JSON.stringify(row)}\n{"prompt": "p", "chosen":\n`);
    const e = failure(() => readPairs(path));
    expect(e.where).toMatchObject({ line: 2 });
    expect(e.hint).toBeUndefined();
  });
});
