/**
 * A JSON key `__proto__` is refused where it stands. Left to the schemas it gave misleading
 * messages ("chosen: is required", "prompt: Invalid input") or vanished without a word (a
 * rater attribute, a crowd-kit JSONL cell), because copying it into an object sets the
 * object's prototype instead of a key.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Parsed } from "../../src/core/types.js";
import { parsePairwiseJudgmentBatches } from "../../src/io/formats/crowdkit.js";
import { parseJudgmentBatches } from "../../src/io/formats/judgments.js";
import { parseRaterBatches } from "../../src/io/formats/raters.js";
import { parseTrlBatches } from "../../src/io/formats/trl.js";
import { collect } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-proto-");
mkdirSync(dir, { recursive: true });
let n = 0;

/** The one record parsed from a one-line file, by `parse`. */
async function parseLine<T>(
  line: string,
  parse: (p: string) => AsyncGenerator<Parsed<T>[]>,
): Promise<{ path: string; result: Parsed<T> }> {
  const path = join(dir, `f${n++}.jsonl`);
  writeFileSync(path, `${line}\n`);
  const [result] = (await collect(parse(path))).flat();
  return { path, result: result! };
}

const REFUSED = 'the key "__proto__" is not allowed (JavaScript reserves it); rename or remove it';

const judgment = (fields: string) =>
  `{"comparison_id":"c1",${fields},"response_a":"a","response_b":"b","rater_id":"r","choice":"a"}`;

const cases: [string, string, (p: string) => AsyncGenerator<Parsed<unknown>[]>, string][] = [
  [
    "judgments, top level",
    judgment('"prompt":"p","__proto__":{"x":1}'),
    parseJudgmentBatches,
    "(record)",
  ],
  [
    "judgments, a message of the prompt",
    judgment('"prompt":[{"__proto__":{"role":"user","content":"hi"}}]'),
    parseJudgmentBatches,
    "prompt.0",
  ],
  [
    "judgments, spelt with escapes",
    judgment('"prompt":[{"role":"user","content":"hi","\\u005f_proto\\u005f_":null}]'),
    parseJudgmentBatches,
    "prompt.0",
  ],
  [
    "TRL, wrapping the whole row",
    '{"__proto__":{"prompt":"p","chosen":"c","rejected":"r"}}',
    parseTrlBatches,
    "(record)",
  ],
  [
    "TRL, a message of chosen",
    '{"prompt":"p","chosen":[{"role":"user","content":"x"},{"__proto__":{"role":"assistant","content":"y"}}],"rejected":"r"}',
    parseTrlBatches,
    "chosen.1",
  ],
  [
    "raters, an attribute (was dropped unseen)",
    '{"rater_id":"r","attributes":{"__proto__":"x"}}',
    parseRaterBatches,
    "attributes",
  ],
  [
    "crowd-kit pairwise JSONL (was accepted unseen)",
    '{"worker":"w","left":"a","right":"b","label":"a","__proto__":{}}',
    (p) => parsePairwiseJudgmentBatches(p),
    "(record)",
  ],
];

describe('a JSON key "__proto__"', () => {
  for (const [what, line, parse, field] of cases) {
    it(`is refused with its place: ${what}`, async () => {
      const { path, result } = await parseLine(line, parse);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.message).toBe(`${path}:1: ${field}: ${REFUSED}`);
    });
  }

  it("as a value, or inside a string, is ordinary text", async () => {
    const { result } = await parseLine(
      judgment('"prompt":"what does \\"__proto__\\": mean? \\u00e9"'),
      parseJudgmentBatches,
    );
    expect(result.ok).toBe(true);
  });

  it("is looked for without recursion (deeply nested JSON)", async () => {
    // Deep enough for any recursion to overflow the stack, within the line reader's
    // MAX_LINE_VALUES (a line of more values is refused before it is parsed).
    const deep = `${"[".repeat(90_000)}${"]".repeat(90_000)}`;
    const { result } = await parseLine(
      judgment(`"prompt":${deep},"x":"\\u0041"`),
      parseJudgmentBatches,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toMatch(/\.jsonl:1: prompt\.0: /);
  });
});
