/**
 * readJsonObject reads what writeJsonFile and JSON.stringify write: the same object as
 * JSON.parse, with the named arrays' entries handed over in order, whatever the chunk size.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { writeJsonFile } from "../../src/io/json-file.js";
import { readJsonObject } from "../../src/io/json-read.js";
import { failure } from "../helpers/errors.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir();
let n = 0;
const file = (text: string): string => {
  const path = join(dir, `r${n++}.json`);
  writeFileSync(path, text);
  return path;
};

async function read(path: string, streamed: string[], chunkChars: number) {
  const entries: Record<string, unknown[]> = {};
  const arrays = Object.fromEntries(
    streamed.map((k) => {
      entries[k] = [];
      return [k, (e: unknown, i: number) => entries[k]!.splice(i, 0, e)] as const;
    }),
  );
  const { members, arrays: counts } = await readJsonObject(path, { arrays, chunkChars });
  for (const k of streamed) expect(counts.get(k)).toBe(entries[k]!.length);
  return { rest: members, entries };
}

/** How reading `text` (its `xs` streamed, 3 characters at a time) fails. */
const failed = (text: string) =>
  failure(readJsonObject(file(text), { arrays: { xs: () => {} }, chunkChars: 3 }));

describe("readJsonObject", () => {
  it("gives JSON.parse's object, streamed arrays entry by entry, at any chunk size", async () => {
    const obj = fc.dictionary(
      fc.oneof(fc.string(), fc.constantFrom("xs", "ys", "__proto__", "a b")),
      fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.array(fc.jsonValue({ maxDepth: 2 }))),
      { maxKeys: 8 },
    );
    await fc.assert(
      fc.asyncProperty(
        obj,
        fc.constantFrom(0, 2),
        fc.integer({ min: 1, max: 9 }),
        async (v, indent, chunk) => {
          const path = join(dir, `p${n++}.json`);
          await writeJsonFile(path, v, { indent });
          const parsed = JSON.parse(JSON.stringify(v)) as Record<string, unknown>;
          const streamed = ["xs", "ys"].filter((k) => Array.isArray(parsed[k]));
          const { rest, entries } = await read(path, streamed, chunk);
          for (const k of streamed) {
            expect(entries[k]).toEqual(parsed[k]);
            delete parsed[k];
          }
          expect(rest).toEqual(parsed);
          expect(Object.getPrototypeOf(rest)).toBe(Object.prototype);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("skips an array unparsed, keeps __proto__ a member, takes a BOM and strings with brackets", async () => {
    const path = file(
      '\uFEFF {"xs":[{"s":"]},[\\"\\\\"}, 1, [2,[3]], "x"], "__proto__": {"p": 1}, "n": -1.5e3}',
    );
    const { members: r, arrays } = await readJsonObject(path, {
      arrays: { xs: "skip", ys: "skip" },
      chunkChars: 2,
    });
    expect([...arrays]).toEqual([["xs", 4]]);
    expect(Object.keys(r)).toEqual(["__proto__", "n"]);
    expect(Object.getOwnPropertyDescriptor(r, "__proto__")?.value).toEqual({ p: 1 });
    expect(r.n).toBe(-1500);
    const { entries } = await read(path, ["xs"], 4);
    expect(entries.xs).toEqual([{ s: ']},["\\' }, 1, [2, [3]], "x"]);
  });

  it("says where a file is not JSON, and names an unreadable file", async () => {
    for (const [text, at, what] of [
      ['{"xs": [1, 2', 12, "the file ends inside an array"],
      ['{"xs": [1, {"a": 2]', 11, "in the value that starts here: Expected ','"],
      ['{"xs": [1, {"a": 2', 11, "the file ends inside a value"],
      ['{"a": tru}', 6, "in the value that starts here"],
      ['{"a": 1} x', 9, "more text after the top-level object"],
      ["[1]", 0, "expected {"],
      ['{"a" 1}', 5, "expected :"],
      ['{"xs": [1 2]}', 10, "expected , or ]"],
      ["", 0, "ends where { was expected"],
    ] as const) {
      const e = await failed(text);
      expect(e.code, text).toBe("KEEL_E_INVALID_RECORD");
      expect(e.message, text).toContain(`at character ${at}`);
      expect(e.message, text).toContain(what);
      expect(e.where?.file).toMatch(/r\d+\.json$/);
    }
    const missing = await failure(readJsonObject(join(dir, "none.json")));
    expect(missing).toMatchObject({ code: "KEEL_E_FILE" });
    expect(missing.message).toContain("no such file");
  });
});

describe("readJsonObject on a long member that is not streamed", () => {
  it("gives the same value at any chunk size, copying it once, not once per chunk", async () => {
    // An audit's `raters`: kept whole, not streamed. About 110 kB, read 64 characters at a time
    // (some 1,700 chunks): carried over from chunk to chunk, it was copied ~95M characters over.
    const raters = Array.from({ length: 2000 }, (_, i) => ({
      rater_id: `r${i}`,
      reliability: i / 2000,
      reasons: i % 7 === 0 ? ['a "quoted" ]} reason'] : [],
    }));
    const text = JSON.stringify({ raters, comparisons: [{ comparison_id: "c1" }], n: 3 });
    const path = file(text);
    let carried = 0;
    const { members } = await readJsonObject(path, {
      arrays: { comparisons: "skip" },
      chunkChars: 64,
      onCarry: (chars) => {
        carried += chars;
      },
    });
    expect(members).toEqual({ raters, n: 3 });
    // Linear: never more than the file's length in all (each character carried at most once).
    expect(carried).toBeLessThanOrEqual(text.length);
  });
});
