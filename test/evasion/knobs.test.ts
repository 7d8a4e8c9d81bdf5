/**
 * The world's camouflage knobs for adaptive attackers (src/world/raters/camouflage.ts):
 * gold_detection, easy_margin and wake_after do what they say, and a world that sets none of
 * them is what it was before they existed.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  parseWorldConfig,
  type RaterGroupConfig,
  simulatePanel,
  type WorldTruth,
} from "../../src/world/index.js";

const EVERY_ATTACKER = [
  { type: "flipper", count: 3 },
  { type: "backdoor", count: 3, claim: 0.5 },
  { type: "sleeper", count: 3 },
  { type: "sybil", count: 4, group_size: 2, goal: "flip" },
  { type: "length_poisoner", count: 3 },
  { type: "entity_promoter", count: 3 },
];

function world(attackers: unknown[], comparisons = 1500) {
  const config = parseWorldConfig({
    seed: 11,
    prompts: { count: 400 },
    comparisons: { count: comparisons, overlap: 3, gold_rate: 0.1 },
    trigger: { rate: 0.05 },
    panel: { raters: [{ type: "honest", count: 12 }, ...attackers] },
  });
  return simulatePanel(config);
}

/** Judgments the world marks as attacked, as (comparison, rater) with the comparison's truth. */
function attacked(truth: WorldTruth, type: string) {
  const ids = new Set(truth.raters.filter((r) => r.type === type).map((r) => r.rater_id));
  return truth.comparisons.flatMap((c) =>
    c.attacked_by.filter((r) => ids.has(r)).map((r) => ({ c, r })),
  );
}

describe("camouflage defaults", () => {
  const hash = (claim: number) => {
    const attackers = EVERY_ATTACKER.map((g) => (g.type === "backdoor" ? { ...g, claim } : g));
    const { judgments, truth } = world(attackers, 600);
    return createHash("sha256")
      .update(JSON.stringify(judgments))
      .update(JSON.stringify(truth))
      .digest("hex");
  };

  it("a world without the new keys is byte-identical to one made before they existed", () => {
    // Pinned from the code before camouflage.ts (git HEAD 0a483cb), every attacker type, with
    // the backdoor claiming at 0.5. Claims became paired at 087989b (src/world/assign.ts: a
    // claim no longer shifts the panel's stream), which changes every claiming world by design;
    // the same world with claim 0 kept its bytes through that change (ec78e66 and after).
    expect(hash(0)).toBe("4e5c0aee43e40a902c89d835cadae50b70de429ee90306de1ffe2f523079a70a");
    // The claiming world, pinned at 087989b.
    expect(hash(0.5)).toBe("8afcfaa7196cd125341c9488bcf423cfbc08d7a814355d32c4d4859833f23b6a");
  });

  it("resolves no camouflage key that was not given, and records only given ones", () => {
    const { truth } = world(EVERY_ATTACKER, 50);
    for (const g of truth.config.panel.raters as RaterGroupConfig[]) {
      expect(g).not.toHaveProperty("easy_margin");
      expect(g).not.toHaveProperty("wake_after");
      if (g.type !== "sleeper") expect(g).not.toHaveProperty("gold_detection");
    }
    for (const r of truth.raters) {
      expect(r.params).not.toHaveProperty("wake_after");
      if (r.type !== "sleeper") expect(r.params).not.toHaveProperty("gold_detection");
    }
    const set = world([{ type: "flipper", count: 3, gold_detection: 1, wake_after: 5 }], 50);
    const f = set.truth.raters.find((r) => r.type === "flipper")!;
    expect(f.params).toMatchObject({ rate: 1, gold_detection: 1, wake_after: 5 });
  });

  it("inactive settings (wake_after 0, gold_detection 0) change no vote", () => {
    const plain = world([{ type: "flipper", count: 3 }]);
    const idle = world([{ type: "flipper", count: 3, wake_after: 0, gold_detection: 0 }]);
    expect(idle.judgments).toEqual(plain.judgments);
  });

  it("rejects out-of-range values, naming the field", () => {
    expect(() => world([{ type: "flipper", count: 3, gold_detection: 1.5 }])).toThrow(
      /gold_detection/,
    );
    expect(() => world([{ type: "backdoor", count: 3, wake_after: -1 }])).toThrow(/wake_after/);
    expect(() => world([{ type: "honest", count: 3, easy_margin: 0.5 }])).toThrow(/easy_margin/);
  });
});

describe("camouflage knobs", () => {
  it("gold_detection 1: a flipper never poisons a gold item (it does without)", () => {
    const base = attacked(world([{ type: "flipper", count: 4 }]).truth, "flipper");
    expect(base.some(({ c }) => c.gold)).toBe(true);
    const hid = attacked(
      world([{ type: "flipper", count: 4, gold_detection: 1 }]).truth,
      "flipper",
    );
    expect(hid.length).toBeGreaterThan(0);
    expect(hid.some(({ c }) => c.gold)).toBe(false);
  });

  it("gold_detection 1 on a sybil team: the operator hides on gold for every account", () => {
    const g = { type: "sybil", count: 4, group_size: 4, goal: "flip" };
    expect(attacked(world([g]).truth, "sybil").some(({ c }) => c.gold)).toBe(true);
    const hid = attacked(world([{ ...g, gold_detection: 1 }]).truth, "sybil");
    expect(hid.length).toBeGreaterThan(0);
    expect(hid.some(({ c }) => c.gold)).toBe(false);
  });

  it("easy_margin: a sleeper poisons only comparisons closer than the margin", () => {
    const gap = (c: WorldTruth["comparisons"][number]) => Math.abs(c.quality_a - c.quality_b);
    const base = attacked(world([{ type: "sleeper", count: 4 }]).truth, "sleeper");
    expect(base.some(({ c }) => gap(c) >= 0.5)).toBe(true);
    const hid = attacked(world([{ type: "sleeper", count: 4, easy_margin: 0.5 }]).truth, "sleeper");
    expect(hid.length).toBeGreaterThan(0);
    expect(hid.every(({ c }) => gap(c) < 0.5)).toBe(true);
  });

  it("wake_after: each attacker's first N judgments are honest, and it attacks after", () => {
    const N = 40;
    for (const g of [
      { type: "sleeper", count: 3, wake_after: N },
      { type: "length_poisoner", count: 3, wake_after: N },
    ]) {
      const { truth } = world([g]);
      const ids = truth.raters.filter((r) => r.type === g.type).map((r) => r.rater_id);
      for (const id of ids) {
        const mine = truth.comparisons.filter((c) => c.raters.includes(id));
        expect(mine.length).toBeGreaterThan(N);
        expect(mine.slice(0, N).some((c) => c.attacked_by.includes(id))).toBe(false);
        expect(mine.slice(N).some((c) => c.attacked_by.includes(id))).toBe(true);
      }
    }
  });

  it("wake_after restarts with every simulation of the world (same judgments twice)", () => {
    const g = [{ type: "flipper", count: 3, wake_after: 20 }];
    expect(world(g).judgments).toEqual(world(g).judgments);
  });
});
