/**
 * Outputs that alias inputs: a command whose output directory holds one of its inputs at a
 * place the command writes or clears would destroy that input before (or while) it reads it.
 * Single output files are guarded where they are written (`resolveOutputTarget`'s protected
 * files, src/io/output-target.ts); this is the same check for what a command writes inside a
 * directory. Identity is by device and inode where the paths exist (a hard link, a symbolic
 * link, `./a` and `a/../a` are one file), by resolved path where they do not yet.
 */
import { join } from "node:path";
import { KeelError, type Where } from "../core/errors.js";
import { isWithin, sameFile } from "../io/output-target.js";

/** A path the user gave, and the flag or config field that gave it. */
export interface NamedPath {
  readonly flag: string;
  readonly path: string;
  /** Where the path was given, when a config file gave it (its file, line and field). */
  readonly where?: Where;
}

/**
 * What a command owns inside its output directory: files it replaces and directories it fills
 * or clears, by name relative to it.
 */
export interface OwnedPlaces {
  readonly files?: readonly string[];
  readonly dirs?: readonly string[];
}

/**
 * The place under `out` that `input` is or lies inside, where the command writes: undefined
 * when the input is safe from it.
 */
export function ownedPlaceOf(input: string, out: string, owned: OwnedPlaces): string | undefined {
  for (const f of owned.files ?? []) if (sameFile(input, join(out, f))) return f;
  for (const d of owned.dirs ?? []) if (isWithin(input, join(out, d))) return `${d}/`;
  return undefined;
}

/** What a training run writes in its directory: its record, its model and its checkpoints. */
export const TRAIN_RUN_OWNED = {
  files: ["config.yaml", "manifest.json", "metrics.jsonl"],
  dirs: ["model", "checkpoints"],
} as const satisfies OwnedPlaces;

/**
 * Refuses (KEEL_E_USAGE), before anything is written, an input that is one of the files or lies
 * in one of the directories the command writes inside its output directory `out`.
 */
export function refuseInputsInOutput(
  out: NamedPath,
  inputs: readonly NamedPath[],
  owned: OwnedPlaces,
  what = "the command",
  hint?: string,
): void {
  for (const input of inputs) {
    const place = ownedPlaceOf(input.path, out.path, owned);
    if (place === undefined) continue;
    throw new KeelError(
      "KEEL_E_USAGE",
      `${input.flag} (${input.path}) is ${place.endsWith("/") ? "inside " : ""}${join(out.path, place)}, which ${what} ${place.endsWith("/") ? "writes and clears" : "replaces"} in its output directory (${out.flag} ${out.path}): the input would be destroyed`,
      {
        ...(input.where ? { where: input.where } : {}),
        hint:
          hint ??
          `move ${input.path} out of ${place.endsWith("/") ? join(out.path, place) : out.path}, or give another ${out.flag}`,
      },
    );
  }
}
