/** An audit file a newer keel wrote in another layout is refused, not read as this one. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanPlanFor } from "../../src/cli/actions/audit.js";
import { readPairs } from "../../src/cli/actions/pair-files.js";
import { parseAuditJson } from "../../src/defend/index.js";
import { failure, refusal } from "../helpers/errors.js";

const empty = { raters: [], comparisons: [], groups: [], triggers: [] };

describe("the audit JSON's format", () => {
  it("refuses keel-audit/2 and reads keel-audit/1, no format, or another tool's", () => {
    const e = refusal(() => parseAuditJson({ format: "keel-audit/2", ...empty }, "a.json"));
    expect(e.code).toBe("KEEL_E_INVALID_RECORD");
    expect(e.message).toMatch(/"keel-audit\/2".*reads keel-audit\/1/);
    expect(e.where).toMatchObject({ file: "a.json", field: "format" });
    for (const format of ["keel-audit/1", undefined, "my-tool/3"])
      expect(parseAuditJson({ ...(format ? { format } : {}), ...empty }).raters).toEqual([]);
  });

  it("refuses it as the trainers' audit weights too", () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-audit-format-"));
    const data = join(dir, "judgments.jsonl");
    writeFileSync(
      data,
      `${JSON.stringify({ comparison_id: "c", prompt: "p", response_a: "a", response_b: "b", choice: "a" })}\n`,
    );
    const weights = join(dir, "audit.json");
    const comparison = { comparison_id: "c", p_a: 1, weight: 1, excluded: false, reasons: [] };
    writeFileSync(weights, JSON.stringify({ format: "keel-audit/2", comparisons: [comparison] }));
    expect(refusal(() => readPairs(data, weights)).message).toMatch(/keel-audit\/2/);
  });

  it("is checked before the streamed comparisons of `export --clean --audit` (another layout's entries)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-audit-format-"));
    const file = join(dir, "audit.json");
    // A newer layout whose entries this keel cannot read, its format after the array.
    writeFileSync(
      file,
      JSON.stringify({ comparisons: [{ id: "c", p: [0.9, 0.1] }], format: "keel-audit/2" }),
    );
    const e = await failure(cleanPlanFor({ audit: file, db: join(dir, "unused.db") }));
    expect(e.where).toMatchObject({ file, field: "format" });
    expect(e.message).toMatch(/"keel-audit\/2".*reads keel-audit\/1/);
    // Without a newer format, the bad entry is what is reported.
    writeFileSync(file, JSON.stringify({ comparisons: [{ id: "c" }], format: "keel-audit/1" }));
    const bad = await failure(cleanPlanFor({ audit: file, db: join(dir, "unused.db") }));
    expect(bad.where?.field).toMatch(/^comparisons\.0\./);
  });
});
