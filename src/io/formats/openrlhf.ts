/**
 * OpenRLHF reward/DPO data (its `RewardDataset`): one JSON object per pair, under key names the
 * user's OpenRLHF command selects with `--prompt_key`, `--chosen_key`, `--rejected_key`. The
 * optional margin goes under `margin_key` (OpenRLHF reads `margin` when `--margin_loss` is on).
 */
import { KeelError } from "../../core/errors.js";
import type { PreferencePair } from "../../core/types.js";

export interface OpenRlhfKeys {
  readonly prompt: string;
  readonly chosen: string;
  readonly rejected: string;
  readonly margin: string;
}

export const DEFAULT_OPENRLHF_KEYS: OpenRlhfKeys = {
  prompt: "prompt",
  chosen: "chosen",
  rejected: "rejected",
  margin: "margin",
};

export function checkOpenRlhfKeys(keys: OpenRlhfKeys): OpenRlhfKeys {
  const values = Object.values(keys);
  for (const [name, v] of Object.entries(keys)) {
    if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(v)) {
      throw new KeelError(
        "KEEL_E_USAGE",
        `OpenRLHF ${name} key ${JSON.stringify(v)} is not a valid key name`,
      );
    }
    // JavaScript gives this key a meaning of its own (keel's readers refuse it too).
    if (v === "__proto__")
      throw new KeelError("KEEL_E_USAGE", `OpenRLHF ${name} key "__proto__" is not allowed`);
  }
  if (new Set(values).size !== values.length) {
    throw new KeelError(
      "KEEL_E_USAGE",
      `OpenRLHF key names must be distinct, got ${values.join(", ")}`,
    );
  }
  return keys;
}

export function pairToOpenRlhfRow(
  p: PreferencePair,
  keys: OpenRlhfKeys = DEFAULT_OPENRLHF_KEYS,
): Record<string, unknown> {
  // fromEntries defines keys: an assignment `row["__proto__"] = margin` would drop it unseen.
  return Object.fromEntries([
    [keys.prompt, p.prompt],
    [keys.chosen, p.chosen],
    [keys.rejected, p.rejected],
    ...(p.margin !== undefined ? [[keys.margin, p.margin]] : []),
  ]);
}
