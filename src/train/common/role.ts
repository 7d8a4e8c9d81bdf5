/**
 * What a checkpoint says it is, and the checks that keep each kind of model in its place: a
 * policy (keel train sft, ppo, dpo) is not a reward model, a reward or cost model (keel train
 * rm, cost) is not a policy. Checkpoints that say nothing of themselves (keel model init,
 * imported models) are taken as they are.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { KeelError, type Where } from "../../core/errors.js";

/** What a scorer is loaded as. */
export type ScorerKind = "reward" | "cost";

export const POLICY_TRAINERS: ReadonlySet<string> = new Set(["sft", "ppo", "dpo"]);

/** Whether `dir` holds a reward-model ensemble (its ensemble.json) rather than one checkpoint. */
export function isEnsembleDir(dir: string): boolean {
  return existsSync(join(dir, "ensemble.json"));
}

export function readJsonQuietly(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined; // unreadable: the loader reports it
  }
}

/** A checkpoint's own account of what it is: its `kind` and the trainer that wrote it. */
export function checkpointRole(dir: string): { kind?: unknown; trainer?: unknown } {
  const cfg = readJsonQuietly(join(dir, "config.json")) as
    | { extra?: Record<string, unknown> }
    | undefined;
  return { kind: cfg?.extra?.kind, trainer: cfg?.extra?.trainer };
}

/** The trainers that write reward and cost models, by the kind of model they write. */
const SCORER_TRAINERS: ReadonlyMap<string, ScorerKind> = new Map([
  ["rm", "reward"],
  ["cost", "cost"],
]);

/**
 * The kind of scorer `dir` holds, if it says so: its `extra.kind`, or, for a mid-run checkpoint
 * of `keel train rm|cost` (`checkpoints/step-N/`, which records its trainer but no kind), the
 * kind its trainer writes.
 */
export function scorerKindOf(dir: string): ScorerKind | undefined {
  const { kind, trainer } = checkpointRole(dir);
  if (kind === "reward" || kind === "cost") return kind;
  return kind === undefined && typeof trainer === "string"
    ? SCORER_TRAINERS.get(trainer)
    : undefined;
}

/**
 * Why `dir` cannot start or anchor a policy, or undefined when it can. A reward or cost model's
 * trunk and tied embeddings were trained to score, not to write: generating from one, or
 * keeping a policy near it, is a mistake in the config, not a choice.
 */
export function policyMismatch(dir: string): string | undefined {
  if (isEnsembleDir(dir)) {
    const ens = readJsonQuietly(join(dir, "ensemble.json")) as { kind?: unknown } | undefined;
    const kind = ens?.kind === "cost" ? "cost" : "reward";
    return `${dir} is a ${kind}-model ensemble (ensemble.json), not a policy checkpoint`;
  }
  const kind = scorerKindOf(dir);
  if (kind !== undefined)
    return `${dir} is a ${kind} model (written by keel train ${kind === "cost" ? "cost" : "rm"}), not a policy: it was trained to score responses, not to write them`;
  return undefined;
}

/** Throws KEEL_E_CHECKPOINT (at `where`) when `dir` is not a policy (see `policyMismatch`). */
export function checkPolicy(dir: string, where: Where = { file: dir }): void {
  const why = policyMismatch(dir);
  if (why)
    throw new KeelError("KEEL_E_CHECKPOINT", why, {
      where,
      hint: "use a policy: the SFT model (keel train sft's model/ directory), a PPO/DPO run's, or keel model init's",
    });
}
