import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CategoricalResult,
  dawidSkene,
  encodeCategorical,
  glad,
  mace,
  majorityVote,
  mmsr,
  oneCoinDawidSkene,
  wawa,
} from "../../src/aggregate/index.js";
import type { CategoricalData } from "../../src/aggregate/types.js";
import { Rng } from "../../src/core/rng.js";
import { dawidSkeneRows } from "./fixtures.js";
import { crowd, type Row } from "./gen.js";

type Fit = (d: CategoricalData) => CategoricalResult;
const METHODS: Record<string, Fit> = {
  "majority-vote": (d) => majorityVote(d),
  wawa: (d) => wawa(d),
  "dawid-skene": (d) => dawidSkene(d),
  "one-coin": (d) => oneCoinDawidSkene(d),
  glad: (d) => glad(d),
  mace: (d) => mace(d, { restarts: 1 }),
  mmsr: (d) => mmsr(d),
};

/** Posterior of `label` for `task`, looked up by name. */
function proba(r: CategoricalResult, task: string, label: string): number {
  const t = r.tasks.indexOf(task);
  const k = r.classes.indexOf(label);
  return k < 0 ? 0 : r.probas[t * r.classes.length + k]!;
}

function labelOf(r: CategoricalResult, task: string): string {
  return r.classes[r.labels[r.tasks.indexOf(task)]!]!;
}

describe("categorical methods on tiny hand-checked cases", () => {
  it("empty input gives empty, well-formed output for every method", () => {
    const d = encodeCategorical([]);
    for (const [name, fitMethod] of Object.entries(METHODS)) {
      const r = fitMethod(d);
      expect(r.probas.length, name).toBe(0);
      expect(r.labels.length, name).toBe(0);
      expect(r.tasks, name).toEqual([]);
      expect(r.history, name).toEqual([]);
    }
  });

  it("unanimous raters give each task its label with near-certainty", () => {
    const rows: Row[] = [];
    for (let t = 0; t < 6; t++)
      for (let w = 0; w < 4; w++)
        rows.push({ task: `t${t}`, worker: `w${w}`, label: t % 2 ? "yes" : "no" });
    const d = encodeCategorical(rows);
    for (const [name, fitMethod] of Object.entries(METHODS)) {
      const r = fitMethod(d);
      for (let t = 0; t < 6; t++) {
        expect(labelOf(r, `t${t}`), name).toBe(t % 2 ? "yes" : "no");
        expect(proba(r, `t${t}`, t % 2 ? "yes" : "no"), name).toBeGreaterThan(0.9);
      }
    }
  });

  it("one rater: every method returns that rater's labels", () => {
    const rows: Row[] = [
      { task: "a", worker: "solo", label: "x" },
      { task: "b", worker: "solo", label: "y" },
      { task: "c", worker: "solo", label: "x" },
    ];
    const d = encodeCategorical(rows);
    for (const [name, fitMethod] of Object.entries(METHODS)) {
      if (name === "mmsr") continue; // needs co-workers to estimate anything; checked below
      const r = fitMethod(d);
      expect(
        ["a", "b", "c"].map((t) => labelOf(r, t)),
        name,
      ).toEqual(["x", "y", "x"]);
    }
    expect(["a", "b", "c"].map((t) => labelOf(mmsr(d), t))).toEqual(["x", "y", "x"]);
  });

  it("majority vote: x, x, y gives (2/3, 1/3) and skills 1, 1, 0; weights move the vote", () => {
    const d = encodeCategorical([
      { task: "t", worker: "a", label: "x" },
      { task: "t", worker: "b", label: "x" },
      { task: "t", worker: "c", label: "y" },
    ]);
    const r = majorityVote(d);
    expect(proba(r, "t", "x")).toBeCloseTo(2 / 3, 12);
    expect(Array.from(r.skills!)).toEqual([1, 1, 0]);
    const weighted = majorityVote(d, { weights: Float64Array.from([1, 1, 3]) });
    expect(labelOf(weighted, "t")).toBe("y");
    expect(proba(weighted, "t", "y")).toBeCloseTo(0.6, 12);
    expect(() => majorityVote(d, { weights: Float64Array.from([1, -1, 1]) })).toThrow(/≥ 0/);
  });

  it("wawa gives zero weight to a worker who never agrees with the majority", () => {
    const d = encodeCategorical([
      { task: "t1", worker: "a", label: "x" },
      { task: "t1", worker: "b", label: "x" },
      { task: "t1", worker: "c", label: "y" },
      { task: "t2", worker: "a", label: "y" },
      { task: "t2", worker: "c", label: "x" },
      { task: "t2", worker: "b", label: "y" },
    ]);
    const r = wawa(d);
    expect(Array.from(r.skills!)).toEqual([1, 1, 0]);
    expect(proba(r, "t1", "x")).toBe(1);
    expect(proba(r, "t2", "y")).toBe(1);
  });

  it("zero iterations return the initialisation: vote proportions", () => {
    const { rows } = crowd(3, 30, 8, 3, 4);
    const d = encodeCategorical(rows);
    const mv = majorityVote(d);
    for (const fitMethod of [dawidSkene, oneCoinDawidSkene]) {
      const r = fitMethod(d, { maxIter: 0 });
      expect(r.iterations).toBe(0);
      expect(r.converged).toBe(false);
      expect(Array.from(r.probas)).toEqual(Array.from(mv.probas));
    }
    const g = glad(d, { maxIter: 0 });
    expect(g.iterations).toBe(0);
    expect(Array.from(g.alphas)).toEqual(new Array(d.nWorkers).fill(1));
  });

  it("gold labels fix their tasks and sharpen the estimate of who is reliable", () => {
    const rows: Row[] = [];
    // Worker "liar" always says the opposite of "honest"; gold tells which one is right.
    for (let t = 0; t < 10; t++) {
      const truth = t % 2 ? "p" : "q";
      rows.push({ task: `t${t}`, worker: "honest", label: truth });
      rows.push({ task: `t${t}`, worker: "liar", label: truth === "p" ? "q" : "p" });
    }
    const gold: [string, string][] = [
      ["t0", "q"],
      ["t1", "p"],
      ["t2", "q"],
    ];
    const r = dawidSkene(encodeCategorical(rows, gold));
    for (let t = 0; t < 10; t++) expect(labelOf(r, `t${t}`)).toBe(t % 2 ? "p" : "q");
    expect(proba(r, "t0", "q")).toBe(1);
    const w = r.workers.indexOf("honest");
    expect(r.reliability[w]).toBeGreaterThan(0.99);
    expect(r.reliability[r.workers.indexOf("liar")]).toBeLessThan(0.01);
  });
});

describe("Dawid & Skene (1979): the paper's 45 patients", () => {
  const d = encodeCategorical(dawidSkeneRows());
  const r = dawidSkene(d, { maxIter: 500, tol: 1e-12 });

  it("converges with a log-likelihood that never decreases", () => {
    expect(d.nTasks).toBe(45);
    expect(d.nWorkers).toBe(5);
    expect(d.classes).toEqual(["1", "2", "3", "4"]);
    expect(r.converged).toBe(true);
    for (let i = 1; i < r.history.length; i++)
      expect(r.history[i]!).toBeGreaterThanOrEqual(r.history[i - 1]! - 1e-9);
  });

  it("reproduces the paper's estimated class marginals p̂ = (0.40, 0.42, 0.11, 0.07)", () => {
    expect(Array.from(r.priors!).map((p) => Number(p.toFixed(2)))).toEqual([0.4, 0.42, 0.11, 0.07]);
  });

  it("matches the independent numpy implementation (bench/aggregate_ref.py) to 1e-6", () => {
    // Values printed by `python3 bench/aggregate_ref.py --dawid-skene-1979`.
    const ref = { priors: [0.399555, 0.421983, 0.111795, 0.066667], ll: -192.890881 };
    Array.from(r.priors!).forEach((p, k) => {
      expect(p).toBeCloseTo(ref.priors[k]!, 5);
    });
    expect(r.logLikelihood!).toBeCloseTo(ref.ll, 4);
  });
});

describe("EM never decreases its objective", () => {
  const cases = [
    ["binary", crowd(11, 120, 15, 2, 5)],
    ["3-class", crowd(12, 120, 15, 3, 5)],
  ] as const;
  for (const [name, { rows }] of cases) {
    const d = encodeCategorical(rows);
    const fits: [string, CategoricalResult][] = [
      ["dawid-skene", dawidSkene(d, { tol: 1e-12 })],
      ["one-coin", oneCoinDawidSkene(d, { tol: 1e-12 })],
      ["glad", glad(d, { tol: 1e-12 })],
      ["mace-em", mace(d, { method: "em", restarts: 1, tol: 1e-12 })],
    ];
    for (const [method, r] of fits) {
      it(`${method} on ${name} data`, () => {
        expect(r.history.length).toBeGreaterThan(1);
        for (let i = 1; i < r.history.length; i++) {
          expect(r.history[i]!, `step ${i}`).toBeGreaterThanOrEqual(
            r.history[i - 1]! - 1e-7 * Math.abs(r.history[i - 1]!),
          );
        }
      });
    }
  }
});

describe("accuracy on synthetic crowds with known truth", () => {
  it("Dawid–Skene, one-coin, GLAD, MACE and M-MSR beat majority vote when a third of the crowd is adversarial", () => {
    const rng = new Rng(5);
    const acc = Array.from({ length: 20 }, (_, w) => (w < 7 ? 0.15 : rng.uniform(0.7, 0.9)));
    const { rows, truth } = crowd(21, 400, 20, 2, 7, acc);
    const d = encodeCategorical(rows);
    const score = (r: CategoricalResult) =>
      r.tasks.filter((t) => labelOf(r, t) === truth.get(t)).length / r.tasks.length;
    const mv = score(majorityVote(d));
    for (const r of [dawidSkene(d), oneCoinDawidSkene(d), glad(d), mace(d), mmsr(d)]) {
      expect(score(r), r.method).toBeGreaterThan(mv);
      // MACE models spammers (labels independent of the truth), not adversaries who flip it.
      if (r.method !== "mace") expect(score(r), r.method).toBeGreaterThan(0.93);
    }
    // The adversaries are recognised: their reliability is low.
    const ds = dawidSkene(d);
    for (let w = 0; w < 7; w++)
      expect(ds.reliability[ds.workers.indexOf(`w${w}`)]!).toBeLessThan(0.3);
  });
});

/** Reorders rows and renames classes/tasks/workers with a seed. */
function transform(rows: Row[], seed: number, classMap: (s: string) => string): Row[] {
  const out = rows.map((r) => ({ task: r.task, worker: r.worker, label: classMap(r.label) }));
  return new Rng(seed).shuffle(out);
}

describe("invariants (fast-check)", () => {
  const deterministic: [string, Fit][] = Object.entries(METHODS);
  const close = (a: number, b: number) => Math.abs(a - b) < 1e-6;

  it("permuting the rows (raters and tasks arrive in another order) changes nothing", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
        const { rows } = crowd(seed, 25, 6, 3, 3);
        const a = encodeCategorical(rows);
        const b = encodeCategorical(transform(rows, seed + 1, (s) => s));
        for (const [, fitMethod] of deterministic) {
          const ra = fitMethod(a);
          const rb = fitMethod(b);
          for (const task of ra.tasks) {
            for (const c of ra.classes)
              if (!close(proba(ra, task, c), proba(rb, task, c))) return false;
          }
        }
        return true;
      }),
      { numRuns: 12 },
    );
  });

  it("relabelling the classes relabels the posteriors", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
        const { rows } = crowd(seed, 25, 6, 3, 3);
        const rename: Record<string, string> = { c0: "zeta", c1: "alpha", c2: "mu" };
        const a = encodeCategorical(rows);
        const b = encodeCategorical(transform(rows, seed, (s) => rename[s]!));
        for (const [, fitMethod] of deterministic) {
          const ra = fitMethod(a);
          const rb = fitMethod(b);
          for (const task of ra.tasks) {
            for (const c of ra.classes)
              if (!close(proba(ra, task, c), proba(rb, task, rename[c]!))) return false;
          }
        }
        return true;
      }),
      { numRuns: 12 },
    );
  });

  it("duplicating the whole data set (a disjoint copy) leaves every task's posterior unchanged", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
        const { rows } = crowd(seed, 20, 5, 2, 3);
        const copy = rows.map((r) => ({
          task: `${r.task}'`,
          worker: `${r.worker}'`,
          label: r.label,
        }));
        const a = encodeCategorical(rows);
        const b = encodeCategorical([...rows, ...copy]);
        for (const [name, fitMethod] of deterministic) {
          if (name === "mmsr" || name === "glad") continue;
          const ra = fitMethod(a);
          const rb = fitMethod(b);
          for (const task of ra.tasks) {
            for (const c of ra.classes) {
              if (!close(proba(ra, task, c), proba(rb, task, c))) return false;
              if (!close(proba(rb, task, c), proba(rb, `${task}'`, c))) return false;
            }
          }
        }
        return true;
      }),
      { numRuns: 10 },
    );
  });
});

describe("M-MSR and workers who share no task with anyone", () => {
  const base = crowd(5, 40, 8, 2, 5).rows;
  // Two raters who each labelled a task of their own.
  const loners: Row[] = [
    { task: "own1", worker: "loner1", label: "c0" },
    { task: "own2", worker: "loner2", label: "c1" },
  ];

  it("gives them chance skill whatever the seed, and keeps their labels", () => {
    const d = encodeCategorical([...base, ...loners]);
    const K = d.nClasses;
    for (const seed of [0, 1, 2, 3]) {
      const r = mmsr(d, { seed });
      for (const w of ["loner1", "loner2"]) {
        const i = r.workers.indexOf(w);
        expect(r.skills![i], `${w} seed ${seed}`).toBe(0);
        expect(r.reliability[i], `${w} seed ${seed}`).toBeCloseTo(1 / K, 12);
      }
      expect(labelOf(r, "own1")).toBe("c0");
      expect(labelOf(r, "own2")).toBe("c1");
    }
  });

  it("stays finite when a worker agrees with everyone exactly at chance", () => {
    // w2 agrees with w0 and w1 on one task of two: C = 0 for both pairs, so its factor is 0 and
    // |C| / 0 used to turn every skill and posterior into NaN.
    const d = encodeCategorical([
      { task: "t1", worker: "w2", label: "c0" },
      { task: "t3", worker: "w2", label: "c0" },
      { task: "t3", worker: "w0", label: "c0" },
      { task: "t3", worker: "w1", label: "c0" },
      { task: "t2", worker: "w0", label: "c0" },
      { task: "t2", worker: "w1", label: "c0" },
      { task: "t2", worker: "w2", label: "c1" },
      { task: "t1", worker: "w2", label: "c1" },
    ]);
    const r = mmsr(d);
    for (const a of [r.probas, r.skills!, r.reliability])
      for (const x of a) expect(Number.isFinite(x)).toBe(true);
    expect(r.skills![r.workers.indexOf("w2")]).toBe(0);
    expect(labelOf(r, "t2")).toBe("c0");
  });

  it("stops at the last finite iterate when the factors run off, instead of returning NaN", () => {
    // Four workers on one task: the rank-one iterates grow without bound; after ~400
    // iterations the change overflowed and every skill and posterior came back NaN.
    const w = [0, 1, 1, 1, 0, 2, 0, 3, 3, 3];
    const l = [0, 0, 1, 2, 0, 2, 0, 1, 2, 1];
    const d = encodeCategorical(
      w.map((x, j) => ({ task: "t", worker: `w${x}`, label: `c${l[j]}` })),
    );
    const r = mmsr(d, { maxIter: 1000, tol: 1e-12 });
    expect(r.converged).toBe(false);
    for (const a of [r.probas, r.skills!, r.reliability, Float64Array.from(r.history)])
      for (const x of a) expect(Number.isFinite(x)).toBe(true);
  });

  it("leaves the other workers' skills as they are without them", () => {
    const alone = mmsr(encodeCategorical(base));
    const withLoners = mmsr(encodeCategorical([...base, ...loners]));
    // Skills at the clip 1 − 1/√I move with the number of tasks I; the others must not move.
    const ceiling = 1 - 1 / Math.sqrt(40);
    let compared = 0;
    for (const w of alone.workers) {
      const before = alone.skills![alone.workers.indexOf(w)]!;
      if (before >= ceiling - 1e-9) continue;
      compared++;
      expect(withLoners.skills![withLoners.workers.indexOf(w)], w).toBeCloseTo(before, 6);
    }
    expect(compared).toBeGreaterThan(3);
  });
});

describe("converged: true means the fit has settled, not only its log-likelihood", () => {
  // On these crowds EM's log-likelihood gained less than tol per judgment while the posteriors
  // were still up to 0.95 from their limit and up to 15 labels of 500 were still to flip, yet
  // every method said converged.
  const maxDiff = (a: Float64Array, b: Float64Array) =>
    a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
  const fits: [
    string,
    (d: CategoricalData, o: { maxIter?: number; tol?: number }) => CategoricalResult,
  ][] = [
    ["dawid-skene", (d, o) => dawidSkene(d, o)],
    ["one-coin", (d, o) => oneCoinDawidSkene(d, o)],
    ["glad", (d, o) => glad(d, o)],
    ["mace", (d, o) => mace(d, { ...o, restarts: 1 })],
  ];
  // (Not a world with far more confusion cells than labels, such as 20 workers × 16 cells on
  // 100 labels: Dawid–Skene's EM there crawls across saddle plateaus, where no local test can
  // tell a pause from the limit.)
  const worlds = [crowd(4, 500, 30, 2, 3).rows, crowd(2, 200, 10, 3, 3).rows];
  for (const [name, fitMethod] of fits) {
    it(name, () => {
      for (const rows of worlds) {
        const d = encodeCategorical(rows);
        const limit = fitMethod(d, { maxIter: 100_000, tol: 1e-14 });
        expect(limit.converged, `${name}: the reference run converges`).toBe(true);
        for (const maxIter of [100, 100_000]) {
          const r = fitMethod(d, { maxIter });
          if (maxIter > 100)
            expect(r.converged, `${name}: converges given the iterations`).toBe(true);
          if (!r.converged) continue;
          // √tol = 3.2e-3 for the default tol 1e-5.
          expect(maxDiff(r.probas, limit.probas), `${name} probas`).toBeLessThan(1e-2);
          expect(maxDiff(r.skills ?? r.errors!, limit.skills ?? limit.errors!), name).toBeLessThan(
            1e-2,
          );
        }
      }
    });
  }
});

describe("free-text labels (a class per label)", () => {
  const rows = (n: number, perTask: number, workers: number): Row[] =>
    Array.from({ length: n }, (_, i) => ({
      task: `t${Math.floor(i / perTask)}`,
      worker: `w${i % workers}`,
      label: `L${i}`,
    }));

  it("Dawid–Skene and one-coin refuse confusion matrices past the cap instead of a RangeError", () => {
    // 600 workers × 6,000² classes: 21.6·10⁹ cells, which `new Float64Array` cannot allocate.
    const d = encodeCategorical(rows(6000, 3, 600));
    for (const fitMethod of [dawidSkene, oneCoinDawidSkene]) {
      expect(() => fitMethod(d)).toThrow(
        expect.objectContaining({
          code: "KEEL_E_UNSUPPORTED",
          message: expect.stringContaining("600 workers × 6000² classes"),
        }),
      );
    }
  });

  it("every method refuses posteriors past the cap", () => {
    // 6,000 tasks × 6,000 classes = 3.6·10⁷ probabilities (a result JSON of over a gigabyte).
    const d = encodeCategorical(rows(6000, 1, 50));
    for (const [name, fitMethod] of Object.entries(METHODS)) {
      expect(() => fitMethod(d), name).toThrow(
        expect.objectContaining({
          code: "KEEL_E_UNSUPPORTED",
          message: expect.stringContaining("6000 tasks × 6000 classes"),
        }),
      );
    }
  });
});

describe("MACE without smoothing", () => {
  it("stays finite when a worker's labels leave no spam to count (0/0 in ξ)", () => {
    // Two of three workers are always right: their expected spam count reaches 0, and ξ = 0/0
    // turned every competence and the log-likelihood into NaN (`smoothing` ≥ 0 is accepted).
    const d = encodeCategorical(crowd(11, 16, 3, 4, 3, [0.9, 1, 1]).rows);
    for (const restarts of [1, 3]) {
      const r = mace(d, { method: "em", smoothing: 0, restarts });
      for (const a of [r.probas, r.skills!, r.reliability, r.priors!, Float64Array.from(r.history)])
        for (const x of a) expect(Number.isFinite(x), `restarts ${restarts}`).toBe(true);
      expect(labelOf(r, "t1")).toBe("c3");
    }
  });
});

describe("GLAD's fixed class priors", () => {
  const d = encodeCategorical(crowd(3, 30, 6, 3, 3).rows);
  it("are checked: one per class, finite, ≥ 0, not all 0", () => {
    // One prior for three classes used to leave the E-step reading the previous task's row.
    expect(() => glad(d, { priors: Float64Array.of(1) })).toThrow(
      expect.objectContaining({ code: "KEEL_E_SHAPE" }),
    );
    expect(() => glad(d, { priors: Float64Array.of(0.2, 0.3, 0.4, 0.1) })).toThrow(
      expect.objectContaining({ code: "KEEL_E_SHAPE" }),
    );
    for (const bad of [
      [0, 0, 0],
      [0.5, Number.NaN, 0.5],
      [1, -0.5, 0.5],
    ]) {
      expect(() => glad(d, { priors: Float64Array.from(bad) }), String(bad)).toThrow(
        expect.objectContaining({ code: "KEEL_E_CONFIG" }),
      );
    }
    const r = glad(d, { priors: Float64Array.of(0.2, 0.3, 0.5) });
    for (const x of r.probas) expect(Number.isFinite(x)).toBe(true);
  });
});

describe("class order", () => {
  it("does not depend on row order when numeric and other names mix", () => {
    // "9" < "10" by number but "10" < "5a" < "9" by code unit: compared pair by pair the order
    // was cyclic, so the sorted classes (and every tie-break on them) followed the rows' order.
    const names = ["10", "9", "5a", "x"];
    const seen = new Set<string>();
    for (const rotation of [0, 1, 2, 3]) {
      const rows = names.map((_, i) => ({
        task: "t",
        worker: `w${i}`,
        label: names[(i + rotation) % names.length]!,
      }));
      const d = encodeCategorical([...rows, ...rows.reverse()]);
      seen.add(d.classes.join(","));
      seen.add(encodeCategorical(rows).classes.join(","));
    }
    expect([...seen]).toEqual(["10,5a,9,x"]);
    expect(
      encodeCategorical(
        ["10", "9", "1e0"].map((label, i) => ({ task: "t", worker: `w${i}`, label })),
      ).classes,
    ).toEqual(["1e0", "9", "10"]);
  });
});
