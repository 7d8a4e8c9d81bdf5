import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bradleyTerry,
  bradleyTerryIlsr,
  crowdBradleyTerry,
  noisyBradleyTerry,
  type PairwiseData,
  PairwiseEncoder,
  type PairwiseResult,
  stronglyConnectedComponents,
} from "../../src/aggregate/index.js";
import { buildDigraph } from "../../src/aggregate/pairwise/graph.js";
import type { Outcome } from "../../src/aggregate/types.js";
import { KeelError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";

type Fit = (
  d: PairwiseData,
  o?: { prior?: number; tol?: number; maxIter?: number },
) => PairwiseResult;
const FITS: [string, Fit][] = [
  ["bradley-terry", bradleyTerry],
  ["bradley-terry-ilsr", bradleyTerryIlsr],
  ["noisy-bt", noisyBradleyTerry],
  ["crowd-bt", crowdBradleyTerry],
];

type Row = [worker: string, left: string, right: string, outcome: Outcome];
function encode(rows: Row[]): PairwiseData {
  const e = new PairwiseEncoder();
  for (const [w, l, r, o] of rows) e.add(w, l, r, o);
  return e.finish();
}
const score = (r: PairwiseResult, item: string) => r.scores[r.items.indexOf(item)]!;

/** Judgments from a BT world: item strengths N(0,1); honest raters, plus optional spammers/flippers. */
function world(
  seed: number,
  nItems: number,
  nWorkers: number,
  n: number,
  kind: (w: number) => "honest" | "left" | "flip" = () => "honest",
) {
  const rng = new Rng(seed);
  const beta = Array.from({ length: nItems }, () => rng.normal());
  const rows: Row[] = [];
  for (let j = 0; j < n; j++) {
    const w = rng.int(nWorkers);
    const a = rng.int(nItems);
    const b = (a + 1 + rng.int(nItems - 1)) % nItems;
    const pA = 1 / (1 + Math.exp(-(beta[a]! - beta[b]!)));
    const k = kind(w);
    const leftWins =
      k === "left" ? rng.bernoulli(0.9) : k === "flip" ? !rng.bernoulli(pA) : rng.bernoulli(pA);
    rows.push([`w${w}`, `i${a}`, `i${b}`, leftWins ? 0 : 1]);
  }
  return { rows, beta };
}

function corr(r: PairwiseResult, beta: number[]): number {
  const x = r.items.map((n) => beta[Number(n.slice(1))]!);
  const y = Array.from(r.scores);
  const mx = x.reduce((s, v) => s + v, 0) / x.length;
  const my = y.reduce((s, v) => s + v, 0) / y.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

describe("pairwise methods on tiny hand-checked cases", () => {
  it("a 3-cycle a > b > c > a gives equal scores", () => {
    const d = encode([
      ["w1", "a", "b", 0],
      ["w2", "b", "c", 0],
      ["w3", "c", "a", 0],
    ]);
    for (const [name, fitMethod] of FITS) {
      const r = fitMethod(d);
      for (const s of r.scores) expect(Math.abs(s), name).toBeLessThan(1e-9);
    }
  });

  it("two items with 3 wins to 1 give β_a − β_b = log 3 (the MLE), ties counting half", () => {
    const d = encode([
      ["w", "a", "b", 0],
      ["w", "a", "b", 0],
      ["w", "b", "a", 1],
      ["w", "a", "b", 1],
    ]);
    for (const fitMethod of [bradleyTerry, bradleyTerryIlsr]) {
      const r = fitMethod(d, { tol: 1e-15, maxIter: 10_000 });
      expect(score(r, "a") - score(r, "b")).toBeCloseTo(Math.log(3), 8);
    }
    const withTies = encode([
      ["w", "a", "b", 0],
      ["w", "a", "b", 2],
      ["w", "a", "b", 1],
      ["w", "a", "b", 2],
      ["w", "b", "a", 1],
    ]);
    // a: 2 wins + 2 half-wins = 3, b: 1 + 1 = 2 → β_a − β_b = log(3/2).
    const r = bradleyTerry(withTies, { tol: 1e-15, maxIter: 10_000 });
    expect(score(r, "a") - score(r, "b")).toBeCloseTo(Math.log(1.5), 8);
  });

  it("empty input gives empty, well-formed output", () => {
    const d = encode([]);
    for (const [name, fitMethod] of FITS) {
      const r = fitMethod(d);
      expect(r.scores.length, name).toBe(0);
      expect(r.items, name).toEqual([]);
      expect(r.iterations, name).toBe(0);
    }
  });

  it("zero iterations return equal scores", () => {
    const { rows } = world(1, 8, 3, 200);
    for (const [name, fitMethod] of FITS) {
      const r = fitMethod(encode(rows), { maxIter: 0 });
      expect(r.iterations, name).toBe(0);
      for (const s of r.scores) expect(s, name).toBe(0);
    }
  });

  it("a graph that is not strongly connected is an error naming its components", () => {
    const d = encode([
      ["w", "a", "b", 0],
      ["w", "b", "a", 0],
      ["w", "c", "d", 0],
      ["w", "d", "c", 0],
    ]);
    for (const [name, fitMethod] of FITS) {
      let err: unknown;
      try {
        fitMethod(d);
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(KeelError);
      expect((err as KeelError).code).toBe("KEEL_E_NOT_CONNECTED");
      expect((err as KeelError).message).toMatch(
        /2 components: \{"[ab]", "[ab]"\}; \{"[cd]", "[cd]"\}/,
      );
      expect((err as KeelError).hint).toMatch(/--prior/);
    }
    // An item that only ever loses is its own component too.
    const loser = encode([
      ["w", "a", "b", 0],
      ["w", "b", "a", 0],
      ["w", "a", "z", 0],
    ]);
    expect(() => bradleyTerry(loser)).toThrow(/\{"z"\}/);
    // The same when the loser is the first item seen (the lower index of its pair), for every
    // method: a check that read every pair as an edge both ways let it through.
    const firstLoses = encode([
      ["w", "z", "a", 1],
      ["w", "a", "b", 0],
      ["w", "b", "a", 0],
    ]);
    for (const [name, fitMethod] of FITS)
      expect(() => fitMethod(firstLoses), name).toThrow(/\{"z"\}/);
    // Two items, one always winning: the smallest graph that is not strongly connected.
    const oneWay = encode([
      ["w", "a", "b", 0],
      ["w", "b", "a", 1],
    ]);
    for (const [name, fitMethod] of FITS)
      expect(() => fitMethod(oneWay), name).toThrow(/2 components/);
  });

  it("scores are centred log-strengths: they sum to 0, with and without a prior", () => {
    const { rows } = world(5, 9, 4, 300);
    const d = encode(rows);
    for (const [name, fitMethod] of FITS) {
      for (const prior of [0, 1]) {
        const r = fitMethod(d, { prior });
        expect(
          r.scores.some((x) => Math.abs(x) > 0.1),
          name,
        ).toBe(true);
        expect(
          Math.abs(r.scores.reduce((a, x) => a + x, 0)),
          `${name}, prior ${prior}`,
        ).toBeLessThan(1e-12);
      }
    }
  });

  it("regularisation (prior) handles a disconnected graph: groups shrink to the same mean", () => {
    const d = encode([
      ["w", "a", "b", 0],
      ["w", "a", "b", 0],
      ["w", "c", "d", 0],
      ["w", "c", "d", 0],
    ]);
    for (const [name, fitMethod] of FITS) {
      const r = fitMethod(d, { prior: 1 });
      expect(score(r, "a"), name).toBeGreaterThan(score(r, "b"));
      expect(score(r, "a"), name).toBeCloseTo(score(r, "c"), 6);
      expect(r.scores.every(Number.isFinite), name).toBe(true);
    }
  });
});

describe("pairwise fits on synthetic worlds", () => {
  it("MM and I-LSR reach the same maximum-likelihood scores", () => {
    const { rows } = world(2, 40, 10, 3000);
    const d = encode(rows);
    const mm = bradleyTerry(d, { tol: 1e-15, maxIter: 20_000 });
    const il = bradleyTerryIlsr(d, { tol: 1e-15 });
    mm.scores.forEach((s, i) => {
      expect(s).toBeCloseTo(il.scores[i]!, 5);
    });
    expect(il.iterations).toBeLessThan(mm.iterations);
  });

  it("the log-likelihood never decreases (MM, I-LSR, Noisy BT, Crowd-BT)", () => {
    const { rows } = world(3, 30, 12, 2500, (w) => (w < 3 ? "left" : w < 5 ? "flip" : "honest"));
    const d = encode(rows);
    for (const [name, fitMethod] of FITS) {
      const r = fitMethod(d, { tol: 1e-12 });
      expect(r.history.length, name).toBeGreaterThan(1);
      for (let i = 1; i < r.history.length; i++) {
        expect(r.history[i]!, `${name} step ${i}`).toBeGreaterThanOrEqual(
          r.history[i - 1]! - 1e-9 * Math.abs(r.history[i - 1]!),
        );
      }
    }
  });

  it("Noisy BT finds position-biased raters; Crowd-BT finds flippers and recovers the ranking", () => {
    const { rows, beta } = world(4, 40, 20, 8000, (w) =>
      w < 4 ? "left" : w < 8 ? "flip" : "honest",
    );
    const d = encode(rows);
    const bt = bradleyTerry(d);
    const noisy = noisyBradleyTerry(d);
    const crowd = crowdBradleyTerry(d);
    const idx = (r: PairwiseResult, w: number) => r.workers.indexOf(`w${w}`);
    for (let w = 0; w < 4; w++) {
      expect(noisy.biases![idx(noisy, w)]!).toBeGreaterThan(0.8);
      expect(noisy.skills![idx(noisy, w)]!).toBeLessThan(0.3);
    }
    for (let w = 4; w < 8; w++) expect(crowd.skills![idx(crowd, w)]!).toBeLessThan(0.2);
    for (let w = 8; w < 20; w++) expect(crowd.skills![idx(crowd, w)]!).toBeGreaterThan(0.8);
    expect(corr(crowd, beta)).toBeGreaterThan(corr(bt, beta));
    expect(corr(crowd, beta)).toBeGreaterThan(0.95);
  });
});

/** Whether the fits accept `data` (their comparison graph is strongly connected). */
function isStronglyConnected(data: PairwiseData): boolean {
  try {
    bradleyTerry(data, { maxIter: 0 });
    return true;
  } catch (e) {
    if (e instanceof KeelError && e.code === "KEEL_E_NOT_CONNECTED") return false;
    throw e;
  }
}

describe("invariants (fast-check)", () => {
  it("reordering judgments and renaming items changes nothing; duplicating all judgments keeps the fit", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
        const { rows } = world(seed, 10, 5, 400);
        const a = encode(rows);
        // The fits are defined on a strongly connected comparison graph only; a world whose
        // draws leave an item that never wins (or never loses) is not a case of the property.
        fc.pre(isStronglyConnected(a));
        const shuffled = new Rng(seed).shuffle(
          rows.map(([w, l, r, o]) => [w, `x${l}`, `x${r}`, o] as Row),
        );
        const b = encode(shuffled);
        const twice = encode([...rows, ...rows]);
        for (const [name, fitMethod] of FITS) {
          // A fixed number of iterations: the updates are ratios of sufficient statistics,
          // which duplication doubles, so the whole trajectory must be the same.
          const o = { tol: 0, maxIter: 150 };
          const ra = fitMethod(a, o);
          const rb = fitMethod(b, o);
          const r2 = fitMethod(twice, o);
          for (const item of ra.items) {
            const s = score(ra, item);
            if (Math.abs(s - score(rb, `x${item}`)) > 1e-6)
              throw new Error(`${name}: permutation moved ${item}`);
            if (Math.abs(s - score(r2, item)) > 1e-6)
              throw new Error(`${name}: duplication moved ${item}`);
          }
        }
        return true;
      }),
      { numRuns: 8 },
    );
  });
});

describe("strongly connected components", () => {
  it("finds the components of a long chain without deep recursion", () => {
    const n = 200_000;
    const from = new Int32Array(n - 1).map((_, i) => i);
    const to = new Int32Array(n - 1).map((_, i) => i + 1);
    const { count } = stronglyConnectedComponents(buildDigraph(n, from, to));
    expect(count).toBe(n);
    // Closing the chain into a cycle makes it one component.
    const { count: one } = stronglyConnectedComponents(
      buildDigraph(n, Int32Array.from([...from, n - 1]), Int32Array.from([...to, 0])),
    );
    expect(one).toBe(1);
  });
});

describe("rater models whose scores run off to ±∞ without a prior", () => {
  // Strongly connected as judged, but w0, read as a flipper (Crowd-BT) or as answering at
  // random (Noisy BT), leaves comparisons that are not: the strengths ran to 0 and ∞ and the
  // scores came back NaN and ∞ (null in the JSON) with no error.
  const cases: [string, Fit, Row[]][] = [
    [
      "crowd-bt",
      crowdBradleyTerry,
      [
        ["w1", "i4", "i2", 1],
        ["w2", "i4", "i1", 1],
        ["w1", "i4", "i0", 1],
        ["w0", "i0", "i1", 1],
        ["w0", "i2", "i4", 2],
        ["w1", "i2", "i1", 2],
        ["w0", "i4", "i1", 0],
      ],
    ],
    [
      "noisy-bt",
      noisyBradleyTerry,
      [
        ["w0", "i2", "i1", 1],
        ["w0", "i1", "i2", 1],
        ["w2", "i2", "i0", 2],
        ["w1", "i1", "i0", 2],
        ["w0", "i0", "i1", 2],
        ["w1", "i0", "i2", 0],
        ["w0", "i2", "i1", 0],
        ["w2", "i0", "i1", 2],
        ["w1", "i1", "i2", 1],
        ["w2", "i2", "i0", 0],
        ["w1", "i0", "i1", 0],
        ["w0", "i0", "i1", 1],
      ],
    ],
  ];

  it("throw KEEL_E_NOT_CONNECTED pointing at --prior instead of returning NaN scores", () => {
    for (const [name, fitModel, rows] of cases) {
      const data = encode(rows);
      expect(isStronglyConnected(data), name).toBe(true);
      // Crowd-BT's strength sinks by a steady factor an iteration and leaves float range after
      // about 1,000 (it used to go faster, by rounding: 1 − resp cancelled to 0); within the
      // default 500 the run ends unconverged, as documented.
      let err: unknown;
      try {
        const early = fitModel(data);
        expect(early.converged, name).toBe(false);
        fitModel(data, { maxIter: 5000 });
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(KeelError);
      expect((err as KeelError).code, name).toBe("KEEL_E_NOT_CONNECTED");
      expect((err as KeelError).hint, name).toContain("--prior");
      const r = fitModel(data, { prior: 1 });
      for (const s of r.scores) expect(Number.isFinite(s), name).toBe(true);
    }
  });
});

describe("rater models whose scores run off stall on rounding", () => {
  // Small seeded tables (3 and 5 items, ties) on which Noisy BT's likelihood keeps rising as a
  // score runs off (the SciPy reference's L-BFGS-B went past ±31). The runaway strength used to
  // stall by rounding, and the fit reported converged: true on frozen scores: at 23.4, where
  // 1 − p cancelled to noise, and at 596, where the strength had become a subnormal whose few
  // bits could no longer step.
  const cancelling: Row[] = [
    ["w2", "i1", "i0", 0],
    ["w0", "i0", "i2", 2],
    ["w3", "i1", "i0", 1],
    ["w0", "i2", "i1", 2],
    ["w3", "i0", "i1", 2],
    ["w2", "i0", "i2", 2],
    ["w0", "i2", "i0", 2],
    ["w2", "i2", "i0", 1],
    ["w0", "i0", "i2", 1],
    ["w2", "i2", "i1", 0],
    ["w3", "i2", "i1", 2],
    ["w1", "i1", "i2", 0],
    ["w0", "i0", "i1", 2],
    ["w1", "i0", "i2", 1],
    ["w0", "i2", "i1", 0],
    ["w2", "i1", "i2", 2],
  ];
  const subnormal: Row[] = [
    ["w1", "i1", "i0", 1],
    ["w1", "i2", "i3", 1],
    ["w0", "i1", "i2", 1],
    ["w0", "i2", "i3", 0],
    ["w0", "i0", "i3", 2],
    ["w0", "i1", "i2", 1],
    ["w1", "i3", "i0", 2],
    ["w1", "i4", "i1", 0],
    ["w1", "i0", "i1", 0],
    ["w1", "i0", "i1", 2],
    ["w1", "i0", "i2", 1],
    ["w1", "i1", "i4", 2],
    ["w0", "i0", "i2", 1],
    ["w0", "i0", "i1", 0],
    ["w0", "i2", "i0", 1],
    ["w0", "i2", "i3", 1],
    ["w1", "i0", "i1", 0],
    ["w1", "i0", "i2", 0],
    ["w0", "i0", "i3", 2],
    ["w1", "i1", "i2", 2],
  ];

  it("Noisy BT throws KEEL_E_NOT_CONNECTED instead of reporting frozen scores as converged", () => {
    for (const [name, rows] of [
      ["cancelling", cancelling],
      ["subnormal", subnormal],
    ] as const) {
      const data = encode(rows);
      expect(isStronglyConnected(data), name).toBe(true);
      let err: unknown;
      try {
        const r = noisyBradleyTerry(data, { tol: 1e-20, maxIter: 200_000 });
        err = new Error(`${name}: converged=${r.converged}, scores ${Array.from(r.scores)}`);
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(KeelError);
      expect((err as KeelError).code, name).toBe("KEEL_E_NOT_CONNECTED");
    }
  });
});

describe("converged: true means the scores settled", () => {
  // 100 times a > b from w1, then b > a, b > c and c > b: b and c have the same wins against
  // the same opponents, so the MLE gives them equal scores. MM's log-likelihood gain fell under
  // tol at iteration 27 with b and c still 10⁻³ apart, and it reported converged.
  const rows: Row[] = [
    ...Array.from({ length: 100 }, (): Row => ["w1", "a", "b", 0]),
    ["w2", "a", "b", 1],
    ["w2", "b", "c", 0],
    ["w1", "c", "b", 0],
  ];

  it("Bradley–Terry MM runs until its scores are within √tol of the MLE", () => {
    const d = encode(rows);
    const ref = bradleyTerryIlsr(d, { tol: 1e-15, maxIter: 1000 });
    expect(Math.abs(score(ref, "b") - score(ref, "c"))).toBeLessThan(1e-12);
    for (const [name, fitMethod] of FITS.slice(0, 2)) {
      const r = fitMethod(d);
      expect(r.converged, name).toBe(true);
      expect(Math.abs(score(r, "b") - score(r, "c")), name).toBeLessThan(1e-4);
      r.scores.forEach((s, i) => {
        expect(Math.abs(s - ref.scores[i]!), name).toBeLessThan(1e-4);
      });
    }
    // On a BT world the log-likelihood test alone stopped MM 6·10⁻³ away from the MLE.
    const w = encode(world(2, 40, 10, 3000).rows);
    const mm = bradleyTerry(w);
    const il = bradleyTerryIlsr(w, { tol: 1e-15 });
    expect(mm.converged).toBe(true);
    mm.scores.forEach((s, i) => {
      expect(Math.abs(s - il.scores[i]!)).toBeLessThan(1e-3);
    });
  });

  it("Noisy BT and Crowd-BT do not report converged while their scores run off", () => {
    const d = encode(rows);
    for (const [name, fitModel] of FITS.slice(2)) {
      // After 6 iterations the scores were ±29 and growing, yet reported converged.
      const early = fitModel(d, { maxIter: 6 });
      expect(early.converged, name).toBe(false);
      // Run on, they reach the end of float range: the documented error, not frozen scores.
      let err: unknown;
      try {
        const r = fitModel(d);
        throw new Error(
          `${name} returned converged=${r.converged}, scores ${Array.from(r.scores)}`,
        );
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(KeelError);
      expect((err as KeelError).code, name).toBe("KEEL_E_NOT_CONNECTED");
      const reg = fitModel(d, { prior: 1 });
      expect(reg.converged, name).toBe(true);
      for (const s of reg.scores) expect(Number.isFinite(s), name).toBe(true);
    }
  });
});

describe("scores wider than float strengths can hold", () => {
  /** A ladder: each item beats the next `wins` times and loses to it once. */
  function ladder(n: number, wins: number): PairwiseData {
    const e = new PairwiseEncoder();
    for (let i = 0; i + 1 < n; i++) {
      for (let k = 0; k < wins; k++) e.add("w", `i${i}`, `i${i + 1}`, 0);
      e.add("w", `i${i + 1}`, `i${i}`, 0);
    }
    return e.finish();
  }

  it("I-LSR fits the MLE up to ±342 and throws KEEL_E_NUMERIC past float range instead of NaN", () => {
    // MLE: consecutive items log(1000) apart, so 99 links span 683.9.
    const ok = bradleyTerryIlsr(ladder(100, 1000));
    expect(ok.converged).toBe(true);
    expect(score(ok, "i0") - score(ok, "i99")).toBeCloseTo(99 * Math.log(1000), 6);
    // 104 links span 718: the strengths, scaled to mean 1, underflowed to 0 and every score
    // came back NaN (null in the JSON) with converged: false and no error.
    let err: unknown;
    try {
      bradleyTerryIlsr(ladder(105, 1000));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KeelError);
    expect((err as KeelError).code).toBe("KEEL_E_NUMERIC");
    expect((err as KeelError).hint).toContain("--prior");
  });
});

describe("converged: true means the rater parameters settled too", () => {
  it("Noisy BT does not stop while a rater's position bias is still growing away from 0", () => {
    // 30 items, 8 raters: w0 picks left 80% of the time, w1 flips, w2 answers at random.
    const rng = new Rng(2);
    const beta = Array.from({ length: 30 }, () => rng.normal());
    const rows: Row[] = [];
    for (let j = 0; j < 600; j++) {
      const w = rng.int(8);
      const a = rng.int(30);
      const b = (a + 1 + rng.int(29)) % 30;
      const pA = 1 / (1 + Math.exp(-(beta[a]! - beta[b]!)));
      const leftWins =
        w === 0
          ? rng.bernoulli(0.8)
          : w === 1
            ? !rng.bernoulli(pA)
            : w === 2
              ? rng.bernoulli(0.5)
              : rng.bernoulli(pA);
      rows.push([`w${w}`, `i${a}`, `i${b}`, leftWins ? 0 : 1]);
    }
    const d = encode(rows);
    const ref = noisyBradleyTerry(d, { prior: 1, tol: 1e-30, maxIter: 20_000 });
    const gap = (r: PairwiseResult) =>
      Math.max(...r.scores.map((s, i) => Math.abs(s - ref.scores[i]!)));
    // w6's bias was 0.0003 at iteration 457, growing 0.4% an iteration towards 0.091, while
    // the scores' steps shrank: the fit said converged with scores 0.03 from their limit.
    const r = noisyBradleyTerry(d, { prior: 1 });
    if (r.converged) expect(gap(r)).toBeLessThan(1e-3);
    const long = noisyBradleyTerry(d, { prior: 1, maxIter: 100_000 });
    expect(long.converged).toBe(true);
    expect(gap(long)).toBeLessThan(1e-3);
    expect(long.biases![d.workers.indexOf("w6")]!).toBeGreaterThan(0.05);
  });
});
