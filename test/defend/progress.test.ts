/** On a terminal, a long audit shows what it is doing on stderr; with --json it stays quiet. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { judgmentToJson } from "../../src/io/formats/judgments.js";
import { runCli } from "../helpers/cli.js";
import { makeJudgments } from "../helpers/data.js";

const dir = mkdtempSync(join(tmpdir(), "keel-audit-progress-"));
const file = join(dir, "j.jsonl");
writeFileSync(
  file,
  makeJudgments(4, 3)
    .map((j) => `${JSON.stringify(judgmentToJson(j))}\n`)
    .join(""),
);

const wasTty = process.stderr.isTTY;
afterEach(() => {
  process.stderr.isTTY = wasTty;
});

describe("keel audit progress", () => {
  it("reports reading and scoring on a terminal, and nothing with --json", async () => {
    process.stderr.isTTY = true;
    const r = await runCli(["audit", "--in", file, "--out", join(dir, "a.json")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("audit: reading");
    expect(r.stderr).toContain("12 judgments");
    expect(r.stderr).toContain(
      "audit: scoring 12 judgments (signals, groups, triggers, promotions)…",
    );
    const quiet = await runCli(["audit", "--in", file, "--json"]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain("audit:");
  });
});
