/**
 * One block per rater detector: small constructed panels where it must fire, and the cases
 * where it must not (an honest but strict rater; a rater who only saw hard items; an honest
 * rater who saw only one kind of item; an over-cautious rater who prefers refusals).
 */
import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import { categoricalView, fitDawidSkene } from "../../src/defend/consensus.js";
import { agreementSignal } from "../../src/defend/signals/agreement.js";
import { entropySignal } from "../../src/defend/signals/entropy.js";
import { goldSignal } from "../../src/defend/signals/gold.js";
import { harmSignal } from "../../src/defend/signals/harm.js";
import { lengthSignal } from "../../src/defend/signals/length.js";
import { positionSignal } from "../../src/defend/signals/position.js";
import { reliabilitySignal } from "../../src/defend/signals/reliability.js";
import { speedSignal } from "../../src/defend/signals/speed.js";
import {
  type Behaviour,
  honest,
  honestRaters,
  makeItems,
  other,
  type PanelOptions,
  type RaterSpec,
  simulate,
} from "./fixtures.js";
import { contextFor, maxScore, scoreOf } from "./helpers.js";

const BASE: PanelOptions = { items: 700, overlap: 3, seed: 11, hardShare: 0.3 };

function panel(extra: RaterSpec[], opts: Partial<PanelOptions> = {}, honestCount = 14): Judgment[] {
  const o = { ...BASE, ...opts };
  return simulate(makeItems(o), [...honestRaters(honestCount), ...extra], o);
}

const sleeper: Behaviour = (item, rng) => other(honest()(item, rng) as "a" | "b");
/** Honest, but uses "tie" for a fifth of its answers and is more exacting than the crowd. */
const strict: Behaviour = (item, rng) =>
  rng.bernoulli(0.2) ? "tie" : honest(0.95, 0.7)(item, rng);
const onlyHard = (item: { hard: boolean }) => item.hard;

describe("agreement (leave-one-out, difficulty-adjusted)", () => {
  const js = panel([
    { id: "sleeper", behaviour: sleeper },
    { id: "strict", behaviour: strict },
    { id: "hardonly", behaviour: honest(), only: onlyHard, activity: 4 },
  ]);
  const ctx = contextFor(js);
  const s = agreementSignal(ctx);
  it("fires on a sleeper (no gold needed)", () => {
    expect(scoreOf(ctx, s, "sleeper")).toBeGreaterThan(0.95);
  });
  it("fires on a coin-flipping rater where the crowd agrees well above chance", () => {
    const clear = panel(
      [{ id: "coin", behaviour: (_i, rng) => (rng.bernoulli(0.5) ? "a" : "b"), activity: 2 }],
      { hardShare: 0.1 },
    );
    const c = contextFor(clear);
    expect(scoreOf(c, agreementSignal(c), "coin")).toBeGreaterThan(0.9);
  });
  it("does not fire on honest raters, a strict one, or one who saw only hard items", () => {
    expect(maxScore(ctx, s, "h")).toBeLessThan(0.15);
    expect(scoreOf(ctx, s, "strict")).toBeLessThan(0.1);
    expect(scoreOf(ctx, s, "hardonly")).toBeLessThan(0.1);
  });
  it("reports the plain agreement rate beside the others' agreement", () => {
    const w = ctx.data.raterIds.indexOf("sleeper");
    const st = s.stats[w]!;
    expect(st.agreement!).toBeLessThan(st.others_agreement!);
    expect(s.reason(w)).toMatch(/agrees with the other raters/);
  });
});

describe("reliability (Dawid–Skene-weighted agreement)", () => {
  const js = panel([
    { id: "sleeper", behaviour: sleeper },
    { id: "hardonly", behaviour: honest(), only: onlyHard, activity: 4 },
    { id: "strict", behaviour: strict },
  ]);
  const ctx = contextFor(js);
  const fit = fitDawidSkene(categoricalView(ctx.data));
  const s = reliabilitySignal(ctx, fit);
  it("fires on a sleeper", () => expect(scoreOf(ctx, s, "sleeper")).toBeGreaterThan(0.95));
  it("does not blame a rater for hard items, nor a strict rater", () => {
    expect(scoreOf(ctx, s, "hardonly")).toBeLessThan(0.1);
    expect(scoreOf(ctx, s, "strict")).toBeLessThan(0.1);
    expect(maxScore(ctx, s, "h")).toBeLessThan(0.15);
  });
  it("reports the model's own reliability", () => {
    const w = ctx.data.raterIds.indexOf("sleeper");
    expect(s.stats[w]!.model_reliability!).toBeLessThan(0.5);
  });
});

describe("gold accuracy (Beta posterior)", () => {
  const js = panel(
    [
      {
        id: "wrong",
        behaviour: (item, rng) => (rng.bernoulli(0.5) ? item.better : other(item.better)),
        activity: 6,
      },
      {
        id: "sleeper-gold-honest",
        behaviour: (item, rng) => (item.gold ? item.better : sleeper(item, rng, "a")),
      },
    ],
    { goldShare: 0.3 },
  );
  const ctx = contextFor(js);
  const s = goldSignal(ctx);
  it("fires on a rater at chance on gold", () =>
    expect(scoreOf(ctx, s, "wrong")).toBeGreaterThan(0.9));
  it("does not fire on honest raters, nor on a sleeper who answers gold honestly", () => {
    expect(maxScore(ctx, s, "h")).toBeLessThan(0.3);
    expect(scoreOf(ctx, s, "sleeper-gold-honest")).toBeLessThan(0.05);
  });
  it("one miss in two gold items is weak evidence", () => {
    const few: Judgment[] = [0, 1].map((i) => ({
      comparison_id: `g${i}`,
      prompt: "p",
      response_a: "x",
      response_b: "y",
      rater_id: "r",
      choice: i === 0 ? "a" : "b",
      gold: "a",
    }));
    const c = contextFor(few);
    expect(scoreOf(c, goldSignal(c), "r")).toBeLessThan(0.35);
  });
  it("is silent without gold, and gold can be switched off", () => {
    const c = contextFor(js, {}, false);
    expect(maxScore(c, goldSignal(c), "")).toBe(0);
  });
});

describe("answer entropy", () => {
  const js = panel([
    { id: "alwaysA", behaviour: () => "a" },
    // Sees only comparisons where A is better, answers "a": right every time, not careless.
    { id: "onlyAbetter", behaviour: () => "a", only: (item) => item.better === "a", activity: 2 },
    { id: "hardonly", behaviour: honest(), only: onlyHard, activity: 4 },
  ]);
  const ctx = contextFor(js);
  const s = entropySignal(ctx);
  it("fires on an always-A rater", () => expect(scoreOf(ctx, s, "alwaysA")).toBeGreaterThan(0.99));
  it("does not fire where the others give the same answer, nor on honest raters", () => {
    expect(scoreOf(ctx, s, "onlyAbetter")).toBeLessThan(0.05);
    expect(scoreOf(ctx, s, "hardonly")).toBeLessThan(0.05);
    expect(maxScore(ctx, s, "h")).toBeLessThan(0.15);
  });
});

describe("response time against text length", () => {
  const js = panel([
    {
      id: "fast",
      behaviour: (_i, rng) => (rng.bernoulli(0.5) ? "a" : "b"),
      baseMs: 300,
      msPerWord: 0,
    },
    { id: "slow", behaviour: honest(), msPerWord: 120 },
  ]);
  const ctx = contextFor(js);
  const s = speedSignal(ctx);
  it("fires on a rater faster than the text can be read", () =>
    expect(scoreOf(ctx, s, "fast")).toBeGreaterThan(0.99));
  it("does not fire on honest or slow raters", () => {
    expect(maxScore(ctx, s, "h")).toBeLessThan(0.01);
    expect(scoreOf(ctx, s, "slow")).toBeLessThan(0.01);
  });
  it("is silent without latencies", () => {
    const bare = js.map(({ latency_ms: _drop, ...j }) => j);
    const c = contextFor(bare);
    expect(maxScore(c, speedSignal(c), "")).toBe(0);
  });
});

describe("position bias", () => {
  const firstShown: Behaviour = (_item, _rng, shownFirst) => shownFirst ?? "a";
  const js = panel([{ id: "first", behaviour: firstShown }], { swapShare: 0.5 });
  const ctx = contextFor(js);
  const s = positionSignal(ctx);
  it("fires on a rater who picks whatever is shown first (honouring shown_order)", () => {
    expect(scoreOf(ctx, s, "first")).toBeGreaterThan(0.99);
    // As stored, that rater's choices are half a, half b: entropy cannot see it, position can.
    const w = ctx.data.raterIds.indexOf("first");
    expect(s.stats[w]!.position_first_share).toBe(1);
  });
  it("does not fire on honest raters", () => expect(maxScore(ctx, s, "h")).toBeLessThan(0.05));
});

describe("length bias", () => {
  const js = panel([
    { id: "longer", behaviour: (item) => item.longer },
    { id: "shorter", behaviour: (item) => other(item.longer) },
  ]);
  const ctx = contextFor(js);
  const s = lengthSignal(ctx);
  it("fires on a rater who always picks the longer response", () =>
    expect(scoreOf(ctx, s, "longer")).toBeGreaterThan(0.99));
  it("by default does not fire towards shorter responses (only with direction both)", () => {
    expect(scoreOf(ctx, s, "shorter")).toBeLessThan(0.01);
    const both = contextFor(js, { signals: { length: { direction: "both" } } });
    expect(scoreOf(both, lengthSignal(both), "shorter")).toBeGreaterThan(0.99);
  });
  it("does not fire on honest raters", () => expect(maxScore(ctx, s, "h")).toBeLessThan(0.05));
});

describe("harm: preferring flagged responses, disagreement concentrated on harm", () => {
  const js = panel(
    [
      { id: "flipper", behaviour: (item, rng) => item.unsafe ?? honest()(item, rng) },
      // Disagrees only on harmful prompts, but by tying, so it never prefers the flagged side.
      { id: "tieonharm", behaviour: (item, rng) => (item.unsafe ? "tie" : honest()(item, rng)) },
      // Over-cautious but honest: always the refusal on harmful prompts (which is right).
      {
        id: "refuser",
        behaviour: (item, rng) => (item.unsafe ? other(item.unsafe) : honest()(item, rng)),
      },
    ],
    { harmfulShare: 0.25 },
  );
  const ctx = contextFor(js);
  const s = harmSignal(ctx);
  it("fires on a label flipper", () => {
    expect(scoreOf(ctx, s, "flipper")).toBeGreaterThan(0.99);
    expect(s.reason(ctx.data.raterIds.indexOf("flipper"))).toMatch(/flags/);
  });
  it("fires on disagreement reserved for harmful prompts", () =>
    expect(scoreOf(ctx, s, "tieonharm")).toBeGreaterThan(0.9));
  it("does not fire on honest raters or an over-cautious one", () => {
    expect(maxScore(ctx, s, "h")).toBeLessThan(0.15);
    expect(scoreOf(ctx, s, "refuser")).toBeLessThan(0.01);
  });
});
