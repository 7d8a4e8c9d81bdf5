/** `--db` with a mistyped PostgreSQL URL: a usage error, not a SQLite file of that name. */
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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

  describe("from KEEL_DB", () => {
    const saved = process.env.KEEL_DB;
    const withEnv = async <T>(value: string, run: () => Promise<T>): Promise<T> => {
      process.env.KEEL_DB = value;
      try {
        return await run();
      } finally {
        if (saved === undefined) delete process.env.KEEL_DB;
        else process.env.KEEL_DB = saved;
      }
    };

    it("is checked as --db is, without printing the URL", async () => {
      const cwd = tempDir("keel-db-env-");
      const r = await withEnv("postgress://bob:secret@127.0.0.1/test", () =>
        runCli(["stats"], { cwd }),
      );
      expect(r.code).toBe(64);
      expect(r.stderr).toContain("KEEL_E_USAGE: --db (or KEEL_DB): unknown URL scheme");
      expect(r.stderr).not.toContain("secret");
      expect(readdirSync(cwd)).toEqual([]);
    });

    it("is used when --db is not given, and --db wins over it", async () => {
      const cwd = tempDir("keel-db-env-");
      const db = join(cwd, "from-env.db");
      expect((await withEnv(db, () => runCli(["init"], { cwd }))).code).toBe(0);
      expect(existsSync(db)).toBe(true);
      const other = join(cwd, "from-flag.db");
      expect((await withEnv(db, () => runCli(["init", "--db", other], { cwd }))).code).toBe(0);
      expect(existsSync(other)).toBe(true);
    });

    it("is the store `keel model score` reads when neither --in nor --db is given", async () => {
      const cwd = tempDir("keel-db-env-");
      const db = join(cwd, "from-env.db");
      expect((await runCli(["init", "--db", db], { cwd })).code).toBe(0);
      // An empty store: the command gets as far as reading it, and says which store it read.
      const r = await withEnv(db, () => runCli(["model", "score", "-m", join(cwd, "rm")], { cwd }));
      expect(r.code).toBe(66);
      expect(r.stderr).toContain("the store holds no judgments");
      expect(r.stderr).toContain("from-env.db");
      // A mistyped URL, in KEEL_DB or in --db, is refused as every command's --db is.
      const env = await withEnv("postgress://bob:secret@127.0.0.1/test", () =>
        runCli(["model", "score", "-m", join(cwd, "rm")], { cwd }),
      );
      expect(env.stderr).toContain("KEEL_E_USAGE: --db (or KEEL_DB): unknown URL scheme");
      expect(env.stderr).not.toContain("secret");
      const flag = await runCli(
        ["model", "score", "-m", join(cwd, "rm"), "--db", "postgres:/h/db"],
        { cwd },
      );
      expect(flag.stderr).toContain("a PostgreSQL URL starts with postgres://");
      // --in wins: KEEL_DB set in the shell does not make `-i FILE` an error.
      const file = join(cwd, "none.jsonl");
      writeFileSync(file, "");
      const withIn = await withEnv(db, () =>
        runCli(["model", "score", "-m", join(cwd, "rm"), "-i", file], { cwd }),
      );
      expect(withIn.stderr).not.toContain("exactly one of");
    });

    it("never shows its value in --help, where a URL's password would be on screen", async () => {
      const r = await withEnv("postgres://bob:secret@127.0.0.1/test", () =>
        runCli(["stats", "--help"]),
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("--db <path|url>");
      expect(r.stdout).not.toContain("secret");
    });
  });

  it("KEEL_REDIS is not shown in keel serve --help either", async () => {
    const saved = process.env.KEEL_REDIS;
    process.env.KEEL_REDIS = "redis://:hunter2secret@127.0.0.1:6379";
    try {
      const r = await runCli(["serve", "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("--redis <url>");
      expect(r.stdout).not.toContain("hunter2secret");
    } finally {
      if (saved === undefined) delete process.env.KEEL_REDIS;
      else process.env.KEEL_REDIS = saved;
    }
  });
});
