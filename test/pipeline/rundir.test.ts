/** A run directory's record across a resume: the inputs a run began with are held to. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RunDir } from "../../src/pipeline/rundir.js";

describe("RunDir.open", () => {
  it("keeps the record on resume, adopts an input it did not name, refuses one changed or gone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-rundir-"));
    const out = join(dir, "run");
    const [a, b] = [join(dir, "a.jsonl"), join(dir, "b.jsonl")];
    writeFileSync(a, "one\n");
    writeFileSync(b, "two\n");
    const first = RunDir.open(out, { seed: 1 }, (r) => r.recordInput("a", a), false);
    await first.stage("first", () => undefined);
    const { created_at } = first.manifest;
    // Resumed with one more input (as a newer keel records more): taken in, record kept.
    const second = RunDir.open(
      out,
      { seed: 1 },
      (r) => {
        r.recordInput("a", a);
        r.recordInput("b", b);
      },
      true,
    );
    await second.stage("second", () => undefined);
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(m.created_at).toBe(created_at);
    expect(Object.keys(m.inputs).sort()).toEqual(["a", "b"]);
    expect(m.stages.map((s: { stage: string }) => s.stage)).toEqual(["first", "second"]);
    // Changed, then gone.
    writeFileSync(a, "one, edited\n");
    expect(() => RunDir.open(out, { seed: 1 }, (r) => r.recordInput("a", a), true)).toThrow(
      /cannot resume: a changed since the run began \(sha256 [0-9a-f]{12}… then, [0-9a-f]{12}… now\)/,
    );
    writeFileSync(a, "one\n");
    expect(() => RunDir.open(out, { seed: 1 }, (r) => r.recordInput("a", a), true)).toThrow(
      /cannot resume: b is gone since the run began/,
    );
    // Without resume, a new record.
    const fresh = RunDir.open(out, { seed: 2 }, () => undefined, false);
    expect(fresh.manifest.seeds).toEqual({ seed: 2 });
    expect(fresh.manifest.inputs).toEqual({});
    expect(fresh.manifest.onnxruntime_version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
