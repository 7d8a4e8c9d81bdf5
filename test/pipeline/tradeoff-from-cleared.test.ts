/**
 * `keel experiment tradeoff` empties a point's directory in --out (and the cost model's) before
 * it writes there. A --from run that lies in one of them would be deleted under the experiment
 * reading it: refused up front, through a symbolic link too, and the run is left as it was.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { runTradeoff } from "../../src/pipeline/tradeoff.js";
import { tempDir } from "../helpers/stores.js";

function runIn(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.yaml"), "name: kept\n");
  return dir;
}

async function refusal(o: Parameters<typeof runTradeoff>[0]): Promise<KeelError> {
  try {
    await runTradeoff(o);
  } catch (e) {
    if (e instanceof KeelError) return e;
    throw e;
  }
  throw new Error("not refused");
}

describe("experiment tradeoff with --from inside a directory it empties", () => {
  const base = { kl: [0.05], costThresholds: [], arm: "defended" as const };

  it("refuses a run in a point's directory, and leaves it there", async () => {
    const out = tempDir();
    const from = runIn(join(out, "kl-0.05"));
    const e = await refusal({ ...base, from, out });
    expect(e.code).toBe("KEEL_E_USAGE");
    expect(e.detail).toContain(`--from ${from} is inside ${join(out, "kl-0.05")}`);
    expect(readFileSync(join(from, "config.yaml"), "utf8")).toBe("name: kept\n");
  });

  it("refuses a run in the cost model's directory when there are cost thresholds", async () => {
    const out = tempDir();
    const from = runIn(join(out, "cost", "run"));
    const e = await refusal({ ...base, costThresholds: [0.1], from, out });
    expect(e.detail).toContain(`is inside ${join(out, "cost")}`);
    expect(existsSync(join(from, "config.yaml"))).toBe(true);
  });

  it("sees through a symbolic link to the run", async () => {
    const out = tempDir();
    const real = runIn(join(out, "kl-0.05", "deep"));
    const link = join(tempDir(), "link");
    symlinkSync(real, link);
    const e = await refusal({ ...base, from: link, out });
    expect(e.detail).toContain("is inside");
  });

  it("lets through a run beside those directories (it fails later, as not a run)", async () => {
    const out = tempDir();
    const from = runIn(join(out, "runs", "kl-0.05"));
    const e = await refusal({ ...base, costThresholds: [], from, out });
    expect(e.detail).not.toContain("is inside");
  });
});
