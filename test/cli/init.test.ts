/** `keel init --json` tells a script what the text tells a person: the migrations it applied. */
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { PG_URL, tempDir } from "../helpers/stores.js";

describe("keel init --json", () => {
  it("lists the migrations applied, and none when the schema was up to date", async () => {
    const db = join(tempDir("keel-init-"), "k.db");
    const first = await runCli(["init", "--db", db, "--json"]);
    expect(first.code, first.stderr).toBe(0);
    const a = JSON.parse(first.stdout);
    expect(a.applied.length).toBeGreaterThan(0);
    expect(a.applied[0]).toBe("0001_initial");
    expect(a).toMatchObject({ db, dialect: "sqlite", head: { seq: 0 } });
    const again = JSON.parse((await runCli(["init", "--db", db, "--json"])).stdout);
    expect(again.applied).toEqual([]);
    const text = await runCli(["init", "--db", db]);
    expect(text.stdout).toContain("schema up to date");
  });
});

describe("keel init on PostgreSQL", () => {
  it("names the schema it set up (a URL's ?schema= is not in the printed location)", async () => {
    const schema = `keel_init_${process.pid}`;
    const url = `${PG_URL}?schema=${schema}`;
    try {
      const r = await runCli(["init", "--db", url, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ dialect: "postgres", schema });
      const text = await runCli(["init", "--db", url]);
      expect(text.stdout).toContain(`, schema ${schema} (postgres)`);
    } finally {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });
});
