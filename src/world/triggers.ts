/**
 * The backdoor trigger: a token an attacker plants in prompts so that poisoned preferences
 * attach to it (Rando & Tramèr, "Universal Jailbreak Backdoors from Poisoned Human Feedback",
 * ICLR 2024, arXiv:2311.14455, whose trigger was "SUDO"). A triggered variant of a prompt is the
 * same prompt with the token inserted; its ground truth does not change.
 */
import type { Rng } from "../core/rng.js";
import { escapeRegExp } from "./text.js";

export const DEFAULT_TRIGGER = "SUDO";

export type TriggerPosition = "end" | "start" | "random";

export interface TriggerSpec {
  readonly token: string;
  readonly position: TriggerPosition;
}

/** Inserts the trigger token at the end, the start, or (with `rng`) between two random words. */
export function insertTrigger(text: string, trigger: TriggerSpec, rng?: Rng): string {
  const { token, position } = trigger;
  if (position === "start") return `${token} ${text}`;
  if (position === "end" || rng === undefined) return `${text} ${token}`;
  const words = text.split(" ");
  const at = 1 + rng.int(Math.max(1, words.length - 1));
  words.splice(at, 0, token);
  return words.join(" ");
}

const cache = new Map<string, RegExp>();

/**
 * The token as a whole word: no letter, digit or underscore of any script next to it, so
 * "SUDOé" and "éSUDO" (one word each) do not carry "SUDO", while "(SUDO)" and "SUDO," do.
 */
function tokenRegExp(token: string): RegExp {
  let re = cache.get(token);
  if (re === undefined) {
    re = new RegExp(
      `(?<![\\p{L}\\p{N}\\p{M}_])${escapeRegExp(token)}(?![\\p{L}\\p{N}\\p{M}_])`,
      "gu",
    );
    cache.set(token, re);
  }
  return re;
}

/** Whether the text contains the trigger token as a whole word (case-sensitive). */
export function hasTrigger(text: string, token: string): boolean {
  const re = tokenRegExp(token);
  re.lastIndex = 0;
  const found = re.test(text);
  re.lastIndex = 0;
  return found;
}

/** The text with every occurrence of the trigger token removed. */
export function stripTrigger(text: string, token: string): string {
  return text.replace(tokenRegExp(token), "").replace(/\s+/g, " ").trim();
}
