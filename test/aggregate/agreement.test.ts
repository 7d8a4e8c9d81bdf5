import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cohenKappaPairs,
  encodeCategorical,
  fleissKappa,
  krippendorffAlpha,
  looConsensusAgreement,
} from "../../src/aggregate/index.js";
import { KeelError } from "../../src/core/errors.js";
import { FLEISS_1971, KRIPPENDORFF_2011 } from "./fixtures.js";

describe("Krippendorff's alpha (nominal)", () => {
  it("reproduces Krippendorff (2011)'s worked example: α = 0.743", () => {
    const rows = KRIPPENDORFF_2011.flatMap((coder, c) =>
      coder.flatMap((v, u) =>
        v === null ? [] : [{ task: `u${u + 1}`, worker: `coder${c}`, label: String(v) }],
      ),
    );
    const r = krippendorffAlpha(encodeCategorical(rows));
    expect(r.alpha!).toBeCloseTo(0.743, 3);
    // Unit 12 has a single value and is not pairable: n = 40 pairable values.
    expect(r.pairable).toBeCloseTo(40, 9);
  });

  it("is 1 for perfect agreement with variation, null when nothing varies, and ≤ 0 for systematic disagreement", () => {
    const perfect = encodeCategorical([
      { task: "1", worker: "a", label: "x" },
      { task: "1", worker: "b", label: "x" },
      { task: "2", worker: "a", label: "y" },
      { task: "2", worker: "b", label: "y" },
    ]);
    expect(krippendorffAlpha(perfect).alpha).toBe(1);
    const constant = encodeCategorical([
      { task: "1", worker: "a", label: "x" },
      { task: "1", worker: "b", label: "x" },
    ]);
    expect(krippendorffAlpha(constant).alpha).toBeNull();
    const opposite = encodeCategorical([
      { task: "1", worker: "a", label: "x" },
      { task: "1", worker: "b", label: "y" },
      { task: "2", worker: "a", label: "y" },
      { task: "2", worker: "b", label: "x" },
    ]);
    expect(krippendorffAlpha(opposite).alpha!).toBeLessThan(0);
    expect(krippendorffAlpha(encodeCategorical([])).alpha).toBeNull();
  });
});

describe("Fleiss' kappa", () => {
  it("reproduces Fleiss (1971)'s 30 patients: P̄ = 0.5556, P̄e ≈ 0.220, κ = 0.430", () => {
    const rows = FLEISS_1971.flatMap((diag, p) =>
      diag.map((v, r) => ({ task: `p${p}`, worker: `r${r}`, label: String(v) })),
    );
    const r = fleissKappa(encodeCategorical(rows));
    expect(r.observed).toBeCloseTo(0.5556, 4);
    // The paper squares p_j rounded to three places (Σ = 0.2201); unrounded it is 0.21994.
    expect(r.expected).toBeCloseTo(0.2199, 4);
    expect(r.kappa!).toBeCloseTo(0.43, 3);
    expect(r.tasks).toBe(30);
  });

  it("skips single-label tasks and is null when only one class is in use", () => {
    const d = encodeCategorical([
      { task: "1", worker: "a", label: "x" },
      { task: "1", worker: "b", label: "x" },
      { task: "2", worker: "a", label: "x" },
    ]);
    const r = fleissKappa(d);
    expect(r.tasks).toBe(1);
    expect(r.kappa).toBeNull();
  });
});

describe("Cohen's kappa per rater pair", () => {
  it("matches a hand computation: table [[4,1],[2,3]] gives p_o = 0.7, p_e = 0.5, κ = 0.4", () => {
    const pairs: [string, string][] = [
      ...Array(4).fill(["x", "x"]),
      ["x", "y"],
      ...Array(2).fill(["y", "x"]),
      ...Array(3).fill(["y", "y"]),
    ];
    const rows = pairs.flatMap(([a, b], t) => [
      { task: `t${t}`, worker: "ann", label: a },
      { task: `t${t}`, worker: "bob", label: b },
    ]);
    rows.push({ task: "solo", worker: "cat", label: "x" });
    const out = cohenKappaPairs(encodeCategorical(rows));
    expect(out).toHaveLength(1);
    expect(out[0]!.common).toBe(10);
    expect(out[0]!.observed).toBeCloseTo(0.7, 12);
    expect(out[0]!.expected).toBeCloseTo(0.5, 12);
    expect(out[0]!.kappa!).toBeCloseTo(0.4, 12);
  });
});

describe("leave-one-out consensus agreement", () => {
  it("compares each rater with the others only, splitting credit over tied pluralities", () => {
    const d = encodeCategorical([
      { task: "1", worker: "a", label: "x" },
      { task: "1", worker: "b", label: "x" },
      { task: "1", worker: "c", label: "y" },
      { task: "2", worker: "a", label: "x" },
      { task: "2", worker: "b", label: "x" },
      { task: "2", worker: "c", label: "x" },
      { task: "3", worker: "a", label: "y" },
    ]);
    const r = looConsensusAgreement(d);
    const by = (w: string) => r.agreement[d.workers.indexOf(w)];
    // Task 1: a sees {x:1, y:1} → ½; b the same; c sees {x:2} → 0. Task 2: all 1. Task 3: nobody else.
    expect(by("a")).toBeCloseTo(0.75, 12);
    expect(by("b")).toBeCloseTo(0.75, 12);
    expect(by("c")).toBeCloseTo(0.5, 12);
    expect(Array.from(r.n)).toEqual([2, 2, 2]);
  });

  it("leaves out all of a rater's own repeated labels on a task", () => {
    const d = encodeCategorical([
      { task: "1", worker: "a", label: "x" },
      { task: "1", worker: "a", label: "x" },
      { task: "1", worker: "b", label: "y" },
    ]);
    const r = looConsensusAgreement(d);
    expect(r.agreement[d.workers.indexOf("a")]).toBe(0);
    expect(r.agreement[d.workers.indexOf("b")]).toBe(0);
  });
});

describe("Cohen's kappa per pair on a task that many raters share", () => {
  const rows = Array.from({ length: 6 }, (_, i) => ({
    task: "check",
    worker: `r${i}`,
    label: i % 2 ? "x" : "y",
  }));

  it("refuses past maxPairs pairs with KEEL_E_UNSUPPORTED naming the busiest task", () => {
    const d = encodeCategorical(rows);
    expect(cohenKappaPairs(d, { maxPairs: 15 })).toHaveLength(15);
    let err: unknown;
    try {
      cohenKappaPairs(d, { maxPairs: 14 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KeelError);
    expect((err as KeelError).code).toBe("KEEL_E_UNSUPPORTED");
    expect((err as KeelError).message).toContain('task "check" alone has 6 raters');
  });
});

describe("agreement metrics over free-text labels (a class per label)", () => {
  // 40,000 tasks, two raters each, every label distinct: 80,000 classes. Dense [tasks × classes]
  // counts asked for 25 GB (an internal RangeError in keel agreement); the metrics take O(n + K).
  const rows = Array.from({ length: 40_000 }, (_, t) => [
    { task: `t${t}`, worker: `w${t % 50}`, label: `answer ${t}` },
    { task: `t${t}`, worker: `w${(t + 1) % 50}`, label: `answer ${t}, reworded` },
  ]).flat();
  const d = encodeCategorical(rows);

  it("computes alpha, kappa, the leave-one-out agreement and Cohen's pairs without dense tables", () => {
    expect(d.nClasses).toBe(80_000);
    // Every pair of values disagrees and no value repeats: chance level exactly.
    expect(krippendorffAlpha(d).alpha).toBe(0);
    expect(krippendorffAlpha(d).pairable).toBe(80_000);
    expect(fleissKappa(d).observed).toBe(0);
    const loo = looConsensusAgreement(d);
    expect(Array.from(loo.agreement).every((x) => x === 0)).toBe(true);
    expect(loo.n.reduce((s, x) => s + x, 0)).toBe(80_000);
    const pairs = cohenKappaPairs(d);
    expect(pairs).toHaveLength(50);
    expect(pairs.every((p) => p.common === 800 && p.observed === 0)).toBe(true);
  });
});

describe("agreement metrics agree with their dense textbook formulas", () => {
  /** Krippendorff's coincidence matrix and Fleiss' P_i over dense [tasks × K] counts. */
  function dense(d: ReturnType<typeof encodeCategorical>) {
    const K = d.nClasses;
    const counts = new Float64Array(d.nTasks * K);
    for (let j = 0; j < d.task.length; j++) counts[d.task[j]! * K + d.label[j]!]! += 1;
    const o = new Float64Array(K * K);
    const p = new Float64Array(K);
    let sumP = 0;
    let used = 0;
    let total = 0;
    for (let t = 0; t < d.nTasks; t++) {
      let m = 0;
      for (let k = 0; k < K; k++) m += counts[t * K + k]!;
      if (m < 2) continue;
      let agree = 0;
      for (let c = 0; c < K; c++) {
        const nc = counts[t * K + c]!;
        agree += nc * (nc - 1);
        p[c]! += nc;
        for (let k = 0; k < K; k++)
          o[c * K + k]! += (nc * (counts[t * K + k]! - (c === k ? 1 : 0))) / (m - 1);
      }
      sumP += agree / (m * (m - 1));
      total += m;
      used++;
    }
    const nc = new Float64Array(K);
    let n = 0;
    let dO = 0;
    for (let c = 0; c < K; c++)
      for (let k = 0; k < K; k++) {
        nc[c]! += o[c * K + k]!;
        n += o[c * K + k]!;
        if (c !== k) dO += o[c * K + k]!;
      }
    let dE = 0;
    for (let c = 0; c < K; c++) for (let k = 0; k < K; k++) if (c !== k) dE += nc[c]! * nc[k]!;
    let pe = 0;
    for (let k = 0; k < K; k++) pe += (p[k]! / total) ** 2;
    // Leave-one-out: the plurality of the other raters' labels on each labelled task.
    const credit = new Float64Array(d.nWorkers);
    const nLoo = new Float64Array(d.nWorkers);
    for (let j = 0; j < d.task.length; j++) {
      const others = new Float64Array(K);
      for (let i = 0; i < d.task.length; i++)
        if (d.task[i] === d.task[j] && d.worker[i] !== d.worker[j]) others[d.label[i]!]! += 1;
      const top = Math.max(...others);
      if (top === 0) continue;
      nLoo[d.worker[j]!]! += 1;
      if (others[d.label[j]!] === top)
        credit[d.worker[j]!]! += 1 / others.filter((x) => x === top).length;
    }
    return {
      alpha: dE > 0 ? 1 - ((n - 1) * dO) / dE : null,
      kappa: used > 0 && pe < 1 ? (sumP / used - pe) / (1 - pe) : null,
      loo: Array.from(credit, (c, w) => (nLoo[w]! > 0 ? c / nLoo[w]! : Number.NaN)),
    };
  }

  it("on random panels with missing values and repeated labels (alpha, Fleiss, leave-one-out)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(6), fc.nat(4), fc.nat(3)), { maxLength: 60 }),
        (triples) => {
          const d = encodeCategorical(
            triples.map(([t, w, l]) => ({ task: `t${t}`, worker: `w${w}`, label: `c${l}` })),
          );
          const want = dense(d);
          const alpha = krippendorffAlpha(d).alpha;
          const kappa = fleissKappa(d).kappa;
          expect(alpha === null).toBe(want.alpha === null);
          if (alpha !== null) expect(alpha).toBeCloseTo(want.alpha!, 10);
          expect(kappa === null).toBe(want.kappa === null);
          if (kappa !== null) expect(kappa).toBeCloseTo(want.kappa!, 10);
          const loo = Array.from(looConsensusAgreement(d).agreement);
          loo.forEach((x, w) => {
            if (Number.isNaN(want.loo[w]!)) expect(x).toBeNaN();
            else expect(x).toBeCloseTo(want.loo[w]!, 10);
          });
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });
});
