/**
 * A rater the audit measured nothing on gets reliability null ("not measured"), not 0 (which
 * reads as always wrong) nor the ~1 its own judgments gave it when they were alone on their
 * comparisons (which reads as the best rater there is), in memory, in the audit JSON, read back
 * by `parseAuditJson`, in the HTML report, and through `keel audit --out` and
 * `keel export --clean --audit`. Counted: judgments whose cleaned posterior holds more than the
 * judgment itself — a gold answer, or another rater's judgment the refit weighs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { audit, auditToJson, parseAuditJson } from "../../src/defend/index.js";
import { type AuditReportData, renderAuditReport } from "../../src/report/index.js";
import { runCli } from "../helpers/cli.js";

function judgment(c: string, rater: string, choice: "a" | "b", gold?: "a" | "b"): Judgment {
  return {
    comparison_id: c,
    prompt: `question ${c}`,
    response_a: `first answer to ${c}`,
    response_b: `second answer to ${c}`,
    rater_id: rater,
    choice,
    ...(gold !== undefined ? { gold } : {}),
  };
}

/**
 * Three raters sharing 30 comparisons; `loner` alone on ten others (no gold); `gold-loner` alone
 * on five with gold answers, all wrong; `contrarian` against the panel on ten shared comparisons
 * and alone on twenty more.
 */
function panel(): Judgment[] {
  const js: Judgment[] = [];
  for (let k = 0; k < 30; k++) {
    const truth = k % 2 === 0 ? "a" : "b";
    for (const [w, slip] of [
      ["r0", 7],
      ["r1", 5],
      ["r2", 4],
    ] as const)
      js.push(judgment(`c${k}`, w, (k % slip === 0) !== (truth === "a") ? "a" : "b"));
    if (k < 10) js.push(judgment(`c${k}`, "contrarian", truth === "a" ? "b" : "a"));
  }
  for (let k = 0; k < 10; k++) js.push(judgment(`alone${k}`, "loner", k % 3 ? "a" : "b"));
  for (let k = 0; k < 5; k++) js.push(judgment(`gold${k}`, "gold-loner", "b", "a"));
  for (let k = 0; k < 20; k++) js.push(judgment(`mine${k}`, "contrarian", k % 2 ? "a" : "b"));
  return js;
}

const result = audit({ judgments: panel() });
const byId = (id: string) => result.raters.find((r) => r.rater_id === id)!;

describe("reliability of a rater the audit could not measure", () => {
  it("is null for a rater whose judgments are all alone on their comparisons", () => {
    expect(byId("loner").judgments).toBe(10);
    expect(byId("loner").reliability).toBeNull();
    for (const id of ["r0", "r1", "r2"]) {
      expect(byId(id).reliability).toBeGreaterThan(0.5);
      expect(byId(id).reliability).toBeLessThanOrEqual(1);
    }
  });

  it("is measured on comparisons alone with a gold answer (here: always wrong, 0)", () => {
    expect(byId("gold-loner").reliability).toBe(0);
  });

  it("leaves out a rater's judgments nobody else made: they would raise it towards 1", () => {
    // Ten judgments against three agreeing raters; the twenty alone count for nothing.
    expect(byId("contrarian").reliability).toBeLessThan(0.2);
  });

  it("is null in the audit JSON, and parseAuditJson reads it back as null", () => {
    const json = auditToJson(result);
    const text = JSON.stringify(json);
    expect(text).toContain('{"rater_id":"loner","reliability":null,');
    expect(text).not.toMatch(/NaN/);
    const back = parseAuditJson(JSON.parse(text));
    expect(back.raters.find((r) => r.rater_id === "loner")!.reliability).toBeNull();
    expect(back.raters.find((r) => r.rater_id === "gold-loner")!.reliability).toBe(0);
  });

  it("still reads an audit written before null (0 there), and still refuses a non-number", () => {
    const old = auditToJson(result) as { raters: Record<string, unknown>[] };
    const raters = old.raters.map((r) => (r.reliability === null ? { ...r, reliability: 0 } : r));
    const back = parseAuditJson({ ...old, raters });
    expect(back.raters.find((r) => r.rater_id === "loner")!.reliability).toBe(0);
    for (const bad of ["0.5", -0.1, 1.5])
      expect(() =>
        parseAuditJson({ ...old, raters: [{ ...raters[0]!, reliability: bad }] }, "a.json"),
      ).toThrow(/not an audit JSON/);
  });

  it('shows "–" with its meaning in the HTML report, not 0', async () => {
    const page = await renderAuditReport(auditToJson(result) as unknown as AuditReportData);
    const row = (id: string) => {
      const at = page.indexOf(`<tr><td><code>${id}</code>`);
      return page.slice(at, page.indexOf("</tr>", at));
    };
    expect(row("loner")).toMatch(
      /<td class="num" title="not measured: no judgment of this rater could be checked[^"]*">–<\/td>/,
    );
    expect(row("gold-loner")).toMatch(/<td class="num">0<\/td><td class="num">/);
    expect(row("r0")).not.toContain("not measured");
  });
});

describe("keel audit --out and keel export --clean --audit with an unmeasured rater", () => {
  it("writes null, reports it, and reads the file back to clean with it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-reliability-null-"));
    const jfile = join(dir, "judgments.jsonl");
    writeFileSync(
      jfile,
      `${panel()
        .map((j) => JSON.stringify(j))
        .join("\n")}\n`,
    );
    const out = join(dir, "audit.json");
    const report = join(dir, "audit.html");
    const r = await runCli(["audit", "--in", jfile, "--out", out, "--report", report, "-q"]);
    expect(r.code, r.stderr).toBe(0);
    const written = JSON.parse(readFileSync(out, "utf8"));
    const loner = written.raters.find((x: { rater_id: string }) => x.rater_id === "loner");
    expect(loner.reliability).toBeNull();
    expect(readFileSync(report, "utf8")).toContain('title="not measured:');
    const db = join(dir, "keel.db");
    expect((await runCli(["init", "--db", db, "-q"])).code).toBe(0);
    expect((await runCli(["import", jfile, "--db", db, "-q"])).code).toBe(0);
    const rows = join(dir, "clean.jsonl");
    const e = await runCli([
      ...["export", "-f", "trl", "-o", rows, "--clean", "--audit", out, "--db", db, "-q"],
    ]);
    expect(e.code, e.stderr).toBe(0);
    expect(readFileSync(rows, "utf8").trim().split("\n").length).toBeGreaterThan(0);
  });
});
