/**
 * Cost-model config (Safe-RLHF): a reward-model config whose loss is `safe_rlhf_cost`. Data
 * are pairs whose `chosen` is the SAFER response, each response labelled safe or unsafe
 * (`chosen_safe`, `rejected_safe`); the trained model's score is a cost (higher = more harmful,
 * > 0 = predicted unsafe).
 */
import { KeelError } from "../../core/errors.js";
import type { ConfigSource } from "../common/config.js";
import { parseRmConfig, type RmConfig, type RmConfigInput } from "./rmConfig.js";

export type CostConfig = RmConfig;
export type CostConfigInput = Omit<RmConfigInput, "loss"> & { loss?: "safe_rlhf_cost" };

export function parseCostConfig(raw: unknown, source?: ConfigSource): CostConfig {
  const obj = (raw ?? {}) as Record<string, unknown>;
  if (obj.loss !== undefined && obj.loss !== "safe_rlhf_cost") {
    throw new KeelError(
      "KEEL_E_CONFIG",
      `cost config: loss must be safe_rlhf_cost, got ${String(obj.loss)}`,
      {
        where: { ...(source?.file ? { file: source.file } : {}), field: "loss" },
      },
    );
  }
  return parseRmConfig({ ...obj, loss: "safe_rlhf_cost" }, source);
}
