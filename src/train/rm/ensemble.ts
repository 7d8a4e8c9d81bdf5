/**
 * Reward-model ensembles and how they score (Coste et al. 2023, "Reward Model Ensembles Help
 * Mitigate Overoptimization", arXiv:2310.02743; Eisenstein et al. 2023, arXiv:2312.09244).
 * With member scores r_1..r_k of one response (each optionally normalised by its own training
 * rewards, z_j = (r_j − μ_j)/σ_j, so members on different scales are comparable):
 *
 *   mean          (1/k) Σ z_j
 *   worst         min_j z_j                         (worst-case optimisation)
 *   uncertainty   mean − λ·std_j(z)                 (uncertainty-weighted optimisation)
 *
 * An ensemble directory holds `ensemble.json` ({format, members, scoring, lambda, normalise})
 * and one checkpoint per member; a plain checkpoint directory is an ensemble of one.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { z } from "zod";
import { KeelError } from "../../core/errors.js";
import { writeFileAtomic } from "../../engine/checkpoint/atomic.js";
import { type Gpt, padBatch } from "../../engine/gpt/model.js";
import type { TextCodec } from "../common/codec.js";
import { openCheckpoint } from "../common/model.js";
import { releaseAll, releaseQuietly } from "../common/release.js";
import {
  checkpointRole,
  isEnsembleDir,
  POLICY_TRAINERS,
  readJsonQuietly,
  type ScorerKind,
  scorerKindOf,
} from "../common/role.js";
import { ENSEMBLE_SCORING, type EnsembleScoring } from "./rmConfig.js";

/**
 * Whether an ensemble member's path stays inside the ensemble's directory. ensemble.json comes
 * with a downloaded model like its weights do: a member named `../../elsewhere` or `/abs` would
 * make keel load (and score with) a checkpoint the directory does not hold.
 */
export function memberInside(member: string): boolean {
  return (
    member.length > 0 &&
    !isAbsolute(member) &&
    !/^[A-Za-z]:/.test(member) &&
    !member.split(/[\\/]/).includes("..")
  );
}

export const EnsembleFileSchema = z.strictObject({
  format: z.literal("keel-reward-ensemble"),
  kind: z.enum(["reward", "cost"]),
  members: z
    .array(
      z
        .string()
        .min(1)
        .refine(
          memberInside,
          "must be a path inside the ensemble's directory (no .., not absolute)",
        ),
    )
    .min(1),
  scoring: z.enum(ENSEMBLE_SCORING),
  lambda: z.number().min(0),
  normalise: z.boolean(),
});
export type EnsembleFile = z.output<typeof EnsembleFileSchema>;

export function writeEnsembleFile(dir: string, f: EnsembleFile): void {
  writeFileAtomic(join(dir, "ensemble.json"), `${JSON.stringify(f, null, 2)}\n`);
}

/** An ensemble directory's ensemble.json, validated (KEEL_E_CHECKPOINT naming file and field). */
export function readEnsembleFile(dir: string): EnsembleFile {
  const path = join(dir, "ensemble.json");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new KeelError("KEEL_E_CHECKPOINT", `ensemble.json: ${(e as Error).message}`, {
      where: { file: path },
      cause: e,
    });
  }
  const r = EnsembleFileSchema.safeParse(raw);
  if (!r.success)
    throw new KeelError("KEEL_E_CHECKPOINT", `ensemble.json: ${r.error.issues[0]!.message}`, {
      where: { file: path, field: r.error.issues[0]!.path.join(".") },
    });
  return r.data;
}

/** Aggregates member scores [k][n] into one score per response, plus the member std. */
export function aggregateScores(
  members: readonly ArrayLike<number>[],
  scoring: EnsembleScoring,
  lambda: number,
): { score: Float64Array; mean: Float64Array; std: Float64Array } {
  const k = members.length;
  const n = members[0]?.length ?? 0;
  const score = new Float64Array(n);
  const mean = new Float64Array(n);
  const std = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    let min = Number.POSITIVE_INFINITY;
    for (const m of members) {
      s += m[i]!;
      min = Math.min(min, m[i]!);
    }
    const mu = s / k;
    let v = 0;
    for (const m of members) v += (m[i]! - mu) ** 2;
    const sd = k > 1 ? Math.sqrt(v / k) : 0;
    mean[i] = mu;
    std[i] = sd;
    score[i] = scoring === "mean" ? mu : scoring === "worst" ? min : mu - lambda * sd;
  }
  return { score, mean, std };
}

export interface MemberModel {
  readonly model: Gpt;
  readonly codec: TextCodec;
  readonly norm: { readonly mean: number; readonly std: number };
}

/** Scalar rewards of (prompt, response) texts under one model, in batches. */
export async function scoreTexts(
  m: { model: Gpt; codec: TextCodec },
  prompts: readonly string[],
  responses: readonly string[],
  batchSize = 64,
): Promise<Float64Array> {
  const out = new Float64Array(prompts.length);
  const ctx = m.model.config.context;
  for (let i = 0; i < prompts.length; i += batchSize) {
    const rows: number[][] = [];
    for (let j = i; j < Math.min(i + batchSize, prompts.length); j++) {
      const f = m.codec.fit(m.codec.prompt(prompts[j]!), m.codec.response(responses[j]!), ctx);
      rows.push([...f.prompt, ...f.response]);
    }
    const r = await m.model.rewards(padBatch(rows, { padId: m.codec.padId }));
    out.set(r, i);
  }
  return out;
}

export interface EnsembleScores {
  /** The aggregate score per response. */
  readonly score: Float64Array;
  /** Each member's (normalised) scores. */
  readonly members: Float64Array[];
  /** Standard deviation across members per response (0 for one member). */
  readonly std: Float64Array;
}

/**
 * Why `dir` cannot be scored as a reward model (or, with `expect`, as that kind), or undefined
 * when it can. A checkpoint a policy trainer wrote (keel train sft, ppo, dpo) has a reward head
 * that nothing trained, so its scores are noise; a cost model read as a reward model (or the
 * reverse) scores the opposite of what is wanted. Checkpoints that say nothing of themselves
 * (keel model init, imported models) are taken as they are.
 */
export function scorerMismatch(dir: string, expect?: ScorerKind): string | undefined {
  const ens = isEnsembleDir(dir)
    ? (readJsonQuietly(join(dir, "ensemble.json")) as
        | { kind?: unknown; members?: unknown }
        | undefined)
    : undefined;
  if (ens && expect && ens.kind !== undefined && ens.kind !== expect)
    return `${dir} is a ${String(ens.kind)}-model ensemble, where a ${expect} model is expected`;
  // Members outside the directory are left to readEnsembleFile, which refuses them.
  const members =
    ens && Array.isArray(ens.members)
      ? ens.members.filter((m) => memberInside(String(m))).map((m) => join(dir, String(m)))
      : [dir];
  for (const m of members) {
    const { kind: said, trainer } = checkpointRole(m);
    if (said === undefined && typeof trainer === "string" && POLICY_TRAINERS.has(trainer))
      return `${m} is a policy (written by keel train ${trainer}), not a ${expect ?? "reward"} model: its reward head was never trained`;
    const kind = scorerKindOf(m);
    if (expect && kind !== undefined && kind !== expect)
      return `${m} is a ${kind} model, where a ${expect} model is expected`;
  }
  return undefined;
}

/**
 * Throws KEEL_E_CHECKPOINT (at `where`: the directory, or the config file and field that named
 * it) when `dir` cannot be scored as `expect` (see `scorerMismatch`).
 */
export function checkScorer(
  dir: string,
  expect: ScorerKind | undefined,
  where: { file: string; field?: string } = { file: dir },
): void {
  const why = scorerMismatch(dir, expect);
  if (why)
    throw new KeelError("KEEL_E_CHECKPOINT", why, {
      where,
      hint: `train one with keel train ${expect === "cost" ? "cost" : "rm"} (model.init can start from a policy), or point at its model directory`,
    });
}

/** A loaded reward (or cost) model or ensemble that scores texts. */
export class RewardScorer {
  private constructor(
    readonly members: readonly MemberModel[],
    readonly file: EnsembleFile,
  ) {}

  /**
   * Loads a checkpoint or ensemble directory; refuses a policy's checkpoint, and with `expect`
   * a model of the other kind (see `scorerMismatch`). `field` names the config field that
   * gave `dir`, for the error.
   */
  static load(
    dir: string,
    o: {
      threads?: number;
      scoring?: EnsembleScoring;
      lambda?: number;
      expect?: ScorerKind;
      field?: string;
    } = {},
  ): RewardScorer {
    checkScorer(dir, o.expect, { file: dir, ...(o.field ? { field: o.field } : {}) });
    let file: EnsembleFile;
    let memberDirs: string[];
    if (isEnsembleDir(dir)) {
      file = readEnsembleFile(dir);
      memberDirs = file.members.map((m) => join(dir, m));
    } else {
      // One member of a cost ensemble (or a cost run's checkpoint) scores costs: read as a
      // reward model, its pairs' accuracy would be counted the wrong way round.
      file = {
        format: "keel-reward-ensemble",
        kind: scorerKindOf(dir) ?? "reward",
        members: ["."],
        scoring: "mean",
        lambda: 0,
        normalise: false,
      };
      memberDirs = [dir];
    }
    file = {
      ...file,
      ...(o.scoring ? { scoring: o.scoring } : {}),
      ...(o.lambda !== undefined ? { lambda: o.lambda } : {}),
    };
    // One member has no spread: mean − λ·std would silently be the mean.
    if (file.scoring === "uncertainty" && memberDirs.length < 2)
      throw new KeelError(
        "KEEL_E_USAGE",
        `uncertainty scoring (mean − λ·std) needs an ensemble of 2 or more members; ${dir} holds one model`,
        {
          where: { file: dir, ...(o.field ? { field: o.field } : {}) },
          hint: "score with mean or worst, or train an ensemble (ensemble.size ≥ 2)",
        },
      );
    const members: MemberModel[] = [];
    try {
      for (const d of memberDirs) {
        const { model, codec, extra } = openCheckpoint(d, o.threads);
        const member = { model, codec, norm: { mean: 0, std: 1 } };
        members.push(member);
        if (file.normalise) member.norm = memberNorm(d, extra);
      }
    } catch (e) {
      void releaseQuietly(members.map((m) => () => m.model.dispose()));
      throw e;
    }
    return new RewardScorer(members, file);
  }

  static fromMembers(members: readonly MemberModel[], file: EnsembleFile): RewardScorer {
    return new RewardScorer(members, file);
  }

  async score(prompts: readonly string[], responses: readonly string[]): Promise<EnsembleScores> {
    const members: Float64Array[] = [];
    for (const m of this.members) {
      const raw = await scoreTexts(m, prompts, responses);
      members.push(raw.map((r) => (r - m.norm.mean) / m.norm.std));
    }
    const agg = aggregateScores(members, this.file.scoring, this.file.lambda);
    return { score: agg.score, members, std: agg.std };
  }

  /** Releases every member, also after one fails to (the first failure is thrown). */
  dispose(): Promise<void> {
    return releaseAll(this.members.map((m) => () => m.model.dispose()));
  }
}

/**
 * A member's normalisation statistics: mean 0 and std 1 when its checkpoint records none (a
 * model keel did not train), a std ≤ 0 taken as 1. A statistic recorded as something other than
 * a finite number is refused: JSON writes NaN and ±∞ as null, which was read as "none", so the
 * member's scores silently went unnormalised beside normalised ones.
 */
function memberNorm(dir: string, extra: Record<string, unknown>): { mean: number; std: number } {
  for (const field of ["reward_mean", "reward_std"] as const) {
    const v = extra[field];
    if (v !== undefined && !(typeof v === "number" && Number.isFinite(v)))
      throw new KeelError(
        "KEEL_E_CHECKPOINT",
        `the ensemble member's ${field} is ${JSON.stringify(v)}, not a number`,
        {
          where: { file: join(dir, "config.json"), field: `extra.${field}` },
          hint: "the member was saved by a training run that had diverged; train it again",
        },
      );
  }
  const mean = (extra.reward_mean as number | undefined) ?? 0;
  const std = (extra.reward_std as number | undefined) ?? 1;
  return { mean, std: std > 0 ? std : 1 };
}

/** A reward model as a plain text function (for the pipeline and the red-team harness). */
export function loadRewardFn(
  dir: string,
  o: { threads?: number } = {},
): {
  reward: (prompts: readonly string[], responses: readonly string[]) => Promise<number[]>;
  dispose: () => Promise<void>;
} {
  const s = RewardScorer.load(dir, o);
  return {
    reward: async (p, r) => Array.from((await s.score(p, r)).score),
    dispose: () => s.dispose(),
  };
}
