/**
 * Behaviour a mutation sweep of src/aggregate found untested: each case names the documented
 * rule it holds the code to.
 */
import { describe, expect, it } from "vitest";
import {
  bradleyTerry,
  crowdBradleyTerry,
  encodeCategorical,
  encodePairwise,
  mace,
  majorityVote,
  mmsr,
} from "../../src/aggregate/index.js";

describe("MACE by EM with smoothing", () => {
  it("reports the log-likelihood plus the Beta/Dirichlet(1 + s) log-prior", () => {
    // Two workers agree on every task (x, y, x). From the vote shares (one-hot) and the start
    // θ = ½, ξ = ½, every judgment is "known" with r = ½ / (½ + ¼) = ⅔, so the first M-step gives
    // θ = (2 + s)/(3 + 2s), ξ_x = (⅔ + s)/(1 + 2s), ξ_y = (⅓ + s)/(1 + 2s) for both workers;
    // maxIter 0 reports the objective there.
    const rows = ["x", "y", "x"].flatMap((l, t) =>
      ["u", "v"].map((w) => ({ task: `t${t}`, worker: w, label: l })),
    );
    const s = 0.5;
    const r = mace(encodeCategorical(rows), {
      method: "em",
      restarts: 1,
      smoothing: s,
      maxIter: 0,
    });
    const th = (2 + s) / (3 + 2 * s);
    const xi = { x: (2 / 3 + s) / (1 + 2 * s), y: (1 / 3 + s) / (1 + 2 * s) };
    expect(r.skills![0]).toBeCloseTo(th, 12);
    // A task both labelled l: ½ (P(l | l)² + P(l | other)²).
    const task = (l: "x" | "y") =>
      Math.log(0.5 * ((th + (1 - th) * xi[l]) ** 2 + ((1 - th) * xi[l]) ** 2));
    const ll = 2 * task("x") + task("y");
    const prior = 2 * s * (Math.log(th) + Math.log(1 - th) + Math.log(xi.x) + Math.log(xi.y));
    expect(r.logLikelihood!).toBeCloseTo(ll + prior, 10);
  });
});

describe("weighted majority vote", () => {
  it("accepts weight 0 and gives a task whose weights sum to 0 uniform probabilities", () => {
    // Header: weights are finite and ≥ 0; a task whose weights sum to 0 is uniform.
    const d = encodeCategorical([
      { task: "t1", worker: "u", label: "x" },
      { task: "t1", worker: "v", label: "y" },
      { task: "t2", worker: "u", label: "y" },
    ]);
    const r = majorityVote(d, { weights: Float64Array.from([0, 2]) });
    expect(r.method).toBe("weighted-majority-vote");
    expect(Array.from(r.probas)).toEqual([0, 1, 0.5, 0.5]);
    expect(r.classes[r.labels[1]!]).toBe("x");
  });
});

describe("M-MSR recovers s from an exactly rank-one agreement matrix", () => {
  it("gives s = (1, 0.6, 0.5), the first clipped to 1 − 1/√I", () => {
    // 100 binary tasks, truth x. Worker p is always right; q is wrong on tasks 0–19 (s = 0.6),
    // r on tasks 0–4 and 20–39 (s = 0.5), wrong together on 5 = 100 · 0.2 · 0.25 tasks, so the
    // rescaled agreements are C_pq = 0.6, C_pr = 0.5, C_qr = 0.3 = 0.6 · 0.5 exactly.
    const rows = Array.from({ length: 100 }, (_, t) => [
      { task: `t${t}`, worker: "p", label: "x" },
      { task: `t${t}`, worker: "q", label: t < 20 ? "y" : "x" },
      { task: `t${t}`, worker: "r", label: t < 5 || (t >= 20 && t < 40) ? "y" : "x" },
    ]).flat();
    const r = mmsr(encodeCategorical(rows), { maxIter: 1000, tol: 1e-14 });
    expect(r.workers).toEqual(["p", "q", "r"]);
    expect(r.skills![0]).toBeCloseTo(0.9, 9);
    expect(r.skills![1]).toBeCloseTo(0.6, 9);
    expect(r.skills![2]).toBeCloseTo(0.5, 9);
    // p_w = s_w (K − 1)/K + 1/K.
    expect(r.reliability[1]).toBeCloseTo(0.8, 9);
  });
});

describe("Bradley–Terry by MM", () => {
  it("reports ℓ = Σ [y log σ(β_l − β_r) + (1 − y) log σ(β_r − β_l)] on many pairs compared once", () => {
    // A ring of 400 items, i beating i + 1 once and the last beating the first: strongly
    // connected, all scores equal, so ℓ = 400 log ½. The pairs compared once have their log
    // terms summed as a running product that must be flushed past 1e100 (after ~330 pairs).
    const n = 400;
    const rows = Array.from({ length: n }, (_, i) => {
      const a = `i${i}`;
      const b = `i${(i + 1) % n}`;
      return { worker: "w", left: a, right: b, label: a };
    });
    const r = bradleyTerry(encodePairwise(rows));
    for (const v of r.scores) expect(v).toBeCloseTo(0, 9);
    expect(r.logLikelihood!).toBeCloseTo(n * Math.log(0.5), 6);
  });
});

describe("Crowd-BT", () => {
  it("adds the prior's virtual wins and losses against the reference item to ℓ", () => {
    // From the start (β = 0, η = 0.9) every answer has p = ½, so each judgment adds
    // log(0.9 · ½ + 0.1 · ½) = log ½; the prior adds, per item, `prior` wins and losses against
    // the reference item at equal strength: 2 · prior · log ½. (A cycle, so prior 0 is allowed.)
    const rows = [
      { worker: "u", left: "a", right: "b", label: "a" },
      { worker: "u", left: "b", right: "c", label: "b" },
      { worker: "v", left: "a", right: "c", label: "c" },
    ];
    const data = encodePairwise(rows);
    const items = 3;
    for (const prior of [0, 0.5, 2]) {
      const r = crowdBradleyTerry(data, { prior, maxIter: 0 });
      expect(r.logLikelihood!, `prior ${prior}`).toBeCloseTo(
        (rows.length + 2 * prior * items) * Math.log(0.5),
        12,
      );
    }
  });
});
