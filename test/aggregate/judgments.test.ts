import { describe, expect, it } from "vitest";
import {
  AGGREGATION_METHODS,
  bradleyTerry,
  categoricalToJson,
  dawidSkene,
  encodeJudgments,
  getAggregationMethod,
  majorityVote,
  noisyBradleyTerry,
  pairwiseToJson,
  posteriorsFromCategorical,
  posteriorsFromPairwise,
} from "../../src/aggregate/index.js";
import { KeelError } from "../../src/core/errors.js";
import type { Choice, Judgment } from "../../src/core/types.js";

function j(id: string, rater: string, choice: Choice, extra: Partial<Judgment> = {}): Judgment {
  return {
    comparison_id: id,
    prompt: `prompt ${id}`,
    response_a: `A of ${id}`,
    response_b: `B of ${id}`,
    rater_id: rater,
    choice,
    ...extra,
  };
}

describe("judgments → categorical and pairwise views", () => {
  const judgments = [
    j("c1", "r1", "a"),
    j("c1", "r2", "a"),
    j("c1", "r3", "b"),
    j("c2", "r1", "tie"),
    j("c2", "r2", "tie"),
    j("c2", "r3", "tie"),
    j("c3", "r1", "b", { shown_order: "ba" }),
    j("c3", "r2", "b"),
  ];
  const data = encodeJudgments(judgments);

  it("refuses a later judgment of a comparison that shows other texts (KEEL_E_CONFLICT)", () => {
    // r2 was shown c1's responses the other way round: its "a" is c1's B. It used to be
    // credited to c1's A, in both views, as if the texts had been the same.
    const swapped = j("c1", "r2", "a", { response_a: "B of c1", response_b: "A of c1" });
    for (const [bad, field] of [
      [swapped, "response_a"],
      [j("c1", "r2", "a", { response_b: "another B" }), "response_b"],
      [j("c1", "r2", "a", { prompt: "another prompt" }), "response_a"],
    ] as const) {
      let err: unknown;
      try {
        encodeJudgments([j("c1", "r1", "a"), bad]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KeelError);
      expect((err as KeelError).code).toBe("KEEL_E_CONFLICT");
      expect((err as KeelError).where).toEqual({ id: "c1", field });
    }
    expect(encodeJudgments([j("c1", "r1", "a"), j("c1", "r2", "b")]).categorical.nTasks).toBe(1);
  });

  it("encodes comparisons as tasks with classes a, b, tie", () => {
    expect(data.categorical.tasks).toEqual(["c1", "c2", "c3"]);
    expect(data.categorical.classes).toEqual(["a", "b", "tie"]);
    expect(data.categorical.task.length).toBe(8);
  });

  it("puts the response the rater saw on the left on the left", () => {
    const pw = data.pairwise;
    const j6 = 6; // c3 by r1, shown B first, chose B → the left item won
    expect(pw.items[pw.left[j6]!]).toBe("c3:b");
    expect(pw.outcome[j6]).toBe(0);
    expect(pw.items[pw.left[7]!]).toBe("c3:a");
    expect(pw.outcome[7]).toBe(1);
  });

  it("gives p_a with ties counted half and a weight that is high for a confident tie", () => {
    const post = posteriorsFromCategorical(majorityVote(data.categorical));
    expect(post.ids).toEqual(["c1", "c2", "c3"]);
    expect(post.pA[0]).toBeCloseTo(2 / 3, 12);
    expect(post.pA[1]).toBe(0.5);
    expect(post.pTie[1]).toBe(1);
    expect(post.weight[1]).toBe(1);
    expect(post.pA[2]).toBe(0);
    expect(post.weight[0]!).toBeGreaterThan(0);
    expect(post.weight[0]!).toBeLessThan(1);
  });

  it("links comparisons that share a response into one item", () => {
    const shared = encodeJudgments([
      { ...j("x1", "r1", "a"), prompt: "p", response_a: "alpha", response_b: "beta" },
      { ...j("x2", "r1", "a"), prompt: "p", response_a: "beta", response_b: "gamma" },
      { ...j("x3", "r2", "a"), prompt: "p", response_a: "gamma", response_b: "alpha" },
    ]);
    expect(shared.pairwise.nItems).toBe(3);
    const r = bradleyTerry(shared.pairwise);
    const post = posteriorsFromPairwise(r, shared.categorical.tasks, shared.items);
    for (const p of post.pA) expect(p).toBeCloseTo(0.5, 9); // a 3-cycle
  });

  it("pairwise weights stay in [0, 1] next to p_a = ½", () => {
    // σ(1.7·10⁻⁸) = 0.50000000425: H₂ rounded a hair above log 2 and the weight was −2.2·10⁻¹⁶.
    const near = Array.from({ length: 100 }, (_, k) => (k + 1) * 1e-9);
    const r = {
      method: "bradley-terry",
      items: ["a", "b"],
      workers: [],
      scores: Float64Array.from([0, 0]),
      iterations: 0,
      converged: true,
      history: [],
    };
    for (const x of near) {
      r.scores[0] = x;
      const post = posteriorsFromPairwise(r, ["c"], { a: Int32Array.of(0), b: Int32Array.of(1) });
      expect(post.weight[0]!, String(x)).toBeGreaterThanOrEqual(0);
    }
  });

  it("pairwise methods on isolated comparisons need a prior; with one, rater skills are shared", () => {
    expect(() => bradleyTerry(data.pairwise)).toThrow(/not strongly connected/);
    const r = noisyBradleyTerry(data.pairwise, { prior: 1 });
    const post = posteriorsFromPairwise(r, data.categorical.tasks, data.items);
    expect(post.pA[0]!).toBeGreaterThan(0.5);
    expect(post.pA[2]!).toBeLessThan(0.5);
    expect(r.skills!.length).toBe(3);
    // Plain Bradley–Terry sees the unanimous tie as equal strength.
    const bt = posteriorsFromPairwise(
      bradleyTerry(data.pairwise, { prior: 1 }),
      data.categorical.tasks,
      data.items,
    );
    expect(bt.pA[1]!).toBeCloseTo(0.5, 9);
  });
});

describe("Aggregate JSON (DESIGN.md layout)", () => {
  it("categorical: labels, probas, priors, errors, iterations, converged, log_likelihood", () => {
    const data = encodeJudgments([
      j("c1", "r1", "a"),
      j("c1", "r2", "b"),
      j("c2", "r1", "a"),
      j("c2", "r2", "a"),
    ]);
    const json = categoricalToJson(dawidSkene(data.categorical));
    expect(Object.keys(json)).toEqual([
      "method",
      "labels",
      "probas",
      "priors",
      "errors",
      "iterations",
      "converged",
      "log_likelihood",
    ]);
    expect(json.labels).toEqual({ c1: expect.any(String), c2: "a" });
    const errors = json.errors as Record<string, Record<string, Record<string, number>>>;
    expect(Object.keys(errors.r1!)).toEqual(["a", "b"]);
    const row = errors.r1!.a!;
    expect(row.a! + row.b!).toBeCloseTo(1, 12);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it("empty results are well-formed", () => {
    const data = encodeJudgments([]);
    const json = categoricalToJson(dawidSkene(data.categorical));
    expect(json).toMatchObject({
      method: "dawid-skene",
      labels: {},
      probas: {},
      iterations: 0,
      converged: true,
    });
    expect(pairwiseToJson(bradleyTerry(data.pairwise))).toMatchObject({
      scores: {},
      iterations: 0,
    });
  });

  it("pairwise: scores, skills, biases and per-comparison posteriors", () => {
    const data = encodeJudgments([j("c1", "r1", "a"), j("c1", "r2", "b"), j("c1", "r3", "a")]);
    const r = noisyBradleyTerry(data.pairwise, { prior: 1 });
    const json = pairwiseToJson(r, posteriorsFromPairwise(r, data.categorical.tasks, data.items));
    expect(Object.keys(json.scores as object)).toEqual(["c1:a", "c1:b"]);
    expect(Object.keys(json.skills as object)).toEqual(["r1", "r2", "r3"]);
    expect((json.comparisons as { comparison_id: string }[])[0]!.comparison_id).toBe("c1");
  });
});

describe("method registry", () => {
  it("lists every method once, validates options strictly, and names the choices on a typo", () => {
    const keys = AGGREGATION_METHODS.map((m) => m.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual(
      expect.arrayContaining([
        "dawid-skene",
        "one-coin",
        "glad",
        "mace",
        "mmsr",
        "wawa",
        "majority-vote",
        "bradley-terry",
        "bradley-terry-ilsr",
        "noisy-bt",
        "crowd-bt",
      ]),
    );
    expect(() => getAggregationMethod("dawid-skeen")).toThrow(/unknown aggregation method/);
    const ds = getAggregationMethod("dawid-skene");
    expect(ds.validate({ maxIter: 5 })).toEqual({ maxIter: 5 });
    expect(() => ds.validate({ maxIter: 5, prior: 1 })).toThrow(/KEEL|prior|Unrecognized/i);
    expect(() => getAggregationMethod("bradley-terry").validate({ prior: -1 })).toThrow();
  });
});
