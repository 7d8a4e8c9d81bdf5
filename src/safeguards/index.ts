/**
 * Drift safeguards for PPO runs: each a `Monitor` (src/train/common/monitor.ts) that raises
 * events in metrics.jsonl and can stop a run. Build them from config:
 *
 *   const monitors = createSafeguards(parseSafeguards(yaml.safeguards), { gold });
 *   await trainPpo(config, data, { outDir, monitors });
 */
import { KeelError } from "../core/errors.js";
import type { Monitor } from "../train/common/monitor.js";
import type { SafeguardsConfig } from "./config.js";
import { DisagreementMonitor } from "./disagreement.js";
import { EmaMonitor } from "./ema.js";
import { type GoldFn, GoldMonitor } from "./gold.js";
import { KlBudgetMonitor } from "./klBudget.js";
import { LengthMonitor } from "./length.js";

export { Alarm } from "./alarm.js";
export {
  parseSafeguards,
  type SafeguardsConfig,
  type SafeguardsConfigInput,
  SafeguardsSchema,
} from "./config.js";
export { DisagreementMonitor, ensembleDisagreement } from "./disagreement.js";
export { EmaMonitor } from "./ema.js";
export { type GoldFn, GoldMonitor } from "./gold.js";
export { KlBudgetMonitor } from "./klBudget.js";
export { LengthMonitor } from "./length.js";

/**
 * The monitors a config asks for, in a fixed order. Gold tracking needs a gold scorer: a config
 * that asks for it without one is an error, not a run that silently goes unwatched.
 */
export function createSafeguards(c: SafeguardsConfig, o: { gold?: GoldFn } = {}): Monitor[] {
  if (c.gold && !o.gold)
    throw new KeelError(
      "KEEL_E_CONFIG",
      "gold-reward tracking needs a gold scorer, and this run has none",
      {
        where: { field: "safeguards.gold" },
        hint: "train on a synthetic world (data.world), whose oracle is the gold reward, or remove safeguards.gold",
      },
    );
  const out: Monitor[] = [];
  if (c.kl_budget) out.push(new KlBudgetMonitor(c.kl_budget));
  if (c.disagreement) out.push(new DisagreementMonitor(c.disagreement));
  if (c.gold && o.gold) out.push(new GoldMonitor(c.gold, o.gold));
  if (c.length) out.push(new LengthMonitor(c.length));
  if (c.ema) out.push(new EmaMonitor(c.ema));
  return out;
}
