/**
 * An attacker group that cast no adversarial vote is refused (src/world/attackDose.ts), for every
 * attacker type: a world whose flipper slept through its `wake_after`, whose sleeper drew no
 * poisoned vote at a small rate, or whose entity promoter saw no comparison naming its entity
 * would be a clean panel measured as an attack. Driven the way simulateComparisons drives it
 * (whose own check, once it constructs AttackDose, throws the same error first).
 */
import { describe, expect, it } from "vitest";
import { KeelError } from "../../src/core/errors.js";
import { ADVERSARIAL, AttackDose } from "../../src/world/attackDose.js";
import {
  buildWorld,
  parseWorldConfig,
  RATER_TYPES,
  type SimulatedComparison,
  simulateComparisons,
} from "../../src/world/index.js";

const SMALL = { prompts: { count: 300 }, sft: { count: 0 }, eval_pairs: { count: 0 } };

/** The world's comparisons through an AttackDose, and what it said at the end. */
function dose(config: unknown): { sims: SimulatedComparison[]; error?: KeelError } {
  const world = buildWorld(parseWorldConfig(config));
  const d = new AttackDose(world);
  const sims: SimulatedComparison[] = [];
  try {
    for (const sim of simulateComparisons(world)) {
      d.add(sim);
      sims.push(sim);
    }
    d.check();
  } catch (e) {
    if (e instanceof KeelError) return { sims, error: e };
    throw e;
  }
  return { sims };
}

function refusal(config: unknown): { sims: SimulatedComparison[]; error: KeelError } {
  const { sims, error } = dose(config);
  if (error === undefined) throw new Error("the world was not refused");
  return { sims, error };
}

/** Judgments cast by the raters of `group` (`flipper#1`, or a sybil's `sybil#1/0` teams). */
function judgmentsOf(sims: readonly SimulatedComparison[], config: unknown, group: string) {
  const world = buildWorld(parseWorldConfig(config));
  const ids = new Set(
    world.roster.raters
      .filter((r) => r.profile.group === group || r.profile.group.startsWith(`${group}/`))
      .map((r) => r.profile.rater_id),
  );
  return sims.reduce((n, s) => n + s.truth.raters.filter((id) => ids.has(id)).length, 0);
}

describe("an attacker group that cast no adversarial vote", () => {
  it("is refused when wake_after outlasts its judgments, naming the group, its size, the seed, its judgments and wake_after", () => {
    const config = {
      ...SMALL,
      seed: 5,
      comparisons: { count: 60, overlap: 3 },
      panel: {
        raters: [
          { type: "honest", count: 12 },
          { type: "flipper", count: 3, wake_after: 50 },
        ],
      },
    };
    const { sims, error: e } = refusal(config);
    const judged = judgmentsOf(sims, config, "flipper#1");
    expect(judged).toBeGreaterThan(0);
    expect(e.code).toBe("KEEL_E_CONFIG");
    expect(e.where?.field).toBe("panel.raters.1.wake_after");
    expect(e.detail).toContain("flipper group flipper#1 (panel.raters.1, 3 raters)");
    expect(e.detail).toContain("seed 5");
    expect(e.detail).toContain(`its raters cast ${judged} judgments`);
    expect(e.detail).toContain("wake_after 50");
    expect(e.hint).toContain("lower wake_after below");
    expect(e.hint).toContain("comparisons.count (60)");
  });

  it("is refused at a small rate over few comparisons, with rate, count and the group's size as knobs", () => {
    const config = {
      ...SMALL,
      seed: 2,
      comparisons: { count: 30, overlap: 3, gold_rate: 0 },
      panel: {
        size: 20,
        raters: [
          { type: "honest", share: 0.95 },
          { type: "sleeper", share: 0.05, rate: 0.01 },
        ],
      },
    };
    const { sims, error: e } = refusal(config);
    expect(e.where?.field).toBe("panel.raters.1");
    expect(e.detail).toContain("sleeper group sleeper#1 (panel.raters.1, 1 rater)");
    expect(e.detail).toContain(`cast ${judgmentsOf(sims, config, "sleeper#1")} judgment`);
    expect(e.detail).toContain("rate 0.01");
    expect(e.hint).toContain("panel.raters.1.rate (0.01)");
    expect(e.hint).toContain("comparisons.count (30)");
    expect(e.hint).toContain("panel.raters.1.share");
  });

  it("names a sybil group by its config index, its raters across teams, and the team's turns", () => {
    // wake_after counts the operator's decisions: one per comparison a member of its team took.
    const config = {
      ...SMALL,
      seed: 1,
      comparisons: { count: 40, overlap: 3 },
      panel: {
        raters: [
          { type: "honest", count: 10 },
          { type: "sybil", count: 4, group_size: 2, goal: "flip", wake_after: 30 },
        ],
      },
    };
    const { sims, error: e } = refusal(config);
    expect(e.where?.field).toBe("panel.raters.1.wake_after");
    expect(e.detail).toContain("sybil group sybil#1 (panel.raters.1, 4 raters)");
    expect(e.detail).toContain(`cast ${judgmentsOf(sims, config, "sybil#1")} judgments`);
    expect(e.hint).toContain("comparisons one of its teams took");
  });

  it("names what its rule needs: an entity promoter's mentions", () => {
    const config = {
      ...SMALL,
      seed: 3,
      comparisons: { count: 40, overlap: 3 },
      entities: { mention_rate: 0.01 },
      panel: {
        raters: [
          { type: "honest", count: 10 },
          { type: "entity_promoter", count: 2 },
        ],
      },
    };
    const { error: e } = refusal(config);
    expect(e.detail).toContain("entity_promoter group entity_promoter#1");
    expect(e.hint).toContain("entities.mention_rate");
    expect(e.hint).not.toContain(".rate ("); // at rate 1 there is no rate to raise
  });

  it("is refused when its raters were given no comparison", () => {
    const config = {
      ...SMALL,
      seed: 1,
      comparisons: { count: 10, overlap: 1 },
      panel: {
        raters: [
          { type: "honest", count: 10 },
          { type: "length_poisoner", count: 1, activity: 1e-6 },
        ],
      },
    };
    const { error: e } = refusal(config);
    expect(e.detail).toContain("length_poisoner group length_poisoner#1");
    expect(e.detail).toContain("its raters cast 0 judgments");
    expect(e.hint).toContain("given no comparison");
    expect(e.hint).toContain("panel.raters.1.activity");
  });

  it("keeps the backdoor's own refusal, naming trigger.rate", () => {
    const { error: e } = refusal({
      ...SMALL,
      seed: 4,
      comparisons: { count: 20, overlap: 3 },
      trigger: { rate: 0.01 },
      panel: {
        raters: [
          { type: "honest", count: 9 },
          { type: "backdoor", count: 3, claim: 0.9 },
        ],
      },
    });
    expect(e.where?.field).toBe("trigger.rate");
    expect(e.detail).toContain("drew none");
    expect(e.hint).toContain("comparisons.count ≥ 500");
  });
});

describe("groups the dose check lets through", () => {
  const ATTACKERS = RATER_TYPES.filter((t) => ADVERSARIAL[t]);

  it("counts every type but honest and careless as an attacker", () => {
    expect(ATTACKERS).toEqual([
      "flipper",
      "backdoor",
      "sleeper",
      "sybil",
      "length_poisoner",
      "entity_promoter",
    ]);
  });

  it.each(ATTACKERS)("a %s group at rate 0 (a sweep's control), or of no rater", (type) => {
    const base = {
      ...SMALL,
      seed: 4,
      comparisons: { count: 20, overlap: 3 },
      trigger: { rate: 0.01 },
    };
    const control = dose({
      ...base,
      panel: {
        raters: [
          { type: "honest", count: 9 },
          { type, count: 3, rate: 0 },
        ],
      },
    });
    expect(control.error).toBeUndefined();
    expect(control.sims.every((s) => s.truth.attacked_by.length === 0)).toBe(true);
    const empty = dose({
      ...base,
      panel: {
        raters: [
          { type: "honest", count: 9 },
          { type, count: 0 },
        ],
      },
    });
    expect(empty.error).toBeUndefined();
  });

  it("a world of no comparisons, and an attacker that did attack", () => {
    const panel = {
      raters: [
        { type: "honest", count: 9 },
        { type: "flipper", count: 3, wake_after: 5 },
      ],
    };
    expect(dose({ ...SMALL, comparisons: { count: 0 }, panel }).error).toBeUndefined();
    const fired = dose({ ...SMALL, seed: 5, comparisons: { count: 200, overlap: 3 }, panel });
    expect(fired.error).toBeUndefined();
    expect(fired.sims.some((s) => s.truth.attacked_by.length > 0)).toBe(true);
  });
});
