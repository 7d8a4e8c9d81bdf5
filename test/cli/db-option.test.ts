/** `--db` with a mistyped PostgreSQL URL: a usage error, not a SQLite file of that name. */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { dbTarget } from "../../src/cli/common.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

describe("--db", () => {
  it("refuses a URL whose scheme is not PostgreSQL's, and a postgres: without //, creating nothing", async () => {
    const cwd = tempDir("keel-db-option-");
    for (const db of [
      "postgress://bob:secret@127.0.0.1/test",
      "postgres:/127.0.0.1/test",
      "mysql://127.0.0.1/keel",
    ]) {
      for (const args of [["init"], ["stats"], ["users", "list"], ["ledger", "head"]]) {
        const r = await runCli([...args, "--db", db], { cwd });
        expect(r.code, `${args.join(" ")} --db ${db}`).toBe(64);
        expect(r.stderr).toContain("KEEL_E_USAGE: --db");
        expect(r.stderr).not.toContain("secret");
      }
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("takes file paths (a colon included) and postgres URLs as they are", () => {
    for (const db of [
      "keel.db",
      "./a:b.db",
      "a:b.db",
      "/tmp/x.db",
      ":memory:",
      "postgres://u@h/db",
      "POSTGRESQL://h/db",
    ])
      expect(dbTarget(db)).toBe(db);
  });
});
