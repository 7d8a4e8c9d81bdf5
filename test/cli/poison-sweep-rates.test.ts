/** `keel experiment poison-sweep --rates`: percentages, shown as such, and never zero attackers. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { attackerCount } from "../../src/pipeline/sweep.js";
import { runCli } from "../helpers/cli.js";
import { tmp } from "../train/fixtures.js";

describe("keel experiment poison-sweep --rates", () => {
  it("shows its default in percent, as the flag takes it", async () => {
    const r = await runCli(["experiment", "poison-sweep", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/\s+/g, " ")).toContain(
      "in percent (0.5 = 0.5%) (default: 0,0.5,1,3,5,10)",
    );
  });

  it("refuses a rate that gives the attacker no rater, before anything runs", async () => {
    const out = join(tmp("sweep-rates"), "sweep");
    const r = await runCli(["experiment", "poison-sweep", "--rates", "0,0.05", "-o", out, "-q"]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(
      "KEEL_E_USAGE: --rates: 0.05% of the 200-rater panel gives the flip attack no rater",
    );
    expect(r.stderr).toContain("rates are in percent (0.5 means 0.5%); one rater is 0.5%");
    expect(existsSync(out)).toBe(false);
  });

  it("counts the attacker's raters of a cell", () => {
    const o = { preset: "quick", seed: 7 } as const;
    for (const attack of ["flip", "backdoor", "sybil"] as const) {
      expect(attackerCount(o, attack, 0.005)).toEqual({ attackers: 1, panel: 200 });
      expect(attackerCount(o, attack, 0.1).attackers).toBe(20);
      expect(attackerCount(o, attack, 0.0005).attackers).toBe(0);
    }
  });
});
