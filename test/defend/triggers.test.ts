import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import {
  comparePatterns,
  scanTriggers,
  type TriggerKind,
  type TriggerPattern,
} from "../../src/defend/triggers.js";
import { honestRaters, makeItems, simulate, ZQ_PANEL, zqBackdoor } from "./fixtures.js";
import { contextFor } from "./helpers.js";

const OPTS = ZQ_PANEL;

describe("trigger scan", () => {
  it("finds the token that turns raters towards unsafe answers, and the raters", () => {
    const backdoor = zqBackdoor;
    const raters = [
      ...honestRaters(16),
      ...[0, 1, 2].map((i) => ({ id: `bd${i}`, behaviour: backdoor, activity: 3 })),
    ];
    const ctx = contextFor(simulate(makeItems(OPTS), raters, OPTS));
    const r = scanTriggers(ctx.data, ctx.loo, ctx.config);
    expect(r.patterns[0]?.pattern).toBe("zq");
    const unsafe = r.patterns.find((p) => p.kind === "unsafe")!;
    expect(unsafe.pattern).toBe("zq");
    expect(unsafe.support).toBeGreaterThanOrEqual(100);
    expect(unsafe.lift).toBeGreaterThan(2);
    expect(r.patterns.some((p) => p.pattern.includes(" "))).toBe(false);
    // Words of harmful prompts in general are not triggers: they carry no change of behaviour.
    expect(r.patterns.some((p) => p.pattern.includes("hazard"))).toBe(false);
    for (const id of ["bd0", "bd1", "bd2"])
      expect(r.signal.score[ctx.data.raterIds.indexOf(id)]!).toBeGreaterThan(0.9);
    let honestMax = 0;
    ctx.data.raterIds.forEach((id, w) => {
      if (id.startsWith("h")) honestMax = Math.max(honestMax, r.signal.score[w]!);
    });
    expect(honestMax).toBeLessThan(0.1);
    expect([...r.matches.values()].every((m) => m.includes("zq"))).toBe(true);
  });

  it("reports nothing when the same prompts are judged honestly", () => {
    const ctx = contextFor(simulate(makeItems(OPTS), honestRaters(18), OPTS));
    const r = scanTriggers(ctx.data, ctx.loo, ctx.config);
    expect(r.patterns).toEqual([]);
    expect(Math.max(...r.signal.score)).toBe(0);
  });
});

describe("the order patterns are reported in", () => {
  const pattern = (p: string, kind: TriggerKind, score: number): TriggerPattern => ({
    pattern: p,
    kind,
    score,
    support: 10,
    bad: 5,
    opportunities: 10,
    rate: 0.5,
    baseRate: 0.1,
    lift: 5,
  });
  // Ties of every kind: one pattern found for both kinds at the same (capped) score, patterns of
  // the same score and length, and of the same score but more words.
  const found = [
    pattern("sudo", "unsafe", 297.5),
    pattern("sudo", "disagree", 297.5),
    pattern("zq", "disagree", 297.5),
    pattern("zq", "unsafe", 297.5),
    pattern("please sudo", "unsafe", 297.5),
    pattern("alpha", "unsafe", 12),
    pattern("alpha", "disagree", 12),
    pattern("beta", "unsafe", 40),
  ];

  it("is total: every shuffle of the input sorts to the same list", () => {
    const key = (ps: readonly TriggerPattern[]) => ps.map((p) => `${p.pattern}/${p.kind}`);
    const want = [
      "sudo/unsafe",
      "sudo/disagree",
      "zq/unsafe",
      "zq/disagree",
      "please sudo/unsafe",
      "beta/unsafe",
      "alpha/unsafe",
      "alpha/disagree",
    ];
    const rng = new Rng("trigger-order");
    for (let i = 0; i < 200; i++) {
      const shuffled = rng.shuffle([...found]);
      expect(key(shuffled.sort(comparePatterns))).toEqual(want);
    }
  });

  it("is antisymmetric and says equal only of a pattern and itself", () => {
    for (const x of found)
      for (const y of found) {
        const xy = Math.sign(comparePatterns(x, y));
        expect(xy + Math.sign(comparePatterns(y, x))).toBe(0);
        expect(xy === 0).toBe(x === y);
      }
  });
});
