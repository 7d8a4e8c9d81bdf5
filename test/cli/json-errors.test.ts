/**
 * With --json, every error is one JSON object on stderr, whoever found it: keel's own checks and
 * commander's (an unknown or mistyped option, a missing required option or argument, an unknown
 * subcommand), so that a script reading stderr can parse it. Without --json they stay text.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

const CASES: { args: string[]; says: string }[] = [
  { args: ["stats", "--tpo", "3"], says: "--tpo" },
  { args: ["stats", "--top", "0"], says: "--top" },
  { args: ["users", "add", "bob"], says: "--role" },
  { args: ["users", "add", "--role", "rater"], says: "login" },
  { args: ["ledger", "verfy"], says: "verfy" },
  { args: ["stat"], says: "stat" },
  { args: ["ledger"], says: "--json" },
];

describe("usage errors with --json", () => {
  it("are one JSON object on stderr with KEEL_E_USAGE and exit code 64, nothing on stdout", async () => {
    for (const c of CASES) {
      const r = await runCli([...c.args, "--json"]);
      expect(r.code, c.args.join(" ")).toBe(64);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trim().split("\n");
      expect(lines, r.stderr).toHaveLength(1);
      const e = JSON.parse(lines[0]!).error;
      expect(e.code).toBe("KEEL_E_USAGE");
      expect(e.message).toContain(c.says);
    }
  });

  it("stay text, with commander's suggestion, without --json", async () => {
    const r = await runCli(["stats", "--tpo", "3"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("error: unknown option '--tpo'");
    expect(r.stderr).toContain("Did you mean --top?");
  });
});
