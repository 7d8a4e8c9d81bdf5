/**
 * On a terminal, `keel aggregate` shows its reading (from a file as from the store) and says when
 * it fits, as `keel audit` does: at a million judgments a fit runs for a minute; --quiet and a
 * non-terminal stderr stay silent.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { judgmentToJson } from "../../src/io/formats/judgments.js";
import { runCli } from "../helpers/cli.js";
import { makeJudgments } from "../helpers/data.js";

const dir = mkdtempSync(join(tmpdir(), "keel-aggregate-progress-"));
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

describe("keel aggregate progress", () => {
  it("reports reading and fitting on a terminal, and nothing with --quiet", async () => {
    process.stderr.isTTY = true;
    const r = await runCli(["aggregate", "--in", file, "--out", join(dir, "a.json")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("reading");
    expect(r.stderr).toContain("12 judgments");
    expect(r.stderr).toContain("aggregate: fitting dawid-skene to 12 judgments…");
    const quiet = await runCli(["aggregate", "--in", file, "--out", join(dir, "b.json"), "-q"]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain("aggregate:");
    expect(quiet.stderr).not.toContain("reading");
  });

  it("says nothing of it when stderr is not a terminal", async () => {
    process.stderr.isTTY = false;
    const r = await runCli(["aggregate", "--in", file, "--out", join(dir, "c.json")]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("aggregate:");
  });
});
