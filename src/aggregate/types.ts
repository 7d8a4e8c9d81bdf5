/**
 * Data shapes and fitted results of the aggregation algorithms.
 *
 * Labels are encoded once into dense integer arrays (task, worker and class indices) so that
 * every algorithm iterates over typed arrays: 12 bytes per categorical judgment, 13 per
 * pairwise one. The string names live beside the arrays, indexed by those integers.
 * Matrices are row-major Float64Arrays with their shape in a comment, e.g. `[nTasks, K]`.
 */

/** crowd-kit's categorical table `task,worker,label`, encoded. */
export interface CategoricalData {
  readonly nTasks: number;
  readonly nWorkers: number;
  /** K, the number of classes. */
  readonly nClasses: number;
  /** Task index of each judgment. [n] */
  readonly task: Int32Array;
  /** Worker index of each judgment. [n] */
  readonly worker: Int32Array;
  /** Class index of each judgment's label. [n] */
  readonly label: Int32Array;
  readonly tasks: readonly string[];
  readonly workers: readonly string[];
  /** Class names, sorted (numerically when all are numbers), so results do not depend on row order. */
  readonly classes: readonly string[];
  /** Known true class of each task, or -1. [nTasks]; absent when no gold was given. */
  readonly gold?: Int32Array;
}

/** Outcome codes of a pairwise judgment. */
export const LEFT_WINS = 0;
export const RIGHT_WINS = 1;
export const TIE = 2;
export type Outcome = typeof LEFT_WINS | typeof RIGHT_WINS | typeof TIE;

/** crowd-kit's pairwise table `worker,left,right,label`, encoded; ties are first-class. */
export interface PairwiseData {
  readonly nItems: number;
  readonly nWorkers: number;
  readonly worker: Int32Array;
  /** The item shown on the left (position bias is measured against this side). [n] */
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** LEFT_WINS, RIGHT_WINS or TIE. [n] */
  readonly outcome: Uint8Array;
  readonly items: readonly string[];
  readonly workers: readonly string[];
}

/** How an iterative fit ended. */
export interface FitTrace {
  readonly iterations: number;
  readonly converged: boolean;
  /** Objective after each iteration (log-likelihood, plus log-prior where the method has one). */
  readonly history: readonly number[];
  readonly logLikelihood?: number;
}

export interface CategoricalResult extends FitTrace {
  readonly method: string;
  readonly tasks: readonly string[];
  readonly workers: readonly string[];
  readonly classes: readonly string[];
  /** Posterior (or vote share) of each class per task. [nTasks, K] */
  readonly probas: Float64Array;
  /** Most probable class per task; ties go to the lower class index. [nTasks] */
  readonly labels: Int32Array;
  /** Class prevalence. [K] */
  readonly priors?: Float64Array;
  /** Confusion matrices, P(observed l | true k) at [w, k, l]. [nWorkers, K, K] */
  readonly errors?: Float64Array;
  /** The method's own worker parameter (accuracy, ability, competence); see each method. [nWorkers] */
  readonly skills?: Float64Array;
  /**
   * Probability that the worker's label equals the true class under the fitted model: one
   * 0..1 reliability per worker whatever the method, for the defenses. [nWorkers]
   */
  readonly reliability: Float64Array;
}

export interface PairwiseResult extends FitTrace {
  readonly method: string;
  readonly items: readonly string[];
  readonly workers: readonly string[];
  /** Log-strengths β, centred to mean 0: P(i beats j) = σ(β_i − β_j). [nItems] */
  readonly scores: Float64Array;
  /** Worker skill (probability of answering by the model rather than at random/flipped). [nWorkers] */
  readonly skills?: Float64Array;
  /** Worker position bias: P(choose left | answering at random), 0.5 = none. [nWorkers] */
  readonly biases?: Float64Array;
  /** 0..1 reliability per worker (the skill where the model has one). [nWorkers] */
  readonly reliability?: Float64Array;
}

/** Options shared by the iterative methods. */
export interface IterOptions {
  /** Maximum number of iterations (0 returns the initialisation). */
  readonly maxIter?: number;
  /**
   * Stop when the objective per judgment improves by less than this and the fitted values (scores,
   * posteriors, worker parameters) are within √tol of where they are heading.
   */
  readonly tol?: number;
}
