/** `keel serve-model --refusal-log`: checked before serving; a failed append does not fail the request. */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { refusalLog } from "../../src/cli/actions/serve-model.js";
import { refusal } from "../helpers/errors.js";

describe("the refusal log", () => {
  it("appends one JSON line per refusal", () => {
    const file = join(mkdtempSync(join(tmpdir(), "keel-refusals-")), "refusals.jsonl");
    const append = refusalLog(file, (e) => {
      throw e;
    });
    append({ event: "guarded_refusal", request_id: "r1" });
    append({ event: "guarded_refusal", request_id: "r2" });
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.request_id)).toEqual(["r1", "r2"]);
  });

  it("refuses a path it cannot write before serving, naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-refusals-"));
    const e = refusal(() => refusalLog(join(dir, "missing", "r.jsonl"), () => undefined));
    expect(e.code).toBe("KEEL_E_FILE");
    expect(e.where).toMatchObject({ field: "--refusal-log" });
    expect(e.message).toContain("no such file or directory");
  });

  it("reports a failed append (a full disk) and goes on, instead of throwing into the request", () => {
    const errors: unknown[] = [];
    // /dev/full opens and refuses every write with ENOSPC.
    const append = refusalLog("/dev/full", (e) => errors.push(e));
    expect(() => append({ event: "guarded_refusal" })).not.toThrow();
    expect(errors).toHaveLength(1);
    expect((errors[0] as NodeJS.ErrnoException).code).toBe("ENOSPC");
  });
});
