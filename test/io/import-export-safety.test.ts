/**
 * `keel import` and `keel export` around their output files: they never write over the store
 * or the input, check the rejects file before importing anything, keep each rejected line's
 * text (also when the store, not the parser, refused it) and leave no temporary file behind
 * when they fail before writing.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir, verifiedLedgerRows } from "../helpers/stores.js";

const root = tempDir("keel-cli-io-");
let n = 0;

const judgment = (id: string, prompt: string, rater = "r1") =>
  JSON.stringify({
    comparison_id: id,
    prompt,
    response_a: "a",
    response_b: "b",
    rater_id: rater,
    choice: "a",
  });

/**
 * A directory with a store holding comparison `c1` (prompt "p1") judged once, and the CLI with
 * names of files in that directory made absolute (the import's worker resolves its loader from
 * the working directory, so the tests keep the one they started in).
 */
async function setup(): Promise<{ dir: string; db: string; cli: typeof runCli }> {
  const dir = join(root, `d${n++}`);
  const db = join(dir, "k.db");
  const local = /^(\.\/)?[\w.-]+\.(db|jsonl|csv)(-wal)?$|^nodir\//;
  const cli = (args: readonly string[]) =>
    runCli(args.map((a) => (local.test(a) ? join(dir, a) : a)));
  mkdirSync(dir);
  expect((await cli(["init", "--db", db, "-q"])).code).toBe(0);
  writeFileSync(join(dir, "seed.jsonl"), `${judgment("c1", "p1")}\n`);
  expect((await cli(["import", "seed.jsonl", "--db", db, "-q"])).code).toBe(0);
  return { dir, db, cli };
}

/** The files in `dir` other than the store's (temporary files show up here). */
function ownFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith("k.db"))
    .sort();
}

const ledgerRows = verifiedLedgerRows;

describe("keel export -o", () => {
  it("refuses to write over the store it reads", async () => {
    const { dir, db, cli } = await setup();
    for (const out of ["k.db", "./k.db", "k.db-wal"]) {
      const r = await cli(["export", "-f", "judgments", "-o", out, "--db", db]);
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toContain(`${join(dir, out)}: is the feedback store`);
    }
    expect(await ledgerRows(db)).toBe(1);
    expect(ownFiles(dir)).toEqual(["seed.jsonl"]);
  });

  it("creates nothing when the store or the project does not exist", async () => {
    const { dir, db, cli } = await setup();
    const missing = await cli(["export", "-f", "judgments", "-o", "leak.jsonl", "--db", "no.db"]);
    expect(missing.code).toBe(74);
    const project = await cli([
      "export",
      "-f",
      "judgments",
      "-o",
      "leak.jsonl",
      "--db",
      db,
      "--project",
      "nope",
    ]);
    expect(project.code).toBe(66);
    expect(ownFiles(dir)).toEqual(["seed.jsonl"]);
  });
});

describe("keel import --skip-invalid --rejects", () => {
  for (const parallel of [[], ["--no-parallel"]]) {
    const how = parallel.length > 0 ? "on the main thread" : "in a worker";
    it(`refuses the input file as the rejects file (${how})`, async () => {
      const { dir, db, cli } = await setup();
      const input = `${judgment("c2", "p2")}\nnot json\n`;
      writeFileSync(join(dir, "same.jsonl"), input);
      const r = await cli([
        "import",
        "same.jsonl",
        "--skip-invalid",
        "--rejects",
        "same.jsonl",
        "--db",
        db,
        ...parallel,
      ]);
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toContain("same.jsonl: is the file being imported");
      expect(readFileSync(join(dir, "same.jsonl"), "utf8")).toBe(input);
      expect(await ledgerRows(db)).toBe(1);
    });

    it(`imports nothing when the rejects file cannot be written (${how})`, async () => {
      const { dir, db, cli } = await setup();
      writeFileSync(join(dir, "ok.jsonl"), `${judgment("c2", "p2")}\n`);
      const r = await cli([
        "import",
        "ok.jsonl",
        "--skip-invalid",
        "--rejects",
        "nodir/r.jsonl",
        "--db",
        db,
        ...parallel,
      ]);
      expect(r.code, r.stderr).toBe(66);
      expect(r.stderr).toContain("nodir/r.jsonl: cannot write: no such file or directory");
      expect(await ledgerRows(db)).toBe(1);
    });

    it(`keeps the text of a line the store refused (${how})`, async () => {
      const { dir, db, cli } = await setup();
      const clash = judgment("c1", "another prompt", "r2");
      writeFileSync(join(dir, "in.jsonl"), `${judgment("c2", "p2")}\n${clash}\nnot json\n`);
      const r = await cli([
        "import",
        "in.jsonl",
        "--skip-invalid",
        "--rejects",
        "rej.jsonl",
        "--db",
        db,
        ...parallel,
      ]);
      expect(r.code, r.stderr).toBe(0);
      const rejects = readFileSync(join(dir, "rej.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { line: number; raw: string });
      expect(rejects.map((x) => [x.line, x.raw]).sort()).toEqual([
        [2, clash],
        [3, "not json"],
      ]);
    });
  }

  it("keeps the text of unknown comparisons in crowd labels and gold answers", async () => {
    const { dir, db, cli } = await setup();
    writeFileSync(join(dir, "labels.csv"), "task,worker,label\nc1,w1,a\nnope,w1,b\n");
    writeFileSync(join(dir, "gold.csv"), "comparison_id,gold\nnope,a\n");
    const labels = await cli([
      "import",
      "labels.csv",
      "--skip-invalid",
      "--rejects",
      "r1.jsonl",
      "--db",
      db,
    ]);
    expect(labels.code, labels.stderr).toBe(0);
    const gold = await cli([
      "import",
      "gold.csv",
      "-f",
      "gold",
      "--skip-invalid",
      "--rejects",
      "r2.jsonl",
      "--db",
      db,
    ]);
    expect(gold.code, gold.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "r1.jsonl"), "utf8"))).toMatchObject({
      line: 3,
      raw: "nope,w1,b",
    });
    expect(JSON.parse(readFileSync(join(dir, "r2.jsonl"), "utf8"))).toMatchObject({
      line: 2,
      raw: "nope,a",
    });
  });
});
