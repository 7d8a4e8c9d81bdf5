/**
 * Where PPO's rewards and costs come from: a reward (or cost) model or ensemble directory
 * loaded as a `RewardScorer` (with the config's scoring override), or a function the caller
 * passes in code (tests, the pipeline's own scorers). The trainer disposes what it opened.
 */
import { KeelError } from "../../core/errors.js";
import { releaseAll, releaseQuietly } from "../common/release.js";
import { RewardScorer } from "../rm/ensemble.js";
import type { PpoConfig } from "./ppoConfig.js";
import type { PpoHooks } from "./ppoTrainer.js";

/** Scores (prompt, response) texts; members are an ensemble's per-member scores. */
export type RewardSource = (
  prompts: readonly string[],
  responses: readonly string[],
) => Promise<{ score: Float64Array; members?: readonly Float64Array[] }>;

export interface Sources {
  reward: RewardSource;
  cost: RewardSource | undefined;
  dispose: () => Promise<void>;
}

export function openSources(c: PpoConfig, hooks: PpoHooks): Sources {
  const owned: RewardScorer[] = [];
  const open = (
    dir: string,
    o: { scoring?: PpoConfig["reward"]["scoring"]; lambda?: number; expect: "reward" | "cost" },
  ) => {
    const s = RewardScorer.load(dir, {
      expect: o.expect,
      field: `${o.expect}.model`,
      ...(hooks.threads === undefined ? {} : { threads: hooks.threads }),
      ...(o.scoring ? { scoring: o.scoring } : {}),
      ...(o.lambda === undefined ? {} : { lambda: o.lambda }),
    });
    owned.push(s);
    return (p: readonly string[], r: readonly string[]) => s.score(p, r);
  };
  // A reward model opened before the cost model is refused (or missing) is released here.
  try {
    const reward =
      hooks.reward ??
      (c.reward.model
        ? open(c.reward.model, {
            expect: "reward",
            ...(c.reward.scoring ? { scoring: c.reward.scoring } : {}),
            ...(c.reward.lambda === undefined ? {} : { lambda: c.reward.lambda }),
          })
        : undefined);
    if (!reward)
      throw new KeelError("KEEL_E_CONFIG", "ppo needs a reward model or a reward function", {
        where: { field: "reward.model" },
      });
    let cost: RewardSource | undefined;
    if (c.cost) {
      cost = hooks.cost ?? (c.cost.model ? open(c.cost.model, { expect: "cost" }) : undefined);
      if (!cost)
        throw new KeelError("KEEL_E_CONFIG", "Lagrangian mode needs a cost model", {
          where: { field: "cost.model" },
        });
    }
    return {
      reward,
      cost,
      dispose: () => releaseAll(owned.map((s) => () => s.dispose())),
    };
  } catch (e) {
    void releaseQuietly(owned.map((s) => () => s.dispose()));
    throw e;
  }
}
