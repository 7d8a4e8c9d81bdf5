/**
 * Found by the mutation fuzzer (import-formats.test.ts): a quote inside an unquoted CSV field.
 * csv-parse reports one per quote, each time with the field so far in its message, so a record
 * was set aside once per quote (counted as several rejections), a line of quotes cost O(n²)
 * time and memory (a 122 kB file took the process past 3 GB), and a header row set aside made
 * the next data row the header ("file:2: unknown column").
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_STRAY_QUOTES } from "../../src/io/csv.js";
import { parseCategoricalBatches, parsePairwiseBatches } from "../../src/io/formats/crowdkit.js";
import { collect } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-fuzz-csv-");
let n = 0;
function file(text: string): string {
  const p = join(dir, `q${n++}.csv`);
  writeFileSync(p, text);
  return p;
}

describe("quotes inside unquoted CSV fields", () => {
  it("set a record aside once, however many quotes it holds", async () => {
    const p = file('worker,left,right,label\nw1,x,y,x\nw2,say "hi" now,z,z\nw3,c,d,c\n');
    const parsed = (await collect(parsePairwiseBatches(p))).flat();
    expect(parsed.map((x) => [x.ok, x.line])).toEqual([
      [true, 2],
      [false, 3],
      [true, 4],
    ]);
    const bad = parsed[1]!;
    expect(bad.ok ? "" : bad.error.message).toBe(
      `${p}:3: malformed CSV: Invalid Opening Quote: a quote is found on field 1, value is "say "`,
    );
  });

  it("end the parse at a record with more than MAX_STRAY_QUOTES of them, without reading on", async () => {
    const p = file(`task,worker,label\nc1,w1,a\nc2,w${'"'.repeat(200_000)},b\nc3,w3,a\n`);
    await expect(collect(parseCategoricalBatches(p))).rejects.toMatchObject({
      code: "KEEL_E_INVALID_RECORD",
      where: { file: p, line: 3 },
      message: expect.stringContaining(`more than ${MAX_STRAY_QUOTES} quotes`),
    });
    // Up to the limit, the record is set aside as one.
    const q = file(`task,worker,label\nc1,w${'x"'.repeat(MAX_STRAY_QUOTES)},b\nc3,w3,a\n`);
    const parsed = (await collect(parseCategoricalBatches(q))).flat();
    expect(parsed.map((x) => [x.ok, x.line])).toEqual([
      [false, 2],
      [true, 3],
    ]);
  });

  it("in the header row refuse the file at line 1, not at the first data row", async () => {
    const p = file('worker,left,right"label\nw1,x,y,x\n');
    await expect(collect(parsePairwiseBatches(p))).rejects.toMatchObject({
      where: { file: p, line: 1 },
      message: expect.stringContaining("Invalid Opening Quote"),
    });
  });
});
