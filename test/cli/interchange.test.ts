/**
 * What `keel import` and `keel export` say about the data they pass on: every comparison or
 * judgment a format leaves out is counted with its reason, and an exported table reads back.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/stores.js";

const dir = tempDir();
const at = (name: string) => join(dir, name);
const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`;

function judgment(id: string, rater: string, choice: string, a = "x", b = "y") {
  return {
    comparison_id: id,
    prompt: `p-${id}`,
    response_a: a,
    response_b: b,
    rater_id: rater,
    choice,
  };
}

async function storeWith(name: string, rows: unknown[]): Promise<string> {
  const db = at(`${name}.db`);
  expect((await runCli(["init", "--db", db])).code).toBe(0);
  if (rows.length === 0) return db;
  writeFileSync(at(`${name}.jsonl`), jsonl(rows));
  const r = await runCli(["import", at(`${name}.jsonl`), "--db", db, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return db;
}

describe("keel export --clean", () => {
  it("counts and names the comparisons the audit leaves out", async () => {
    const db = await storeWith("clean", [
      judgment("c1", "r1", "a"),
      judgment("c1", "r2", "a"),
      judgment("c2", "r1", "b"),
      judgment("c3", "r1", "tie"),
      judgment("c4", "r1", "a"),
      judgment("c5", "r1", "a"), // judged after the audit was made
    ]);
    const audit = at("audit.json");
    const cmp = (id: string, p_a: number, weight: number, excluded: boolean) => ({
      comparison_id: id,
      p_a,
      weight,
      excluded,
      reasons: [],
    });
    writeFileSync(
      audit,
      JSON.stringify({
        raters: [],
        groups: [],
        triggers: [],
        comparisons: [
          cmp("c1", 0.9, 1, false),
          cmp("c2", 0.2, 0.5, false),
          cmp("c3", 0.5, 1, false),
          cmp("c4", 0.9, 1, true),
        ],
      }),
    );
    const out = at("clean.jsonl");
    const args = ["export", "-f", "trl", "-o", out, "--clean", "--audit", audit, "--db", db];
    const json = await runCli([...args, "--json"]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      judgments: 6,
      written: 2,
      skipped: 0,
      dropped: { excluded: 1, undecided: 1, unaudited: 1 },
    });
    expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(2);
    const text = await runCli(args);
    expect(text.stdout).toContain(
      "; left out 3 comparisons: 1 excluded by the audit, 1 without a preference (p_a = 0.5), 1 not in the audit",
    );
  });
});

describe("keel export -f crowd-kit-pairwise", () => {
  it("skips a judgment of two identical responses, says why, and the table reads back", async () => {
    const db = await storeWith("pairs", [
      judgment("c1", "r1", "a"),
      judgment("c2", "r1", "tie"),
      judgment("c3", "r1", "b", "same", "same"),
    ]);
    const out = at("pairs.csv");
    const r = await runCli(["export", "-f", "crowd-kit-pairwise", "-o", out, "--db", db]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      "wrote 1 rows to " +
        out +
        " (crowd-kit-pairwise) from 3 judgments; skipped 1 tie (no chosen/rejected), 1 judgment of two identical responses (no preferred item)",
    );
    const json = await runCli([
      "export",
      "-f",
      "crowd-kit-pairwise",
      "-o",
      out,
      "--db",
      db,
      "--json",
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      written: 1,
      skipped: 2,
      skips: { tie: 1, identical: 1 },
    });
    // keel's own reader refuses a row whose left and right are one item: none may be written.
    const back = await storeWith("pairs-back", []);
    const imp = await runCli(["import", out, "--db", back, "--json"]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(JSON.parse(imp.stdout)).toMatchObject({ format: "crowd-kit-pairwise", appended: 1 });
  });
});

describe("keel export -f openrlhf", () => {
  it('refuses the key "__proto__", which would drop the margin unseen', async () => {
    const db = await storeWith("orl", [judgment("c1", "r1", "a")]);
    const r = await runCli([
      ...["export", "-f", "openrlhf", "-o", at("orl.jsonl"), "--clean", "--margin"],
      ...["--margin-key", "__proto__", "--db", db],
    ]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('OpenRLHF margin key "__proto__" is not allowed');
  });
});

describe("keel import raters", () => {
  it("refuses a rater given twice with other attributes, and says nothing of unchanged raters", async () => {
    const db = await storeWith("raters", []);
    const file = at("raters.jsonl");
    writeFileSync(
      file,
      jsonl([
        { rater_id: "r1", attributes: { locale: "de" } },
        { rater_id: "r2" },
        { rater_id: "r2", attributes: {} },
        { rater_id: "r1", attributes: { locale: "fr" } },
      ]),
    );
    const r = await runCli(["import", file, "--db", db]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(
      `${file}:4: attributes: rater "r1" is given again with other attributes (first on line 1)`,
    );
    const skip = await runCli(["import", file, "--db", db, "--skip-invalid"]);
    expect(skip.code, skip.stderr).toBe(0);
    expect(skip.stdout).toContain(`imported 2 raters from ${file}: 4 read, 1 rejected`);
    const stats = JSON.parse((await runCli(["stats", "--db", db, "--json"])).stdout);
    expect(JSON.stringify(stats)).not.toContain('"fr"');
  });
});
