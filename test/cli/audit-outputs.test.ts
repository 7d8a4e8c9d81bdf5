/** `keel audit`: every output checked before any is written; an empty input refused. */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { writeUnanimousJudgments } from "../helpers/data.js";
import { tmp } from "../train/fixtures.js";

describe("keel audit outputs and input", () => {
  const dir = tmp("audit-out");
  const judgments = join(dir, "judgments.jsonl");
  writeUnanimousJudgments(judgments, ["r1", "r2", "r3"], ["c1", "c2"]);

  it("a --report it cannot write leaves no --out behind", async () => {
    const out = join(dir, "a.json");
    const report = join(dir, "nodir", "r.html");
    const r = await runCli(["audit", "--in", judgments, "--out", out, "--report", report]);
    expect(r.code, r.stderr).toBe(66);
    expect(r.stderr).toContain(`KEEL_E_FILE: ${report}: cannot write: no such directory`);
    expect(existsSync(out)).toBe(false);
    const ok = await runCli(["audit", "--in", judgments, "--out", out, "-q"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  it("refuses an empty file, as keel aggregate does", async () => {
    const empty = join(dir, "empty.jsonl");
    writeFileSync(empty, "\n");
    const out = join(dir, "empty-audit.json");
    const r = await runCli(["audit", "--in", empty, "--out", out]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(`KEEL_E_INVALID_RECORD: ${empty}: no judgments in the file`);
    expect(existsSync(out)).toBe(false);
    const agg = await runCli(["aggregate", "--in", empty]);
    expect(agg.code).toBe(r.code);
  });
});
