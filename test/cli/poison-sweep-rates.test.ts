/** `keel experiment poison-sweep --rates`: percentages, shown as such, and never zero attackers. */
import { existsSync, writeFileSync } from "node:fs";
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

describe("keel experiment poison-sweep: repeated values", () => {
  // A repeated cell writes the same run directory twice: without --resume the second refused
  // it (after the first had run), with --resume its rows were counted twice.
  it("refuses an attack or a rate given twice, before anything runs", async () => {
    const out = join(tmp("sweep-twice"), "sweep");
    const attacks = await runCli([
      "experiment",
      "poison-sweep",
      "--attacks",
      "flip,flip",
      "-o",
      out,
      "-q",
    ]);
    expect(attacks.code).toBe(64);
    expect(attacks.stderr).toContain('KEEL_E_USAGE: --attacks: "flip" is given twice');
    const rates = await runCli([
      "experiment",
      "poison-sweep",
      "--rates",
      "1,0.5,1.0",
      "-o",
      out,
      "-q",
    ]);
    expect(rates.code).toBe(64);
    expect(rates.stderr).toContain('KEEL_E_USAGE: --rates: "1.0" is given twice');
    expect(existsSync(out)).toBe(false);
  });
});

describe("--seed 0", () => {
  // A pipeline config takes seed 0; the commands that make one took only positive seeds.
  it("is a seed for keel demo and keel experiment poison-sweep, as in a pipeline config", async () => {
    const dir = tmp("seed-zero");
    // Both stop at a check that comes after the flags are parsed, before anything runs.
    writeFileSync(join(dir, "notes.txt"), "not a run");
    const demo = await runCli(["demo", "--quick", "--seed", "0", "--out", dir, "-q"]);
    expect(demo.code).toBe(64);
    expect(demo.stderr).toContain(`${dir} holds other files (notes.txt), not a keel run`);
    const sweep = await runCli([
      "experiment",
      "poison-sweep",
      "--seed",
      "0",
      "--rates",
      "0.05",
      "-o",
      join(dir, "s"),
      "-q",
    ]);
    expect(sweep.code).toBe(64);
    expect(sweep.stderr).toContain("--rates: 0.05% of the 200-rater panel");
    expect((await runCli(["demo", "--seed", "-1", "-q"])).stderr).toContain(
      "--seed must be an integer ≥ 0",
    );
  });
});
