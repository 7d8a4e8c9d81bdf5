/**
 * A CSV record of very many fields: csv-parse builds the record's array of fields before keel
 * sees it, and counts only the fields' characters against the record size limit, so 32 MiB of
 * commas made one record of 33 million empty fields. That ran the parse worker out of heap, and
 * V8 ended the whole process ("Reached heap limit"); with --no-parallel the main thread took a
 * gigabyte. The parser now stops splitting a record past MAX_RECORD_FIELDS fields, and such a
 * record is set aside, KEEL_E_TOO_LARGE at its line: the import stops with nothing imported, or
 * with --skip-invalid goes on without it.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_RECORD_FIELDS, parseCsvBatches } from "../../src/io/csv.js";
import { TOO_LONG_PREFIX_BYTES } from "../../src/io/lines.js";
import { runCli } from "../helpers/cli.js";
import { collect } from "../helpers/data.js";
import { initedStore, storedJudgments } from "../helpers/import-store.js";
import { tempDir } from "../helpers/stores.js";

const root = tempDir("keel-csv-fields-");
let n = 0;

const HEADER = "worker,left,right,label\n";
const TOO_MANY = `CSV record has more than ${MAX_RECORD_FIELDS} fields`;

function file(text: string): string {
  const path = join(root, `f${n++}.csv`);
  writeFileSync(path, text);
  return path;
}

const columns = { required: ["worker", "left", "right", "label"] };

async function parse(path: string) {
  const batches = await collect(parseCsvBatches(path, columns, (r) => r));
  return batches.flat();
}

/** A row of `count` fields: `x` and `count - 1` empty ones. */
const wide = (count: number) => `x${",".repeat(count - 1)}`;

describe("a CSV record of too many fields", () => {
  it("is set aside at its line; one field fewer is told its count, and the rows after it are read", async () => {
    const path = file(
      `${HEADER}w1,a,b,a\n${wide(MAX_RECORD_FIELDS + 1)}\n${wide(MAX_RECORD_FIELDS)}\nw2,c,d,d\n`,
    );
    const rows = await parse(path);
    expect(rows.map((r) => [r.line, r.ok])).toEqual([
      [2, true],
      [3, false],
      [4, false],
      [5, true],
    ]);
    expect(rows[1]).toMatchObject({
      raw: wide(MAX_RECORD_FIELDS + 1),
      error: {
        code: "KEEL_E_TOO_LARGE",
        message: `${path}:3: ${TOO_MANY}; no table needs so many, and reading them all could exhaust memory`,
      },
    });
    expect(rows[2]).toMatchObject({
      error: { message: `${path}:4: expected 4 columns, found ${MAX_RECORD_FIELDS}` },
    });
  });

  it("is set aside once when quotes follow its last field split", async () => {
    const path = file(`${HEADER}${wide(MAX_RECORD_FIELDS + 5)}x"y,"z",a"b\nw2,c,d,d\n`);
    const rows = await parse(path);
    expect(rows.map((r) => [r.line, r.ok])).toEqual([
      [2, false],
      [3, true],
    ]);
    expect(rows[0]).toMatchObject({
      error: { message: expect.stringContaining(`${path}:2: ${TOO_MANY}`) },
    });
  });

  it("stops the parse when a quoted field follows its last field split", async () => {
    // Past the limit the rest of the line is one field: `"q",` is a quote that does not close.
    const path = file(`${HEADER}w1,a,b,a\n${wide(MAX_RECORD_FIELDS)},"q",z\nw2,c,d,d\n`);
    await expect(parse(path)).rejects.toMatchObject({
      code: "KEEL_E_TOO_LARGE",
      where: { file: path, line: 3 },
      message: expect.stringContaining("nothing is imported (--skip-invalid included)"),
    });
  });

  it("as the header, ends the parse", async () => {
    const path = file(`${wide(MAX_RECORD_FIELDS + 1)}\nw2,c,d,d\n`);
    await expect(parse(path)).rejects.toMatchObject({
      code: "KEEL_E_TOO_LARGE",
      where: { file: path, line: 1 },
    });
  });
});

async function storedRaters(db: string): Promise<string[]> {
  return (await storedJudgments(db)).map((j) => j.rater_id);
}

describe("keel import of a crowd-kit table with a row of a million fields", () => {
  for (const parallel of [true, false]) {
    it(`stops${parallel ? "" : " with --no-parallel"} with nothing imported, or sets the row aside`, async () => {
      const { dir, db } = await initedStore(root);
      const input = join(dir, "in.csv");
      writeFileSync(input, `${HEADER}w1,a,b,a\n${wide(1_000_000)}\nw3,c,d,d\n`);
      const mode = parallel ? [] : ["--no-parallel"];
      const args = ["import", input, "--format", "crowd-kit-pairwise", "--db", db, "-q", ...mode];
      const refused = await runCli(args);
      expect(refused.stderr).toContain(`KEEL_E_TOO_LARGE: ${input}:3: ${TOO_MANY}`);
      expect(refused.code).toBe(65);
      expect(await storedRaters(db)).toEqual([]);
      const rejects = join(dir, "rej.jsonl");
      const r = await runCli([...args, "--skip-invalid", "--rejects", rejects]);
      expect(r.code, r.stderr).toBe(0);
      expect((await storedRaters(db)).sort()).toEqual(["w1", "w3"]);
      const [reject, ...more] = readFileSync(rejects, "utf8").trim().split("\n");
      expect(more).toEqual([]);
      const kept = JSON.parse(reject!);
      expect(kept).toMatchObject({
        line: 3,
        error: expect.stringContaining(TOO_MANY),
        raw_truncated: true,
      });
      // Kept by its first bytes, as an over-long line is, not as the whole 1 MB row.
      expect(Buffer.byteLength(kept.raw)).toBeLessThanOrEqual(TOO_LONG_PREFIX_BYTES);
    }, 30_000);
  }

  it("ends a small-heap process with the error, not with V8's fatal out-of-memory", async () => {
    // 4 million empty fields (4 MB) were an array of 32 MB, copied as it grew: past a 64 MB
    // heap. Now the row is a thousand fields and the rest of the line as one string.
    const dir = join(root, `p${n++}`);
    mkdirSync(dir);
    const input = join(dir, "in.csv");
    writeFileSync(input, `${HEADER}w1,a,b,a\n${wide(4_000_000)}\n`);
    const db = join(dir, "k.db");
    const src = resolve(import.meta.dirname, "../../src/cli/main.ts");
    const run = (args: string[]) =>
      spawnSync(
        process.execPath,
        [
          "--max-old-space-size=64",
          "--input-type=module",
          "--import",
          "tsx",
          "-e",
          `import { main } from ${JSON.stringify(src)};
           process.exitCode = await main(["node", "keel", ...${JSON.stringify(args)}]);`,
        ],
        { encoding: "utf8", timeout: 60_000 },
      );
    expect((await runCli(["init", "--db", db, "-q"])).code).toBe(0);
    const r = run([
      "import",
      input,
      "--format",
      "crowd-kit-pairwise",
      "--db",
      db,
      "-q",
      "--no-parallel",
    ]);
    expect(r.stderr).not.toContain("heap out of memory");
    expect(r.stderr).toContain(`KEEL_E_TOO_LARGE: ${input}:3: ${TOO_MANY}`);
    expect(r.status).toBe(65);
  }, 30_000);
});
