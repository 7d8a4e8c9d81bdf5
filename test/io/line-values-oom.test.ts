/**
 * A JSONL line of very many small values: 32 MiB of `[],` parses to half a gigabyte, and 32 MiB
 * of `"k1":0,` to one object whose key table V8 allocates in one piece. Such a line ran the
 * parse worker out of heap, and V8 ended the whole process ("Reached heap limit") instead of
 * the worker; with --no-parallel the main thread would go the same way at its own limit. The
 * line reader refuses a line of more than MAX_LINE_VALUES values before it is parsed,
 * KEEL_E_TOO_LARGE with file:line, as a bad line: the import stops with nothing imported, or
 * with --skip-invalid sets it aside.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_LINE_VALUES, readLineBatches, TOO_LONG_PREFIX_BYTES } from "../../src/io/lines.js";
import { runCli } from "../helpers/cli.js";
import { collect } from "../helpers/data.js";
import { initedStore, storedJudgments } from "../helpers/import-store.js";
import { tempDir } from "../helpers/stores.js";

const root = tempDir("keel-line-values-");
let n = 0;

const judgment = (id: string, extra = "") =>
  `{"comparison_id":"${id}","prompt":"p","response_a":"a","response_b":"b","rater_id":"r","choice":"a"${extra}}`;

/** A judgment whose `flags` list holds `count` empty arrays: `count + 1` values besides the rest. */
const manyValues = (id: string, count: number) =>
  judgment(id, `,"flags":[${"[],".repeat(count - 1)}[]]`);

function file(text: string): string {
  const path = join(root, `f${n++}.jsonl`);
  writeFileSync(path, text);
  return path;
}

async function storedIds(db: string): Promise<string[]> {
  return (await storedJudgments(db)).map((j) => j.comparison_id);
}

describe("a line of too many JSON values", () => {
  it("is a bad line, KEEL_E_TOO_LARGE at its line, kept by its first bytes", async () => {
    const path = file(
      `${judgment("c1")}\n${manyValues("c2", MAX_LINE_VALUES)}\n${judgment("c3")}\n`,
    );
    const batches = await collect(readLineBatches(path, { invalid: "report" }));
    const lines = batches.flatMap((b) => b.lines);
    const bad = batches.flatMap((b) =>
      (b.bad ?? []).map((x) => ({ ...x, line: b.firstLine + x.index })),
    );
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ line: 2, reason: "too-many-values" });
    expect(bad[0]!.error.code).toBe("KEEL_E_TOO_LARGE");
    expect(bad[0]!.error.message).toBe(
      `${path}:2: line holds more than ${MAX_LINE_VALUES} JSON values (array elements, object members); no record needs so many, and parsing it could exhaust memory`,
    );
    expect(lines[1]).toBe(manyValues("c2", MAX_LINE_VALUES).slice(0, TOO_LONG_PREFIX_BYTES));
    expect(lines[2]).toBe(judgment("c3"));
  });

  it("throws by default, also as the last line without a newline", async () => {
    const path = file(`${judgment("c1")}\n${manyValues("c2", MAX_LINE_VALUES)}`);
    await expect(collect(readLineBatches(path))).rejects.toMatchObject({
      code: "KEEL_E_TOO_LARGE",
      where: { file: path, line: 2 },
    });
  });

  it("counts values outside strings only, and lets the limit itself through", async () => {
    // Counted: `{`, the five commas between the six fields, the comma before "flags", `[`,
    // and one comma a further element: MAX_LINE_VALUES in all.
    const fixed = 8;
    const atLimit = judgment("c1", `,"flags":[${"1,".repeat(MAX_LINE_VALUES - fixed)}1]`);
    // Commas, brackets and escaped quotes inside a string are text, not values; an escaped
    // backslash does not escape the quote after it.
    const text = `${'\\"[{,'.repeat(MAX_LINE_VALUES)}\\\\`;
    const inString = judgment("c2").replace('"p"', `"${text}"`);
    const path = file(`${atLimit}\n${inString}\n`);
    const batches = await collect(readLineBatches(path));
    expect(batches.flatMap((b) => b.lines)).toEqual([atLimit, inString]);
    const over = file(`${atLimit.replace("[1,", "[1,1,")}\n`);
    await expect(collect(readLineBatches(over))).rejects.toMatchObject({
      code: "KEEL_E_TOO_LARGE",
    });
  });

  for (const parallel of [true, false]) {
    it(`stops keel import${parallel ? "" : " --no-parallel"} with nothing imported, or is set aside`, async () => {
      const { dir, db } = await initedStore(root);
      const input = join(dir, "in.jsonl");
      writeFileSync(input, `${judgment("c1")}\n${manyValues("c2", 200_000)}\n${judgment("c3")}\n`);
      const mode = parallel ? [] : ["--no-parallel"];
      const refused = await runCli(["import", input, "--db", db, "-q", ...mode]);
      expect(refused.code).toBe(65);
      expect(refused.stderr).toContain(
        `KEEL_E_TOO_LARGE: ${input}:2: line holds more than ${MAX_LINE_VALUES} JSON values`,
      );
      expect(await storedIds(db)).toEqual([]);
      const rejects = join(dir, "rej.jsonl");
      const r = await runCli([
        "import",
        input,
        "--db",
        db,
        "-q",
        "--skip-invalid",
        "--rejects",
        rejects,
        ...mode,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(await storedIds(db)).toEqual(["c1", "c3"]);
      const [reject, ...more] = readFileSync(rejects, "utf8").trim().split("\n");
      expect(more).toEqual([]);
      expect(JSON.parse(reject!)).toMatchObject({ line: 2, raw_truncated: true });
    });
  }

  it("ends a small-heap process with the error, not with V8's fatal out-of-memory", () => {
    // 1.5 million empty arrays (4.5 MB) parse to some 65 MB: past a 64 MB heap, which the
    // process had to survive. It is spawned with that heap; the error comes well inside it.
    const dir = join(root, `p${n++}`);
    mkdirSync(dir);
    const input = join(dir, "in.jsonl");
    writeFileSync(input, `${judgment("c1")}\n${manyValues("c2", 1_500_000)}\n`);
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
    expect(run(["init", "--db", db, "-q"]).status).toBe(0);
    const r = run(["import", input, "--db", db, "-q", "--no-parallel"]);
    expect(r.stderr).not.toContain("heap out of memory");
    expect(r.stderr).toContain(`KEEL_E_TOO_LARGE: ${input}:2: line holds more than`);
    expect(r.status).toBe(65);
  }, 30_000);
});
