/**
 * The world's own draw refuses an attacker that never attacked (src/world/attackDose.ts, as
 * simulateComparisons constructs it): `keel world generate` on a flipper that sleeps through its
 * `wake_after` exits with the config error and writes nothing, where before it wrote a clean
 * panel under a flipper's name with exit 0.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { parseWorldConfig, simulatePanel } from "../../src/world/index.js";
import { runCli } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "keel-attack-dose-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SLEEPY = `seed: 5
prompts: { count: 300 }
comparisons: { count: 60, overlap: 3 }
sft: { count: 0 }
eval_pairs: { count: 0 }
panel:
  raters:
    - { type: honest, count: 12 }
    - { type: flipper, count: 3, wake_after: 50 }
`;

describe("a world whose attacker never attacked", () => {
  it("is refused by simulatePanel", () => {
    const config = parseWorldConfig({
      seed: 5,
      prompts: { count: 300 },
      comparisons: { count: 60, overlap: 3 },
      sft: { count: 0 },
      eval_pairs: { count: 0 },
      panel: {
        raters: [
          { type: "honest", count: 12 },
          { type: "flipper", count: 3, wake_after: 50 },
        ],
      },
    });
    let error: unknown;
    try {
      simulatePanel(config);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeelError);
    expect((error as KeelError).code).toBe("KEEL_E_CONFIG");
    expect((error as KeelError).detail).toContain("flipper#1");
  });

  it("is not written by keel world generate", async () => {
    writeFileSync(join(dir, "sleepy.yaml"), SLEEPY);
    const out = join(dir, "sleepy");
    const r = await runCli(["world", "generate", "-c", join(dir, "sleepy.yaml"), "-o", out, "-q"]);
    expect(r.code, r.stderr).toBe(78);
    expect(r.stderr).toContain("flipper#1");
    expect(r.stderr).toContain("wake_after");
    expect(existsSync(out)).toBe(false);
  });
});
