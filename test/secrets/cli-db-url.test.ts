/**
 * A `--db postgres://user:password@…` URL: the password appears in nothing keel prints or
 * writes — error messages (plain and --json), the audit's HTML report — and the user does.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { writeUnanimousJudgments } from "../helpers/data.js";
import { tempDir } from "../helpers/stores.js";
import { passwordUrl } from "./helpers.js";

describe("a PostgreSQL password given in --db", () => {
  const { url, secret } = passwordUrl();
  const dir = tempDir("keel-secrets-cli-");

  it("is in no error about an empty store (aggregate, audit, model score)", async () => {
    const init = await runCli(["init", "--db", url, "--json"]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout + init.stderr).not.toContain(secret);
    const runs = [
      ["aggregate", "--db", url, "--json"],
      ["aggregate", "--db", url],
      ["audit", "--db", url, "--json"],
      ["audit", "--db", url, "--out", join(dir, "never.json")],
      ["model", "score", "--db", url, "-m", join(dir, "no-model")],
    ];
    for (const args of runs) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr, args.join(" ")).toContain("the store holds no judgments");
      expect(r.stderr, args.join(" ")).toContain("postgres:***@");
      expect(r.stdout + r.stderr, args.join(" ")).not.toContain(secret);
    }
  });

  it("is not in the audit's HTML report", async () => {
    const judgments = join(dir, "judgments.jsonl");
    writeUnanimousJudgments(judgments, ["r1", "r2", "r3"], ["c1", "c2"]);
    const imp = await runCli(["import", judgments, "--db", url, "-q"]);
    expect(imp.code, imp.stderr).toBe(0);
    const out = join(dir, "audit.json");
    const report = join(dir, "audit.html");
    const r = await runCli(["audit", "--db", url, "--out", out, "--report", report]);
    expect(r.code, r.stderr).toBe(0);
    // Not `toContain` on the page: a failure would print the whole report.
    const html = readFileSync(report, "utf8");
    expect(html.includes("postgres:***@")).toBe(true);
    expect(html.includes(secret)).toBe(false);
    expect(readFileSync(out, "utf8").includes(secret)).toBe(false);
    expect(r.stdout + r.stderr).not.toContain(secret);
  });
});
