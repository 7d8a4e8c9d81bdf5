/** A run directory's record across a resume: the inputs a run began with are held to. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
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

  it("records the seeds the resumed run goes on with, as config.yaml does", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "keel-rundir-seed-")), "run");
    await RunDir.open(out, { pipeline: 7 }, () => undefined, false).saveManifest();
    // A new seed re-runs every stage that depends on it: the record must not keep the old one.
    const resumed = RunDir.open(out, { pipeline: 8 }, () => undefined, true);
    await resumed.saveManifest();
    const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(m.seeds).toEqual({ pipeline: 8 });
  });

  it("records a checkpoint by its config.json, an ensemble by ensemble.json and each member's", () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-rundir-ck-"));
    const ens = join(dir, "rm");
    mkdirSync(join(ens, "member-0"), { recursive: true });
    mkdirSync(join(ens, "member-1"), { recursive: true });
    writeFileSync(
      join(ens, "ensemble.json"),
      JSON.stringify({ members: ["member-0", "member-1"] }),
    );
    writeFileSync(join(ens, "member-0", "config.json"), "{}");
    writeFileSync(join(ens, "member-1", "config.json"), '{"step":1}');
    const run = RunDir.open(
      join(dir, "run"),
      {},
      (r) => {
        r.recordCheckpoint("reward.model", ens);
        r.recordCheckpoint("policy.init", join(ens, "member-0"));
        r.recordCheckpoint("missing", join(dir, "nowhere"));
      },
      false,
    );
    expect(Object.keys(run.manifest.inputs).sort()).toEqual([
      "policy.init/config.json",
      "reward.model/ensemble.json",
      "reward.model/member-0/config.json",
      "reward.model/member-1/config.json",
    ]);
    expect(run.manifest.inputs["reward.model/member-0/config.json"]).toBe(
      run.manifest.inputs["policy.init/config.json"],
    );
  });
});
