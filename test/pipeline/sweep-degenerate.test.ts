/**
 * A poison sweep with no cell (no attack, or no rate) is refused before --out is touched: it
 * wrote a sweep.md of headers alone and returned as a finished sweep.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isKeelError } from "../../src/core/errors.js";
import { runPoisonSweep } from "../../src/pipeline/sweep.js";
import { tempDir } from "../helpers/stores.js";

describe("a poison sweep with no cell", () => {
  it.each([
    [[], [0.05]],
    [["flip" as const], []],
  ])("attacks %j × rates %j is refused, and --out is left alone", async (attacks, rates) => {
    const out = join(tempDir(), "sweep");
    const e = await runPoisonSweep({ out, attacks, rates, preset: "quick", seed: 1, resume: false })
      .then(() => undefined)
      .catch((x: unknown) => x);
    expect(isKeelError(e) && e.code).toBe("KEEL_E_USAGE");
    expect((e as Error).message).toContain("a poison sweep needs at least one attack and one rate");
    expect(existsSync(out)).toBe(false);
  });
});
