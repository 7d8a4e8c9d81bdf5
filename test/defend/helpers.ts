import type { Choice, Judgment } from "../../src/core/types.js";
import { type AuditConfig, resolveAuditConfig } from "../../src/defend/config.js";
import { leaveOneOut } from "../../src/defend/consensus.js";
import { prepareAuditData } from "../../src/defend/data.js";
import { ruleClassifier } from "../../src/defend/filters/lexicon.js";
import type { RaterSignal, SignalContext } from "../../src/defend/signals/signal.js";

export function contextFor(
  judgments: readonly Judgment[],
  override: Record<string, unknown> = {},
  useGold = true,
): SignalContext {
  const config: AuditConfig = resolveAuditConfig(override);
  const data = prepareAuditData({ judgments }, { safety: ruleClassifier(), useGold });
  return { data, loo: leaveOneOut(data), config };
}

/** The score of a rater by id. */
export function scoreOf(ctx: SignalContext, signal: RaterSignal, id: string): number {
  const w = ctx.data.raterIds.indexOf(id);
  if (w < 0) throw new Error(`no rater ${id}`);
  return signal.score[w]!;
}

/** The highest score among raters whose id starts with `prefix`. */
export function maxScore(ctx: SignalContext, signal: RaterSignal, prefix: string): number {
  let m = 0;
  ctx.data.raterIds.forEach((id, w) => {
    if (id.startsWith(prefix)) m = Math.max(m, signal.score[w]!);
  });
  return m;
}

/** One judgment on comparison `c` (texts of equal length, nothing the safety rules flag). */
export function j(
  c: number,
  rater: string,
  choice: Choice,
  extra: Partial<Judgment> = {},
): Judgment {
  return {
    comparison_id: `c${c}`,
    prompt: `question ${c}`,
    response_a: `answer one ${c}`,
    response_b: `answer two ${c}`,
    rater_id: rater,
    choice,
    ...extra,
  };
}
