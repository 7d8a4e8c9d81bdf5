/**
 * keel's categorical aggregators against an independent NumPy/SciPy reference
 * (`scripts/categorical-reference.py`, written from the papers and docs/aggregate.md rather than
 * ported from src/aggregate). The script draws six small seeded crowds — a spammer who answers
 * at random, an adversary who always gives the same wrong class, unequal task coverage (one
 * worker labelling some tasks twice, tasks with a single label, a flipper), a class no one uses,
 * gold answers with a flipper, and a panel of twelve with three flippers and two spammers (on
 * which M-MSR trims) — and stores them, their true classes and its answers in
 * `fixtures/categorical-reference.json` (CI has no Python).
 *
 * What is compared, and how closely (the differences measured on this machine in brackets):
 * - majority vote and Wawa: probabilities, labels and skills, to 1e-12 (≤ 1.1e-16).
 * - Dawid–Skene and one-coin: the fit after exactly 0, 1, 2 and 25 EM iterations (`tol: 0`),
 *   and the runs keel's stopping rule ends (default options, and `tol` 1e-12 from up to 3,000
 *   iterations; Dawid–Skene also with `diagonalPrior` 1): posteriors, class priors, confusion
 *   matrices, accuracies and reliabilities to 1e-12 (≤ 9e-16), the log-likelihood to 1e-12
 *   relative (≤ 4e-16) and so is each iteration's in `history` (≤ 6e-14 absolute), labels,
 *   iteration counts and `converged` exactly. The same EM from the same start computes the
 *   same numbers up to float64 rounding; where the default stopping rule stops, one more
 *   iteration moves them by 2e-5 to 5e-4 (Dawid–Skene) and 4e-6 to 7e-4 (one-coin) on every
 *   set but the gold one, where EM reaches its limit exactly.
 * - GLAD: keel's EM has a Fisher-scoring M-step, the reference maximises the marginal
 *   log-posterior directly (L-BFGS, then Newton to a gradient below 1e-9). Run with `tol` 1e-15
 *   (values settled to about 3e-8), keel must reach the same maximum: α, log β, posteriors and
 *   reliabilities within 1e-6 (≤ 2.1e-7), the log-posterior within 1e-12 relative (≤ 8e-16).
 *   With default options (values settled to √tol ≈ 3e-3) the labels must agree and the
 *   posteriors lie within 1e-2 (≤ 2.3e-3).
 * - M-MSR (default options): skills, reliabilities and posteriors to 1e-12 (≤ 9e-16), labels,
 *   iteration count and `converged` exactly, and the change of u vᵀ after each iteration
 *   (`history`) to 1e-9 of the first change (≤ 3.4e-13 absolute). These pin the stopping
 *   test: keel used to measure that change as a difference of terms of size W², whose rounding
 *   noise hid changes below 3e-8, and stopped at random, 4 to 6 iterations early here. On the
 *   panel they pin the signs' orientation too: taken from Σ_j C_ij |s_j| alone, it made all
 *   twelve workers worse than chance there, seven honest ones included, and labelled 57% of the
 *   tasks right where Dawid–Skene gets all of them; most workers are now better than chance.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  type CategoricalResult,
  dawidSkene,
  encodeCategorical,
  glad,
  majorityVote,
  mmsr,
  oneCoinDawidSkene,
  wawa,
} from "../../src/aggregate/index.js";
import type { CategoricalData } from "../../src/aggregate/types.js";

interface EmAnswer {
  readonly maxIter: number;
  readonly tol: number;
  readonly diagonalPrior: number;
  readonly probas: number[][];
  readonly labels: number[];
  readonly priors: number[];
  readonly errors: number[][][];
  readonly reliability: number[];
  readonly skills?: number[];
  readonly logLikelihood: number;
  readonly iterations: number;
  readonly converged: boolean;
  readonly history: number[];
}

interface VoteAnswer {
  readonly probas: number[][];
  readonly labels: number[];
  readonly skills: number[];
}

interface Dataset {
  readonly name: string;
  readonly classes: string[];
  readonly rows: [string, string, string][];
  readonly gold: Record<string, string>;
  readonly tasks: string[];
  readonly workers: string[];
  readonly "majority-vote": VoteAnswer;
  readonly wawa: VoteAnswer;
  readonly "dawid-skene": EmAnswer[];
  readonly "one-coin": EmAnswer[];
  readonly glad: {
    readonly probas: number[][];
    readonly labels: number[];
    readonly alphas: number[];
    readonly betas: number[];
    readonly reliability: number[];
    readonly logLikelihood: number;
  };
  readonly mmsr: VoteAnswer & {
    readonly reliability: number[];
    readonly iterations: number;
    readonly converged: boolean;
    readonly history: number[];
  };
}

const FIX = JSON.parse(
  readFileSync(new URL("./fixtures/categorical-reference.json", import.meta.url), "utf8"),
) as { readonly datasets: Dataset[] };

/**
 * The data set as keel encodes it. A class of the fixture that no row uses (declared up front,
 * as a label set is) is appended to keel's classes, which sort the used ones the same way.
 */
function encode(ds: Dataset): CategoricalData {
  const d = encodeCategorical(
    ds.rows.map(([task, worker, label]) => ({ task, worker, label })),
    Object.entries(ds.gold),
  );
  expect(ds.classes.slice(0, d.nClasses)).toEqual(d.classes);
  expect(d.tasks).toEqual(ds.tasks);
  expect(d.workers).toEqual(ds.workers);
  return { ...d, nClasses: ds.classes.length, classes: ds.classes };
}

/** Largest |keel − reference| over two arrays of the same length. */
function maxDiff(keel: ArrayLike<number>, ref: readonly number[]): number {
  expect(keel.length).toBe(ref.length);
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(keel[i]! - ref[i]!));
  return m;
}

function expectClose(what: string, keel: ArrayLike<number>, ref: unknown[], tol: number): void {
  const flat = (ref as number[]).flat(2) as number[];
  expect(maxDiff(keel, flat), what).toBeLessThanOrEqual(tol);
}

function expectVote(r: CategoricalResult, ref: VoteAnswer, tol: number): void {
  expectClose("probas", r.probas, ref.probas, tol);
  expect(Array.from(r.labels), "labels").toEqual(ref.labels);
  expectClose("skills", r.skills!, ref.skills, tol);
}

function expectEm(r: CategoricalResult, ref: EmAnswer): void {
  const at = `maxIter ${ref.maxIter}, tol ${ref.tol}, diagonalPrior ${ref.diagonalPrior}`;
  expect(r.iterations, `iterations (${at})`).toBe(ref.iterations);
  expect(r.converged, `converged (${at})`).toBe(ref.converged);
  expectClose(`probas (${at})`, r.probas, ref.probas, 1e-12);
  expect(Array.from(r.labels), `labels (${at})`).toEqual(ref.labels);
  expectClose(`priors (${at})`, r.priors!, ref.priors, 1e-12);
  expectClose(`errors (${at})`, r.errors!, ref.errors, 1e-12);
  expectClose(`reliability (${at})`, r.reliability, ref.reliability, 1e-12);
  if (ref.skills) expectClose(`skills (${at})`, r.skills!, ref.skills, 1e-12);
  expect(Math.abs(r.logLikelihood! - ref.logLikelihood), `log-likelihood (${at})`).toBeLessThan(
    1e-12 * Math.abs(ref.logLikelihood),
  );
  expectClose(`history (${at})`, r.history, ref.history, 1e-12 * Math.abs(ref.logLikelihood));
}

describe.each(FIX.datasets.map((ds) => [ds.name, ds] as const))(
  "reference data set %s",
  (_, ds) => {
    const d = encode(ds);

    it("majority vote: vote shares, ties to the lower class, skills as agreement", () => {
      expectVote(majorityVote(d), ds["majority-vote"], 1e-12);
    });

    it("Wawa: the vote re-weighted by agreement with it", () => {
      expectVote(wawa(d), ds.wawa, 1e-12);
    });

    it("Dawid–Skene: each EM iterate and the stopping rule's iterate", () => {
      for (const ref of ds["dawid-skene"]) {
        const { maxIter, tol, diagonalPrior } = ref;
        expectEm(dawidSkene(d, { maxIter, tol, diagonalPrior }), ref);
      }
    });

    it("one-coin Dawid–Skene: each EM iterate and the stopping rule's iterate", () => {
      for (const ref of ds["one-coin"]) {
        expectEm(oneCoinDawidSkene(d, { maxIter: ref.maxIter, tol: ref.tol }), ref);
      }
    });

    it("GLAD reaches the maximum of the marginal log-posterior", () => {
      const ref = ds.glad;
      const r = glad(d, { maxIter: 5000, tol: 1e-15 });
      expect(r.converged).toBe(true);
      expectClose("alphas", r.alphas, ref.alphas, 1e-6);
      expectClose("log betas", r.betas.map(Math.log), ref.betas.map(Math.log), 1e-6);
      expectClose("probas", r.probas, ref.probas, 1e-6);
      expectClose("reliability", r.reliability, ref.reliability, 1e-6);
      expect(Array.from(r.labels)).toEqual(ref.labels);
      expect(Math.abs(r.logLikelihood! - ref.logLikelihood)).toBeLessThan(
        1e-12 * Math.abs(ref.logLikelihood),
      );
      const quick = glad(d);
      expect(quick.converged).toBe(true);
      expect(Array.from(quick.labels)).toEqual(ref.labels);
      expectClose("default-option probas", quick.probas, ref.probas, 1e-2);
    });

    it("M-MSR: the documented completion, signs, clipping and weighted vote", () => {
      const ref = ds.mmsr;
      const r = mmsr(d);
      expect(r.iterations).toBe(ref.iterations);
      expect(r.converged).toBe(ref.converged);
      // the change of u vᵀ after each iteration, to 1e-9 of the first change
      expectClose("history", r.history, ref.history, 1e-9 * ref.history[0]!);
      expectClose("|skills|", r.skills!.map(Math.abs), ref.skills.map(Math.abs), 1e-12);
      expectClose("skills", r.skills!, ref.skills, 1e-12);
      expectClose("reliability", r.reliability, ref.reliability, 1e-12);
      expectVote(r, ref, 1e-12);
    });
  },
);
