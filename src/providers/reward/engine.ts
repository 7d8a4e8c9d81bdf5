/**
 * keel's reward model (or ensemble, or Safe-RLHF cost model) as a reward provider: a
 * checkpoint or ensemble directory scored through src/train's RewardScorer (see
 * rm/ensemble.ts for how members are normalised and aggregated). Calls run one at a time.
 * With an ensemble, the spread across members is reported as the extra `std`.
 */
import { KeelError } from "../../core/errors.js";
import type { ScorerKind } from "../../train/common/role.js";
import { RewardScorer } from "../../train/rm/ensemble.js";
import { Limiter } from "../http/limiter.js";
import {
  type Closable,
  fail,
  ok,
  type ProviderResult,
  type RewardItem,
  type RewardProvider,
  type RewardScores,
} from "../types.js";

export interface EngineRewardOptions {
  /** Checkpoint or ensemble directory. */
  readonly dir: string;
  readonly threads?: number;
  /**
   * The kind of model the caller means to score with: a model of the other kind is refused (a
   * cost model served as the reward scores the opposite of what is wanted).
   */
  readonly expect?: ScorerKind;
  /** The flag or config field that named `dir`, for that error. */
  readonly field?: string;
}

export class EngineRewardProvider implements RewardProvider, Closable {
  private readonly scorer: RewardScorer;
  private readonly limiter = new Limiter(1);

  constructor(readonly options: EngineRewardOptions) {
    this.scorer = RewardScorer.load(options.dir, {
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      ...(options.expect ? { expect: options.expect } : {}),
      ...(options.field ? { field: options.field } : {}),
    });
  }

  /** "reward" or "cost" (from the ensemble file; a plain checkpoint is a reward model). */
  get kind(): "reward" | "cost" {
    return this.scorer.file.kind;
  }

  id(): string {
    return `engine-${this.kind}:${this.options.dir}`;
  }

  async score(
    items: readonly RewardItem[],
    opts: { readonly signal?: AbortSignal } = {},
  ): Promise<ProviderResult<RewardScores>> {
    if (items.length === 0) return ok({ rewards: [] });
    try {
      const s = await this.limiter.run(
        () =>
          this.scorer.score(
            items.map((i) => i.prompt),
            items.map((i) => i.response),
          ),
        opts.signal,
      );
      const rewards = Array.from(s.score);
      const bad = firstNonFinite(rewards, s.members);
      if (bad) throw nonFiniteScore(this.id(), bad, this.scorer.file.members);
      return ok({
        rewards,
        ...(s.members.length > 1 ? { extras: { std: Array.from(s.std) } } : {}),
      });
    } catch (e) {
      return fail(e);
    }
  }

  async close(): Promise<void> {
    await this.scorer.dispose();
  }
}

/**
 * The first item whose score, or any ensemble member's, is NaN or infinite. Members count too:
 * `worst` scoring takes the minimum, which passes over a member's +∞, and the spread reported
 * beside it is then NaN.
 */
function firstNonFinite(
  rewards: readonly number[],
  members: readonly Float64Array[],
): { item: number; score: number; member?: number } | undefined {
  for (let i = 0; i < rewards.length; i++) {
    const m = members.length > 1 ? members.findIndex((s) => !Number.isFinite(s[i]!)) : -1;
    if (m >= 0) return { item: i, score: members[m]![i]!, member: m };
    if (!Number.isFinite(rewards[i]!)) return { item: i, score: rewards[i]! };
  }
  return undefined;
}

/**
 * A NaN or infinite score must not reach PPO, a report or JSON (where NaN is written as null):
 * the error names the item and, for an ensemble, the member that scored it so.
 */
function nonFiniteScore(
  id: string,
  bad: { readonly item: number; readonly score: number; readonly member?: number },
  members: readonly string[],
): KeelError {
  const who = bad.member === undefined ? id : `${id}: ensemble member ${members[bad.member]}`;
  return new KeelError("KEEL_E_NUMERIC", `${who} scored item ${bad.item} as ${bad.score}`, {
    where: { field: `items.${bad.item}` },
    hint: "the reward model's weights overflow on this input (a diverged run); score with an earlier checkpoint",
  });
}
