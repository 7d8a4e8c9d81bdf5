/** `keel experiment poison-sweep`'s cell directories, checked before any cell runs. */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runPoisonSweep, sweepCellConfig } from "../../src/pipeline/sweep.js";
import { tempDir } from "../helpers/stores.js";

describe("poison sweep cell directories", () => {
  it("refuses a later cell's finished run without --resume before the first cell runs", async () => {
    const out = tempDir("keel-sweep-cells-");
    // What an earlier sweep left in its second cell.
    mkdirSync(join(out, "flip-0.05"));
    writeFileSync(
      join(out, "flip-0.05", "state.json"),
      '{"format":"keel-run-state/1","stages":{}}',
    );
    await expect(
      runPoisonSweep({
        out,
        attacks: ["flip"],
        rates: [0, 0.05],
        preset: "quick",
        seed: 5,
        resume: false,
      }),
    ).rejects.toMatchObject({
      code: "KEEL_E_USAGE",
      message: `${join(out, "flip-0.05")} already holds a run`,
    });
    expect(existsSync(join(out, "clean"))).toBe(false);
  });
});

describe("poison sweep cell names", () => {
  const o = {
    out: "/tmp/s",
    attacks: [],
    rates: [],
    preset: "quick",
    seed: 1,
    resume: false,
  } as const;

  it("names a cell's run by its rate as written, not its floating-point product", () => {
    // 7% is 0.07 as a share, and 0.07 × 100 is 7.000000000000001.
    expect(sweepCellConfig(o, "flip", 7 / 100).name).toBe("sweep-flip-7pct");
    expect(sweepCellConfig(o, "flip", 0.7 / 100).name).toBe("sweep-flip-0_7pct");
  });

  it("puts a cell in the directory its rate names (0.7% in flip-0.007)", async () => {
    const out = tempDir("keel-sweep-names-");
    mkdirSync(join(out, "flip-0.007"));
    writeFileSync(
      join(out, "flip-0.007", "state.json"),
      '{"format":"keel-run-state/1","stages":{}}',
    );
    // 0.7 / 100 is 0.006999999999999999: the cell is the one already there.
    await expect(
      runPoisonSweep({ ...o, out, attacks: ["flip"], rates: [0.7 / 100] }),
    ).rejects.toThrow(`${join(out, "flip-0.007")} already holds a run`);
  });
});
