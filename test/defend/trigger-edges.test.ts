import { describe, expect, it } from "vitest";
import { audit } from "../../src/defend/audit.js";
import { scanTriggers } from "../../src/defend/triggers.js";
import { honestRaters, makeItems, simulate, ZQ_PANEL, zqBackdoor } from "./fixtures.js";
import { contextFor } from "./helpers.js";

const OPTS = ZQ_PANEL;
const backdoor = zqBackdoor;

describe("trigger signal for a rater seen only on triggered prompts", () => {
  // A backdoor panel plus one rater offered nothing but harmful prompts that carry the trigger:
  // they have no judgment elsewhere, so no rate elsewhere to compare with (n_out = 0), which the
  // signal reads as a base rate of 0 rather than 0/0.
  const judgments = simulate(
    makeItems(OPTS),
    [
      ...honestRaters(16),
      ...[0, 1, 2].map((i) => ({ id: `bd${i}`, behaviour: backdoor, activity: 3 })),
      {
        id: "only-trig",
        behaviour: backdoor,
        activity: 3,
        only: (item) => item.prompt.endsWith(" zq") && item.unsafe !== undefined,
      },
    ],
    OPTS,
  );

  it("gives a finite score with other_bad_rate 0", () => {
    const ctx = contextFor(judgments);
    const r = scanTriggers(ctx.data, ctx.loo, ctx.config);
    expect(r.patterns.find((p) => p.kind === "unsafe")?.pattern).toBe("zq");
    const w = ctx.data.raterIds.indexOf("only-trig");
    const mine = judgments.filter((j) => j.rater_id === "only-trig");
    expect(mine.length).toBeGreaterThanOrEqual(5);
    // Every one of their judgments is on a comparison that carries the pattern.
    for (let j = 0; j < ctx.data.nJudgments; j++)
      if (ctx.data.rater[j] === w) expect(r.matches.has(ctx.data.comparison[j]!)).toBe(true);
    const s = r.signal.stats[w]!;
    expect(s.other_bad_rate).toBe(0);
    expect(s.trigger_judgments).toBe(mine.length);
    expect(s.trigger_bad_rate).toBe(1);
    expect(Number.isFinite(r.signal.score[w]!)).toBe(true);
    // Always unsafe on the trigger, against 0 elsewhere: as suspect as the other backdoor raters.
    expect(r.signal.score[w]!).toBeGreaterThan(0.9);
  });

  it("lets audit() finish and rank the rater as suspicious", () => {
    const result = audit({ judgments });
    const row = result.raters.find((x) => x.rater_id === "only-trig")!;
    expect(Number.isFinite(row.suspicion)).toBe(true);
    expect(row.verdict).not.toBe("trusted");
  });
});
