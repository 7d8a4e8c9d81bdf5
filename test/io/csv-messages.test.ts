/**
 * A row set aside for a quote inside an unquoted field is reported with csv-parse's message,
 * which quotes the field read so far: up to MAX_RECORD_BYTES of it, in the error and in the
 * --rejects file. keel quotes the field's start and says how long it was.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePairwiseBatches } from "../../src/io/formats/crowdkit.js";
import { collect } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir("keel-csv-messages-");
let n = 0;

/** The error messages of the rows set aside in a pairwise table with `row` as its only data row. */
async function rejected(row: string): Promise<string[]> {
  const p = join(dir, `m${n++}.csv`);
  writeFileSync(p, `worker,left,right,label\n${row}\nw3,c,d,c\n`);
  const parsed = (await collect(parsePairwiseBatches(p))).flat();
  expect(parsed.filter((r) => r.ok)).toHaveLength(1);
  return parsed.flatMap((r) => (r.ok ? [] : [r.error.message.slice(p.length)]));
}

describe("a stray quote's message", () => {
  it("quotes a long field's start and its length, not the whole field", async () => {
    const [message] = await rejected(`w2,${"x".repeat(200_000)}"y,z,z`);
    expect(message).toBe(
      `:2: malformed CSV: Invalid Opening Quote: a quote is found on field 1, value is "${"x".repeat(40)}…" (200000 characters)`,
    );
  });

  it("quotes a short field whole, escapes and all, and leaves a line number in it alone", async () => {
    const [short] = await rejected('w2,say "hi" now,z,z');
    expect(short).toBe(
      ':2: malformed CSV: Invalid Opening Quote: a quote is found on field 1, value is "say "',
    );
    const [inner] = await rejected('w2,a\\b at line 9 "c,z,z');
    expect(inner).toBe(
      ':2: malformed CSV: Invalid Opening Quote: a quote is found on field 1, value is "a\\\\b at line 9 "',
    );
  });
});
