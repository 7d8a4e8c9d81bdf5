/**
 * Every aggregation method and agreement statistic on degenerate but legal data: one judgment,
 * one rater, one task, every label a tie or the same, perfect agreement, two raters who always
 * disagree, a rater with thousands of labels among raters with one each, a task labelled by
 * 1,000 raters, gold on every task or against every rater, repeated identical rows, an empty
 * label, a class only gold uses. Each must give finite, well-formed numbers (NaN only where
 * documented) or a KeelError, and the documented answer where there is one.
 */
import { describe, expect, it } from "vitest";
import {
  AGGREGATION_METHODS,
  type CategoricalMethod,
  cohenKappaPairs,
  dawidSkene,
  encodeCategorical,
  encodeJudgments,
  encodePairwise,
  fleissKappa,
  krippendorffAlpha,
  looConsensusAgreement,
  type PairwiseData,
  type PairwiseMethod,
  posteriorsFromCategorical,
} from "../../src/aggregate/index.js";
import { KeelError } from "../../src/core/errors.js";
import type { Judgment } from "../../src/core/types.js";

type Row = { task: string; worker: string; label: string };
const row = (task: string, worker: string, label: string): Row => ({ task, worker, label });
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const agreeing = range(12).map((i) => row(`t${i % 4}`, `w${Math.floor(i / 4)}`, i % 2 ? "a" : "b"));
const CATEGORICAL: Record<string, { rows: Row[]; gold?: [string, string][] }> = {
  "one judgment": { rows: [row("t", "w", "a")] },
  "one rater": { rows: [row("t1", "w", "a"), row("t2", "w", "b"), row("t3", "w", "a")] },
  "one task": { rows: [row("t", "w1", "a"), row("t", "w2", "b"), row("t", "w3", "a")] },
  "every label a tie": { rows: range(12).map((i) => row(`t${i % 4}`, `w${i % 3}`, "tie")) },
  "every label the same": { rows: range(12).map((i) => row(`t${i % 4}`, `w${i % 3}`, "a")) },
  "perfect agreement": { rows: agreeing },
  "two raters always disagreeing": {
    rows: range(4).flatMap((t) => [row(`t${t}`, "w1", "a"), row(`t${t}`, "w2", "b")]),
  },
  "one heavy rater": {
    rows: [
      ...range(3000).map((i) => row(`t${i}`, "big", i % 3 ? "a" : "b")),
      ...range(20).map((i) => row(`t${i}`, `s${i}`, i % 2 ? "a" : "b")),
    ],
  },
  "1,000 raters on one task": {
    rows: range(1000).map((i) => row("t", `w${i}`, i % 3 ? "a" : "b")),
  },
  "one label per rater": { rows: range(6).map((i) => row(`t${i}`, `w${i}`, i % 2 ? "a" : "b")) },
  "gold everywhere": { rows: agreeing, gold: range(4).map((t) => [`t${t}`, t % 2 ? "a" : "b"]) },
  "gold against every rater": {
    rows: agreeing,
    gold: range(4).map((t) => [`t${t}`, t % 2 ? "b" : "a"]),
  },
  "a class only gold uses": {
    rows: range(12).map((i) => row(`t${i % 4}`, `w${i % 3}`, "a")),
    gold: [["t0", "b"]],
  },
  "identical repeated rows": { rows: [row("t", "w", "a"), row("t", "w", "a"), row("t", "w", "a")] },
  "an empty label": { rows: [row("t", "w", ""), row("t", "w2", ""), row("t2", "w", "x")] },
};

function finite(xs: ArrayLike<number> | undefined): boolean {
  return xs === undefined || Array.from(xs).every(Number.isFinite);
}

/** Fits, and turns anything thrown other than a KeelError into a failure. */
function fitOrKeel<D, R>(
  m: { fit(d: D, o: Record<string, unknown>): R },
  d: D,
  o = {},
): R | KeelError {
  try {
    return m.fit(d, o);
  } catch (e) {
    if (e instanceof KeelError) return e;
    throw e;
  }
}

const categorical = AGGREGATION_METHODS.filter(
  (m): m is CategoricalMethod => m.kind === "categorical",
);
const pairwise = AGGREGATION_METHODS.filter((m): m is PairwiseMethod => m.kind === "pairwise");

describe("categorical methods on degenerate data", () => {
  for (const [name, { rows, gold }] of Object.entries(CATEGORICAL)) {
    const data = encodeCategorical(rows, gold);
    for (const m of categorical) {
      it(`${m.key}: ${name} gives finite posteriors summing to 1 and 0..1 reliabilities`, () => {
        const r = fitOrKeel(m, data);
        if (r instanceof KeelError) throw r;
        const K = data.nClasses;
        for (let t = 0; t < data.nTasks; t++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += r.probas[t * K + k]!;
          expect(s).toBeCloseTo(1, 9);
        }
        expect(finite(r.probas) && finite(r.priors) && finite(r.errors) && finite(r.skills)).toBe(
          true,
        );
        expect(finite(r.history)).toBe(true);
        for (const x of r.reliability) expect(x >= 0 && x <= 1).toBe(true);
        const post = posteriorsFromCategorical(r);
        expect(finite(post.pA) && finite(post.weight)).toBe(true);
      });
    }
  }

  it("one judgment, a unanimous task, perfect agreement: every method gives the raters' label", () => {
    for (const name of [
      "one judgment",
      "every label the same",
      "perfect agreement",
      "every label a tie",
    ]) {
      const data = encodeCategorical(CATEGORICAL[name]!.rows);
      const majority = categorical[0]!.fit(data, {});
      for (const m of categorical) {
        const r = m.fit(data, {});
        expect(Array.from(r.labels), `${m.key} on ${name}`).toEqual(Array.from(majority.labels));
      }
    }
  });

  it("gold fixes its tasks for the methods that use it, even against every rater", () => {
    const { rows, gold } = CATEGORICAL["gold against every rater"]!;
    const data = encodeCategorical(rows, gold);
    for (const m of categorical.filter((x) => x.usesGold)) {
      const r = m.fit(data, {});
      for (let t = 0; t < data.nTasks; t++) expect(r.labels[t], m.key).toBe(data.gold![t]);
    }
    // Dawid–Skene and one-coin then read every rater as always wrong.
    for (const key of ["dawid-skene", "one-coin"]) {
      const r = categorical.find((x) => x.key === key)!.fit(data, {});
      for (const x of r.reliability) expect(x, key).toBeLessThan(1e-6);
    }
  });

  it("Dawid–Skene with one label per rater and no shared tasks: uniform posteriors (documented)", () => {
    const data = encodeCategorical(CATEGORICAL["one label per rater"]!.rows);
    const ds = categorical.find((x) => x.key === "dawid-skene")!.fit(data, {});
    for (const p of ds.probas) expect(p).toBeCloseTo(0.5, 9);
    expect(Array.from(posteriorsFromCategorical(ds).weight)).toEqual(range(6).map(() => 0));
    // One-coin, with a single accuracy per rater, keeps the labels.
    const oc = categorical.find((x) => x.key === "one-coin")!.fit(data, {});
    expect(Array.from(oc.labels)).toEqual(range(6).map((i) => (i % 2 ? 0 : 1)));
  });

  it("Dawid–Skene with a diagonal prior keeps each lone label (the audit's fit); a bad one is refused", () => {
    const data = encodeCategorical(CATEGORICAL["one label per rater"]!.rows);
    const map = dawidSkene(data, { diagonalPrior: 1 });
    expect(Array.from(map.labels)).toEqual(range(6).map((i) => (i % 2 ? 0 : 1)));
    for (const p of map.probas) expect(Math.abs(p - 0.5)).toBeGreaterThan(0.1);
    // The default is the maximum-likelihood fit, unchanged.
    expect(dawidSkene(data, { diagonalPrior: 0 }).probas).toEqual(dawidSkene(data).probas);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => dawidSkene(data, { diagonalPrior: bad })).toThrow(
        expect.objectContaining({ code: "KEEL_E_CONFIG" }),
      );
  });

  it("two raters who always disagree: exactly ½ and the lower class, but for MACE's restarts", () => {
    // Nothing tells the two apart, so no method may: GLAD used to give 0.4999999999999999 and
    // a label decided by rounding, and M-MSR 0.3/0.7 by its random start, swapped with the ids.
    const rows = CATEGORICAL["two raters always disagreeing"]!.rows;
    const swapIds = rows.map((r) => ({ ...r, worker: r.worker === "w1" ? "w2" : "w1" }));
    for (const variant of [rows, [...rows].reverse(), swapIds]) {
      const data = encodeCategorical(variant);
      for (const m of categorical) {
        const r = m.fit(data, {});
        if (m.key === "mace") {
          // Its random restarts are drawn from the workers' ids: near ½ only.
          for (const p of r.probas) expect(Math.abs(p - 0.5), m.key).toBeLessThanOrEqual(0.01);
          continue;
        }
        for (const p of r.probas) expect(p, m.key).toBe(0.5);
        for (const l of r.labels) expect(r.classes[l], m.key).toBe("a");
        const rel = Array.from(r.reliability);
        expect(rel[1], `${m.key}: both raters alike`).toBe(rel[0]);
      }
    }
  });

  it("K = 1: the posterior weight of a one-class result is 1, not 0/0", () => {
    const data = encodeCategorical(range(6).map((i) => row(`t${i % 2}`, `w${i % 3}`, "only")));
    expect(data.nClasses).toBe(1);
    for (const m of categorical) {
      const r = m.fit(data, {});
      expect(Array.from(r.probas), m.key).toEqual([1, 1]);
      expect(
        Array.from(posteriorsFromCategorical(r, { a: "only", b: "b", tie: "tie" }).weight),
      ).toEqual([1, 1]);
    }
  });
});

describe("agreement statistics on degenerate data", () => {
  it("are finite or null, with NaN only for a rater no one else shared a task with", () => {
    for (const [name, { rows }] of Object.entries(CATEGORICAL)) {
      const data = encodeCategorical(rows);
      for (const r of [krippendorffAlpha(data), fleissKappa(data)]) {
        for (const v of Object.values(r)) expect(v === null || Number.isFinite(v), name).toBe(true);
      }
      for (const p of cohenKappaPairs(data))
        expect(p.kappa === null || Number.isFinite(p.kappa), name).toBe(true);
      const loo = looConsensusAgreement(data);
      loo.agreement.forEach((a, w) => {
        expect(Number.isNaN(a) === (loo.n[w] === 0), name).toBe(true);
      });
    }
  });

  it("one label in use: alpha and kappa null; two raters always disagreeing: kappa −1", () => {
    const same = encodeCategorical(CATEGORICAL["every label a tie"]!.rows);
    expect(krippendorffAlpha(same).alpha).toBeNull();
    expect(fleissKappa(same).kappa).toBeNull();
    expect(cohenKappaPairs(same).every((p) => p.kappa === null)).toBe(true);
    const split = encodeCategorical(CATEGORICAL["two raters always disagreeing"]!.rows);
    expect(fleissKappa(split).kappa).toBeCloseTo(-1, 12);
    expect(Array.from(looConsensusAgreement(split).agreement)).toEqual([0, 0]);
  });
});

type PRow = { worker: string; left: string; right: string; label: string };
const pr = (worker: string, left: string, right: string, label: string): PRow => ({
  worker,
  left,
  right,
  label,
});
const PAIRWISE: Record<string, PRow[]> = {
  "one judgment": [pr("w", "x", "y", "x")],
  "two raters always disagreeing": [pr("w1", "x", "y", "x"), pr("w2", "x", "y", "y")],
  "a disconnected graph": [
    pr("w", "x", "y", "x"),
    pr("w", "y", "x", "x"),
    pr("w", "u", "v", "u"),
    pr("w", "v", "u", "u"),
  ],
  "1,000 raters on one pair": range(1000).map((i) => pr(`w${i}`, "x", "y", i % 3 ? "x" : "y")),
  "identical repeated rows": [pr("w", "x", "y", "x"), pr("w", "x", "y", "x")],
  "empty names": [pr("", "", "y", ""), pr("", "y", "", "y")],
};

describe("pairwise methods on degenerate data", () => {
  for (const [name, rows] of Object.entries(PAIRWISE)) {
    const data: PairwiseData = encodePairwise(rows);
    for (const m of pairwise)
      for (const prior of [0, 1]) {
        it(`${m.key}, prior ${prior}: ${name} gives finite scores or KEEL_E_NOT_CONNECTED`, () => {
          const r = fitOrKeel(m, data, prior ? { prior } : {});
          if (r instanceof KeelError) {
            expect(prior, r.message).toBe(0);
            expect(r.code).toBe("KEEL_E_NOT_CONNECTED");
            return;
          }
          expect(finite(r.scores) && finite(r.skills) && finite(r.biases)).toBe(true);
          expect(finite(r.reliability) && finite(r.history)).toBe(true);
        });
      }
  }

  it("every judgment a tie: equal scores", () => {
    const d = encodeJudgments(
      range(6).map(
        (i): Judgment => ({
          comparison_id: `c${i % 3}`,
          prompt: "p",
          response_a: ["x", "y", "z"][i % 3]!,
          response_b: ["y", "z", "x"][i % 3]!,
          rater_id: `r${i % 2}`,
          choice: "tie",
        }),
      ),
    );
    for (const m of pairwise) {
      const r = m.fit(d.pairwise, {});
      for (const s of r.scores) expect(Math.abs(s), m.key).toBeLessThan(1e-6);
    }
  });

  it("a comparison of an item with itself is refused when encoded", () => {
    expect(() => encodePairwise([pr("w", "x", "x", "x")])).toThrow(KeelError);
    // Judgments whose two responses are the same text give the pairwise view nothing to fit.
    const d = encodeJudgments([
      {
        comparison_id: "c",
        prompt: "p",
        response_a: "same",
        response_b: "same",
        rater_id: "r",
        choice: "a",
      },
    ]);
    expect(d.pairwise.worker.length).toBe(0);
    expect(d.categorical.task.length).toBe(1);
  });
});
