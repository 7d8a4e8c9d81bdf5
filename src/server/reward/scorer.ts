/**
 * How `keel serve-rm` scores a (prompt, response): the reward model, optionally penalised by
 * the Safe-RLHF cost model and capped by the safety baseline (Dai et al. 2023, "Safe RLHF",
 * arXiv:2310.12773, for the cost model; the baseline is src/defend's SafetyClassifier):
 *
 *   r = RM(p, y)
 *   with a cost model:      c = CM(p, y);  r ← r − λ · max(0, c)
 *   with the baseline:      if unsafe(p, y): r ← min(r, floor)
 *
 * Per item it also reports the parts (`reward_model`, `cost`, `unsafe`) for OpenRLHF's logs.
 * Any part that fails makes the whole batch fail (the caller decides: an HTTP error, or the
 * fail-closed floor); no part is ever skipped silently.
 */
import { KeelError } from "../../core/errors.js";
import type { SafetyClassifier } from "../../defend/filters/safety.js";
import type { RewardItem, RewardProvider } from "../../providers/types.js";

export interface CombinedScorerOptions {
  readonly reward: RewardProvider;
  readonly cost?: RewardProvider;
  /** λ: reward lost per unit of positive cost. */
  readonly costWeight?: number;
  readonly safety?: SafetyClassifier;
  /** The most an unsafe response may earn (and what a failed item gets in fail-closed mode). */
  readonly floor: number;
}

export interface ScoredItem {
  readonly reward: number;
  readonly parts: Readonly<Record<string, number>>;
}

export class CombinedScorer {
  constructor(readonly o: CombinedScorerOptions) {}

  get id(): string {
    return [this.o.reward.id(), this.o.cost?.id(), this.o.safety?.id].filter(Boolean).join(" + ");
  }

  /**
   * The parts every scored item reports, known before any is scored (the reward model's own
   * extras, `reward_model_<name>`, appear with its first answer).
   */
  get partNames(): readonly string[] {
    return ["reward_model", ...(this.o.cost ? ["cost"] : []), ...(this.o.safety ? ["unsafe"] : [])];
  }

  async score(items: readonly RewardItem[]): Promise<ScoredItem[]> {
    const r = await this.o.reward.score(items);
    if (!r.ok) throw r.error;
    const base = r.value.rewards;
    const costs = this.o.cost ? await this.costs(items) : undefined;
    const verdicts = this.o.safety
      ? await this.o.safety.classify(items.map((i) => ({ prompt: i.prompt, response: i.response })))
      : undefined;
    if (verdicts && verdicts.length !== items.length)
      throw new KeelError(
        "KEEL_E_UPSTREAM",
        `safety baseline returned ${verdicts.length} verdicts for ${items.length} items`,
      );
    const lambda = this.o.costWeight ?? 1;
    return items.map((_, i) => {
      let reward = base[i]!;
      const parts: Record<string, number> = { reward_model: reward };
      for (const [k, v] of Object.entries(r.value.extras ?? {})) parts[`reward_model_${k}`] = v[i]!;
      if (costs) {
        const c = costs[i]!;
        parts.cost = c;
        reward -= lambda * Math.max(0, c);
      }
      if (verdicts) {
        const unsafe = verdicts[i]!.unsafe;
        parts.unsafe = unsafe ? 1 : 0;
        if (unsafe) reward = Math.min(reward, this.o.floor);
      }
      return { reward, parts };
    });
  }

  private async costs(items: readonly RewardItem[]): Promise<readonly number[]> {
    const c = await this.o.cost!.score(items);
    if (!c.ok) throw c.error;
    return c.value.rewards;
  }
}
