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
      if (!rewards.every(Number.isFinite))
        throw new KeelError("KEEL_E_NUMERIC", `${this.id()} produced a non-finite score`);
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
