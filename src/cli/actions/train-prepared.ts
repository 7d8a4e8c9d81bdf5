/**
 * What preparing a `keel train` run gives the train action: the run to start, and what its
 * record notes (the examples it trains and evaluates on, the checkpoints it starts from or
 * scores with, a new model's tokenizer file); and what each trainer's preparation reads.
 */
import type { Seed } from "../../core/rng.js";
import {
  type ConfigSource,
  heldOutCount,
  type ScorerKind,
  splitEval,
  type TrainHooks,
  type TrainResult,
} from "../../train/index.js";
import type { World } from "../../world/index.js";
import type { DataSpec } from "./train-config-blocks.js";

export interface Prepared {
  readonly run: (hooks: TrainHooks) => Promise<TrainResult>;
  readonly out: string;
  /** The config's data block: the files the run reads. */
  readonly data: DataSpec;
  /** The resolved trainer config (defaults filled in), as the run directory records it. */
  readonly config: { readonly seed: number } & Record<string, unknown>;
  /** Examples the run trains and evaluates on (PPO: prompts). */
  readonly counts: { readonly train: number; readonly eval: number };
  /** The checkpoints the run starts from or scores with, by config field (`scores`: as what). */
  readonly checkpoints: readonly Checkpointed[];
  /** A new model's tokenizer file (`model.tokenizer.file`). */
  readonly tokenizer?: string | undefined;
  readonly source: ConfigSource;
}

export interface Checkpointed {
  readonly field: string;
  readonly dir: string;
  /** Scores as a reward or cost model. */
  readonly scores?: ScorerKind;
  /** Is (or anchors) the policy, so must not be a reward or cost model. */
  readonly policy?: true;
}

/** A trainer's part of `Prepared`; `prepare` adds the data block and the config's source. */
export type PreparedRun = Omit<Prepared, "data" | "source">;

/** What each trainer's preparation reads: the config without its CLI-only blocks, and the data. */
export interface PrepareContext {
  /** The trainer config: the file's keys but trainer, out, data, safeguards and redteam. */
  readonly rest: Record<string, unknown>;
  readonly source: ConfigSource;
  /** The config file, as given. */
  readonly file: string;
  readonly out: string;
  readonly data: DataSpec;
  readonly world: World | undefined;
}

/**
 * What a trainer trains and evaluates on: the given eval set, else its held-out share (split as
 * the trainer splits it: the pair trainers hold out whole prompts, `groupOf`).
 */
export function counts<T>(
  train: readonly T[],
  ev: readonly unknown[] | undefined,
  evalFraction: number,
  seed: Seed,
  groupOf?: (x: T) => string,
) {
  if (ev) return { train: train.length, eval: ev.length };
  if (!groupOf) {
    const held = heldOutCount(train.length, evalFraction);
    return { train: train.length - held, eval: held };
  }
  const sets = splitEval(train, undefined, evalFraction, seed, groupOf);
  return { train: sets.train.length, eval: sets.eval.length };
}

export const inits = (
  ...c: [string, string | undefined, (ScorerKind | "policy")?][]
): Checkpointed[] =>
  c.flatMap(([field, dir, role]) =>
    dir === undefined
      ? []
      : [
          {
            field,
            dir,
            ...(role === "policy" ? { policy: true as const } : role ? { scores: role } : {}),
          },
        ],
  );

/** The config's tokenizer file, when a new model reads one. */
export const tokenizerFile = (c: {
  model: { tokenizer?: object | undefined };
}): string | undefined =>
  c.model.tokenizer && "file" in c.model.tokenizer ? (c.model.tokenizer.file as string) : undefined;
