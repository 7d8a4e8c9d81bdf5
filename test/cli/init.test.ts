/** `keel init --json` tells a script what the text tells a person: the migrations it applied. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

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
