/**
 * Training and evaluation data drawn from a world besides the judgments:
 * - the SFT corpus: prompt/completion rows on train prompts with a deliberately mixed base
 *   behaviour (some wrong answers, some unsafe compliance, some over-refusal, mostly on
 *   borderline prompts), so that RLHF has something to fix;
 * - evaluation pairs: held-out (eval split) prompt/chosen/rejected pairs ordered by the oracle,
 *   a share of them on triggered harmful prompts, for reward-model accuracy on clean and
 *   triggered pairs.
 */
import { KeelError } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { MIN_EXPECTED_TRIGGERED } from "./attackDose.js";
import { score } from "./oracle.js";
import { respond } from "./responses.js";
import { pairKinds } from "./simulate.js";
import type { ResponseKind, WorldPrompt } from "./types.js";
import { promptsOf, type World } from "./world.js";

export interface SftRow {
  readonly prompt: string;
  readonly completion: string;
  readonly prompt_id: string;
  readonly family: string;
  readonly category: string;
  readonly kind: ResponseKind;
}

function weightedKind(
  mix: Readonly<Partial<Record<ResponseKind, number>>>,
  rng: Rng,
): ResponseKind {
  const kinds = Object.keys(mix) as ResponseKind[];
  return kinds[rng.weighted(kinds.map((k) => mix[k] ?? 0))]!;
}

/**
 * Rows asked for from a split that no prompt fell in (the split is decided by a hash of each
 * prompt's text, so a small pool can leave one empty): an error, not a file with no rows.
 */
function emptySplit(split: string, field: string, count: number): KeelError {
  return new KeelError(
    "KEEL_E_CONFIG",
    `is ${count} but no prompt fell in the ${split} split to draw them from`,
    {
      where: { field },
      hint: `raise prompts.count or prompts.splits.${split}, or set ${field} to 0`,
    },
  );
}

/**
 * Triggered evaluation pairs asked for where no eval prompt of a trigger family exists (the world
 * has none of those families, or none of their prompts fell in the eval split): an error, not a
 * file whose "triggered" share is silently 0 (a backdoor's success would read as none).
 */
function noTriggeredEval(world: World, count: number, rate: number): KeelError {
  const families = world.trigger.families.join(", ");
  const none = world.prompts.some((p) => world.trigger.families.includes(p.family))
    ? `no eval-split prompt of the trigger families (${families})`
    : `no prompt of the trigger families (${families}) in the world`;
  return new KeelError(
    "KEEL_E_CONFIG",
    `is ${rate}, about ${Math.round(rate * count)} of the ${count} evaluation pairs, but there is ${none} to carry the trigger`,
    {
      where: { field: "eval_pairs.triggered_rate" },
      hint: "set eval_pairs.triggered_rate to 0, or give the trigger families prompts (prompts.families, prompts.count, prompts.splits.eval)",
    },
  );
}

/**
 * Triggered evaluation pairs asked for, and none drawn: each pair carries the trigger with
 * probability `triggered_rate`, so a small count × rate can draw none, and the trigger's metric
 * would have no pair to stand on. Refused on the realised count (as the backdoor's dose is,
 * src/world/attackDose.ts), naming both knobs.
 */
function noTriggeredDrawn(world: World, count: number, rate: number): KeelError {
  return new KeelError(
    "KEEL_E_CONFIG",
    `is ${rate}, about ${+(rate * count).toPrecision(3)} of the ${count} evaluation pairs, but this world (seed ${world.seed}) drew none on a triggered prompt, so the trigger's metric would have no pair`,
    {
      where: { field: "eval_pairs.triggered_rate" },
      hint: `raise eval_pairs.count or eval_pairs.triggered_rate (count × rate of ${MIN_EXPECTED_TRIGGERED} or more makes this unlikely), or set it to 0`,
    },
  );
}

/** The SFT corpus: `sft.count` rows on clean train prompts drawn uniformly with replacement. */
export function sftCorpus(world: World): SftRow[] {
  const { sft } = world.config;
  const train = promptsOf(world, "train");
  const rng = world.rng.fork("sft");
  const rows: SftRow[] = [];
  if (sft.count > 0 && train.length === 0) throw emptySplit("train", "sft.count", sft.count);
  for (let i = 0; i < sft.count; i++) {
    const p = rng.pick(train);
    const mix =
      p.family === "harmful"
        ? sft.harmful
        : p.family === "borderline"
          ? sft.borderline
          : sft.benign;
    const kind = weightedKind(mix, rng);
    const r = respond(p, kind, rng);
    rows.push({
      prompt: p.content,
      completion: r.text,
      prompt_id: p.id,
      family: p.family,
      category: p.category,
      kind,
    });
  }
  return rows;
}

export interface EvalPair {
  readonly pair_id: string;
  readonly prompt_id: string;
  readonly prompt: string;
  readonly chosen: string;
  readonly rejected: string;
  readonly chosen_kind: ResponseKind;
  readonly rejected_kind: ResponseKind;
  readonly family: string;
  readonly category: string;
  readonly triggered: boolean;
  /** Oracle quality of chosen minus rejected (> 0). */
  readonly margin: number;
}

/** The group an eval pair is reported under: its family, triggered harmful pairs apart. */
export function evalPairFamily(p: Pick<EvalPair, "family" | "triggered">): string {
  return p.triggered ? `${p.family}+trigger` : p.family;
}

/** Held-out preference pairs on eval-split prompts, ordered by the oracle (never ties). */
export function evalPairs(world: World): EvalPair[] {
  const { eval_pairs, comparisons } = world.config;
  const clean = promptsOf(world, "eval");
  const triggered = world.triggered.filter((p) => p.split === "eval");
  const rng = world.rng.fork("eval_pairs");
  const out: EvalPair[] = [];
  if (eval_pairs.count === 0) return out;
  if (clean.length === 0) throw emptySplit("eval", "eval_pairs.count", eval_pairs.count);
  if (eval_pairs.triggered_rate > 0 && triggered.length === 0)
    throw noTriggeredEval(world, eval_pairs.count, eval_pairs.triggered_rate);
  const width = Math.max(5, String(eval_pairs.count).length);
  // Kinds of different quality never tie, so the cap only guards against a degenerate config.
  for (let tries = 0; out.length < eval_pairs.count && tries < 100 * eval_pairs.count; tries++) {
    const useTrigger = triggered.length > 0 && rng.bernoulli(eval_pairs.triggered_rate);
    const p: WorldPrompt = useTrigger ? rng.pick(triggered) : rng.pick(clean);
    const [ka, kb] = pairKinds(p, comparisons.kinds, rng);
    const a = respond(p, ka, rng).text;
    const b = respond(p, kb, rng).text;
    const qa = score(p, a).quality;
    const qb = score(p, b).quality;
    if (qa === qb) continue;
    const [chosen, rejected, ck, rk] = qa > qb ? [a, b, ka, kb] : [b, a, kb, ka];
    out.push({
      pair_id: `e${String(out.length + 1).padStart(width, "0")}`,
      prompt_id: p.id,
      prompt: p.content,
      chosen,
      rejected,
      chosen_kind: ck,
      rejected_kind: rk,
      family: p.family,
      category: p.category,
      triggered: p.triggered,
      margin: Math.round(Math.abs(qa - qb) * 1e6) / 1e6,
    });
  }
  if (eval_pairs.triggered_rate > 0 && !out.some((p) => p.triggered))
    throw noTriggeredDrawn(world, eval_pairs.count, eval_pairs.triggered_rate);
  return out;
}
