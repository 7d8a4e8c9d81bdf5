import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { makeJudgments } from "../helpers/data.js";
import { PG_URL, tempDir } from "../helpers/stores.js";

const dir = tempDir();
const at = (name: string) => join(dir, name);

function writeJsonl(name: string, rows: unknown[]): string {
  const p = at(name);
  writeFileSync(p, `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
  return p;
}

describe("keel CLI: init, import, export, stats, ledger", () => {
  const db = at("main.db");

  it("needs a store: commands other than init fail with a hint", async () => {
    const r = await runCli(["stats", "--db", db]);
    expect(r.code).toBe(74);
    expect(r.stderr).toContain("KEEL_E_STORE");
    expect(r.stderr).toContain("keel init");
  });

  it("an empty file or PostgreSQL schema is no store either: ledger verify does not call it intact", async () => {
    const empty = at("empty.db");
    writeFileSync(empty, "");
    const schema = `keel_cli_empty_${process.pid}`;
    for (const target of [empty, `${PG_URL}?schema=${schema}`]) {
      const r = await runCli(["ledger", "verify", "--db", target]);
      expect(r.code, r.stderr).toBe(74);
      expect(r.stderr).toContain("KEEL_E_STORE: no keel store at");
      expect(r.stdout).not.toContain("OK");
    }
    expect(readFileSync(empty).length).toBe(0);
  });

  it("init creates the store; import loads and reports duplicates", async () => {
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    const js = makeJudgments(20, 3);
    const file = writeJsonl("j.jsonl", [...js, js[0]]);
    const r = await runCli(["import", file, "--db", db, "--json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      format: "judgments",
      read: 61,
      appended: 60,
      duplicates: 1,
      conflicting_duplicates: 0,
      rejected: 0,
    });
    // snake_case, as every other --json output and the interchange formats
    expect(report.new_comparisons).toBe(20);
    expect(report.duplicate_examples[0].where).toEqual({ file, line: 61 });
    expect(Object.keys(report).filter((k) => /[A-Z]/.test(k))).toEqual([]);
  });

  it("the import's worker heap is set by KEEL_IMPORT_HEAP_MB, validated, and the same either way", async () => {
    const file = writeJsonl(
      "heap.jsonl",
      makeJudgments(4, 2).map((j) => ({ ...j, rater_id: `heap-${j.rater_id}` })),
    );
    const db = at("heap.db");
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    process.env.KEEL_IMPORT_HEAP_MB = "lots";
    try {
      const bad = await runCli(["import", file, "--db", db]);
      expect(bad.code).toBe(64);
      expect(bad.stderr).toContain("KEEL_IMPORT_HEAP_MB");
      process.env.KEEL_IMPORT_HEAP_MB = "48";
      const worker = await runCli(["import", file, "--db", db, "--json"]);
      expect(worker.code, worker.stderr).toBe(0);
      expect(JSON.parse(worker.stdout)).toMatchObject({ read: 8, appended: 8 });
    } finally {
      delete process.env.KEEL_IMPORT_HEAP_MB;
    }
    // In the main thread (--no-parallel) the same file is all duplicates now.
    const inline = await runCli(["import", file, "--db", db, "--json", "--no-parallel"]);
    expect(JSON.parse(inline.stdout)).toMatchObject({ read: 8, appended: 0, duplicates: 8 });
  });

  it("a bad line in the middle stops the import with file:line: field and writes nothing", async () => {
    const rows: unknown[] = makeJudgments(10, 1).map((j) => ({ ...j, rater_id: "late" }));
    rows.splice(5, 0, { ...(rows[0] as object), rater_id: "x", choice: "maybe" });
    const file = writeJsonl("bad.jsonl", rows);
    const r = await runCli(["import", file, "--db", db]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(`${file}:6: choice: `);
    const s = JSON.parse((await runCli(["stats", "--db", db, "--json"])).stdout);
    expect(s.judgments).toBe(60);
  });

  it("--skip-invalid imports the rest and writes the rejects with reasons", async () => {
    const rows: unknown[] = makeJudgments(4, 1).map((j) => ({ ...j, rater_id: "skipper" }));
    rows.splice(2, 0, { nonsense: true });
    const file = writeJsonl("mixed.jsonl", rows);
    const rejects = at("rejects.jsonl");
    expect(
      (await runCli(["import", file, "--db", db, "--format", "judgments", "--skip-invalid"])).code,
    ).toBe(0);
    // second time: all duplicates; now also writing the rejects file
    const r = await runCli([
      "import",
      file,
      "--db",
      db,
      "--format",
      "judgments",
      "--skip-invalid",
      "--rejects",
      rejects,
      "--json",
    ]);
    expect(JSON.parse(r.stdout)).toMatchObject({ appended: 0, duplicates: 4, rejected: 1 });
    const rej = readFileSync(rejects, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rej).toEqual([
      {
        line: 3,
        error: expect.stringContaining("mixed.jsonl:3: comparison_id: is required"),
        raw: '{"nonsense":true}',
      },
    ]);
    expect((await runCli(["import", file, "--db", db, "--rejects", rejects])).code).toBe(64);
  });

  it("a TRL import reports the weight and margin columns it does not store, on both import paths", async () => {
    const trl = writeJsonl("weighted.jsonl", [
      { prompt: "w1", chosen: "a", rejected: "b", weight: 0.5 },
      { prompt: "w2", chosen: "a", rejected: "b", weight: 2, margin: 1 },
      { prompt: "w3", chosen: "a", rejected: "b" },
    ]);
    for (const extra of [[], ["--no-parallel"]]) {
      const store = at(`weighted${extra.length}.db`);
      expect((await runCli(["init", "--db", store])).code).toBe(0);
      const r = await runCli(["import", trl, "--db", store, "--json", ...extra]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        appended: 3,
        ignored_fields: { weight: 2, margin: 1 },
      });
      const text = await runCli(["import", trl, "--db", store, ...extra]);
      expect(text.stderr).toContain("2 rows had weight, 1 row had margin: keel does not store");
    }
  });

  it("stats prints per-rater and per-prompt tables", async () => {
    const r = await runCli(["stats", "--db", db, "--top", "2"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/64 judgments by 4 raters on 20 comparisons \(2 gold\)/);
    expect(r.stdout).toContain("raters (2 of 4, most active first)");
    const s = JSON.parse((await runCli(["stats", "--db", db, "--json"])).stdout);
    expect(
      s.per_rater.map((x: { rater_id: string; judgments: number }) => [x.rater_id, x.judgments]),
    ).toEqual([
      ["r0", 20],
      ["r1", 20],
      ["r2", 20],
      ["skipper", 4],
    ]);
    expect(s.choices.a + s.choices.b + s.choices.tie).toBe(64);
  });

  it("stats --by groups the raters by an attribute; raters without it are (none)", async () => {
    const attrs = writeJsonl("raters.jsonl", [
      { rater_id: "r0", attributes: { cohort: "a" } },
      { rater_id: "r1", attributes: { cohort: "a" } },
      { rater_id: "r2", attributes: { cohort: "<b>" } },
    ]);
    expect((await runCli(["import", attrs, "--db", db])).code).toBe(0);
    const s = JSON.parse((await runCli(["stats", "--db", db, "--by", "cohort", "--json"])).stdout);
    expect(s.by.attribute).toBe("cohort");
    expect(
      s.by.groups.map((g: { value: string; raters: number; judgments: number }) => [
        g.value,
        g.raters,
        g.judgments,
      ]),
    ).toEqual([
      ["a", 2, 40],
      ["<b>", 1, 20],
      [null, 1, 4],
    ]);
    const a = s.by.groups[0];
    expect(a.a + a.b + a.tie).toBe(40);
    const text = await runCli(["stats", "--db", db, "--by", "cohort"]);
    expect(text.stdout).toContain('raters by "cohort" (2 values):');
    expect(text.stdout).toMatch(/"a"\s+2\s+40/);
    const none = await runCli(["stats", "--db", db, "--by", "locale"]);
    expect(none.stdout).toContain('raters by "locale": no rater has this attribute');
  });

  it("exports every format; judgments export re-imports to the same ledger content", async () => {
    for (const f of ["judgments", "trl", "openrlhf", "crowd-kit", "crowd-kit-pairwise"]) {
      const out = at(`out.${f}`);
      const r = await runCli(["export", "--db", db, "-f", f, "-o", out, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(out)).toBe(true);
    }
    const copy = at("copy.db");
    await runCli(["init", "--db", copy]);
    const r = await runCli(["import", at("out.judgments"), "--db", copy, "--json"]);
    expect(JSON.parse(r.stdout).appended).toBe(64);
    const a = JSON.parse((await runCli(["stats", "--db", db, "--json"])).stdout);
    const b = JSON.parse((await runCli(["stats", "--db", copy, "--json"])).stdout);
    expect(b.per_rater).toEqual(a.per_rater);
    expect(b.per_prompt).toEqual(a.per_prompt);
  });

  it("ledger verify passes, then names the first tampered row and exits non-zero", async () => {
    const ok = await runCli(["ledger", "verify", "--db", db]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("ledger OK: 64 judgments");
    const head = (await runCli(["ledger", "head", "--db", db])).stdout.trim().split(" ")[1]!;
    expect((await runCli(["ledger", "verify", "--db", db, "--expect-head", head])).code).toBe(0);
    expect(
      (await runCli(["ledger", "verify", "--db", db, "--expect-head", "f".repeat(64)])).code,
    ).toBe(65);
    const store = await openStore(db);
    await store.rawExecute("DROP TRIGGER judgments_no_update");
    await store.rawExecute(
      "UPDATE judgments SET choice = CASE choice WHEN 'a' THEN 'b' ELSE 'a' END WHERE seq = 7",
    );
    await store.rawExecute("UPDATE judgments SET choice = 'tie' WHERE seq = 9");
    await store.close();
    const bad = await runCli(["ledger", "verify", "--db", db]);
    expect(bad.code).toBe(65);
    expect(bad.stderr).toContain("KEEL_E_LEDGER_BROKEN: edited at row 7");
    // --json names the break in snake_case, as keel's other machine-readable output does
    const json = await runCli(["ledger", "verify", "--db", db, "--json", "--expect-head", head]);
    expect(json.code).toBe(65);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ ok: false, first_break: { kind: "edited", seq: 7 } });
    expect(report.recorded_head.seq).toBe(64);
    expect(Object.keys(report).filter((k) => /[A-Z]/.test(k))).toEqual([]);
  });

  it("works against PostgreSQL with a postgres:// URL", async () => {
    const schema = `keel_cli_${process.pid}`;
    const url = `${PG_URL}?options=-c%20search_path%3D${schema}`;
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.query(`CREATE SCHEMA ${schema}`);
    try {
      expect((await runCli(["init", "--db", url])).code).toBe(0);
      const r = await runCli(["import", at("out.judgments"), "--db", url, "--json"]);
      expect(JSON.parse(r.stdout).appended).toBe(64);
      expect((await runCli(["ledger", "verify", "--db", url])).code).toBe(0);
      // `?schema=` names the schema too (the driver alone would ignore it and use public).
      const other = `${schema}_q`;
      await client.query(`DROP SCHEMA IF EXISTS ${other} CASCADE`);
      const byParam = `${PG_URL}?schema=${other}`;
      expect((await runCli(["init", "--db", byParam])).code).toBe(0);
      const q = await runCli(["import", at("out.judgments"), "--db", byParam, "--json"]);
      expect(JSON.parse(q.stdout).appended).toBe(64);
      const n = await client.query(`SELECT count(*)::int AS n FROM ${other}.judgments`);
      expect(n.rows[0].n).toBe(64);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.query(`DROP SCHEMA IF EXISTS ${schema}_q CASCADE`);
      await client.end();
    }
  });

  it("gives helpful usage errors", async () => {
    expect((await runCli(["import"])).code).toBe(64);
    const r = await runCli(["export", "--db", db, "-f", "nope", "-o", at("x")]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain("unknown export format");
    expect((await runCli(["stats", "--db", db, "--top", "0"])).stderr).toContain(
      "--top must be a positive integer",
    );
  });
});
