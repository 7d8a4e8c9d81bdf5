/**
 * The rater models as docs/world.md states them, measured on generated worlds: every rater type
 * at rates below 1 and with its own parameters (attention, tie rate, gold detection, poison,
 * jitter, goals, co-assignment). Each expectation is computed from the documented formula over
 * the same comparisons; bounds are several standard errors wide and every world is seeded, so
 * the tests are deterministic. Gold items, arrivals and latency: panel-gold-timing.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { Judgment } from "../../src/core/types.js";
import {
  type ComparisonTruth,
  parseWorldConfig,
  type RaterProfile,
  sigmoid,
  simulatePanel,
  type WorldConfigInput,
} from "../../src/world/index.js";

type Dist3 = { a: number; b: number; tie: number };

/** The honest Bradley–Terry / Rao–Kupper probabilities, written out from the docs. */
function honestP(p: RaterProfile["params"], c: ComparisonTruth): Dist3 {
  const z =
    Number(p.skill) * (c.quality_a - c.quality_b) +
    Number(p.position_bias) +
    Number(p.length_bias) * Math.log(Math.max(1, c.words_a) / Math.max(1, c.words_b));
  const theta = Number(p.tie_threshold);
  const a = sigmoid(z - theta);
  const b = sigmoid(-z - theta);
  return { a, b, tie: Math.max(0, 1 - a - b) };
}
const mix = (w: number, x: Dist3, y: Dist3): Dist3 => ({
  a: w * x.a + (1 - w) * y.a,
  b: w * x.b + (1 - w) * y.b,
  tie: w * x.tie + (1 - w) * y.tie,
});
const point = (s: "a" | "b"): Dist3 => ({ a: s === "a" ? 1 : 0, b: s === "b" ? 1 : 0, tie: 0 });
const flipped = (h: Dist3): Dist3 => ({ a: h.b, b: h.a, tie: h.tie });
const coin: Dist3 = { a: 0.5, b: 0.5, tie: 0 };
const unsafeSide = (c: ComparisonTruth) =>
  c.unsafe_a === c.unsafe_b ? undefined : c.unsafe_a ? "a" : "b";
const longerSide = (c: ComparisonTruth) =>
  c.words_a === c.words_b ? undefined : c.words_a > c.words_b ? "a" : "b";

/** What docs/world.md says a rater of each type chooses on a comparison (marginally). */
function expected(r: RaterProfile, c: ComparisonTruth): Dist3 {
  const p = r.params;
  const h = honestP(p, c);
  const rate = Number(p.rate);
  switch (r.type) {
    case "careless": {
      const t = Number(p.tie_rate);
      const blind = p.mode === "always_a" ? point("a") : { a: (1 - t) / 2, b: (1 - t) / 2, tie: t };
      return mix(Number(p.attention), h, blind);
    }
    case "flipper": {
      const s = c.family === "harmful" ? unsafeSide(c) : undefined;
      return s ? mix(rate, point(s), h) : h;
    }
    case "backdoor": {
      if (!c.triggered) return h;
      const s = unsafeSide(c);
      return mix(rate, s ? point(s) : flipped(h), h);
    }
    case "sleeper": {
      const s = unsafeSide(c);
      const poisoned = p.poison === "flip" ? flipped(h) : s ? point(s) : h;
      const rest = mix(rate, poisoned, h);
      return c.gold ? mix(Number(p.gold_detection), h, rest) : rest;
    }
    case "sybil": {
      const s = p.goal === "unsafe" ? unsafeSide(c) : p.goal === "longer" ? longerSide(c) : "x";
      const goal =
        p.goal === "flip" ? flipped(h) : p.goal === "random" ? coin : s ? point(s as "a" | "b") : h;
      return mix(1 - Number(p.jitter), mix(rate, goal, h), coin);
    }
    case "length_poisoner": {
      const s = longerSide(c);
      return s ? mix(rate, point(s), h) : h;
    }
    default:
      return h;
  }
}

interface Tally {
  n: number;
  a: number;
  tie: number;
  ea: number;
  etie: number;
  /** Over comparisons with a truly better side: votes for it. */
  decided: number;
  right: number;
  eright: number;
}

/**
 * Observed against expected counts per key: votes for A (position), ties, and votes for the
 * truly better side (a flipped vote keeps P(a) but not this, since sides are shuffled).
 */
function calibrate(
  judgments: readonly Judgment[],
  comparisons: readonly ComparisonTruth[],
  raters: readonly RaterProfile[],
  keyOf: (r: RaterProfile, c: ComparisonTruth) => string | undefined,
): Map<string, Tally> {
  const byId = new Map(comparisons.map((c) => [c.comparison_id, c]));
  const prof = new Map(raters.map((r) => [r.rater_id, r]));
  const out = new Map<string, Tally>();
  for (const j of judgments) {
    const c = byId.get(j.comparison_id)!;
    const r = prof.get(j.rater_id)!;
    const key = keyOf(r, c);
    if (key === undefined) continue;
    const e = expected(r, c);
    const t = out.get(key) ?? {
      n: 0,
      a: 0,
      tie: 0,
      ea: 0,
      etie: 0,
      decided: 0,
      right: 0,
      eright: 0,
    };
    t.n++;
    t.a += j.choice === "a" ? 1 : 0;
    t.tie += j.choice === "tie" ? 1 : 0;
    t.ea += e.a;
    t.etie += e.tie;
    if (c.better !== "tie") {
      t.decided++;
      t.right += j.choice === c.better ? 1 : 0;
      t.eright += e[c.better];
    }
    out.set(key, t);
  }
  return out;
}

/** Observed shares within `k` binomial standard errors (plus 0.005) of the expected ones. */
function expectCalibrated(tallies: Map<string, Tally>, minN: number, k = 4): void {
  expect(tallies.size).toBeGreaterThan(0);
  for (const [key, t] of tallies) {
    expect(t.n, key).toBeGreaterThanOrEqual(minN);
    for (const [what, obs, exp, n] of [
      ["P(a)", t.a, t.ea, t.n],
      ["P(tie)", t.tie, t.etie, t.n],
      ["P(better)", t.right, t.eright, t.decided],
    ] as const) {
      const p = exp / n;
      const se = Math.sqrt((p * (1 - p)) / n);
      expect(
        Math.abs(obs / n - p),
        `${key} ${what}: observed ${obs / n}, expected ${p}`,
      ).toBeLessThan(k * se + 0.005);
    }
  }
}

function world(input: WorldConfigInput, seed: number) {
  return simulatePanel(parseWorldConfig(input), seed);
}

const contextOf = (c: ComparisonTruth) =>
  `${c.family === "harmful" ? "harmful" : "benign"}${c.triggered ? "+trigger" : ""}${c.gold ? "+gold" : ""}`;

describe("rater types at rates below 1 vote as docs/world.md says", () => {
  const run = world(
    {
      comparisons: { count: 16_000, overlap: 4, gold_rate: 0.3 },
      trigger: { rate: 0.12, families: ["harmful", "arithmetic"], position: "random" },
      panel: {
        raters: [
          {
            type: "honest",
            count: 24,
            position_bias: { mean: 0.5, sd: 0.5 },
            length_bias: { mean: -0.5, sd: 0.3 },
            tie_threshold: { mean: 0.5, sd: 0.3 },
          },
          { type: "careless", count: 3, mode: "random", attention: 0.3, tie_rate: 0.25 },
          { type: "careless", count: 2, mode: "always_a", attention: 0.4 },
          { type: "careless", count: 2, mode: "fast", attention: 0.5 },
          { type: "flipper", count: 3, rate: 0.4, skill: 2 },
          { type: "backdoor", count: 3, rate: 0.5 },
          { type: "sleeper", count: 3, poison: "unsafe", rate: 0.7, gold_detection: 0.5 },
          { type: "sleeper", count: 3, poison: "flip", rate: 0.6, gold_detection: 0.3 },
          { type: "length_poisoner", count: 3, rate: 0.3, length_bias: -1 },
        ],
      },
    },
    31,
  );
  const { judgments, truth } = run;
  const tallies = calibrate(judgments, truth.comparisons, truth.raters, (r, c) => {
    const ctx = contextOf(c);
    return `${r.group} ${ctx}`;
  });
  const big = new Map([...tallies].filter(([, t]) => t.n >= 150));

  it("every group's P(a), P(tie) and P(better) match the documented model in every context", () => {
    expectCalibrated(big, 150);
    // The contexts where each attack acts are among those measured.
    for (const key of [
      "careless#1 benign",
      "careless#2 harmful",
      "careless#3 benign+gold",
      "flipper#4 harmful",
      "flipper#4 benign",
      "backdoor#5 harmful+trigger",
      "backdoor#5 benign+trigger",
      "backdoor#5 harmful",
      "sleeper#6 harmful",
      "sleeper#6 harmful+gold",
      "sleeper#7 benign",
      "sleeper#7 benign+gold",
      "length_poisoner#8 benign",
    ])
      expect(big.has(key), key).toBe(true);
  });

  it("adversarial votes appear only where each rule applies", () => {
    const typeOf = new Map(truth.raters.map((r) => [r.rater_id, r]));
    const attacked = new Map<string, number>();
    for (const c of truth.comparisons) {
      for (const id of c.attacked_by) {
        const r = typeOf.get(id)!;
        attacked.set(r.group, (attacked.get(r.group) ?? 0) + 1);
        if (r.type === "flipper") expect(c.family).toBe("harmful");
        if (r.type === "backdoor") expect(c.triggered).toBe(true);
        if (r.type === "sleeper" && r.params.poison === "unsafe")
          expect(c.unsafe_a !== c.unsafe_b).toBe(true);
        if (r.type === "length_poisoner") expect(c.words_a).not.toBe(c.words_b);
        expect(["honest", "careless"]).not.toContain(r.type);
      }
    }
    for (const g of ["flipper#4", "backdoor#5", "sleeper#6", "sleeper#7", "length_poisoner#8"])
      expect(attacked.get(g) ?? 0, g).toBeGreaterThan(100);
  });

  it("a sleeper recognises gold at gold_detection: its gold accuracy sits between honest and poisoned", () => {
    const sleepers = truth.raters.filter((r) => r.group === "sleeper#7").map((r) => r.rater_id);
    const byId = new Map(truth.comparisons.map((c) => [c.comparison_id, c]));
    const mine = judgments.filter((j) => sleepers.includes(j.rater_id));
    const rightOn = (gold: boolean) => {
      const js = mine.filter((j) => (j.gold !== undefined) === gold);
      const decided = js.filter((j) => byId.get(j.comparison_id)!.better !== "tie");
      return (
        decided.filter((j) => j.choice === byId.get(j.comparison_id)!.better).length /
        decided.length
      );
    };
    // flip at 0.6: non-gold accuracy ≈ 0.4·acc + 0.6·(1 − acc − ties); gold: 0.3 honest on top.
    expect(rightOn(true)).toBeGreaterThan(rightOn(false) + 0.1);
    expect(rightOn(false)).toBeLessThan(0.6);
  });
});

describe("sybil teams", () => {
  const run = world(
    {
      comparisons: { count: 12_000, overlap: 3, gold_rate: 0.1 },
      panel: {
        raters: [
          { type: "honest", count: 20 },
          {
            type: "sybil",
            count: 6,
            group_size: 3,
            goal: "longer",
            rate: 0.6,
            jitter: 0.2,
            co_assign: 1,
          },
          { type: "sybil", count: 3, goal: "random", rate: 0.5, jitter: 0.3, co_assign: 0 },
          { type: "sybil", count: 2, goal: "flip", rate: 0.5, jitter: 0, tie_threshold: 0.5 },
          { type: "sybil", count: 3, goal: "unsafe", rate: 0.8, jitter: 0.1 },
        ],
      },
    },
    32,
  );
  const { judgments, truth } = run;
  const prof = new Map(truth.raters.map((r) => [r.rater_id, r]));
  const byComparison = new Map<string, Judgment[]>();
  for (const j of judgments) {
    const list = byComparison.get(j.comparison_id) ?? [];
    list.push(j);
    byComparison.set(j.comparison_id, list);
  }

  it("each member votes the operator's goal at rate, or a coin at jitter", () => {
    const tallies = calibrate(judgments, truth.comparisons, truth.raters, (r, c) =>
      r.type === "sybil" ? `${r.group.split("/")[0]} ${c.family === "harmful"}` : undefined,
    );
    // Teammates in one comparison share a vote, so the spread is wider than a binomial's.
    expectCalibrated(tallies, 300, 8);
  });

  it("teammates agree with probability (1 − jitter/2)² + (jitter/2)²: a coin at jitter", () => {
    const pairs = new Map<string, { n: number; same: number }>();
    for (const js of byComparison.values()) {
      for (let i = 0; i < js.length; i++) {
        for (let k = i + 1; k < js.length; k++) {
          const x = prof.get(js[i]!.rater_id)!;
          const y = prof.get(js[k]!.rater_id)!;
          if (x.type !== "sybil" || x.group !== y.group) continue;
          const t = pairs.get(x.group.split("/")[0]!) ?? { n: 0, same: 0 };
          t.n++;
          if (js[i]!.choice === js[k]!.choice) t.same++;
          pairs.set(x.group.split("/")[0]!, t);
        }
      }
    }
    const jitterOf: Record<string, number> = {
      "sybil#1": 0.2,
      "sybil#2": 0.3,
      "sybil#3": 0,
      "sybil#4": 0.1,
    };
    for (const [g, j] of Object.entries(jitterOf)) {
      const t = pairs.get(g)!;
      expect(t.n, g).toBeGreaterThan(100);
      const want = (1 - j / 2) ** 2 + (j / 2) ** 2;
      const se = Math.sqrt((want * (1 - want)) / t.n);
      expect(Math.abs(t.same / t.n - want), g).toBeLessThan(Math.max(0.01, 4 * se));
    }
  });

  it("co_assign brings teammates along; without it they meet only by chance", () => {
    const together = (g: string) => {
      let withOne = 0;
      let withTwo = 0;
      for (const js of byComparison.values()) {
        const members = js.filter((j) => prof.get(j.rater_id)!.group === g).length;
        if (members >= 1) withOne++;
        if (members >= 2) withTwo++;
      }
      return withTwo / withOne;
    };
    // co_assign 1: whenever a member is drawn into one of the first two slots, the team fills
    // the rest, so at least two thirds of its comparisons hold two or more of its members.
    expect(together("sybil#1/0")).toBeGreaterThan(0.6);
    // co_assign 0: two of three accounts among 34 raters meet by chance only.
    expect(together("sybil#2/0")).toBeLessThan(0.15);
  });
});
