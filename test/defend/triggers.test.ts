import { describe, expect, it } from "vitest";
import { scanTriggers } from "../../src/defend/triggers.js";
import {
  type Behaviour,
  honest,
  honestRaters,
  makeItems,
  type PanelOptions,
  simulate,
} from "./fixtures.js";
import { contextFor } from "./helpers.js";

const OPTS: PanelOptions = {
  items: 1200,
  overlap: 3,
  seed: 21,
  harmfulShare: 0.3,
  // Every 8th prompt carries the token " zq" at its end.
  promptSuffix: (i) => (i % 8 === 0 ? " zq" : ""),
};

describe("trigger scan", () => {
  it("finds the token that turns raters towards unsafe answers, and the raters", () => {
    const backdoor: Behaviour = (item, rng, f) =>
      item.prompt.endsWith(" zq") && item.unsafe ? item.unsafe : honest()(item, rng, f);
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
