/** `keel stats` and `keel ledger` as a user runs them, on hostile and unusual stores. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { PG_URL, tempDir } from "../helpers/stores.js";

describe("keel stats with hostile text", () => {
  it("escapes C1 controls and bidirectional overrides in prompts and attribute values", async () => {
    const dir = tempDir();
    const db = join(dir, "keel.db");
    const hostile = "evil \u009b31m RED \u202eolleh";
    writeFileSync(
      join(dir, "j.jsonl"),
      `${["c1", "c2"]
        .map((id) =>
          JSON.stringify({
            comparison_id: id,
            prompt: hostile,
            response_a: "x",
            response_b: "y",
            rater_id: "r1",
            choice: "a",
          }),
        )
        .join("\n")}\n`,
    );
    writeFileSync(
      join(dir, "raters.jsonl"),
      `${JSON.stringify({ rater_id: "r1", attributes: { cohort: "\u009b2J\u202ebad" } })}\n`,
    );
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    expect((await runCli(["import", join(dir, "j.jsonl"), "--db", db])).code).toBe(0);
    expect(
      (await runCli(["import", "-f", "raters", join(dir, "raters.jsonl"), "--db", db])).code,
    ).toBe(0);
    const r = await runCli(["stats", "--db", db, "--by", "cohort"]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0080-\u009f\u202a-\u202e]/);
    expect(r.stdout).toContain('"evil \\u009b31m RED \\u202eolleh"');
    expect(r.stdout).toContain('"\\u009b2J\\u202ebad"');
  });
});

describe("keel stats on a PostgreSQL URL it cannot use", () => {
  it("keeps a password given as a query parameter out of the error", async () => {
    const u = new URL(PG_URL);
    u.username = "keel_no_such_role";
    u.searchParams.set("password", "s3cret-pw");
    const r = await runCli(["stats", "--db", u.toString()]);
    expect(r.code).toBe(74);
    expect(r.stderr).toContain("KEEL_E_STORE");
    expect(r.stderr).toContain("password=***");
    expect(r.stderr).not.toContain("s3cret");
  });
});

describe("keel ledger verify --expect-head", () => {
  it("takes the line `keel ledger head` printed, and refuses a malformed anchor as usage", async () => {
    const dir = tempDir();
    const db = join(dir, "keel.db");
    expect((await runCli(["init", "--db", db])).code).toBe(0);
    const line = (await runCli(["ledger", "head", "--db", db])).stdout.trim();
    const ok = await runCli(["ledger", "verify", "--db", db, "--expect-head", line]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("anchored head found at #0");
    const bad = await runCli(["ledger", "verify", "--db", db, "--expect-head", "0 abc"]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("KEEL_E_USAGE");
  });
});

describe("keel stats --top", () => {
  it("takes a --top beyond any count, on every dialect, and refuses one beyond 2^53", async () => {
    const dir = tempDir();
    const sqlite = join(dir, "keel.db");
    const schema = `keel_t_top_${process.pid}_${Date.now().toString(36)}`;
    const u = new URL(PG_URL);
    u.searchParams.set("schema", schema);
    try {
      for (const db of [sqlite, u.toString()]) {
        expect((await runCli(["init", "--db", db])).code).toBe(0);
        const r = await runCli(["stats", "--db", db, "--top", String(Number.MAX_SAFE_INTEGER)]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const huge = await runCli(["stats", "--db", db, "--top", "99999999999999999999"]);
        expect(huge.code).toBe(64);
        expect(huge.stderr).toContain("KEEL_E_USAGE: --top must be a positive integer");
      }
    } finally {
      const { default: pg } = await import("pg");
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });
});
