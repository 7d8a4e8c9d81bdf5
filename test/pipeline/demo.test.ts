import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runDemo } from "../../src/pipeline/demo.js";
import { tempDir } from "../helpers/stores.js";

describe("keel demo --quick", () => {
  it("writes a run directory and shows the defended arm ahead where adversaries voted", async () => {
    const out = join(tempDir(), "demo");
    const s = await runDemo({ out, quick: true, seed: 7 });
    for (const f of ["summary.json", "audit.json", "manifest.json", "config.yaml", "keel.db"])
      expect(existsSync(join(out, f))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))).toEqual(
      JSON.parse(JSON.stringify(s)),
    );
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
    expect(manifest.seeds).toEqual({ world: 7 });
    expect(manifest.stages.map((x: { stage: string }) => x.stage)).toEqual([
      "world",
      "collect",
      "ledger",
      "audit",
      "aggregate",
    ]);
    expect(s.ledger.ok).toBe(true);
    expect(s.judgments).toBe(s.ledger.head_seq);
    expect(s.adversarial_raters).toBeGreaterThan(0);
    expect(s.arms.defended.attacked).toBeGreaterThan(s.arms.undefended.attacked);
    expect(s.detection.adversaries_flagged).toBeGreaterThan(0);
    expect(s.detection.honest_excluded).toBe(0);
  });
});
