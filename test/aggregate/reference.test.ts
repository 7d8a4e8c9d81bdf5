/**
 * Known answers from the references: MACE's variational update as MACE and crowd-kit compute it,
 * and the agreement measures' published worked examples, with their published numbers.
 */
import { describe, expect, it } from "vitest";
import {
  cohenKappaPairs,
  encodeCategorical,
  fleissKappa,
  krippendorffAlpha,
  mace,
} from "../../src/aggregate/index.js";
import { KRIPPENDORFF_2011 } from "./fixtures.js";

const rowsOf = (t: [string, string, string][]) =>
  t.map(([task, worker, label]) => ({ task, worker, label }));

describe("MACE as MACE (Hovy et al. 2013) and crowd-kit compute it", () => {
  // t1: a x, b x, c y; t2: a y, b y, c y.
  const d = encodeCategorical(
    rowsOf([
      ["t1", "a", "x"],
      ["t1", "b", "x"],
      ["t1", "c", "y"],
      ["t2", "a", "y"],
      ["t2", "b", "y"],
      ["t2", "c", "y"],
    ]),
  );

  it("VB weighs knowing against spamming by the unnormalised exp E[log θ], exp E[log(1 − θ)], exp E[log ξ] (Dirichlet 10)", () => {
    // From the vote-share start, two variational updates and the E-step after them, computed
    // independently with scipy's digamma (P(l | k) = e^{E log θ}[l = k] + e^{E log(1−θ)} e^{E log ξ_l},
    // Beta(½, ½), Dirichlet(10)). Renormalising the weights (the earlier code) gave 0.91796 here.
    const r = mace(d, { restarts: 1, maxIter: 1, tol: 1e-300 });
    expect(r.probas[0]!).toBeCloseTo(0.90762848, 7);
    expect(r.probas[2]!).toBeCloseTo(0.02250252, 7);
    expect(r.logLikelihood!).toBeCloseTo(-4.71428822, 6);
    // The reported competences are posterior means (Σ r + ½)/(n + 1): probabilities.
    expect(Array.from(r.skills!).map((s) => Number(s.toFixed(6)))).toEqual([
      0.656816, 0.656816, 0.352233,
    ]);
  });

  it("defaults are MACE's: Dirichlet(10) on spam labels, EM smoothing 0.01/K", () => {
    const vb = mace(d, { restarts: 1 });
    expect(Array.from(vb.probas)).toEqual(Array.from(mace(d, { restarts: 1, gamma: 10 }).probas));
    const em = mace(d, { method: "em", restarts: 1 });
    const smoothed = mace(d, { method: "em", restarts: 1, smoothing: 0.01 / 2 });
    expect(Array.from(em.probas)).toEqual(Array.from(smoothed.probas));
  });
});

describe("agreement measures reproduce published worked examples", () => {
  it("Krippendorff (2011), nominal: n_c = (9, 13, 10, 5, 3), Σ_{c≠k} o_ck = 8, α = 1 − 39·8/1216", () => {
    const rows = KRIPPENDORFF_2011.flatMap((coder, c) =>
      coder.flatMap((v, u) =>
        v === null ? [] : [{ task: `u${u + 1}`, worker: `coder${c}`, label: String(v) }],
      ),
    );
    const r = krippendorffAlpha(encodeCategorical(rows));
    expect(r.pairable).toBe(40);
    expect(r.observedDisagreement).toBeCloseTo(8 / 40, 12);
    expect(r.expectedDisagreement).toBeCloseTo(1216 / 39 / 40, 12);
    expect(r.alpha!).toBeCloseTo(1 - (39 * 8) / 1216, 12);
  });

  it("Fleiss' kappa, the 10 subjects × 14 raters × 5 categories example: P̄ = 0.378, P̄e = 0.213, κ = 0.210", () => {
    const table = [
      [0, 0, 0, 0, 14],
      [0, 2, 6, 4, 2],
      [0, 0, 3, 5, 6],
      [0, 3, 9, 2, 0],
      [2, 2, 8, 1, 1],
      [7, 7, 0, 0, 0],
      [3, 2, 6, 3, 0],
      [2, 5, 3, 2, 2],
      [6, 5, 2, 1, 0],
      [0, 2, 2, 3, 7],
    ];
    const rows = table.flatMap((counts, i) => {
      let r = 0;
      return counts.flatMap((n, k) =>
        Array.from({ length: n }, () => ({ task: `s${i}`, worker: `r${r++}`, label: `c${k + 1}` })),
      );
    });
    const f = fleissKappa(encodeCategorical(rows));
    expect(f.observed).toBeCloseTo(0.378, 3);
    expect(f.expected).toBeCloseTo(0.213, 3);
    expect(f.kappa!).toBeCloseTo(0.21, 3);
  });

  it("Cohen's kappa on 100 items: tables (45, 15, 25, 15) → κ = 0.1304 and (25, 35, 5, 35) → κ = 0.2593", () => {
    // [both yes, A yes B no, A no B yes, both no]
    const kappaOf = (cells: number[]) => {
      const pairs: [string, string][] = [
        ...Array(cells[0]).fill(["yes", "yes"]),
        ...Array(cells[1]).fill(["yes", "no"]),
        ...Array(cells[2]).fill(["no", "yes"]),
        ...Array(cells[3]).fill(["no", "no"]),
      ];
      const rows = pairs.flatMap(([a, b], t) => [
        { task: `t${t}`, worker: "A", label: a },
        { task: `t${t}`, worker: "B", label: b },
      ]);
      return cohenKappaPairs(encodeCategorical(rows))[0]!;
    };
    const first = kappaOf([45, 15, 25, 15]);
    expect(first.observed).toBeCloseTo(0.6, 12);
    expect(first.expected).toBeCloseTo(0.54, 12);
    expect(first.kappa!).toBeCloseTo(0.1304, 4);
    const second = kappaOf([25, 35, 5, 35]);
    expect(second.expected).toBeCloseTo(0.46, 12);
    expect(second.kappa!).toBeCloseTo(0.2593, 4);
  });
});
