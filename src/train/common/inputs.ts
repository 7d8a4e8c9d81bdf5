/**
 * The checkpoints a trainer config names, checked as the trainer will open them, but without
 * loading their weights: `keel train --check` and the run itself call these before anything is
 * written, so a check that passes is a run that starts, and a run refused for its inputs leaves
 * no half-made run directory. A failure is told at the config's file, line and field.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { formatWhere, KeelError, type Where } from "../../core/errors.js";
import { hasCheckpoint } from "../../engine/checkpoint/checkpoint.js";
import { checkScorer, readEnsembleFile } from "../rm/ensemble.js";
import { checkCheckpointTokenizer } from "./model.js";
import { checkPolicy, isEnsembleDir, type ScorerKind } from "./role.js";

/**
 * What a checkpoint field is for: a policy (or its reference), a reward or cost model (one
 * checkpoint or an ensemble directory), or the start of a reward or cost model (any one model).
 */
export type CheckpointUse = ScorerKind | "policy" | "start";

/** Where a config names a checkpoint: its file, the field's line, the field. */
export type ConfigWhere = Where & { readonly file: string };

/**
 * Throws, at `where`, what opening `dir` as `use` would throw: no checkpoint there, a model of
 * the wrong kind, then a checkpoint without a tokenizer keel can use.
 */
export function checkCheckpointInput(dir: string, use: CheckpointUse, where: ConfigWhere): void {
  const ensemble = isEnsembleDir(dir);
  if (use === "policy" || !ensemble) {
    if (!ensemble) exists(dir, where);
    if (use === "policy") checkPolicy(dir, where);
    else if (use !== "start") checkScorer(dir, use, where);
    relocated(where, () => checkCheckpointTokenizer(dir));
    return;
  }
  const members = relocated(where, () => readEnsembleFile(dir)).members;
  if (use === "start")
    throw new KeelError(
      "KEEL_E_CHECKPOINT",
      `${dir} is an ensemble (ensemble.json), not one checkpoint: a model starts from one`,
      {
        where,
        hint: `start from one of its members, e.g. ${join(dir, members[0] ?? "member-0")}`,
      },
    );
  for (const m of members) exists(join(dir, m), where);
  checkScorer(dir, use, where);
  for (const m of members) relocated(where, () => checkCheckpointTokenizer(join(dir, m)));
}

function exists(dir: string, where: Where): void {
  if (!hasCheckpoint(dir))
    throw new KeelError("KEEL_E_NOT_FOUND", `no checkpoint at ${dir} (${whyNot(dir)})`, {
      where,
      hint: "train that model first (its run directory's model/), or fix the path",
    });
}

function whyNot(dir: string): string {
  try {
    return statSync(dir).isDirectory()
      ? "no config.json in that directory"
      : "that is a file, not a checkpoint directory";
  } catch {
    return "no such directory";
  }
}

/** Runs `f`; a KeelError it throws is told at `where`, its own place in the message. */
function relocated<T>(where: Where, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof KeelError)) throw e;
    const inner = e.where ? `${formatWhere(e.where)}: ` : "";
    throw new KeelError(e.code, `${inner}${e.detail}`, {
      where,
      ...(e.hint ? { hint: e.hint } : {}),
      cause: e,
    });
  }
}
