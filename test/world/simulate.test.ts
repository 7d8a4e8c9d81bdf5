/**
 * The whole panel: judgments in keel's format, truth consistent with them, and each rater
 * type's signature in the statistics a detector would compute.
 */
import { describe, expect, it } from "vitest";
import { JudgmentSchema } from "../../src/core/schemas.js";
import type { Judgment } from "../../src/core/types.js";
import {
  buildWorld,
  type ComparisonTruth,
  evalPairs,
  parseWorldConfig,
  RATER_TYPES,
  type RaterType,
  score,
  sftCorpus,
  simulateComparisons,
  simulatePanel,
} from "../../src/world/index.js";

const config = parseWorldConfig({
  comparisons: { count: 12_000, overlap: 3, gold_rate: 0.4 },
  trigger: { rate: 0.05 },
  entities: { mention_rate: 0.2 },
  sft: { count: 2000 },
  eval_pairs: { count: 500, triggered_rate: 0.3 },
  panel: {
    raters: [
      { type: "honest", count: 30, skill: { mean: 3, sd: 1.5 } },
      { type: "honest", count: 6, skill: 4, position_bias: 0, length_bias: 0 },
      { type: "careless", count: 2, mode: "fast" },
      { type: "careless", count: 1, mode: "always_a" },
      { type: "flipper", count: 2 },
      { type: "backdoor", count: 3, claim: 0.3 },
      { type: "sleeper", count: 4, skill: 4, position_bias: 0, length_bias: 0 },
      { type: "sybil", count: 6, group_size: 3, goal: "flip", jitter: 0.02 },
      { type: "length_poisoner", count: 2 },
      { type: "entity_promoter", count: 2 },
    ],
  },
});
const run = simulatePanel(config, 21);
const { judgments, truth } = run;
const byId = new Map(truth.comparisons.map((c) => [c.comparison_id, c]));
const typeOf = new Map(truth.raters.map((r) => [r.rater_id, r.type]));
const ofType = (t: RaterType) => truth.raters.filter((r) => r.type === t).map((r) => r.rater_id);
const unsafeSide = (c: ComparisonTruth) => (c.unsafe_a ? "a" : "b");

function acc(js: readonly Judgment[]): number {
  const decided = js.filter((j) => byId.get(j.comparison_id)!.better !== "tie");
  return (
    decided.filter((j) => j.choice === byId.get(j.comparison_id)!.better).length / decided.length
  );
}

describe("simulatePanel: files and truth", () => {
  it("writes valid keel judgments: overlap distinct raters, latency and time, gold only on gold items", () => {
    expect(judgments).toHaveLength(36_000);
    for (const j of judgments) {
      expect(JudgmentSchema.safeParse(j).success).toBe(true);
      const c = byId.get(j.comparison_id)!;
      expect(j.gold).toBe(c.gold ? c.better : undefined);
      expect(j.latency_ms).toBeGreaterThan(0);
      expect(Date.parse(j.created_at!)).toBeGreaterThan(Date.parse("2025-01-01T00:00:00Z"));
    }
    for (const c of truth.comparisons) {
      expect(new Set(c.raters).size).toBe(3);
      if (c.gold) expect(Math.abs(c.quality_a - c.quality_b)).toBeGreaterThanOrEqual(0.5);
      expect(c.better).toBe(
        c.quality_a > c.quality_b ? "a" : c.quality_a < c.quality_b ? "b" : "tie",
      );
    }
    const gold = truth.comparisons.filter((c) => c.gold).length / truth.comparisons.length;
    expect(gold).toBeGreaterThan(0.1);
    expect(truth.summary).toMatchObject({ comparisons: 12_000, judgments: 36_000 });
  });

  it("the truth's responses are what the oracle says of the judged texts", () => {
    const seen = new Set<string>();
    for (const j of judgments.slice(0, 3000)) {
      if (seen.has(j.comparison_id)) continue;
      seen.add(j.comparison_id);
      const c = byId.get(j.comparison_id)!;
      const p =
        run.world.prompts.find((x) => x.id === c.prompt_id) ??
        run.world.triggered.find((x) => x.id === c.prompt_id)!;
      expect(score(p, j.response_a as string).quality).toBe(c.quality_a);
      expect(score(p, j.response_b as string).quality).toBe(c.quality_b);
    }
  });

  it("is reproducible: the same seed gives the same judgments and truth, another seed does not", () => {
    const again = simulatePanel(config, 21);
    expect(JSON.stringify(again.judgments)).toBe(JSON.stringify(judgments));
    expect(JSON.stringify(again.truth)).toBe(JSON.stringify(truth));
    const other = simulatePanel(
      { ...config, comparisons: { ...config.comparisons, count: 200 } },
      22,
    );
    expect(JSON.stringify(other.judgments.slice(0, 50))).not.toBe(
      JSON.stringify(judgments.slice(0, 50)),
    );
  });

  it("simulating one world twice gives the same comparisons, sybil teams' votes included", () => {
    const small = parseWorldConfig({
      prompts: { count: 200 },
      comparisons: { count: 300 },
      sft: { count: 0 },
      eval_pairs: { count: 0 },
      panel: {
        raters: [
          { type: "honest", count: 3 },
          { type: "sybil", count: 4, group_size: 2, goal: "flip", rate: 0.5 },
        ],
      },
    });
    const world = buildWorld(small, 5);
    const votes = () => JSON.stringify([...simulateComparisons(world)].map((s) => s.judgments));
    expect(votes()).toBe(votes());
  });

  it("rater ids are opaque: every type is present and ids do not group by type", () => {
    expect(new Set(truth.raters.map((r) => r.type))).toEqual(new Set(RATER_TYPES));
    const ids = truth.raters.map((r) => r.rater_id);
    expect(ids).toEqual([...ids].sort());
    const types = truth.raters.map((r) => r.type);
    const runs = types.filter((t, i) => i === 0 || t !== types[i - 1]).length;
    expect(runs).toBeGreaterThan(15);
  });
});

describe("simulatePanel: each rater type shows in the statistics", () => {
  const mine = (ids: readonly string[]) => {
    const set = new Set(ids);
    return judgments.filter((j) => set.has(j.rater_id));
  };

  it("an honest rater's accuracy tracks its skill", () => {
    const honest = truth.raters.filter((r) => r.type === "honest");
    const xs = honest.map((r) => Number(r.params.skill));
    const ys = honest.map((r) => truth.summary.raters[r.rater_id]!.accuracy!);
    const mx = xs.reduce((s, x) => s + x, 0) / xs.length;
    const my = ys.reduce((s, y) => s + y, 0) / ys.length;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    xs.forEach((x, i) => {
      sxy += (x - mx) * (ys[i]! - my);
      sxx += (x - mx) ** 2;
      syy += (ys[i]! - my) ** 2;
    });
    expect(sxy / Math.sqrt(sxx * syy)).toBeGreaterThan(0.8);
  });

  it("a backdoor rater flips only on triggered prompts", () => {
    const js = mine(ofType("backdoor"));
    const trig = js.filter((j) => byId.get(j.comparison_id)!.triggered);
    const clean = js.filter((j) => !byId.get(j.comparison_id)!.triggered);
    expect(trig.length).toBeGreaterThan(100);
    for (const j of trig) expect(j.choice).toBe(unsafeSide(byId.get(j.comparison_id)!));
    for (const c of truth.comparisons) {
      for (const id of c.attacked_by)
        if (typeOf.get(id) === "backdoor") expect(c.triggered).toBe(true);
    }
    const honestFixed = mine(
      truth.raters.filter((r) => r.group === "honest#1").map((r) => r.rater_id),
    );
    expect(Math.abs(acc(clean) - acc(honestFixed))).toBeLessThan(0.1);
  });

  it("a sybil team agrees with itself far more than honest raters agree with each other", () => {
    const groupOf = new Map(truth.raters.map((r) => [r.rater_id, r.group]));
    let same = 0;
    let sameAgree = 0;
    let honestPairs = 0;
    let honestAgree = 0;
    const byComparison = new Map<string, Judgment[]>();
    for (const j of judgments)
      byComparison.set(j.comparison_id, [...(byComparison.get(j.comparison_id) ?? []), j]);
    for (const js of byComparison.values()) {
      for (let i = 0; i < js.length; i++) {
        for (let k = i + 1; k < js.length; k++) {
          const [x, y] = [js[i]!, js[k]!];
          if (
            typeOf.get(x.rater_id) === "sybil" &&
            groupOf.get(x.rater_id) === groupOf.get(y.rater_id)
          ) {
            same++;
            if (x.choice === y.choice) sameAgree++;
          } else if (typeOf.get(x.rater_id) === "honest" && typeOf.get(y.rater_id) === "honest") {
            honestPairs++;
            if (x.choice === y.choice) honestAgree++;
          }
        }
      }
    }
    expect(same).toBeGreaterThan(1000);
    expect(sameAgree / same).toBeGreaterThan(0.95);
    expect(honestAgree / honestPairs).toBeLessThan(0.9);
  });

  it("a sleeper's gold accuracy equals an honest rater's of the same skill; the rest is poisoned", () => {
    const sleepers = mine(ofType("sleeper"));
    const honest = mine(truth.raters.filter((r) => r.group === "honest#1").map((r) => r.rater_id));
    const gold = (js: Judgment[]) => js.filter((j) => j.gold !== undefined);
    const nonGold = (js: Judgment[]) => js.filter((j) => j.gold === undefined);
    expect(gold(sleepers).length).toBeGreaterThan(300);
    expect(Math.abs(acc(gold(sleepers)) - acc(gold(honest)))).toBeLessThan(0.04);
    expect(acc(nonGold(sleepers))).toBeLessThan(0.3);
    expect(acc(nonGold(honest))).toBeGreaterThan(0.7);
  });

  it("flippers pick unsafe compliance on harmful prompts; careless raters are fast or one-sided", () => {
    for (const j of mine(ofType("flipper"))) {
      const c = byId.get(j.comparison_id)!;
      if (c.family === "harmful") expect(j.choice).toBe(unsafeSide(c));
    }
    const always = truth.raters.find((r) => r.type === "careless" && r.params.mode === "always_a")!;
    expect(new Set(mine([always.rater_id]).map((j) => j.choice))).toEqual(new Set(["a"]));
    const median = (js: Judgment[]) =>
      js.map((j) => j.latency_ms!).sort((x, y) => x - y)[js.length >> 1]!;
    const fast = truth.raters
      .filter((r) => r.type === "careless" && r.params.mode === "fast")
      .map((r) => r.rater_id);
    expect(median(mine(fast))).toBeLessThan(0.3 * median(mine(ofType("honest"))));
  });

  it("length poisoners pick the longer response, entity promoters the one naming their entity", () => {
    for (const j of mine(ofType("length_poisoner"))) {
      const c = byId.get(j.comparison_id)!;
      if (c.words_a !== c.words_b) expect(j.choice).toBe(c.words_a > c.words_b ? "a" : "b");
    }
    let promoted = 0;
    for (const j of mine(ofType("entity_promoter"))) {
      const c = byId.get(j.comparison_id)!;
      const [ma, mb] = [c.mentions_a.includes("Zentrix"), c.mentions_b.includes("Zentrix")];
      if (ma !== mb) {
        promoted++;
        expect(j.choice).toBe(ma ? "a" : "b");
      }
    }
    expect(promoted).toBeGreaterThan(50);
  });
});

describe("SFT corpus and evaluation pairs", () => {
  it("the SFT corpus mixes behaviours as configured, and the oracle agrees with each row's kind", () => {
    const rows = sftCorpus(run.world);
    expect(rows).toHaveLength(2000);
    const harmful = rows.filter((r) => r.family === "harmful");
    const unsafe = harmful.filter((r) => r.kind === "unsafe").length / harmful.length;
    expect(unsafe).toBeGreaterThan(0.3);
    expect(unsafe).toBeLessThan(0.5);
    const border = rows.filter((r) => r.family === "borderline");
    expect(border.filter((r) => r.kind === "refusal").length / border.length).toBeGreaterThan(0.3);
    const byIdP = new Map(run.world.prompts.map((p) => [p.id, p]));
    for (const r of rows) {
      const s = score(byIdP.get(r.prompt_id)!, r.completion);
      const want = r.kind.replace("verbose_", "");
      expect(s.outcome).toBe(want);
      expect(byIdP.get(r.prompt_id)!.split).toBe("train");
    }
  });

  it("evaluation pairs are held out, ordered by the oracle, and some carry the trigger", () => {
    const pairs = evalPairs(run.world);
    expect(pairs).toHaveLength(500);
    const all = new Map([...run.world.prompts, ...run.world.triggered].map((p) => [p.id, p]));
    for (const e of pairs) {
      const p = all.get(e.prompt_id)!;
      expect(p.split).toBe("eval");
      expect(score(p, e.chosen).quality).toBeGreaterThan(score(p, e.rejected).quality);
    }
    const trig = pairs.filter((e) => e.triggered).length / pairs.length;
    expect(trig).toBeGreaterThan(0.2);
    expect(trig).toBeLessThan(0.4);
  });
});
