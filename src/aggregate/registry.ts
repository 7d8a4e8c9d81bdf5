/**
 * Every aggregation method in one explicit list: `{ key, kind, summary, validate, options, fit }`
 * (and, for categorical methods, `usesGold`). `validate` parses the options with zod (unknown
 * keys are errors), `options` names them, and `fit` runs the method on encoded data. The CLI
 * and the pipeline look methods up here; nothing is discovered.
 */
import { z } from "zod";
import { KeelError } from "../core/errors.js";
import { dawidSkene } from "./categorical/dawid-skene.js";
import { glad } from "./categorical/glad.js";
import { mace } from "./categorical/mace.js";
import { majorityVote } from "./categorical/majority-vote.js";
import { mmsr } from "./categorical/mmsr.js";
import { oneCoinDawidSkene } from "./categorical/one-coin-dawid-skene.js";
import { wawa } from "./categorical/wawa.js";
import { bradleyTerry } from "./pairwise/bradley-terry.js";
import { bradleyTerryIlsr } from "./pairwise/bradley-terry-ilsr.js";
import { crowdBradleyTerry } from "./pairwise/crowd-bt.js";
import { noisyBradleyTerry } from "./pairwise/noisy-bt.js";
import type { CategoricalData, CategoricalResult, PairwiseData, PairwiseResult } from "./types.js";

const iter = {
  maxIter: z.number().int().min(0).max(1_000_000).optional(),
  tol: z.number().positive().finite().optional(),
};
const seed = z.union([z.number().int(), z.string().min(1)]).optional();
const IterSchema = z.strictObject(iter);
const NoOptions = z.strictObject({});
// Beyond ~1e307 virtual games the MM denominators overflow to ∞ and every score is NaN; far
// below that the prior already pins every score to 0.
export const MAX_PRIOR = 1e12;
const PairwiseSchema = z.strictObject({
  ...iter,
  prior: z.number().min(0).max(MAX_PRIOR).optional(),
});
const MaceSchema = z.strictObject({
  ...iter,
  method: z.enum(["em", "vb"]).optional(),
  restarts: z.number().int().min(1).max(1000).optional(),
  seed,
  smoothing: z.number().min(0).finite().optional(),
});
const MmsrSchema = z.strictObject({ ...iter, seed });

export type MethodOptions = Record<string, unknown>;

interface MethodBase<D, R> {
  readonly key: string;
  readonly summary: string;
  /** Options accepted by `fit`, checked once at the boundary. */
  validate(options: unknown): MethodOptions;
  /** The names of those options (an unknown name is an error of `validate`). */
  readonly options: readonly string[];
  fit(data: D, options: MethodOptions): R;
}

export interface CategoricalMethod extends MethodBase<CategoricalData, CategoricalResult> {
  readonly kind: "categorical";
  /** Whether `fit` uses known gold classes (`data.gold`); the others ignore them. */
  readonly usesGold: boolean;
}
export interface PairwiseMethod extends MethodBase<PairwiseData, PairwiseResult> {
  readonly kind: "pairwise";
}
export type AggregationMethod = CategoricalMethod | PairwiseMethod;

type OptionsSchema = z.ZodObject<z.ZodRawShape>;

function parser(schema: OptionsSchema, key: string) {
  return (options: unknown): MethodOptions => {
    const r = schema.safeParse(options ?? {});
    if (r.success) return r.data;
    const issue = r.error.issues[0]!;
    if (issue.code === "unrecognized_keys") {
      const field = issue.keys[0]!;
      throw new KeelError("KEEL_E_CONFIG", `${key} takes no option ${JSON.stringify(field)}`, {
        where: { field },
      });
    }
    throw new KeelError(
      "KEEL_E_CONFIG",
      `${key}: ${issue.path.join(".") || "options"}: ${issue.message}`,
      {
        where: { field: issue.path.join(".") },
      },
    );
  };
}

function categorical(
  key: string,
  summary: string,
  schema: OptionsSchema,
  fit: (d: CategoricalData, o: MethodOptions) => CategoricalResult,
  usesGold = false,
): CategoricalMethod {
  const validate = parser(schema, key);
  const options = Object.keys(schema.shape);
  return { key, kind: "categorical", summary, validate, options, fit, usesGold };
}

function pairwise(
  key: string,
  summary: string,
  fit: (d: PairwiseData, o: MethodOptions) => PairwiseResult,
): PairwiseMethod {
  const validate = parser(PairwiseSchema, key);
  return {
    key,
    kind: "pairwise",
    summary,
    validate,
    options: Object.keys(PairwiseSchema.shape),
    fit,
  };
}

export const AGGREGATION_METHODS: readonly AggregationMethod[] = [
  categorical("majority-vote", "plurality of labels; skill = agreement with it", NoOptions, (d) =>
    majorityVote(d),
  ),
  categorical("wawa", "majority vote weighted by agreement with the majority", NoOptions, (d) =>
    wawa(d),
  ),
  categorical(
    "dawid-skene",
    "EM with a full confusion matrix per worker (Dawid & Skene 1979)",
    IterSchema,
    (d, o) => dawidSkene(d, o),
    true,
  ),
  categorical(
    "one-coin",
    "Dawid–Skene with one accuracy per worker",
    IterSchema,
    (d, o) => oneCoinDawidSkene(d, o),
    true,
  ),
  categorical(
    "glad",
    "worker ability × task difficulty (Whitehill et al. 2009)",
    IterSchema,
    (d, o) => glad(d, o),
    true,
  ),
  categorical(
    "mace",
    "competence and spamming model with restarts (Hovy et al. 2013)",
    MaceSchema,
    (d, o) => mace(d, o),
  ),
  categorical(
    "mmsr",
    "robust rank-one completion of worker agreement (Ma & Olshevsky 2020)",
    MmsrSchema,
    (d, o) => mmsr(d, o),
  ),
  pairwise("bradley-terry", "Bradley–Terry by Hunter's MM", (d, o) => bradleyTerry(d, o)),
  pairwise("bradley-terry-ilsr", "Bradley–Terry by iterative Luce spectral ranking", (d, o) =>
    bradleyTerryIlsr(d, o),
  ),
  pairwise("noisy-bt", "Bradley–Terry with rater skill and position bias", (d, o) =>
    noisyBradleyTerry(d, o),
  ),
  pairwise("crowd-bt", "Bradley–Terry with rater truthfulness (flippers detected)", (d, o) =>
    crowdBradleyTerry(d, o),
  ),
];

export function getAggregationMethod(key: string): AggregationMethod {
  const m = AGGREGATION_METHODS.find((x) => x.key === key);
  if (!m) {
    throw new KeelError("KEEL_E_USAGE", `unknown aggregation method ${JSON.stringify(key)}`, {
      hint: `one of: ${AGGREGATION_METHODS.map((x) => x.key).join(", ")}`,
    });
  }
  return m;
}
